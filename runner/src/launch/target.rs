//! Where a case runs: the machine QEMU emulates, the kernel image it
//! boots, and how the compiled case reaches that kernel. The output
//! channel is the same for every target today (semihosting into the run's
//! `semihosting.out`, which reaches the outermost QEMU from any EL).
//!
//! | target | machine | kernel | case |
//! |---|---|---|---|
//! | [`Target::El2`] | `virt,virtualization=on` | the EL2 ELF (`-kernel`), entered at EL2 | `-device loader` at [`CASE_LOAD_ADDR`] |
//! | [`Target::Guest`] | `virt,virtualization=off` (GICv4: `on`) | the guest-mode arm64 Image (`-kernel`), entered at EL1 with the DTB in x0 (Linux boot protocol; at EL2 for GICv4, which it leaves for EL1 with no hypervisor) | `-initrd`: the DTB's `/chosen` `linux,initrd-start`/`-end` |
//! | [`Target::Xen`] | `virt,virtualization=on` | Debian's Xen at EL2 (`-kernel`, `-dtb`: QEMU's device tree with dom0less `/chosen` nodes), which starts the guest-mode kernel as a domU | a boot module Xen hands the domU as its ramdisk (`-device loader` at 0x5100_0000) |
//! | [`Target::Kvm`] | `virt,virtualization=on` | Debian's arm64 Linux at EL2 with KVM; its initramfs runs the project's VMM once per case of a batch, each case a fresh KVM VM of the guest-mode kernel with an in-kernel vGIC | the batch's cases, `/cases/NNNN.bin`, appended to the initramfs ([`super::hypervisor`]) |
//!
//! A new place to run cases (a hypervisor nested in QEMU, a migrated run)
//! is a new variant here and nowhere else in the launch path.

use std::path::Path;

use gic_case::proto::CASE_LOAD_ADDR;
use gic_case::GicVersion;

use crate::case::View;

use super::qemu::opt_value;

/// Where one run goes, with the kernel image it boots.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The test kernel at EL2 playing the hypervisor, on QEMU `virt` with
    /// EL2 (`virtualization=on`): the hypervisor's view.
    El2 {
        /// The EL2 kernel's ELF.
        kernel: &'a Path,
    },
    /// The test kernel as a VM at EL1 on QEMU `virt` without EL2
    /// (`virtualization=off`): the guest's view of the GIC model itself.
    /// QEMU offers a GICv4 only with EL2 (`virtualization=on`): there the
    /// kernel enters at EL2 and leaves it for EL1, with no hypervisor.
    Guest {
        /// The guest-mode kernel's arm64 Image.
        image: &'a Path,
    },
    /// The guest-mode kernel as a VM of KVM, in Linux at EL2 inside QEMU:
    /// the guest's view of KVM's vGIC (`--hypervisor kvm`).
    Kvm {
        /// What Linux and its initramfs are.
        kvm: &'a super::hypervisor::Kvm,
        /// The cases of this boot, run in order, one VM each (the
        /// launch's own case image is unused).
        batch: &'a [super::hypervisor::BatchRun<'a>],
    },
    /// The guest-mode kernel as a dom0less domU of Xen inside QEMU: the
    /// guest's view of Xen's vGIC (`--hypervisor xen`).
    Xen {
        /// Xen and where its device trees are kept.
        xen: &'a super::hypervisor::Xen,
    },
}

/// How much longer than the case's own `timeout:` a run may take before it
/// is a TIMEOUT: booting Linux (or Xen) under TCG before the VM starts.
pub const HYPERVISOR_BOOT_ALLOWANCE: std::time::Duration = std::time::Duration::from_secs(40);

/// What the end of one VM may take under KVM's nested virtualization: KVM
/// destroys every shadow stage 2 of the VM when its VMM exits
/// (`kvm_arch_flush_shadow_all`), about 10 s under TCG (README, Nested
/// virtualization), after the VMM's own bound has ended.
pub const NESTED_VM_TEARDOWN: std::time::Duration = std::time::Duration::from_secs(30);

impl Target<'_> {
    /// The view of the cases this target runs.
    pub fn view(&self) -> View {
        match self {
            Target::El2 { .. } => View::Hypervisor,
            Target::Kvm { kvm, .. } if kvm.nested => View::Hypervisor,
            Target::Guest { .. } | Target::Kvm { .. } | Target::Xen { .. } => View::Guest,
        }
    }

    /// The `-cpu` value, `default` unless the target needs another: under
    /// KVM, `max` with the IMPLEMENTATION DEFINED pointer-authentication
    /// algorithm (Debian's kernels use pointer authentication, and QEMU
    /// 7.2's architected algorithm makes them boot three times slower).
    pub fn cpu(&self, default: &str) -> String {
        match self {
            Target::Kvm { .. } | Target::Xen { .. } if default == "max" => "max,pauth-impdef=on".into(),
            _ => default.into(),
        }
    }

    /// The `-m` value.
    pub fn memory(&self) -> &'static str {
        match self {
            Target::Kvm { .. } | Target::Xen { .. } => "1G",
            _ => "512M",
        }
    }

    /// The `-smp` value for a case with `smp` PEs (under KVM the VM's vCPUs
    /// are threads of the VMM, and two host PEs run them).
    pub fn smp(&self, smp: u32) -> u32 {
        match self {
            Target::Kvm { .. } => 2,
            Target::Xen { .. } => smp.max(2),
            _ => smp,
        }
    }

    /// Extra time a run may take beyond the case's `timeout:` (a KVM
    /// batch's launch gives the sum of its cases' bounds as the timeout).
    pub fn allowance(&self) -> std::time::Duration {
        match self {
            Target::Kvm { kvm, batch } if kvm.nested => {
                HYPERVISOR_BOOT_ALLOWANCE + NESTED_VM_TEARDOWN * batch.len() as u32
            }
            Target::Kvm { .. } | Target::Xen { .. } => HYPERVISOR_BOOT_ALLOWANCE,
            _ => std::time::Duration::ZERO,
        }
    }

    /// Writes what a run needs besides the case image at `case_image` (in
    /// the run's directory): under KVM, the batch's initrd (`initrd.cpio`:
    /// the initramfs with the batch's cases and their GIC version, PE
    /// counts and time limits); under
    /// Xen, the device tree (`xen.dtb`, from `qemu`'s own).
    ///
    /// # Errors
    /// A file that cannot be read or written.
    pub fn prepare(&self, qemu: &Path, case_image: &Path, gic: GicVersion, smp: u32) -> Result<(), String> {
        match self {
            Target::Xen { xen } => {
                let size = std::fs::metadata(case_image).map_err(|e| format!("{}: {e}", case_image.display()))?.len();
                super::hypervisor::xen_dtb(xen, qemu, gic as u32, smp, size, &case_image.with_file_name("xen.dtb"))
            }
            Target::Kvm { kvm, batch } => super::hypervisor::batch_initrd(
                &kvm.initramfs,
                batch,
                gic as u32,
                &case_image.with_file_name("initrd.cpio"),
            ),
            _ => Ok(()),
        }
    }

    /// The `-M` value for GIC version `gic`.
    pub fn machine(&self, gic: GicVersion) -> String {
        let el2 = match self {
            Target::El2 { .. } | Target::Kvm { .. } | Target::Xen { .. } => "on",
            // QEMU offers a GICv4 only with EL2: the guest-mode kernel,
            // entered there, makes itself an EL1 kernel with no hypervisor.
            Target::Guest { .. } if gic == GicVersion::V4 => "on",
            Target::Guest { .. } => "off",
        };
        format!("virt,virtualization={el2},gic-version={}", gic as u32)
    }

    /// The arguments that boot the kernel and hand it the case image at
    /// `case_image` (a file in the run's directory).
    pub fn boot_args(&self, case_image: &Path) -> Vec<String> {
        match self {
            Target::El2 { kernel } => vec![
                "-kernel".into(),
                kernel.display().to_string(),
                "-device".into(),
                format!("loader,file={},addr={CASE_LOAD_ADDR:#x},force-raw=on", opt_value(case_image)),
            ],
            Target::Guest { image } => {
                vec!["-kernel".into(), image.display().to_string(), "-initrd".into(), case_image.display().to_string()]
            }
            Target::Kvm { kvm, .. } => vec![
                "-kernel".into(),
                kvm.kernel.display().to_string(),
                "-initrd".into(),
                case_image.with_file_name("initrd.cpio").display().to_string(),
                "-append".into(),
                kvm.append(),
                // Linux's console, for a run that goes wrong before the VM reports.
                "-serial".into(),
                format!("file:{}", opt_value(&case_image.with_file_name("console.txt"))),
            ],
            Target::Xen { xen } => vec![
                "-kernel".into(),
                xen.xen.display().to_string(),
                "-dtb".into(),
                case_image.with_file_name("xen.dtb").display().to_string(),
                "-device".into(),
                format!(
                    "loader,file={},addr={:#x},force-raw=on",
                    opt_value(&xen.guest_image),
                    super::hypervisor::XEN_IMAGE_AT
                ),
                "-device".into(),
                format!(
                    "loader,file={},addr={:#x},force-raw=on",
                    opt_value(case_image),
                    super::hypervisor::XEN_CASE_AT
                ),
                // Xen's console, for a run that goes wrong before the domU reports.
                "-serial".into(),
                format!("file:{}", opt_value(&case_image.with_file_name("console.txt"))),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_composes_its_machine_kernel_and_case() {
        let el2 = Target::El2 { kernel: Path::new("/k/testkernel") };
        assert_eq!(el2.machine(GicVersion::V3), "virt,virtualization=on,gic-version=3");
        assert_eq!(
            el2.boot_args(Path::new("/r/a,b/case.bin")),
            ["-kernel", "/k/testkernel", "-device", "loader,file=/r/a,,b/case.bin,addr=0x48000000,force-raw=on"]
        );
        let guest = Target::Guest { image: Path::new("/k/testkernel.img") };
        assert_eq!(guest.machine(GicVersion::V2), "virt,virtualization=off,gic-version=2");
        assert_eq!(guest.machine(GicVersion::V4), "virt,virtualization=on,gic-version=4");
        assert_eq!(
            guest.boot_args(Path::new("/r/case.bin")),
            ["-kernel", "/k/testkernel.img", "-initrd", "/r/case.bin"]
        );
        assert_eq!((el2.view(), guest.view()), (View::Hypervisor, View::Guest));
        let kvm = super::super::hypervisor::Kvm {
            kernel: "/k/vmlinuz-6.1.0-50-arm64".into(),
            initramfs: "/k/initramfs.cpio".into(),
            release: "6.1.0-50-arm64".into(),
            nested: false,
        };
        let t = Target::Kvm { kvm: &kvm, batch: &[] };
        assert_eq!(t.machine(GicVersion::V2), "virt,virtualization=on,gic-version=2");
        assert_eq!(
            t.boot_args(Path::new("/r/case.bin")),
            [
                "-kernel",
                "/k/vmlinuz-6.1.0-50-arm64",
                "-initrd",
                "/r/initrd.cpio",
                "-append",
                "console=ttyAMA0 rdinit=/init quiet",
                "-serial",
                "file:/r/console.txt"
            ]
        );
        assert_eq!(
            (t.cpu("max"), t.memory(), t.smp(4), t.view()),
            ("max,pauth-impdef=on".into(), "1G", 2, View::Guest)
        );
        assert_eq!((el2.cpu("max"), el2.memory(), el2.smp(3)), ("max".into(), "512M", 3));
        assert_eq!(kvm.label("7.2.22"), "7.2.22-kvm-6.1.0-50-arm64");
    }
}
