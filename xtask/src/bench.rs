//! `cargo xtask bench`: how much of a suite run is QEMU booting, how much
//! is the cases, and how much is the runner.
//!
//! In one run it measures (1) the bare boot-and-exit of an empty case (no
//! statements) for each GIC version, several times; (2) the whole suite
//! with one job, so runs do not overlap, recording each QEMU process's wall
//! time. It reports the runner's overhead as (suite wall time − sum of QEMU
//! process times) / sum of QEMU process times, and the mean real case
//! against the empty boot. Written to `target/gicv/bench.txt` as well.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use gic_case::GicVersion;
use runner::{case, qemu, suite, toolchain};

#[derive(Args)]
pub struct BenchArgs {
    /// QEMU binary (default: qemu-system-aarch64 on PATH).
    #[arg(long)]
    qemu: Option<PathBuf>,
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

fn bench(a: &BenchArgs, root: &Path) -> Result<String, String> {
    let (kernel, q) = toolchain::prepare(root, a.qemu.as_deref())?;
    let dir = runner::cli::default_out(root, None).join("bench");
    let empty = case::parse(Path::new("<bench>"), "bench/empty", "aim: empty\nspec: none\ngic: v2 v3 v4\n")
        .map_err(|e| e.to_string())?;
    let mut s = String::new();
    let _ = writeln!(s, "gicv bench: QEMU {} ({})", q.version, q.path.display());
    let mut boot = Vec::new();
    for v in GicVersion::ALL {
        let image = empty.compile(v).map_err(|e| e.to_string())?;
        let mut times = Vec::new();
        for i in 0..a.boots.max(1) {
            let d = dir.join(format!("{}-{i}", v.name()));
            let r = qemu::run(&qemu::Launch {
                qemu: &q,
                exec: &qemu::Execution::default(),
                kernel: &kernel,
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
    let boot_mean = boot.iter().sum::<Duration>() / boot.len() as u32;

    let opts = suite::Options {
        cases_dir: root.join("cases"),
        expected_dir: root.join("expected"),
        kernel,
        qemu: q.clone(),
        exec: qemu::Execution::default(),
        gics: GicVersion::ALL.to_vec(),
        filters: vec![],
        jobs: 1,
        bless: false,
        out_dir: dir.join("suite"),
        partition: None,
    };
    let start = Instant::now();
    let rep = suite::run(&opts, &|_| {})?;
    let wall = start.elapsed();
    let ran: Vec<_> = rep.runs.iter().filter(|r| !r.elapsed.is_zero()).collect();
    let qemu_sum: Duration = ran.iter().map(|r| r.elapsed).sum();
    let n = ran.len().max(1) as u32;
    let _ = writeln!(
        s,
        "  suite, 1 job: {} QEMU runs, wall {:.2} s, QEMU processes {:.2} s",
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
    let overhead = (wall.as_secs_f64() - qemu_sum.as_secs_f64()) / qemu_sum.as_secs_f64().max(1e-9);
    let _ = writeln!(
        s,
        "  runner overhead (wall - QEMU) / QEMU: {:.3} ({:.1} ms per run)",
        overhead,
        (wall.saturating_sub(qemu_sum) / n).as_secs_f64() * 1e3
    );
    if rep.failed() {
        let _ = writeln!(s, "  note: some runs did not pass; see `cargo xtask test`");
    }
    Ok(s)
}
