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

use gic_case::proto::CASE_LOAD_ADDR;
use gic_case::GicVersion;
use wait_timeout::ChildExt;

use crate::procs::Group;

/// The QEMU binary name the suite needs.
pub const QEMU_BIN: &str = "qemu-system-aarch64";

/// How to get QEMU on Debian/Ubuntu, for error messages.
pub const INSTALL_HINT: &str =
    "install it with `sudo apt-get update && sudo apt-get install -y --no-install-recommends \
qemu-system-arm` (Debian/Ubuntu; gives qemu-system-aarch64), or pass another build with --qemu PATH";

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
    let dir = std::env::temp_dir();
    let out_path = dir.join(format!("gicv-probe-{}-{:?}.out", std::process::id(), std::thread::current().id()));
    let out = fs::File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(path);
    cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
    let mut g = Group::spawn(&mut cmd).map_err(|e| format!("cannot run `{shown}`: {e}; {INSTALL_HINT}"))?;
    let status = g.child.wait_timeout(bound).map_err(|e| e.to_string())?;
    let text = fs::read(&out_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let _ = fs::remove_file(&out_path);
    match status {
        Some(st) => Ok((st.success(), text)),
        None => {
            g.kill();
            Err(format!("`{shown}` did not finish within {}s: is it really QEMU? {INSTALL_HINT}", bound.as_secs()))
        }
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
#[derive(Debug, Clone)]
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
    /// The command line, shell-quoted, for the log.
    pub command: String,
}

/// One run's inputs.
pub struct Launch<'a> {
    /// QEMU to use.
    pub qemu: &'a Qemu,
    /// Kernel ELF (absolute: QEMU runs in `dir`).
    pub kernel: &'a Path,
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
        a.extend(["-sandbox".into(), "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny".into()]);
    }
    a.extend([
        "-M".into(),
        format!("virt,virtualization=on,gic-version={}", l.gic as u32),
        "-cpu".into(),
        "max".into(),
        "-smp".into(),
        l.smp.to_string(),
        "-m".into(),
        "512M".into(),
        "-nodefaults".into(),
        "-display".into(),
        "none".into(),
        "-kernel".into(),
        l.kernel.display().to_string(),
        "-device".into(),
        format!("loader,file={},addr={:#x},force-raw=on", opt_value(image), CASE_LOAD_ADDR),
        "-semihosting-config".into(),
        "enable=on,target=native,chardev=semi".into(),
        "-chardev".into(),
        format!("file,id=semi,path={}", opt_value(out)),
    ]);
    a
}

/// Runs QEMU once, in its own process group with `l.dir` as its working
/// directory; on timeout the whole group is killed.
///
/// # Errors
/// When files cannot be written or QEMU cannot be started.
pub fn run(l: &Launch) -> Result<RunResult, String> {
    fs::create_dir_all(l.dir).map_err(|e| format!("{}: {e}", l.dir.display()))?;
    let image = l.dir.join("case.bin");
    let bytes: Vec<u8> = l.case_image.iter().flat_map(|w| w.to_le_bytes()).collect();
    fs::write(&image, bytes).map_err(|e| format!("{}: {e}", image.display()))?;
    let out_path = l.dir.join("semihosting.out");
    let _ = fs::remove_file(&out_path);
    let args = args(l, &image, &out_path);
    let command = std::iter::once(l.qemu.path.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    fs::write(l.dir.join("command.txt"), format!("cd {} && {command}\n", shell_quote(&l.dir.display().to_string())))
        .map_err(|e| format!("{}: {e}", l.dir.display()))?;
    let stderr_path = l.dir.join("qemu.stderr");
    let stderr_file = fs::File::create(&stderr_path).map_err(|e| format!("{}: {e}", stderr_path.display()))?;
    let start = Instant::now();
    let mut cmd = Command::new(&l.qemu.path);
    cmd.args(&args).current_dir(l.dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr_file);
    let mut group =
        Group::spawn(&mut cmd).map_err(|e| format!("cannot start {}: {e}; {INSTALL_HINT}", l.qemu.path.display()))?;
    let (exit_code, signal, timed_out) = match group.child.wait_timeout(l.timeout).map_err(|e| e.to_string())? {
        Some(status) => {
            use std::os::unix::process::ExitStatusExt;
            (status.code(), status.signal(), false)
        }
        None => {
            group.kill();
            (None, None, true)
        }
    };
    // Whatever a wrapper script left behind in the group goes too.
    drop(group);
    let elapsed = start.elapsed();
    let output = fs::read(&out_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    Ok(RunResult { exit_code, signal, timed_out, output, stderr, elapsed, command })
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

    #[test]
    fn shell_quoting_only_when_needed() {
        assert_eq!(shell_quote("virt,gic-version=3"), "virt,gic-version=3");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
