//! Launch and collect: what a case needs to run, and running it.
//!
//! - [`toolchain`]: the Rust target, QEMU (found or installed), the built
//!   test kernel (EL2, or the guest-mode Image);
//! - [`qemu`]: probing a QEMU binary and one bounded run of the EL2 test
//!   kernel with a compiled case on QEMU's `virt` board;
//! - [`procs`]: process groups, bounded runs, the runner's signals;
//! - [`events`]: the kernel's JSON lines read back.
//!
//! Where a case runs is decided here, in one place: [`target`] (the EL2
//! kernel on QEMU with EL2, or the guest-mode kernel as a VM at EL1 on
//! QEMU without it). Further run targets (a VM of KVM or Xen nested in
//! QEMU, a run migrated across QEMU processes) are new variants there,
//! each producing the same [`qemu::RunResult`] for [`events`] and the
//! judging stage.

pub mod events;
pub mod hypervisor;
pub mod migrate;
pub mod procs;
pub mod qemu;
pub mod target;
pub mod toolchain;
