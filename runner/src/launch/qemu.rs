//! Finding and launching QEMU.
//!
//! One process per (case, GIC version): `-M virt,virtualization=on,
//! gic-version=N -cpu max -smp K -nodefaults -display none`, the kernel as
//! `-kernel`, the compiled case through `-device loader` at
//! `gic_case::proto::CASE_LOAD_ADDR`, semihosting output to a chardev file,
//! standard input closed. The process is killed when the case's time limit
//! passes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gic_case::GicVersion;
use wait_timeout::ChildExt;

use crate::launch::procs::Group;

/// The QEMU binary name the suite needs.
pub const QEMU_BIN: &str = "qemu-system-aarch64";

/// How to get QEMU on Debian/Ubuntu, for error messages.
pub const INSTALL_HINT: &str =
    "install it with `sudo apt-get update && sudo apt-get install -y --no-install-recommends --no-remove \
qemu-system-arm` (Debian/Ubuntu; gives qemu-system-aarch64), or unpack Debian's without installing it with \
`.ci/install-qemu bookworm` (or bookworm-backports) and pass the path it prints with --qemu PATH";

/// How long a probe of the QEMU binary (`--version`, `-machine help`,
/// `-cpu help`) may take before the binary is declared unusable.
pub const PROBE_BOUND: Duration = Duration::from_secs(10);

/// A QEMU binary and what the probe found out about it.
#[derive(Debug, Clone)]
pub struct Qemu {
    /// Path to `qemu-system-aarch64` (absolute when it was found on `PATH`).
    pub path: PathBuf,
    /// Version string from `--version`, e.g. `7.2.22`.
    pub version: String,
    /// Whether the binary accepts `-sandbox on` (built with seccomp).
    pub sandbox: bool,
}

/// Locates QEMU: `explicit` if given, else `qemu-system-aarch64` on `PATH`,
/// and checks that it is a `qemu-system-aarch64` (see [`probe`]).
///
/// # Errors
/// A message saying what was tried, what was wrong and how to install QEMU.
pub fn find(explicit: Option<&Path>) -> Result<Qemu, String> {
    let path = match explicit {
        Some(p) => {
            if !p.exists() {
                return Err(format!("QEMU binary {} does not exist; {INSTALL_HINT}", p.display()));
            }
            p.to_path_buf()
        }
        None => which(QEMU_BIN).ok_or_else(|| format!("{QEMU_BIN} was not found on PATH; {INSTALL_HINT}"))?,
    };
    probe(&path, PROBE_BOUND)
}

/// Runs `path args…` with a time bound; returns (exit success, stdout + stderr).
fn probe_run(path: &Path, args: &[&str], bound: Duration) -> Result<(bool, String), String> {
    let shown = format!("{} {}", path.display(), args.join(" "));
    let r = crate::launch::procs::run_bounded(Command::new(path).args(args), bound)
        .map_err(|e| format!("cannot run `{shown}`: {e}; {INSTALL_HINT}"))?;
    match r.status {
        Some(st) => Ok((st.success(), r.stdout + &r.stderr)),
        None => Err(format!("`{shown}` did not finish within {}s: is it really QEMU? {INSTALL_HINT}", bound.as_secs())),
    }
}

/// Checks that `path` is a usable `qemu-system-aarch64`: `--version` prints
/// QEMU's banner, `-machine help` lists the `virt` board and `-cpu help`
/// lists an AArch64 CPU (cortex-a57; `qemu-system-arm` lacks it). Each probe
/// is killed after `bound`. Also finds out whether `-sandbox on` is accepted.
///
/// # Errors
/// What the binary answered and why that is not a `qemu-system-aarch64`.
pub fn probe(path: &Path, bound: Duration) -> Result<Qemu, String> {
    // Runs start QEMU in their own directory, so a relative path must be made absolute.
    let path = if path.is_relative() {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    let shown = path.display();
    let (sandbox, banner) = match probe_run(&path, &["-sandbox", "on", "--version"], bound)? {
        (true, text) => (true, text),
        (false, _) => {
            let (ok, text) = probe_run(&path, &["--version"], bound)?;
            if !ok {
                return Err(format!("`{shown} --version` failed: {}; {INSTALL_HINT}", first_line(&text)));
            }
            (false, text)
        }
    };
    let version = parse_version(&banner).ok_or_else(|| {
        format!(
            "{shown} is not QEMU: `--version` printed {:?} instead of \"QEMU emulator version X.Y.Z\"; {INSTALL_HINT}",
            first_line(&banner)
        )
    })?;
    let (_, machines) = probe_run(&path, &["-machine", "help"], bound)?;
    let (_, cpus) = probe_run(&path, &["-cpu", "help"], bound)?;
    let has_virt = machines.lines().any(|l| l.split_whitespace().next() == Some("virt"));
    if !has_virt || !cpus.contains("cortex-a57") {
        return Err(format!(
            "{shown} (QEMU {version}) is not {QEMU_BIN}: it has no `virt` board with AArch64 CPUs \
             (`-machine help` / `-cpu help`); {INSTALL_HINT}"
        ));
    }
    Ok(Qemu { path, version, sandbox })
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

/// Extracts `X.Y.Z` from QEMU's banner `QEMU emulator version X.Y.Z (…)`;
/// `None` for anything else.
pub fn parse_version(text: &str) -> Option<String> {
    let rest = text.lines().find_map(|l| l.trim().strip_prefix("QEMU emulator version "))?;
    let v: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let parts: Vec<&str> = v.split('.').collect();
    (parts.len() >= 2 && parts.iter().all(|p| !p.is_empty())).then_some(v)
}

/// Searches `PATH` for an executable.
pub fn which(name: &str) -> Option<PathBuf> {
    find_in(&path_dirs(), name)
}

/// The directories of `PATH`, in order.
pub fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default()
}

/// The first `dirs[i]/name` that is a file.
pub fn find_in(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// What one QEMU run produced.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Process exit code, or `None` if it was killed on timeout or by a signal.
    pub exit_code: Option<i32>,
    /// The signal that ended QEMU, when it did not exit by itself (not set on timeout).
    pub signal: Option<i32>,
    /// Whether the time limit killed it.
    pub timed_out: bool,
    /// Semihosting output (the kernel's JSON lines).
    pub output: String,
    /// QEMU's own stderr.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
    /// The command line, shell-quoted, for the log (migrating: each QEMU's, one per line).
    pub command: String,
    /// The migration points the run passed (checkpoint numbers), `--migrate` only.
    pub migrated: Vec<u32>,
    /// The migration point whose restore failed, and why (`--migrate` only).
    pub restore_failed: Option<(u32, String)>,
    /// How the run ended when that is not QEMU's exit: a run of a KVM batch
    /// ([`super::hypervisor::split_batch`]) whose VM ended without the
    /// guest's exit record.
    pub ended: Option<String>,
}

impl RunResult {
    /// How QEMU's process ended, for a message: `exited with status 3`,
    /// `was killed by SIGSEGV`, or `ended without an exit status`.
    pub fn process_end(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(sig)) => format!("was killed by {}", super::procs::signal_name(sig)),
            (None, None) => "ended without an exit status".into(),
        }
    }
}

/// The accelerator QEMU runs the guest with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accel {
    /// QEMU's own CPU emulation: EL2 and the GIC's virtualization
    /// interface are emulated. What the suite runs.
    #[default]
    Tcg,
    /// KVM on an arm64 host with nested virtualization: the kernel runs as
    /// a guest hypervisor at virtual EL2 (`-accel kvm`). Composed, never run
    /// here: see [`Execution::refusal`].
    Kvm,
}

impl std::str::FromStr for Accel {
    type Err = String;
    /// `tcg` or `kvm`.
    ///
    /// # Errors
    /// Anything else.
    fn from_str(s: &str) -> Result<Accel, String> {
        match s {
            "tcg" => Ok(Accel::Tcg),
            "kvm" => Ok(Accel::Kvm),
            _ => Err(format!("`{s}` is not an accelerator the suite knows: tcg or kvm")),
        }
    }
}

/// How QEMU executes the kernel: accelerator and CPU model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// The accelerator.
    pub accel: Accel,
    /// `-cpu` model: `max` by default with TCG, `host` with KVM.
    pub cpu: String,
    /// Save and restore the machine at the case's migration points
    /// ([`super::migrate`]): QEMU gets a monitor socket, its semihosting
    /// file is appended to by each QEMU, and its sandbox lets it start the
    /// `exec:` migration's shell.
    pub migrate: bool,
}

impl Default for Execution {
    fn default() -> Self {
        Execution::new(Accel::Tcg, None)
    }
}

/// The first QEMU version whose `virt` board accepts `virtualization=on`
/// with KVM (EL2 for the guest through the host's nested virtualization);
/// QEMU 10.0's `virt.c` still refuses it ("KVM does not support providing
/// Virtualization extensions to the guest CPU").
pub const KVM_EL2_SINCE: (u32, u32) = (10, 1);

/// Whether version `v` (`X.Y[.Z]`) is at least `min`.
pub fn version_at_least(v: &str, min: (u32, u32)) -> bool {
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (major, minor) >= min
}

impl Execution {
    /// `accel` with `cpu`, or its default CPU (`max` for TCG, `host` for KVM).
    pub fn new(accel: Accel, cpu: Option<String>) -> Execution {
        let cpu = cpu.unwrap_or_else(|| if accel == Accel::Kvm { "host" } else { "max" }.to_string());
        Execution { accel, cpu, migrate: false }
    }

    /// Why a run cannot be done this way with QEMU `version` on this host
    /// (`host_arch` as in `std::env::consts::ARCH`, `has_kvm`: `/dev/kvm`
    /// exists); `None` when it can. Every reason that applies is given.
    ///
    /// With KVM: QEMU must be 10.1 or later ([`KVM_EL2_SINCE`]), the host
    /// arm64 with `/dev/kvm`, and, in every case, the kernel would have to
    /// write its JSON lines to the PL011 UART and power off through PSCI,
    /// because semihosting is a TCG feature; it writes them over
    /// semihosting only, so a KVM run is always refused for now.
    pub fn refusal(&self, version: &str, host_arch: &str, has_kvm: bool) -> Option<String> {
        if self.accel == Accel::Tcg {
            return None;
        }
        let mut why = Vec::new();
        if !version_at_least(version, KVM_EL2_SINCE) {
            why.push(format!(
                "QEMU {version} accepts virtualization=on (EL2 for the guest) with TCG only; with KVM it needs QEMU \
                 {}.{} or later",
                KVM_EL2_SINCE.0, KVM_EL2_SINCE.1
            ));
        }
        if host_arch != "aarch64" || !has_kvm {
            why.push(format!(
                "KVM needs an arm64 host with /dev/kvm and nested virtualization enabled (kvm-arm.mode=nested); \
                 this host is {host_arch}{}",
                if has_kvm { "" } else { " without /dev/kvm" }
            ));
        }
        why.push(
            "the test kernel reports over semihosting, which QEMU provides with TCG only; under KVM it would \
                 have to write its JSON lines to the PL011 UART (where this command line sends the serial port) \
                 and power off through PSCI, which it does not do yet"
                .into(),
        );
        Some(why.join("; "))
    }

    /// Why a GIC version cannot be run this way (`None` when it can):
    /// QEMU's `virt` board offers GICv4 with TCG only (`virt.c`,
    /// `finalize_gic_version`: KVM's in-kernel GIC is a GICv2 or GICv3).
    pub fn unsupported_gic(&self, gic: GicVersion) -> Option<String> {
        (self.accel == Accel::Kvm && gic == GicVersion::V4)
            .then(|| "QEMU's virt board offers GICv4 with TCG only, not with KVM".to_string())
    }
}

/// One run's inputs.
pub struct Launch<'a> {
    /// QEMU to use.
    pub qemu: &'a Qemu,
    /// Accelerator and CPU.
    pub exec: &'a Execution,
    /// Where the run goes: machine, kernel (absolute: QEMU runs in `dir`)
    /// and how the case reaches it.
    pub target: super::target::Target<'a>,
    /// Compiled case image.
    pub case_image: &'a [u32],
    /// GIC version for `gic-version=`.
    pub gic: GicVersion,
    /// `-smp`.
    pub smp: u32,
    /// Time limit.
    pub timeout: Duration,
    /// Directory for the case image, output and logs of this run; QEMU's
    /// working directory.
    pub dir: &'a Path,
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_=,./:+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Escapes a value inside a QEMU option string (`-device loader,file=…`,
/// `-chardev file,path=…`): QEMU splits options at commas and reads `,,` as
/// a literal comma.
pub fn opt_value(p: &Path) -> String {
    p.display().to_string().replace(',', ",,")
}

/// The arguments of one run (without the binary). `image` and `out` are the
/// case image and the semihosting output file.
pub fn args(l: &Launch, image: &Path, out: &Path) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    if l.qemu.sandbox {
        // seccomp: QEMU may not spawn, elevate privileges or use obsolete syscalls.
        // A migration to and from `exec:cat …` starts a shell.
        let spawn = if l.exec.migrate { "allow" } else { "deny" };
        a.extend([
            "-sandbox".into(),
            format!("on,obsolete=deny,elevateprivileges=deny,spawn={spawn},resourcecontrol=deny"),
        ]);
    }
    a.extend(["-M".into(), l.target.machine(l.gic)]);
    if l.exec.accel == Accel::Kvm {
        a.extend(["-accel".into(), "kvm".into()]);
    }
    a.extend([
        "-cpu".into(),
        l.target.cpu(&l.exec.cpu),
        "-smp".into(),
        l.target.smp(l.smp).to_string(),
        "-m".into(),
        l.target.memory().into(),
        "-nodefaults".into(),
        "-display".into(),
        "none".into(),
    ]);
    a.extend(l.target.boot_args(image));
    match l.exec.accel {
        // Semihosting (the kernel's output and exit) exists with TCG only.
        Accel::Tcg => a.extend([
            "-semihosting-config".into(),
            "enable=on,target=native,chardev=semi".into(),
            "-chardev".into(),
            // Migrating, every QEMU of the run appends to the one file.
            format!("file,id=semi,path={}{}", opt_value(out), if l.exec.migrate { ",append=on" } else { "" }),
        ]),
        // Under KVM the output would come from the PL011 UART (not written by the kernel yet).
        Accel::Kvm => a.extend([
            "-chardev".into(),
            format!("file,id=uart,path={}", opt_value(out)),
            "-serial".into(),
            "chardev:uart".into(),
        ]),
    }
    a
}

/// The whole command line of a run, shell-quoted (the binary first).
pub fn command_line(l: &Launch, image: &Path, out: &Path) -> String {
    shell_command(&l.qemu.path, &args(l, image, out))
}

/// `bin` and `args` as one shell-quoted command line.
pub fn shell_command(bin: &Path, args: &[String]) -> String {
    std::iter::once(bin.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs QEMU once, in its own process group with `l.dir` as its working
/// directory; on timeout the whole group is killed.
///
/// # Errors
/// When files cannot be written or QEMU cannot be started.
pub fn run(l: &Launch) -> Result<RunResult, String> {
    fs::create_dir_all(l.dir).map_err(|e| format!("{}: {e}", l.dir.display()))?;
    let image = l.dir.join("case.bin");
    // A KVM batch carries its cases in its initrd instead.
    if !l.case_image.is_empty() {
        let bytes: Vec<u8> = l.case_image.iter().flat_map(|w| w.to_le_bytes()).collect();
        fs::write(&image, bytes).map_err(|e| format!("{}: {e}", image.display()))?;
    }
    l.target.prepare(&l.qemu.path, &image, l.gic, l.smp)?;
    let out_path = l.dir.join("semihosting.out");
    let _ = fs::remove_file(&out_path);
    let args = args(l, &image, &out_path);
    let command = command_line(l, &image, &out_path);
    fs::write(l.dir.join("command.txt"), format!("cd {} && {command}\n", shell_quote(&l.dir.display().to_string())))
        .map_err(|e| format!("{}: {e}", l.dir.display()))?;
    let stderr_path = l.dir.join("qemu.stderr");
    let bound = l.timeout + l.target.allowance();
    let start = Instant::now();
    let ended = if l.exec.migrate {
        let _ = fs::remove_file(&stderr_path);
        let points = super::migrate::count_checkpoints(l.case_image).max(1);
        let ended = super::migrate::run(&l.qemu.path, &args, l.dir, &out_path, &stderr_path, bound, points)?;
        // Every QEMU of the run, in order.
        let dir = shell_quote(&l.dir.display().to_string());
        let lines: String = ended.commands.iter().map(|c| format!("cd {dir} && {c}\n")).collect();
        fs::write(l.dir.join("command.txt"), lines).map_err(|e| format!("{}: {e}", l.dir.display()))?;
        ended
    } else {
        let stderr_file = fs::File::create(&stderr_path).map_err(|e| format!("{}: {e}", stderr_path.display()))?;
        let mut cmd = Command::new(&l.qemu.path);
        cmd.args(&args).current_dir(l.dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr_file);
        let mut group = Group::spawn(&mut cmd)
            .map_err(|e| format!("cannot start {}: {e}; {INSTALL_HINT}", l.qemu.path.display()))?;
        let status = group.child.wait_timeout(bound).map_err(|e| e.to_string())?;
        if status.is_none() {
            group.kill();
        }
        // Whatever a wrapper script left behind in the group goes too.
        drop(group);
        super::migrate::Ended {
            status,
            timed_out: status.is_none(),
            commands: vec![command],
            migrated: Vec::new(),
            restore_failed: None,
        }
    };
    let elapsed = start.elapsed();
    use std::os::unix::process::ExitStatusExt;
    let output = fs::read(&out_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    Ok(RunResult {
        exit_code: ended.status.and_then(|s| s.code()),
        signal: ended.status.and_then(|s| s.signal()),
        timed_out: ended.timed_out,
        output,
        stderr,
        elapsed,
        command: ended.commands.join("\n"),
        migrated: ended.migrated,
        restore_failed: ended.restore_failed,
        ended: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_parsed_from_banner() {
        assert_eq!(
            parse_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright").as_deref(),
            Some("7.2.22")
        );
        assert_eq!(parse_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)").as_deref(), Some("10.0.2"));
        assert_eq!(parse_version("nonsense"), None);
    }

    #[test]
    fn missing_explicit_qemu_says_how_to_install() {
        let e = find(Some(Path::new("/nonexistent/qemu-system-aarch64"))).unwrap_err();
        assert!(e.contains("does not exist") && e.contains("apt-get install"), "{e}");
    }

    fn launch_args(exec: &Execution, gic: GicVersion) -> Vec<String> {
        let q = Qemu { path: "/usr/bin/qemu-system-aarch64".into(), version: "10.1.0".into(), sandbox: false };
        let l = Launch {
            qemu: &q,
            exec,
            target: super::super::target::Target::El2 { kernel: Path::new("/k/testkernel") },
            case_image: &[],
            gic,
            smp: 2,
            timeout: Duration::from_secs(1),
            dir: Path::new("/run"),
        };
        args(&l, Path::new("/run/case.bin"), Path::new("/run/out,1"))
    }

    #[test]
    fn tcg_runs_the_max_cpu_with_semihosting() {
        let a = launch_args(&Execution::default(), GicVersion::V3);
        let s = a.join(" ");
        assert!(s.starts_with("-M virt,virtualization=on,gic-version=3 -cpu max -smp 2 "), "{s}");
        assert!(!s.contains("-accel"), "{s}");
        assert!(s.ends_with(
            "-semihosting-config enable=on,target=native,chardev=semi -chardev file,id=semi,path=/run/out,,1"
        ));
    }

    #[test]
    fn a_migrating_run_appends_its_output_to_the_one_file() {
        let plain = launch_args(&Execution::default(), GicVersion::V3).join(" ");
        assert!(plain.ends_with("path=/run/out,,1"), "{plain}");
        let mig = launch_args(&Execution { migrate: true, ..Execution::default() }, GicVersion::V3).join(" ");
        // Every QEMU of the run appends to the one semihosting file, so the output is joined in order.
        assert!(mig.ends_with("path=/run/out,,1,append=on"), "{mig}");
    }

    #[test]
    fn kvm_composes_a_nested_virtualization_command_line() {
        let kvm = Execution::new(Accel::Kvm, None);
        assert_eq!(kvm.cpu, "host");
        let a = launch_args(&kvm, GicVersion::V3);
        assert_eq!(
            a[..8],
            ["-M", "virt,virtualization=on,gic-version=3", "-accel", "kvm", "-cpu", "host", "-smp", "2"]
        );
        let s = a.join(" ");
        assert!(!s.contains("semihosting"), "semihosting is TCG-only: {s}");
        assert!(s.ends_with("-chardev file,id=uart,path=/run/out,,1 -serial chardev:uart"), "{s}");
        assert!(s.contains("-device loader,file=/run/case.bin,addr="), "{s}");
        let named = Execution::new(Accel::Kvm, Some("cortex-a76".into()));
        assert_eq!(launch_args(&named, GicVersion::V2)[4..6], ["-cpu", "cortex-a76"]);
        assert_eq!("kvm".parse::<Accel>(), Ok(Accel::Kvm));
        assert!("hvf".parse::<Accel>().unwrap_err().contains("tcg or kvm"));
    }

    #[test]
    fn kvm_runs_are_refused_with_every_reason() {
        let kvm = Execution::new(Accel::Kvm, None);
        assert_eq!(Execution::default().refusal("7.2.22", "x86_64", false), None);
        let why = kvm.refusal("10.0.2", "x86_64", false).unwrap();
        assert!(why.contains("QEMU 10.0.2 accepts virtualization=on (EL2 for the guest) with TCG only"), "{why}");
        assert!(why.contains("this host is x86_64 without /dev/kvm"), "{why}");
        assert!(why.contains("semihosting"), "{why}");
        // On a capable host with QEMU 10.1, only the kernel's output channel remains.
        let why = kvm.refusal("10.1.0", "aarch64", true).unwrap();
        assert!(!why.contains("QEMU 10.1.0") && !why.contains("this host") && why.contains("PL011"), "{why}");
        assert!(version_at_least("10.1.0", KVM_EL2_SINCE) && version_at_least("11.0", KVM_EL2_SINCE));
        assert!(!version_at_least("10.0.2", KVM_EL2_SINCE) && !version_at_least("9.2.4", KVM_EL2_SINCE));
        assert!(kvm.unsupported_gic(GicVersion::V4).is_some() && kvm.unsupported_gic(GicVersion::V3).is_none());
        assert!(Execution::default().unsupported_gic(GicVersion::V4).is_none());
    }

    #[test]
    fn shell_quoting_only_when_needed() {
        assert_eq!(shell_quote("virt,gic-version=3"), "virt,gic-version=3");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
