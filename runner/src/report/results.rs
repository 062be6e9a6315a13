//! A run's results on disk: `<run directory>/results.json`, written after
//! every `run` (one or several QEMUs) and read by `cargo xtask report` to
//! draw the HTML conformance matrix ([`crate::report::html`]).
//!
//! Shape (format 1):
//!
//! ```json
//! { "format": 1, "elapsed_s": 61.2,
//!   "cases": { "lr/basic-group1": { "aim": "…", "spec": "IHI0069H 6.3 …" } },
//!   "qemus": [ { "version": "7.2.22", "path": "/usr/bin/qemu-system-aarch64",
//!                "runs": [ { "case": "lr/basic-group1", "gic": "v3", "outcome": "PASS",
//!                            "detail": "", "elapsed_ms": 52, "log": "…/qemu-7.2.22/lr/basic-group1/v3" } ] } ] }
//! ```
//!
//! `gic` is absent for results that belong to no GIC version (an unusable
//! case or golden); `outcome` is one of [`Outcome::name`]; `detail` is the
//! indented explanation the text report prints (field-level diff, crash,
//! skip reason).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gic_case::proto::Outcome;
use gic_case::GicVersion;
use serde::{Deserialize, Serialize};

use crate::report::{CaseInfo, SuiteReport};

/// The format number written to, and accepted from, `results.json`.
pub const FORMAT: u32 = 1;

/// The file name in a run directory.
pub const FILE: &str = "results.json";

/// Everything a run produced, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`FORMAT`].
    pub format: u32,
    /// Wall time of the whole run, in seconds.
    pub elapsed_s: f64,
    /// Aim and spec sections of every case that ran, by name.
    pub cases: BTreeMap<String, CaseInfo>,
    /// One entry per QEMU, in the order they ran.
    pub qemus: Vec<QemuRun>,
}

/// The results of one QEMU binary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QemuRun {
    /// Version from `--version`, e.g. `10.0.2`.
    pub version: String,
    /// The binary.
    pub path: PathBuf,
    /// One result per case × GIC version (plus per-case errors).
    pub runs: Vec<StoredRun>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRun {
    /// Case name (`area/name`), or a golden's path for a golden without a case.
    pub case: String,
    /// `v2`, `v3` or `v4`; absent when the result is for no GIC version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gic: Option<String>,
    /// Outcome name (`PASS`, `XFAIL`, …).
    pub outcome: String,
    /// Explanation lines, indented as in the text report.
    #[serde(default)]
    pub detail: String,
    /// Wall time of the QEMU run, in milliseconds (0 when nothing ran).
    #[serde(default)]
    pub elapsed_ms: u64,
    /// The run's log directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

impl StoredRun {
    /// The outcome; [`Outcome::Error`] for a name this version does not know.
    pub fn outcome(&self) -> Outcome {
        Outcome::from_name(&self.outcome).unwrap_or(Outcome::Error)
    }

    /// The GIC version, if any.
    pub fn gic(&self) -> Option<GicVersion> {
        self.gic.as_deref().and_then(GicVersion::from_name)
    }
}

impl Results {
    /// The results of `reports` (one per QEMU, as [`crate::suite::run_on`] returns them).
    pub fn from_reports(reports: &[SuiteReport], elapsed: std::time::Duration) -> Results {
        let mut cases = BTreeMap::new();
        for r in reports {
            cases.extend(r.cases.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let qemus = reports
            .iter()
            .map(|s| QemuRun {
                version: s.qemu_version.clone(),
                path: s.qemu_path.clone(),
                runs: s
                    .runs
                    .iter()
                    .map(|r| StoredRun {
                        case: r.case.clone(),
                        gic: r.gic.map(|g| g.name().to_string()),
                        outcome: r.outcome.name().to_string(),
                        detail: r.detail.clone(),
                        elapsed_ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
                        log: r.log.clone(),
                    })
                    .collect(),
            })
            .collect();
        Results { format: FORMAT, elapsed_s: elapsed.as_secs_f64(), cases, qemus }
    }

    /// One set of results from several (the shards of a run, `--partition`):
    /// the runs of each QEMU version together, in the order versions first
    /// appear, with the cases of all; the wall time is the sum of theirs.
    ///
    /// # Errors
    /// No results given, or a result (case, GIC version, QEMU version) that
    /// two of them both have.
    pub fn merge(all: Vec<Results>) -> Result<Results, String> {
        let mut it = all.into_iter();
        let mut merged = it.next().ok_or("no results to merge")?;
        for r in it {
            merged.elapsed_s += r.elapsed_s;
            merged.cases.extend(r.cases);
            for q in r.qemus {
                let Some(m) = merged.qemus.iter_mut().find(|m| m.version == q.version) else {
                    merged.qemus.push(q);
                    continue;
                };
                for run in q.runs {
                    if m.runs.iter().any(|x| x.case == run.case && x.gic == run.gic) {
                        return Err(format!(
                            "{} {} on QEMU {} is in two of the results: merge the shards of one run, each once",
                            run.gic.as_deref().unwrap_or("--"),
                            run.case,
                            q.version
                        ));
                    }
                    m.runs.push(run);
                }
            }
        }
        for q in &mut merged.qemus {
            q.runs.sort_by(|a, b| (&a.case, &a.gic).cmp(&(&b.case, &b.gic)));
        }
        Ok(merged)
    }

    /// Writes `dir/results.json` atomically ([`crate::files::write_atomic`]);
    /// returns its path.
    ///
    /// # Errors
    /// The file cannot be written (a full disk said as such); an older
    /// `results.json` is then left as it was.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, String> {
        let path = dir.join(FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| format!("{}: {e}", path.display()))?;
        crate::files::write(&path, (text + "\n").as_bytes())?;
        Ok(path)
    }

    /// Reads a `results.json`.
    ///
    /// # Errors
    /// The file is missing or unreadable (with how to make one), is not
    /// JSON of this shape (with line and column), or has another format number.
    pub fn load(path: &Path) -> Result<Results, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "{}: {e}; results are written by every run (`cargo xtask test`) into its run directory",
                path.display()
            )
        })?;
        let r: Results = serde_json::from_str(&text)
            .map_err(|e| format!("{}:{}:{}: not a results file: {e}", path.display(), e.line(), e.column()))?;
        if r.format != FORMAT {
            return Err(format!(
                "{}: results format {} is not the format {FORMAT} this runner reads; run the suite again",
                path.display(),
                r.format
            ));
        }
        r.validate().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(r)
    }

    /// Checks what the reports rely on, so that no result is silently
    /// dropped, shown as something else or hidden behind another: each
    /// QEMU version once; in each QEMU, each (case, GIC version) once; a
    /// known GIC version name and outcome name; a case listed in `cases`,
    /// unless the result belongs to no GIC version and is an ERROR (a case
    /// that does not parse, a golden without a case).
    ///
    /// # Errors
    /// The first offending result, located as `qemus[i] (QEMU v) runs[j]`.
    pub fn validate(&self) -> Result<(), String> {
        let mut versions = std::collections::BTreeSet::new();
        for (i, q) in self.qemus.iter().enumerate() {
            if !versions.insert(q.version.as_str()) {
                return Err(format!("qemus[{i}]: QEMU {} appears twice; results are kept once per version", q.version));
            }
            let mut seen = std::collections::BTreeMap::new();
            for (j, r) in q.runs.iter().enumerate() {
                let at = format!("qemus[{i}] (QEMU {}) runs[{j}]", q.version);
                let gic = r.gic.as_deref();
                let what = format!("{} {}", gic.unwrap_or("--"), r.case);
                if let Some(g) = gic {
                    if GicVersion::from_name(g).is_none() {
                        let known: Vec<&str> = GicVersion::ALL.iter().map(|v| v.name()).collect();
                        return Err(format!("{at}: {what}: unknown GIC version {g:?} (known: {})", known.join(", ")));
                    }
                }
                let Some(outcome) = Outcome::from_name(&r.outcome) else {
                    let known: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
                    return Err(format!("{at}: {what}: unknown outcome {:?} (known: {})", r.outcome, known.join(", ")));
                };
                let caseless_error = gic.is_none() && outcome == Outcome::Error;
                if !caseless_error && !self.cases.contains_key(&r.case) {
                    return Err(format!(
                        "{at}: {what}: the case is not in \"cases\" (only an ERROR for no GIC version may be)"
                    ));
                }
                if let Some(k) = seen.insert((r.case.as_str(), gic), j) {
                    return Err(format!(
                        "{at}: {what} is also runs[{k}] ({} and {}): one result per case and GIC version",
                        q.runs[k].outcome, r.outcome
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunReport;
    use std::time::Duration;

    #[test]
    fn results_round_trip_through_the_file() {
        let mut r = RunReport::simple("lr/a", Some(GicVersion::V3), Outcome::XFail, "    known deviation\n".into());
        r.elapsed = Duration::from_millis(52);
        let e = RunReport::simple("lr/bad", None, Outcome::Error, "    golden unusable\n".into());
        let mut s = SuiteReport { runs: vec![r, e], qemu_version: "7.2.22".into(), ..SuiteReport::default() };
        s.cases.insert("lr/a".into(), CaseInfo { aim: "an aim".into(), spec: "IHI0069H 6.3".into() });
        let results = Results::from_reports(&[s], Duration::from_secs(3));
        let dir = std::env::temp_dir().join(format!("gicv-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = results.write(&dir).unwrap();
        let back = Results::load(&path).unwrap();
        assert_eq!(back, results);
        assert_eq!(back.qemus[0].runs[0].outcome(), Outcome::XFail);
        assert_eq!(back.qemus[0].runs[0].gic(), Some(GicVersion::V3));
        assert_eq!(back.qemus[0].runs[0].elapsed_ms, 52);
        assert_eq!(back.qemus[0].runs[1].gic(), None);

        std::fs::write(&path, "{\"format\": 1,\n \"qemus\": 3}").unwrap();
        let e = Results::load(&path).unwrap_err();
        assert!(e.contains("results.json:2:") && e.contains("not a results file"), "{e}");
        std::fs::write(&path, serde_json::to_string(&Results { format: 9, ..results }).unwrap()).unwrap();
        assert!(Results::load(&path).unwrap_err().contains("results format 9"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(Results::load(&path).unwrap_err().contains("written by every run"));
    }

    #[test]
    fn shards_merge_into_one_run_and_overlaps_are_refused() {
        let shard = |case: &str, version: &str| {
            let run = RunReport::simple(case, Some(GicVersion::V3), Outcome::Pass, String::new());
            let mut s = SuiteReport { runs: vec![run], qemu_version: version.into(), ..SuiteReport::default() };
            s.cases.insert(case.into(), CaseInfo::default());
            s
        };
        let a = Results::from_reports(&[shard("lr/b", "7.2.22"), shard("lr/b", "10.0.2")], Duration::from_secs(2));
        let b = Results::from_reports(&[shard("lr/a", "7.2.22"), shard("lr/a", "10.0.2")], Duration::from_secs(3));
        let m = Results::merge(vec![a.clone(), b]).unwrap();
        assert_eq!(m.elapsed_s, 5.0);
        assert_eq!(m.cases.len(), 2);
        assert_eq!(m.qemus.len(), 2);
        let cases: Vec<&str> = m.qemus[1].runs.iter().map(|r| r.case.as_str()).collect();
        assert_eq!((m.qemus[1].version.as_str(), cases), ("10.0.2", vec!["lr/a", "lr/b"]));
        let e = Results::merge(vec![a.clone(), a]).unwrap_err();
        assert!(e.contains("v3 lr/b on QEMU 7.2.22 is in two of the results"), "{e}");
        assert!(Results::merge(vec![]).is_err());
    }

    /// A results file as a user (or a broken tool) might hand to `report`.
    fn file_with(runs: &str) -> String {
        format!(
            "{{\"format\":1,\"elapsed_s\":1.0,\"cases\":{{\"lr/a\":{{\"aim\":\"\",\"spec\":\"\"}}}},\
             \"qemus\":[{{\"version\":\"7.2.22\",\"path\":\"/q\",\"runs\":[{runs}]}}]}}"
        )
    }

    fn load_text(name: &str, text: &str) -> Result<Results, String> {
        let dir = std::env::temp_dir().join(format!("gicv-results-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE);
        std::fs::write(&path, text).unwrap();
        let r = Results::load(&path);
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    #[test]
    fn a_result_given_twice_is_refused_not_hidden() {
        let pass = r#"{"case":"lr/a","gic":"v3","outcome":"PASS"}"#;
        let fail = r#"{"case":"lr/a","gic":"v3","outcome":"FAIL"}"#;
        let e = load_text("dup", &file_with(&format!("{pass},{fail}"))).unwrap_err();
        assert!(e.contains("qemus[0] (QEMU 7.2.22) runs[1]: v3 lr/a is also runs[0] (PASS and FAIL)"), "{e}");
        // Different GIC versions of one case are two results.
        let v2 = r#"{"case":"lr/a","gic":"v2","outcome":"FAIL"}"#;
        assert!(load_text("two-gics", &file_with(&format!("{pass},{v2}"))).is_ok());
    }

    #[test]
    fn unknown_gic_outcome_or_case_is_refused_with_its_location() {
        let e = load_text("gic", &file_with(r#"{"case":"lr/a","gic":"v5","outcome":"PASS"}"#)).unwrap_err();
        assert!(e.contains("runs[0]: v5 lr/a: unknown GIC version \"v5\" (known: v2, v3, v4)"), "{e}");
        let e = load_text("outcome", &file_with(r#"{"case":"lr/a","gic":"v3","outcome":"OK"}"#)).unwrap_err();
        assert!(e.contains("runs[0]: v3 lr/a: unknown outcome \"OK\""), "{e}");
        let e = load_text("case", &file_with(r#"{"case":"lr/zz","gic":"v3","outcome":"FAIL"}"#)).unwrap_err();
        assert!(e.contains("runs[0]: v3 lr/zz: the case is not in \"cases\""), "{e}");
        // A case that did not parse has no entry in `cases`, and says so as an ERROR for no GIC.
        assert!(load_text("unparsed", &file_with(r#"{"case":"lr/zz","outcome":"ERROR"}"#)).is_ok());
        let twice = file_with("").replace(
            r#"[{"version":"7.2.22","path":"/q","runs":[]}]"#,
            r#"[{"version":"7.2.22","path":"/q","runs":[]},{"version":"7.2.22","path":"/r","runs":[]}]"#,
        );
        assert!(load_text("qemu", &twice).unwrap_err().contains("qemus[1]: QEMU 7.2.22 appears twice"));
    }
}
