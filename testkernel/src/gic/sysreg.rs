//! GICv3 CPU interface system registers by spec name, generated from the
//! one table in `gic_case::for_each_sysreg!` so names and encodings cannot
//! drift apart.
//!
//! Architectural registers that aarch64-cpu provides with typed fields are
//! accessed through it everywhere else (`HCR_EL2`, `ESR_EL2`, the timers,
//! `ICC_SRE_EL2`, `ICH_HCR_EL2`, `ICH_VTR_EL2`, …). This module keeps only:
//! - [`read`]/[`write`] by [`SysReg`]: the case language's `read`/`write
//!   <REG>` picks the register at run time, so it needs one `MRS`/`MSR` per
//!   table entry whatever crate provides the register;
//! - the same path for the GIC registers aarch64-cpu 11 exposes only raw
//!   (`get`/`set` without fields): `ICH_LR<n>_EL2` (through [`ich_lr`]),
//!   `ICH_VMCR_EL2`, `ICH_MISR_EL2`, `ICH_AP0R<n>_EL2`, `ICH_AP1R<n>_EL2`;
//!   the suite's own shared layouts (`gic_case::lr`, `gic_case::vif`) decode them;
//! - hand-written accessors for the registers it does not have at all
//!   (`ICC_IAR<g>_EL1`, `ICC_EOIR<g>_EL1`, `ICC_DIR_EL1`, `ICC_HPPIR<g>_EL1`,
//!   `ICC_RPR_EL1`, `ICC_PMR_EL1`, `ICC_BPR<g>_EL1`, `ICC_IGRPEN<g>_EL1`,
//!   `ICC_SRE_EL1`, `ICH_EISR_EL2`, `ICH_ELRSR_EL2`) or has read-only without the fields the
//!   kernel uses (`ICC_CTLR_EL1`: only `ExtRange`, no write, no `EOImode`).
//!
//! At EL1 with `HCR_EL2.IMO`/`FMO` set the same `ICC_*` encodings reach the
//! `ICV_*` registers, which is how the guest uses these accessors. In guest
//! mode (EL1 with no EL2 implemented) they are the physical `ICC_*_EL1`
//! registers, enabled with `ICC_SRE_EL1` ([`set_sre_el1`]).
//!
//! Every accessor moves its value through `x0`: when a guest access traps to
//! EL2 (`ESR_EL2.EC` 0x18), the trap handler finds the transfer register
//! (`ISS.Rt`) among the registers the exception entry saved (x0-x18).

use core::arch::asm;

use gic_case::regs::SysReg;

macro_rules! gen_access {
    ($(($v:ident, $name:literal, $enc:literal, $side:ident, $acc:ident)),* $(,)?) => {
        /// Reads system register `r` at the current EL.
        ///
        /// # Safety
        /// The register must exist (GICv3 CPU interface enabled with
        /// `ICC_SRE_ELx.SRE` = 1) and be readable at the current EL.
        #[inline(never)] // one copy of the whole table, not one per caller
        pub unsafe fn read(r: SysReg) -> u64 {
            let v: u64;
            match r {
                $(SysReg::$v => {
                    // SAFETY: the caller guarantees the register is accessible.
                    unsafe { asm!(concat!("mrs x0, ", $enc), out("x0") v, options(nomem, nostack)) }
                })*
            }
            v
        }

        /// Writes system register `r` at the current EL, then `ISB`.
        ///
        /// # Safety
        /// As [`read`], and the write must be one the caller means to make.
        #[inline(never)] // one copy of the whole table, not one per caller
        pub unsafe fn write(r: SysReg, v: u64) {
            match r {
                $(SysReg::$v => {
                    // SAFETY: the caller guarantees the register is accessible.
                    unsafe { asm!(concat!("msr ", $enc, ", x0"), "isb", in("x0") v, options(nostack)) }
                })*
            }
        }
    };
}
gic_case::for_each_sysreg!(gen_access);

/// `ICH_LR<n>_EL2` for `n` in 0..16.
pub fn ich_lr(n: u32) -> SysReg {
    use SysReg::*;
    [
        IchLr0El2, IchLr1El2, IchLr2El2, IchLr3El2, IchLr4El2, IchLr5El2, IchLr6El2, IchLr7El2, IchLr8El2, IchLr9El2,
        IchLr10El2, IchLr11El2, IchLr12El2, IchLr13El2, IchLr14El2, IchLr15El2,
    ][n as usize & 15]
}

/// Read accessor for a register the table does not carry (acknowledge and
/// other registers whose access has side effects).
macro_rules! sysreg_read {
    ($(#[$m:meta])* $rd:ident, $enc:literal) => {
        $(#[$m])*
        ///
        /// # Safety
        /// The GICv3 CPU interface must be enabled for the current EL.
        pub unsafe fn $rd() -> u64 {
            let v: u64;
            // SAFETY: the caller guarantees the register is accessible.
            unsafe { asm!(concat!("mrs x0, ", $enc), out("x0") v, options(nomem, nostack)) };
            v
        }
    };
}

/// Write accessor (followed by `ISB`) for a register the table does not carry.
macro_rules! sysreg_write {
    ($(#[$m:meta])* $wr:ident, $enc:literal) => {
        $(#[$m])*
        ///
        /// # Safety
        /// The GICv3 CPU interface must be enabled for the current EL.
        pub unsafe fn $wr(v: u64) {
            // SAFETY: the caller guarantees the register is accessible.
            unsafe { asm!(concat!("msr ", $enc, ", x0"), "isb", in("x0") v, options(nostack)) };
        }
    };
}

sysreg_read!(/// `ICC_IAR0_EL1` (ICV_IAR0_EL1 at EL1 with FMO).
    iar0, "S3_0_C12_C8_0");
sysreg_read!(/// `ICC_IAR1_EL1` (ICV_IAR1_EL1 at EL1 with IMO).
    iar1, "S3_0_C12_C12_0");
sysreg_write!(/// `ICC_EOIR0_EL1`.
    eoir0, "S3_0_C12_C8_1");
sysreg_write!(/// `ICC_EOIR1_EL1`.
    eoir1, "S3_0_C12_C12_1");
sysreg_write!(/// `ICC_DIR_EL1`.
    dir, "S3_0_C12_C11_1");
sysreg_read!(/// `ICC_HPPIR0_EL1`.
    hppir0, "S3_0_C12_C8_2");
sysreg_read!(/// `ICC_HPPIR1_EL1`.
    hppir1, "S3_0_C12_C12_2");
sysreg_read!(/// `ICC_RPR_EL1`.
    rpr, "S3_0_C12_C11_3");
sysreg_read!(/// `ICC_PMR_EL1`.
    pmr, "S3_0_C4_C6_0");
sysreg_write!(/// `ICC_PMR_EL1`.
    set_pmr, "S3_0_C4_C6_0");
sysreg_write!(/// `ICC_BPR0_EL1`.
    set_bpr0, "S3_0_C12_C8_3");
sysreg_write!(/// `ICC_BPR1_EL1`.
    set_bpr1, "S3_0_C12_C12_3");
sysreg_read!(/// `ICC_CTLR_EL1`.
    ctlr, "S3_0_C12_C12_4");
sysreg_write!(/// `ICC_CTLR_EL1`.
    set_ctlr, "S3_0_C12_C12_4");
sysreg_write!(/// `ICC_IGRPEN0_EL1`.
    set_igrpen0, "S3_0_C12_C12_6");
sysreg_write!(/// `ICC_IGRPEN1_EL1`.
    set_igrpen1, "S3_0_C12_C12_7");
sysreg_read!(/// `ICC_SRE_EL1` (guest mode: EL1 without EL2).
    sre_el1, "S3_0_C12_C12_5");
sysreg_write!(/// `ICC_SRE_EL1` (guest mode: EL1 without EL2).
    set_sre_el1, "S3_0_C12_C12_5");
