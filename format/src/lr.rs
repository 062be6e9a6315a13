//! List Register layouts.
//!
//! A case writes and reads List Registers with version-neutral fields
//! ([`Lr`]); the kernel encodes them into the layout of the GIC it runs on:
//!
//! - GICv2 `GICH_LR<n>` (IHI 0048B 5.3, 32 bits): HW\[31\], Grp1\[30\],
//!   State\[29:28\], Priority\[27:23\] (the top five bits of the 8-bit
//!   priority), PhysicalID\[19:10\] — which, when HW is 0, holds EOI\[19\]
//!   and, for a vINTID below 16 (an SGI), CPUID\[12:10\] — and
//!   VirtualID\[9:0\].
//! - GICv3/v4 `ICH_LR<n>_EL2` (IHI 0069 12.4.6, 64 bits): State\[63:62\],
//!   HW\[61\], Group\[60\], Priority\[55:48\], pINTID\[44:32\] — of which,
//!   when HW is 0, bit 41 is EOI and the rest are RES0 — and vINTID\[31:0\].

/// The `State` field of a List Register (same encoding in GICv2 and GICv3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LrState {
    /// 0b00: the LR holds no interrupt.
    Invalid = 0,
    /// 0b01.
    Pending = 1,
    /// 0b10.
    Active = 2,
    /// 0b11.
    PendingActive = 3,
}

impl LrState {
    /// The state for the two-bit field value.
    pub fn from_bits(bits: u64) -> Self {
        match bits & 3 {
            0 => Self::Invalid,
            1 => Self::Pending,
            2 => Self::Active,
            _ => Self::PendingActive,
        }
    }

    /// The name used in cases and events: `invalid`, `pending`, `active`, `pending+active`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Pending => "pending",
            Self::Active => "active",
            Self::PendingActive => "pending+active",
        }
    }

    /// The state for a case-language name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "invalid" => Some(Self::Invalid),
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "pending+active" => Some(Self::PendingActive),
            _ => None,
        }
    }
}

/// Version-neutral List Register contents.
///
/// `pintid` is meaningful only with `hw`; `eoi` only without `hw`;
/// `cpuid` only on GICv2 for a vINTID below 16 without `hw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lr {
    /// `State`.
    pub state: LrState,
    /// `HW`: the virtual interrupt is linked to physical interrupt `pintid`.
    pub hw: bool,
    /// `Group` (GICv3) / `Grp1` (GICv2): 1 for Group 1.
    pub group: u8,
    /// `Priority`, as an 8-bit priority value (GICv2 keeps only bits \[7:3\]).
    pub priority: u8,
    /// `vINTID` / `VirtualID`.
    pub vintid: u32,
    /// `pINTID` / `PhysicalID` (HW=1).
    pub pintid: u32,
    /// `EOI`: raise an EOI maintenance interrupt when deactivated (HW=0).
    pub eoi: bool,
    /// GICv2 `CPUID`: the source PE of a virtual SGI (HW=0).
    pub cpuid: u8,
}

impl Lr {
    /// An invalid, all-zero List Register.
    pub const EMPTY: Lr =
        Lr { state: LrState::Invalid, hw: false, group: 0, priority: 0, vintid: 0, pintid: 0, eoi: false, cpuid: 0 };

    /// Encodes into the GICv2 `GICH_LR<n>` layout (IHI 0048B 5.3 GICH_LR<n>).
    ///
    /// Fields wider than the layout are truncated to it; validating them
    /// ([`Lr::check_v2`]) is the caller's job.
    pub fn to_v2(&self) -> u32 {
        let mut v = (self.vintid & 0x3ff)
            | ((self.state as u32) << 28)
            | (((self.priority as u32) >> 3) << 23)
            | ((self.group as u32 & 1) << 30);
        if self.hw {
            v |= 1 << 31;
            v |= (self.pintid & 0x3ff) << 10;
        } else {
            v |= (self.eoi as u32) << 19;
            v |= (self.cpuid as u32 & 7) << 10;
        }
        v
    }

    /// Decodes a GICv2 `GICH_LR<n>` value.
    pub fn from_v2(v: u32) -> Lr {
        let hw = v >> 31 != 0;
        Lr {
            state: LrState::from_bits((v >> 28) as u64),
            hw,
            group: ((v >> 30) & 1) as u8,
            priority: (((v >> 23) & 0x1f) << 3) as u8,
            vintid: v & 0x3ff,
            pintid: if hw { (v >> 10) & 0x3ff } else { 0 },
            eoi: !hw && (v >> 19) & 1 != 0,
            cpuid: if hw { 0 } else { ((v >> 10) & 7) as u8 },
        }
    }

    /// Encodes into the GICv3 `ICH_LR<n>_EL2` layout (IHI 0069 12.4.6).
    pub fn to_v3(&self) -> u64 {
        let mut v = (self.vintid as u64)
            | ((self.state as u64) << 62)
            | ((self.group as u64 & 1) << 60)
            | ((self.priority as u64) << 48);
        if self.hw {
            v |= 1 << 61;
            v |= (self.pintid as u64 & 0x1fff) << 32;
        } else {
            v |= (self.eoi as u64) << 41;
        }
        v
    }

    /// Decodes a GICv3 `ICH_LR<n>_EL2` value.
    pub fn from_v3(v: u64) -> Lr {
        let hw = (v >> 61) & 1 != 0;
        Lr {
            state: LrState::from_bits(v >> 62),
            hw,
            group: ((v >> 60) & 1) as u8,
            priority: ((v >> 48) & 0xff) as u8,
            vintid: v as u32,
            pintid: if hw { ((v >> 32) & 0x1fff) as u32 } else { 0 },
            eoi: !hw && (v >> 41) & 1 != 0,
            cpuid: 0,
        }
    }

    /// Checks that the fields fit the GICv2 layout; the error names the field.
    pub fn check_v2(&self) -> Result<(), &'static str> {
        if self.vintid > 1023 {
            return Err("vINTID does not fit GICH_LR.VirtualID (10 bits, IHI 0048B 5.3 GICH_LR<n>)");
        }
        if self.hw && self.pintid > 1023 {
            return Err("pINTID does not fit GICH_LR.PhysicalID (10 bits, IHI 0048B 5.3 GICH_LR<n>)");
        }
        if self.priority & 7 != 0 {
            return Err(
                "GICH_LR.Priority holds priority bits [7:3] only; the low three bits must be 0 (IHI 0048B 5.3 GICH_LR<n>)",
            );
        }
        if self.cpuid > 7 {
            return Err("CPUID does not fit GICH_LR.CPUID (3 bits, IHI 0048B 5.3 GICH_LR<n>)");
        }
        if self.cpuid != 0 && (self.hw || self.vintid >= 16) {
            return Err("CPUID applies only to a virtual SGI with HW=0 (IHI 0048B 5.3 GICH_LR<n>)");
        }
        if self.eoi && self.hw {
            return Err("the EOI bit exists only when HW=0 (IHI 0048B 5.3 GICH_LR<n>)");
        }
        Ok(())
    }

    /// Checks that the fields fit the GICv3 layout; the error names the field.
    pub fn check_v3(&self) -> Result<(), &'static str> {
        if self.hw && self.pintid > 0x1fff {
            return Err("pINTID does not fit ICH_LR<n>_EL2.pINTID (13 bits, IHI 0069 12.4.6)");
        }
        if self.cpuid != 0 {
            return Err("ICH_LR<n>_EL2 has no CPUID field; it is GICv2 only (IHI 0069 12.4.6)");
        }
        if self.eoi && self.hw {
            return Err("the EOI bit exists only when HW=0 (IHI 0069 12.4.6)");
        }
        Ok(())
    }

    /// Packs into the three words of the compiled-case encoding.
    pub fn to_words(&self) -> [u32; 3] {
        [
            self.vintid,
            self.pintid | ((self.cpuid as u32) << 16),
            (self.state as u32)
                | ((self.hw as u32) << 2)
                | ((self.group as u32 & 1) << 3)
                | ((self.eoi as u32) << 4)
                | ((self.priority as u32) << 8),
        ]
    }

    /// Unpacks from [`Lr::to_words`].
    pub fn from_words(w: [u32; 3]) -> Lr {
        Lr {
            vintid: w[0],
            pintid: w[1] & 0xffff,
            cpuid: ((w[1] >> 16) & 0xff) as u8,
            state: LrState::from_bits(w[2] as u64),
            hw: (w[2] >> 2) & 1 != 0,
            group: ((w[2] >> 3) & 1) as u8,
            eoi: (w[2] >> 4) & 1 != 0,
            priority: ((w[2] >> 8) & 0xff) as u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IHI 0048B 5.3 GICH_LR<n>, worked by hand: 0x9a006c1b = 1001 1010 0000 0000
    /// 0110 1100 0001 1011: HW=1, Grp1=0, State=01, Priority[27:23]=10100
    /// (0xa0), PhysicalID[19:10]=0b0000011011 (27), VirtualID=27.
    #[test]
    fn gicv2_example_value() {
        let lr = Lr::from_v2(0x9a00_6c1b);
        assert_eq!(
            lr,
            Lr {
                state: LrState::Pending,
                hw: true,
                group: 0,
                priority: 0xa0,
                vintid: 27,
                pintid: 27,
                eoi: false,
                cpuid: 0
            }
        );
        assert_eq!(lr.to_v2(), 0x9a00_6c1b);
    }

    /// HW=0 on GICv2: bit 19 is EOI and bits [12:10] the SGI source CPUID.
    /// Group 1 active SGI 5 from CPU 3, priority 0x08, EOI: 0x6000_0000
    /// (Grp1|Active) | 0x0080_0000 (priority field 1 << 23) | 0x8_0000 | 0xc00 | 5.
    #[test]
    fn gicv2_sgi_with_cpuid_and_eoi() {
        let v = 0x6088_0c05;
        let lr = Lr::from_v2(v);
        assert_eq!(
            lr,
            Lr {
                state: LrState::Active,
                hw: false,
                group: 1,
                priority: 0x08,
                vintid: 5,
                pintid: 0,
                eoi: true,
                cpuid: 3
            }
        );
        assert_eq!(lr.to_v2(), v);
    }

    /// IHI 0069H 12.4.6, by hand: State pending (1 << 62), HW (1 << 61),
    /// Group 1 (1 << 60), Priority 0xa0 << 48, pINTID 48 << 32, vINTID 48.
    #[test]
    fn gicv3_hw_value() {
        let v = 0x70a0_0030_0000_0030u64;
        let lr = Lr::from_v3(v);
        assert_eq!(
            lr,
            Lr {
                state: LrState::Pending,
                hw: true,
                group: 1,
                priority: 0xa0,
                vintid: 48,
                pintid: 48,
                eoi: false,
                cpuid: 0
            }
        );
        assert_eq!(lr.to_v3(), v);
    }

    /// HW=0 on GICv3: bit 41 is EOI; an LPI vINTID uses the full 32 bits.
    #[test]
    fn gicv3_lpi_with_eoi() {
        let v = 0x8080_0200_0000_2000u64;
        let lr = Lr::from_v3(v);
        assert_eq!(
            lr,
            Lr {
                state: LrState::Active,
                hw: false,
                group: 0,
                priority: 0x80,
                vintid: 8192,
                pintid: 0,
                eoi: true,
                cpuid: 0
            }
        );
        assert_eq!(lr.to_v3(), v);
    }

    #[test]
    fn checks_reject_what_the_layout_cannot_hold() {
        let mut lr = Lr { state: LrState::Pending, priority: 0xa0, vintid: 1024, ..Lr::EMPTY };
        assert!(lr.check_v2().unwrap_err().contains("VirtualID"));
        assert!(lr.check_v3().is_ok());
        lr.vintid = 40;
        lr.priority = 0xa4;
        assert!(lr.check_v2().unwrap_err().contains("bits [7:3]"));
        lr.priority = 0xa0;
        lr.cpuid = 1;
        assert!(lr.check_v2().unwrap_err().contains("virtual SGI"));
        assert!(lr.check_v3().unwrap_err().contains("no CPUID"));
    }

    #[test]
    fn words_round_trip() {
        let lr = Lr {
            state: LrState::PendingActive,
            hw: true,
            group: 1,
            priority: 0xf8,
            vintid: 8200,
            pintid: 0x1fff,
            eoi: false,
            cpuid: 0,
        };
        assert_eq!(Lr::from_words(lr.to_words()), lr);
    }
}
