//! Running the suite: discover cases and goldens, run every (case, GIC
//! version) in parallel, decide each outcome, bless when asked.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gic_case::proto::{KernelExit, Outcome};
use gic_case::GicVersion;
use serde_json::Value;

use crate::case::{self, Case, CaseError};
use crate::compare;
use crate::deviations::{self, Deviation};
use crate::events;
use crate::golden::Golden;
use crate::qemu::{self, Qemu};

/// A case file found on disk.
#[derive(Debug)]
pub struct CaseFile {
    /// `group/name`.
    pub name: String,
    /// Path of the `.case` file.
    pub path: PathBuf,
    /// Parsed case, or the located error.
    pub parsed: Result<Case, CaseError>,
}

/// Finds every `*.case` under `cases_dir`, sorted by name, each parsed.
///
/// # Errors
/// When the directory cannot be read.
pub fn discover(cases_dir: &Path) -> Result<Vec<CaseFile>, String> {
    let mut files = Vec::new();
    walk(cases_dir, "case", &mut files).map_err(|e| format!("{}: {e}", cases_dir.display()))?;
    files.sort();
    Ok(files
        .into_iter()
        .map(|path| {
            let name = rel_name(cases_dir, &path, "case");
            let parsed = fs::read_to_string(&path)
                .map_err(|e| CaseError { file: path.clone(), line: 1, col: 1, msg: format!("cannot read: {e}") })
                .and_then(|text| case::parse(&path, &name, &text));
            CaseFile { name, path, parsed }
        })
        .collect())
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, ext, out)?;
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    Ok(())
}

fn rel_name(base: &Path, p: &Path, ext: &str) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p).to_string_lossy().replace('\\', "/");
    rel.strip_suffix(&format!(".{ext}")).unwrap_or(&rel).to_string()
}

/// Goldens with no case (`expected/x/y.json` without `cases/x/y.case`).
pub fn orphan_goldens(expected_dir: &Path, cases: &[CaseFile]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if walk(expected_dir, "json", &mut files).is_err() {
        return Vec::new();
    }
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    files.sort();
    files.into_iter().filter(|p| !names.contains(rel_name(expected_dir, p, "json").as_str())).collect()
}

/// Path of a case's golden.
pub fn golden_path(expected_dir: &Path, name: &str) -> PathBuf {
    expected_dir.join(format!("{name}.json"))
}

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// `cases/`.
    pub cases_dir: PathBuf,
    /// `expected/`.
    pub expected_dir: PathBuf,
    /// Kernel ELF.
    pub kernel: PathBuf,
    /// QEMU.
    pub qemu: Qemu,
    /// GIC versions to run.
    pub gics: Vec<GicVersion>,
    /// Case-name substrings; empty runs all.
    pub filters: Vec<String>,
    /// Parallel QEMU processes.
    pub jobs: usize,
    /// Write goldens from this run.
    pub bless: bool,
    /// Per-run logs go under here.
    pub log_dir: PathBuf,
}

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
}

impl RunReport {
    fn simple(case: &str, gic: Option<GicVersion>, outcome: Outcome, detail: String) -> Self {
        RunReport { case: case.to_string(), gic, outcome, detail, elapsed: Duration::ZERO, log: None, events: None }
    }
}

/// Everything a suite run produced.
#[derive(Debug, Default)]
pub struct SuiteReport {
    /// Results in (case, version) order.
    pub runs: Vec<RunReport>,
    /// Golden files written by `--bless`, with the change shown.
    pub blessed: Vec<(PathBuf, String)>,
}

impl SuiteReport {
    /// Whether anything failed, crashed, timed out or errored.
    pub fn failed(&self) -> bool {
        self.runs.iter().any(|r| r.outcome.is_failure())
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

struct Job {
    case: Arc<Case>,
    gic: GicVersion,
    golden: Option<Vec<Value>>,
    image: Vec<u32>,
}

fn matches_filter(name: &str, filters: &[String]) -> bool {
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

/// Runs the suite; `progress` is called with each result as it completes.
///
/// # Errors
/// When the cases directory or the deviations file cannot be read.
pub fn run(opts: &Options, progress: &(dyn Fn(&RunReport) + Sync)) -> Result<SuiteReport, String> {
    let cases = discover(&opts.cases_dir)?;
    let devs = deviations::load(&opts.expected_dir.join("deviations.toml"))?;
    let mut report = SuiteReport::default();
    let mut jobs = Vec::new();
    let mut goldens: BTreeMap<String, Option<Golden>> = BTreeMap::new();

    for cf in cases.iter().filter(|c| matches_filter(&c.name, &opts.filters)) {
        let case = match &cf.parsed {
            Ok(c) => Arc::new(c.clone()),
            Err(e) => {
                report.runs.push(RunReport::simple(&cf.name, None, Outcome::Error, format!("    {e}\n")));
                continue;
            }
        };
        let gpath = golden_path(&opts.expected_dir, &cf.name);
        let golden = if gpath.exists() {
            match Golden::load(&gpath) {
                Ok(g) => Some(g),
                Err(e) => {
                    report.runs.push(RunReport::simple(
                        &cf.name,
                        None,
                        Outcome::Error,
                        format!("    golden unusable: {e}\n"),
                    ));
                    continue;
                }
            }
        } else {
            None
        };
        for &v in &opts.gics {
            if !case.gics.contains(&v) {
                let list: Vec<&str> = case.gics.iter().map(|g| g.name()).collect();
                report.runs.push(RunReport::simple(
                    &cf.name,
                    Some(v),
                    Outcome::Skip,
                    format!("    the case applies to GIC {} only (`gic:` header)\n", list.join(", ")),
                ));
                continue;
            }
            let image = match case.compile(v) {
                Ok(i) => i,
                Err(e) => {
                    report.runs.push(RunReport::simple(&cf.name, Some(v), Outcome::Error, format!("    {e}\n")));
                    continue;
                }
            };
            let expected = golden.as_ref().and_then(|g| g.for_version(v).cloned());
            if expected.is_none() && !opts.bless {
                let why = if golden.is_some() {
                    format!(
                        "    the golden {} has no entry for {} (add \"{}\" or \"all\")\n",
                        gpath.display(),
                        v.name(),
                        v.name()
                    )
                } else {
                    format!(
                        "    no golden: {} is missing; write it from the spec (or run with --bless and check every value against the spec)\n",
                        gpath.display()
                    )
                };
                report.runs.push(RunReport::simple(&cf.name, Some(v), Outcome::Error, why));
                continue;
            }
            jobs.push(Job { case: case.clone(), gic: v, golden: expected, image });
        }
        goldens.insert(cf.name.clone(), golden);
    }
    if opts.filters.is_empty() {
        for p in orphan_goldens(&opts.expected_dir, &cases) {
            report.runs.push(RunReport::simple(
                &p.display().to_string(),
                None,
                Outcome::Error,
                "    golden without a case: delete it or add the case with the same relative path\n".into(),
            ));
        }
    }
    for r in &report.runs {
        progress(r);
    }

    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| loop {
                let Some(job) = queue.lock().expect("queue").pop_front() else { break };
                let r = run_one(opts, &devs, &job);
                progress(&r);
                results.lock().expect("results").push(r);
            });
        }
    });
    report.runs.extend(results.into_inner().expect("results"));
    report.runs.sort_by(|a, b| (&a.case, a.gic).cmp(&(&b.case, b.gic)));

    if opts.bless {
        report.blessed = bless(opts, &cases, &goldens, &report.runs)?;
    }
    Ok(report)
}

fn run_one(opts: &Options, devs: &[Deviation], job: &Job) -> RunReport {
    let name = &job.case.name;
    let dir = opts.log_dir.join(format!("qemu-{}", opts.qemu.version)).join(name).join(job.gic.name());
    let launch = qemu::Launch {
        qemu: &opts.qemu,
        kernel: &opts.kernel,
        case_image: &job.image,
        gic: job.gic,
        smp: job.case.smp,
        timeout: job.case.timeout,
        dir: &dir,
    };
    let mut r = RunReport::simple(name, Some(job.gic), Outcome::Error, String::new());
    r.log = Some(dir.clone());
    let res = match qemu::run(&launch) {
        Ok(res) => res,
        Err(e) => {
            r.detail = format!("    {e}\n");
            return r;
        }
    };
    r.elapsed = res.elapsed;
    let out = events::parse(&res.output);
    let seen = |out: &events::KernelOutput| -> String {
        let mut s = format!("    events seen before it stopped ({}):\n", out.events.len());
        for e in out.events.iter().rev().take(8).rev() {
            s.push_str(&format!("      {e}\n"));
        }
        s
    };
    let stderr_tail = |s: &str| -> String {
        s.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().map(|l| format!("      {l}\n")).collect()
    };
    let (outcome, detail) = if res.timed_out {
        (Outcome::Timeout, format!("    no exit within {:?} (the case's `timeout:`)\n{}", job.case.timeout, seen(&out)))
    } else {
        match res.exit_code.and_then(KernelExit::from_code) {
            Some(KernelExit::Crash) | Some(KernelExit::Panic) => {
                let c = out.crash.as_ref().map_or("crash record missing".to_string(), events::describe_crash);
                (Outcome::Crash, format!("    {c}\n{}", seen(&out)))
            }
            Some(KernelExit::BadCase) | Some(KernelExit::BadPlatform) => (
                Outcome::Error,
                format!("    kernel refused the run: {}\n", out.error.as_deref().unwrap_or("(no error record)")),
            ),
            Some(KernelExit::Done) if !out.ended || !out.malformed.is_empty() || out.header.is_none() => {
                let mut d = String::from("    kernel output truncated or not JSON lines:\n");
                for (n, l) in out.malformed.iter().take(5) {
                    d.push_str(&format!("      line {n}: {l}\n"));
                }
                if !out.ended {
                    d.push_str("      no end record\n");
                }
                (Outcome::Crash, d)
            }
            Some(KernelExit::Done) => {
                r.events = Some(out.events.clone());
                match &job.golden {
                    None => (Outcome::Pass, "    no golden yet; events recorded for --bless\n".into()),
                    Some(expected) => judge(devs, name, job.gic, &opts.qemu.version, expected, &out.events),
                }
            }
            None => (
                Outcome::Crash,
                format!(
                    "    QEMU exited with {} before the kernel finished; its stderr ends:\n{}",
                    res.exit_code.map_or("a signal".to_string(), |c| format!("status {c}")),
                    stderr_tail(&res.stderr)
                ),
            ),
        }
    };
    r.outcome = outcome;
    r.detail = detail;
    let _ = fs::write(
        dir.join("result.txt"),
        format!("{} {} {}\n{}\ncommand: {}\n", outcome.name(), job.gic.name(), name, r.detail, res.command),
    );
    r
}

fn judge(
    devs: &[Deviation],
    name: &str,
    gic: GicVersion,
    qemu_version: &str,
    expected: &[Value],
    actual: &[Value],
) -> (Outcome, String) {
    let diffs = compare::compare(expected, actual);
    let dev = deviations::find(devs, name, gic, qemu_version);
    if diffs.is_empty() {
        return match dev {
            Some(d) => (
                Outcome::XPass,
                format!("    matches the golden, but expected/deviations.toml lists a deviation: {}\n    (QEMU {qemu_version} may have fixed it: narrow the entry's `qemu` range)\n", d.what),
            ),
            None => (Outcome::Pass, String::new()),
        };
    }
    let detail = format!(
        "{}    line diff (- golden, + run):\n{}",
        compare::render(&diffs),
        compare::line_diff(expected, actual)
    );
    match dev {
        Some(d) if d.steps.is_empty() || diffs.iter().all(|x| d.steps.contains(&x.step())) => {
            (Outcome::XFail, format!("    known deviation: {}\n{detail}", d.what))
        }
        Some(d) => (
            Outcome::Fail,
            format!("    differs outside the known deviation's steps {:?} ({}):\n{detail}", d.steps, d.what),
        ),
        None => (Outcome::Fail, detail),
    }
}

fn bless(
    opts: &Options,
    cases: &[CaseFile],
    goldens: &BTreeMap<String, Option<Golden>>,
    runs: &[RunReport],
) -> Result<Vec<(PathBuf, String)>, String> {
    let mut written = Vec::new();
    for cf in cases {
        let Ok(case) = &cf.parsed else { continue };
        let mut fresh: BTreeMap<GicVersion, Vec<Value>> = BTreeMap::new();
        for r in runs.iter().filter(|r| r.case == cf.name) {
            if let (Some(v), Some(ev)) = (r.gic, &r.events) {
                fresh.insert(v, ev.clone());
            }
        }
        if fresh.is_empty() {
            continue; // not run (filtered, skipped, crashed): never touch its golden
        }
        let old = goldens.get(&cf.name).cloned().flatten();
        let mut all = BTreeMap::new();
        for &v in &case.gics {
            if let Some(ev) = fresh.get(&v) {
                all.insert(v, ev.clone());
            } else if let Some(ev) = old.as_ref().and_then(|g| g.for_version(v)) {
                all.insert(v, ev.clone());
            }
        }
        let new = Golden::from_runs(&case.gics, &all);
        let new_text = new.render();
        let path = golden_path(&opts.expected_dir, &cf.name);
        let old_text = fs::read_to_string(&path).unwrap_or_default();
        if old_text == new_text {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&path, &new_text).map_err(|e| format!("{}: {e}", path.display()))?;
        let diff = similar::TextDiff::from_lines(&old_text, &new_text)
            .unified_diff()
            .header(&format!("{} (before)", path.display()), &format!("{} (blessed)", path.display()))
            .to_string();
        written.push((path, diff));
    }
    Ok(written)
}
