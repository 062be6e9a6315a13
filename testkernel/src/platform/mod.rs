//! Platform layer: QEMU `virt` facts (guest mode replaces the addresses
//! with the device tree's at boot), per-PE identity, bounded time,
//! semihosting output, PSCI, the PL011's interrupt line, and the exception
//! vectors (EL2's, or EL1's in guest mode).

pub mod exceptions;
pub mod out;
pub mod psci;
pub mod timer;
pub mod uart;

use core::sync::atomic::{AtomicU16, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ReadWriteable, Readable, DAIF, MPIDR_EL1};

/// Most PEs the kernel supports (`gic_case::proto::MAX_CPUS`).
pub const MAX_CPUS: usize = gic_case::proto::MAX_CPUS as usize;

/// Index of the executing PE: `MPIDR_EL1.Aff0`, which QEMU `virt` numbers
/// 0..smp-1 for the first cluster.
pub fn cpu_index() -> usize {
    MPIDR_EL1.read(MPIDR_EL1::Aff0) as usize
}

/// The case step each PE is executing (0: none yet), for crash records.
static STEP: [AtomicU16; MAX_CPUS] = [const { AtomicU16::new(0) }; MAX_CPUS];

/// Records that the executing PE starts case step `step` (and forgets an
/// aborted register access of the step before, [`exceptions::take_mmio_abort`]).
pub fn set_step(step: u16) {
    STEP[cpu_index() % MAX_CPUS].store(step, Ordering::Relaxed);
    exceptions::take_mmio_abort();
}

/// The case step PE `cpu` last started (0: none), read from any PE.
pub fn step_of(cpu: usize) -> u16 {
    STEP[cpu % MAX_CPUS].load(Ordering::Relaxed)
}

/// The case step the executing PE last started (0: none).
pub fn current_step() -> u16 {
    STEP[cpu_index() % MAX_CPUS].load(Ordering::Relaxed)
}

/// Instruction synchronization barrier.
pub fn isb() {
    barrier::isb(barrier::SY);
}

/// Unmasks IRQs at the current EL (`DAIF.I` = 0). The kernel's IRQ
/// handlers are installed (aarch64-rt's vector table) before any caller runs.
pub fn irq_unmask() {
    DAIF.modify(DAIF::I::Unmasked);
}

/// Masks IRQs at the current EL (`DAIF.I` = 1).
pub fn irq_mask() {
    DAIF.modify(DAIF::I::Masked);
}

/// A hint that this is a busy-wait loop.
pub fn spin_hint() {
    core::hint::spin_loop();
}
