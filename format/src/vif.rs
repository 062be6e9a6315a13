//! Virtual interface control registers, by their version-neutral names.
//!
//! GICv2 `GICH_HCR`/`GICH_MISR` (IHI 0048B 5.3.2, 5.3.5) and GICv3
//! `ICH_HCR_EL2`/`ICH_MISR_EL2` (IHI 0069 12.4.3, 12.4.9) put their common
//! fields at the same bit positions, so one field table decodes both.
//! `GICH_VMCR` (IHI 0048B 5.3.4) and `ICH_VMCR_EL2` (IHI 0069 12.4.11) also
//! share positions except the priority mask: GICv2 keeps VMPriMask in
//! bits \[31:27\] as the top five bits of the priority, GICv3 keeps VPMR in
//! bits \[31:24\]. Read as bits \[31:24\], both give the 8-bit priority mask,
//! so the case language and the events use the GICv3 names (`VPMR`,
//! `VBPR0`, `VBPR1`, `VEOIM`, …) for both; the README lists the GICv2 names.

/// One field of a register: spec name, lowest bit, width in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Field name as in the Arm spec (GICv3 spelling where the two differ).
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u8,
    /// Width in bits.
    pub width: u8,
}

impl Field {
    const fn new(name: &'static str, lsb: u8, width: u8) -> Self {
        Field { name, lsb, width }
    }

    /// The field's value in `reg`.
    pub fn get(&self, reg: u64) -> u64 {
        (reg >> self.lsb) & ((1u64 << self.width) - 1)
    }

    /// `reg` with the field set to `value` (truncated to the field's width).
    pub fn set(&self, reg: u64, value: u64) -> u64 {
        let mask = ((1u64 << self.width) - 1) << self.lsb;
        (reg & !mask) | ((value << self.lsb) & mask)
    }

    /// Largest value the field holds.
    pub fn max(&self) -> u64 {
        (1u64 << self.width) - 1
    }
}

/// The virtual interface registers the case language names without a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VifReg {
    /// `ICH_HCR_EL2` / `GICH_HCR`: hypervisor control.
    Hcr = 0,
    /// `ICH_VMCR_EL2` / `GICH_VMCR`: the vCPU's interface control, as the hypervisor sees it.
    Vmcr = 1,
    /// `ICH_MISR_EL2` / `GICH_MISR`: maintenance interrupt status (read-only).
    Misr = 2,
    /// `ICH_EISR_EL2` / `GICH_EISR0,1`: LRs with a pending EOI maintenance event (read-only).
    Eisr = 3,
    /// `ICH_ELRSR_EL2` / `GICH_ELRSR0,1`: LRs that hold no interrupt (read-only).
    Elrsr = 4,
    /// `ICH_AP0R0_EL2`+`ICH_AP1R0_EL2` / `GICH_APR`: active priorities.
    Apr = 5,
    /// `ICH_VTR_EL2` / `GICH_VTR`: what the virtual interface implements (read-only).
    Vtr = 6,
}

impl VifReg {
    /// All of them.
    pub const ALL: [VifReg; 7] =
        [VifReg::Hcr, VifReg::Vmcr, VifReg::Misr, VifReg::Eisr, VifReg::Elrsr, VifReg::Apr, VifReg::Vtr];

    /// Case-language name: `hcr`, `vmcr`, `misr`, `eisr`, `elrsr`, `apr`, `vtr`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hcr => "hcr",
            Self::Vmcr => "vmcr",
            Self::Misr => "misr",
            Self::Eisr => "eisr",
            Self::Elrsr => "elrsr",
            Self::Apr => "apr",
            Self::Vtr => "vtr",
        }
    }

    /// The register for a case-language name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The register for its number in the compiled encoding.
    pub fn from_u32(n: u32) -> Option<Self> {
        Self::ALL.get(n as usize).copied()
    }

    /// Whether a case may write it.
    pub fn writable(self) -> bool {
        matches!(self, Self::Hcr | Self::Vmcr | Self::Apr)
    }

    /// Fields decoded in events and accepted in `hcr = …` / `vmcr = …`.
    /// Empty for registers reported as a list of LR numbers or raw values.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::Hcr => HCR_FIELDS,
            Self::Vmcr => VMCR_FIELDS,
            Self::Misr => MISR_FIELDS,
            Self::Vtr => VTR_FIELDS,
            Self::Eisr | Self::Elrsr | Self::Apr => &[],
        }
    }
}

/// `ICH_HCR_EL2` (IHI 0069 12.4.3) / `GICH_HCR` (IHI 0048B 5.3.2) common fields.
pub const HCR_FIELDS: &[Field] = &[
    Field::new("En", 0, 1),
    Field::new("UIE", 1, 1),
    Field::new("LRENPIE", 2, 1),
    Field::new("NPIE", 3, 1),
    Field::new("VGrp0EIE", 4, 1),
    Field::new("VGrp0DIE", 5, 1),
    Field::new("VGrp1EIE", 6, 1),
    Field::new("VGrp1DIE", 7, 1),
    Field::new("EOIcount", 27, 5),
];

/// `ICH_MISR_EL2` (IHI 0069 12.4.9) / `GICH_MISR` (IHI 0048B 5.3.5).
pub const MISR_FIELDS: &[Field] = &[
    Field::new("EOI", 0, 1),
    Field::new("U", 1, 1),
    Field::new("LRENP", 2, 1),
    Field::new("NP", 3, 1),
    Field::new("VGrp0E", 4, 1),
    Field::new("VGrp0D", 5, 1),
    Field::new("VGrp1E", 6, 1),
    Field::new("VGrp1D", 7, 1),
];

/// `ICH_VMCR_EL2` (IHI 0069 12.4.11) names; `GICH_VMCR` (IHI 0048B 5.3.4)
/// calls them VMGrp0En, VMGrp1En, VMAckCtl, VMFIQEn, VMCBPR, VMEOIMode,
/// VMABP, VMBP and VMPriMask.
pub const VMCR_FIELDS: &[Field] = &[
    Field::new("VENG0", 0, 1),
    Field::new("VENG1", 1, 1),
    Field::new("VAckCtl", 2, 1),
    Field::new("VFIQEn", 3, 1),
    Field::new("VCBPR", 4, 1),
    Field::new("VEOIM", 9, 1),
    Field::new("VBPR1", 18, 3),
    Field::new("VBPR0", 21, 3),
    Field::new("VPMR", 24, 8),
];

/// `ICH_VTR_EL2` (IHI 0069 12.4.10) / `GICH_VTR` (IHI 0048B 5.3.3) common
/// fields, as encoded: `ListRegs` is the number of LRs minus one, `PREbits`
/// and `PRIbits` the number of bits minus one.
pub const VTR_FIELDS: &[Field] =
    &[Field::new("ListRegs", 0, 5), Field::new("PREbits", 26, 3), Field::new("PRIbits", 29, 3)];

/// Looks up a field of `reg` by name.
pub fn field(reg: VifReg, name: &str) -> Option<&'static Field> {
    reg.fields().iter().find(|f| f.name == name)
}
