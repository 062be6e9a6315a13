//! Running the suite: discover cases and goldens, run every (case, GIC
//! version) in parallel, decide each outcome, bless when asked.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gic_case::proto::{KernelExit, Outcome};
use gic_case::GicVersion;
use serde_json::Value;

use crate::case::expr::Params;
use crate::case::inputs::{discover, golden_path, matches_filter, orphan_goldens, CaseFile};
use crate::case::{Case, View};
use crate::judge::compare;
use crate::judge::deviations::{self, Deviation};
use crate::judge::golden::Golden;
use crate::launch::events;
use crate::launch::qemu::{self, Qemu};
use crate::launch::target::Target;
use crate::report::{CaseInfo, RunReport, SuiteReport};
use crate::text;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// `cases/`.
    pub cases_dir: PathBuf,
    /// `expected/`.
    pub expected_dir: PathBuf,
    /// The EL2 kernel's ELF (hypervisor-view cases).
    pub kernel: PathBuf,
    /// The guest-mode kernel's arm64 Image (guest-view cases, `guest/`);
    /// `None` when no selected case needs it (such a case is then an ERROR).
    pub guest_image: Option<PathBuf>,
    /// Where the cases run on each QEMU, in turn (`--hypervisor`, repeatable):
    /// `None` on bare QEMU, `Some` as VMs of KVM (in Linux) or Xen inside it
    /// ([`crate::launch::hypervisor`]), where the hypervisor-view cases SKIP.
    /// Results under a hypervisor carry
    /// [`crate::launch::hypervisor::Hypervisor::label`] as their QEMU version,
    /// so every report, and the table of outcomes that differ, sets them
    /// beside the bare runs. Empty means bare QEMU only.
    pub hypervisors: Vec<Option<crate::launch::hypervisor::Hypervisor>>,
    /// QEMU.
    pub qemu: Qemu,
    /// Accelerator and CPU model QEMU runs the kernel with.
    pub exec: qemu::Execution,
    /// GIC versions to run.
    pub gics: Vec<GicVersion>,
    /// Case-name substrings; empty runs all.
    pub filters: Vec<String>,
    /// Parallel QEMU processes.
    pub jobs: usize,
    /// Write goldens from this run (`bless`): see [`bless`] for which.
    pub bless: bool,
    /// Runs keep their files under `<out_dir>/run-<time>-<pid>/`, one
    /// directory per run so that concurrent runs never share files.
    pub out_dir: PathBuf,
    /// Run only shard `k` of `n` (`Some((k, n))`, 1 ≤ k ≤ n): the selected
    /// cases in name order, every n-th from the k-th, all their GIC
    /// versions together (see [`Partition`]).
    pub partition: Option<Partition>,
    /// `--migrate[=N]`: after the plain runs on bare QEMU, run every case
    /// again saving and restoring the machine at up to N step boundaries
    /// ([`crate::launch::migrate`]; `usize::MAX`: every boundary). Those
    /// results carry the label `<QEMU version>-migrated` ([`crate::launch::migrate::MIGRATED`]),
    /// so every report sets them beside the plain ones.
    pub migrate: Option<usize>,
    /// `--migrate-seed`: draw the migration points at random from this
    /// seed ([`crate::launch::migrate::choose_seeded`]) instead of spreading them evenly.
    pub migrate_seed: Option<u64>,
}

/// A shard of a run, `--partition k/n`: case i (0-based, in name order
/// among the cases the filters select) belongs to shard `i % n + 1`, so
/// the n shards together run every case once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This shard, 1-based.
    pub k: usize,
    /// Number of shards.
    pub n: usize,
}

impl std::str::FromStr for Partition {
    type Err = String;
    /// Parses `k/n`.
    ///
    /// # Errors
    /// Anything but two decimal numbers with 1 ≤ k ≤ n.
    fn from_str(s: &str) -> Result<Partition, String> {
        let bad = || format!("`{s}` is not a partition k/n with 1 <= k <= n, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n) = (k.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if k == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }
}

impl Partition {
    /// Whether the `index`-th selected case (0-based) is in this shard.
    pub fn has(&self, index: usize) -> bool {
        index % self.n == self.k - 1
    }
}

struct Job {
    case: Arc<Case>,
    gic: GicVersion,
    golden: Option<Vec<Value>>,
    image: Vec<u32>,
}

/// How many finished run directories `out_dir` keeps (older ones are removed).
pub const KEEP_RUNS: usize = 10;

/// A run's own directory, locked while the run lasts so that pruning by a
/// concurrent run never removes it.
#[derive(Debug)]
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
    _lock: fs::File,
}

/// Creates `<out_dir>/run-<unix time>-<pid>[-n]`, locks it, removes the
/// oldest unlocked run directories beyond [`KEEP_RUNS`].
///
/// # Errors
/// When the directory cannot be created or locked.
pub fn new_run_dir(out_dir: &Path) -> Result<RunDir, String> {
    fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create the output directory {}: {e}", out_dir.display()))?;
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let base = format!("run-{secs}-{}", std::process::id());
    let mut n = 0;
    let path = loop {
        let name = if n == 0 { base.clone() } else { format!("{base}-{n}") };
        let p = out_dir.join(name);
        match fs::create_dir(&p) {
            Ok(()) => break p,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(format!("cannot create {}: {e}", p.display())),
        }
    };
    let lock_path = path.join(".lock");
    let lock = fs::File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    prune_runs(out_dir, &path);
    Ok(RunDir { path, _lock: lock })
}

fn prune_runs(out_dir: &Path, keep: &Path) {
    let Ok(rd) = fs::read_dir(out_dir) else { return };
    let mut runs: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("run-") && e.path() != keep)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    runs.sort();
    let excess = runs.len().saturating_sub(KEEP_RUNS.saturating_sub(1));
    for (_, p) in runs.into_iter().take(excess) {
        // A run in progress holds its lock: leave it.
        let Ok(f) = fs::File::open(p.join(".lock")) else { continue };
        if f.try_lock().is_ok() {
            let _ = fs::remove_dir_all(&p);
        }
    }
}

/// Points `<out_dir>/latest` at `run_dir` (replacing the link atomically).
/// The command line does it once the run's results are written, so that
/// `latest` never names a run whose results.json is missing.
pub fn link_latest(out_dir: &Path, run_dir: &Path) {
    let Some(name) = run_dir.file_name() else { return };
    let tmp = out_dir.join(format!(".latest-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    if std::os::unix::fs::symlink(name, &tmp).is_ok() && fs::rename(&tmp, out_dir.join("latest")).is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

/// How far a run is: results so far and the results it will have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Results reported so far, this one included.
    pub done: usize,
    /// Results the run will report (QEMU runs plus immediate results).
    pub total: usize,
}

/// Runs the suite; `progress` is called with each result as it completes.
///
/// # Errors
/// As [`run_with_progress`].
pub fn run(opts: &Options, progress: &(dyn Fn(&RunReport) + Sync)) -> Result<SuiteReport, String> {
    run_with_progress(opts, &|r, _| progress(r))
}

/// Runs the suite on `opts.qemu`; `progress` is called with each result as
/// it completes and how many results there are so far and in all.
///
/// # Errors
/// As [`run_on`].
pub fn run_with_progress(
    opts: &Options,
    progress: &(dyn Fn(&RunReport, Progress) + Sync),
) -> Result<SuiteReport, String> {
    let mut reports = run_on(opts, std::slice::from_ref(&opts.qemu), &|_, r, p| progress(r, p))?;
    Ok(reports.pop().expect("one report per QEMU"))
}

/// Runs the suite once on each QEMU of `qemus`, one after the other, in
/// one run directory (each QEMU's logs under `qemu-<version>/`; `opts.qemu`
/// is not used). Returns one report per QEMU, in the order given, each
/// with the same results in the same order: one per case × GIC version,
/// immediate ones (SKIP for a GIC version the case does not name, ERROR
/// for an unusable case or golden) included. `progress` gets the QEMU,
/// each result as it completes, and counts over all QEMUs.
///
/// # Errors
/// When `qemus` is empty, when `bless` is asked of more than one QEMU,
/// when the cases directory or the deviations file cannot be read, when a
/// filter matches no case, when `bless` names no case, or when the run's
/// directory cannot be created.
pub fn run_on(
    opts: &Options,
    qemus: &[Qemu],
    progress: &(dyn Fn(&Qemu, &RunReport, Progress) + Sync),
) -> Result<Vec<SuiteReport>, String> {
    if qemus.is_empty() {
        return Err("no QEMU to run on".into());
    }
    if opts.bless && qemus.len() > 1 {
        return Err("bless drafts goldens from one QEMU: give --qemu once".into());
    }
    let cases = discover(&opts.cases_dir)?;
    let devs = deviations::load(&opts.expected_dir.join("deviations.toml"))?;
    if opts.bless && opts.filters.is_empty() {
        return Err(BLESS_NEEDS_NAMES.into());
    }
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let unmatched = crate::case::inputs::unmatched_filters(&names, &opts.filters);
    if !unmatched.is_empty() {
        return Err(unmatched.join("\n"));
    }
    let matching: Vec<&CaseFile> = cases.iter().filter(|c| matches_filter(&c.name, &opts.filters)).collect();
    let selected: Vec<&CaseFile> = matching
        .iter()
        .enumerate()
        .filter(|(i, _)| opts.partition.is_none_or(|p| p.has(*i)))
        .map(|(_, c)| *c)
        .collect();
    if let (Some(p), true) = (opts.partition, selected.is_empty()) {
        // An empty shard would pass with "0 passed": a CI matrix wider than the suite.
        return Err(format!(
            "--partition {}/{} selects no case: the selection has {} case(s), so at most {} shards can each \
             have one",
            p.k,
            p.n,
            matching.len(),
            matching.len()
        ));
    }
    let run_dir = new_run_dir(&opts.out_dir)?;
    // The results known without running (the same for every QEMU).
    let mut report = SuiteReport::default();
    let mut jobs = Vec::new();
    let mut goldens: BTreeMap<String, Option<Golden>> = BTreeMap::new();
    let mut infos = BTreeMap::new();

    for cf in selected {
        let case = match &cf.parsed {
            Ok(c) => {
                infos.insert(cf.name.clone(), CaseInfo { aim: c.aim.clone(), spec: c.spec.clone() });
                Arc::new(c.clone())
            }
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
            if let Some(why) = opts.exec.unsupported_gic(v) {
                report.runs.push(RunReport::simple(&cf.name, Some(v), Outcome::Skip, format!("    {why}\n")));
                continue;
            }
            let image = match case.compile(v) {
                Ok(i) => i,
                Err(e) => {
                    report.runs.push(RunReport::simple(&cf.name, Some(v), Outcome::Error, format!("    {e}\n")));
                    continue;
                }
            };
            let expected = golden.as_ref().and_then(|g| g.for_version(v));
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
                        "    no golden: {} is missing; write it from the spec the case cites (or draft it with \
                         `cargo xtask bless {}` and check every value against the spec)\n",
                        gpath.display(),
                        cf.name
                    )
                };
                report.runs.push(RunReport::simple(&cf.name, Some(v), Outcome::Error, why));
                continue;
            }
            jobs.push(Job { case: case.clone(), gic: v, golden: expected, image });
        }
        goldens.insert(cf.name.clone(), golden);
    }
    if opts.filters.is_empty() && opts.partition.is_none_or(|p| p.k == 1) {
        for p in orphan_goldens(&opts.expected_dir, &cases) {
            report.runs.push(RunReport::simple(
                &p.display().to_string(),
                None,
                Outcome::Error,
                "    golden without a case: delete it or add the case with the same relative path\n".into(),
            ));
        }
    }
    let bare = [None];
    let modes: &[Option<crate::launch::hypervisor::Hypervisor>] =
        if opts.hypervisors.is_empty() { &bare } else { &opts.hypervisors };
    // (hypervisor, migrated): every mode plain, then bare QEMU migrated.
    let mut passes: Vec<(&Option<crate::launch::hypervisor::Hypervisor>, bool)> =
        modes.iter().map(|m| (m, false)).collect();
    if opts.migrate.is_some() {
        passes.push((&bare[0], true));
    }
    let total = (report.runs.len() + jobs.len()) * qemus.len() * passes.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let immediate = std::mem::take(&mut report.runs);
    let mut reports = Vec::new();
    for (q, (mode, migrated)) in qemus.iter().flat_map(|q| passes.iter().map(move |m| (q, *m))) {
        // Under a hypervisor the results are that hypervisor's on this QEMU.
        let q = &match mode {
            Some(h) => Qemu { version: h.label(&q.version), ..q.clone() },
            None if migrated => {
                Qemu { version: format!("{}{}", q.version, crate::launch::migrate::MIGRATED), ..q.clone() }
            }
            None => q.clone(),
        };
        let migrate = if migrated { opts.migrate } else { None };
        let opts = &Options { qemu: q.clone(), migrate, ..opts.clone() };
        let tick = |r: &RunReport| {
            let d = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            progress(q, r, Progress { done: d, total });
        };
        let mut report = SuiteReport {
            runs: immediate.clone(),
            run_dir: run_dir.path.clone(),
            qemu_version: q.version.clone(),
            qemu_path: q.path.clone(),
            cases: infos.clone(),
            ..SuiteReport::default()
        };
        // Under a hypervisor the cases of the other view SKIP: a VM has no EL2, except
        // under KVM with nested virtualization, where the VM is the EL2 kernel.
        let skip_why = |j: &Job| -> Option<String> {
            let m = mode.as_ref()?;
            if j.case.view != m.view() {
                return Some(match j.case.view {
                    View::Hypervisor => "the hypervisor's view needs EL2, which a VM does not have: it runs on bare \
                                         QEMU and under --hypervisor kvm-nv (nested virtualization)"
                        .into(),
                    View::Guest => "under --hypervisor kvm-nv the VM is the EL2 kernel (the hypervisor's view); \
                                    the guest's view runs bare and under --hypervisor kvm or xen"
                        .into(),
                });
            }
            m.unsupported(&j.case, j.gic).map(String::from)
        };
        let (here, skipped): (Vec<&Job>, Vec<&Job>) = jobs.iter().partition(|j| skip_why(j).is_none());
        for j in skipped {
            let why = skip_why(j).unwrap_or_default();
            report.runs.push(RunReport::simple(&j.case.name, Some(j.gic), Outcome::Skip, format!("    {why}\n")));
        }
        for r in &report.runs {
            tick(r);
        }
        let log_root = run_dir.path.join(format!("qemu-{}", q.version));
        let results = Mutex::new(Vec::new());
        if let Some(crate::launch::hypervisor::Hypervisor::Kvm(kvm)) = mode {
            // One Linux boot per GIC version runs all of its cases, each as its own VM;
            // with fewer GIC versions than jobs, each version's cases in several boots.
            let mut by_gic: BTreeMap<GicVersion, Vec<&Job>> = BTreeMap::new();
            for j in here {
                by_gic.entry(j.gic).or_default().push(j);
            }
            let shards = (opts.jobs / by_gic.len().max(1)).max(1);
            let mut batches = VecDeque::new();
            for jobs in by_gic.into_values() {
                let size = jobs.len().div_ceil(shards).max(1);
                let n = jobs.len().div_ceil(size);
                for (k, chunk) in jobs.chunks(size).enumerate() {
                    let name = if n > 1 {
                        format!("{}-{}of{n}", chunk[0].gic.name(), k + 1)
                    } else {
                        chunk[0].gic.name().into()
                    };
                    batches.push_back((name, chunk.to_vec()));
                }
            }
            let queue = Mutex::new(batches);
            std::thread::scope(|s| {
                for _ in 0..opts.jobs.max(1) {
                    s.spawn(|| loop {
                        let Some((name, batch)) = queue.lock().expect("queue").pop_front() else { break };
                        let dir = log_root.join("kvm-batch").join(name);
                        let reports = run_kvm_batch(opts, kvm, &dir, &log_root, &devs, &batch, &tick);
                        results.lock().expect("results").extend(reports);
                    });
                }
            });
        } else {
            let queue = Mutex::new(here.into_iter().collect::<VecDeque<&Job>>());
            std::thread::scope(|s| {
                for _ in 0..opts.jobs.max(1) {
                    s.spawn(|| loop {
                        let Some(job) = queue.lock().expect("queue").pop_front() else { break };
                        let r = run_one(opts, mode.as_ref(), &log_root, &devs, job);
                        tick(&r);
                        results.lock().expect("results").push(r);
                    });
                }
            });
        }
        report.runs.extend(results.into_inner().expect("results"));
        report.runs.sort_by(|a, b| (&a.case, a.gic).cmp(&(&b.case, b.gic)));
        if opts.bless {
            bless(opts, &devs, &cases, &goldens, &mut report)?;
        }
        reports.push(report);
    }
    Ok(reports)
}

/// Why `bless` without case names is refused.
pub const BLESS_NEEDS_NAMES: &str = "bless writes goldens only for the cases you name: `cargo xtask bless \
lr/new-case` (a filter matching a case without a golden drafts one; an existing golden is replaced only when its \
exact case name is given). Goldens are the spec's answer, not QEMU's: check every value against the spec.";

/// Runs one job on `opts.qemu`, bare or (`mode`) under a hypervisor, or
/// migrated (`opts.migrate`): with migration points at the chosen step
/// boundaries and, when that run fails with several points, once per point
/// to find the boundaries that break it. Such a run is an XFAIL when each
/// point that breaks it alone is a recorded save/restore deviation
/// (`migrated = true`, `after_steps`) and the others pass alone, a FAIL
/// naming the points otherwise.
fn run_one(
    opts: &Options,
    mode: Option<&crate::launch::hypervisor::Hypervisor>,
    log_root: &Path,
    devs: &[Deviation],
    job: &Job,
) -> RunReport {
    let dir = log_root.join(&job.case.name).join(job.gic.name());
    let Some(max) = opts.migrate else {
        return run_image(opts, mode, &dir, devs, job, (&job.image, None), &opts.exec);
    };
    let after = match crate::launch::migrate::points(&job.image) {
        Ok(c) => match opts.migrate_seed {
            Some(seed) => crate::launch::migrate::choose_seeded(&c, max, seed, &job.case.name),
            None => crate::launch::migrate::choose(&c, max),
        },
        Err(e) => return RunReport::simple(&job.case.name, Some(job.gic), Outcome::Error, format!("    {e}\n")),
    };
    if after.is_empty() {
        let why = "no boundary between two top-level steps outside a concurrent block: nothing to migrate at";
        return RunReport::simple(&job.case.name, Some(job.gic), Outcome::Skip, format!("    {why}\n"));
    }
    let exec = qemu::Execution { migrate: true, ..opts.exec.clone() };
    let attempt = |after: &[u16], dir: &Path| match crate::launch::migrate::insert_checkpoints(&job.image, after) {
        Ok(image) => {
            let alone = (after.len() == 1).then(|| after[0]);
            run_image(opts, mode, dir, devs, job, (&image, alone), &exec)
        }
        Err(e) => RunReport::simple(&job.case.name, Some(job.gic), Outcome::Error, format!("    {e}\n")),
    };
    let steps = |a: &[u16]| a.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    let mut r = attempt(&after, &dir);
    if !r.outcome.is_failure() {
        return r;
    }
    if let [p] = after[..] {
        r.detail = format!("    breaks when migrated after step {p}\n{}", r.detail);
        return r;
    }
    // Which boundaries lose state: each point alone, in its own directory.
    let alone: Vec<(u16, RunReport)> =
        after.iter().map(|&p| (p, attempt(&[p], &dir.join(format!("after-step-{p}"))))).collect();
    // Alone, a point breaks the run when the run fails, or matches a save/restore entry (not a plain one).
    let recorded = |p: u16| {
        deviations::find(devs, &job.case.name, job.gic, &opts.qemu.version, Some(p)).is_some_and(|d| d.migrated)
    };
    let breaking: Vec<&(u16, RunReport)> =
        alone.iter().filter(|(p, a)| a.outcome.is_failure() || (a.outcome == Outcome::XFail && recorded(*p))).collect();
    // One line per outcome and first detail line, naming the boundaries that gave it.
    let mut groups: Vec<(Outcome, &str, Vec<u16>)> = Vec::new();
    for (p, a) in &breaking {
        let first = a.detail.lines().next().unwrap_or("").trim();
        match groups.iter_mut().find(|(o, f, _)| *o == a.outcome && *f == first) {
            Some(g) => g.2.push(*p),
            None => groups.push((a.outcome, first, vec![*p])),
        }
    }
    let each: String = groups
        .iter()
        .map(|(o, first, ps)| format!("      alone after step {}: {} {first}\n", steps(ps), o.name()))
        .collect();
    let at: Vec<u16> = breaking.iter().map(|(p, _)| *p).collect();
    let blame = if at.is_empty() {
        format!(
            "    migrated after steps {}; no single one of them breaks it alone (logs: after-step-N/)\n",
            steps(&after)
        )
    } else if breaking.iter().all(|(_, a)| a.outcome == Outcome::XFail) {
        r.outcome = Outcome::XFail;
        format!(
            "    breaks when migrated after step {} (migrated after steps {}), each a known save/restore deviation \
             when migrated there alone (logs: after-step-N/):\n{each}",
            steps(&at),
            steps(&after)
        )
    } else {
        format!(
            "    breaks when migrated after step {} (migrated after steps {}; logs: after-step-N/):\n{each}",
            steps(&at),
            steps(&after)
        )
    };
    r.detail = format!("{blame}{}", r.detail);
    r
}

/// Runs `image` (the job's, or it with migration points; `point`: its one
/// migration point, if it has exactly one) with `exec`, logs in `dir`.
fn run_image(
    opts: &Options,
    mode: Option<&crate::launch::hypervisor::Hypervisor>,
    dir: &Path,
    devs: &[Deviation],
    job: &Job,
    (image, point): (&[u32], Option<u16>),
    exec: &qemu::Execution,
) -> RunReport {
    let name = &job.case.name;
    let dir = dir.to_path_buf();
    let target = match (job.case.view, &opts.guest_image) {
        (View::Guest, _) if mode.is_some() => mode.expect("checked").target(),
        (View::Hypervisor, _) => Target::El2 { kernel: &opts.kernel },
        (View::Guest, Some(image)) => Target::Guest { image },
        (View::Guest, None) => {
            let mut r = RunReport::simple(name, Some(job.gic), Outcome::Error, String::new());
            r.detail = "    a guest-view case needs the guest-mode kernel, and none was built or given\n".into();
            return r;
        }
    };
    let launch = qemu::Launch {
        qemu: &opts.qemu,
        exec,
        target,
        case_image: image,
        gic: job.gic,
        smp: job.case.smp,
        timeout: job.case.timeout,
        dir: &dir,
    };
    match qemu::run(&launch) {
        Ok(res) => conclude(opts, &dir, devs, (job, point), &res),
        Err(e) => launch_failed(job, &dir, &e),
    }
}

/// The ERROR of a run (in `dir`) whose QEMU could not be started, or whose
/// files could not be written.
fn launch_failed(job: &Job, dir: &Path, e: &str) -> RunReport {
    let mut r = RunReport::simple(&job.case.name, Some(job.gic), Outcome::Error, String::new());
    r.log = Some(dir.to_path_buf());
    r.detail = text::escape_controls(&format!("    {e}\n")).into_owned();
    disk_full_is_the_cause(&mut r, dir);
    r
}

/// Runs the jobs of `batch` (one GIC version) under KVM in one Linux boot,
/// each case as its own VM ([`crate::launch::hypervisor::split_batch`]);
/// the batch's logs go to `dir` (`<log_root>/kvm-batch/<gic>[-<k>of<n>]/`),
/// each run's part (its `semihosting.out`, the VMM's and Linux's messages
/// meanwhile in `console.txt`, and the batch's command) to its own
/// directory as in the other targets. Each run is judged, and `tick`ed,
/// as soon as the console says its VM has ended (a boot under nested
/// virtualization runs for many minutes); the rest when the machine has
/// stopped. Under nested virtualization on a QEMU whose CPU lacks it (the
/// VMM says so), every run SKIPs.
fn run_kvm_batch(
    opts: &Options,
    kvm: &crate::launch::hypervisor::Kvm,
    dir: &Path,
    log_root: &Path,
    devs: &[Deviation],
    batch: &[&Job],
    tick: &(dyn Fn(&RunReport) + Sync),
) -> Vec<RunReport> {
    use crate::launch::hypervisor::{batch_bound, ended_runs, split_batch, BatchRun, NO_NESTED};
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(gic) = batch.first().map(|j| j.gic) else { return Vec::new() };
    let dir = dir.to_path_buf();
    let runs: Vec<BatchRun> = batch.iter().map(|j| BatchRun::new(&j.image, j.case.smp, j.case.timeout)).collect();
    let launch = qemu::Launch {
        qemu: &opts.qemu,
        exec: &opts.exec,
        target: Target::Kvm { kvm, batch: &runs },
        case_image: &[],
        gic,
        smp: 1,
        timeout: batch_bound(&runs),
        dir: &dir,
    };
    let (console_path, out_path) = (dir.join("console.txt"), dir.join("semihosting.out"));
    let command = qemu::command_line(&launch, &dir.join("case.bin"), &out_path);
    let quoted = crate::launch::qemu::shell_command(Path::new("cd"), &[dir.display().to_string()]);
    let judge_one = |job: &Job, res: &qemu::RunResult| -> RunReport {
        let rdir = log_root.join(&job.case.name).join(job.gic.name());
        let written = fs::create_dir_all(&rdir)
            .and_then(|()| fs::write(rdir.join("semihosting.out"), &res.output))
            .and_then(|()| fs::write(rdir.join("console.txt"), &res.stderr))
            .and_then(|()| fs::write(rdir.join("command.txt"), format!("{quoted} && {}\n", res.command)));
        match written {
            Ok(()) => conclude(opts, &rdir, devs, (job, None), res),
            Err(e) => launch_failed(job, &rdir, &format!("{}: {e}", rdir.display())),
        }
    };
    let done: Mutex<Vec<Option<RunReport>>> = Mutex::new(vec![None; batch.len()]);
    let running = AtomicBool::new(true);
    let whole = std::thread::scope(|s| {
        s.spawn(|| {
            while running.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(500));
                let console = fs::read_to_string(&console_path).unwrap_or_default();
                let ended = ended_runs(&console);
                if ended.is_empty() || console.contains(NO_NESTED) {
                    continue;
                }
                // A VM's output is complete before its VMM exits and /init marks its end.
                let output = fs::read(&out_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                let partial = qemu::RunResult { output, command: command.clone(), ..qemu::RunResult::default() };
                let split = split_batch(&partial, &console, batch.len());
                for n in ended.into_iter().filter(|n| *n < batch.len()) {
                    if done.lock().expect("results")[n].is_some() {
                        continue;
                    }
                    let r = judge_one(batch[n], &split[n]);
                    tick(&r);
                    done.lock().expect("results")[n] = Some(r);
                }
            }
        });
        let whole = qemu::run(&launch);
        running.store(false, Ordering::SeqCst);
        whole
    });
    let mut done = done.into_inner().expect("results");
    let whole = match whole {
        Ok(res) => res,
        Err(e) => {
            return batch
                .iter()
                .zip(done)
                .map(|(j, r)| {
                    r.unwrap_or_else(|| {
                        let r = launch_failed(j, &dir, &e);
                        tick(&r);
                        r
                    })
                })
                .collect()
        }
    };
    let console = fs::read_to_string(&console_path).unwrap_or_default();
    if let Some(line) = console.lines().find(|l| l.contains(NO_NESTED)) {
        let why = format!("    the platform cannot run it: {}\n", line.trim());
        return batch
            .iter()
            .map(|j| {
                let r = RunReport::simple(&j.case.name, Some(j.gic), Outcome::Skip, why.clone());
                tick(&r);
                r
            })
            .collect();
    }
    let split = split_batch(&whole, &console, runs.len());
    batch
        .iter()
        .zip(split)
        .zip(done.iter_mut())
        .map(|((job, res), r)| {
            r.take().unwrap_or_else(|| {
                let r = judge_one(job, &res);
                tick(&r);
                r
            })
        })
        .collect()
}

/// Judges the result `res` of `job`'s run (logs in `dir`): its outcome and
/// detail, written to `dir/result.txt` as well.
fn conclude(
    opts: &Options,
    dir: &Path,
    devs: &[Deviation],
    (job, point): (&Job, Option<u16>),
    res: &qemu::RunResult,
) -> RunReport {
    let name = &job.case.name;
    let mut r = RunReport::simple(name, Some(job.gic), Outcome::Error, String::new());
    r.log = Some(dir.to_path_buf());
    r.elapsed = res.elapsed;
    let out = events::parse(&res.output);
    let params = Params::from_header(job.gic, out.header.as_ref().unwrap_or(&serde_json::Map::new()));
    let (outcome, detail) = classify(&job.case, job.gic, res, &out, |events| {
        if let Some(why) = unsupported(&job.case, &params) {
            return (Outcome::Skip, format!("    {why}\n"));
        }
        r.events = Some(events.to_vec());
        r.params = Some(params.clone());
        match &job.golden {
            None => (Outcome::Pass, "    no golden yet; events recorded for bless\n".into()),
            Some(expected) => {
                let dev = deviations::find(devs, name, job.gic, &opts.qemu.version, point);
                judge((dev, point), &opts.qemu.version, expected, events, &params)
            }
        }
    });
    r.outcome = outcome;
    // QEMU's stderr and the kernel's malformed lines may hold anything.
    r.detail = text::escape_controls(&detail).into_owned();
    disk_full_is_the_cause(&mut r, dir);
    let _ = fs::write(
        dir.join("result.txt"),
        format!("{} {} {}\n{}\ncommand: {}\n", outcome.name(), job.gic.name(), name, r.detail, res.command),
    );
    r
}

/// When a run did not end cleanly (CRASH, TIMEOUT, ERROR) and the file
/// system of its log directory `dir` is full, the output the runner read
/// back may simply have been cut short: the result becomes an ERROR that
/// says so, the original verdict kept below it.
fn disk_full_is_the_cause(r: &mut RunReport, dir: &Path) {
    if !matches!(r.outcome, Outcome::Crash | Outcome::Timeout | Outcome::Error) {
        return;
    }
    let Some(existing) = dir.ancestors().find(|d| d.is_dir()) else { return };
    if let Some(e) = crate::files::disk_full_at(existing) {
        r.detail = format!(
            "    the disk is full ({}: {e}): the run's output may be cut short, so this is not a verdict on the \
             GIC; free space and run again. Without that, it would read:\n    {} {}",
            existing.display(),
            r.outcome.name(),
            r.detail.trim_start()
        );
        r.outcome = Outcome::Error;
    }
}

/// "step N (line L)" for a step of `case`.
fn at_step(case: &Case, step: u64) -> String {
    let line = u16::try_from(step).ok().and_then(|s| case.line_of(s));
    match (step, line) {
        (0, _) => "before the first statement".to_string(),
        (s, Some(l)) => format!("at step {s} ({}:{l})", case.file.display()),
        (s, None) => format!("at step {s}"),
    }
}

/// Decides the outcome of a finished QEMU run from its exit and output;
/// `finished` judges the events of a run that ended cleanly.
fn classify(
    case: &Case,
    gic: GicVersion,
    res: &qemu::RunResult,
    out: &events::KernelOutput,
    finished: impl FnOnce(&[Value]) -> (Outcome, String),
) -> (Outcome, String) {
    let seen = || -> String {
        let mut s = format!("    events seen before it stopped ({}):\n", out.events.len());
        for e in out.events.iter().rev().take(8).rev() {
            s.push_str(&format!("      {e}\n"));
        }
        s
    };
    let stderr_tail = |s: &str| -> String {
        // A KVM batch's run: its VMM's messages, then the machine's end (console and QEMU).
        let n = if res.ended.is_some() { 12 } else { 5 };
        s.lines().rev().take(n).collect::<Vec<_>>().into_iter().rev().map(|l| format!("      {l}\n")).collect()
    };
    let kernel_error = || out.error.as_deref().map(|e| format!("    kernel error record: {e}\n")).unwrap_or_default();
    if let Some((n, why)) = &res.restore_failed {
        return (
            Outcome::Restore,
            format!(
                "    restore failed: the machine saved at migration point {n} did not come back in a fresh QEMU \
                 ({why}); its stderr ends:\n{}{}",
                stderr_tail(&res.stderr),
                seen()
            ),
        );
    }
    if res.timed_out {
        let why = match &res.ended {
            // A run of a KVM batch: the VMM's bound or the whole machine's.
            Some(how) => format!("    {how}; the messages end:\n{}", stderr_tail(&res.stderr)),
            None => format!("    no exit within {:?} (the case's `timeout:`)\n", case.timeout),
        };
        return (Outcome::Timeout, format!("{why}{}{}", kernel_error(), seen()));
    }
    match res.exit_code.and_then(KernelExit::from_code) {
        Some(KernelExit::Crash) | Some(KernelExit::Panic) => {
            let c = out.crash.as_ref().map_or("crash record missing".to_string(), |c| {
                let step = c.get("step").and_then(Value::as_u64);
                let at = step.map(|s| format!(" {}", at_step(case, s))).unwrap_or_default();
                format!("{}{at}", events::describe_crash(c))
            });
            (Outcome::Crash, format!("    {c}\n{}", seen()))
        }
        Some(KernelExit::BadCase) | Some(KernelExit::BadPlatform) => (
            Outcome::Error,
            format!(
                "    kernel refused the run on GIC{}: {}\n",
                gic.name(),
                out.error.as_deref().unwrap_or("(no error record)")
            ),
        ),
        Some(KernelExit::Done) if out.error.is_some() => {
            // The kernel stopped the case itself; a PE that did not finish its
            // block is a timeout of that PE, anything else an error.
            let stuck = out
                .events
                .iter()
                .rev()
                .find(|e| (e["op"] == "on cpu" || e["op"] == "join") && e["result"] == "timeout");
            match stuck {
                Some(e) => (
                    Outcome::Timeout,
                    format!(
                        "    cpu{} did not finish its `on cpu{}` block within the kernel's bound (CPU0 waited {}); \
                         cpu{} was {}\n{}{}",
                        e["target"],
                        e["target"],
                        at_step(case, e["step"].as_u64().unwrap_or(0)),
                        e["target"],
                        match e["at_step"].as_u64() {
                            Some(s) if s > 0 => format!("executing {}", at_step(case, s).trim_start_matches("at ")),
                            _ => "not yet at any step of the block".to_string(),
                        },
                        kernel_error(),
                        seen()
                    ),
                ),
                None => (Outcome::Error, format!("{}{}", kernel_error(), seen())),
            }
        }
        Some(KernelExit::Done) if !out.ended || !out.malformed.is_empty() || out.header.is_none() => {
            let mut d = String::from("    kernel output truncated or not JSON lines:\n");
            for (n, l) in out.malformed.iter().take(5) {
                d.push_str(&format!("      line {n}: {l}\n"));
            }
            if out.header.is_none() {
                d.push_str("      no header record\n");
            }
            if !out.ended {
                d.push_str("      no end record\n");
            }
            (Outcome::Crash, d)
        }
        Some(KernelExit::Done) => finished(&out.events),
        None => {
            let how = res.ended.clone().unwrap_or_else(|| format!("QEMU {}", res.process_end()));
            let what = if res.ended.is_some() { "the messages end" } else { "its stderr ends" };
            (
                Outcome::Crash,
                format!("    {how} before the kernel finished; {what}:\n{}{}", stderr_tail(&res.stderr), seen()),
            )
        }
    }
}

/// Why case `case` cannot run as written on a GIC with parameters `p`, if
/// it cannot: a `requires:` line does not hold, it uses a List Register
/// the GIC does not implement, or it keeps
/// active priorities in a named value on a GIC with more than one
/// ICH_AP0R<n>_EL2 (named values hold ICH_AP0R0_EL2 and ICH_AP1R0_EL2).
pub fn unsupported(case: &Case, p: &Params) -> Option<String> {
    if let Some((line, src, why)) = case.unmet_requirements(p).into_iter().next() {
        let shown: Vec<String> = ["ListRegs", "PRIbits", "PREbits"]
            .iter()
            .filter_map(|k| p.get(k).ok().map(|v| format!("{k} = {v}")))
            .collect();
        return Some(format!(
            "the scenario requires `{src}` ({}:{line}), and {why} for this GIC ({})",
            case.file.display(),
            shown.join(", ")
        ));
    }
    let lrs = p.get("num_lrs").ok()?;
    let needed = i128::from(case.lrs_needed());
    if needed > lrs {
        let reg = if p.gic == GicVersion::V2 { "GICH_LR" } else { "ICH_LR<n>_EL2" };
        return Some(format!(
            "the scenario needs {needed} List Registers ({reg} up to {}); this GIC implements {lrs} (ListRegs = {} \
             in the header)",
            needed - 1,
            lrs - 1
        ));
    }
    match p.get("pre_bits") {
        Ok(pre) if pre > 5 && p.gic != GicVersion::V2 && case.keeps_apr() => Some(format!(
            "the case keeps the active priorities in a named value, which holds ICH_AP0R0_EL2 and ICH_AP1R0_EL2 \
             only; this GIC has {pre} preemption bits, so {} of each",
            1 << (pre - 5)
        )),
        _ => None,
    }
}

/// Compares a run's events with the golden, explained by `dev`, the
/// deviation that applies to the run (if any), for a run migrated at
/// `point` alone or not (`None`).
fn judge(
    (dev, point): (Option<&Deviation>, Option<u16>),
    qemu_version: &str,
    expected: &[Value],
    actual: &[Value],
    params: &Params,
) -> (Outcome, String) {
    let cmp = compare::compare(expected, actual, params);
    if cmp.diffs.is_empty() {
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
        compare::render(&cmp.diffs),
        compare::line_diff(&cmp.resolved, actual)
    );
    let Some(d) = dev else { return (Outcome::Fail, detail) };
    let (extra, absent) = deviations::unexplained(d, &cmp.diffs, params, qemu_version, point);
    if extra.is_empty() && absent.is_empty() {
        return (Outcome::XFail, format!("    known deviation: {}\n{detail}", d.what));
    }
    let mut why = format!("    differs other than as the known deviation records ({}):\n", d.what);
    if !extra.is_empty() {
        why.push_str("    not recorded in expected/deviations.toml:\n");
        why.push_str(&compare::render(&extra.into_iter().cloned().collect::<Vec<_>>()));
    }
    for s in absent {
        why.push_str(&format!("    recorded but not seen in this run: {s}\n"));
    }
    (Outcome::Fail, format!("{why}{detail}"))
}

/// The first kernel error field inside an event (`{"step":3,…,"error":"…"}`).
fn error_in(events: &[Value]) -> Option<&Value> {
    events.iter().find(|e| e.get("error").is_some())
}

/// Writes goldens from the run, only where that cannot lose a spec-derived
/// golden: for each case the filters matched, every GIC version it ran on
/// finished cleanly, no deviation in `expected/deviations.toml` applies to
/// this QEMU, no event carries a kernel error, and either the case has no
/// golden yet or its exact name was given. A golden whose events do not
/// change is not rewritten (its layout and key order stay). Everything else
/// is recorded in `report.refused` with the reason.
fn bless(
    opts: &Options,
    devs: &[Deviation],
    cases: &[CaseFile],
    goldens: &BTreeMap<String, Option<Golden>>,
    report: &mut SuiteReport,
) -> Result<(), String> {
    for cf in cases.iter().filter(|c| matches_filter(&c.name, &opts.filters)) {
        let Ok(case) = &cf.parsed else { continue };
        let named = opts.filters.contains(&cf.name);
        let mut refuse = |why: String, fails: bool| report.refused.push((cf.name.clone(), why, fails));
        let runs: Vec<&RunReport> =
            report.runs.iter().filter(|r| r.case == cf.name && r.outcome != Outcome::Skip).collect();
        if runs.is_empty() {
            continue; // nothing ran (only skipped versions): never touch its golden
        }
        let unclean: Vec<String> = runs
            .iter()
            .filter(|r| r.events.is_none())
            .map(|r| format!("{} {}", r.gic.map_or("--", |g| g.name()), r.outcome.name()))
            .collect();
        if !unclean.is_empty() {
            refuse(format!("did not finish cleanly ({}); nothing written", unclean.join(", ")), true);
            continue;
        }
        if let Some((v, d)) = runs
            .iter()
            .filter_map(|r| r.gic)
            .find_map(|v| deviations::find(devs, &cf.name, v, &opts.qemu.version, None).map(|d| (v, d)))
        {
            refuse(
                format!(
                    "expected/deviations.toml lists a deviation of QEMU {} on {} ({}); its golden is the spec's \
                     answer and QEMU's output is known to be wrong: edit the golden by hand",
                    opts.qemu.version,
                    v.name(),
                    d.what
                ),
                true,
            );
            continue;
        }
        if let Some(e) = runs.iter().filter_map(|r| r.events.as_deref()).find_map(error_in) {
            refuse(format!("the kernel reported an error in an event ({e}); fix the case first"), true);
            continue;
        }
        let old = goldens.get(&cf.name).cloned().flatten();
        if old.is_some() && !named {
            refuse(
                format!(
                    "its golden exists and no filter names it exactly; to replace it run `cargo xtask bless {}`",
                    cf.name
                ),
                false,
            );
            continue;
        }
        let mut all = BTreeMap::new();
        for &v in &case.gics {
            if let Some(ev) = runs.iter().find(|r| r.gic == Some(v)).and_then(|r| r.events.clone()) {
                all.insert(v, ev);
            } else if let Some(ev) = old.as_ref().and_then(|g| g.for_version(v)) {
                all.insert(v, ev.clone());
            }
        }
        if let Some(old) = &old {
            let unchanged = case.gics.iter().all(|v| match runs.iter().find(|r| r.gic == Some(*v)) {
                Some(r) => match (old.for_version(*v), &r.events, &r.params) {
                    (Some(g), Some(ev), Some(p)) => compare::compare(&g, ev, p).diffs.is_empty(),
                    _ => false,
                },
                None => true,
            });
            if unchanged {
                continue; // same events: leave the file exactly as it is
            }
            if old.has_expressions() {
                refuse(
                    "its golden writes values that depend on the GIC's header as expressions (\"=…\"); blessing \
                     would replace them with this GIC's values: edit it by hand"
                        .into(),
                    true,
                );
                continue;
            }
        }
        let new_text = Golden::from_runs(&case.gics, &all).render();
        let path = golden_path(&opts.expected_dir, &cf.name);
        let old_text = fs::read_to_string(&path).unwrap_or_default();
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        if let Err(e) = crate::files::write(&path, new_text.as_bytes()) {
            report.refused.push((cf.name.clone(), format!("the golden could not be written: {e}"), true));
            report.unwritten.push(path);
            continue;
        }
        let diff = similar::TextDiff::from_lines(&old_text, &new_text)
            .unified_diff()
            .header(&format!("{} (before)", path.display()), &format!("{} (blessed)", path.display()))
            .to_string();
        report.blessed.push((path, diff));
    }
    Ok(())
}
