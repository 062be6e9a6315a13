//! Registers a case may read or write by their Arm spec name.
//!
//! Two kinds:
//!
//! - system registers of the GICv3 CPU interface: hypervisor control
//!   (`ICH_*_EL2`) and the physical CPU interface (`ICC_*`), accessed at
//!   EL2, and the guest's view, named `ICV_*_EL1`: accessed at EL1 with
//!   `HCR_EL2.IMO/FMO` set, the `ICC_*_EL1` encodings reach the `ICV_*`
//!   registers of IHI 0069 12.3. Their encodings come from IHI 0069 12.1 and
//!   are listed once in [`for_each_sysreg!`], which the kernel expands into
//!   `MRS`/`MSR`.
//! - memory-mapped registers, as a frame ([`Frame`]) and an offset from
//!   IHI 0048B 4.1.2/4.1.3/5.3/5.5 (GICv2) and IHI 0069 12.8/12.10 (GICv3).
//!
//! Indexed registers use the spec's `<n>`: `ICH_LR3_EL2`, `GICH_LR3`,
//! `ICH_AP1R0_EL2`, `GICD_ISPENDR1`.

use crate::GicVersion;

/// Which exception level performs a system-register access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The hypervisor, at EL2.
    El2,
    /// The guest (vCPU), at EL1.
    El1,
}

/// Whether a register may be read, written, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read and write.
    Rw,
    /// Read only (a write is UNDEFINED or ignored).
    Ro,
    /// Write only (a read is UNDEFINED or UNKNOWN).
    Wo,
}

/// Calls `$m!` with the list of system registers:
/// `(Variant, "SPEC_NAME", "S<op0>_<op1>_C<n>_C<m>_<op2>", Side, Access)`.
///
/// Encodings: IHI 0069H 12.1.4 (ICC/ICV), 12.1.5 (ICH).
#[macro_export]
macro_rules! for_each_sysreg {
    ($m:ident) => {
        $m! {
            (IchHcrEl2, "ICH_HCR_EL2", "S3_4_C12_C11_0", El2, Rw),
            (IchVtrEl2, "ICH_VTR_EL2", "S3_4_C12_C11_1", El2, Ro),
            (IchMisrEl2, "ICH_MISR_EL2", "S3_4_C12_C11_2", El2, Ro),
            (IchEisrEl2, "ICH_EISR_EL2", "S3_4_C12_C11_3", El2, Ro),
            (IchElrsrEl2, "ICH_ELRSR_EL2", "S3_4_C12_C11_5", El2, Ro),
            (IchVmcrEl2, "ICH_VMCR_EL2", "S3_4_C12_C11_7", El2, Rw),
            (IchAp0r0El2, "ICH_AP0R0_EL2", "S3_4_C12_C8_0", El2, Rw),
            (IchAp0r1El2, "ICH_AP0R1_EL2", "S3_4_C12_C8_1", El2, Rw),
            (IchAp0r2El2, "ICH_AP0R2_EL2", "S3_4_C12_C8_2", El2, Rw),
            (IchAp0r3El2, "ICH_AP0R3_EL2", "S3_4_C12_C8_3", El2, Rw),
            (IchAp1r0El2, "ICH_AP1R0_EL2", "S3_4_C12_C9_0", El2, Rw),
            (IchAp1r1El2, "ICH_AP1R1_EL2", "S3_4_C12_C9_1", El2, Rw),
            (IchAp1r2El2, "ICH_AP1R2_EL2", "S3_4_C12_C9_2", El2, Rw),
            (IchAp1r3El2, "ICH_AP1R3_EL2", "S3_4_C12_C9_3", El2, Rw),
            (IchLr0El2, "ICH_LR0_EL2", "S3_4_C12_C12_0", El2, Rw),
            (IchLr1El2, "ICH_LR1_EL2", "S3_4_C12_C12_1", El2, Rw),
            (IchLr2El2, "ICH_LR2_EL2", "S3_4_C12_C12_2", El2, Rw),
            (IchLr3El2, "ICH_LR3_EL2", "S3_4_C12_C12_3", El2, Rw),
            (IchLr4El2, "ICH_LR4_EL2", "S3_4_C12_C12_4", El2, Rw),
            (IchLr5El2, "ICH_LR5_EL2", "S3_4_C12_C12_5", El2, Rw),
            (IchLr6El2, "ICH_LR6_EL2", "S3_4_C12_C12_6", El2, Rw),
            (IchLr7El2, "ICH_LR7_EL2", "S3_4_C12_C12_7", El2, Rw),
            (IchLr8El2, "ICH_LR8_EL2", "S3_4_C12_C13_0", El2, Rw),
            (IchLr9El2, "ICH_LR9_EL2", "S3_4_C12_C13_1", El2, Rw),
            (IchLr10El2, "ICH_LR10_EL2", "S3_4_C12_C13_2", El2, Rw),
            (IchLr11El2, "ICH_LR11_EL2", "S3_4_C12_C13_3", El2, Rw),
            (IchLr12El2, "ICH_LR12_EL2", "S3_4_C12_C13_4", El2, Rw),
            (IchLr13El2, "ICH_LR13_EL2", "S3_4_C12_C13_5", El2, Rw),
            (IchLr14El2, "ICH_LR14_EL2", "S3_4_C12_C13_6", El2, Rw),
            (IchLr15El2, "ICH_LR15_EL2", "S3_4_C12_C13_7", El2, Rw),
            (IccSreEl2, "ICC_SRE_EL2", "S3_4_C12_C9_5", El2, Rw),
            (IccPmrEl1Phys, "ICC_PMR_EL1", "S3_0_C4_C6_0", El2, Rw),
            (IccCtlrEl1Phys, "ICC_CTLR_EL1", "S3_0_C12_C12_4", El2, Rw),
            (IccRprEl1Phys, "ICC_RPR_EL1", "S3_0_C12_C11_3", El2, Ro),
            (IccHppir1El1Phys, "ICC_HPPIR1_EL1", "S3_0_C12_C12_2", El2, Ro),
            (IccIgrpen1El1Phys, "ICC_IGRPEN1_EL1", "S3_0_C12_C12_7", El2, Rw),
            (IccIgrpen0El1Phys, "ICC_IGRPEN0_EL1", "S3_0_C12_C12_6", El2, Rw),
            (IccHppir0El1Phys, "ICC_HPPIR0_EL1", "S3_0_C12_C8_2", El2, Ro),
            (IccBpr0El1Phys, "ICC_BPR0_EL1", "S3_0_C12_C8_3", El2, Rw),
            (IccBpr1El1Phys, "ICC_BPR1_EL1", "S3_0_C12_C12_3", El2, Rw),
            (IccAp0r0El1Phys, "ICC_AP0R0_EL1", "S3_0_C12_C8_4", El2, Rw),
            (IccAp1r0El1Phys, "ICC_AP1R0_EL1", "S3_0_C12_C9_0", El2, Rw),
            (IcvPmrEl1, "ICV_PMR_EL1", "S3_0_C4_C6_0", El1, Rw),
            (IcvCtlrEl1, "ICV_CTLR_EL1", "S3_0_C12_C12_4", El1, Rw),
            (IcvRprEl1, "ICV_RPR_EL1", "S3_0_C12_C11_3", El1, Ro),
            (IcvHppir0El1, "ICV_HPPIR0_EL1", "S3_0_C12_C8_2", El1, Ro),
            (IcvHppir1El1, "ICV_HPPIR1_EL1", "S3_0_C12_C12_2", El1, Ro),
            (IcvBpr0El1, "ICV_BPR0_EL1", "S3_0_C12_C8_3", El1, Rw),
            (IcvBpr1El1, "ICV_BPR1_EL1", "S3_0_C12_C12_3", El1, Rw),
            (IcvAp0r0El1, "ICV_AP0R0_EL1", "S3_0_C12_C8_4", El1, Rw),
            (IcvAp1r0El1, "ICV_AP1R0_EL1", "S3_0_C12_C9_0", El1, Rw),
            (IcvIgrpen0El1, "ICV_IGRPEN0_EL1", "S3_0_C12_C12_6", El1, Rw),
            (IcvIgrpen1El1, "ICV_IGRPEN1_EL1", "S3_0_C12_C12_7", El1, Rw),
            (IccSgi1rEl1Phys, "ICC_SGI1R_EL1", "S3_0_C12_C11_5", El2, Wo),
            (IccAsgi1rEl1Phys, "ICC_ASGI1R_EL1", "S3_0_C12_C11_6", El2, Wo),
            (IccSgi0rEl1Phys, "ICC_SGI0R_EL1", "S3_0_C12_C11_7", El2, Wo),
            (IccSgi1rEl1, "ICC_SGI1R_EL1", "S3_0_C12_C11_5", El1, Wo),
            (IccAsgi1rEl1, "ICC_ASGI1R_EL1", "S3_0_C12_C11_6", El1, Wo),
            (IccSgi0rEl1, "ICC_SGI0R_EL1", "S3_0_C12_C11_7", El1, Wo),
            (IcvDirEl1, "ICV_DIR_EL1", "S3_0_C12_C11_1", El1, Wo),
            (IcvEoir1El1, "ICV_EOIR1_EL1", "S3_0_C12_C12_1", El1, Wo),
            (IcvEoir0El1, "ICV_EOIR0_EL1", "S3_0_C12_C8_1", El1, Wo),
        }
    };
}

macro_rules! define_sysregs {
    ($(($v:ident, $name:literal, $enc:literal, $side:ident, $acc:ident)),* $(,)?) => {
        /// A system register of the GICv3 CPU interface (see [`for_each_sysreg!`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u16)]
        #[allow(missing_docs)]
        pub enum SysReg { $($v),* }

        /// Every system register with its spec name, side and access.
        pub const SYSREGS: &[(SysReg, &str, Side, Access)] = &[
            $((SysReg::$v, $name, Side::$side, Access::$acc)),*
        ];
    };
}
for_each_sysreg!(define_sysregs);

impl SysReg {
    /// The register for its index in [`SYSREGS`].
    pub fn from_index(i: u32) -> Option<SysReg> {
        SYSREGS.get(i as usize).map(|e| e.0)
    }

    /// Its spec name.
    pub fn name(self) -> &'static str {
        SYSREGS[self as usize].1
    }

    /// Which exception level accesses it.
    pub fn side(self) -> Side {
        SYSREGS[self as usize].2
    }
}

/// A memory-mapped GIC register frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Distributor (v2, v3).
    Gicd = 0,
    /// GICv2 physical CPU interface.
    Gicc = 1,
    /// GICv2 virtual interface control (hypervisor).
    Gich = 2,
    /// GICv2 virtual CPU interface (the guest's `GICV_*`).
    Gicv = 3,
    /// GICv3 redistributor control frame (`RD_base`) of the PE running the op.
    GicrRd = 4,
    /// GICv3 redistributor SGI/PPI frame (`SGI_base`) of the PE running the op.
    GicrSgi = 5,
}

impl Frame {
    /// The frame for its number in the compiled encoding.
    pub fn from_u32(n: u32) -> Option<Frame> {
        [Frame::Gicd, Frame::Gicc, Frame::Gich, Frame::Gicv, Frame::GicrRd, Frame::GicrSgi].get(n as usize).copied()
    }

    /// The GIC versions that have this frame.
    pub fn exists_on(self, v: GicVersion) -> bool {
        match self {
            Frame::Gicd => true,
            Frame::Gicc | Frame::Gich | Frame::Gicv => v == GicVersion::V2,
            Frame::GicrRd | Frame::GicrSgi => v.is_v3_family(),
        }
    }
}

/// A memory-mapped register: name prefix, frame, offset, access, width
/// in bits, and how many indexed copies (`<n>`) it has at a 4-byte (or
/// 8-byte, for 64-bit registers) stride; 0 means not indexed.
struct MmioDef {
    name: &'static str,
    frame: Frame,
    offset: u32,
    access: Access,
    width: u8,
    count: u32,
    /// Narrower accesses the spec allows to one register.
    parts: Parts,
}

/// Narrower accesses a memory-mapped register allows besides its whole
/// width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parts {
    /// Whole-register accesses only.
    Whole,
    /// Byte accesses too (IHI 0069H 12.1.6 / IHI 0048B 4.1.4: "byte-accessible",
    /// GICD_IPRIORITYR<n>, GICD_ITARGETSR<n>, GICD_{S,C}PENDSGIR<n>,
    /// GICR_IPRIORITYR<n>).
    Bytes,
    /// 32-bit accesses to each half of a 64-bit register too (IHI 0069H
    /// 12.1.6: GICD_IROUTER<n>, GICR_TYPER).
    Halves,
}

/// Part of a register an access covers, when narrower than the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Byte `k` (0 = bits 7:0) of a byte-accessible 32-bit register.
    Byte(u32),
    /// Bits 31:0 of a 64-bit register.
    Low,
    /// Bits 63:32 of a 64-bit register.
    High,
}

const fn m(name: &'static str, frame: Frame, offset: u32, access: Access, count: u32) -> MmioDef {
    MmioDef { name, frame, offset, access, width: 32, count, parts: Parts::Whole }
}

const fn bytes(d: MmioDef) -> MmioDef {
    MmioDef { parts: Parts::Bytes, ..d }
}

const fn m64(name: &'static str, frame: Frame, offset: u32, access: Access, count: u32) -> MmioDef {
    MmioDef { name, frame, offset, access, width: 64, count, parts: Parts::Halves }
}

use Access::{Ro, Rw, Wo};
use Frame::{Gicc, Gicd, Gich, GicrRd, GicrSgi, Gicv};

/// IHI 0048B Table 4-1 (GICD), 4-2 (GICC), 5-1 (GICH), 5-2 (GICV);
/// IHI 0069H Table 12-25 (GICD), 12-27/12-28 (GICR).
const MMIO: &[MmioDef] = &[
    m("GICD_CTLR", Gicd, 0x000, Rw, 0),
    m("GICD_TYPER", Gicd, 0x004, Ro, 0),
    m("GICD_IIDR", Gicd, 0x008, Ro, 0),
    m("GICD_IGROUPR", Gicd, 0x080, Rw, 32),
    m("GICD_ISENABLER", Gicd, 0x100, Rw, 32),
    m("GICD_ICENABLER", Gicd, 0x180, Rw, 32),
    m("GICD_ISPENDR", Gicd, 0x200, Rw, 32),
    m("GICD_ICPENDR", Gicd, 0x280, Rw, 32),
    m("GICD_ISACTIVER", Gicd, 0x300, Rw, 32),
    m("GICD_ICACTIVER", Gicd, 0x380, Rw, 32),
    bytes(m("GICD_IPRIORITYR", Gicd, 0x400, Rw, 255)),
    m("GICD_ICFGR", Gicd, 0xc00, Rw, 64),
    bytes(m("GICD_ITARGETSR", Gicd, 0x800, Rw, 255)),
    m("GICD_SGIR", Gicd, 0xf00, Wo, 0),
    bytes(m("GICD_CPENDSGIR", Gicd, 0xf10, Rw, 4)),
    bytes(m("GICD_SPENDSGIR", Gicd, 0xf20, Rw, 4)),
    // IHI 0069H 12.9.22: GICD_IROUTER<n> at 0x6000 + 8n; n < 32 is reserved (SGIs, PPIs).
    m64("GICD_IROUTER", Gicd, 0x6000, Rw, 1020),
    m("GICC_CTLR", Gicc, 0x00, Rw, 0),
    m("GICC_PMR", Gicc, 0x04, Rw, 0),
    m("GICC_BPR", Gicc, 0x08, Rw, 0),
    m("GICC_IAR", Gicc, 0x0c, Ro, 0),
    m("GICC_EOIR", Gicc, 0x10, Wo, 0),
    m("GICC_RPR", Gicc, 0x14, Ro, 0),
    m("GICC_HPPIR", Gicc, 0x18, Ro, 0),
    m("GICC_APR", Gicc, 0xd0, Rw, 4),
    m("GICC_IIDR", Gicc, 0xfc, Ro, 0),
    m("GICC_DIR", Gicc, 0x1000, Wo, 0),
    m("GICH_HCR", Gich, 0x00, Rw, 0),
    m("GICH_VTR", Gich, 0x04, Ro, 0),
    m("GICH_VMCR", Gich, 0x08, Rw, 0),
    m("GICH_MISR", Gich, 0x10, Ro, 0),
    m("GICH_EISR", Gich, 0x20, Ro, 2),
    m("GICH_ELRSR", Gich, 0x30, Ro, 2),
    m("GICH_APR", Gich, 0xf0, Rw, 0),
    m("GICH_LR", Gich, 0x100, Rw, 64),
    m("GICV_CTLR", Gicv, 0x00, Rw, 0),
    m("GICV_PMR", Gicv, 0x04, Rw, 0),
    m("GICV_BPR", Gicv, 0x08, Rw, 0),
    m("GICV_IAR", Gicv, 0x0c, Ro, 0),
    m("GICV_EOIR", Gicv, 0x10, Wo, 0),
    m("GICV_RPR", Gicv, 0x14, Ro, 0),
    m("GICV_HPPIR", Gicv, 0x18, Ro, 0),
    m("GICV_ABPR", Gicv, 0x1c, Rw, 0),
    m("GICV_AIAR", Gicv, 0x20, Ro, 0),
    m("GICV_AEOIR", Gicv, 0x24, Wo, 0),
    m("GICV_AHPPIR", Gicv, 0x28, Ro, 0),
    m("GICV_APR", Gicv, 0xd0, Rw, 4),
    m("GICV_IIDR", Gicv, 0xfc, Ro, 0),
    m("GICV_DIR", Gicv, 0x1000, Wo, 0),
    m("GICR_CTLR", GicrRd, 0x00, Rw, 0),
    m("GICR_IIDR", GicrRd, 0x04, Ro, 0),
    m64("GICR_TYPER", GicrRd, 0x08, Ro, 0),
    m("GICR_WAKER", GicrRd, 0x14, Rw, 0),
    m("GICR_IGROUPR0", GicrSgi, 0x080, Rw, 0),
    m("GICR_ISENABLER0", GicrSgi, 0x100, Rw, 0),
    m("GICR_ICENABLER0", GicrSgi, 0x180, Rw, 0),
    m("GICR_ISPENDR0", GicrSgi, 0x200, Rw, 0),
    m("GICR_ICPENDR0", GicrSgi, 0x280, Rw, 0),
    m("GICR_ISACTIVER0", GicrSgi, 0x300, Rw, 0),
    m("GICR_ICACTIVER0", GicrSgi, 0x380, Rw, 0),
    bytes(m("GICR_IPRIORITYR", GicrSgi, 0x400, Rw, 8)),
    m("GICR_ICFGR", GicrSgi, 0xc00, Rw, 2),
];

/// A register a case names, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegId {
    /// A system register.
    Sys(SysReg),
    /// A memory-mapped register: frame, byte offset, width in bits (32 or 64).
    Mmio {
        /// Frame.
        frame: Frame,
        /// Byte offset in the frame.
        offset: u32,
        /// 32 or 64.
        width: u8,
    },
}

/// A resolved register with what a case may do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegInfo {
    /// Where it is.
    pub id: RegId,
    /// Read/write rules.
    pub access: Access,
    /// Narrower accesses it allows.
    pub parts: Parts,
}

impl RegInfo {
    /// The access to `part` of this register, when the spec allows it
    /// ([`Parts`]): a byte (`Byte(k)`, k < 4) of a byte-accessible register,
    /// or a 32-bit half of a 64-bit one. `None` otherwise.
    pub fn narrowed(&self, part: Part) -> Option<RegInfo> {
        let RegId::Mmio { frame, offset, width } = self.id else { return None };
        let (at, w) = match (self.parts, part) {
            (Parts::Bytes, Part::Byte(k)) if k < u32::from(width / 8) => (offset + k, 8),
            (Parts::Halves, Part::Low) => (offset, 32),
            (Parts::Halves, Part::High) => (offset + 4, 32),
            _ => return None,
        };
        Some(RegInfo { id: RegId::Mmio { frame, offset: at, width: w }, access: self.access, parts: Parts::Whole })
    }

    /// Whether the register exists on GIC version `v`.
    pub fn exists_on(&self, v: GicVersion) -> bool {
        match self.id {
            RegId::Sys(_) => v.is_v3_family(),
            // GICv2's Distributor is 4 KiB (IHI 0048B 4.1.2); GICv3's is 64
            // KiB, GICD_IROUTER<n> at 0x6000 (IHI 0069H 12.9).
            RegId::Mmio { frame: Frame::Gicd, offset, .. } if offset >= 0x1000 => v.is_v3_family(),
            RegId::Mmio { frame, .. } => frame.exists_on(v),
        }
    }

    /// Which exception level accesses it: system registers say; `GICV_*` is
    /// the guest's, every other frame the hypervisor's.
    pub fn side(&self) -> Side {
        match self.id {
            RegId::Sys(s) => s.side(),
            RegId::Mmio { frame: Frame::Gicv, .. } => Side::El1,
            RegId::Mmio { .. } => Side::El2,
        }
    }
}

/// Resolves a register name as accessed from `side`: a name that both sides
/// use (`ICC_SGI1R_EL1`, which has no `ICV_` form) resolves to that side's
/// entry; otherwise as [`lookup`].
pub fn lookup_from(name: &str, side: Side) -> Option<RegInfo> {
    if let Some(e) = SYSREGS.iter().find(|e| e.1 == name && e.2 == side) {
        return Some(RegInfo { id: RegId::Sys(e.0), access: e.3, parts: Parts::Whole });
    }
    lookup(name)
}

/// The `ICC_*_EL1` name of a GIC CPU interface system-register encoding
/// (IHI 0069H 12.1.4), as `ESR_EL2.ISS` of a trapped `MSR`/`MRS` gives it
/// (Op0, Op1, CRn, CRm, Op2); `None` for any other register. At EL1 with
/// `HCR_EL2.IMO`/`FMO` set, the same encodings name the `ICV_*` registers
/// when the access does not trap; a trap report names the encoding.
pub fn icc_name_of_encoding(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> Option<&'static str> {
    if op0 != 3 || op1 != 0 {
        return None;
    }
    Some(match (crn, crm, op2) {
        (4, 6, 0) => "ICC_PMR_EL1",
        (12, 8, 0) => "ICC_IAR0_EL1",
        (12, 8, 1) => "ICC_EOIR0_EL1",
        (12, 8, 2) => "ICC_HPPIR0_EL1",
        (12, 8, 3) => "ICC_BPR0_EL1",
        (12, 8, 4) => "ICC_AP0R0_EL1",
        (12, 8, 5) => "ICC_AP0R1_EL1",
        (12, 8, 6) => "ICC_AP0R2_EL1",
        (12, 8, 7) => "ICC_AP0R3_EL1",
        (12, 9, 0) => "ICC_AP1R0_EL1",
        (12, 9, 1) => "ICC_AP1R1_EL1",
        (12, 9, 2) => "ICC_AP1R2_EL1",
        (12, 9, 3) => "ICC_AP1R3_EL1",
        (12, 11, 1) => "ICC_DIR_EL1",
        (12, 11, 3) => "ICC_RPR_EL1",
        (12, 11, 5) => "ICC_SGI1R_EL1",
        (12, 11, 6) => "ICC_ASGI1R_EL1",
        (12, 11, 7) => "ICC_SGI0R_EL1",
        (12, 12, 0) => "ICC_IAR1_EL1",
        (12, 12, 1) => "ICC_EOIR1_EL1",
        (12, 12, 2) => "ICC_HPPIR1_EL1",
        (12, 12, 3) => "ICC_BPR1_EL1",
        (12, 12, 4) => "ICC_CTLR_EL1",
        (12, 12, 5) => "ICC_SRE_EL1",
        (12, 12, 6) => "ICC_IGRPEN0_EL1",
        (12, 12, 7) => "ICC_IGRPEN1_EL1",
        _ => return None,
    })
}

/// Resolves a spec register name (`ICH_LR2_EL2`, `GICH_LR2`, `GICD_ISPENDR1`,
/// `ICV_PMR_EL1`), or `None` if the suite does not know it.
pub fn lookup(name: &str) -> Option<RegInfo> {
    if let Some(e) = SYSREGS.iter().find(|e| e.1 == name) {
        return Some(RegInfo { id: RegId::Sys(e.0), access: e.3, parts: Parts::Whole });
    }
    for d in MMIO {
        let idx = if d.count == 0 {
            if name != d.name {
                continue;
            }
            0
        } else {
            let Some(rest) = name.strip_prefix(d.name) else { continue };
            if rest.is_empty() || (rest.len() > 1 && rest.starts_with('0')) {
                continue;
            }
            let Ok(n) = rest.parse::<u32>() else { continue };
            if n >= d.count {
                continue;
            }
            n
        };
        let stride = (d.width / 8) as u32;
        return Some(RegInfo {
            id: RegId::Mmio { frame: d.frame, offset: d.offset + idx * stride, width: d.width },
            access: d.access,
            parts: d.parts,
        });
    }
    None
}

/// Every name [`lookup`] accepts, with indexed names written `NAME<n>`
/// (for help texts and error messages).
pub fn known_names() -> impl Iterator<Item = (&'static str, bool)> {
    SYSREGS.iter().map(|e| (e.1, false)).chain(MMIO.iter().map(|d| (d.name, d.count != 0)))
}

/// The indexed names among [`known_names`] with how many copies each has:
/// `("GICH_LR", 64)` means `GICH_LR0` to `GICH_LR63`.
pub fn indexed_names() -> impl Iterator<Item = (&'static str, u32)> {
    MMIO.iter().filter(|d| d.count != 0).map(|d| (d.name, d.count))
}

impl RegId {
    /// Packs into two words of the compiled encoding.
    pub fn to_words(self) -> [u32; 2] {
        match self {
            RegId::Sys(s) => [0, s as u32],
            RegId::Mmio { frame, offset, width } => [1 | ((width as u32) << 8) | ((frame as u32) << 16), offset],
        }
    }

    /// Unpacks [`RegId::to_words`].
    pub fn from_words(w: [u32; 2]) -> Option<RegId> {
        match w[0] & 0xff {
            0 => SysReg::from_index(w[1]).map(RegId::Sys),
            1 => Some(RegId::Mmio {
                frame: Frame::from_u32(w[0] >> 16)?,
                offset: w[1],
                width: ((w[0] >> 8) & 0xff) as u8,
            }),
            _ => None,
        }
    }
}

/// The spec name of a register id, for event output: the name and, for an
/// indexed register, its `<n>`. `None` for an offset no name covers. A
/// narrower access ([`RegInfo::narrowed`]) is named after its register;
/// [`part_of`] tells which part it is.
pub fn name_of(id: RegId) -> Option<(&'static str, Option<u32>)> {
    named(id).map(|(name, n, _)| (name, n))
}

/// Which part of its register `id` accesses, for a narrower access.
pub fn part_of(id: RegId) -> Option<Part> {
    named(id).and_then(|(_, _, p)| p)
}

fn named(id: RegId) -> Option<(&'static str, Option<u32>, Option<Part>)> {
    match id {
        RegId::Sys(s) => Some((s.name(), None, None)),
        RegId::Mmio { frame, offset, width } => MMIO.iter().find_map(|d| {
            if d.frame != frame || offset < d.offset {
                return None;
            }
            let stride = (d.width / 8) as u32;
            let rel = offset - d.offset;
            let (idx, within) = (rel / stride, rel % stride);
            let part = match (width == d.width, d.parts, width) {
                (true, _, _) if within == 0 => None,
                (false, Parts::Bytes, 8) => Some(Part::Byte(within)),
                (false, Parts::Halves, 32) if within == 0 => Some(Part::Low),
                (false, Parts::Halves, 32) if within == 4 => Some(Part::High),
                _ => return None,
            };
            if d.count == 0 {
                (idx == 0).then_some((d.name, None, part))
            } else if idx < d.count {
                Some((d.name, Some(idx), part))
            } else {
                None
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;
    use std::string::{String, ToString};
    use std::vec::Vec;

    /// README.md's `### Register names` section, up to the next heading.
    fn readme_section() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let start = readme.find("\n### Register names\n").expect("README.md has a `### Register names` section") + 1;
        let body = &readme[start..];
        let end = body[1..].find("\n#").map_or(body.len(), |i| i + 2);
        body[..end].to_string()
    }

    /// Words that look like register names (`GICD_CTLR`, `GICH_LR<n>`);
    /// group patterns with `*` are not names.
    fn register_words(text: &str) -> Vec<String> {
        const PREFIXES: [&str; 8] = ["ICH_", "ICC_", "ICV_", "GICD_", "GICR_", "GICC_", "GICH_", "GICV_"];
        text.split(|c: char| !(c.is_ascii_alphanumeric() || "_<>*".contains(c)))
            .filter(|w| PREFIXES.iter().any(|p| w.starts_with(p)) && !w.contains('*'))
            .map(|w| w.to_string())
            .collect()
    }

    #[test]
    fn readme_lists_exactly_the_known_register_names_with_side_versions_and_access() {
        let section = readme_section();
        let mut listed: Vec<String> = Vec::new();
        for row in section.lines().filter(|l| l.starts_with('|') && l.contains("`")) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            if register_words(cells[4]).is_empty() {
                continue;
            }
            let side = if cells[2].contains("guest") { Side::El1 } else { Side::El2 };
            let versions: Vec<GicVersion> =
                cells[3].split_whitespace().map(|w| GicVersion::from_name(w).expect("a GIC version")).collect();
            // Names are `NAME`, each with an optional annotation: `NAME<n>` (0–31, RO).
            let mut rest = cells[4];
            while let Some(open) = rest.find('`') {
                let after = &rest[open + 1..];
                let close = after.find('`').expect("closing backtick");
                let name = &after[..close];
                rest = &after[close + 1..];
                let note = match rest.strip_prefix(" (") {
                    Some(n) => &n[..n.find(')').expect("closing parenthesis")],
                    None => "",
                };
                let notes: Vec<&str> = note.split(", ").filter(|n| !n.is_empty()).collect();
                let access = if notes.contains(&"RO") {
                    Access::Ro
                } else if notes.contains(&"WO") {
                    Access::Wo
                } else {
                    Access::Rw
                };
                let probe = match name.strip_suffix("<n>") {
                    Some(base) => {
                        let count = indexed_names().find(|(n, _)| *n == base).map(|(_, c)| c);
                        let count = count.unwrap_or_else(|| panic!("{name}: not an indexed name of the table"));
                        let range = format!("0–{}", count - 1);
                        assert!(notes.contains(&range.as_str()), "{name}: the README should say ({range})");
                        format!("{base}0")
                    }
                    None => name.to_string(),
                };
                let info =
                    lookup_from(&probe, side).unwrap_or_else(|| panic!("README names `{name}`, which the table lacks"));
                assert_eq!(info.access, access, "{name}: access");
                assert_eq!(info.side(), side, "{name}: side");
                for v in GicVersion::ALL {
                    assert_eq!(info.exists_on(v), versions.contains(&v), "{name} on {}", v.name());
                }
                let entry = format!("{name}@{side:?}");
                assert!(!listed.contains(&entry), "{name} is listed twice for one side");
                listed.push(entry);
            }
        }
        let known: Vec<String> =
            known_names().map(|(n, indexed)| if indexed { format!("{n}<n>") } else { n.to_string() }).collect();
        let missing: Vec<&String> =
            known.iter().filter(|n| !listed.iter().any(|l| l.split('@').next() == Some(n.as_str()))).collect();
        assert!(missing.is_empty(), "README.md 'Register names' lacks {missing:?}");
        // The prose around the table names no other register either.
        for w in register_words(&section) {
            assert!(known.contains(&w), "README.md 'Register names' mentions `{w}`, which the table lacks");
        }
        assert_eq!(listed.len(), known.len());
        let count = format!("exactly these {} names", known.len());
        assert!(section.replace('\n', " ").contains(&count), "README.md 'Register names' should say `{count}`");
    }
}
