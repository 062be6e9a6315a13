//! Terminal reports: one line per run as it completes, then the details of
//! everything that did not pass, a summary table per QEMU and GIC version,
//! the outcomes that differ between QEMU versions, and the closing
//! `N passed, N failed` line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use gic_case::proto::Outcome;
use gic_case::GicVersion;

use crate::report::{RunReport, SuiteReport};
use crate::text;

/// The one-line form of a result.
pub fn line(r: &RunReport) -> String {
    let gic = r.gic.map_or("--", |g| g.name());
    let t = if r.elapsed.is_zero() { String::new() } else { format!(" ({:.2}s)", r.elapsed.as_secs_f64()) };
    format!("{:<7} {gic} {}{t}", r.outcome.name(), text::escape_controls(&r.case))
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

/// The full report after a run on one or more QEMUs (`reports`, one per
/// QEMU as [`crate::suite::run_on`] returns them): the details of
/// everything that did not pass, what bless wrote or refused, a summary
/// table per QEMU and GIC version, with several QEMUs the table of
/// outcomes that differ between them ([`differences`]), and last the line
/// `gicv: N passed, N failed, N skipped` over all of them.
pub fn render(reports: &[SuiteReport], elapsed: std::time::Duration) -> String {
    let mut out = String::new();
    let several = reports.len() > 1;
    for s in reports {
        let noteworthy: Vec<&RunReport> =
            s.runs.iter().filter(|r| !matches!(r.outcome, Outcome::Pass | Outcome::Skip)).collect();
        if noteworthy.is_empty() {
            continue;
        }
        if several {
            let _ = writeln!(out, "\nDetails (QEMU {}):", s.qemu_version);
        } else {
            out.push_str("\nDetails:\n");
        }
        for r in noteworthy {
            let _ = writeln!(out, "{}", line(r));
            out.push_str(&text::escape_controls(&r.detail));
            if let Some(l) = &r.log {
                let _ = writeln!(out, "    log: {}", l.display());
            }
        }
    }
    for s in reports {
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
    }
    let versions: Vec<&str> = reports.iter().map(|s| s.qemu_version.as_str()).collect();
    let _ = writeln!(out, "\nSummary (QEMU {}):", versions.join(", "));
    let _ = write!(out, "  {:<6}", "GIC");
    // Wide enough for a hypervisor's label (`10.0.2-kvm-6.1.0-50-arm64`).
    let qw = versions.iter().map(|v| v.len() + 2).max().unwrap_or(10).max(10);
    if several {
        let _ = write!(out, "{:<qw$}", "QEMU");
    }
    for o in Outcome::ALL {
        let _ = write!(out, "{:>8}", o.name());
    }
    out.push('\n');
    let mut total: BTreeMap<Outcome, usize> = BTreeMap::new();
    for s in reports {
        let mut table: BTreeMap<Option<GicVersion>, BTreeMap<Outcome, usize>> = BTreeMap::new();
        for r in &s.runs {
            *table.entry(r.gic).or_default().entry(r.outcome).or_default() += 1;
            *total.entry(r.outcome).or_default() += 1;
        }
        for (g, counts) in &table {
            let _ = write!(out, "  {:<6}", g.map_or("--", |g| g.name()));
            if several {
                let _ = write!(out, "{:<qw$}", s.qemu_version);
            }
            for o in Outcome::ALL {
                let _ = write!(out, "{:>8}", counts.get(&o).copied().unwrap_or(0));
            }
            out.push('\n');
        }
    }
    if several {
        out.push_str(&differences(reports));
        out.push_str(&lost_in_migration(reports));
    }
    let n = |o: Outcome| total.get(&o).copied().unwrap_or(0);
    let passed = n(Outcome::Pass) + n(Outcome::XFail);
    let failed: usize = Outcome::ALL.iter().filter(|o| o.is_failure()).map(|o| n(*o)).sum();
    let run_dir = reports.first().map(|s| s.run_dir.display().to_string()).unwrap_or_default();
    let _ = writeln!(out, "\ngicv: finished in {:.1}s; logs in {run_dir}", elapsed.as_secs_f64());
    let over = if several { format!(" (over {} QEMUs)", reports.len()) } else { String::new() };
    let _ = writeln!(out, "gicv: {passed} passed, {failed} failed, {} skipped{over}", n(Outcome::Skip));
    out
}

/// The runs that pass plain (PASS or XFAIL) but fail migrated (`--migrate`):
/// for each `<version>-migrated` report of `reports`, its failing runs
/// whose plain run on `<version>` passed, as `(migrated label, case, GIC,
/// migrated outcome)`, in report and case order.
pub fn passing_plain_failing_migrated(reports: &[SuiteReport]) -> Vec<(String, String, Option<GicVersion>, Outcome)> {
    let mut out = Vec::new();
    for m in reports {
        let Some(plain) = m.qemu_version.strip_suffix(crate::launch::migrate::MIGRATED) else { continue };
        let Some(p) = reports.iter().find(|s| s.qemu_version == plain) else { continue };
        for r in m.runs.iter().filter(|r| r.outcome.is_failure()) {
            let passed = p
                .runs
                .iter()
                .any(|x| x.case == r.case && x.gic == r.gic && matches!(x.outcome, Outcome::Pass | Outcome::XFail));
            if passed {
                out.push((m.qemu_version.clone(), r.case.clone(), r.gic, r.outcome));
            }
        }
    }
    out
}

/// The summary's save/restore line: how many runs pass plain but fail
/// migrated ([`passing_plain_failing_migrated`]), each named; nothing
/// without a migrated report.
pub fn lost_in_migration(reports: &[SuiteReport]) -> String {
    if !reports.iter().any(|s| s.qemu_version.ends_with(crate::launch::migrate::MIGRATED)) {
        return String::new();
    }
    let rows = passing_plain_failing_migrated(reports);
    let mut out = format!("\nSave/restore: {} run(s) pass plain but fail migrated", rows.len());
    out.push_str(if rows.is_empty() { "\n" } else { ":\n" });
    for (label, case, gic, o) in rows {
        let _ = writeln!(out, "  {:<4}{case}  {label}: {}", gic.map_or("--", |g| g.name()), o.name());
    }
    out
}

/// The results whose outcome is not the same on every QEMU of `reports`:
/// `(case, GIC version, [outcome on each QEMU, in order; None where that
/// QEMU has no such result])`, in case order.
pub fn differing(reports: &[SuiteReport]) -> Vec<(String, Option<GicVersion>, Vec<Option<Outcome>>)> {
    let mut by_key: BTreeMap<(String, Option<GicVersion>), Vec<Option<Outcome>>> = BTreeMap::new();
    for (i, s) in reports.iter().enumerate() {
        for r in &s.runs {
            by_key.entry((r.case.clone(), r.gic)).or_insert_with(|| vec![None; reports.len()])[i] = Some(r.outcome);
        }
    }
    by_key.into_iter().filter(|(_, o)| o.iter().any(|x| *x != o[0])).map(|((case, gic), o)| (case, gic, o)).collect()
}

/// The case × QEMU-version table of the outcomes that differ between the
/// QEMUs of `reports` (a deviation that appears or disappears between
/// versions shows here), or a line saying there are none.
pub fn differences(reports: &[SuiteReport]) -> String {
    let rows = differing(reports);
    let mut out = String::new();
    if rows.is_empty() {
        let _ = writeln!(out, "\nOutcomes that differ between QEMU versions: none");
        return out;
    }
    let _ = writeln!(out, "\nOutcomes that differ between QEMU versions ({}):", rows.len());
    let width = rows.iter().map(|(c, _, _)| c.len()).max().unwrap_or(4).max(4);
    let _ = write!(out, "  {:<4}{:<width$}", "GIC", "case");
    for s in reports {
        let _ = write!(out, "  {:>9}", s.qemu_version);
    }
    out.push('\n');
    for (case, gic, outcomes) in rows {
        let _ = write!(out, "  {:<4}{case:<width$}", gic.map_or("--", |g| g.name()));
        for o in outcomes {
            let _ = write!(out, "  {:>9}", o.map_or("-", |o| o.name()));
        }
        out.push('\n');
    }
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

    fn qemu(version: &str, runs: &[(&str, GicVersion, Outcome)]) -> SuiteReport {
        SuiteReport {
            qemu_version: version.into(),
            runs: runs.iter().map(|&(c, g, o)| RunReport::simple(c, Some(g), o, String::new())).collect(),
            ..SuiteReport::default()
        }
    }

    #[test]
    fn runs_that_pass_plain_but_fail_migrated_are_counted_and_named() {
        use GicVersion::*;
        use Outcome::*;
        let plain =
            || qemu("10.0.2", &[("lr/a", V3, Pass), ("lr/b", V3, XFail), ("lr/c", V3, Fail), ("lr/d", V3, Pass)]);
        let migrated = || {
            qemu(
                "10.0.2-migrated",
                &[("lr/a", V3, Restore), ("lr/b", V3, Fail), ("lr/c", V3, Fail), ("lr/d", V3, Pass)],
            )
        };
        let rows = passing_plain_failing_migrated(&[plain(), migrated()]);
        // lr/c fails plain too: not lost in migration.
        assert_eq!(
            rows,
            vec![
                ("10.0.2-migrated".to_string(), "lr/a".to_string(), Some(V3), Restore),
                ("10.0.2-migrated".to_string(), "lr/b".to_string(), Some(V3), Fail)
            ]
        );
        let t = lost_in_migration(&[plain(), migrated()]);
        assert_eq!(
            t,
            "\nSave/restore: 2 run(s) pass plain but fail migrated:\n  v3  lr/a  10.0.2-migrated: RESTORE\n  v3  lr/b  \
             10.0.2-migrated: FAIL\n"
        );
        assert_eq!(lost_in_migration(&[plain(), qemu("7.2.22", &[])]), "", "no migrated run, no line");
        let clean = qemu("10.0.2-migrated", &[("lr/a", V3, Pass)]);
        assert_eq!(lost_in_migration(&[plain(), clean]), "\nSave/restore: 0 run(s) pass plain but fail migrated\n");
    }

    #[test]
    fn outcomes_that_differ_between_qemus_are_tabled() {
        use GicVersion::{V2, V3};
        use Outcome::{Pass, Skip, XFail};
        let old = qemu("7.2.22", &[("eoimode/a", V2, XFail), ("eoimode/a", V3, Pass), ("lr/b", V3, Skip)]);
        let new = qemu("10.0.2", &[("eoimode/a", V2, Pass), ("eoimode/a", V3, Pass), ("lr/b", V3, Skip)]);
        assert_eq!(differing(&[old, new]), vec![("eoimode/a".to_string(), Some(V2), vec![Some(XFail), Some(Pass)])]);
        let old = qemu("7.2.22", &[("eoimode/a", V2, XFail), ("lr/c", V3, Pass)]);
        let new = qemu("10.0.2", &[("eoimode/a", V2, Pass)]);
        let t = differences(&[old, new]);
        assert_eq!(
            t,
            "\nOutcomes that differ between QEMU versions (2):\n  GIC case          7.2.22     10.0.2\n  \
             v2  eoimode/a      XFAIL       PASS\n  v3  lr/c            PASS          -\n"
        );
        let same = qemu("7.2.22", &[("lr/c", V3, Pass)]);
        let r = render(&[same, qemu("10.0.2", &[("lr/c", V3, Pass)])], Duration::from_secs(1));
        assert!(r.contains("Outcomes that differ between QEMU versions: none"), "{r}");
        assert!(r.contains("Summary (QEMU 7.2.22, 10.0.2):\n  GIC   QEMU"), "{r}");
        assert!(r.ends_with("gicv: 2 passed, 0 failed, 0 skipped (over 2 QEMUs)\n"), "{r}");
    }

    #[test]
    fn control_characters_from_a_run_are_escaped_in_the_text_report() {
        let mut r =
            RunReport::simple("lr/\u{1b}x", Some(GicVersion::V3), Outcome::Crash, "    \u{1b}[2J\u{0}\n".into());
        r.elapsed = std::time::Duration::from_millis(5);
        let s = SuiteReport { runs: vec![r.clone()], qemu_version: "7.2.22".into(), ..SuiteReport::default() };
        let text = render(&[s], std::time::Duration::from_secs(1));
        assert!(!crate::text::has_raw_controls(&text), "{text:?}");
        assert!(text.contains("lr/\\u{1b}x") && text.contains("    \\u{1b}[2J\\u{0}\n"), "{text}");
        assert!(!crate::text::has_raw_controls(&line(&r)));
    }
}
