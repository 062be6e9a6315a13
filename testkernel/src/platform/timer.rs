//! Bounded waits on the generic counter (`CNTPCT_EL0` at `CNTFRQ_EL0` Hz).
//!
//! Every poll in the kernel goes through a [`Deadline`], so no wait can hang.

use core::arch::asm;

fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading the physical counter has no side effects; EL2 and,
    // with CNTHCTL_EL2.EL1PCTEN set by the kernel, EL1 may read it.
    unsafe { asm!("isb", "mrs {}, cntpct_el0", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

fn frequency() -> u64 {
    let v: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) v, options(nomem, nostack, preserves_flags)) };
    if v == 0 {
        62_500_000
    } else {
        v
    }
}

/// A point in time after which a wait gives up.
#[derive(Clone, Copy)]
pub struct Deadline(u64);

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u32) -> Deadline {
        Deadline(counter().saturating_add(frequency() / 1000 * ms as u64))
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        counter() >= self.0
    }
}

/// Polls `cond` until it is true or `ms` milliseconds pass; returns whether it became true.
pub fn wait_until(ms: u32, mut cond: impl FnMut() -> bool) -> bool {
    let d = Deadline::after_ms(ms);
    loop {
        if cond() {
            return true;
        }
        if d.expired() {
            return cond();
        }
        super::spin_hint();
    }
}

/// Drives the EL1 physical timer's output, a level-sensitive PPI (30 on
/// QEMU `virt`): asserted with a compare value in the past and the timer
/// enabled and unmasked, deasserted by disabling it. At EL2 with
/// `HCR_EL2.E2H` = 0, `CNTP_*_EL0` are the EL1 physical timer's registers.
pub fn el1_physical_timer_output(assert: bool) {
    // SAFETY: the EL1 physical timer is not used by the kernel or the guest
    // for anything else; this only changes its interrupt output.
    unsafe {
        if assert {
            asm!("msr cntp_cval_el0, xzr", "msr cntp_ctl_el0, {one}", "isb", one = in(reg) 1u64, options(nostack));
        } else {
            asm!("msr cntp_ctl_el0, xzr", "isb", options(nostack));
        }
    }
}
