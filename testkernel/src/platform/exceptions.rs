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

use core::sync::atomic::{AtomicUsize, Ordering};

use aarch64_cpu::registers::ESR_EL2;
use gic_case::proto::KernelExit;

use super::cpu_index;
use super::out::{exit, Line};

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
