//! Interrupt dispatch: the one place where physical interrupts taken at
//! the kernel's own EL are handled — at EL2 the maintenance interrupt (PPI
//! 25), GICv4 doorbells and other physical LPIs, and any SGI, PPI or SPI a
//! bounded wait lets in; in guest mode the same at EL1, where the physical
//! CPU interface is the only one and the maintenance interrupt does not
//! exist (`MISR` is then never read).
//!
//! The platform's exception vectors reach [`on_irq`] through the handler
//! registered by [`init`], so the platform layer never imports this one.
//! Interrupts are taken only inside [`take`], which unmasks `DAIF.I` for a
//! bounded time; the handler acknowledges the interrupt (`ICC_IAR1_EL1` /
//! `GICC_IAR`), records its INTID (and `ICH_MISR_EL2`/`GICH_MISR` for the
//! maintenance interrupt, read before anything changes it), drops its
//! priority and deactivates it unless it is an LPI, which has no active
//! state (the kernel runs with EOImode = 1 at EL2, and at EL1 in guest mode;
//! IHI 0069H 4.1.1), then makes the wait resume with IRQs masked.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use gic_case::op::Group;
use gic_case::vif::VifReg;

use crate::gic::{self, MAINTENANCE_INTID};
use crate::platform::timer::wait_until;
use crate::platform::{self, cpu_index, MAX_CPUS};

/// What the handler saw on one PE.
struct Slot {
    taken: AtomicBool,
    intid: AtomicU32,
    misr: AtomicU32,
}

static SLOTS: [Slot; MAX_CPUS] =
    [const { Slot { taken: AtomicBool::new(false), intid: AtomicU32::new(0), misr: AtomicU32::new(0) } }; MAX_CPUS];

/// Registers [`on_irq`] with the exception vectors; called once at boot.
pub fn init() {
    platform::exceptions::set_irq_handler(on_irq);
}

/// Handles an IRQ taken at the kernel's EL; returns whether it was a real interrupt
/// (INTID below 1020), not a spurious one.
fn on_irq() -> bool {
    let intid = gic::phys_ack(Group::G1);
    if (1020..=1023).contains(&intid) {
        return false;
    }
    let s = &SLOTS[cpu_index()];
    if gic::HYP_VIEW && intid == MAINTENANCE_INTID {
        s.misr.store(gic::vif_read(VifReg::Misr) as u32, Ordering::Relaxed);
    }
    s.intid.store(intid, Ordering::Relaxed);
    gic::phys_eoi(intid, Group::G1);
    // An LPI has no active state: nothing to deactivate, and ICC_DIR_EL1
    // defines nothing for LPI INTIDs, so it is written for the others only.
    if intid < gic_case::its::FIRST_LPI {
        gic::phys_dir(intid);
    }
    s.taken.store(true, Ordering::Release);
    true
}

/// An interrupt [`take`] took: its INTID and, for the maintenance
/// interrupt, the `MISR` value read in the handler (GICv3 layout).
#[derive(Clone, Copy, Debug)]
pub struct Taken {
    /// The INTID acknowledged.
    pub intid: u32,
    /// `ICH_MISR_EL2` / `GICH_MISR` when `intid` is the maintenance interrupt, else 0.
    #[cfg_attr(feature = "guest", allow(dead_code))] // read by `take_maintenance` (EL2) only
    pub misr: u64,
}

/// Unmasks IRQs at the kernel's EL for at most `ms` milliseconds and returns the first
/// physical interrupt taken, if any. With `maintenance`, the maintenance
/// PPI is enabled for the wait and disabled again after it (the kernel's
/// baseline keeps it disabled).
pub fn take(ms: u32, maintenance: bool) -> Option<Taken> {
    let s = &SLOTS[cpu_index()];
    s.taken.store(false, Ordering::Relaxed);
    s.misr.store(0, Ordering::Relaxed);
    if maintenance {
        gic::phys_enable(MAINTENANCE_INTID, true);
    }
    platform::isb();
    platform::irq_unmask();
    let taken = wait_until(ms, || s.taken.load(Ordering::Acquire));
    platform::irq_mask();
    if maintenance {
        gic::phys_enable(MAINTENANCE_INTID, false);
    }
    taken.then(|| Taken { intid: s.intid.load(Ordering::Relaxed), misr: s.misr.load(Ordering::Relaxed) as u64 })
}

/// [`take`] with the maintenance interrupt enabled: the INTID and MISR of
/// the interrupt taken within `ms` milliseconds, if any.
#[cfg(not(feature = "guest"))]
pub fn take_maintenance(ms: u32) -> Option<(u32, u64)> {
    take(ms, true).map(|t| (t.intid, t.misr))
}
