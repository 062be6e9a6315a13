//! GICv3 and GICv4 (IHI 0069): distributor, redistributors, ICC_* at EL2
//! (at EL1 in guest mode) and the ICH_* virtual interface control registers.
//!
//! QEMU `virt` has no EL3 here, so `GICD_CTLR.DS` is 1: one Security state,
//! affinity routing enabled with `GICD_CTLR.ARE` (bit 4). Physical
//! interrupts are Group 1 and the kernel runs with `ICC_CTLR_EL1.EOImode` = 1.
//!
//! In guest mode (EL1, no EL2 or EL3 implemented, as on QEMU `virt` with
//! `virtualization=off`) the kernel enables the system-register interface
//! with `ICC_SRE_EL1` instead of `ICC_SRE_EL2` (IHI 0069H 12.2: with neither
//! EL2 nor EL3, `ICC_SRE_EL1` alone controls it), and `ICC_PMR_EL1`,
//! `ICC_BPR1_EL1`, `ICC_CTLR_EL1` and `ICC_IGRPEN<n>_EL1` are the physical
//! CPU interface's; no `ICH_*` register is touched.

use core::sync::atomic::{AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, Writeable, ICC_SRE_EL2, ICH_HCR_EL2, ICH_VTR_EL2, MPIDR_EL1};

use gic_case::op::{Group, PhysState, SgiTargets, ANY_PE};
use gic_case::regs::SysReg;
use gic_case::vif::VifReg;

use super::layout;
use super::mmio::{read32, read64, write32, write64, write8};
use super::sysreg::{self, ich_lr};
use super::{DEFAULT_PRIORITY, HYP_VIEW, MAINTENANCE_INTID};
use crate::platform::timer::wait_until;
use crate::platform::{cpu_index, MAX_CPUS};

// Distributor, IHI 0069H Table 12-25.
const GICD_CTLR: usize = 0x0000;
const GICD_TYPER: usize = 0x0004;
const GICD_IGROUPR: usize = 0x0080;
const GICD_ISENABLER: usize = 0x0100;
const GICD_ICENABLER: usize = 0x0180;
const GICD_ISPENDR: usize = 0x0200;
const GICD_ICPENDR: usize = 0x0280;
const GICD_ISACTIVER: usize = 0x0300;
const GICD_IPRIORITYR: usize = 0x0400;
const GICD_IROUTER: usize = 0x6000;
const GICD_CTLR_RWP: u32 = 1 << 31;
// Redistributor RD_base, Table 12-27.
const GICR_TYPER: usize = 0x0008;
const GICR_WAKER: usize = 0x0014;
// Redistributor SGI_base, Table 12-28.
const SGI_BASE: usize = 0x1_0000;
const GICR_IGROUPR0: usize = SGI_BASE + 0x080;
const GICR_ISENABLER0: usize = SGI_BASE + 0x100;
const GICR_ICENABLER0: usize = SGI_BASE + 0x180;
const GICR_ISPENDR0: usize = SGI_BASE + 0x200;
const GICR_ICPENDR0: usize = SGI_BASE + 0x280;
const GICR_ISACTIVER0: usize = SGI_BASE + 0x300;
const GICR_ICACTIVER0: usize = SGI_BASE + 0x380;
const GICR_IPRIORITYR: usize = SGI_BASE + 0x400;

static RD_BASES: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

fn d(off: usize) -> usize {
    layout::gicd() + off
}

/// `GICR_TYPER` of the first redistributor (0 if the layout has none).
pub fn first_typer() -> u64 {
    let Some((gicr, _)) = layout::gicr_regions().next() else {
        return 0;
    };
    // SAFETY: the first redistributor frame of the first region (QEMU
    // virt's GICR, or the device tree's first redistributor `reg` entry).
    unsafe { read64(gicr + GICR_TYPER) }
}

/// RD_base of PE `cpu`'s redistributor, once that PE has initialised.
pub fn rd_base_of(cpu: usize) -> Option<usize> {
    let b = RD_BASES.get(cpu)?.load(Ordering::Relaxed);
    (b != 0).then_some(b)
}

/// RD_base of the executing PE's redistributor.
pub fn rd_base() -> usize {
    RD_BASES[cpu_index()].load(Ordering::Relaxed)
}

/// This PE's affinity from `MPIDR_EL1`: Aff2:Aff1:Aff0 in bits [23:0] and
/// Aff3 at bit `aff3_at` (24 in `GICR_TYPER.Affinity_Value`, 32 in `GICD_IROUTER<n>`).
fn affinity(aff3_at: u32) -> u64 {
    let m = MPIDR_EL1.extract();
    m.read(MPIDR_EL1::Aff3) << aff3_at
        | m.read(MPIDR_EL1::Aff2) << 16
        | m.read(MPIDR_EL1::Aff1) << 8
        | m.read(MPIDR_EL1::Aff0)
}

/// Finds the redistributor whose `GICR_TYPER.Affinity_Value` matches this
/// PE's MPIDR (IHI 0069H 12.10.40), walking each region's frames until
/// `Last` (or the region's end, when its size is known), 64 frames at most.
fn find_rd() -> usize {
    let aff = affinity(24);
    let mut left = 64;
    for (region, size) in layout::gicr_regions() {
        let mut base = region;
        while left > 0 && (size == 0 || base < region + size) {
            left -= 1;
            // SAFETY: frames are walked from the region's start and stop at
            // the one marked Last or at the region's end.
            let typer = unsafe { read64(base + GICR_TYPER) };
            if typer >> 32 == aff {
                return base;
            }
            if typer & (1 << 4) != 0 {
                break;
            }
            // Two 64 KiB frames, four with GICv4 vLPI support (VLPIS, bit 1).
            base += if typer & 2 != 0 { 0x4_0000 } else { 0x2_0000 };
        }
    }
    panic!("no redistributor for MPIDR {:#x}", MPIDR_EL1.get());
}

fn wait_rwp() {
    // SAFETY: reading GICD_CTLR has no side effects.
    if !wait_until(100, || unsafe { read32(d(GICD_CTLR)) } & GICD_CTLR_RWP == 0) {
        panic!("GICD_CTLR.RWP stayed set for 100 ms");
    }
}

/// Waits (bounded) until the Redistributor whose `RD_base` is `rd` has
/// made a write to `GICR_ICENABLER0` or `GICR_CTLR` visible
/// (`GICR_CTLR.RWP`, bit 3).
fn wait_rwp_of(rd: usize) {
    // SAFETY: reading GICR_CTLR has no side effects.
    if !wait_until(100, || unsafe { read32(rd) } & (1 << 3) == 0) {
        panic!("GICR_CTLR.RWP stayed set for 100 ms");
    }
}

/// After a write to `offset` of `frame` (based at `base`): waits, bounded,
/// for the register-write-pending bit that tracks it, so that what follows
/// sees its effect. `GICD_CTLR.RWP` tracks writes to `GICD_CTLR` and the
/// disables of `GICD_ICENABLER<n>`; `GICR_CTLR.RWP` those of
/// `GICR_ICENABLER0` and `GICR_CTLR` (IHI 0069H GICD_CTLR, GICR_CTLR: until
/// RWP reads 0 their effects are not guaranteed to be visible).
pub(super) fn settle(frame: gic_case::regs::Frame, offset: usize, base: usize) {
    use gic_case::regs::Frame;
    match (frame, offset) {
        (Frame::Gicd, 0) | (Frame::Gicd, 0x180..=0x1fc) => wait_rwp(),
        (Frame::GicrRd, 0) => wait_rwp_of(base),
        (Frame::GicrSgi, 0x180) => wait_rwp_of(base - SGI_BASE),
        _ => {}
    }
}

pub(super) fn init_distributor() {
    // SAFETY: distributor registers of Table 12-25.
    unsafe {
        write32(d(GICD_CTLR), 0);
        wait_rwp();
        let lines = ((read32(d(GICD_TYPER)) & 0x1f) + 1) * 32;
        let lines = lines.min(1020);
        for intid in (32..lines).step_by(32) {
            let off = (intid / 8) as usize;
            write32(d(GICD_ICENABLER + off), u32::MAX);
            write32(d(GICD_ICPENDR + off), u32::MAX);
            write32(d(GICD_IGROUPR + off), u32::MAX);
        }
        for intid in 32..lines {
            write8(d(GICD_IPRIORITYR) + intid as usize, DEFAULT_PRIORITY);
            write64(d(GICD_IROUTER) + 8 * intid as usize, 0);
        }
        for intid in (32..lines).step_by(32) {
            write32(d(GICD_ISENABLER) + (intid / 8) as usize, u32::MAX);
        }
        // ARE first, then the group enables (12.9.4).
        write32(d(GICD_CTLR), 1 << 4);
        wait_rwp();
        write32(d(GICD_CTLR), (1 << 4) | 3);
        wait_rwp();
    }
}

pub(super) fn init_cpu() {
    let rd = find_rd();
    RD_BASES[cpu_index()].store(rd, Ordering::Relaxed);
    // SAFETY: this PE's redistributor frames and CPU interface registers.
    unsafe {
        // Wake the redistributor: clear ProcessorSleep, wait for ChildrenAsleep to clear.
        let waker = read32(rd + GICR_WAKER);
        write32(rd + GICR_WAKER, waker & !(1 << 1));
        if !wait_until(100, || read32(rd + GICR_WAKER) & (1 << 2) == 0) {
            panic!("GICR_WAKER.ChildrenAsleep stayed set");
        }
        write32(rd + GICR_ICENABLER0, u32::MAX);
        write32(rd + GICR_ICPENDR0, u32::MAX);
        write32(rd + GICR_ICACTIVER0, u32::MAX);
        write32(rd + GICR_IGROUPR0, u32::MAX);
        for intid in 0..32 {
            write8(rd + GICR_IPRIORITYR + intid, DEFAULT_PRIORITY);
        }
        write32(rd + GICR_ISENABLER0, !(1 << MAINTENANCE_INTID));
        if HYP_VIEW {
            // Lower ELs may use the system registers (Enable); no IRQ/FIQ bypass.
            ICC_SRE_EL2.write(
                ICC_SRE_EL2::SRE::SET + ICC_SRE_EL2::DFB::SET + ICC_SRE_EL2::DIB::SET + ICC_SRE_EL2::ENABLE::SET,
            );
            barrier::isb(barrier::SY);
        } else {
            // EL1 without EL2 and EL3: ICC_SRE_EL1 enables the system
            // registers (SRE, RAO/WI where only they exist) and disables
            // the IRQ/FIQ bypass (DIB, DFB); the accessor ends with an ISB.
            sysreg::set_sre_el1(0b111);
            if sysreg::sre_el1() & 1 == 0 {
                panic!("ICC_SRE_EL1.SRE reads 0: the GICv3 system registers cannot be enabled at EL1");
            }
        }
        sysreg::set_pmr(0xff);
        sysreg::set_bpr1(0);
        sysreg::set_ctlr(1 << 1); // EOImode = 1
        if super::group0_at_boot() {
            sysreg::set_igrpen0(1);
        }
        sysreg::set_igrpen1(1);
    }
}

fn reg_bit(intid: u32, dist_reg: usize, rd_reg: usize) -> (usize, u32) {
    if intid < 32 {
        (rd_base() + rd_reg, 1 << intid)
    } else {
        (d(dist_reg + (intid / 32) as usize * 4), 1 << (intid % 32))
    }
}

pub(super) fn phys_pend(intid: u32) {
    if intid >= 32 && !super::is_routed(intid) {
        let aff = affinity(32);
        // SAFETY: GICD_IROUTER<n> of an SPI: route it to this PE.
        unsafe { write64(d(GICD_IROUTER) + 8 * intid as usize, aff) };
    }
    let (a, b) = reg_bit(intid, GICD_ISPENDR, GICR_ISPENDR0);
    // SAFETY: set-pending register for an in-range INTID.
    unsafe { write32(a, b) }
}

/// Sends SGI `intid` with `ICC_SGI1R_EL1` (group 1) or `ICC_SGI0R_EL1`
/// (group 0), IHI 0069H 12.11: TargetList \[15:0\] (Aff0 values within the
/// sender's Aff3.Aff2.Aff1, which on QEMU `virt` is every PE of a case),
/// Aff1 \[23:16\], INTID \[27:24\], Aff2 \[39:32\], IRM \[40\] (1: every PE
/// but the sender), Aff3 \[55:48\]; RS 0.
pub(super) fn sgi(intid: u32, targets: SgiTargets, g: Group) {
    let m = MPIDR_EL1.extract();
    let aff = m.read(MPIDR_EL1::Aff3) << 48 | m.read(MPIDR_EL1::Aff2) << 32 | m.read(MPIDR_EL1::Aff1) << 16;
    let v = (intid as u64 & 0xf) << 24
        | match targets {
            SgiTargets::List(mask) => aff | mask as u64,
            SgiTargets::Others => 1 << 40,
            SgiTargets::SelfOnly => aff | 1 << m.read(MPIDR_EL1::Aff0),
        };
    // SAFETY: an SGI generation register write at EL2, the SGI the case asked for.
    unsafe {
        match g {
            Group::G0 => sysreg::write(SysReg::IccSgi0rEl1Phys, v),
            Group::G1 => sysreg::write(SysReg::IccSgi1rEl1Phys, v),
        }
    }
}

/// Routes SPI `intid` (`GICD_IROUTER<n>`, IHI 0069H 12.9.22): to the PE
/// whose Aff0 is `cpu` (Interrupt_Routing_Mode 0, the other affinity levels
/// the executing PE's), or with [`ANY_PE`] to any participating PE
/// (Interrupt_Routing_Mode, bit 31, = 1).
pub(super) fn route(intid: u32, cpu: u32) {
    let v = if cpu == ANY_PE { 1 << 31 } else { (affinity(32) & !0xff) | cpu as u64 };
    // SAFETY: GICD_IROUTER<n> of an SPI.
    unsafe { write64(d(GICD_IROUTER) + 8 * intid as usize, v) };
}

/// Whether SGI/PPI `intid` is pending or active in PE `cpu`'s Redistributor
/// (`GICR_ISPENDR0`/`GICR_ISACTIVER0` of its SGI_base frame, which any PE may
/// read); `None` if that PE has not come up.
pub(super) fn phys_state_on(intid: u32, s: PhysState, cpu: usize) -> Option<bool> {
    let rd = rd_base_of(cpu)?;
    let off = match s {
        PhysState::Pending => GICR_ISPENDR0,
        PhysState::Active => GICR_ISACTIVER0,
    };
    // SAFETY: reading a set-pending/set-active register has no side effects.
    Some(unsafe { read32(rd + off) } & (1 << intid) != 0)
}

pub(super) fn phys_unpend(intid: u32) {
    let (a, b) = reg_bit(intid, GICD_ICPENDR, GICR_ICPENDR0);
    // SAFETY: clear-pending register for an in-range INTID.
    unsafe { write32(a, b) }
}

pub(super) fn phys_ack(g: Group) -> u32 {
    // SAFETY: acknowledging is what the op asks for; ICC is enabled at EL2.
    (unsafe {
        match g {
            Group::G0 => sysreg::iar0(),
            Group::G1 => sysreg::iar1(),
        }
    } & 0xff_ffff) as u32
}

pub(super) fn phys_hppir(g: Group) -> u32 {
    // SAFETY: reading ICC_HPPIR<g>_EL1 has no side effects.
    (unsafe {
        match g {
            Group::G0 => sysreg::hppir0(),
            Group::G1 => sysreg::hppir1(),
        }
    } & 0xff_ffff) as u32
}

pub(super) fn phys_eoi(intid: u32, g: Group) {
    // SAFETY: the EOI the case asked for.
    unsafe {
        match g {
            Group::G0 => sysreg::eoir0(intid as u64),
            Group::G1 => sysreg::eoir1(intid as u64),
        }
    }
}

pub(super) fn phys_dir(intid: u32) {
    // SAFETY: the deactivation the case asked for.
    unsafe { sysreg::dir(intid as u64) }
}

pub(super) fn phys_prio(intid: u32, prio: u8) {
    let a = if intid < 32 { rd_base() + GICR_IPRIORITYR + intid as usize } else { d(GICD_IPRIORITYR) + intid as usize };
    // SAFETY: IPRIORITYR is byte-accessible.
    unsafe { write8(a, prio) }
}

pub(super) fn phys_enable(intid: u32, on: bool) {
    let (a, b) = if on {
        reg_bit(intid, GICD_ISENABLER, GICR_ISENABLER0)
    } else {
        reg_bit(intid, GICD_ICENABLER, GICR_ICENABLER0)
    };
    // SAFETY: set/clear-enable register for an in-range INTID.
    unsafe { write32(a, b) }
    if !on {
        // A disable is seen only once RWP clears (GICD_CTLR, GICR_CTLR).
        if intid < 32 {
            wait_rwp_of(rd_base());
        } else {
            wait_rwp();
        }
    }
}

pub(super) fn phys_state(intid: u32, s: PhysState) -> bool {
    let (a, b) = match s {
        PhysState::Pending => reg_bit(intid, GICD_ISPENDR, GICR_ISPENDR0),
        PhysState::Active => reg_bit(intid, GICD_ISACTIVER, GICR_ISACTIVER0),
    };
    // SAFETY: reading set-pending/set-active registers has no side effects.
    unsafe { read32(a) & b != 0 }
}

pub(super) fn swap_phys_pmr(pmr: u8) -> u8 {
    // SAFETY: ICC_PMR_EL1 at EL2 is the physical priority mask.
    unsafe {
        let old = sysreg::pmr() as u8;
        sysreg::set_pmr(pmr as u64);
        old
    }
}

pub(super) fn lr_read_raw(n: u32) -> u64 {
    // SAFETY: n < ListRegs + 1 (checked by the interpreter).
    unsafe { sysreg::read(ich_lr(n)) }
}

pub(super) fn lr_write_raw(n: u32, v: u64) {
    // SAFETY: n < ListRegs + 1 (checked by the interpreter).
    unsafe { sysreg::write(ich_lr(n), v) }
}

/// How many ICH_AP0R<n>_EL2 (and ICH_AP1R<n>_EL2) are implemented: one
/// with 5 preemption bits, two with 6, four with 7 (ICH_VTR_EL2.PREbits;
/// IHI 0069H 12.4.1, 12.4.2).
pub fn apr_count() -> usize {
    let pre = ICH_VTR_EL2::PREbits.read(vif_read(VifReg::Vtr)) as usize + 1;
    1 << pre.clamp(5, 7).saturating_sub(5)
}

/// `ICH_AP0R<n>_EL2` (group 0) or `ICH_AP1R<n>_EL2` (group 1), `n` < 4.
fn apr_reg(group: u32, n: usize) -> SysReg {
    use SysReg::*;
    let regs =
        [[IchAp0r0El2, IchAp0r1El2, IchAp0r2El2, IchAp0r3El2], [IchAp1r0El2, IchAp1r1El2, IchAp1r2El2, IchAp1r3El2]];
    regs[(group & 1) as usize][n & 3]
}

/// The whole 64 bits of `ICH_AP0R<n>_EL2` (group 0) or `ICH_AP1R<n>_EL2`
/// (group 1), `n` < [`apr_count`].
pub fn apr_read(group: u32, n: usize) -> u64 {
    // SAFETY: the register exists at EL2 for n < apr_count() (IHI 0069H 12.4.1).
    unsafe { sysreg::read(apr_reg(group, n)) }
}

pub(super) fn vif_read(r: VifReg) -> u64 {
    // SAFETY: ICH_* registers exist at EL2 on GICv3 (IHI 0069H 12.4).
    unsafe {
        match r {
            VifReg::Hcr => ICH_HCR_EL2.get(),
            VifReg::Vmcr => sysreg::read(SysReg::IchVmcrEl2),
            VifReg::Misr => sysreg::read(SysReg::IchMisrEl2),
            VifReg::Eisr => sysreg::read(SysReg::IchEisrEl2),
            VifReg::Elrsr => sysreg::read(SysReg::IchElrsrEl2),
            VifReg::Apr => {
                sysreg::read(SysReg::IchAp0r0El2) & 0xffff_ffff
                    | (sysreg::read(SysReg::IchAp1r0El2) & 0xffff_ffff) << 32
            }
            VifReg::Vtr => ICH_VTR_EL2.get(),
        }
    }
}

pub(super) fn vif_write(r: VifReg, v: u64) {
    // SAFETY: writable ICH_* registers at EL2.
    unsafe {
        match r {
            VifReg::Hcr => {
                ICH_HCR_EL2.set(v);
                barrier::isb(barrier::SY);
            }
            VifReg::Vmcr => sysreg::write(SysReg::IchVmcrEl2, v),
            VifReg::Apr => {
                sysreg::write(SysReg::IchAp0r0El2, v & 0xffff_ffff);
                sysreg::write(SysReg::IchAp1r0El2, v >> 32);
                // The packed form carries ICH_AP*R0_EL2 only; the others
                // (6 or 7 preemption bits) are cleared.
                for n in 1..apr_count() {
                    sysreg::write(apr_reg(0, n), 0);
                    sysreg::write(apr_reg(1, n), 0);
                }
            }
            _ => {}
        }
    }
}
