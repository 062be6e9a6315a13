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
//! wall time (suite + reporting; the budget is 5 %). Written to
//! `target/gicv/bench.txt` as well.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use gic_case::GicVersion;
use runner::launch::{qemu, toolchain};
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
            let mut times = Vec::new();
            for i in 0..a.boots.max(1) {
                let d = dir.join(format!("{}-{}-{i}", q.version, v.name()));
                let r = qemu::run(&qemu::Launch {
                    qemu: q,
                    exec: &qemu::Execution::default(),
                    target: runner::launch::target::Target::El2 { kernel: &kernel },
                    case_image: &image,
                    gic: v,
                    smp: 1,
                    timeout: Duration::from_secs(20),
                    dir: &d,
                })?;
                if r.exit_code != Some(0) {
                    return Err(format!("empty case on {} did not exit cleanly: {:?}", v.name(), r.exit_code));
                }
                times.push(r.elapsed);
            }
            let m = median(times);
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

    let opts = suite::Options {
        cases_dir: root.join("cases"),
        expected_dir: root.join("expected"),
        kernel,
        guest_image: Some(toolchain::build_guest_image(root)?),
        hypervisors: vec![],
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
