//! Guest mode's exception handlers: the kernel runs at EL1 (aarch64-rt's
//! `el1` feature installs its vector table in `VBAR_EL1` on every PE), as a
//! VM's kernel does, with no hypervisor of its own.
//!
//! An IRQ taken at EL1 goes to the registered handler (the interrupt
//! dispatch, `dispatch.rs`), exactly as an IRQ taken at EL2 does in the EL2
//! kernel: interrupts are unmasked only inside a bounded wait, and when the
//! handler took a real interrupt the wait resumes with IRQs masked. A data
//! abort of a GIC register access (a hypervisor's answer to an access it
//! does not emulate) is recorded for the step's event and the access
//! skipped (`recover_mmio_abort`). Every other exception is unexpected and
//! ends the run with a `crash` record (`EL` 1, `ESR_EL1`, `ELR_EL1`,
//! `FAR_EL1`).

use aarch64_cpu::registers::{Readable, ELR_EL1, ESR_EL1, FAR_EL1, SPSR_EL1};
use aarch64_rt::{ExceptionHandlers, RegisterStateRef};

use super::{crash, irq_handler, recover_mmio_abort};

fn crash_el1(kind: &str) -> ! {
    crash(1, kind, ESR_EL1.get(), ELR_EL1.get(), FAR_EL1.get())
}

/// The EL1 exception handlers (installed through aarch64-rt's vector table).
pub struct Handlers;

impl ExceptionHandlers for Handlers {
    extern "C" fn sync_current(mut state: RegisterStateRef) {
        if !recover_mmio_abort(ESR_EL1.get(), FAR_EL1.get()) {
            crash_el1("synchronous")
        }
        // SAFETY: the abort is of the register access in flight, one 4-byte
        // LDR/STR of the GIC layer's accessors (`recover_mmio_abort`);
        // resuming after it skips that instruction only, and a skipped load
        // leaves the value its accessor preset in the destination register.
        unsafe { state.get_mut().elr += 4 };
    }

    extern "C" fn irq_current(mut state: RegisterStateRef) {
        let Some(handler) = irq_handler() else { crash_el1("IRQ at EL1 before an interrupt handler was registered") };
        if handler() {
            // SAFETY: setting SPSR.I only makes the interrupted bounded wait
            // resume with IRQs masked, which it checks for; nothing else changes.
            unsafe {
                let s = state.get_mut();
                s.spsr = SPSR_EL1::I::Masked.modify(s.spsr);
            }
        }
    }

    extern "C" fn fiq_current(_state: RegisterStateRef) {
        crash_el1("FIQ")
    }

    extern "C" fn serror_current(_state: RegisterStateRef) {
        crash_el1("SError")
    }

    extern "C" fn sync_lower(_state: RegisterStateRef) {
        crash_el1("synchronous exception from EL0")
    }

    extern "C" fn irq_lower(_state: RegisterStateRef) {
        crash_el1("IRQ from EL0")
    }

    extern "C" fn fiq_lower(_state: RegisterStateRef) {
        crash_el1("FIQ from EL0")
    }

    extern "C" fn serror_lower(_state: RegisterStateRef) {
        crash_el1("SError from EL0")
    }
}

aarch64_rt::exception_handlers!(Handlers);
