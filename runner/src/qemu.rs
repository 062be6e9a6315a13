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

/// The QEMU binary name the suite needs.
pub const QEMU_BIN: &str = "qemu-system-aarch64";

/// How to get QEMU on Debian/Ubuntu, for error messages.
pub const INSTALL_HINT: &str =
    "install it with `sudo apt-get update && sudo apt-get install -y --no-install-recommends \
qemu-system-arm` (Debian/Ubuntu; gives qemu-system-aarch64), or pass another build with --qemu PATH";

/// A QEMU binary and its version.
#[derive(Debug, Clone)]
pub struct Qemu {
    /// Path to `qemu-system-aarch64`.
    pub path: PathBuf,
    /// Version string from `--version`, e.g. `7.2.22`.
    pub version: String,
}

/// Locates QEMU: `explicit` if given, else `qemu-system-aarch64` on `PATH`.
///
/// # Errors
/// A message saying what was tried and how to install QEMU.
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
    let out = Command::new(&path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}; {INSTALL_HINT}", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version =
        parse_version(&text).ok_or_else(|| format!("{} --version printed no version: {text:?}", path.display()))?;
    Ok(Qemu { path, version })
}

/// Extracts `X.Y.Z` from `QEMU emulator version X.Y.Z (…)`.
pub fn parse_version(text: &str) -> Option<String> {
    let rest = text.split("version").nth(1)?.trim_start();
    let v: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    (!v.is_empty()).then_some(v)
}

/// Searches `PATH` for an executable.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What one QEMU run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Process exit code, or `None` if it was killed on timeout or by a signal.
    pub exit_code: Option<i32>,
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
    /// Kernel ELF.
    pub kernel: &'a Path,
    /// Compiled case image.
    pub case_image: &'a [u32],
    /// GIC version for `gic-version=`.
    pub gic: GicVersion,
    /// `-smp`.
    pub smp: u32,
    /// Time limit.
    pub timeout: Duration,
    /// Directory for the case image, output and logs of this run.
    pub dir: &'a Path,
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_=,./:+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Runs QEMU once.
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
    let args: Vec<String> = vec![
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
        format!("loader,file={},addr={:#x},force-raw=on", image.display(), CASE_LOAD_ADDR),
        "-semihosting-config".into(),
        "enable=on,target=native,chardev=semi".into(),
        "-chardev".into(),
        format!("file,id=semi,path={}", out_path.display()),
    ];
    let command = std::iter::once(l.qemu.path.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let stderr_path = l.dir.join("qemu.stderr");
    let stderr_file = fs::File::create(&stderr_path).map_err(|e| format!("{}: {e}", stderr_path.display()))?;
    let start = Instant::now();
    let mut child = Command::new(&l.qemu.path)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}; {INSTALL_HINT}", l.qemu.path.display()))?;
    let (exit_code, timed_out) = match child.wait_timeout(l.timeout).map_err(|e| e.to_string())? {
        Some(status) => (status.code(), false),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            (None, true)
        }
    };
    let elapsed = start.elapsed();
    let output = fs::read(&out_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    fs::write(l.dir.join("command.txt"), format!("{command}\n")).map_err(|e| e.to_string())?;
    Ok(RunResult { exit_code, timed_out, output, stderr, elapsed, command })
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
