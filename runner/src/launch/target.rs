//! Where a case runs: the machine QEMU emulates, the kernel image it
//! boots, and how the compiled case reaches that kernel. The output
//! channel is the same for every target today (semihosting into the run's
//! `semihosting.out`, which reaches the outermost QEMU from any EL).
//!
//! | target | machine | kernel | case |
//! |---|---|---|---|
//! | [`Target::El2`] | `virt,virtualization=on` | the EL2 ELF (`-kernel`), entered at EL2 | `-device loader` at [`CASE_LOAD_ADDR`] |
//! | [`Target::Guest`] | `virt,virtualization=off` | the guest-mode arm64 Image (`-kernel`), entered at EL1 with the DTB in x0 (Linux boot protocol) | `-initrd`: the DTB's `/chosen` `linux,initrd-start`/`-end` |
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
    Guest {
        /// The guest-mode kernel's arm64 Image.
        image: &'a Path,
    },
}

impl Target<'_> {
    /// The view of the cases this target runs.
    pub fn view(&self) -> View {
        match self {
            Target::El2 { .. } => View::Hypervisor,
            Target::Guest { .. } => View::Guest,
        }
    }

    /// The `-M` value for GIC version `gic`.
    pub fn machine(&self, gic: GicVersion) -> String {
        let el2 = match self {
            Target::El2 { .. } => "on",
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
        assert_eq!(
            guest.boot_args(Path::new("/r/case.bin")),
            ["-kernel", "/k/testkernel.img", "-initrd", "/r/case.bin"]
        );
        assert_eq!((el2.view(), guest.view()), (View::Hypervisor, View::Guest));
    }
}
