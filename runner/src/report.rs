//! Terminal reports: one line per run as it completes, then the details of
//! everything that did not pass, a summary table per GIC version, and the
//! closing `N passed, N failed` line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use gic_case::proto::Outcome;
use gic_case::GicVersion;

use crate::suite::{RunReport, SuiteReport};

const ORDER: [Outcome; 8] = [
    Outcome::Pass,
    Outcome::Fail,
    Outcome::XFail,
    Outcome::XPass,
    Outcome::Skip,
    Outcome::Crash,
    Outcome::Timeout,
    Outcome::Error,
];

/// The one-line form of a result.
pub fn line(r: &RunReport) -> String {
    let gic = r.gic.map_or("--", |g| g.name());
    let t = if r.elapsed.is_zero() { String::new() } else { format!(" ({:.2}s)", r.elapsed.as_secs_f64()) };
    format!("{:<7} {gic} {}{t}", r.outcome.name(), r.case)
}

/// The progress line shown on a terminal while a run goes on:
/// `[120/471] 25%, 7.1 s, about 21 s left` (the estimate assumes the
/// remaining results take as long on average as those so far).
pub fn progress_line(done: usize, total: usize, elapsed: std::time::Duration) -> String {
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    let secs = elapsed.as_secs_f64();
    let left = if done == 0 { 0.0 } else { secs / done as f64 * total.saturating_sub(done) as f64 };
    format!("[{done}/{total}] {pct}%, {secs:.1} s, about {left:.0} s left")
}

/// The full report after the run; its last line is `gicv: N passed, N failed, N skipped`.
pub fn render(s: &SuiteReport, qemu: &str, elapsed: std::time::Duration) -> String {
    let mut out = String::new();
    let noteworthy: Vec<&RunReport> =
        s.runs.iter().filter(|r| !matches!(r.outcome, Outcome::Pass | Outcome::Skip)).collect();
    if !noteworthy.is_empty() {
        out.push_str("\nDetails:\n");
        for r in noteworthy {
            let _ = writeln!(out, "{}", line(r));
            out.push_str(&r.detail);
            if let Some(l) = &r.log {
                let _ = writeln!(out, "    log: {}", l.display());
            }
        }
    }
    for (path, diff) in &s.blessed {
        let _ = writeln!(
            out,
            "\nblessed {} — check every changed value against the spec before committing:\n{diff}",
            path.display()
        );
    }
    for (case, why, _) in &s.refused {
        let _ = writeln!(out, "\nnot blessed: {case}: {why}");
    }
    let _ = writeln!(out, "\nSummary (QEMU {qemu}):");
    let mut table: BTreeMap<Option<GicVersion>, BTreeMap<Outcome, usize>> = BTreeMap::new();
    for r in &s.runs {
        *table.entry(r.gic).or_default().entry(r.outcome).or_default() += 1;
    }
    let _ = write!(out, "  {:<6}", "GIC");
    for o in ORDER {
        let _ = write!(out, "{:>8}", o.name());
    }
    out.push('\n');
    for (g, counts) in &table {
        let _ = write!(out, "  {:<6}", g.map_or("--", |g| g.name()));
        for o in ORDER {
            let _ = write!(out, "{:>8}", counts.get(&o).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    let c = s.counts();
    let n = |o: Outcome| c.get(&o).copied().unwrap_or(0);
    let passed = n(Outcome::Pass) + n(Outcome::XFail);
    let failed: usize = ORDER.iter().filter(|o| o.is_failure()).map(|o| n(*o)).sum();
    let _ = writeln!(out, "\ngicv: finished in {:.1}s; logs in {}", elapsed.as_secs_f64(), s.run_dir.display());
    let _ = writeln!(out, "gicv: {passed} passed, {failed} failed, {} skipped", n(Outcome::Skip));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn progress_line_counts_and_estimates_time_left() {
        assert_eq!(progress_line(120, 480, Duration::from_secs(6)), "[120/480] 25%, 6.0 s, about 18 s left");
        assert_eq!(progress_line(0, 10, Duration::ZERO), "[0/10] 0%, 0.0 s, about 0 s left");
        assert_eq!(progress_line(0, 0, Duration::ZERO), "[0/0] 100%, 0.0 s, about 0 s left");
    }
}
