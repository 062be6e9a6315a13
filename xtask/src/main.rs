//! `cargo xtask`: the project's entry points.
//!
//! - `cargo xtask test [runner options]`: build the kernel, find or install
//!   QEMU, run every case on GICv2, v3 and v4 (`gicv-runner run`).
//! - `cargo xtask bless [options] [FILTER]`: same, writing goldens from the run.
//! - `cargo xtask list` / `check`: cases and their aims / static checks.
//! - `cargo xtask ci [runner options] [--also-qemu PATH]…`: formatting, clippy
//!   and host unit tests, static checks, then the suite in one run on the
//!   default QEMU and each `--also-qemu`, then the run's HTML matrix checked
//!   in headless Chromium — what `.ci/run` calls.
//! - `cargo xtask report [--results FILE] [--screenshot PNG] [--check]`: the
//!   HTML conformance matrix of the latest run.
//! - `cargo xtask bench`: empty-case boot time against the real cases.

mod bench;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, Parser, Subcommand};
use runner::cli::{self, Cli, Cmd, CoverageArgs, ListArgs, ReportArgs, RunArgs, StepsArgs};
use runner::launch::toolchain;
use xshell::{cmd, Shell};

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
    /// Formatting, clippy, host unit tests, static checks, then the whole suite on
    /// each QEMU: what CI runs.
    Ci(CiArgs),
    /// Write the HTML conformance matrix of the latest run (or --results FILE).
    Report(ReportArgs),
    /// Time the bare boot of an empty case against the real cases.
    Bench(bench::BenchArgs),
    Coverage(CoverageArgs),
    Steps(StepsArgs),
}

/// Options of `ci`: those of `test`, plus more QEMU builds to run the suite on.
#[derive(Args)]
struct CiArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Also run the suite on this QEMU binary, in the same run as the default
    /// QEMU (repeatable).
    #[arg(long = "also-qemu", value_name = "PATH")]
    also_qemu: Vec<PathBuf>,
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
        XCmd::Report(mut a) => {
            if a.root.as_os_str() == "." {
                a.root = root();
            }
            cli::main(Cli { cmd: Cmd::Report(a) })
        }
        XCmd::Ci(a) => ci(with_root(a.run), &a.also_qemu),
        XCmd::Bench(a) => bench::run(a, &root()),
        XCmd::Steps(mut a) => {
            a.root = root();
            cli::main(Cli { cmd: Cmd::Steps(a) })
        }
        XCmd::Coverage(mut a) => {
            a.root = root();
            cli::main(Cli { cmd: Cmd::Coverage(a) })
        }
    };
    std::process::exit(code);
}

/// Runs every CI step, even after one fails; non-zero when any failed.
fn ci(a: RunArgs, also_qemu: &[PathBuf]) -> i32 {
    let root = a.root.clone();
    let kernel = root.join("testkernel");
    // The number of `step` calls below (checked at the end).
    let total = 13;
    let mut n = 0;
    let mut failed: Vec<String> = Vec::new();
    let mut step = |name: &str, what: &str, run: &mut dyn FnMut() -> bool| {
        n += 1;
        println!("gicv ci: [{n}/{total}] {name}: {what}");
        if !run() {
            eprintln!("gicv ci: [{n}/{total}] {name} failed");
            failed.push(name.to_string());
        }
    };

    let fmt = ["fmt", "--check"];
    step("rustfmt (host)", "cargo fmt --check", &mut || cargo(&root, &fmt, false));
    step("rustfmt (testkernel)", "cd testkernel && cargo fmt --check", &mut || cargo(&kernel, &fmt, false));
    step("clippy (host)", "cargo clippy --workspace --all-targets -- -D warnings", &mut || {
        cargo(&root, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], false)
    });
    step(
        "clippy (testkernel)",
        "cd testkernel && cargo clippy --release --target aarch64-unknown-none -- -D warnings",
        &mut || {
            cargo(&kernel, &["clippy", "--release", "--target", toolchain::KERNEL_TARGET, "--", "-D", "warnings"], true)
        },
    );
    step(
        "clippy (guest-mode testkernel)",
        "cd testkernel && cargo clippy --profile guest --no-default-features --features guest --target aarch64-unknown-none -- -D warnings",
        &mut || {
            let args = ["clippy", "--profile", "guest", "--no-default-features", "--features", "guest"];
            let target = ["--target", toolchain::KERNEL_TARGET, "--", "-D", "warnings"];
            cargo(&kernel, &[&args[..], &target[..]].concat(), true)
        },
    );
    step(
        "clippy (KVM VMM)",
        "cd hypervisors/kvm && cargo fmt --check && cargo clippy --release --target aarch64-unknown-linux-musl -- -D warnings",
        &mut || {
            let vmm = root.join("hypervisors/kvm");
            let target = runner::launch::hypervisor::VMM_TARGET;
            let added = toolchain::ensure_rust_target(target).map_err(|e| eprintln!("gicv ci: {e}")).is_ok();
            added
                && cargo(&vmm, &fmt, false)
                && cargo(&vmm, &["clippy", "--release", "--target", target, "--", "-D", "warnings"], true)
        },
    );
    step("host tests", "cargo test --workspace", &mut || cargo(&root, &["test", "--workspace"], false));
    step("static checks", "cases and goldens", &mut || {
        cli::main(Cli { cmd: Cmd::Check(ListArgs { root: root.clone(), filters: vec![] }) }) == 0
    });
    step("coverage", "cargo xtask coverage", &mut || {
        cli::main(Cli { cmd: Cmd::Coverage(CoverageArgs { root: root.clone(), detail: false }) }) == 0
    });
    // One run over every QEMU: its summary tables the outcomes that differ between them.
    let mut run = a.clone();
    let mut default_qemu = Ok(());
    if !also_qemu.is_empty() && run.qemu.is_empty() {
        match toolchain::ensure_qemu(None) {
            Ok(q) => run.qemu.push(q.path),
            Err(e) => default_qemu = Err(e),
        }
    }
    run.qemu.extend(also_qemu.iter().cloned());
    let shown: Vec<String> = run.qemu.iter().map(|q| format!(" --qemu {}", q.display())).collect();
    let what = format!("cargo xtask test{}", shown.concat());
    step("suite", &what, &mut || match &default_qemu {
        // Without the default QEMU the run would cover fewer QEMUs than asked.
        Err(e) => {
            eprintln!("gicv ci: the default QEMU: {e}");
            false
        }
        Ok(()) => cli::main(Cli { cmd: Cmd::Run(run.clone()) }) == 0,
    });
    step(
        "HTML report",
        "cargo xtask report --check; cargo test -p gicv-runner --test html_report -- --ignored",
        &mut || {
            let report = ReportArgs {
                root: root.clone(),
                results: vec![],
                output: None,
                screenshot: None,
                screenshot_height: None,
                check: true,
            };
            let page = cli::main(Cli { cmd: Cmd::Report(report) }) == 0;
            page && cargo(&root, &["test", "-p", "gicv-runner", "--test", "html_report", "--", "--ignored"], false)
        },
    );

    // Every case saved and restored at two of its step boundaries
    // (issue 23), on the newer QEMU, beside its plain runs.
    let mut migrated = run.clone();
    migrated.qemu = run.qemu.last().cloned().into_iter().collect();
    migrated.migrate = Some(2);
    let shown_last: String = migrated.qemu.iter().map(|q| format!(" --qemu {}", q.display())).collect();
    step("suite migrated", &format!("cargo xtask test{shown_last} --migrate=2"), &mut || match &default_qemu {
        Err(_) => false,
        Ok(()) => cli::main(Cli { cmd: Cmd::Run(migrated.clone()) }) == 0,
    });

    // Last, so that the HTML check above reads the bare run's results: the
    // guest-view cases as VMs of KVM and of Xen in one run (its table sets
    // the two hypervisors' outcomes side by side), and the `lr/` cases with
    // the EL2 kernel as a guest hypervisor under KVM's nested
    // virtualization (a sample: a VM's teardown takes about 10 s there), on
    // the newer QEMU: 7.2 has no FEAT_NV2, and once under QEMU 7.2 a KVM
    // vCPU read another vCPU's MPIDR_EL1 (README, Hypervisors under test),
    // a rare platform fault no golden can hold.
    let mut under_hypervisors = migrated.clone();
    under_hypervisors.migrate = None;
    under_hypervisors.hypervisor = vec!["kvm".into(), "xen".into(), "kvm-nv".into()];
    under_hypervisors.filters = vec!["guest/".into(), "lr/".into()];
    let command =
        format!("cargo xtask test{shown_last} --hypervisor kvm --hypervisor xen --hypervisor kvm-nv guest/ lr/");
    step("suite under KVM, Xen and nested KVM", &command, &mut || match &default_qemu {
        Err(_) => false,
        Ok(()) => cli::main(Cli { cmd: Cmd::Run(under_hypervisors.clone()) }) == 0,
    });

    debug_assert_eq!(n, total, "`total` must count the steps");
    if failed.is_empty() {
        println!("gicv ci: all {total} steps passed");
        0
    } else {
        eprintln!("gicv ci: {} of {total} steps failed: {}", failed.len(), failed.join(", "));
        1
    }
}

/// `cargo <args>` in `dir`; `kernel`: without the host build's flags, as
/// `runner::launch::toolchain::build_kernel` builds the test kernel.
fn cargo(dir: &Path, args: &[&str], kernel: bool) -> bool {
    let cannot_run = |e: &dyn std::fmt::Display| eprintln!("gicv ci: cannot run cargo {}: {e}", args.join(" "));
    let sh = match Shell::new() {
        Ok(sh) => sh,
        Err(e) => {
            cannot_run(&e);
            return false;
        }
    };
    sh.change_dir(dir);
    let cargo = sh.var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut c = cmd!(sh, "{cargo} {args...}").quiet();
    if kernel {
        c = c.env_remove("RUSTFLAGS").env_remove("CARGO_ENCODED_RUSTFLAGS").env_remove("CARGO_BUILD_TARGET");
    }
    // Built with xshell, run with std::process: `c.run()` returns one
    // xshell::Error, with only a text of its own, both when cargo cannot be
    // started (said here, quoting the OS error) and when it fails (cargo has
    // said why). `status` inherits stdin, stdout and stderr, as before.
    match Command::from(c).status() {
        Ok(s) => s.success(),
        Err(e) => {
            cannot_run(&e);
            false
        }
    }
}
