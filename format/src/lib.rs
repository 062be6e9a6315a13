//! The contract between the host runner and the EL2 test kernel.
//!
//! Everything both sides must agree on lives here, in one place:
//!
//! - [`proto`]: where the compiled case is loaded, its header, the kernel's
//!   exit codes and the event schema version;
//! - [`op`]: the compiled-case operations and their word encoding;
//! - [`its`]: the GICv3/GICv4.0 ITS commands (IHI 0069H 5.3), one builder
//!   per command, and the ITS and Redistributor table registers
//!   (`GITS_TYPER`, `GITS_BASER<n>`, `GITS_CBASER`, `GICR_(V)PROPBASER`,
//!   `GICR_(V)PENDBASER`) and LPI configuration entries;
//! - [`lr`]: the List Register layouts of GICv2 (`GICH_LR<n>`, IHI 0048B
//!   5.3 (GICH_LR<n>)) and GICv3/v4 (`ICH_LR<n>_EL2`, IHI 0069 12.4.6), and the
//!   version-neutral fields the case language uses;
//! - [`regs`]: the registers a case may access by their spec name.
//!
//! The crate is `no_std` and allocation-free so the kernel can use it; the
//! host runner uses the same code, which is what the host unit tests cover.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod its;
pub mod lr;
pub mod op;
pub mod proto;
pub mod regs;
pub mod vif;

/// The GIC architecture version a run targets.
///
/// GICv4 is GICv3 plus direct injection of virtual LPIs (IHI 0069 chapter 7);
/// its virtual CPU interface is the GICv3 one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GicVersion {
    /// GICv2 with the Virtualization Extensions (IHI 0048B chapter 5).
    V2 = 2,
    /// GICv3 (IHI 0069).
    V3 = 3,
    /// GICv4.0 (IHI 0069); QEMU models 4.0, not 4.1.
    V4 = 4,
}

impl GicVersion {
    /// All versions, in order.
    pub const ALL: [GicVersion; 3] = [GicVersion::V2, GicVersion::V3, GicVersion::V4];

    /// The version for the number QEMU's `gic-version=` takes (2, 3 or 4).
    pub fn from_number(n: u32) -> Option<Self> {
        match n {
            2 => Some(Self::V2),
            3 => Some(Self::V3),
            4 => Some(Self::V4),
            _ => None,
        }
    }

    /// The short name used in case headers and on the command line: `v2`, `v3`, `v4`.
    pub fn name(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V3 => "v3",
            Self::V4 => "v4",
        }
    }

    /// The version for a short name (`v2`, `v3`, `v4`).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "v2" => Some(Self::V2),
            "v3" => Some(Self::V3),
            "v4" => Some(Self::V4),
            _ => None,
        }
    }

    /// Whether the CPU interface is the GICv3 system-register one (v3 and v4).
    pub fn is_v3_family(self) -> bool {
        self != Self::V2
    }
}
