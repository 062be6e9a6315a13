//! Machine-readable results for CI: JUnit XML (read by GitLab, Jenkins,
//! GitHub reporters) and TAP version 13 (read by `prove`, tap.py and
//! kvm-unit-tests tooling). One test per case × GIC version × QEMU version.
//!
//! How outcomes map:
//!
//! | outcome | JUnit | TAP |
//! |---|---|---|
//! | PASS | passed testcase | `ok` |
//! | FAIL, CRASH, TIMEOUT, ERROR | `<failure type="FAIL">` with the field-level diff | `not ok`, diff in a YAML block |
//! | XFAIL (known deviation) | `<skipped message="known deviation: …">` | `not ok … # TODO known deviation: …` |
//! | XPASS (deviation no longer seen) | `<failure type="XPASS">` | `ok … # TODO …` (a passing TODO: consumers report it as unexpectedly passing) |
//! | SKIP | `<skipped message="…">` | `ok … # SKIP …` |

use gic_case::proto::Outcome;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::report::RunReport;
use crate::text;

/// The results of one QEMU binary: its version and its runs.
pub struct QemuResults<'a> {
    /// QEMU version, e.g. `7.2.22`.
    pub version: &'a str,
    /// The runs, in report order.
    pub runs: &'a [RunReport],
}

/// The test's name: `v3 lr/basic-group0 (QEMU 7.2.22)`.
fn test_name(r: &RunReport, qemu: &str) -> String {
    format!("{} {} (QEMU {qemu})", r.gic.map_or("--", |g| g.name()), text::escape_controls(&r.case))
}

/// The first line of a run's detail, unindented (the reason or the first difference).
fn headline(r: &RunReport) -> String {
    let first = r.detail.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or(r.outcome.name());
    text::escape_controls(first).into_owned()
}

/// The JUnit XML document: one `<testsuite>` per QEMU version, named
/// `QEMU <version>`, one `<testcase>` per run (classname: the case's
/// group, name: GIC version, case and QEMU version).
///
/// # Errors
/// Serialization failures of the XML writer.
pub fn junit(results: &[QemuResults]) -> Result<String, String> {
    let mut report = Report::new("gicv");
    for q in results {
        let mut suite = TestSuite::new(format!("QEMU {}", q.version));
        for r in q.runs {
            let status = match r.outcome {
                Outcome::Pass => TestCaseStatus::success(),
                Outcome::Skip | Outcome::XFail => {
                    let mut s = TestCaseStatus::skipped();
                    let why = headline(r);
                    s.set_message(if r.outcome == Outcome::XFail && !why.starts_with("known deviation") {
                        format!("known deviation: {why}")
                    } else {
                        why
                    });
                    s.set_description(text::escape_controls(&r.detail).into_owned());
                    s
                }
                o => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_type(o.name())
                        .set_message(headline(r))
                        .set_description(text::escape_controls(&r.detail).into_owned());
                    s
                }
            };
            let mut tc = TestCase::new(test_name(r, q.version), status);
            tc.set_classname(r.case.split('/').next().unwrap_or(&r.case).to_string());
            tc.set_time(r.elapsed);
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|e| format!("JUnit XML: {e}"))
}

/// The TAP version 13 stream: a plan, then one line per run, with a YAML
/// diagnostic block (`message`, `detail`) under every `not ok`.
pub fn tap(results: &[QemuResults]) -> String {
    let total: usize = results.iter().map(|q| q.runs.len()).sum();
    let mut out = format!("TAP version 13\n1..{total}\n");
    let mut n = 0;
    for q in results {
        for r in q.runs {
            n += 1;
            // A description must not contain `#`, which starts a directive.
            let name = test_name(r, q.version).replace('#', "");
            let why = headline(r).replace('#', "");
            let line = match r.outcome {
                Outcome::Pass => format!("ok {n} - {name}"),
                Outcome::Skip => format!("ok {n} - {name} # SKIP {why}"),
                Outcome::XFail => format!("not ok {n} - {name} # TODO {why}"),
                Outcome::XPass => format!("ok {n} - {name} # TODO known deviation no longer seen: {why}"),
                o => format!("not ok {n} - {name} ({})", o.name()),
            };
            out.push_str(&line);
            out.push('\n');
            if matches!(
                r.outcome,
                Outcome::Fail | Outcome::Crash | Outcome::Timeout | Outcome::Restore | Outcome::Error
            ) {
                out.push_str("  ---\n");
                out.push_str(&format!("  outcome: {}\n", r.outcome.name()));
                out.push_str("  detail: |\n");
                for l in r.detail.lines() {
                    out.push_str(&format!("    {}\n", text::escape_controls(l.strip_prefix("    ").unwrap_or(l))));
                }
                out.push_str("  ...\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gic_case::GicVersion;
    use std::time::Duration;

    fn run(case: &str, gic: GicVersion, outcome: Outcome, detail: &str) -> RunReport {
        let mut r = RunReport::simple(case, Some(gic), outcome, detail.to_string());
        r.elapsed = Duration::from_millis(40);
        r
    }

    fn sample() -> Vec<RunReport> {
        vec![
            run("lr/a", GicVersion::V3, Outcome::Pass, ""),
            run("lr/b", GicVersion::V3, Outcome::Fail, "    step 3 (guest ack): INTID: expected 27, got 1023\n"),
            run("lr/c", GicVersion::V2, Outcome::XFail, "    known deviation: GICV_AIAR reads 0\n    step 3 …\n"),
            run("hw/d", GicVersion::V2, Outcome::Skip, "    the case applies to GIC v3 only (`gic:` header)\n"),
            run("hw/e", GicVersion::V4, Outcome::XPass, "    matches the golden, but …\n"),
            run("hw/f", GicVersion::V4, Outcome::Crash, "    exception at EL2 # ESR 0x96000045\n"),
        ]
    }

    #[test]
    fn junit_round_trips_with_the_right_counts() {
        let runs = sample();
        let xml =
            junit(&[QemuResults { version: "7.2.22", runs: &runs }, QemuResults { version: "10.0.2", runs: &runs }])
                .unwrap();
        let back = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(back.test_suites.len(), 2);
        assert_eq!(back.tests, 12);
        assert_eq!(back.failures, 6, "FAIL, XPASS and CRASH on each QEMU");
        let s = &back.test_suites[0];
        assert_eq!(s.name.as_str(), "QEMU 7.2.22");
        assert_eq!((s.tests, s.failures, s.errors), (6, 3, 0));
        let b = &s.test_cases[1];
        assert_eq!(b.name.as_str(), "v3 lr/b (QEMU 7.2.22)");
        assert_eq!(b.classname.as_ref().map(|c| c.as_str()), Some("lr"));
        match &b.status {
            TestCaseStatus::NonSuccess { message, ty, .. } => {
                assert_eq!(message.as_ref().unwrap().as_str(), "step 3 (guest ack): INTID: expected 27, got 1023");
                assert_eq!(ty.as_ref().unwrap().as_str(), "FAIL");
            }
            other => panic!("{other:?}"),
        }
        match &s.test_cases[2].status {
            TestCaseStatus::Skipped { message, .. } => {
                assert_eq!(message.as_ref().unwrap().as_str(), "known deviation: GICV_AIAR reads 0")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tap_has_a_plan_directives_and_diagnostics() {
        let runs = sample();
        let t = tap(&[QemuResults { version: "7.2.22", runs: &runs }]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[..3], ["TAP version 13", "1..6", "ok 1 - v3 lr/a (QEMU 7.2.22)"]);
        assert!(t.contains(
            "\nnot ok 2 - v3 lr/b (QEMU 7.2.22) (FAIL)\n  ---\n  outcome: FAIL\n  detail: |\n    step 3 (guest ack)"
        ));
        assert!(t.contains("\nnot ok 3 - v2 lr/c (QEMU 7.2.22) # TODO known deviation: GICV_AIAR reads 0\n"));
        assert!(t.contains("\nok 4 - v2 hw/d (QEMU 7.2.22) # SKIP the case applies to GIC v3 only (`gic:` header)\n"));
        assert!(t.contains("\nok 5 - v4 hw/e (QEMU 7.2.22) # TODO known deviation no longer seen"));
        assert!(t.contains("\nnot ok 6 - v4 hw/f (QEMU 7.2.22) (CRASH)\n"));
        assert_eq!(t.matches("\nnot ok ").count(), 3);
    }

    /// What the kernel or QEMU printed (ESC sequences, a NUL, a BEL, a
    /// right-to-left override) and a file name with ESC reach TAP and
    /// JUnit escaped.
    #[test]
    fn control_characters_from_a_run_are_escaped_in_tap_and_junit() {
        let runs = vec![
            run(
                "lr/\u{1b}[2Jx",
                GicVersion::V3,
                Outcome::Crash,
                "    malformed line: \u{1b}[31mred\u{0}\u{7}\n    more\u{202e}\n",
            ),
            run("lr/y", GicVersion::V3, Outcome::XFail, "    known deviation: \u{1b}[1m\n"),
        ];
        let both = [QemuResults { version: "7.2.22", runs: &runs }];
        let t = tap(&both);
        assert!(!crate::text::has_raw_controls(&t), "{t:?}");
        assert!(t.contains("not ok 1 - v3 lr/\\u{1b}[2Jx (QEMU 7.2.22) (CRASH)\n"), "{t}");
        assert!(t.contains("\n    malformed line: \\u{1b}[31mred\\u{0}\\u{7}\n    more\\u{202e}\n"), "{t}");
        let xml = junit(&both).unwrap();
        assert!(!crate::text::has_raw_controls(&xml), "{xml:?}");
        assert!(Report::deserialize_from_str(&xml).is_ok());
    }
}
