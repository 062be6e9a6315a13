//! Command line, shared by the `gicv-runner` binary and `cargo xtask`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use gic_case::GicVersion;

use crate::launch::toolchain;
use crate::report::text as report;
use crate::{check, suite};

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
    /// Draft goldens from a run, for review against the spec. Writes a golden
    /// only for a case that ran cleanly on every version, has no deviation in
    /// expected/deviations.toml for this QEMU and no kernel error in its
    /// events; an existing golden only when its exact case name is given.
    /// Needs at least one case name or filter.
    Bless(RunArgs),
    /// List cases with their GIC versions and aims.
    List(ListArgs),
    /// Parse every case and golden without running anything.
    Check(ListArgs),
    /// Write the HTML conformance matrix of a run's results (a static page
    /// that opens from the file system); optionally take its screenshot and
    /// check both in headless Chromium.
    Report(ReportArgs),
    /// The spec coverage map: which registers, fields and statement
    /// arguments the cases write (with which values) and read, per GIC
    /// version, and what no case touches or touches with one value only.
    Coverage(CoverageArgs),
    /// A case's numbered steps: line, statement and compiled op per GIC
    /// version (the step numbers goldens and deviations use).
    Steps(StepsArgs),
}

/// Options of `steps`.
#[derive(Args, Debug, Clone)]
pub struct StepsArgs {
    /// Repository root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The case's exact name (`group/name`).
    pub case: String,
}

/// Options of `coverage`.
#[derive(Args, Debug, Clone)]
pub struct CoverageArgs {
    /// Repository root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Also list every item with its values and the cases that use them.
    #[arg(long)]
    pub detail: bool,
}

/// Options of `report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Repository root (the default results are under its target/gicv/latest).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The run's results.json (default: the latest run's, under the logs
    /// directory `run` uses). Give it once per shard to draw the shards of
    /// a `--partition`ed run as one matrix.
    #[arg(long, value_name = "FILE")]
    pub results: Vec<PathBuf>,
    /// Where to write the page (default: report.html next to the (first) results).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also take a screenshot of the whole page with headless Chromium.
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// Cut the screenshot at this height in pixels (default: the whole
    /// page); not with --check, which needs the whole matrix.
    #[arg(long, value_name = "PX", requires = "screenshot", conflicts_with = "check")]
    pub screenshot_height: Option<u32>,
    /// Render the page in headless Chromium and check it: every result is
    /// a cell with its outcome and explanation, the summaries count the
    /// cells, and a screenshot (report.png next to the page unless
    /// --screenshot names one) shows the whole matrix in every outcome's colour.
    #[arg(long)]
    pub check: bool,
}

/// Options of `run` and `bless`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// GIC versions to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "v2,v3,v4")]
    pub gic: Vec<String>,
    /// QEMU binary (default: qemu-system-aarch64 on PATH). Give it several
    /// times to run the suite on each QEMU in turn: the reports cover them
    /// all and the summary adds the outcomes that differ between them.
    #[arg(long, value_name = "PATH")]
    pub qemu: Vec<PathBuf>,
    /// Test kernel ELF (default: build testkernel/ and use it).
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    /// Guest-mode test kernel, an arm64 Image, for the guest-view cases
    /// under `guest/` (default: build it from testkernel/ when a selected
    /// case needs it).
    #[arg(long, value_name = "IMAGE")]
    pub guest_kernel: Option<PathBuf>,
    /// Run the guest-view cases under a hypervisor instead of on bare QEMU:
    /// `kvm` (Debian's arm64 Linux with KVM at EL2 inside each QEMU, the
    /// project's VMM running each case as a VM with an in-kernel vGIC) or
    /// `xen` (Debian's Xen 4.17, each case a dom0less domU). The
    /// hypervisor-view cases SKIP. `kvm-nv` runs the hypervisor-view cases
    /// instead, the EL2 kernel as a guest hypervisor under KVM's nested
    /// virtualization (Debian's trixie-backports Linux with
    /// `kvm-arm.mode=nested`; GICv3; QEMU with FEAT_NV2, 10.0.2 here).
    /// Fetches the packages on first use (`.ci/install-kvm`,
    /// `.ci/install-kvm-nested`, `.ci/install-xen`).
    /// Give it several times to run on each in turn in one run (`none`:
    /// bare QEMU), so that the reports set them side by side.
    #[arg(long, value_name = "kvm|kvm-nv|xen|none", value_parser = ["kvm", "kvm-nv", "xen", "none"])]
    pub hypervisor: Vec<String>,
    /// After the plain runs, run every case again on bare QEMU saving and
    /// restoring the whole machine (QMP `migrate`, a fresh QEMU with
    /// `-incoming`) at its step boundaries: every boundary, or at most N
    /// spread evenly (`--migrate=N`). Results are labelled
    /// `<QEMU version>-migrated` beside the plain ones; a migrated run that
    /// fails names the boundary that breaks it.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "all", require_equals = true, value_parser = parse_migrate)]
    pub migrate: Option<usize>,
    /// With `--migrate`: draw each case's migration points at random from
    /// this seed (and the case's name) instead of spreading them evenly; the
    /// same seed gives the same points. `--migrate=N`: N of them; bare
    /// `--migrate`: each boundary with probability 1/2.
    #[arg(long, value_name = "SEED", requires = "migrate")]
    pub migrate_seed: Option<u64>,
    /// Your own build instead of Debian's: with `--hypervisor kvm` or
    /// `kvm-nv` an arm64 Linux kernel Image with KVM built in (for `kvm-nv`
    /// with nested virtualization); with `--hypervisor xen` a Xen
    /// binary for arm64.
    #[arg(long, value_name = "IMAGE", requires = "hypervisor")]
    pub hypervisor_image: Option<PathBuf>,
    /// Parallel QEMU processes, at least 1 (default: number of cores).
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Repository root (holds cases/, expected/, testkernel/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Directory for the run's logs; each run gets its own `run-<time>-<pid>/`
    /// under it and `latest` points at the newest (default:
    /// `$CARGO_TARGET_DIR/gicv`, else `<root>/target/gicv`, else a
    /// temporary directory when the checkout is read-only).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the results as JUnit XML to FILE (`-`: standard output,
    /// the text report then goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the results as TAP version 13 to FILE (`-`: standard
    /// output, the text report then goes to standard error).
    #[arg(long, value_name = "FILE")]
    pub tap: Option<PathBuf>,
    /// Accelerator: `tcg` (QEMU's emulation, the default) or `kvm` (the
    /// kernel as a guest hypervisor under KVM with nested virtualization on
    /// an arm64 host). KVM runs are composed but refused for now, with the
    /// reasons and the command line they would use (see README).
    #[arg(long, default_value = "tcg", value_name = "tcg|kvm")]
    pub accel: crate::launch::qemu::Accel,
    /// CPU model for `-cpu` (default: `max` with TCG, `host` with KVM).
    #[arg(long, value_name = "MODEL")]
    pub cpu: Option<String>,
    /// Run only shard K of N (`K/N`): the selected cases in name order,
    /// every N-th starting from the K-th, each with all its GIC versions;
    /// the N shards of a run together run every case once.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<suite::Partition>,
    /// Only cases whose name contains one of these (`bless`: see `bless --help`).
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

/// `--jobs N`: a whole number of at least 1 (0 is refused rather than
/// read as "cores": leave the option out for that).
/// `--migrate`'s value: `all` (every boundary) or at least 1 point.
fn parse_migrate(s: &str) -> Result<usize, String> {
    match s {
        "all" => Ok(usize::MAX),
        _ => match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "`{s}`: give the most migration points per case, at least 1, or leave the value out for all"
            )),
        },
    }
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 jobs would run nothing; give at least 1, or leave --jobs out to use every core".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a number of parallel QEMU processes (1 or more)")),
    }
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

/// Exit status of a run (or `report`) whose files could not all be
/// written (results.json, JUnit, TAP, the HTML page, a golden): a full
/// disk, a missing directory, no permission. What was written before stays
/// as it was; `latest` keeps naming the previous run. (0: all passed; 1:
/// something failed; 2: usage or setup error, nothing run.)
pub const EXIT_WRITE: i32 = 3;

/// Runs the command line; returns the process exit code (0 = all good,
/// 1 = a run failed, 2 = usage or setup error, [`EXIT_WRITE`] = its files
/// could not be written).
pub fn main(cli: Cli) -> i32 {
    let code = match cli.cmd {
        Cmd::Run(a) => run(a, false),
        Cmd::Bless(a) => run(a, true),
        Cmd::List(a) => check::list(&a.root, &a.filters, false),
        Cmd::Check(a) => check::list(&a.root, &a.filters, true),
        Cmd::Report(a) => report_cmd(&a),
        Cmd::Steps(a) => match check::steps_of(&a.root, &a.case) {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Cmd::Coverage(a) => match crate::case::inputs::discover(&a.root.join("cases")) {
            Ok(cases) => {
                print!(
                    "{}",
                    crate::report::coverage::render(
                        &crate::report::coverage::compute(&cases, Some(&a.root.join("expected"))),
                        a.detail
                    )
                );
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
    };
    crate::launch::procs::settle();
    code
}

/// Where a run's logs go: `--out`, else `$CARGO_TARGET_DIR/gicv`, else
/// `<root>/target/gicv`; when that cannot be written (a read-only
/// checkout), a directory under the system's temporary directory.
pub fn default_out(root: &Path, out: Option<&Path>) -> PathBuf {
    default_out_with(root, out, std::env::var_os("CARGO_TARGET_DIR"))
}

fn default_out_with(root: &Path, out: Option<&Path>, cargo_target_dir: Option<std::ffi::OsString>) -> PathBuf {
    if let Some(o) = out {
        return o.to_path_buf();
    }
    let preferred = match cargo_target_dir {
        Some(t) if !t.is_empty() => PathBuf::from(t).join("gicv"),
        _ => root.join("target/gicv"),
    };
    if writable(&preferred) {
        return preferred;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    let fallback = std::env::temp_dir().join(format!("gicv-{user}"));
    eprintln!(
        "gicv: {} cannot be written; logs go to {} (choose with --out DIR)",
        preferred.display(),
        fallback.display()
    );
    fallback
}

fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    let ok = std::fs::create_dir_all(dir).is_ok() && std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

fn run(a: RunArgs, bless: bool) -> i32 {
    crate::launch::procs::kill_all_on_panic();
    if let Err(e) = crate::launch::procs::install_signal_handlers() {
        eprintln!("warning: cannot handle SIGINT/SIGTERM ({e}); an interrupted run may leave QEMU behind");
    }
    let gics = match parse_gics(&a.gic) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if bless && a.qemu.len() > 1 {
        eprintln!("error: bless drafts goldens from one QEMU: give --qemu once");
        return 2;
    }
    let kernel = match &a.kernel {
        Some(k) if k.is_file() => Ok(absolute(k)),
        Some(k) => Err(format!("kernel {} does not exist", k.display())),
        None => toolchain::ensure_target().and_then(|()| toolchain::build_kernel(&a.root)),
    };
    // The guest-mode kernel only when a selected case takes the guest's view.
    let guest_image = || -> Result<Option<PathBuf>, String> {
        if let Some(g) = &a.guest_kernel {
            return if g.is_file() {
                Ok(Some(absolute(g)))
            } else {
                Err(format!("guest kernel {} does not exist", g.display()))
            };
        }
        let cases = crate::case::inputs::discover(&a.root.join("cases")).unwrap_or_default();
        let wanted = cases.iter().any(|c| {
            crate::case::View::of(&c.name) == crate::case::View::Guest
                && crate::case::inputs::matches_filter(&c.name, &a.filters)
        });
        if wanted {
            toolchain::build_guest_image(&a.root).map(Some)
        } else {
            Ok(None)
        }
    };
    let kernel = kernel.and_then(|k| Ok((k, guest_image()?)));
    let ((kernel, guest_image), qemus) = match kernel.and_then(|k| Ok((k, toolchain::ensure_qemus(&a.qemu)?))) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut hypervisors = Vec::new();
    for which in &a.hypervisor {
        use crate::launch::hypervisor::{self as hv, Hypervisor};
        let image = match (which.as_str(), &guest_image) {
            ("none", _) => {
                hypervisors.push(None);
                continue;
            }
            ("kvm-nv", _) => {
                match hv::prepare_nested(&a.root, &kernel, a.hypervisor_image.as_deref()) {
                    Ok(k) => hypervisors.push(Some(Hypervisor::Kvm(k))),
                    Err(e) => {
                        eprintln!("error: --hypervisor kvm-nv: {e}");
                        return 2;
                    }
                }
                continue;
            }
            (_, Some(image)) => image,
            (_, None) => {
                eprintln!("error: --hypervisor runs the guest-view cases (guest/), and the filters select none");
                return 2;
            }
        };
        let prepared = match which.as_str() {
            "xen" => hv::prepare_xen(&a.root, image).and_then(|mut x| {
                if let Some(own) = &a.hypervisor_image {
                    if !own.is_file() {
                        return Err(format!("Xen binary {} does not exist", own.display()));
                    }
                    x.xen = absolute(own);
                    x.version = "custom".into();
                }
                Ok(Hypervisor::Xen(x))
            }),
            _ => hv::prepare(&a.root, image, a.hypervisor_image.as_deref()).map(Hypervisor::Kvm),
        };
        match prepared {
            Ok(h) => hypervisors.push(Some(h)),
            Err(e) => {
                eprintln!("error: --hypervisor {which}: {e}");
                return 2;
            }
        }
    }
    if bless && hypervisors.iter().any(Option::is_some) {
        eprintln!("error: bless drafts goldens from bare QEMU runs: leave --hypervisor out");
        return 2;
    }
    let exec = crate::launch::qemu::Execution::new(a.accel, a.cpu.clone());
    let has_kvm = Path::new("/dev/kvm").exists();
    for q in &qemus {
        if let Some(why) = exec.refusal(&q.version, std::env::consts::ARCH, has_kvm) {
            let gic = if gics.contains(&GicVersion::V3) { GicVersion::V3 } else { gics[0] };
            let l = crate::launch::qemu::Launch {
                qemu: q,
                exec: &exec,
                target: crate::launch::target::Target::El2 { kernel: &kernel },
                case_image: &[],
                gic,
                smp: 1,
                timeout: std::time::Duration::ZERO,
                dir: Path::new("."),
            };
            let line = crate::launch::qemu::command_line(&l, Path::new("case.bin"), Path::new("kernel-output.txt"));
            eprintln!(
                "error: --accel {} with QEMU {}: not run: {why}.\nThe command line a {} run would use:\n  {line}",
                format!("{:?}", a.accel).to_lowercase(),
                q.version,
                gic.name()
            );
            return 2;
        }
    }
    let jobs = a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let opts = suite::Options {
        exec,
        cases_dir: a.root.join("cases"),
        expected_dir: a.root.join("expected"),
        kernel,
        guest_image,
        hypervisors,
        migrate: a.migrate,
        migrate_seed: a.migrate_seed,
        qemu: qemus[0].clone(),
        gics,
        filters: a.filters.clone(),
        jobs,
        bless,
        out_dir: absolute(&default_out(&a.root, a.out.as_deref())),
        partition: a.partition,
    };
    let dash = Path::new("-");
    if a.junit.as_deref() == Some(dash) && a.tap.as_deref() == Some(dash) {
        eprintln!("error: --junit - and --tap - both want standard output; give one of them a file");
        return 2;
    }
    // With a machine-readable document on standard output, the text goes to standard error.
    let to_stderr = a.junit.as_deref() == Some(dash) || a.tap.as_deref() == Some(dash);
    let say = |s: &str| {
        if to_stderr {
            eprint!("{s}");
        } else {
            print!("{s}");
        }
    };
    for q in &qemus {
        say(&format!("gicv: QEMU {} ({}), {} jobs\n", q.version, q.path.display(), jobs));
    }
    let start = Instant::now();
    // On a terminal a progress line stays under the result lines; in a log
    // (or with the text on standard error) only the result lines appear.
    // With several QEMUs each line names its QEMU.
    let terminal = !to_stderr && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let several = qemus.len() > 1;
    let progress = |q: &crate::launch::qemu::Qemu, r: &crate::report::RunReport, p: suite::Progress| {
        let line = if several { format!("{} (QEMU {})", report::line(r), q.version) } else { report::line(r) };
        if terminal {
            let status = report::progress_line(p.done, p.total, start.elapsed());
            say(&format!("\r\x1b[K{line}\n{status}"));
            let _ = std::io::Write::flush(&mut std::io::stdout());
        } else {
            say(&format!("{line}\n"));
        }
    };
    let result = suite::run_on(&opts, &qemus, &progress);
    if terminal {
        say("\r\x1b[K");
    }
    let reps = match result {
        Ok(reps) => reps,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let elapsed = start.elapsed();
    let results: Vec<_> =
        reps.iter().map(|s| crate::report::formats::QemuResults { version: &s.qemu_version, runs: &s.runs }).collect();
    let mut written = true;
    let documents = [
        (a.junit.as_deref(), "JUnit", crate::report::formats::junit(&results)),
        (a.tap.as_deref(), "TAP", Ok(crate::report::formats::tap(&results))),
    ];
    for (dest, what, doc) in documents {
        let Some(dest) = dest else { continue };
        let res = doc.and_then(|text| {
            if dest == dash {
                print!("{text}");
                Ok(())
            } else {
                crate::files::write(dest, text.as_bytes())
            }
        });
        if let Err(e) = res {
            eprintln!("error: writing the {what} results: {e}");
            written = false;
        }
    }
    if let Some(dir) = reps.first().map(|s| s.run_dir.clone()) {
        if let Err(e) = crate::report::results::Results::from_reports(&reps, elapsed).write(&dir) {
            eprintln!("error: writing the run's results: {e}");
            written = false;
        }
    }
    say(&report::render(&reps, elapsed));
    if !written || reps.iter().any(|s| !s.unwritten.is_empty()) {
        eprintln!("error: the run's files are incomplete (see above); `latest` still names the previous run");
        return EXIT_WRITE;
    }
    if let Some(s) = reps.first() {
        suite::link_latest(&opts.out_dir, &s.run_dir);
    }
    if bless {
        i32::from(reps.iter().any(crate::report::SuiteReport::bless_failed))
    } else {
        i32::from(reps.iter().any(crate::report::SuiteReport::failed))
    }
}

/// `report`: page, then the screenshot and the Chromium check when asked.
fn report_cmd(a: &ReportArgs) -> i32 {
    match write_report(a) {
        Ok(()) => 0,
        Err(ReportError::Failed(e)) => {
            eprintln!("error: {e}");
            1
        }
        Err(ReportError::Write(e)) => {
            eprintln!("error: writing the page: {e}");
            EXIT_WRITE
        }
    }
}

/// Why `report` stopped: the exit status differs.
enum ReportError {
    /// Results unusable, Chromium's check failed, …: exit 1.
    Failed(String),
    /// The page (or screenshot) could not be written: [`EXIT_WRITE`].
    Write(String),
}

impl From<String> for ReportError {
    fn from(e: String) -> Self {
        ReportError::Failed(e)
    }
}

fn write_report(a: &ReportArgs) -> Result<(), ReportError> {
    let paths = if a.results.is_empty() {
        vec![default_out(&a.root, None).join("latest").join(crate::report::results::FILE)]
    } else {
        a.results.clone()
    };
    let loaded = paths.iter().map(|p| crate::report::results::Results::load(p)).collect::<Result<Vec<_>, _>>()?;
    let results = crate::report::results::Results::merge(loaded)?;
    let path = &paths[0];
    let page = a.output.clone().unwrap_or_else(|| path.with_file_name("report.html"));
    // The coverage of the cases in this checkout, when it has them.
    let coverage = crate::case::inputs::discover(&a.root.join("cases"))
        .ok()
        .map(|c| crate::report::coverage::compute(&c, Some(&a.root.join("expected"))));
    let html = crate::report::html::render_with(&results, coverage.as_ref());
    crate::files::write(&page, html.as_bytes()).map_err(ReportError::Write)?;
    let runs: usize = results.qemus.iter().map(|q| q.runs.len()).sum();
    println!(
        "gicv report: {} ({} cases, {runs} results, QEMU {})",
        page.display(),
        results.cases.len(),
        results.qemus.iter().map(|q| q.version.as_str()).collect::<Vec<_>>().join(", ")
    );
    if a.screenshot.is_none() && !a.check {
        return Ok(());
    }
    let chromium = crate::report::browser::find_chromium()?;
    let dom = crate::report::browser::dump_dom(&chromium, &page)?;
    let checked = crate::report::browser::check_dom(&results, &dom);
    if a.check {
        if let Err(e) = &checked {
            return Err(format!("the matrix in Chromium's DOM does not match the run:\n{e}").into());
        }
    }
    // The page measures itself; a page that did not still gets a tall screenshot.
    let height = a.screenshot_height.unwrap_or_else(|| checked.as_ref().map_or(8000, |c| c.height.max(600)));
    let png = a.screenshot.clone().unwrap_or_else(|| page.with_extension("png"));
    crate::report::browser::screenshot(&chromium, &page, &png, height)?;
    let Some(c) = checked.ok().filter(|_| a.check) else {
        println!("gicv report: screenshot {}", png.display());
        return Ok(());
    };
    println!(
        "gicv report: DOM checked in {}: {} cells ({} cases × {} columns), summaries agree",
        chromium.display(),
        c.cells,
        c.rows,
        c.columns
    );
    let bytes = std::fs::read(&png).map_err(|e| format!("{}: {e}", png.display()))?;
    let s = crate::report::browser::check_screenshot(&bytes, &c)
        .map_err(|e| format!("the screenshot {} does not show the matrix:\n{e}", png.display()))?;
    let seen: Vec<String> = s.pixels.iter().map(|(o, n)| format!("{} {n}", o.name())).collect();
    println!(
        "gicv report: screenshot {} checked: {}×{} px, the whole matrix ({}–{} px); pixels per outcome: {}",
        png.display(),
        s.size.0,
        s.size.1,
        c.matrix_top,
        c.matrix_bottom,
        seen.join(", ")
    );
    Ok(())
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn zero_jobs_is_refused() {
        let e = Cli::try_parse_from(["gicv-runner", "run", "--jobs", "0"]).unwrap_err().to_string();
        assert!(e.contains("0 jobs would run nothing"), "{e}");
        let ok = Cli::try_parse_from(["gicv-runner", "run", "-j", "3"]).unwrap();
        assert!(matches!(ok.cmd, Cmd::Run(RunArgs { jobs: Some(3), .. })));
    }

    #[test]
    fn logs_follow_out_then_cargo_target_dir_then_the_checkout() {
        let root = std::env::temp_dir().join(format!("gicv-cli-{}-out", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let t = root.join("elsewhere");
        assert_eq!(default_out_with(&root, Some(&t), None), t);
        assert_eq!(default_out_with(&root, None, Some(t.clone().into_os_string())), t.join("gicv"));
        assert_eq!(default_out_with(&root, None, None), root.join("target/gicv"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_checkout_that_cannot_be_written_logs_elsewhere() {
        // As root, permissions do not stop writes; a file where `target/`
        // should be does, as a read-only checkout would.
        let root = std::env::temp_dir().join(format!("gicv-cli-{}-ro", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("target"), "not a directory").unwrap();
        let out = default_out_with(&root, None, None);
        assert!(out.starts_with(std::env::temp_dir()) && !out.starts_with(&root), "{}", out.display());
        let _ = std::fs::remove_dir_all(&root);
    }
}
