//! GICv2 with the Virtualization Extensions (IHI 0048B).
//!
//! QEMU `virt` instantiates it without the Security Extensions, so the
//! distributor and CPU interface have one (Secure-layout) banked view:
//! `GICC_CTLR` bit 9 is EOImode (4.4.1). Physical interrupts stay in Group 0
//! and are acknowledged through `GICC_IAR` with `AckCtl` set.

use core::sync::atomic::{AtomicU8, Ordering};

use gic_case::op::{PhysState, SgiTargets};
use gic_case::vif::VifReg;

use super::layout;
use super::mmio::{read32, write32, write8};
use super::{DEFAULT_PRIORITY, MAINTENANCE_INTID};
use crate::platform::{cpu_index, MAX_CPUS};

/// The source CPUID (`GICC_IAR.CPUID`) of the SGI each PE last acknowledged,
/// per SGI number: its EOI and deactivation must carry it (IHI 0048B 4.4.5).
static SGI_SOURCE: [[AtomicU8; 16]; MAX_CPUS] = [const { [const { AtomicU8::new(0) }; 16] }; MAX_CPUS];

// Distributor, IHI 0048B Table 4-1.
const GICD_CTLR: usize = 0x000;
const GICD_TYPER: usize = 0x004;
const GICD_ISENABLER: usize = 0x100;
const GICD_ICENABLER: usize = 0x180;
const GICD_ISPENDR: usize = 0x200;
const GICD_ICPENDR: usize = 0x280;
const GICD_ISACTIVER: usize = 0x300;
const GICD_IPRIORITYR: usize = 0x400;
const GICD_ITARGETSR: usize = 0x800;
const GICD_SGIR: usize = 0xf00;
const GICD_CPENDSGIR: usize = 0xf10;
// CPU interface, Table 4-2.
const GICC_CTLR: usize = 0x00;
const GICC_PMR: usize = 0x04;
const GICC_BPR: usize = 0x08;
const GICC_IAR: usize = 0x0c;
const GICC_EOIR: usize = 0x10;
const GICC_HPPIR: usize = 0x18;
const GICC_DIR: usize = 0x1000;
// Virtual interface control, Table 5-1.
const GICH_HCR: usize = 0x00;
const GICH_VTR: usize = 0x04;
const GICH_VMCR: usize = 0x08;
const GICH_MISR: usize = 0x10;
const GICH_EISR0: usize = 0x20;
const GICH_EISR1: usize = 0x24;
const GICH_ELRSR0: usize = 0x30;
const GICH_ELRSR1: usize = 0x34;
const GICH_APR: usize = 0xf0;
const GICH_LR0: usize = 0x100;

/// GICC_CTLR: EnableGrp0 | EnableGrp1 | AckCtl | EOImode (IHI 0048B 4.4.1).
const GICC_CTLR_VALUE: u32 = 1 | (1 << 1) | (1 << 2) | (1 << 9);

fn d(off: usize) -> usize {
    layout::gicd() + off
}

fn c(off: usize) -> usize {
    layout::gicc() + off
}

fn h(off: usize) -> usize {
    layout::gich() + off
}

fn bit(intid: u32) -> (usize, u32) {
    ((intid / 32) as usize * 4, 1 << (intid % 32))
}

pub(super) fn init_distributor() {
    // SAFETY: the offsets are GICv2 distributor registers (Table 4-1).
    unsafe {
        write32(d(GICD_CTLR), 0);
        let lines = ((read32(d(GICD_TYPER)) & 0x1f) + 1) * 32;
        for intid in (32..lines).step_by(32) {
            write32(d(GICD_ICENABLER) + (intid / 8) as usize, u32::MAX);
            write32(d(GICD_ICPENDR) + (intid / 8) as usize, u32::MAX);
        }
        for intid in 32..lines {
            write8(d(GICD_IPRIORITYR) + intid as usize, DEFAULT_PRIORITY);
            write8(d(GICD_ITARGETSR) + intid as usize, 1);
        }
        for intid in (32..lines).step_by(32) {
            write32(d(GICD_ISENABLER) + (intid / 8) as usize, u32::MAX);
        }
        write32(d(GICD_CTLR), 3);
    }
}

pub(super) fn init_cpu() {
    // SAFETY: banked SGI/PPI registers and the CPU interface of the executing PE.
    unsafe {
        write32(d(GICD_ICENABLER), u32::MAX);
        write32(d(GICD_ICPENDR), u32::MAX);
        for intid in 0..32 {
            write8(d(GICD_IPRIORITYR) + intid, DEFAULT_PRIORITY);
        }
        write32(d(GICD_ISENABLER), !(1 << MAINTENANCE_INTID));
        write32(c(GICC_PMR), 0xff);
        write32(c(GICC_BPR), 0);
        write32(c(GICC_CTLR), GICC_CTLR_VALUE);
    }
}

pub(super) fn phys_pend(intid: u32) {
    // SAFETY: GICD_SGIR / GICD_ITARGETSR / GICD_ISPENDR for an in-range INTID.
    unsafe {
        if intid < 16 {
            // TargetListFilter = 0b10: this PE only (4.3.15).
            write32(d(GICD_SGIR), (0b10 << 24) | intid);
        } else {
            if intid >= 32 && !super::is_routed(intid) {
                write8(d(GICD_ITARGETSR) + intid as usize, 1 << cpu_index());
            }
            let (off, b) = bit(intid);
            write32(d(GICD_ISPENDR) + off, b);
        }
    }
}

pub(super) fn phys_unpend(intid: u32) {
    // SAFETY: GICD_CPENDSGIR / GICD_ICPENDR for an in-range INTID.
    unsafe {
        if intid < 16 {
            write8(d(GICD_CPENDSGIR) + intid as usize, 0xff);
        } else {
            let (off, b) = bit(intid);
            write32(d(GICD_ICPENDR) + off, b);
        }
    }
}

/// Acknowledges (`GICC_IAR`); returns the INTID and, for an SGI, its source
/// CPUID (bits \[12:10\], IHI 0048B 4.4.4), which is kept for its EOI and DIR.
pub(super) fn phys_ack() -> (u32, Option<u32>) {
    // SAFETY: reading GICC_IAR acknowledges, which is what the op asks for.
    let iar = unsafe { read32(c(GICC_IAR)) };
    let intid = iar & 0x3ff;
    if intid < 16 {
        let src = (iar >> 10) & 7;
        SGI_SOURCE[cpu_index()][intid as usize].store(src as u8, Ordering::Relaxed);
        (intid, Some(src))
    } else {
        (intid, None)
    }
}

/// Sends SGI `intid` through `GICD_SGIR` (IHI 0048B 4.3.15): TargetListFilter
/// \[25:24\] (0b00 the CPUTargetList \[23:16\], 0b01 all but the sender,
/// 0b10 the sender only), SGIINTID \[3:0\]; NSATT 0.
pub(super) fn sgi(intid: u32, targets: SgiTargets) {
    let v = match targets {
        SgiTargets::List(m) => ((m as u32) << 16) | intid,
        SgiTargets::Others => (0b01 << 24) | intid,
        SgiTargets::SelfOnly => (0b10 << 24) | intid,
    };
    // SAFETY: GICD_SGIR write, the SGI the case asked for.
    unsafe { write32(d(GICD_SGIR), v) }
}

/// Routes SPI `intid` to PE `cpu` alone: `GICD_ITARGETSR<n>` byte with that
/// CPU's bit (IHI 0048B 4.3.12).
pub(super) fn route(intid: u32, cpu: u32) {
    // SAFETY: GICD_ITARGETSR is byte-accessible; intid is an SPI.
    unsafe { write8(d(GICD_ITARGETSR) + intid as usize, 1 << cpu) }
}

pub(super) fn phys_hppir() -> u32 {
    // SAFETY: reading GICC_HPPIR has no side effects.
    unsafe { read32(c(GICC_HPPIR)) & 0x3ff }
}

fn with_source(intid: u32) -> u32 {
    // An SGI's EOIR/DIR value carries the source CPUID its acknowledge returned.
    if intid < 16 {
        intid | ((SGI_SOURCE[cpu_index()][intid as usize].load(Ordering::Relaxed) as u32) << 10)
    } else {
        intid
    }
}

pub(super) fn phys_eoi(intid: u32) {
    // SAFETY: GICC_EOIR write; the case chose the INTID.
    unsafe { write32(c(GICC_EOIR), with_source(intid)) }
}

pub(super) fn phys_dir(intid: u32) {
    // SAFETY: GICC_DIR write; the case chose the INTID.
    unsafe { write32(c(GICC_DIR), with_source(intid)) }
}

pub(super) fn phys_prio(intid: u32, prio: u8) {
    // SAFETY: GICD_IPRIORITYR is byte-accessible (4.3.11).
    unsafe { write8(d(GICD_IPRIORITYR) + intid as usize, prio) }
}

pub(super) fn phys_enable(intid: u32, on: bool) {
    let (off, b) = bit(intid);
    let reg = if on { GICD_ISENABLER } else { GICD_ICENABLER };
    // SAFETY: set/clear-enable register for an in-range INTID.
    unsafe { write32(d(reg) + off, b) }
}

pub(super) fn phys_state(intid: u32, s: PhysState) -> bool {
    let (off, b) = bit(intid);
    let reg = match s {
        PhysState::Pending => GICD_ISPENDR,
        PhysState::Active => GICD_ISACTIVER,
    };
    // SAFETY: reading a set-pending/set-active register has no side effects.
    unsafe { read32(d(reg) + off) & b != 0 }
}

pub(super) fn swap_phys_pmr(pmr: u8) -> u8 {
    // SAFETY: GICC_PMR of the executing PE.
    unsafe {
        let old = read32(c(GICC_PMR)) as u8;
        write32(c(GICC_PMR), pmr as u32);
        old
    }
}

pub(super) fn lr_read_raw(n: u32) -> u32 {
    // SAFETY: GICH_LR<n>; n is checked against GICH_VTR.ListRegs by the interpreter.
    unsafe { read32(h(GICH_LR0 + 4 * n as usize)) }
}

pub(super) fn lr_write_raw(n: u32, v: u32) {
    // SAFETY: as lr_read_raw.
    unsafe { write32(h(GICH_LR0 + 4 * n as usize), v) }
}

pub(super) fn vif_read(r: VifReg) -> u64 {
    // SAFETY: GICH registers of the executing PE's virtual interface (Table 5-1).
    unsafe {
        match r {
            VifReg::Hcr => read32(h(GICH_HCR)) as u64,
            VifReg::Vmcr => read32(h(GICH_VMCR)) as u64,
            VifReg::Misr => read32(h(GICH_MISR)) as u64,
            VifReg::Eisr => read32(h(GICH_EISR0)) as u64 | (read32(h(GICH_EISR1)) as u64) << 32,
            VifReg::Elrsr => read32(h(GICH_ELRSR0)) as u64 | (read32(h(GICH_ELRSR1)) as u64) << 32,
            VifReg::Apr => read32(h(GICH_APR)) as u64,
            VifReg::Vtr => read32(h(GICH_VTR)) as u64,
        }
    }
}

pub(super) fn vif_write(r: VifReg, v: u64) {
    let off = match r {
        VifReg::Hcr => GICH_HCR,
        VifReg::Vmcr => GICH_VMCR,
        VifReg::Apr => GICH_APR,
        _ => return,
    };
    // SAFETY: writable GICH registers (Table 5-1); the VMCR layout matches, see gic_case::vif.
    unsafe { write32(h(off), v as u32) }
}
