//! `cargo xtask bench`: how much of a suite run is QEMU booting, how much
//! is the cases, how much is the runner, and how much is reporting.
//!
//! In one run it measures (1) the bare boot-and-exit of an empty case (no
//! statements) for each GIC version, several times, on each QEMU; (2) the
//! whole suite with one job on every QEMU given (`--qemu`, repeatable), so
//! runs do not overlap, recording each QEMU process's wall time; (3) every
//! report a run can write from those results: the text report, JUnit XML,
//! TAP, `results.json` and the HTML matrix (the median of several
//! repetitions of each). It reports the runner's overhead as (suite wall
//! time − sum of QEMU process times) / sum of QEMU process times, the mean
//! real case against the empty boot, and reporting as a share of the run's
//! wall time (suite + reporting; the budget is 5 %). With `--hypervisor
//! kvm|xen` (repeatable) it also measures, per hypervisor and QEMU, the
//! boot cost (the empty guest-view case as a VM: QEMU, the hypervisor and
//! the VM up and down) and the mean guest-view case under it, and sets the
//! cost of a case once the hypervisor is up against bare QEMU's (issue
//! goal: at most 3x): under KVM, where one Linux boot runs every case of a
//! GIC version, a run's own time (its VM's life) against a bare-QEMU
//! case's whole run; under Xen, which boots per case, mean case − empty
//! case against the same difference bare.
//! Written to `target/gicv/bench.txt` as well.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use gic_case::GicVersion;
use runner::launch::target::Target;
use runner::launch::{hypervisor as hv, qemu, toolchain};
use runner::report::results::Results;
use runner::report::{formats, html, text as report};
use runner::{case, suite};

#[derive(Args)]
pub struct BenchArgs {
    /// QEMU binary (default: qemu-system-aarch64 on PATH); repeatable, as
    /// for `test`.
    #[arg(long, value_name = "PATH")]
    qemu: Vec<PathBuf>,
    /// Repetitions of each report's writing (the median is reported).
    #[arg(long, default_value_t = 5)]
    reports: usize,
    /// Boots of the empty case per GIC version.
    #[arg(long, default_value_t = 5)]
    boots: usize,
    /// Also time the guest-view cases under this hypervisor (kvm or xen;
    /// repeatable): its boot cost and its mean case, on every QEMU.
    #[arg(long, value_name = "NAME", value_parser = ["kvm", "xen"])]
    hypervisor: Vec<String>,
    /// Also time save/restore (`test --migrate`): the `lr/` cases migrated
    /// at every step boundary, one job, against their plain runs; reports
    /// the cost of one migration point.
    #[arg(long)]
    migrate: bool,
}

/// The median wall time of `boots` runs of the empty case `image` on `gic`
/// through `target`.
fn empty_boots(
    q: &qemu::Qemu,
    target: runner::launch::target::Target,
    image: &[u32],
    gic: GicVersion,
    boots: usize,
    dir: &Path,
) -> Result<Duration, String> {
    let mut times = Vec::new();
    for i in 0..boots.max(1) {
        let r = qemu::run(&qemu::Launch {
            qemu: q,
            exec: &qemu::Execution::default(),
            target,
            case_image: image,
            gic,
            smp: 1,
            timeout: Duration::from_secs(20),
            dir: &dir.join(format!("{}-{}-{i}", q.version, gic.name())),
        })?;
        if r.exit_code != Some(0) {
            return Err(format!(
                "empty case on GIC{} ({}) did not exit cleanly: {:?}; logs in {}",
                gic.name(),
                dir.display(),
                r.exit_code,
                dir.display()
            ));
        }
        times.push(r.elapsed);
    }
    Ok(median(times))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn run(a: BenchArgs, root: &Path) -> i32 {
    match bench(&a, root) {
        Ok(text) => {
            print!("{text}");
            let out = root.join("target/gicv/bench.txt");
            let _ = std::fs::create_dir_all(out.parent().expect("has parent"));
            let _ = std::fs::write(&out, &text);
            println!("(written to {})", out.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// The median time of `n` calls of `f`.
fn timed(n: usize, mut f: impl FnMut() -> Result<(), String>) -> Result<Duration, String> {
    let mut v = Vec::new();
    for _ in 0..n.max(1) {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed());
    }
    Ok(median(v))
}

fn bench(a: &BenchArgs, root: &Path) -> Result<String, String> {
    toolchain::ensure_target()?;
    let kernel = toolchain::build_kernel(root)?;
    let qemus = toolchain::ensure_qemus(&a.qemu)?;
    let dir = runner::cli::default_out(root, None).join("bench");
    let empty = case::parse(Path::new("<bench>"), "bench/empty", "aim: empty\nspec: none\ngic: v2 v3 v4\n")
        .map_err(|e| e.to_string())?;
    let mut s = String::new();
    let mut boot = Vec::new();
    for q in &qemus {
        let _ = writeln!(s, "gicv bench: QEMU {} ({})", q.version, q.path.display());
        for v in GicVersion::ALL {
            let image = empty.compile(v).map_err(|e| e.to_string())?;
            let m = empty_boots(q, Target::El2 { kernel: &kernel }, &image, v, a.boots, &dir.join("empty"))?;
            let _ = writeln!(
                s,
                "  empty case boot+exit, GIC{}: median {:.1} ms over {} boots",
                v.name(),
                m.as_secs_f64() * 1e3,
                a.boots
            );
            boot.push(m);
        }
    }
    let boot_mean = boot.iter().sum::<Duration>() / boot.len() as u32;

    let guest_image = toolchain::build_guest_image(root)?;
    let opts = suite::Options {
        cases_dir: root.join("cases"),
        expected_dir: root.join("expected"),
        kernel: kernel.clone(),
        guest_image: Some(guest_image.clone()),
        hypervisors: vec![],
        migrate: None,
        migrate_seed: None,
        qemu: qemus[0].clone(),
        exec: qemu::Execution::default(),
        gics: GicVersion::ALL.to_vec(),
        filters: vec![],
        jobs: 1,
        bless: false,
        out_dir: dir.join("suite"),
        partition: None,
    };
    let start = Instant::now();
    let reps = suite::run_on(&opts, &qemus, &|_, _, _| {})?;
    let wall = start.elapsed();
    let ran: Vec<_> = reps.iter().flat_map(|r| &r.runs).filter(|r| !r.elapsed.is_zero()).collect();
    let qemu_sum: Duration = ran.iter().map(|r| r.elapsed).sum();
    let n = ran.len().max(1) as u32;
    let versions: Vec<&str> = qemus.iter().map(|q| q.version.as_str()).collect();
    let _ = writeln!(
        s,
        "  suite on QEMU {}, 1 job: {} QEMU runs, wall {:.2} s, QEMU processes {:.2} s",
        versions.join(" and "),
        ran.len(),
        wall.as_secs_f64(),
        qemu_sum.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "  mean real case run: {:.1} ms; empty boot mean {:.1} ms; ratio {:.2}",
        (qemu_sum / n).as_secs_f64() * 1e3,
        boot_mean.as_secs_f64() * 1e3,
        (qemu_sum / n).as_secs_f64() / boot_mean.as_secs_f64()
    );
    // The two views: the EL2 kernel on QEMU with EL2, the guest-mode kernel at EL1 without it.
    for view in [runner::case::View::Hypervisor, runner::case::View::Guest] {
        let runs: Vec<Duration> =
            ran.iter().filter(|r| runner::case::View::of(&r.case) == view).map(|r| r.elapsed).collect();
        if let Some(n) = u32::try_from(runs.len()).ok().filter(|n| *n > 0) {
            let mean = runs.iter().sum::<Duration>() / n;
            let _ =
                writeln!(s, "  mean case run, {} view: {:.1} ms over {n} runs", view.name(), mean.as_secs_f64() * 1e3);
        }
    }
    let overhead = (wall.as_secs_f64() - qemu_sum.as_secs_f64()) / qemu_sum.as_secs_f64().max(1e-9);
    let _ = writeln!(
        s,
        "  runner overhead (wall - QEMU) / QEMU: {:.3} ({:.1} ms per run)",
        overhead,
        (wall.saturating_sub(qemu_sum) / n).as_secs_f64() * 1e3
    );

    if !a.hypervisor.is_empty() {
        hypervisors(a, root, &mut s, &qemus, &guest_image, &opts, &reps, &dir)?;
    }
    if a.migrate {
        migration(&mut s, &qemus, &opts, &dir)?;
    }

    // Reporting: everything a run writes from its results, each timed alone.
    let out = dir.join("reports");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let per_qemu: Vec<_> =
        reps.iter().map(|r| formats::QemuResults { version: &r.qemu_version, runs: &r.runs }).collect();
    let write = |name: &str, text: String| std::fs::write(out.join(name), text).map_err(|e| e.to_string());
    let results = Results::from_reports(&reps, wall);
    let lines = timed(a.reports, || {
        let text: String = reps.iter().flat_map(|r| &r.runs).map(|r| report::line(r) + "\n").collect();
        write("lines.txt", text)
    })?;
    let parts = [
        ("result lines", lines),
        ("text report", timed(a.reports, || write("report.txt", report::render(&reps, wall)))?),
        ("JUnit XML", timed(a.reports, || write("junit.xml", formats::junit(&per_qemu)?))?),
        ("TAP", timed(a.reports, || write("results.tap", formats::tap(&per_qemu)))?),
        ("results.json", timed(a.reports, || results.write(&out).map(|_| ()))?),
        ("HTML matrix", timed(a.reports, || write("report.html", html::render(&results)))?),
    ];
    let reporting: Duration = parts.iter().map(|(_, d)| *d).sum();
    let detail: Vec<String> = parts.iter().map(|(what, d)| format!("{what} {:.1} ms", d.as_secs_f64() * 1e3)).collect();
    let share = reporting.as_secs_f64() / (wall + reporting).as_secs_f64();
    let _ = writeln!(
        s,
        "  reporting ({} results; median of {}): {:.1} ms = {}",
        reps.iter().map(|r| r.runs.len()).sum::<usize>(),
        a.reports.max(1),
        reporting.as_secs_f64() * 1e3,
        detail.join(", ")
    );
    let _ = writeln!(
        s,
        "  reporting share of the run's wall time: {:.2} % ({} the 5 % budget)",
        share * 100.0,
        if share < 0.05 { "within" } else { "OVER" }
    );
    if reps.iter().any(runner::report::SuiteReport::failed) {
        let _ = writeln!(s, "  note: some runs did not pass; see `cargo xtask test`");
    }
    Ok(s)
}

/// The `--hypervisor` part: for bare QEMU's guest view and each hypervisor,
/// on each QEMU, the empty guest-view case's boot (median of `a.boots` per
/// GIC version v2 and v3, averaged) and the mean guest-view case (one job);
/// their difference is what a case costs once the VM's platform is up.
#[allow(clippy::too_many_arguments)]
fn hypervisors(
    a: &BenchArgs,
    root: &Path,
    s: &mut String,
    qemus: &[qemu::Qemu],
    guest_image: &Path,
    bare: &suite::Options,
    bare_reps: &[runner::report::SuiteReport],
    dir: &Path,
) -> Result<(), String> {
    let empty = case::parse(Path::new("<bench>"), "guest/bench-empty", "aim: empty\nspec: none\ngic: v2 v3\n")
        .map_err(|e| e.to_string())?;
    let gics = [GicVersion::V2, GicVersion::V3];
    let boot_of = |target: Target, q: &qemu::Qemu, what: &str| -> Result<Duration, String> {
        let mut sum = Duration::ZERO;
        for v in gics {
            let image = empty.compile(v).map_err(|e| e.to_string())?;
            sum += empty_boots(q, target, &image, v, a.boots, &dir.join(format!("empty-{what}")))?;
        }
        Ok(sum / gics.len() as u32)
    };
    let mean = |runs: &[Duration]| -> Option<Duration> {
        u32::try_from(runs.len()).ok().filter(|n| *n > 0).map(|n| runs.iter().sum::<Duration>() / n)
    };
    let _ = writeln!(s, "gicv bench: the guest view, bare and under hypervisors (GICv2 and GICv3, 1 job)");
    let mut bare_after = Vec::new();
    for q in qemus {
        let boot = boot_of(Target::Guest { image: guest_image }, q, "guest")?;
        let runs: Vec<Duration> = bare_reps
            .iter()
            .filter(|rep| rep.qemu_version == q.version)
            .flat_map(|rep| &rep.runs)
            .filter(|r| runner::case::View::of(&r.case) == runner::case::View::Guest && !r.elapsed.is_zero())
            .map(|r| r.elapsed)
            .collect();
        let Some(m) = mean(&runs) else { continue };
        let after = ms(m) - ms(boot);
        bare_after.push((q.version.clone(), after, ms(m)));
        let _ = writeln!(
            s,
            "  bare QEMU {}: empty case {:.1} ms, mean case {:.1} ms over {} runs, a case after boot {after:+.1} ms",
            q.version,
            ms(boot),
            ms(m),
            runs.len(),
        );
    }
    for name in &a.hypervisor {
        let h = match name.as_str() {
            "xen" => hv::Hypervisor::Xen(hv::prepare_xen(root, guest_image)?),
            _ => hv::Hypervisor::Kvm(hv::prepare(root, guest_image, None)?),
        };
        for q in qemus {
            let label = h.label(&q.version);
            let boot = match &h {
                hv::Hypervisor::Kvm(kvm) => kvm_boot(a, kvm, q, &empty, &dir.join(format!("empty-{label}")))?,
                hv::Hypervisor::Xen(_) => boot_of(h.target(), q, &label)?,
            };
            let opts = suite::Options {
                hypervisors: vec![Some(h.clone())],
                filters: vec!["guest/".into()],
                gics: gics.to_vec(),
                out_dir: dir.join(format!("suite-{label}")),
                ..bare.clone()
            };
            let start = Instant::now();
            let reps = suite::run_on(&opts, std::slice::from_ref(q), &|_, _, _| {})?;
            let wall = start.elapsed();
            let runs: Vec<Duration> =
                reps.iter().flat_map(|r| &r.runs).map(|r| r.elapsed).filter(|d| !d.is_zero()).collect();
            let Some(m) = mean(&runs) else { continue };
            // Under KVM a run's time is its VM's life in the one Linux boot of its GIC
            // version (the VMM's process): what a case costs once Linux is up, set
            // against a bare-QEMU case's whole run (its QEMU's start included: bare QEMU
            // has no "up" to share). Under Xen every case boots Xen: the mean case less
            // the empty case's boot, against the same difference bare.
            let bare = bare_after.iter().find(|(v, ..)| *v == q.version);
            let (after, how, ratio) = match &h {
                hv::Hypervisor::Kvm(_) => (
                    ms(m),
                    "a VM's life in the batch",
                    bare.map(|(_, _, whole)| {
                        format!(
                            " = {:.1}x a bare-QEMU case's whole run of {whole:.1} ms (goal: at most 3x)",
                            ms(m) / whole
                        )
                    }),
                ),
                hv::Hypervisor::Xen(_) => (
                    ms(m) - ms(boot),
                    "mean case - empty case",
                    bare.map(|(_, b, _)| {
                        // The ratio means something only when both costs stand out of the boot's noise.
                        if ms(m) - ms(boot) > 0.0 && *b > 0.0 {
                            format!(" = {:.1}x bare QEMU's (goal: at most 3x)", (ms(m) - ms(boot)) / b)
                        } else {
                            " (a case's own run is within the boots' spread here or bare: no ratio)".into()
                        }
                    }),
                ),
            };
            let ratio = ratio.unwrap_or_default();
            let _ = writeln!(
                s,
                "  {label}: boot (empty case) {:.1} ms, {} runs (1 job) in {:.1} s, mean run {:.1} ms; a case \
                 after boot ({how}) {after:.1} ms{ratio}",
                ms(boot),
                runs.len(),
                wall.as_secs_f64(),
                ms(m),
            );
        }
    }
    Ok(())
}

/// Under KVM: the median wall time of `a.boots` boots of a batch holding
/// only the empty case (Linux up, one VM, Linux down), averaged over GICv2
/// and GICv3; each boot's run must have ended cleanly.
fn kvm_boot(a: &BenchArgs, kvm: &hv::Kvm, q: &qemu::Qemu, empty: &case::Case, dir: &Path) -> Result<Duration, String> {
    let gics = [GicVersion::V2, GicVersion::V3];
    let mut sum = Duration::ZERO;
    for v in gics {
        let image = empty.compile(v).map_err(|e| e.to_string())?;
        let runs = [hv::BatchRun::new(&image, 1, Duration::from_secs(20))];
        let mut times = Vec::new();
        for i in 0..a.boots.max(1) {
            let d = dir.join(format!("{}-{i}", v.name()));
            let whole = qemu::run(&qemu::Launch {
                qemu: q,
                exec: &qemu::Execution::default(),
                target: Target::Kvm { kvm, batch: &runs },
                case_image: &[],
                gic: v,
                smp: 1,
                timeout: hv::batch_bound(&runs),
                dir: &d,
            })?;
            let console = std::fs::read_to_string(d.join("console.txt")).unwrap_or_default();
            let run = &hv::split_batch(&whole, &console, 1)[0];
            if run.exit_code != Some(0) {
                return Err(format!(
                    "the empty case under KVM on GIC{} did not end cleanly; logs in {}",
                    v.name(),
                    d.display()
                ));
            }
            times.push(whole.elapsed);
        }
        sum += median(times);
    }
    Ok(sum / gics.len() as u32)
}

/// The `--migrate` part: per QEMU, the `lr/` cases (a sample: the whole
/// suite at every boundary takes most of an hour) with a migration point at
/// every step boundary (one job), each migrated run set against the same
/// case's plain run: (migrated − plain) / points is what one save and
/// restore costs (QMP stop and migrate to a file, a fresh QEMU loading it).
fn migration(s: &mut String, qemus: &[qemu::Qemu], bare: &suite::Options, dir: &Path) -> Result<(), String> {
    let _ = writeln!(s, "gicv bench: save/restore at every step boundary of the lr/ cases (--migrate, 1 job)");
    for q in qemus {
        let opts = suite::Options {
            migrate: Some(usize::MAX),
            filters: vec!["lr/".into()],
            out_dir: dir.join(format!("migrate-{}", q.version)),
            ..bare.clone()
        };
        let reps = suite::run_on(&opts, std::slice::from_ref(q), &|_, _, _| {})?;
        let [plain, migrated] = reps.as_slice() else { return Err("expected a plain and a migrated report".into()) };
        let (mut extra, mut points, mut runs) = (0.0, 0usize, 0usize);
        for m in migrated.runs.iter().filter(|r| r.outcome == gic_case::proto::Outcome::Pass) {
            let Some(p) = plain.runs.iter().find(|p| p.case == m.case && p.gic == m.gic) else { continue };
            let Some(log) = &m.log else { continue };
            let n = std::fs::read_to_string(log.join("command.txt")).map_or(0, |c| c.matches("-incoming").count());
            if n == 0 {
                continue;
            }
            extra += ms(m.elapsed) - ms(p.elapsed);
            points += n;
            runs += 1;
        }
        let _ = writeln!(
            s,
            "  QEMU {}: {runs} passing migrated runs, {points} migration points, {:.1} ms per point",
            q.version,
            extra / points.max(1) as f64
        );
    }
    Ok(())
}
