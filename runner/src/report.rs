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
