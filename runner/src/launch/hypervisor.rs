//! The KVM target's parts: Debian's arm64 Linux kernel (KVM built in) and
//! busybox, fetched by `.ci/install-kvm`; the project's VMM
//! (`hypervisors/kvm`, cross-built for `aarch64-unknown-linux-musl` and
//! linked with rust-lld); and the initramfs that Linux runs: busybox, the
//! VMM and the guest-mode kernel, with `/init` starting the VMM once per
//! case. [`batch_initrd`] appends a batch's cases to it: the kernel
//! unpacks concatenated cpio archives in order.
//!
//! Where it runs is [`super::target::Target::Kvm`]: QEMU `virt` with EL2,
//! Linux at EL2 (VHE) with `/dev/kvm`, booted once per batch (the runner
//! makes one batch per QEMU and GIC version), the VMM creating one fresh
//! VM per case with an in-kernel vGIC of the case's GIC version. The
//! guest-mode kernel in that VM reports over semihosting, which the outer
//! QEMU answers directly, into the batch's one stream: it opens its output
//! with `{"gicv-run":N}` and ends it with `{"gicv-exit":C}` and PSCI
//! SYSTEM_OFF, which ends the VM only. `/init` marks each run's start and
//! end (the VMM's status) on Linux's console, the VMM stops a VM that
//! outlives its case's time limit, and [`split_batch`] turns the two into
//! one result per case, as the other targets give.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cpio::newc::Builder;

use super::qemu::RunResult;

/// What the VMM says (`hypervisors/kvm`) when KVM cannot give a vCPU
/// virtual EL2: the CPU QEMU emulates lacks FEAT_NV2 (QEMU 7.2's `max`),
/// or Linux was not booted with `kvm-arm.mode=nested`.
pub const NO_NESTED: &str = "KVM offers no nested virtualization here";

/// The VMM's Rust target.
pub const VMM_TARGET: &str = "aarch64-unknown-linux-musl";

/// What a KVM run boots, prepared once per runner invocation.
#[derive(Debug, Clone)]
pub struct Kvm {
    /// The Linux kernel Image QEMU boots at EL2.
    pub kernel: PathBuf,
    /// The initramfs: busybox, the VMM, the guest-mode kernel, `/init`.
    pub initramfs: PathBuf,
    /// The kernel's release, from its file name (`6.1.0-50-arm64`).
    pub release: String,
    /// Nested virtualization (`--hypervisor kvm-nv`): the VM is the EL2
    /// test kernel at virtual EL2 (Linux booted with `kvm-arm.mode=nested`,
    /// the VMM's `--el2`), which runs the hypervisor-view cases.
    pub nested: bool,
}

impl Kvm {
    /// The label a run's results carry instead of the bare QEMU version:
    /// `7.2.22-kvm-6.1.0-50-arm64`, nested `10.0.2-kvm-nv-7.3.4+deb13-arm64`.
    /// No QEMU deviation range matches it (a run under KVM meets KVM's vGIC,
    /// not only QEMU's model).
    pub fn label(&self, qemu_version: &str) -> String {
        let name = if self.nested { "kvm-nv" } else { "kvm" };
        format!("{qemu_version}-{name}-{}", self.release)
    }

    /// The Linux command line: the console, `/init`, and with nested
    /// virtualization `kvm-arm.mode=nested`.
    pub fn append(&self) -> String {
        let nested = if self.nested { " kvm-arm.mode=nested" } else { "" };
        format!("console=ttyAMA0 rdinit=/init quiet{nested}")
    }
}

/// A result label split into its QEMU version and, under a hypervisor,
/// the hypervisor's name and version, as [`Hypervisor::label`] makes them
/// (`10.0.2-kvm-6.1.0-50-arm64` → 10.0.2 and (kvm, 6.1.0);
/// `10.0.2-kvm-nv-7.3.4+deb13-arm64` → 10.0.2 and (kvm-nv, 7.3.4); `7.2.22-xen-4.17`
/// → 7.2.22 and (xen, 4.17); `10.0.2` and `10.0.2-migrated` → 10.0.2 and
/// none).
pub fn split_label(label: &str) -> (&str, Option<(&str, &str)>) {
    // A migrated run is bare QEMU's: its QEMU deviations apply.
    let label = label.strip_suffix(crate::launch::migrate::MIGRATED).unwrap_or(label);
    for hv in ["kvm-nv", "kvm", "xen"] {
        if let Some((qemu, rest)) = label.split_once(&format!("-{hv}-")) {
            // The release's leading dotted numbers: 6.1.0-50-arm64 → 6.1.0.
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            return (qemu, Some((hv, rest[..end].trim_end_matches('.'))));
        }
    }
    (label, None)
}

/// `/init`: mounts what the VMM needs, then runs the VMM (with
/// `vmm_flags`) once per case of the batch (`/cases/NNNN.cfg`, in order),
/// each case as its own fresh VM, marking each run's start and end (with
/// the VMM's exit status) on the console, and powers the machine off after
/// the last.
fn init_script(vmm_flags: &str) -> String {
    format!(
        "#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for cfg in /cases/*.cfg; do
    . \"$cfg\"
    echo \"gicv-run $RUN start\"
    /bin/gicv-kvm-vmm --image /guest.img --case \"$BIN\" --gic \"$GIC\" --smp \"$SMP\" --run \"$RUN\" \\
        --timeout-ms \"$TIMEOUT_MS\"{vmm_flags}
    echo \"gicv-run $RUN end $?\"
done
echo \"gicv: batch done\"
poweroff -f
"
    )
}

fn entry<W: Write>(out: W, name: &str, mode: u32, ino: u32, data: &[u8]) -> std::io::Result<W> {
    let mut w = Builder::new(name).mode(mode).ino(ino).write(out, data.len() as u32);
    w.write_all(data)?;
    w.finish()
}

/// Writes the initramfs at `out`: `/init` (running the VMM with
/// `vmm_flags`, e.g. ` --el2`), `/bin/busybox` with the applets `/init`
/// uses, `/bin/gicv-kvm-vmm`, `/guest.img`, and the directories.
///
/// # Errors
/// A file that cannot be read or written.
pub fn write_initramfs(
    out: &Path,
    busybox: &Path,
    vmm: &Path,
    guest_image: &Path,
    vmm_flags: &str,
) -> Result<(), String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let (bb, vmm, guest) = (read(busybox)?, read(vmm)?, read(guest_image)?);
    let mut buf = Vec::new();
    let mut ino = 1;
    let mut next = || {
        ino += 1;
        ino
    };
    let io = |e: std::io::Error| format!("{}: {e}", out.display());
    for dir in ["bin", "dev", "proc", "sys"] {
        buf = entry(buf, dir, 0o040_755, next(), &[]).map_err(io)?;
    }
    buf = entry(buf, "init", 0o100_755, next(), init_script(vmm_flags).as_bytes()).map_err(io)?;
    buf = entry(buf, "bin/busybox", 0o100_755, next(), &bb).map_err(io)?;
    for applet in ["sh", "mount", "poweroff", "echo"] {
        buf = entry(buf, &format!("bin/{applet}"), 0o120_777, next(), b"busybox").map_err(io)?;
    }
    buf = entry(buf, "bin/gicv-kvm-vmm", 0o100_755, next(), &vmm).map_err(io)?;
    buf = entry(buf, "guest.img", 0o100_644, next(), &guest).map_err(io)?;
    let buf = cpio::newc::trailer(buf).map_err(io)?;
    crate::files::write(out, &buf)
}

/// One case of a KVM batch: its compiled image, its PEs (the VM's vCPUs)
/// and how long its VM may live.
#[derive(Debug, Clone, Copy)]
pub struct BatchRun<'a> {
    /// The compiled case.
    pub image: &'a [u32],
    /// The case's PEs.
    pub smp: u32,
    /// The VM's time limit, after which the VMM stops it: the case's
    /// `timeout:` plus [`VM_ALLOWANCE`] ([`BatchRun::new`]).
    pub bound: Duration,
}

impl<'a> BatchRun<'a> {
    /// The run of `image` with `smp` PEs and the case's `timeout:`.
    pub fn new(image: &'a [u32], smp: u32, timeout: Duration) -> Self {
        BatchRun { image, smp, bound: timeout + VM_ALLOWANCE }
    }
}

/// What a VM of a batch may take beyond its case's `timeout:` (the VMM's
/// start and the guest's boot under nested TCG) before the VMM stops it.
pub const VM_ALLOWANCE: Duration = Duration::from_secs(10);

/// The bound of a whole batch's QEMU: the sum of its VMs' bounds (the
/// Linux boot's allowance is the target's).
pub fn batch_bound(runs: &[BatchRun]) -> Duration {
    runs.iter().map(|r| r.bound).sum()
}

/// One batch's initrd at `out`: the initramfs at `base` followed by an
/// archive holding, per run n of `runs`, `/cases/NNNN.bin` (the compiled
/// case) and `/cases/NNNN.cfg` (`RUN=` n, `BIN=` the case's path, `GIC=`
/// the version's number, `SMP=` the case's PEs, `TIMEOUT_MS=` its VM's
/// bound).
///
/// # Errors
/// A file that cannot be read or written.
pub fn batch_initrd(base: &Path, runs: &[BatchRun], gic: u32, out: &Path) -> Result<(), String> {
    let mut buf = std::fs::read(base).map_err(|e| format!("{}: {e}", base.display()))?;
    let io = |e: std::io::Error| format!("{}: {e}", out.display());
    // Inode numbers apart from the base archive's.
    let mut ino = 1000;
    buf = entry(buf, "cases", 0o040_755, ino, &[]).map_err(io)?;
    for (n, r) in runs.iter().enumerate() {
        let bin = format!("cases/{n:04}.bin");
        let bytes: Vec<u8> = r.image.iter().flat_map(|w| w.to_le_bytes()).collect();
        let ms = r.bound.as_millis();
        let cfg = format!("RUN={n}\nBIN=/{bin}\nGIC={gic}\nSMP={}\nTIMEOUT_MS={ms}\n", r.smp);
        ino += 2;
        buf = entry(buf, &bin, 0o100_644, ino, &bytes).map_err(io)?;
        buf = entry(buf, &format!("cases/{n:04}.cfg"), 0o100_644, ino + 1, cfg.as_bytes()).map_err(io)?;
    }
    let buf = cpio::newc::trailer(buf).map_err(io)?;
    std::fs::write(out, buf).map_err(io)
}

/// What the console says about one run of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct ConsoleRun {
    /// `gicv-run N end S`: the VMM's exit status.
    status: Option<i32>,
    /// `gicv-run N vm-ms T`.
    ms: Option<u64>,
    /// The other console lines between its start and its end (the VMM's
    /// messages, and whatever Linux printed meanwhile).
    lines: Vec<String>,
}

/// The console's `gicv-run N start|end S|vm-ms T` markers, by run.
fn console_runs(console: &str) -> BTreeMap<usize, ConsoleRun> {
    let mut runs: BTreeMap<usize, ConsoleRun> = BTreeMap::new();
    let mut current = None;
    for line in console.lines().map(|l| l.trim_end_matches('\r')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let run = match words[..] {
            ["gicv-run", n, ..] => n.parse::<usize>().ok(),
            _ => None,
        };
        match (run, &words[..]) {
            (Some(n), [_, _, "start"]) => {
                runs.entry(n).or_default();
                current = Some(n);
            }
            (Some(n), [_, _, "end", st]) => {
                runs.entry(n).or_default().status = st.parse().ok();
                current = None;
            }
            (Some(n), [_, _, "vm-ms", t]) => runs.entry(n).or_default().ms = t.parse().ok(),
            _ => {
                if let Some(n) = current {
                    runs.entry(n).or_default().lines.push(line.to_string());
                }
            }
        }
    }
    runs
}

/// The runs of a batch whose VM has ended (the console's `gicv-run N end
/// S`): their output is complete, so they can be judged while the batch
/// goes on.
pub fn ended_runs(console: &str) -> Vec<usize> {
    console_runs(console).into_iter().filter(|(_, c)| c.status.is_some()).map(|(n, _)| n).collect()
}

/// The semihosting stream of a batch cut into runs at the guest's
/// `{"gicv-run":N}` lines; each run's `{"gicv-exit":C}` line gives its
/// exit code and, like the marker, is not part of its output.
fn output_runs(output: &str) -> BTreeMap<usize, (String, Option<i32>)> {
    let mut runs: BTreeMap<usize, (String, Option<i32>)> = BTreeMap::new();
    let mut current = None;
    for line in output.split_inclusive('\n') {
        let marker = |key: &str| {
            let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
            let o = v.as_object().filter(|o| o.len() == 1)?;
            o.get(key)?.as_u64()
        };
        if let Some(n) = marker("gicv-run") {
            current = Some(n as usize);
            runs.entry(n as usize).or_default();
        } else if let (Some(c), Some(n)) = (marker("gicv-exit"), current) {
            runs.entry(n).or_default().1 = i32::try_from(c).ok();
        } else if let Some(n) = current {
            runs.entry(n).or_default().0.push_str(line);
        }
    }
    runs
}

/// The last `n` lines of `text`, for a message.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("{l}\n")).collect()
}

/// Splits the result of a batch's QEMU (`whole`, with Linux's console text
/// `console`) into the results of its `runs` runs, in order: each run's
/// output is its part of the semihosting stream; its exit code the guest's
/// `{"gicv-exit":C}`; a VMM that stopped the VM at the case's time limit
/// (status 124) makes it a timeout, any other end without an exit record
/// is described in `ended` with the VMM's messages as its stderr; a run
/// the machine never reached, or was running when the machine stopped,
/// says so with the end of the console and of QEMU's stderr.
pub fn split_batch(whole: &RunResult, console: &str, runs: usize) -> Vec<RunResult> {
    let out = output_runs(&whole.output);
    let con = console_runs(console);
    let last_started = con.keys().chain(out.keys()).max().copied();
    (0..runs)
        .map(|n| {
            let (output, exit) = out.get(&n).cloned().unwrap_or_default();
            let c = con.get(&n).cloned().unwrap_or_default();
            let mut r = RunResult {
                output,
                stderr: c.lines.iter().map(|l| format!("{l}\n")).collect(),
                elapsed: Duration::from_millis(c.ms.unwrap_or(0)),
                command: format!("{}\n# run {n} of the batch: /cases/{n:04}.bin in initrd.cpio", whole.command),
                ..RunResult::default()
            };
            let machine = || {
                let how = if whole.timed_out {
                    "did not finish the batch within its bound and was stopped".to_string()
                } else {
                    whole.process_end()
                };
                format!(
                    "QEMU {how}; Linux's console ends:\n{}QEMU's stderr ends:\n{}",
                    tail(console, 6),
                    tail(&whole.stderr, 3)
                )
            };
            match (c.status, exit) {
                (Some(124), _) => {
                    r.timed_out = true;
                    r.ended = Some(format!(
                        "the VMM stopped the VM at its bound (the case's `timeout:` plus {}s for the VM's start)",
                        VM_ALLOWANCE.as_secs()
                    ));
                }
                (Some(0), Some(code)) => r.exit_code = Some(code),
                (Some(st), _) => {
                    r.ended = Some(format!("the VMM exited with status {st} without the guest's exit record"));
                }
                (None, _) if last_started.is_some_and(|l| n <= l) => {
                    r.timed_out = whole.timed_out;
                    r.ended = Some("the machine stopped during this run".into());
                    r.stderr.push_str(&machine());
                }
                (None, _) => {
                    r.ended = Some("the machine stopped before this run started".into());
                    r.stderr = machine();
                }
            }
            r
        })
        .collect()
}

/// Runs the project's `.ci/<script>` (which fetches what a hypervisor
/// target boots), its messages on stderr; returns what it printed on stdout
/// (the paths it provides).
///
/// # Errors
/// The script cannot run or fails.
fn install(root: &Path, script: &str) -> Result<String, String> {
    let script = root.join(".ci").join(script);
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed (see above)", script.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds the VMM for [`VMM_TARGET`] (adding the target with rustup when it
/// is missing) and returns the executable.
///
/// # Errors
/// rustup or cargo failing, with the command to reproduce it.
pub fn build_vmm(root: &Path) -> Result<PathBuf, String> {
    super::toolchain::ensure_rust_target(VMM_TARGET)?;
    super::toolchain::cargo_build(
        &root.join("hypervisors/kvm"),
        VMM_TARGET,
        "gicv-kvm-vmm",
        &["--release"],
        &[("RUSTFLAGS", "-C linker=rust-lld".as_ref())],
    )
}

/// Everything a KVM run needs: the kernel (`kernel`, else Debian's from
/// `.ci/install-kvm`), busybox (from `.ci/install-kvm`), the VMM (built), and
/// the initramfs with `guest_image` (written to `target/kvm/initramfs.cpio`).
///
/// # Errors
/// `.ci/install-kvm` failing (its messages are on stderr), a missing kernel,
/// or the VMM's build.
pub fn prepare(root: &Path, guest_image: &Path, kernel: Option<&Path>) -> Result<Kvm, String> {
    prepare_with(root, "install-kvm", guest_image, kernel, false)
}

/// Everything a nested-virtualization KVM run (`--hypervisor kvm-nv`)
/// needs: the kernel (`kernel`, else Debian's trixie-backports one from
/// `.ci/install-kvm-nested`, the first Debian kernel whose KVM offers
/// nested virtualization), busybox, the VMM, and the initramfs with the
/// EL2 kernel's ELF `el2_kernel` made flat (`target/kvm/nested/el2.img`)
/// as the VM's image, the VMM started with `--el2 --no-group0-at-boot`
/// (written to `target/kvm/initramfs-nested.cpio`).
///
/// # Errors
/// As [`prepare`]; an EL2 kernel that is no ELF.
pub fn prepare_nested(root: &Path, el2_kernel: &Path, kernel: Option<&Path>) -> Result<Kvm, String> {
    let elf = std::fs::read(el2_kernel).map_err(|e| format!("{}: {e}", el2_kernel.display()))?;
    let (base, image) = gic_devtree::image::elf_to_flat(&elf).map_err(|e| format!("{}: {e}", el2_kernel.display()))?;
    // The VMM loads the image at the guest's Image address, 0x4008_0000.
    if base != 0x4008_0000 {
        return Err(format!("{} is linked at {base:#x}, not 0x4008_0000", el2_kernel.display()));
    }
    let flat = root.join("target/kvm/nested/el2.img");
    std::fs::create_dir_all(flat.parent().expect("has a parent")).map_err(|e| format!("{}: {e}", flat.display()))?;
    std::fs::write(&flat, image).map_err(|e| format!("{}: {e}", flat.display()))?;
    prepare_with(root, "install-kvm-nested", &flat, kernel, true)
}

fn prepare_with(
    root: &Path,
    script_name: &str,
    guest_image: &Path,
    kernel: Option<&Path>,
    nested: bool,
) -> Result<Kvm, String> {
    let text = install(root, script_name)?;
    let script = root.join(".ci").join(script_name);
    let mut lines = text.lines();
    let (Some(debian_kernel), Some(busybox)) = (lines.next(), lines.next()) else {
        return Err(format!("{} printed no kernel and busybox paths", script.display()));
    };
    let kernel = kernel.map_or_else(|| PathBuf::from(debian_kernel), Path::to_path_buf);
    if !kernel.is_file() {
        return Err(format!("kernel {} does not exist", kernel.display()));
    }
    let release = kernel
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.trim_start_matches("vmlinuz-").to_string())
        .unwrap_or_else(|| "custom".into());
    let vmm = build_vmm(root)?;
    let dir = root.join("target/kvm");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (initramfs, flags) = if nested {
        // gic_case::proto::BOOT_NO_GROUP0 says why Group 0 stays off.
        (dir.join("initramfs-nested.cpio"), " --el2 --no-group0-at-boot")
    } else {
        (dir.join("initramfs.cpio"), "")
    };
    write_initramfs(&initramfs, Path::new(busybox), &vmm, guest_image, flags)?;
    Ok(Kvm { kernel, initramfs, release, nested })
}

/// The load addresses of the Xen target's boot modules: the guest-mode
/// kernel's Image, then the case (its ramdisk).
pub const XEN_IMAGE_AT: u64 = 0x5000_0000;
/// See [`XEN_IMAGE_AT`].
pub const XEN_CASE_AT: u64 = 0x5100_0000;
/// The domU's memory, in KiB (256 MiB).
const XEN_DOMU_KIB: u64 = 256 * 1024;

/// What a Xen run boots: Debian's Xen (`.ci/install-xen`), which starts the
/// guest-mode kernel as a dom0less domU with the case as its ramdisk.
#[derive(Debug, Clone)]
pub struct Xen {
    /// The Xen binary QEMU boots at EL2.
    pub xen: PathBuf,
    /// Its version, from its file name (`4.17`).
    pub version: String,
    /// The guest-mode kernel's Image (the domU's kernel module).
    pub guest_image: PathBuf,
    /// Where the QEMU device trees, one per GIC version and PE count, are kept.
    pub dts_dir: PathBuf,
}

/// A hypervisor the guest-view cases run under (`--hypervisor`).
#[derive(Debug, Clone)]
pub enum Hypervisor {
    /// KVM in Linux.
    Kvm(Kvm),
    /// Xen, dom0less.
    Xen(Xen),
}

impl Hypervisor {
    /// The label results carry instead of the bare QEMU version
    /// (`7.2.22-kvm-6.1.0-50-arm64`, `10.0.2-xen-4.17`); no QEMU deviation
    /// range matches it.
    pub fn label(&self, qemu_version: &str) -> String {
        match self {
            Hypervisor::Kvm(k) => k.label(qemu_version),
            Hypervisor::Xen(x) => format!("{qemu_version}-xen-{}", x.version),
        }
    }

    /// The view of the cases this hypervisor runs: the guest's, or under
    /// KVM with nested virtualization the hypervisor's (the EL2 kernel as a
    /// guest hypervisor).
    pub fn view(&self) -> crate::case::View {
        match self {
            Hypervisor::Kvm(k) if k.nested => crate::case::View::Hypervisor,
            _ => crate::case::View::Guest,
        }
    }

    /// Why `case` on GIC `gic` cannot run under this hypervisor, if it
    /// cannot: KVM's nested virtualization gives a guest hypervisor a
    /// vGICv3 only (no GICv2 virtual interface; a vGICv4 is not emulated);
    /// a PE's write of `GITS_TRANSLATER` makes no LPI pending under KVM
    /// (seen under `kvm-nv`: the acknowledge reads 1023; MSIs reach KVM's
    /// vITS from the VMM with their device's ID, `KVM_SIGNAL_MSI`), and the
    /// DeviceID of a PE's write is the interconnect's choice (IHI 0069H
    /// GITS_TRANSLATER), so an `its msi` case cannot run as written. A
    /// guest of KVM or Xen gets a vGICv2 or vGICv3, never a GICv4 (direct
    /// injection is the hypervisor's tool, not its guest's): a guest-view
    /// case's GICv4 run is bare QEMU's only.
    pub fn unsupported(&self, case: &crate::case::Case, gic: gic_case::GicVersion) -> Option<&'static str> {
        use gic_case::op::{ItsOp, Op};
        if self.view() == crate::case::View::Guest && gic == gic_case::GicVersion::V4 {
            return Some(
                "a guest of KVM or Xen gets a vGICv2 or vGICv3, not a GICv4 (the GICv3 run is this case's guest's \
                 view; GICv4 is bare QEMU's only)",
            );
        }
        let Hypervisor::Kvm(k) = self else { return None };
        if k.nested && gic != gic_case::GicVersion::V3 {
            return Some(
                "KVM's nested virtualization offers a guest hypervisor a vGICv3 only (a GICv2 virtual interface \
                 is not emulated, nor GICv4 direct injection)",
            );
        }
        let msi = case.ops(gic).is_ok_and(|ops| ops.iter().any(|(_, o)| matches!(o, Op::Its(ItsOp::Msi { .. }))));
        msi.then_some(
            "a PE's write of GITS_TRANSLATER makes no LPI pending under KVM (MSIs reach its vITS from the VMM with \
             their device's ID), and the DeviceID of a PE's write is the interconnect's choice (IHI 0069H \
             GITS_TRANSLATER): the case's `its msi` has no DeviceID 0 to write as here",
        )
    }

    /// Where one case runs under this hypervisor, in a launch of its own:
    /// under Xen a boot per case. KVM runs its cases in batches, one Linux
    /// boot for many (`suite`'s `run_kvm_batch` gives `Target::Kvm` its
    /// batch); here it gets none.
    pub fn target(&self) -> super::target::Target<'_> {
        match self {
            Hypervisor::Kvm(kvm) => super::target::Target::Kvm { kvm, batch: &[] },
            Hypervisor::Xen(xen) => super::target::Target::Xen { xen },
        }
    }
}

/// Everything a Xen run needs: Xen and `dtc` (`.ci/install-xen`).
///
/// # Errors
/// `.ci/install-xen` failing (its messages are on stderr).
pub fn prepare_xen(root: &Path, guest_image: &Path) -> Result<Xen, String> {
    let xen = PathBuf::from(install(root, "install-xen")?.trim());
    let version = xen
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("xen-"))
        .map(|n| n.trim_end_matches("-arm64").to_string())
        .unwrap_or_else(|| "unknown".into());
    let dts_dir = root.join("target/xen");
    Ok(Xen { xen, version, guest_image: guest_image.to_path_buf(), dts_dir })
}

/// Runs `dtc` with `args`; its output file is the caller's.
fn dtc(args: &[&str]) -> Result<(), String> {
    let out = Command::new("dtc")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run dtc ({e}): install device-tree-compiler (.ci/install-xen does)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("dtc {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// QEMU's own device tree for `virt,virtualization=on,gic-version=gic` with
/// `smp` PEs, as source, kept in `dir` (QEMU `-M …,dumpdtb=`, then `dtc`).
fn qemu_dts(qemu: &Path, dir: &Path, gic: u32, smp: u32) -> Result<String, String> {
    let dts = dir.join(format!("virt-gic{gic}-smp{smp}.dts"));
    if let Ok(text) = std::fs::read_to_string(&dts) {
        return Ok(text);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dtb = dts.with_extension("dtb");
    let machine = format!("virt,virtualization=on,gic-version={gic},dumpdtb={}", super::qemu::opt_value(&dtb));
    let out = Command::new(qemu)
        .args(["-M", &machine, "-cpu", "max", "-smp", &smp.max(2).to_string(), "-m", "1G"])
        .args(["-nodefaults", "-display", "none"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", qemu.display()))?;
    if !dtb.is_file() {
        return Err(format!("QEMU wrote no device tree: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    dtc(&["-q", "-I", "dtb", "-O", "dts", "-o", &dts.display().to_string(), &dtb.display().to_string()])?;
    std::fs::read_to_string(&dts).map_err(|e| format!("{}: {e}", dts.display()))
}

/// `dts` with Xen's dom0less nodes in `/chosen`: Xen's command line and a
/// domU (`xen,domain`) with `smp` vCPUs, 256 MiB, the guest-mode kernel at
/// [`XEN_IMAGE_AT`] (`image_size` bytes) and the case at [`XEN_CASE_AT`]
/// (`case_size` bytes) as its ramdisk, which Xen hands to the domU as the
/// initrd of its device tree.
///
/// # Errors
/// A device tree without `/chosen`.
pub fn dom0less_dts(dts: &str, smp: u32, image_size: u64, case_size: u64) -> Result<String, String> {
    let start = dts.find("\tchosen {\n").ok_or("QEMU's device tree has no /chosen node")?;
    let body = start + "\tchosen {\n".len();
    let end = body + dts[body..].find("\n\t};\n").ok_or("unterminated /chosen")? + 1;
    let nodes = format!(
        "\t\t#address-cells = <0x02>;\n\t\t#size-cells = <0x02>;\n\
         \t\txen,xen-bootargs = \"console=dtuart dtuart=/pl011@9000000\";\n\
         \t\tdomU1 {{\n\t\t\tcompatible = \"xen,domain\";\n\t\t\t#address-cells = <0x02>;\n\
         \t\t\t#size-cells = <0x02>;\n\t\t\tmemory = <0x00 {XEN_DOMU_KIB:#x}>;\n\t\t\tcpus = <{smp:#x}>;\n\
         \t\t\tmodule@{XEN_IMAGE_AT:x} {{\n\t\t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";\n\
         \t\t\t\treg = <0x00 {XEN_IMAGE_AT:#x} 0x00 {image_size:#x}>;\n\t\t\t\tbootargs = \"\";\n\t\t\t}};\n\
         \t\t\tmodule@{XEN_CASE_AT:x} {{\n\t\t\t\tcompatible = \"multiboot,ramdisk\", \"multiboot,module\";\n\
         \t\t\t\treg = <0x00 {XEN_CASE_AT:#x} 0x00 {case_size:#x}>;\n\t\t\t}};\n\t\t}};\n"
    );
    Ok(format!("{}{nodes}{}", &dts[..end], &dts[end..]))
}

/// Writes one Xen run's device tree at `out_dtb`.
///
/// # Errors
/// QEMU, `dtc` or a file failing.
pub fn xen_dtb(xen: &Xen, qemu: &Path, gic: u32, smp: u32, case_size: u64, out_dtb: &Path) -> Result<(), String> {
    let base = qemu_dts(qemu, &xen.dts_dir, gic, smp)?;
    let image_size =
        std::fs::metadata(&xen.guest_image).map_err(|e| format!("{}: {e}", xen.guest_image.display()))?.len();
    let dts = dom0less_dts(&base, smp, image_size, case_size)?;
    let src = out_dtb.with_extension("dts");
    std::fs::write(&src, dts).map_err(|e| format!("{}: {e}", src.display()))?;
    dtc(&["-q", "-I", "dts", "-O", "dtb", "-o", &out_dtb.display().to_string(), &src.display().to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The archives read back with the same crate's reader: names, modes and
    /// contents in order, the per-run one appended after the base's trailer.
    #[test]
    fn initramfs_and_case_archives_hold_what_init_needs() {
        let dir = tempfile::tempdir().unwrap();
        let f = |name: &str, data: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).unwrap();
            p
        };
        let (bb, vmm, img) = (f("bb", b"BB"), f("vmm", b"VMM"), f("img", b"IMG"));
        let base = dir.path().join("base.cpio");
        write_initramfs(&base, &bb, &vmm, &img, "").unwrap();
        let run = dir.path().join("run.cpio");
        let batch = [
            BatchRun::new(&[0x6463_6967], 2, Duration::from_secs(10)),
            BatchRun::new(&[1, 2], 1, Duration::from_secs(5)),
        ];
        batch_initrd(&base, &batch, 3, &run).unwrap();
        assert_eq!(batch_bound(&batch), Duration::from_secs(10 + 5) + 2 * VM_ALLOWANCE);
        let bytes = std::fs::read(&run).unwrap();
        let mut names = Vec::new();
        let mut rest: &[u8] = &bytes;
        let mut contents = std::collections::BTreeMap::new();
        loop {
            let mut r = cpio::NewcReader::new(rest).unwrap();
            let (name, mode) = (r.entry().name().to_string(), r.entry().mode());
            if r.entry().is_trailer() {
                rest = r.finish().unwrap();
                // Archives are padded to 4 bytes; a second archive may follow.
                while rest.first() == Some(&0) {
                    rest = &rest[1..];
                }
                if rest.is_empty() {
                    break;
                }
                continue;
            }
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut data).unwrap();
            contents.insert(name.clone(), data);
            names.push((name, mode));
            rest = r.finish().unwrap();
        }
        let list: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            list,
            [
                "bin",
                "dev",
                "proc",
                "sys",
                "init",
                "bin/busybox",
                "bin/sh",
                "bin/mount",
                "bin/poweroff",
                "bin/echo",
                "bin/gicv-kvm-vmm",
                "guest.img",
                "cases",
                "cases/0000.bin",
                "cases/0000.cfg",
                "cases/0001.bin",
                "cases/0001.cfg"
            ]
        );
        assert_eq!(names[6].1, 0o120_777, "bin/sh is a symlink");
        assert_eq!(contents["bin/sh"], b"busybox");
        assert_eq!(contents["cases/0000.bin"], b"gicd");
        assert_eq!(contents["cases/0001.bin"], [1, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(
            String::from_utf8_lossy(&contents["cases/0001.cfg"]),
            "RUN=1\nBIN=/cases/0001.bin\nGIC=3\nSMP=1\nTIMEOUT_MS=15000\n"
        );
        let init = String::from_utf8_lossy(&contents["init"]);
        assert!(init.contains("for cfg in /cases/*.cfg; do"), "{init}");
        assert!(init.contains("--case \"$BIN\" --gic \"$GIC\" --smp \"$SMP\" --run \"$RUN\""), "{init}");
        assert!(init.contains("echo \"gicv-run $RUN end $?\""), "{init}");
    }

    #[test]
    fn dom0less_nodes_go_into_chosen() {
        let dts = "/dts-v1/;\n\n/ {\n\tchosen {\n\t\tstdout-path = \"/pl011@9000000\";\n\t};\n\n\tpsci {\n\t};\n};\n";
        let out = dom0less_dts(dts, 2, 0x1b000, 0xa0).unwrap();
        let chosen = &out[out.find("\tchosen {").unwrap()..out.find("\tpsci {").unwrap()];
        assert!(chosen.contains("stdout-path"), "{chosen}");
        assert!(chosen.contains("xen,xen-bootargs = \"console=dtuart dtuart=/pl011@9000000\";"), "{chosen}");
        assert!(chosen.contains("cpus = <0x2>;") && chosen.contains("memory = <0x00 0x40000>;"), "{chosen}");
        assert!(chosen.contains("reg = <0x00 0x50000000 0x00 0x1b000>;"), "{chosen}");
        assert!(chosen.contains("compatible = \"multiboot,ramdisk\", \"multiboot,module\";"), "{chosen}");
        assert!(chosen.contains("reg = <0x00 0x51000000 0x00 0xa0>;"), "{chosen}");
        assert!(chosen.trim_end().ends_with("};"), "{chosen}");
        assert!(dom0less_dts("/ {\n};\n", 1, 1, 1).is_err());
    }

    fn whole(output: &str, timed_out: bool) -> RunResult {
        RunResult {
            exit_code: (!timed_out).then_some(0),
            signal: None,
            timed_out,
            output: output.into(),
            stderr: "qemu: terminating\n".into(),
            elapsed: Duration::from_secs(30),
            command: "qemu-system-aarch64 -M virt".into(),
            migrated: vec![],
            restore_failed: None,
            ended: None,
        }
    }

    /// Five runs: a clean one, one the VMM stopped at its time limit, one
    /// whose VMM failed, one the machine stopped during, one it never reached.
    #[test]
    fn a_batch_splits_into_one_result_per_run() {
        let output = "{\"gicv-run\":0}\n{\"header\":{}}\n{\"op\":\"read\"}\n{\"end\":\"ok\"}\n{\"gicv-exit\":0}\n\
                      {\"gicv-run\":1}\n{\"header\":{}}\n{\"op\":\"wait\"}\n\
                      {\"gicv-run\":2}\n{\"header\":{}}\n\
                      {\"gicv-run\":3}\n{\"header\":{}}\n{\"op\":\"read\"}\n";
        let console = "[    0.1] booting\r\ngicv-run 0 start\r\ngicv-kvm-vmm: vCPU 0: system event 1\r\n\
                       gicv-run 0 vm-ms 210\r\ngicv-run 0 end 0\r\ngicv-run 1 start\r\n\
                       gicv-kvm-vmm: the VM did not end within 20000 ms (the case's timeout); stopped\r\n\
                       gicv-run 1 vm-ms 20001\r\ngicv-run 1 end 124\r\ngicv-run 2 start\r\n\
                       gicv-kvm-vmm: vCPU 0: unexpected exit Hlt\r\ngicv-run 2 vm-ms 5\r\ngicv-run 2 end 3\r\n\
                       gicv-run 3 start\r\nKernel panic - not syncing\r\n";
        assert_eq!(ended_runs(console), [0, 1, 2]);
        let r = split_batch(&whole(output, true), console, 5);
        assert_eq!(r.len(), 5);
        assert_eq!((r[0].exit_code, r[0].timed_out, r[0].ended.as_deref()), (Some(0), false, None));
        assert_eq!(r[0].output, "{\"header\":{}}\n{\"op\":\"read\"}\n{\"end\":\"ok\"}\n");
        assert_eq!(r[0].elapsed, Duration::from_millis(210));
        assert_eq!(r[0].stderr, "gicv-kvm-vmm: vCPU 0: system event 1\n");
        assert!(r[0].command.ends_with("# run 0 of the batch: /cases/0000.bin in initrd.cpio"), "{}", r[0].command);
        assert_eq!((r[1].exit_code, r[1].timed_out), (None, true));
        assert_eq!(r[1].output, "{\"header\":{}}\n{\"op\":\"wait\"}\n");
        assert_eq!((r[2].exit_code, r[2].timed_out), (None, false));
        assert_eq!(r[2].ended.as_deref(), Some("the VMM exited with status 3 without the guest's exit record"));
        assert!(r[2].stderr.contains("unexpected exit Hlt"), "{}", r[2].stderr);
        // The machine's bound ran out during run 3: a timeout, with the console's end.
        assert_eq!((r[3].timed_out, r[3].ended.as_deref()), (true, Some("the machine stopped during this run")));
        assert!(
            r[3].stderr.contains("Kernel panic") && r[3].stderr.contains("did not finish the batch"),
            "{}",
            r[3].stderr
        );
        assert_eq!(r[3].output, "{\"header\":{}}\n{\"op\":\"read\"}\n");
        assert_eq!(
            (r[4].timed_out, r[4].ended.as_deref()),
            (false, Some("the machine stopped before this run started"))
        );
        assert!(r[4].output.is_empty() && r[4].stderr.contains("qemu: terminating"), "{}", r[4].stderr);
        // A machine that ended by itself (not at its bound) is no timeout.
        let r = split_batch(&whole("{\"gicv-run\":0}\n", false), "gicv-run 0 start\n", 1);
        assert_eq!((r[0].timed_out, r[0].exit_code), (false, None));
        assert!(
            r[0].stderr.contains("QEMU exited with status 0; Linux's console ends:\ngicv-run 0 start\n"),
            "{}",
            r[0].stderr
        );
    }
}
