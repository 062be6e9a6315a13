//! Command line, shared by the `gicv-runner` binary and `cargo xtask`.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use gic_case::GicVersion;

use crate::{check, report, suite, toolchain};

/// GIC virtualization conformance suite: run cases under QEMU and compare
/// them with spec-derived goldens.
#[derive(Parser, Debug)]
#[command(name = "gicv-runner", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run cases (all, or those whose name contains a FILTER).
    Run(RunArgs),
    /// Run cases and write goldens from what they produced (review against the spec!).
    Bless(RunArgs),
    /// List cases with their GIC versions and aims.
    List(ListArgs),
    /// Parse every case and golden without running anything.
    Check(ListArgs),
}

/// Options of `run` and `bless`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// GIC versions to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "v2,v3,v4")]
    pub gic: Vec<String>,
    /// QEMU binary (default: qemu-system-aarch64 on PATH).
    #[arg(long)]
    pub qemu: Option<PathBuf>,
    /// Test kernel ELF (default: build testkernel/ and use it).
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    /// Parallel QEMU processes (default: number of cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Repository root (holds cases/, expected/, testkernel/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Only cases whose name contains one of these.
    pub filters: Vec<String>,
}

/// Options of `list` and `check`.
#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    /// Repository root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Only cases whose name contains one of these.
    pub filters: Vec<String>,
}

fn parse_gics(list: &[String]) -> Result<Vec<GicVersion>, String> {
    let mut v: Vec<GicVersion> = list
        .iter()
        .map(|s| GicVersion::from_name(s.trim()).ok_or_else(|| format!("--gic: `{s}` is not v2, v3 or v4")))
        .collect::<Result<_, _>>()?;
    v.sort();
    v.dedup();
    Ok(v)
}

/// Runs the command line; returns the process exit code (0 = all good,
/// 1 = a run failed, 2 = usage or setup error).
pub fn main(cli: Cli) -> i32 {
    match cli.cmd {
        Cmd::Run(a) => run(a, false),
        Cmd::Bless(a) => run(a, true),
        Cmd::List(a) => check::list(&a.root, &a.filters, false),
        Cmd::Check(a) => check::list(&a.root, &a.filters, true),
    }
}

fn run(a: RunArgs, bless: bool) -> i32 {
    let gics = match parse_gics(&a.gic) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let prepared = match &a.kernel {
        Some(k) if k.exists() => toolchain::ensure_qemu(a.qemu.as_deref()).map(|q| (k.clone(), q)),
        Some(k) => Err(format!("kernel {} does not exist", k.display())),
        None => toolchain::prepare(&a.root, a.qemu.as_deref()),
    };
    let (kernel, qemu) = match prepared {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let opts = suite::Options {
        cases_dir: a.root.join("cases"),
        expected_dir: a.root.join("expected"),
        kernel,
        qemu: qemu.clone(),
        gics,
        filters: a.filters.clone(),
        jobs,
        bless,
        log_dir: a.root.join("target/gicv"),
    };
    println!(
        "gicv: QEMU {} ({}), {} jobs, logs in {}",
        qemu.version,
        qemu.path.display(),
        jobs,
        opts.log_dir.display()
    );
    let start = Instant::now();
    let progress = |r: &suite::RunReport| println!("{}", report::line(r));
    match suite::run(&opts, &progress) {
        Ok(rep) => {
            print!("{}", report::render(&rep, &qemu.version, start.elapsed()));
            i32::from(rep.failed())
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
