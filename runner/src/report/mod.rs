//! Reporting results: [`text`] (result lines, the terminal report),
//! [`formats`] (JUnit XML, TAP 13), [`results`] (`results.json`, what
//! `report` reads back), [`html`] (the conformance matrix) and [`browser`]
//! (its check in headless Chromium). The results themselves, as the suite
//! produces them, are the types below.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gic_case::proto::Outcome;
use gic_case::GicVersion;
use serde_json::Value;

use crate::case::expr::Params;

pub mod browser;
pub mod coverage;
pub mod formats;
pub mod html;
pub mod results;
pub mod text;

/// One (case, GIC version) result.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Case name, or a golden path for orphan goldens.
    pub case: String,
    /// GIC version, if the result is for one.
    pub gic: Option<GicVersion>,
    /// Outcome.
    pub outcome: Outcome,
    /// Explanation lines (diff, crash, reason), already indented.
    pub detail: String,
    /// Wall time of the QEMU run.
    pub elapsed: Duration,
    /// The run's log directory.
    pub log: Option<PathBuf>,
    /// Events, when the kernel finished cleanly (for bless).
    pub events: Option<Vec<Value>>,
    /// What the run's header says the GIC implements, for a run that
    /// finished (goldens' expressions are evaluated with it).
    pub params: Option<Params>,
}

impl RunReport {
    pub(crate) fn simple(case: &str, gic: Option<GicVersion>, outcome: Outcome, detail: String) -> Self {
        RunReport {
            case: case.to_string(),
            gic,
            outcome,
            detail,
            elapsed: Duration::ZERO,
            log: None,
            events: None,
            params: None,
        }
    }
}

/// Everything a suite run produced.
#[derive(Debug, Default)]
pub struct SuiteReport {
    /// Results in (case, version) order.
    pub runs: Vec<RunReport>,
    /// Golden files written by `bless`, with the change shown.
    pub blessed: Vec<(PathBuf, String)>,
    /// Cases `bless` did not write: (case, why, whether that fails the bless).
    pub refused: Vec<(String, String, bool)>,
    /// This run's own directory (logs of every QEMU run).
    pub run_dir: PathBuf,
    /// Version of the QEMU these results are from, e.g. `7.2.22`.
    pub qemu_version: String,
    /// That QEMU's binary.
    pub qemu_path: PathBuf,
    /// Aim and spec sections of every case that parsed, by name.
    pub cases: BTreeMap<String, CaseInfo>,
    /// Files this run had to write and could not (goldens of `bless`);
    /// the run then exits with status 3 (`cli::EXIT_WRITE`).
    pub unwritten: Vec<PathBuf>,
}

/// What a case says of itself, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaseInfo {
    /// `aim:` text.
    pub aim: String,
    /// `spec:` text (section citations).
    pub spec: String,
}

impl SuiteReport {
    /// Whether anything failed, crashed, timed out or errored.
    pub fn failed(&self) -> bool {
        self.runs.iter().any(|r| r.outcome.is_failure())
    }

    /// Whether a `bless` did not do all it was asked: a case it had to
    /// refuse, or a run that did not finish (CRASH, TIMEOUT, ERROR). FAIL is
    /// expected there: it is how a changed golden shows.
    pub fn bless_failed(&self) -> bool {
        self.refused.iter().any(|(_, _, fails)| *fails)
            || self
                .runs
                .iter()
                .any(|r| matches!(r.outcome, Outcome::Crash | Outcome::Timeout | Outcome::Restore | Outcome::Error))
    }

    /// Count of each outcome.
    pub fn counts(&self) -> BTreeMap<Outcome, usize> {
        let mut m = BTreeMap::new();
        for r in &self.runs {
            *m.entry(r.outcome).or_default() += 1;
        }
        m
    }
}
