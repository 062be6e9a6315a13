//! `cargo xtask`: the project's entry points.
//!
//! - `cargo xtask test [runner options]`: build the kernel, find or install
//!   QEMU, run every case on GICv2, v3 and v4 (`gicv-runner run`).
//! - `cargo xtask bless [options] [FILTER]`: same, writing goldens from the run.
//! - `cargo xtask list` / `check`: cases and their aims / static checks.
//! - `cargo xtask ci`: host unit tests, then `test` — what `.ci/run` calls.
//! - `cargo xtask bench`: empty-case boot time against the real cases.

mod bench;

use std::path::PathBuf;
use std::process::Command;

use clap::{Parser, Subcommand};
use runner::cli::{self, Cli, Cmd, ListArgs, RunArgs};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct X {
    #[command(subcommand)]
    cmd: XCmd,
}

#[derive(Subcommand)]
enum XCmd {
    /// Build the kernel and run the suite under QEMU.
    Test(RunArgs),
    /// Run and write goldens from the run (then check them against the spec).
    Bless(RunArgs),
    /// List cases with their aims.
    List(ListArgs),
    /// Parse every case and golden without running.
    Check(ListArgs),
    /// Host unit tests, static checks, then the whole suite: what CI runs.
    Ci(RunArgs),
    /// Time the bare boot of an empty case against the real cases.
    Bench(bench::BenchArgs),
}

fn root() -> PathBuf {
    // xtask lives in <root>/xtask.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask has a parent").to_path_buf()
}

fn with_root(mut a: RunArgs) -> RunArgs {
    if a.root.as_os_str() == "." {
        a.root = root();
    }
    a
}

fn main() {
    let x = X::parse();
    let code = match x.cmd {
        XCmd::Test(a) => cli::main(Cli { cmd: Cmd::Run(with_root(a)) }),
        XCmd::Bless(a) => cli::main(Cli { cmd: Cmd::Bless(with_root(a)) }),
        XCmd::List(mut a) => {
            a.root = root();
            cli::main(Cli { cmd: Cmd::List(a) })
        }
        XCmd::Check(mut a) => {
            a.root = root();
            cli::main(Cli { cmd: Cmd::Check(a) })
        }
        XCmd::Ci(a) => ci(with_root(a)),
        XCmd::Bench(a) => bench::run(a, &root()),
    };
    std::process::exit(code);
}

fn ci(a: RunArgs) -> i32 {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("gicv ci: host tests (cargo test --workspace)");
    let st = Command::new(&cargo).args(["test", "--workspace"]).current_dir(&a.root).status();
    if !matches!(st, Ok(s) if s.success()) {
        eprintln!("gicv ci: host tests failed");
        return 1;
    }
    println!("gicv ci: static checks of cases and goldens");
    let check = cli::main(Cli { cmd: Cmd::Check(ListArgs { root: a.root.clone(), filters: vec![] }) });
    println!("gicv ci: the suite under QEMU");
    let run = cli::main(Cli { cmd: Cmd::Run(a) });
    if check != 0 || run != 0 {
        1
    } else {
        0
    }
}
