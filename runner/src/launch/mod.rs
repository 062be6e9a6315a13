//! Launch and collect: what a case needs to run, and running it.
//!
//! - [`toolchain`]: the Rust target, QEMU (found or installed), the built
//!   test kernel (EL2, or the guest-mode Image);
//! - [`qemu`]: probing a QEMU binary and one bounded run of the EL2 test
//!   kernel with a compiled case on QEMU's `virt` board;
//! - [`procs`]: process groups, bounded runs, the runner's signals;
//! - [`events`]: the kernel's JSON lines read back.
//!
//! Where a case runs is decided here: today the EL2 kernel on bare QEMU
//! ([`qemu::run`]). Further run targets (the test kernel as a VM of bare
//! QEMU at EL1, as a VM of KVM or Xen nested in QEMU, a run migrated
//! across QEMU processes) belong here as siblings of [`qemu`], each
//! producing the same [`qemu::RunResult`] for [`events`] and the judging
//! stage.

pub mod events;
pub mod procs;
pub mod qemu;
pub mod toolchain;
