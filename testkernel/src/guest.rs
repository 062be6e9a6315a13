//! The guest: code that runs at EL1 as the vCPU, with `HCR_EL2.IMO/FMO`
//! set so that its GIC accesses reach the virtual CPU interface (ICV_*
//! system registers on GICv3/v4, IHI 0069H 12.3; the GICV frame on GICv2,
//! IHI 0048B 5.5).
//!
//! Each guest op is one trip: EL2 enters [`guest_entry`] with a pointer to
//! the op, the guest performs it and leaves with `HVC #0` carrying the
//! result. Virtual IRQs/FIQs are taken through the guest's own vector
//! table (`platform::exceptions`), which also exits with `HVC`.

use core::arch::asm;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ReadWriteable, Writeable, DAIF, HCR_EL2};
use gic_case::op::{Group, GuestOp};
use gic_case::regs::RegId;
use gic_case::GicVersion;

use crate::gic::layout;
use crate::gic::mmio::{read32, read64, write32, write64};
use crate::gic::{self, sysreg};
use crate::platform::exceptions::{self, run_guest, GuestExit, EXIT_DONE};
use crate::platform::timer::Deadline;

// GICV frame, IHI 0048B Table 5-2.
const GICV_CTLR: usize = 0x00;
const GICV_PMR: usize = 0x04;
const GICV_BPR: usize = 0x08;
const GICV_IAR: usize = 0x0c;
const GICV_EOIR: usize = 0x10;
const GICV_RPR: usize = 0x14;
const GICV_HPPIR: usize = 0x18;
const GICV_ABPR: usize = 0x1c;
const GICV_AIAR: usize = 0x20;
const GICV_AEOIR: usize = 0x24;
const GICV_AHPPIR: usize = 0x28;
const GICV_DIR: usize = 0x1000;

/// Value a `WaitVirq` returns when no virtual interrupt came (the guest
/// then leaves with a normal exit, not an IRQ/FIQ one).
const NO_VIRQ: u64 = u64::MAX;

/// Runs `op` in the guest at EL1 and returns how it left.
pub fn run(op: &GuestOp) -> GuestExit {
    // Physical interrupts would be taken to EL2 while the guest runs (IMO=1
    // routes them there whatever EL1's PSTATE says); mask them with the
    // physical PMR so a guest step is never interrupted. Virtual interrupt
    // signalling does not depend on the physical PMR.
    let old_pmr = gic::swap_phys_pmr(0);
    let exit = run_guest(guest_entry, op as *const GuestOp as u64, gic::version() as u64, 0);
    gic::swap_phys_pmr(old_pmr);
    exit
}

fn hvc_exit(value: u64) -> ! {
    // SAFETY: HVC #0 leaves the guest; EL2's handler resumes the interpreter
    // and never returns here.
    unsafe { asm!("hvc #0", in("x0") EXIT_DONE, in("x1") value, options(noreturn, nostack)) }
}

fn v2_read(off: usize) -> u64 {
    // SAFETY: a GICV register of Table 5-2; the side effect (e.g. acknowledge) is the op's.
    unsafe { read32(layout::gicv() + off) as u64 }
}

fn v2_write(off: usize, v: u64) {
    // SAFETY: a GICV register of Table 5-2; the write is the op's.
    unsafe { write32(layout::gicv() + off, v as u32) }
}

extern "C" fn guest_entry(op: u64, version: u64, _unused: u64) -> ! {
    // SAFETY: EL2 passed a pointer to a live GuestOp on its stack, which
    // stays untouched while the guest runs (same physical memory, MMU off).
    let op = unsafe { *(op as *const GuestOp) };
    let v2 = version == GicVersion::V2 as u64;
    let value = if v2 { v2_op(op) } else { v3_op(op) };
    hvc_exit(value)
}

/// Unmasks IRQ and FIQ at EL1 for at most `ms`: the guest vectors turn a
/// virtual interrupt into an HVC exit, so the loop is simply abandoned.
fn wait_virq(ms: u32) -> u64 {
    let d = Deadline::after_ms(ms);
    DAIF.modify(DAIF::I::Unmasked + DAIF::F::Unmasked);
    while !d.expired() {
        core::hint::spin_loop();
    }
    DAIF.modify(DAIF::I::Masked + DAIF::F::Masked);
    NO_VIRQ
}

fn v2_op(op: GuestOp) -> u64 {
    match op {
        GuestOp::Ack(Group::G0) => v2_read(GICV_IAR),
        GuestOp::Ack(Group::G1) => v2_read(GICV_AIAR),
        GuestOp::Eoi(i, Group::G0) => {
            v2_write(GICV_EOIR, i as u64);
            0
        }
        GuestOp::Eoi(i, Group::G1) => {
            v2_write(GICV_AEOIR, i as u64);
            0
        }
        GuestOp::Dir(i) => {
            v2_write(GICV_DIR, i as u64);
            0
        }
        GuestOp::ReadRpr => v2_read(GICV_RPR),
        GuestOp::ReadHppir(Group::G0) => v2_read(GICV_HPPIR),
        GuestOp::ReadHppir(Group::G1) => v2_read(GICV_AHPPIR),
        GuestOp::SetPmr(p) => {
            v2_write(GICV_PMR, p as u64);
            0
        }
        GuestOp::ReadPmr => v2_read(GICV_PMR),
        GuestOp::SetBpr(Group::G0, v) => {
            v2_write(GICV_BPR, v as u64);
            0
        }
        GuestOp::SetBpr(Group::G1, v) => {
            v2_write(GICV_ABPR, v as u64);
            0
        }
        GuestOp::SetEoiMode(on) => {
            let c = v2_read(GICV_CTLR) & !(1 << 9);
            v2_write(GICV_CTLR, c | ((on as u64) << 9));
            0
        }
        GuestOp::SetGroupEnable(g, on) => {
            let b = 1u64 << (g as u32);
            let c = v2_read(GICV_CTLR) & !b;
            v2_write(GICV_CTLR, c | if on { b } else { 0 });
            0
        }
        GuestOp::WaitVirq(ms) => wait_virq(ms),
        GuestOp::ReadReg(r) => reg_read(r),
        GuestOp::WriteReg(r, v) => {
            reg_write(r, v);
            0
        }
    }
}

fn v3_op(op: GuestOp) -> u64 {
    // SAFETY: at EL1 with HCR_EL2.IMO/FMO set and
    // ICC_SRE_EL2.Enable = 1 these encodings are the ICV_* registers of the
    // vCPU (IHI 0069H 12.3); the side effects are exactly the op's.
    unsafe {
        match op {
            GuestOp::Ack(Group::G0) => sysreg::iar0() & 0xff_ffff,
            GuestOp::Ack(Group::G1) => sysreg::iar1() & 0xff_ffff,
            GuestOp::Eoi(i, Group::G0) => {
                sysreg::eoir0(i as u64);
                0
            }
            GuestOp::Eoi(i, Group::G1) => {
                sysreg::eoir1(i as u64);
                0
            }
            GuestOp::Dir(i) => {
                sysreg::dir(i as u64);
                0
            }
            GuestOp::ReadRpr => sysreg::rpr(),
            GuestOp::ReadHppir(Group::G0) => sysreg::hppir0() & 0xff_ffff,
            GuestOp::ReadHppir(Group::G1) => sysreg::hppir1() & 0xff_ffff,
            GuestOp::SetPmr(p) => {
                sysreg::set_pmr(p as u64);
                0
            }
            GuestOp::ReadPmr => sysreg::pmr(),
            GuestOp::SetBpr(Group::G0, v) => {
                sysreg::set_bpr0(v as u64);
                0
            }
            GuestOp::SetBpr(Group::G1, v) => {
                sysreg::set_bpr1(v as u64);
                0
            }
            GuestOp::SetEoiMode(on) => {
                let c = sysreg::ctlr() & !(1 << 1);
                sysreg::set_ctlr(c | ((on as u64) << 1));
                0
            }
            GuestOp::SetGroupEnable(Group::G0, on) => {
                sysreg::set_igrpen0(on as u64);
                0
            }
            GuestOp::SetGroupEnable(Group::G1, on) => {
                sysreg::set_igrpen1(on as u64);
                0
            }
            GuestOp::WaitVirq(ms) => wait_virq(ms),
            GuestOp::ReadReg(r) => reg_read(r),
            GuestOp::WriteReg(r, v) => {
                reg_write(r, v);
                0
            }
        }
    }
}

fn reg_read(r: RegId) -> u64 {
    match r {
        // SAFETY: the runner only sends EL1-side registers here (checked when compiling).
        RegId::Sys(s) => unsafe { sysreg::read(s) },
        // SAFETY: GICV frame offsets from the spec's map, checked by the runner.
        RegId::Mmio { offset, width, .. } => unsafe {
            if width == 64 {
                read64(layout::gicv() + offset as usize)
            } else {
                read32(layout::gicv() + offset as usize) as u64
            }
        },
    }
}

fn reg_write(r: RegId, v: u64) {
    match r {
        // SAFETY: as reg_read.
        RegId::Sys(s) => unsafe { sysreg::write(s, v) },
        // SAFETY: as reg_read.
        RegId::Mmio { offset, width, .. } => unsafe {
            if width == 64 {
                write64(layout::gicv() + offset as usize, v)
            } else {
                write32(layout::gicv() + offset as usize, v as u32)
            }
        },
    }
}

/// Prepares this PE's EL1 for the guest and sets `HCR_EL2`: RW (EL1 is
/// AArch64), AMO, IMO, FMO (interrupts route to EL2 and the guest sees the
/// virtual CPU interface). No stage 2 (VM = 0): the guest sees physical
/// memory. This configures how EL1 runs; nothing runs at EL1 until [`run`].
pub fn init() {
    exceptions::init_guest_el1();
    HCR_EL2.write(
        HCR_EL2::RW::EL1IsAarch64 + HCR_EL2::AMO::SET + HCR_EL2::IMO::EnableVirtualIRQ + HCR_EL2::FMO::EnableVirtualFIQ,
    );
    barrier::isb(barrier::SY);
}
