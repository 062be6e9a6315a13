//! Bounded waits on the generic counter (`CNTPCT_EL0` at `CNTFRQ_EL0` Hz).
//!
//! Every poll in the kernel goes through a [`Deadline`], so no wait can hang.

use aarch64_cpu::asm::barrier;
use core::arch::asm;

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTHP_CTL_EL2, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0, CNTV_CTL_EL0,
    CNTV_CVAL_EL0,
};
use gic_case::op::TimerKind;

/// The physical count, after an `ISB` so that it is not read early. EL2
/// and, with `CNTHCTL_EL2.EL1PCTEN` set by the kernel, EL1 may read it.
fn counter() -> u64 {
    barrier::isb(barrier::SY);
    CNTPCT_EL0.get()
}

fn frequency() -> u64 {
    let v = CNTFRQ_EL0.get();
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

/// Drives the output of one of the executing PE's generic timers, each a
/// level-sensitive PPI (QEMU `virt`: EL1 physical 30, EL1 virtual 27, EL2
/// physical 26): asserted with a compare value of 0 (the timer condition,
/// count >= compare value, holds at once) and the timer enabled and
/// unmasked; deasserted by disabling it (Arm ARM D11.2.4, "Timer
/// conditions"; `CNT*_CTL.ISTATUS` is meaningful only while `ENABLE` is 1).
/// At EL2 with `HCR_EL2.E2H` = 0, `CNTP_*_EL0` and `CNTV_*_EL0` are the EL1
/// timers' registers; at EL1 (guest mode) they are too, and the EL2 timer
/// (`TimerKind::Hyp`, `CNTHP_*_EL2`) does not exist for the caller (its
/// registers are UNDEFINED there): guest mode never drives it. The kernel uses none of these timers for anything else
/// (its waits read `CNTPCT_EL0`), so this only changes their interrupt outputs.
pub fn timer_output(kind: TimerKind, assert: bool) {
    match (kind, assert) {
        (TimerKind::Phys, true) => {
            CNTP_CVAL_EL0.set(0);
            CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
        }
        (TimerKind::Phys, false) => CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::CLEAR + CNTP_CTL_EL0::IMASK::CLEAR),
        (TimerKind::Virt, true) => {
            CNTV_CVAL_EL0.set(0);
            CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
        }
        (TimerKind::Virt, false) => CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::CLEAR),
        (TimerKind::Hyp, true) => {
            // SAFETY: CNTHP_CVAL_EL2 is the EL2 physical timer's compare
            // value, accessible at EL2; aarch64-cpu 11 does not provide it.
            unsafe { asm!("msr cnthp_cval_el2, xzr", options(nomem, nostack)) };
            CNTHP_CTL_EL2.write(CNTHP_CTL_EL2::ENABLE::SET + CNTHP_CTL_EL2::IMASK::CLEAR);
        }
        (TimerKind::Hyp, false) => CNTHP_CTL_EL2.write(CNTHP_CTL_EL2::ENABLE::CLEAR + CNTHP_CTL_EL2::IMASK::CLEAR),
    }
    barrier::isb(barrier::SY);
}
