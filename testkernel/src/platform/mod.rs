//! Platform layer: QEMU `virt` facts, per-PE identity, bounded time,
//! semihosting output, PSCI, and the exception vectors.

pub mod exceptions;
pub mod out;
pub mod psci;
pub mod timer;

use core::arch::asm;
use core::sync::atomic::{AtomicU16, Ordering};

/// Most PEs the kernel supports (`gic_case::proto::MAX_CPUS`).
pub const MAX_CPUS: usize = gic_case::proto::MAX_CPUS as usize;

/// Index of the executing PE: `MPIDR_EL1.Aff0`, which QEMU `virt` numbers
/// 0..smp-1 for the first cluster.
pub fn cpu_index() -> usize {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack, preserves_flags)) };
    (mpidr & 0xff) as usize
}

/// The case step each PE is executing (0: none yet), for crash records.
static STEP: [AtomicU16; MAX_CPUS] = [const { AtomicU16::new(0) }; MAX_CPUS];

/// Records that the executing PE starts case step `step`.
pub fn set_step(step: u16) {
    STEP[cpu_index() % MAX_CPUS].store(step, Ordering::Relaxed);
}

/// The case step the executing PE last started (0: none).
pub fn current_step() -> u16 {
    STEP[cpu_index() % MAX_CPUS].load(Ordering::Relaxed)
}

/// Raw `MPIDR_EL1` of the executing PE.
pub fn mpidr() -> u64 {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack, preserves_flags)) };
    mpidr
}

/// Instruction synchronization barrier.
pub fn isb() {
    // SAFETY: a barrier has no memory-safety effect.
    unsafe { asm!("isb", options(nostack, preserves_flags)) };
}

/// Unmasks IRQs at the current EL (`DAIFClr` I).
pub fn irq_unmask() {
    // SAFETY: the kernel's IRQ handlers are installed before any caller runs.
    unsafe { asm!("msr daifclr, #2", options(nostack)) };
}

/// Masks IRQs at the current EL.
pub fn irq_mask() {
    // SAFETY: masking interrupts cannot break memory safety.
    unsafe { asm!("msr daifset, #2", options(nostack)) };
}

/// A hint that this is a busy-wait loop.
pub fn spin_hint() {
    core::hint::spin_loop();
}
