//! Bounded waits on the generic counter (`CNTPCT_EL0` at `CNTFRQ_EL0` Hz).
//!
//! Every poll in the kernel goes through a [`Deadline`], so no wait can hang.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, Writeable, CNTFRQ_EL0, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0};

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

/// Drives the EL1 physical timer's output, a level-sensitive PPI (30 on
/// QEMU `virt`): asserted with a compare value in the past and the timer
/// enabled and unmasked, deasserted by disabling it. At EL2 with
/// `HCR_EL2.E2H` = 0, `CNTP_*_EL0` are the EL1 physical timer's registers.
/// The EL1 physical timer is used by nothing else, so this only changes
/// its interrupt output.
pub fn el1_physical_timer_output(assert: bool) {
    if assert {
        CNTP_CVAL_EL0.set(0);
        CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
    } else {
        CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::CLEAR + CNTP_CTL_EL0::IMASK::CLEAR);
    }
    barrier::isb(barrier::SY);
}
