//! Exception handling, in two builds: the EL2 kernel's (`el2`: its
//! exception handlers, the EL1 guest's vector table, and the world switch
//! between the EL2 interpreter and the EL1 guest) and guest mode's (`el1`:
//! the kernel's own vectors at EL1, where it runs without a hypervisor).
//!
//! Shared by both: the `crash` record an unexpected exception ends the run
//! with, and the one registered IRQ handler (the interrupt dispatch of the
//! layer above, `dispatch.rs`) that IRQs taken at the kernel's own EL go to;
//! so `wait irq`, `phys ack` with a bound, timers and LPIs behave at EL1 as
//! at EL2.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use aarch64_cpu::registers::ESR_EL2;
use gic_case::proto::KernelExit;

use super::out::{exit, Line};
use super::{cpu_index, MAX_CPUS};

#[cfg(feature = "guest")]
mod el1;
#[cfg(not(feature = "guest"))]
mod el2;
#[cfg(not(feature = "guest"))]
pub use el2::*;

/// Name of the exception class of an `ESR_ELx` value (Arm ARM D17.2.37;
/// the EC encoding is the same in `ESR_EL1` and `ESR_EL2`), as the crash
/// record's `class`: the runner and people read these names, so they stay
/// as they were before the decode used aarch64-cpu's `ESR_EL2::EC`.
pub fn exception_class(esr: u64) -> &'static str {
    use ESR_EL2::EC::Value as Ec;
    match ESR_EL2::EC.read_as_enum(esr) {
        Some(Ec::Unknown) => "unknown reason",
        Some(Ec::TrappedWFIorWFE) => "WFI/WFE trapped",
        Some(Ec::TrappedFP) => "SVE/SIMD/FP access trapped",
        Some(Ec::IllegalExecutionState) => "illegal execution state",
        Some(Ec::SVC64) => "SVC (AArch64)",
        Some(Ec::HVC64) => "HVC (AArch64)",
        Some(Ec::SMC64) => "SMC (AArch64)",
        Some(Ec::TrappedMsrMrs) => "MSR/MRS/system instruction trapped",
        Some(Ec::InstrAbortLowerEL) => "instruction abort from a lower EL",
        Some(Ec::InstrAbortCurrentEL) => "instruction abort at the same EL",
        Some(Ec::PCAlignmentFault) => "PC alignment fault",
        Some(Ec::DataAbortLowerEL) => "data abort from a lower EL",
        Some(Ec::DataAbortCurrentEL) => "data abort at the same EL",
        Some(Ec::SPAlignmentFault) => "SP alignment fault",
        Some(Ec::SError) => "SError",
        Some(Ec::Brk64) => "BRK (AArch64)",
        _ => "other",
    }
}

/// Prints a `crash` record and ends the run.
pub fn crash(el: u8, kind: &str, esr: u64, elr: u64, far: u64) -> ! {
    let ec = ESR_EL2::EC.read(esr);
    let mut l = Line::new();
    l.raw("{").key("crash").raw("{");
    l.num("EL", el as u64).str("kind", kind).num("cpu", cpu_index() as u64);
    l.num("step", super::current_step() as u64);
    l.hex("EC", ec).str("class", exception_class(esr));
    l.hex("ESR", esr).hex("ELR", elr).hex("FAR", far);
    l.raw("}}");
    l.emit_now();
    exit(KernelExit::Crash)
}

/// The handler of IRQs taken at the kernel's own EL (EL2; EL1 in guest
/// mode), registered at boot by the layer above (the interrupt dispatch); 0
/// until then. It returns whether it took a real interrupt (then the
/// interrupted bounded wait resumes with IRQs masked).
static IRQ_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Registers the handler of IRQs taken at the kernel's own EL (see
/// [`IRQ_HANDLER`]); the platform layer calls it without knowing what sits above it.
pub fn set_irq_handler(handler: fn() -> bool) {
    IRQ_HANDLER.store(handler as usize, Ordering::Release);
}

/// The registered IRQ handler, if any.
fn irq_handler() -> Option<fn() -> bool> {
    let p = IRQ_HANDLER.load(Ordering::Acquire);
    if p == 0 {
        return None;
    }
    // SAFETY: the only non-zero value ever stored is a `fn() -> bool` cast
    // to usize by `set_irq_handler`; function pointers and usize have the
    // same size on AArch64.
    Some(unsafe { core::mem::transmute::<usize, fn() -> bool>(p) })
}

/// Per PE: the address of the device register access in flight (0: none),
/// set by the GIC layer's accessors around their one load or store.
static MMIO_IN_FLIGHT: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// Per PE: `ESR_EL1` of the first register access answered with a data
/// abort since the PE's step began (0: none), and its address; see
/// [`recover_mmio_abort`].
static MMIO_ABORT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static MMIO_ABORT_ADDR: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// Marks the executing PE's access of the device register at `addr` as in
/// flight and returns the mark it replaces (an access of an interrupted
/// context), which [`mmio_end`] puts back.
#[inline(always)]
pub fn mmio_begin(addr: usize) -> usize {
    MMIO_IN_FLIGHT[cpu_index() % MAX_CPUS].swap(addr, Ordering::Relaxed)
}

/// Ends the access [`mmio_begin`] marked, restoring the mark it returned.
#[inline(always)]
pub fn mmio_end(prev: usize) {
    MMIO_IN_FLIGHT[cpu_index() % MAX_CPUS].store(prev, Ordering::Relaxed);
}

/// The `ESR_EL1` and the address of the first register access of the
/// executing PE's step that was answered with a data abort, if any; clears
/// the record.
pub fn take_mmio_abort() -> Option<(u64, usize)> {
    let cpu = cpu_index() % MAX_CPUS;
    match MMIO_ABORT[cpu].swap(0, Ordering::Relaxed) {
        0 => None,
        esr => Some((esr, MMIO_ABORT_ADDR[cpu].load(Ordering::Relaxed))),
    }
}

/// Guest mode: whether a synchronous exception with syndrome `esr` and
/// fault address `far` is a data abort at the same EL (EC 0x25) of the
/// register access in flight (`FAR_EL1` equal to its address, or not
/// valid: `ESR_EL1.FnV`). Such an abort is the hypervisor's answer to an
/// access of a register it does not emulate (Xen answers writes of
/// `GICD_ISACTIVER<n>` so): it is recorded for the step
/// ([`take_mmio_abort`]; the interpreter prints a `data abort` event after
/// the step's op) and the caller resumes after the one access
/// instruction, so a skipped load leaves the value its accessor preset
/// (0). Any other exception ends the run as before.
#[cfg_attr(not(feature = "guest"), allow(dead_code))]
fn recover_mmio_abort(esr: u64, far: u64) -> bool {
    const FNV: u64 = 1 << 10;
    let cpu = cpu_index() % MAX_CPUS;
    let addr = MMIO_IN_FLIGHT[cpu].load(Ordering::Relaxed) as u64;
    let same_el_data_abort = ESR_EL2::EC.read(esr) == 0x25;
    if addr == 0 || !same_el_data_abort || (esr & FNV == 0 && far != addr) {
        return false;
    }
    if MMIO_ABORT[cpu].load(Ordering::Relaxed) == 0 {
        MMIO_ABORT_ADDR[cpu].store(addr as usize, Ordering::Relaxed);
        MMIO_ABORT[cpu].store(esr, Ordering::Relaxed);
    }
    true
}
