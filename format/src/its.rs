//! ITS commands and the table and register encodings that go with them,
//! GICv3 and GICv4.0 (IHI 0069H chapter 5, "Locality-specific Peripheral
//! Interrupts and the ITS", and the register descriptions of chapter 12).
//!
//! - [`Command`]: one 32-byte command, four little-endian doublewords
//!   DW0..DW3 with the command number in DW0\[7:0\] (IHI 0069H 5.3, "ITS
//!   commands"). There is one builder per command, named as in the spec
//!   ([`mapd`], [`mapti`], [`vmapp`], ...); the GICv4.0 virtual commands use
//!   their GICv4.0 layouts (`GITS_TYPER.VMAPP` == 0), not the GICv4.1 ones.
//! - [`RdBase`]: the RDbase field (DW2\[51:16\], DW3\[51:16\] for MOVALL's
//!   second one), whose meaning `GITS_TYPER.PTA` selects.
//! - [`GitsTyper`], [`GitsBaser`], [`gits_cbaser`]: the ITS registers the
//!   kernel reads or programs.
//! - [`gicr_propbaser`], [`gicr_pendbaser`], [`gicr_vpropbaser`],
//!   [`gicr_vpendbaser`]: the Redistributor's LPI and GICv4.0 vLPI table
//!   registers.
//! - [`lpi_config`]: one byte of an LPI (or vLPI) Configuration table.
//! - [`FIRST_LPI`] … [`NO_DOORBELL`]: the ranges the kernel's tables cover,
//!   which the runner's parser enforces.
//!
//! Builders and encoders never panic: every input is masked to the width of
//! its field, and each one documents what it drops.
//!
//! Memory attributes. The kernel runs with the MMU off, so none of its own
//! accesses to these tables are cached. The encoders therefore ask the GIC
//! to access the tables and the command queue as Normal Inner Non-cacheable
//! (`InnerCache` = [`INNER_NON_CACHEABLE`]), with the outer attributes the
//! same as the inner ones (`OuterCache` = [`OUTER_SAME_AS_INNER`]) and
//! Non-shareable (`Shareability` = [`NON_SHAREABLE`]). Note that the
//! `GITS_*` registers keep InnerCache in bits \[61:59\] and OuterCache in
//! \[55:53\], while the `GICR_*BASER` registers keep them in \[9:7\] and
//! \[58:56\].

/// The first LPI INTID (IHI 0069H 1.2.1, INTID ranges).
pub const FIRST_LPI: u32 = 8192;
/// INTID bits the kernel programs for LPIs and vLPIs (`GICR_PROPBASER` and
/// `GICR_VPROPBASER.IDbits` + 1): 14, the least an LPI-capable GIC implements.
pub const LPI_ID_BITS: u8 = 14;
/// One past the last LPI INTID (and vINTID) the kernel's configuration
/// tables cover: the runner accepts `FIRST_LPI..LPI_END` in cases.
pub const LPI_END: u32 = 1 << LPI_ID_BITS;
/// DeviceIDs the kernel's device table covers (`0..MAX_DEVICES`).
pub const MAX_DEVICES: u32 = 256;
/// Collections (ICIDs) the kernel's collection table covers.
pub const MAX_ICIDS: u32 = 16;
/// vPEs the kernel's vPE table covers.
pub const MAX_VPES: u32 = 16;
/// Most EventIDs an ITT the kernel allocates covers (2^14).
pub const MAX_EVENTS: u32 = 1 << 14;
/// `Dbell_pINTID` meaning "no doorbell" (IHI 0069H 5.3, VMAPTI).
pub const NO_DOORBELL: u32 = 1023;

/// Bits `hi` down to `lo` (inclusive) set.
const fn bits(hi: u32, lo: u32) -> u64 {
    (u64::MAX >> (63 - hi)) & (u64::MAX << lo)
}

/// `InnerCache` = 0b001: Normal Inner Non-cacheable. Used by every encoder
/// in this module (`GITS_BASER<n>`, `GITS_CBASER`, `GICR_PROPBASER`,
/// `GICR_PENDBASER`, `GICR_VPROPBASER`, `GICR_VPENDBASER`).
pub const INNER_NON_CACHEABLE: u64 = 0b001;
/// `OuterCache` = 0b000: the memory type given by `InnerCache`; for Normal
/// memory the outer cacheability is the inner one.
pub const OUTER_SAME_AS_INNER: u64 = 0b000;
/// `Shareability` = 0b00: Non-shareable.
pub const NON_SHAREABLE: u64 = 0b00;

/// The size of one ITS command in bytes (the command queue is an array of them).
pub const COMMAND_BYTES: usize = 32;

/// Command numbers, DW0\[7:0\] (IHI 0069H 5.3).
pub mod opcode {
    /// `MOVI`.
    pub const MOVI: u8 = 0x01;
    /// `INT`.
    pub const INT: u8 = 0x03;
    /// `CLEAR`.
    pub const CLEAR: u8 = 0x04;
    /// `SYNC`.
    pub const SYNC: u8 = 0x05;
    /// `MAPD`.
    pub const MAPD: u8 = 0x08;
    /// `MAPC`.
    pub const MAPC: u8 = 0x09;
    /// `MAPTI`.
    pub const MAPTI: u8 = 0x0a;
    /// `MAPI`.
    pub const MAPI: u8 = 0x0b;
    /// `INV`.
    pub const INV: u8 = 0x0c;
    /// `INVALL`.
    pub const INVALL: u8 = 0x0d;
    /// `MOVALL`.
    pub const MOVALL: u8 = 0x0e;
    /// `DISCARD`.
    pub const DISCARD: u8 = 0x0f;
    /// `VMOVI` (GICv4).
    pub const VMOVI: u8 = 0x21;
    /// `VMOVP` (GICv4).
    pub const VMOVP: u8 = 0x22;
    /// `VSGI` (GICv4.1 only; no builder here, named for decoding).
    pub const VSGI: u8 = 0x23;
    /// `VSYNC` (GICv4).
    pub const VSYNC: u8 = 0x25;
    /// `VMAPP` (GICv4).
    pub const VMAPP: u8 = 0x29;
    /// `VMAPTI` (GICv4).
    pub const VMAPTI: u8 = 0x2a;
    /// `VMAPI` (GICv4).
    pub const VMAPI: u8 = 0x2b;
    /// `VINVALL` (GICv4).
    pub const VINVALL: u8 = 0x2d;
    /// `INVDB` (GICv4.1 only; no builder here, named for decoding).
    pub const INVDB: u8 = 0x2e;
}

/// One 32-byte ITS command: four little-endian doublewords DW0..DW3
/// (IHI 0069H 5.3). Write `.0[i]` to byte offset `8 * i` of the queue slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command(pub [u64; 4]);

impl Command {
    /// The command number, DW0\[7:0\].
    pub fn opcode(&self) -> u8 {
        self.0[0] as u8
    }

    /// The command's name in the spec (`"MAPTI"`, `"VMAPP"`, ...); `"?"` for
    /// a number this module does not know.
    pub fn name(&self) -> &'static str {
        match self.opcode() {
            opcode::MOVI => "MOVI",
            opcode::INT => "INT",
            opcode::CLEAR => "CLEAR",
            opcode::SYNC => "SYNC",
            opcode::MAPD => "MAPD",
            opcode::MAPC => "MAPC",
            opcode::MAPTI => "MAPTI",
            opcode::MAPI => "MAPI",
            opcode::INV => "INV",
            opcode::INVALL => "INVALL",
            opcode::MOVALL => "MOVALL",
            opcode::DISCARD => "DISCARD",
            opcode::VMOVI => "VMOVI",
            opcode::VMOVP => "VMOVP",
            opcode::VSGI => "VSGI",
            opcode::VSYNC => "VSYNC",
            opcode::VMAPP => "VMAPP",
            opcode::VMAPTI => "VMAPTI",
            opcode::VMAPI => "VMAPI",
            opcode::VINVALL => "VINVALL",
            opcode::INVDB => "INVDB",
            _ => "?",
        }
    }

    /// The 32 bytes as they sit in the command queue (each DW little-endian).
    pub fn to_le_bytes(&self) -> [u8; COMMAND_BYTES] {
        let mut out = [0; COMMAND_BYTES];
        for (chunk, dw) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&dw.to_le_bytes());
        }
        out
    }
}

/// The RDbase field of MAPC, MOVALL, SYNC, VMAPP and VMOVP.
///
/// With `GITS_TYPER.PTA` == 0 it holds the target Redistributor's processor
/// number (`GICR_TYPER.Processor_Number`), with `PTA` == 1 the physical
/// address of its `RD_base` frame (64 KiB aligned). Either way the field is
/// bits \[51:16\] of the doubleword ([`GitsTyper::rd_base`] picks the variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdBase {
    /// `PTA` == 0: the processor number, placed in the field's low bits.
    ProcessorNumber(u32),
    /// `PTA` == 1: the Redistributor's physical address.
    Address(u64),
}

/// The RDbase field: bits \[51:16\] of a doubleword.
const RDBASE: u64 = bits(51, 16);

impl RdBase {
    /// The value for bits \[51:16\] of the doubleword, already shifted into
    /// place: `number << 16`, or the address with bits \[15:0\] and
    /// \[63:52\] cleared. A `u32` processor number always fits the 36-bit
    /// field (`GICR_TYPER.Processor_Number` is 16 bits).
    pub fn field(self) -> u64 {
        match self {
            RdBase::ProcessorNumber(n) => (n as u64) << 16,
            RdBase::Address(a) => a & RDBASE,
        }
    }
}

/// `DeviceID` goes in DW0\[63:32\] of every command that names a device.
fn dw0(op: u8, device_id: u32) -> u64 {
    (op as u64) | ((device_id as u64) << 32)
}

/// The V bit of MAPD, MAPC and VMAPP: DW2\[63\].
fn valid_bit(valid: bool) -> u64 {
    (valid as u64) << 63
}

/// `vPEID` goes in DW1\[47:32\] of every GICv4 command that names a vPE.
fn vpe_field(vpe_id: u16) -> u64 {
    (vpe_id as u64) << 32
}

/// `MAPD` (0x08): map DeviceID `device_id` to the ITT at `itt_addr`
/// (IHI 0069H 5.3, MAPD).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[4:0\] Size, DW2\[63\] V,
/// DW2\[51:8\] ITT_addr (address bits \[51:8\]: the ITT is 256-byte aligned).
///
/// `size` is the Size field, the number of EventID bits minus one (kept:
/// bits \[4:0\]); `itt_addr` is a physical address, bits \[7:0\] and
/// \[63:52\] dropped. With `valid` false the device is unmapped.
pub fn mapd(device_id: u32, itt_addr: u64, size: u8, valid: bool) -> Command {
    Command([dw0(opcode::MAPD, device_id), (size & 0x1f) as u64, valid_bit(valid) | (itt_addr & bits(51, 8)), 0])
}

/// `MAPC` (0x09): map collection `icid` to the Redistributor `rd`
/// (IHI 0069H 5.3, MAPC).
///
/// Layout: DW2\[63\] V, DW2\[51:16\] RDbase, DW2\[15:0\] ICID. With `valid`
/// false the collection is unmapped.
pub fn mapc(icid: u16, rd: RdBase, valid: bool) -> Command {
    Command([opcode::MAPC as u64, 0, valid_bit(valid) | rd.field() | icid as u64, 0])
}

/// `MAPTI` (0x0A): map (DeviceID, EventID) to physical LPI `intid` in
/// collection `icid` (IHI 0069H 5.3, MAPTI).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID, DW1\[63:32\] pINTID,
/// DW2\[15:0\] ICID.
pub fn mapti(device_id: u32, event_id: u32, intid: u32, icid: u16) -> Command {
    Command([dw0(opcode::MAPTI, device_id), event_id as u64 | ((intid as u64) << 32), icid as u64, 0])
}

/// `MAPI` (0x0B): as [`mapti`] with pINTID = EventID (IHI 0069H 5.3, MAPI).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID, DW2\[15:0\] ICID.
pub fn mapi(device_id: u32, event_id: u32, icid: u16) -> Command {
    Command([dw0(opcode::MAPI, device_id), event_id as u64, icid as u64, 0])
}

/// A command whose only fields are DW0\[63:32\] DeviceID and DW1\[31:0\] EventID.
fn device_event(op: u8, device_id: u32, event_id: u32) -> Command {
    Command([dw0(op, device_id), event_id as u64, 0, 0])
}

/// `INT` (0x03): make the interrupt (DeviceID, EventID) translates to
/// pending (IHI 0069H 5.3, INT).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID.
pub fn int(device_id: u32, event_id: u32) -> Command {
    device_event(opcode::INT, device_id, event_id)
}

/// `CLEAR` (0x04): clear the pending state of the interrupt (DeviceID,
/// EventID) translates to (IHI 0069H 5.3, CLEAR).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID.
pub fn clear(device_id: u32, event_id: u32) -> Command {
    device_event(opcode::CLEAR, device_id, event_id)
}

/// `DISCARD` (0x0F): clear the pending state and unmap (DeviceID, EventID)
/// (IHI 0069H 5.3, DISCARD).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID.
pub fn discard(device_id: u32, event_id: u32) -> Command {
    device_event(opcode::DISCARD, device_id, event_id)
}

/// `INV` (0x0C): make the Redistributor reload the configuration of the
/// interrupt (DeviceID, EventID) translates to (IHI 0069H 5.3, INV).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID.
pub fn inv(device_id: u32, event_id: u32) -> Command {
    device_event(opcode::INV, device_id, event_id)
}

/// `INVALL` (0x0D): reload the configuration of every LPI in collection
/// `icid` (IHI 0069H 5.3, INVALL).
///
/// Layout: DW2\[15:0\] ICID.
pub fn invall(icid: u16) -> Command {
    Command([opcode::INVALL as u64, 0, icid as u64, 0])
}

/// `MOVI` (0x01): move (DeviceID, EventID) to collection `icid`
/// (IHI 0069H 5.3, MOVI).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID, DW2\[15:0\] ICID.
pub fn movi(device_id: u32, event_id: u32, icid: u16) -> Command {
    Command([dw0(opcode::MOVI, device_id), event_id as u64, icid as u64, 0])
}

/// `MOVALL` (0x0E): move every pending LPI of Redistributor `rd1` to `rd2`
/// (IHI 0069H 5.3, MOVALL).
///
/// Layout: DW2\[51:16\] RDbase1, DW3\[51:16\] RDbase2.
pub fn movall(rd1: RdBase, rd2: RdBase) -> Command {
    Command([opcode::MOVALL as u64, 0, rd1.field(), rd2.field()])
}

/// `SYNC` (0x05): wait until every earlier command's effects on
/// Redistributor `rd` are complete (IHI 0069H 5.3, SYNC).
///
/// Layout: DW2\[51:16\] RDbase.
pub fn sync(rd: RdBase) -> Command {
    Command([opcode::SYNC as u64, 0, rd.field(), 0])
}

/// `VMAPP` (0x29), GICv4.0 layout: map vPE `vpe_id` to Redistributor `rd`
/// with its virtual LPI Pending table at `vpt_addr` (IHI 0069H 5.3, VMAPP).
///
/// Layout: DW1\[47:32\] vPEID, DW2\[63\] V, DW2\[51:16\] RDbase,
/// DW3\[51:16\] VPT_addr (address bits \[51:16\]: the table is 64 KiB
/// aligned), DW3\[4:0\] VPT_size.
///
/// `vpt_size` is the number of vINTID bits the table covers minus one
/// (kept: bits \[4:0\]); `vpt_addr` drops bits \[15:0\] and \[63:52\].
/// With `valid` false the vPE is unmapped.
pub fn vmapp(vpe_id: u16, rd: RdBase, vpt_addr: u64, vpt_size: u8, valid: bool) -> Command {
    Command([
        opcode::VMAPP as u64,
        vpe_field(vpe_id),
        valid_bit(valid) | rd.field(),
        (vpt_addr & bits(51, 16)) | (vpt_size & 0x1f) as u64,
    ])
}

/// `VMAPTI` (0x2A): map (DeviceID, EventID) to vINTID `vintid` of vPE
/// `vpe_id` (IHI 0069H 5.3, VMAPTI).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID, DW1\[47:32\] vPEID,
/// DW2\[31:0\] vINTID, DW2\[63:32\] Dbell_pINTID.
///
/// `doorbell` is the physical LPI raised when the vPE is not resident;
/// 1023 means none.
pub fn vmapti(device_id: u32, event_id: u32, vpe_id: u16, vintid: u32, doorbell: u32) -> Command {
    Command([
        dw0(opcode::VMAPTI, device_id),
        event_id as u64 | vpe_field(vpe_id),
        vintid as u64 | ((doorbell as u64) << 32),
        0,
    ])
}

/// `VMAPI` (0x2B): as [`vmapti`] with vINTID = EventID (IHI 0069H 5.3, VMAPI).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID, DW1\[47:32\] vPEID,
/// DW2\[63:32\] Dbell_pINTID (1023: none).
pub fn vmapi(device_id: u32, event_id: u32, vpe_id: u16, doorbell: u32) -> Command {
    Command([dw0(opcode::VMAPI, device_id), event_id as u64 | vpe_field(vpe_id), (doorbell as u64) << 32, 0])
}

/// `VMOVI` (0x21): move (DeviceID, EventID) to vPE `vpe_id`
/// (IHI 0069H 5.3, VMOVI).
///
/// Layout: DW0\[63:32\] DeviceID, DW1\[31:0\] EventID, DW1\[47:32\] vPEID,
/// DW2\[0\] D, DW2\[63:32\] Dbell_pINTID.
///
/// `Some(pintid)` sets D and Dbell_pINTID, which replaces the event's
/// doorbell (`Some(1023)`: no doorbell from now on). `None` leaves D and
/// Dbell_pINTID 0, and D = 0 means the event keeps the doorbell it had: it
/// does not remove it (QEMU updates the ITE's doorbell only when D is 1;
/// Linux always sends D = 1, with 1023 for none).
pub fn vmovi(device_id: u32, event_id: u32, vpe_id: u16, doorbell: Option<u32>) -> Command {
    let dw2 = match doorbell {
        Some(pintid) => ((pintid as u64) << 32) | 1,
        None => 0,
    };
    Command([dw0(opcode::VMOVI, device_id), event_id as u64 | vpe_field(vpe_id), dw2, 0])
}

/// `VMOVP` (0x22), GICv4.0 layout: move vPE `vpe_id` to Redistributor `rd`
/// (IHI 0069H 5.3, VMOVP).
///
/// Layout: DW0\[47:32\] SequenceNumber, DW1\[15:0\] ITSList,
/// DW1\[47:32\] vPEID, DW2\[51:16\] RDbase.
///
/// `sequence` and `its_list` synchronise several ITSs; an ITS with
/// `GITS_TYPER.VMOVP` == 1 ignores them and 0 is fine.
pub fn vmovp(vpe_id: u16, rd: RdBase, sequence: u16, its_list: u16) -> Command {
    Command([opcode::VMOVP as u64 | ((sequence as u64) << 32), its_list as u64 | vpe_field(vpe_id), rd.field(), 0])
}

/// `VSYNC` (0x25): wait until every earlier command's effects on vPE
/// `vpe_id` are complete (IHI 0069H 5.3, VSYNC).
///
/// Layout: DW1\[47:32\] vPEID.
pub fn vsync(vpe_id: u16) -> Command {
    Command([opcode::VSYNC as u64, vpe_field(vpe_id), 0, 0])
}

/// `VINVALL` (0x2D): reload the configuration of every vLPI of vPE
/// `vpe_id` (IHI 0069H 5.3, VINVALL).
///
/// Layout: DW1\[47:32\] vPEID.
pub fn vinvall(vpe_id: u16) -> Command {
    Command([opcode::VINVALL as u64, vpe_field(vpe_id), 0, 0])
}

/// `GITS_TYPER`, the ITS Type Register, decoded (IHI 0069H chapter 12,
/// `GITS_TYPER`).
///
/// Layout: INV\[46\], UMSIirq\[45\], UMSI\[44\], nID\[43\], SVPET\[42:41\],
/// VMAPP\[40\], VSGI\[39\], MPAM\[38\], VMOVP\[37\], CIL\[36\],
/// CIDbits\[35:32\], HCC\[31:24\], PTA\[19\], SEIS\[18\], Devbits\[17:13\],
/// ID_bits\[12:8\], ITT_entry_size\[7:4\], CCT\[2\], Virtual\[1\],
/// Physical\[0\]. nID, SVPET, VMAPP and VSGI exist only with GICv4.1;
/// INV, UMSIirq, UMSI and MPAM are later, optional additions. Each reads 0
/// where it is not implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GitsTyper(pub u64);

impl GitsTyper {
    fn bit(self, n: u32) -> bool {
        (self.0 >> n) & 1 != 0
    }

    /// `Physical`: the ITS supports physical LPIs.
    pub fn physical(self) -> bool {
        self.bit(0)
    }

    /// `Virtual`: the ITS supports virtual LPIs and direct injection (GICv4).
    pub fn virtual_(self) -> bool {
        self.bit(1)
    }

    /// `CCT`: cumulative collection tables.
    pub fn cct(self) -> bool {
        self.bit(2)
    }

    /// Bytes per ITT entry (`ITT_entry_size` + 1).
    pub fn itt_entry_size(self) -> usize {
        ((self.0 >> 4) & 0xf) as usize + 1
    }

    /// EventID bits the ITS supports (`ID_bits` + 1).
    pub fn id_bits(self) -> u32 {
        ((self.0 >> 8) & 0x1f) as u32 + 1
    }

    /// DeviceID bits the ITS supports (`Devbits` + 1).
    pub fn dev_bits(self) -> u32 {
        ((self.0 >> 13) & 0x1f) as u32 + 1
    }

    /// `SEIS`: the ITS can generate locally generated system errors.
    pub fn seis(self) -> bool {
        self.bit(18)
    }

    /// `PTA`: RDbase is a physical address (1) or a processor number (0).
    pub fn pta(self) -> bool {
        self.bit(19)
    }

    /// `HCC`: the number of collections held in the ITS itself.
    pub fn hcc(self) -> u32 {
        ((self.0 >> 24) & 0xff) as u32
    }

    /// The raw `CIDbits` field (valid only when [`cil`](Self::cil)).
    pub fn cid_bits_field(self) -> u32 {
        ((self.0 >> 32) & 0xf) as u32
    }

    /// `CIL`: `CIDbits` gives the collection ID width; otherwise it is 16 bits.
    pub fn cil(self) -> bool {
        self.bit(36)
    }

    /// Collection ID bits: `CIDbits` + 1 with `CIL`, 16 without.
    pub fn collection_id_bits(self) -> u32 {
        if self.cil() {
            self.cid_bits_field() + 1
        } else {
            16
        }
    }

    /// `VMOVP`: a VMOVP need only go to one ITS; SequenceNumber and ITSList are ignored.
    pub fn vmovp(self) -> bool {
        self.bit(37)
    }

    /// `VMAPP`: the ITS takes GICv4.1's `VMAPP` format (a default doorbell
    /// per vPE, the virtual configuration table in the command); 0 on a
    /// GICv4.0 ITS, the format [`vmapp`] builds (IHI 0069H GITS_TYPER).
    pub fn vmapp(self) -> bool {
        self.bit(40)
    }

    /// `MPAM`: the ITS supports MPAM.
    pub fn mpam(self) -> bool {
        self.bit(38)
    }

    /// `VSGI` (GICv4.1): direct injection of vSGIs; a GICv4.0 ITS reads 0.
    pub fn vsgi(self) -> bool {
        self.bit(39)
    }

    /// The `VMAPP` field (GICv4.1): VMAPP uses the GICv4.1 layout. The
    /// builders here use the GICv4.0 one, which needs this to be 0.
    pub fn vmapp_v4_1(self) -> bool {
        self.bit(40)
    }

    /// `SVPET` (GICv4.1): how the vPE table is shared with Redistributors.
    pub fn svpet(self) -> u8 {
        ((self.0 >> 41) & 3) as u8
    }

    /// `nID` (GICv4.1): individual doorbells are not supported.
    pub fn nid(self) -> bool {
        self.bit(43)
    }

    /// `UMSI`: the ITS can report unmapped MSIs.
    pub fn umsi(self) -> bool {
        self.bit(44)
    }

    /// `UMSIirq`: the ITS can raise an interrupt for an unmapped MSI.
    pub fn umsi_irq(self) -> bool {
        self.bit(45)
    }

    /// `INV`: clearing `GITS_CTLR.Enabled` and `GITS_BASER<n>.Valid` invalidates the ITS caches.
    pub fn inv(self) -> bool {
        self.bit(46)
    }

    /// The RDbase for a Redistributor as this ITS wants it: `address` when
    /// `PTA` is 1, `processor_number` (`GICR_TYPER.Processor_Number`) when 0.
    pub fn rd_base(self, processor_number: u32, address: u64) -> RdBase {
        if self.pta() {
            RdBase::Address(address)
        } else {
            RdBase::ProcessorNumber(processor_number)
        }
    }
}

/// `GITS_BASER<n>.Type`: what the table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaserType {
    /// 0b000: the register is not implemented.
    Unimplemented,
    /// 0b001: the Device table.
    Devices,
    /// 0b010: the vPE table (GICv4).
    Vpes,
    /// 0b100: the Collection table.
    Collections,
    /// 0b011, 0b101..=0b111: reserved.
    Reserved(u8),
}

impl BaserType {
    /// The type for the three-bit field value.
    pub fn from_bits(v: u64) -> Self {
        match v & 7 {
            0 => Self::Unimplemented,
            1 => Self::Devices,
            2 => Self::Vpes,
            4 => Self::Collections,
            r => Self::Reserved(r as u8),
        }
    }
}

/// `GITS_BASER<n>.Page_Size`: the page size of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    /// 0b00: 4 KiB.
    K4,
    /// 0b01: 16 KiB.
    K16,
    /// 0b10: 64 KiB.
    K64,
}

impl PageSize {
    /// The page size in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Self::K4 => 4 << 10,
            Self::K16 => 16 << 10,
            Self::K64 => 64 << 10,
        }
    }

    /// The two-bit field value.
    pub fn bits(self) -> u64 {
        match self {
            Self::K4 => 0b00,
            Self::K16 => 0b01,
            Self::K64 => 0b10,
        }
    }

    /// The page size for the field value; the reserved 0b11 decodes as
    /// 64 KiB, as QEMU does.
    pub fn from_bits(v: u64) -> Self {
        match v & 3 {
            0 => Self::K4,
            1 => Self::K16,
            _ => Self::K64,
        }
    }
}

/// `GITS_BASER<n>`, an ITS Translation Table Descriptor (IHI 0069H
/// chapter 12, `GITS_BASER<n>`), decoded and encoded.
///
/// Layout: Valid\[63\], Indirect\[62\], InnerCache\[61:59\], Type\[58:56\],
/// OuterCache\[55:53\], Entry_Size\[52:48\] (bytes - 1),
/// Physical_Address\[47:12\], Shareability\[11:10\], Page_Size\[9:8\],
/// Size\[7:0\] (pages - 1). Physical_Address holds address bits \[47:12\]
/// for 4 and 16 KiB pages; for 64 KiB pages bits \[47:16\] hold address
/// bits \[47:16\] and bits \[15:12\] hold address bits \[51:48\].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GitsBaser(pub u64);

/// Type\[58:56\] and Entry_Size\[52:48\], which the ITS fixes (RO).
const BASER_KEPT: u64 = bits(58, 56) | bits(52, 48);

impl GitsBaser {
    /// `Valid`: software has allocated the table.
    pub fn valid(self) -> bool {
        self.0 >> 63 != 0
    }

    /// `Indirect`: a two-level table.
    pub fn indirect(self) -> bool {
        (self.0 >> 62) & 1 != 0
    }

    /// `InnerCache`, the raw three-bit field.
    pub fn inner_cache(self) -> u64 {
        (self.0 >> 59) & 7
    }

    /// `Type`: what the table holds.
    pub fn table_type(self) -> BaserType {
        BaserType::from_bits(self.0 >> 56)
    }

    /// `OuterCache`, the raw three-bit field.
    pub fn outer_cache(self) -> u64 {
        (self.0 >> 53) & 7
    }

    /// Bytes per table entry (`Entry_Size` + 1).
    pub fn entry_size(self) -> usize {
        ((self.0 >> 48) & 0x1f) as usize + 1
    }

    /// `Shareability`, the raw two-bit field.
    pub fn shareability(self) -> u64 {
        (self.0 >> 10) & 3
    }

    /// `Page_Size` (0b11, reserved, decodes as 64 KiB).
    pub fn page_size(self) -> PageSize {
        PageSize::from_bits(self.0 >> 8)
    }

    /// Pages the table spans (`Size` + 1).
    pub fn pages(self) -> usize {
        (self.0 & 0xff) as usize + 1
    }

    /// The table's physical address, decoded for the register's page size.
    pub fn physical_address(self) -> u64 {
        match self.page_size() {
            PageSize::K64 => (self.0 & bits(47, 16)) | (((self.0 >> 12) & 0xf) << 48),
            _ => self.0 & bits(47, 12),
        }
    }

    /// The value to write: a flat table (Indirect = 0) of `pages` pages of
    /// `page_size` at `addr`, with [`INNER_NON_CACHEABLE`],
    /// [`OUTER_SAME_AS_INNER`] and [`NON_SHAREABLE`].
    ///
    /// `read` is the register's current value; its Type and Entry_Size,
    /// which the ITS fixes, are kept, and nothing else of it. `addr` is
    /// aligned down to `page_size` and keeps bits \[47:0\] (\[51:0\] for
    /// 64 KiB pages, with bits \[51:48\] moved to \[15:12\]). `pages` is
    /// 1..=256: Size gets the low eight bits of `pages - 1`, 0 for 0.
    pub fn encode(read: u64, addr: u64, page_size: PageSize, pages: u32, valid: bool) -> u64 {
        let address = match page_size {
            PageSize::K4 => addr & bits(47, 12),
            PageSize::K16 => addr & bits(47, 14),
            PageSize::K64 => (addr & bits(47, 16)) | (((addr >> 48) & 0xf) << 12),
        };
        valid_bit(valid)
            | (INNER_NON_CACHEABLE << 59)
            | (read & BASER_KEPT)
            | (OUTER_SAME_AS_INNER << 53)
            | address
            | (NON_SHAREABLE << 10)
            | (page_size.bits() << 8)
            | (pages.saturating_sub(1) & 0xff) as u64
    }
}

/// `GITS_CBASER`, the command queue descriptor (IHI 0069H chapter 12,
/// `GITS_CBASER`): the value for a queue of `pages_4k` 4 KiB pages at `addr`.
///
/// Layout: Valid\[63\], InnerCache\[61:59\], OuterCache\[55:53\],
/// Physical_Address\[51:12\], Shareability\[11:10\], Size\[7:0\] (4 KiB
/// pages - 1). InnerCache is [`INNER_NON_CACHEABLE`], OuterCache
/// [`OUTER_SAME_AS_INNER`], Shareability [`NON_SHAREABLE`].
///
/// `addr` keeps bits \[51:12\]; `pages_4k` is 1..=256 (Size gets the low
/// eight bits of `pages_4k - 1`, 0 for 0).
pub fn gits_cbaser(addr: u64, pages_4k: u32, valid: bool) -> u64 {
    valid_bit(valid)
        | (INNER_NON_CACHEABLE << 59)
        | (OUTER_SAME_AS_INNER << 53)
        | (addr & bits(51, 12))
        | (NON_SHAREABLE << 10)
        | (pages_4k.saturating_sub(1) & 0xff) as u64
}

/// `GICR_PROPBASER` and the GICv4.0 `GICR_VPROPBASER` share this layout.
fn propbaser(addr: u64, id_bits: u8) -> u64 {
    (OUTER_SAME_AS_INNER << 56)
        | (addr & bits(51, 12))
        | (NON_SHAREABLE << 10)
        | (INNER_NON_CACHEABLE << 7)
        | (id_bits.saturating_sub(1) & 0x1f) as u64
}

/// `GICR_PROPBASER`, the LPI Configuration table base (IHI 0069H chapter
/// 12, `GICR_PROPBASER`): a table at `addr` covering `id_bits` INTID bits.
///
/// Layout: OuterCache\[58:56\], Physical_Address\[51:12\],
/// Shareability\[11:10\], InnerCache\[9:7\], IDbits\[4:0\] (bits - 1).
/// InnerCache is [`INNER_NON_CACHEABLE`], OuterCache
/// [`OUTER_SAME_AS_INNER`], Shareability [`NON_SHAREABLE`].
///
/// `addr` keeps bits \[51:12\]; IDbits gets the low five bits of
/// `id_bits - 1` (0 for 0). The table has one byte per LPI, INTIDs 8192 up
/// to `2^id_bits - 1`.
pub fn gicr_propbaser(addr: u64, id_bits: u8) -> u64 {
    propbaser(addr, id_bits)
}

/// `GICR_PENDBASER`, the LPI Pending table base (IHI 0069H chapter 12,
/// `GICR_PENDBASER`): a table at `addr`; `ptz` tells the Redistributor the
/// table is all zeros.
///
/// Layout: PTZ\[62\], OuterCache\[58:56\], Physical_Address\[51:16\],
/// Shareability\[11:10\], InnerCache\[9:7\]. InnerCache is
/// [`INNER_NON_CACHEABLE`], OuterCache [`OUTER_SAME_AS_INNER`],
/// Shareability [`NON_SHAREABLE`]. `addr` keeps bits \[51:16\] (the table
/// is 64 KiB aligned).
pub fn gicr_pendbaser(addr: u64, ptz: bool) -> u64 {
    ((ptz as u64) << 62)
        | (OUTER_SAME_AS_INNER << 56)
        | (addr & bits(51, 16))
        | (NON_SHAREABLE << 10)
        | (INNER_NON_CACHEABLE << 7)
}

/// `GICR_VPROPBASER`, GICv4.0 layout: the virtual LPI Configuration table
/// of the resident vPE's VM (IHI 0069H chapter 12, `GICR_VPROPBASER`).
///
/// The layout and masking are [`gicr_propbaser`]'s: OuterCache\[58:56\],
/// Physical_Address\[51:12\], Shareability\[11:10\], InnerCache\[9:7\],
/// IDbits\[4:0\] (`id_bits - 1`).
pub fn gicr_vpropbaser(addr: u64, id_bits: u8) -> u64 {
    propbaser(addr, id_bits)
}

/// `GICR_VPENDBASER.Valid`, bit 63: a vPE is resident.
pub const GICR_VPENDBASER_VALID: u64 = 1 << 63;
/// `GICR_VPENDBASER.IDAI`, bit 62: the IMPLEMENTATION DEFINED area of the
/// virtual pending table is invalid.
pub const GICR_VPENDBASER_IDAI: u64 = 1 << 62;
/// `GICR_VPENDBASER.PendingLast`, bit 61: read after `Valid` went from 1 to
/// 0, whether the vPE left pending and enabled vLPIs behind.
pub const GICR_VPENDBASER_PENDING_LAST: u64 = 1 << 61;
/// `GICR_VPENDBASER.Dirty`, bit 60 (read-only): 1 while the Redistributor
/// is still loading or saving the vPE after a write to `Valid`.
pub const GICR_VPENDBASER_DIRTY: u64 = 1 << 60;

/// `GICR_VPENDBASER`, GICv4.0 layout: the resident vPE's virtual LPI
/// Pending table (IHI 0069H chapter 12, `GICR_VPENDBASER`).
///
/// Layout: Valid\[63\], IDAI\[62\], PendingLast\[61\], Dirty\[60\] (read-only,
/// written 0 here; see [`GICR_VPENDBASER_DIRTY`]), OuterCache\[58:56\],
/// Physical_Address\[51:16\], Shareability\[11:10\], InnerCache\[9:7\].
/// InnerCache is [`INNER_NON_CACHEABLE`], OuterCache [`OUTER_SAME_AS_INNER`],
/// Shareability [`NON_SHAREABLE`]. `addr` keeps bits \[51:16\].
pub fn gicr_vpendbaser(addr: u64, valid: bool, idai: bool, pending_last: bool) -> u64 {
    valid_bit(valid)
        | if idai { GICR_VPENDBASER_IDAI } else { 0 }
        | if pending_last { GICR_VPENDBASER_PENDING_LAST } else { 0 }
        | (OUTER_SAME_AS_INNER << 56)
        | (addr & bits(51, 16))
        | (NON_SHAREABLE << 10)
        | (INNER_NON_CACHEABLE << 7)
}

/// One LPI Configuration table entry (IHI 0069H 5.1, "LPI Configuration
/// tables"; the virtual table uses the same format).
///
/// Layout: Priority\[7:2\], bit 1 RES1, Enable\[0\]. `priority` is an 8-bit
/// priority of which bits \[1:0\] are dropped.
pub fn lpi_config(priority: u8, enable: bool) -> u8 {
    (priority & 0xfc) | 0b10 | enable as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    // Command layouts, IHI 0069H 5.3. Every expected doubleword below is
    // written out by hand from the field positions in the builder's docs.

    #[test]
    fn mapd_fields() {
        assert_eq!(
            mapd(0x1234, 0x4100_0100, 4, true).0,
            [
                0x0000_1234_0000_0008, // DW0: DeviceID 0x1234 << 32 | 0x08
                0x0000_0000_0000_0004, // DW1: Size 4 (five EventID bits)
                0x8000_0000_4100_0100, // DW2: V=1 << 63 | ITT 0x4100_0100 >> 8 << 8
                0,
            ]
        );
    }

    #[test]
    fn mapd_masks_size_and_itt_address() {
        assert_eq!(
            mapd(0xffff_ffff, 0xfffa_0012_3456_78ff, 0xff, false).0,
            [
                0xffff_ffff_0000_0008, // DW0: DeviceID 0xffff_ffff << 32 | 0x08
                0x0000_0000_0000_001f, // DW1: Size 0xff & 0x1f
                0x000a_0012_3456_7800, // DW2: V=0, address bits [51:8] only
                0,
            ]
        );
    }

    #[test]
    fn mapc_fields() {
        // DW2: V=1 << 63 | processor 3 << 16 | ICID 0x2a
        assert_eq!(mapc(0x2a, RdBase::ProcessorNumber(3), true).0, [0x09, 0, 0x8000_0000_0003_002a, 0]);
        // DW2: V=0 | RD_base 0x080a_0000 (bits [51:16]) | ICID 7
        assert_eq!(mapc(7, RdBase::Address(0x080a_0000), false).0, [0x09, 0, 0x0000_0000_080a_0007, 0]);
    }

    #[test]
    fn mapti_fields() {
        assert_eq!(
            mapti(0x10, 0x20, 8192, 3).0,
            [
                0x0000_0010_0000_000a, // DW0: DeviceID 0x10 << 32 | 0x0a
                0x0000_2000_0000_0020, // DW1: pINTID 8192 (0x2000) << 32 | EventID 0x20
                0x0000_0000_0000_0003, // DW2: ICID 3
                0,
            ]
        );
    }

    #[test]
    fn mapi_fields() {
        assert_eq!(
            mapi(0x10, 8200, 5).0,
            [
                0x0000_0010_0000_000b, // DW0: DeviceID 0x10 << 32 | 0x0b
                0x0000_0000_0000_2008, // DW1: EventID 8200
                0x0000_0000_0000_0005, // DW2: ICID 5
                0,
            ]
        );
    }

    #[test]
    fn int_fields() {
        // DW0: DeviceID 0xdead_beef << 32 | 0x03; DW1: EventID 0x1234_5678
        assert_eq!(int(0xdead_beef, 0x1234_5678).0, [0xdead_beef_0000_0003, 0x0000_0000_1234_5678, 0, 0]);
    }

    #[test]
    fn clear_fields() {
        // DW0: DeviceID 1 << 32 | 0x04; DW1: EventID 2
        assert_eq!(clear(1, 2).0, [0x0000_0001_0000_0004, 2, 0, 0]);
    }

    #[test]
    fn discard_fields() {
        // DW0: DeviceID 1 << 32 | 0x0f; DW1: EventID 2
        assert_eq!(discard(1, 2).0, [0x0000_0001_0000_000f, 2, 0, 0]);
    }

    #[test]
    fn inv_fields() {
        // DW0: DeviceID 7 << 32 | 0x0c; DW1: EventID 9
        assert_eq!(inv(7, 9).0, [0x0000_0007_0000_000c, 9, 0, 0]);
    }

    #[test]
    fn invall_fields() {
        // DW0: 0x0d; DW2: ICID 0xbeef
        assert_eq!(invall(0xbeef).0, [0x0d, 0, 0xbeef, 0]);
    }

    #[test]
    fn movi_fields() {
        // DW0: DeviceID 3 << 32 | 0x01; DW1: EventID 4; DW2: ICID 5
        assert_eq!(movi(3, 4, 5).0, [0x0000_0003_0000_0001, 4, 5, 0]);
    }

    #[test]
    fn movall_fields() {
        // DW2: RDbase1 = processor 1 << 16; DW3: RDbase2 = processor 2 << 16
        assert_eq!(
            movall(RdBase::ProcessorNumber(1), RdBase::ProcessorNumber(2)).0,
            [0x0e, 0, 0x0000_0000_0001_0000, 0x0000_0000_0002_0000]
        );
        // The same with PTA=1: the two RD_base addresses, bits [51:16].
        assert_eq!(
            movall(RdBase::Address(0x080a_0000), RdBase::Address(0x080c_0000)).0,
            [0x0e, 0, 0x0000_0000_080a_0000, 0x0000_0000_080c_0000]
        );
    }

    #[test]
    fn sync_fields() {
        // DW2: processor 5 << 16
        assert_eq!(sync(RdBase::ProcessorNumber(5)).0, [0x05, 0, 0x0000_0000_0005_0000, 0]);
        // DW2: address 0xfff0_1234_5678_9abc keeps bits [51:16]: 0x0000_1234_5678_0000
        assert_eq!(sync(RdBase::Address(0xfff0_1234_5678_9abc)).0, [0x05, 0, 0x0000_1234_5678_0000, 0]);
    }

    #[test]
    fn vmapp_fields() {
        assert_eq!(
            vmapp(0x42, RdBase::ProcessorNumber(1), 0x4050_0000, 13, true).0,
            [
                0x0000_0000_0000_0029, // DW0: 0x29
                0x0000_0042_0000_0000, // DW1: vPEID 0x42 << 32
                0x8000_0000_0001_0000, // DW2: V=1 << 63 | processor 1 << 16
                0x0000_0000_4050_000d, // DW3: VPT_addr 0x4050_0000 | VPT_size 13
            ]
        );
    }

    #[test]
    fn vmapp_masks_address_and_size() {
        assert_eq!(
            vmapp(0xffff, RdBase::Address(0x080e_0000), 0xfff1_4050_1234, 0xff, false).0,
            [
                0x0000_0000_0000_0029,
                0x0000_ffff_0000_0000, // DW1: vPEID 0xffff << 32
                0x0000_0000_080e_0000, // DW2: V=0 | RD_base 0x080e_0000
                0x0000_fff1_4050_001f, // DW3: address bits [51:16] | VPT_size 0xff & 0x1f
            ]
        );
    }

    #[test]
    fn vmapti_fields() {
        assert_eq!(
            vmapti(0x10, 0x20, 0x42, 8192, 1023).0,
            [
                0x0000_0010_0000_002a, // DW0: DeviceID 0x10 << 32 | 0x2a
                0x0000_0042_0000_0020, // DW1: vPEID 0x42 << 32 | EventID 0x20
                0x0000_03ff_0000_2000, // DW2: Dbell_pINTID 1023 (0x3ff) << 32 | vINTID 8192
                0,
            ]
        );
    }

    #[test]
    fn vmapi_fields() {
        assert_eq!(
            vmapi(0x10, 0x21, 0x42, 8193).0,
            [
                0x0000_0010_0000_002b, // DW0: DeviceID 0x10 << 32 | 0x2b
                0x0000_0042_0000_0021, // DW1: vPEID 0x42 << 32 | EventID 0x21
                0x0000_2001_0000_0000, // DW2: Dbell_pINTID 8193 (0x2001) << 32
                0,
            ]
        );
    }

    #[test]
    fn vmovi_fields() {
        assert_eq!(
            vmovi(0x10, 0x20, 0x43, Some(8194)).0,
            [
                0x0000_0010_0000_0021, // DW0: DeviceID 0x10 << 32 | 0x21
                0x0000_0043_0000_0020, // DW1: vPEID 0x43 << 32 | EventID 0x20
                0x0000_2002_0000_0001, // DW2: Dbell_pINTID 8194 (0x2002) << 32 | D=1
                0,
            ]
        );
        // No doorbell: D=0 and Dbell_pINTID 0.
        assert_eq!(vmovi(0x10, 0x20, 0x43, None).0, [0x0000_0010_0000_0021, 0x0000_0043_0000_0020, 0, 0]);
    }

    #[test]
    fn vmovp_fields() {
        assert_eq!(
            vmovp(0x42, RdBase::ProcessorNumber(2), 0x1234, 3).0,
            [
                0x0000_1234_0000_0022, // DW0: SequenceNumber 0x1234 << 32 | 0x22
                0x0000_0042_0000_0003, // DW1: vPEID 0x42 << 32 | ITSList 3
                0x0000_0000_0002_0000, // DW2: processor 2 << 16
                0,
            ]
        );
    }

    #[test]
    fn vsync_fields() {
        // DW0: 0x25; DW1: vPEID 0xffff << 32
        assert_eq!(vsync(0xffff).0, [0x25, 0x0000_ffff_0000_0000, 0, 0]);
    }

    #[test]
    fn vinvall_fields() {
        // DW0: 0x2d; DW1: vPEID 7 << 32
        assert_eq!(vinvall(7).0, [0x2d, 0x0000_0007_0000_0000, 0, 0]);
    }

    #[test]
    fn rdbase_field_both_variants() {
        assert_eq!(RdBase::ProcessorNumber(3).field(), 0x3_0000); // 3 << 16
        assert_eq!(RdBase::ProcessorNumber(0xffff).field(), 0xffff_0000); // 0xffff << 16
        assert_eq!(RdBase::ProcessorNumber(u32::MAX).field(), 0x0000_ffff_ffff_0000); // fits [51:16]
        assert_eq!(RdBase::Address(0x080a_0000).field(), 0x080a_0000); // already 64 KiB aligned
        assert_eq!(RdBase::Address(u64::MAX).field(), 0x000f_ffff_ffff_0000); // bits [51:16] only
    }

    #[test]
    fn every_opcode_has_its_spec_name() {
        let table: [(u64, &str); 21] = [
            (0x01, "MOVI"),
            (0x03, "INT"),
            (0x04, "CLEAR"),
            (0x05, "SYNC"),
            (0x08, "MAPD"),
            (0x09, "MAPC"),
            (0x0a, "MAPTI"),
            (0x0b, "MAPI"),
            (0x0c, "INV"),
            (0x0d, "INVALL"),
            (0x0e, "MOVALL"),
            (0x0f, "DISCARD"),
            (0x21, "VMOVI"),
            (0x22, "VMOVP"),
            (0x23, "VSGI"),
            (0x25, "VSYNC"),
            (0x29, "VMAPP"),
            (0x2a, "VMAPTI"),
            (0x2b, "VMAPI"),
            (0x2d, "VINVALL"),
            (0x2e, "INVDB"),
        ];
        for (op, name) in table {
            // Fields above DW0[7:0] do not change the name.
            let c = Command([0xffff_ffff_0000_0000 | op, u64::MAX, u64::MAX, u64::MAX]);
            assert_eq!(c.opcode() as u64, op);
            assert_eq!(c.name(), name, "opcode {op:#04x}");
        }
        for op in [0x00, 0x02, 0x06, 0x07, 0x10, 0x20, 0x24, 0x26, 0x2c, 0x2f, 0xff] {
            assert_eq!(Command([op, 0, 0, 0]).name(), "?", "opcode {op:#04x}");
        }
    }

    #[test]
    fn builders_name_their_command() {
        let rd = RdBase::ProcessorNumber(0);
        let named = [
            (mapd(0, 0, 0, true), "MAPD"),
            (mapc(0, rd, true), "MAPC"),
            (mapti(0, 0, 0, 0), "MAPTI"),
            (mapi(0, 0, 0), "MAPI"),
            (int(0, 0), "INT"),
            (clear(0, 0), "CLEAR"),
            (discard(0, 0), "DISCARD"),
            (inv(0, 0), "INV"),
            (invall(0), "INVALL"),
            (movi(0, 0, 0), "MOVI"),
            (movall(rd, rd), "MOVALL"),
            (sync(rd), "SYNC"),
            (vmapp(0, rd, 0, 0, true), "VMAPP"),
            (vmapti(0, 0, 0, 0, 1023), "VMAPTI"),
            (vmapi(0, 0, 0, 1023), "VMAPI"),
            (vmovi(0, 0, 0, None), "VMOVI"),
            (vmovp(0, rd, 0, 0), "VMOVP"),
            (vsync(0), "VSYNC"),
            (vinvall(0), "VINVALL"),
        ];
        for (c, name) in named {
            assert_eq!(c.name(), name);
        }
    }

    #[test]
    fn command_bytes_are_little_endian_doublewords() {
        let c = Command([0x0807_0605_0403_0201, 0, 0, 0x2021_2223_2425_2627]);
        let b = c.to_le_bytes();
        assert_eq!(b[..8], [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
        assert_eq!(b[8..24], [0; 16]);
        assert_eq!(b[24..], [0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, 0x20]);
    }

    /// A GICv4.0 ITS like QEMU's, by hand: Physical (bit 0) | Virtual (bit 1)
    /// | ITT_entry_size 11 << 4 (0xb0) | ID_bits 15 << 8 (0xf00) | Devbits 15
    /// << 13 (0x1_e000) | PTA (1 << 19, 0x8_0000) | CIDbits 15 << 32 | CIL
    /// (1 << 36) | VMOVP (1 << 37): low word 0x0009_efb3, high word 0x3f.
    #[test]
    fn gits_typer_v4_0_value() {
        let t = GitsTyper(0x0000_003f_0009_efb3);
        assert!(t.physical());
        assert!(t.virtual_());
        assert!(!t.cct());
        assert_eq!(t.itt_entry_size(), 12);
        assert_eq!(t.id_bits(), 16);
        assert_eq!(t.dev_bits(), 16);
        assert!(!t.seis());
        assert!(t.pta());
        assert_eq!(t.hcc(), 0);
        assert_eq!(t.cid_bits_field(), 15);
        assert!(t.cil());
        assert_eq!(t.collection_id_bits(), 16);
        assert!(t.vmovp());
        assert!(!t.mpam());
        assert!(!t.vsgi());
        assert!(!t.vmapp_v4_1());
        assert_eq!(t.svpet(), 0);
        assert!(!t.nid());
        assert!(!t.umsi());
        assert!(!t.umsi_irq());
        assert!(!t.inv());
        assert_eq!(t.rd_base(3, 0x080a_0000), RdBase::Address(0x080a_0000));
    }

    /// The other bits, by hand: CCT (bit 2, 0x4) | SEIS (1 << 18, 0x4_0000) |
    /// HCC 0x20 << 24 (0x2000_0000) = low word 0x2004_0004; CIDbits 7 (0x7) |
    /// MPAM 1 << 6 | VSGI 1 << 7 | VMAPP 1 << 8 | SVPET 0b10 << 9 | nID 1 << 11
    /// | UMSI 1 << 12 | UMSIirq 1 << 13 | INV 1 << 14 (bit n + 32 of the
    /// register) = high word 0x7dc7. CIL is 0, so collection IDs are 16 bits
    /// whatever CIDbits says.
    #[test]
    fn gits_typer_other_fields() {
        let t = GitsTyper(0x0000_7dc7_2004_0004);
        assert!(!t.physical());
        assert!(!t.virtual_());
        assert!(t.cct());
        assert_eq!(t.itt_entry_size(), 1);
        assert_eq!(t.id_bits(), 1);
        assert_eq!(t.dev_bits(), 1);
        assert!(t.seis());
        assert!(!t.pta());
        assert_eq!(t.hcc(), 0x20);
        assert_eq!(t.cid_bits_field(), 7);
        assert!(!t.cil());
        assert_eq!(t.collection_id_bits(), 16);
        assert!(!t.vmovp());
        assert!(t.mpam());
        assert!(t.vsgi());
        assert!(t.vmapp_v4_1());
        assert_eq!(t.svpet(), 0b10);
        assert!(t.nid());
        assert!(t.umsi());
        assert!(t.umsi_irq());
        assert!(t.inv());
        assert_eq!(t.rd_base(3, 0x080a_0000), RdBase::ProcessorNumber(3));
        // CIL = 1 with CIDbits 7: eight collection ID bits.
        assert_eq!(GitsTyper(0x0000_0017_0000_0000).collection_id_bits(), 8);
    }

    /// A Device table register as the ITS resets it (Type 0b001 << 56 |
    /// Entry_Size 7 << 48, i.e. 8-byte entries; the GIC-600 TRM gives
    /// GITS_BASER0 this reset value, 0x0107_0000_0000_0000), programmed for
    /// two 4 KiB pages at 0x4010_0000:
    /// Valid 1 << 63 | InnerCache 0b001 << 59 (0x0800_...) | Type and
    /// Entry_Size kept (0x0107_...) | address 0x4010_0000 | Page_Size 0 | Size 1.
    #[test]
    fn gits_baser_4k_encoding() {
        let read = 0x0107_0000_0000_0000;
        let v = GitsBaser::encode(read, 0x4010_0000, PageSize::K4, 2, true);
        assert_eq!(v, 0x8907_0000_4010_0001);
        let b = GitsBaser(v);
        assert!(b.valid());
        assert!(!b.indirect());
        assert_eq!(b.table_type(), BaserType::Devices);
        assert_eq!(b.entry_size(), 8);
        assert_eq!(b.inner_cache(), 0b001);
        assert_eq!(b.outer_cache(), 0);
        assert_eq!(b.shareability(), 0);
        assert_eq!(b.page_size(), PageSize::K4);
        assert_eq!(b.pages(), 2);
        assert_eq!(b.physical_address(), 0x4010_0000);
    }

    /// A vPE table (Type 0b010 << 56, 0x0207_...) in three 64 KiB pages at
    /// the 52-bit address 0x000a_1234_5678_0000: bits [47:16] stay in place
    /// (0x1234_5678 << 16), bits [51:48] (0xa) go to [15:12] (0xa000);
    /// Page_Size 0b10 << 8 (0x200); Size 2. High half 0x8000 | 0x0800 |
    /// 0x0200 | 0x0007 = 0x8a07, low half 0x5678_a202.
    #[test]
    fn gits_baser_64k_encoding_moves_address_bits_51_48() {
        let v = GitsBaser::encode(0x0207_0000_0000_0000, 0x000a_1234_5678_0000, PageSize::K64, 3, true);
        assert_eq!(v, 0x8a07_1234_5678_a202);
        let b = GitsBaser(v);
        assert_eq!(b.table_type(), BaserType::Vpes);
        assert_eq!(b.page_size(), PageSize::K64);
        assert_eq!(b.pages(), 3);
        assert_eq!(b.physical_address(), 0x000a_1234_5678_0000);
    }

    /// Only Type (0b111 << 56) and Entry_Size (0x1f << 48) survive from the
    /// read value; a 16 KiB-page address is aligned down to 16 KiB (bits
    /// [13:12] dropped) and pages 0 encodes as Size 0: InnerCache 0x0800_... |
    /// 0x071f_... | address 0x4010_4000 | Page_Size 0b01 << 8.
    #[test]
    fn gits_baser_keeps_only_type_and_entry_size() {
        let v = GitsBaser::encode(u64::MAX, 0x4010_7fff, PageSize::K16, 0, false);
        assert_eq!(v, 0x0f1f_0000_4010_4100);
        assert_eq!(GitsBaser(v).table_type(), BaserType::Reserved(7));
        assert_eq!(GitsBaser(v).entry_size(), 32);
        assert_eq!(GitsBaser(v).page_size(), PageSize::K16);
        // Size keeps the low eight bits of pages - 1: 257 pages -> 256 & 0xff = 0.
        assert_eq!(GitsBaser::encode(0, 0, PageSize::K4, 257, false), 0x0800_0000_0000_0000);
    }

    #[test]
    fn gits_baser_type_decoding() {
        assert_eq!(GitsBaser(0).table_type(), BaserType::Unimplemented);
        assert_eq!(GitsBaser(0x0100_0000_0000_0000).table_type(), BaserType::Devices);
        assert_eq!(GitsBaser(0x0200_0000_0000_0000).table_type(), BaserType::Vpes);
        assert_eq!(GitsBaser(0x0300_0000_0000_0000).table_type(), BaserType::Reserved(3));
        assert_eq!(GitsBaser(0x0400_0000_0000_0000).table_type(), BaserType::Collections);
        assert_eq!(GitsBaser(0x0500_0000_0000_0000).table_type(), BaserType::Reserved(5));
        // Valid, Indirect and InnerCache above Type do not leak into it.
        assert_eq!(GitsBaser(0xfc00_0000_0000_0000).table_type(), BaserType::Collections);
        // Page_Size 0b11 (0x300) is reserved and decodes as 64 KiB.
        assert_eq!(GitsBaser(0x300).page_size(), PageSize::K64);
        assert_eq!(PageSize::K4.bytes(), 0x1000);
        assert_eq!(PageSize::K16.bytes(), 0x4000);
        assert_eq!(PageSize::K64.bytes(), 0x1_0000);
    }

    /// Four 4 KiB pages at 0x4001_0000: Valid 1 << 63 | InnerCache 0b001 <<
    /// 59 (0x0800_...) | address 0x4001_0000 | Size 3.
    #[test]
    fn gits_cbaser_fields() {
        assert_eq!(gits_cbaser(0x4001_0000, 4, true), 0x8800_0000_4001_0003);
        // Address keeps bits [51:12]; pages 0 gives Size 0.
        assert_eq!(gits_cbaser(0xfff1_2345_6789_afff, 0, false), 0x0801_2345_6789_a000);
        // 256 pages is the largest queue: Size 0xff.
        assert_eq!(gits_cbaser(0, 256, false), 0x0800_0000_0000_00ff);
    }

    /// 14 INTID bits at 0x4020_0000: address | InnerCache 0b001 << 7 (0x80) |
    /// IDbits 13 (0xd).
    #[test]
    fn gicr_propbaser_fields() {
        assert_eq!(gicr_propbaser(0x4020_0000, 14), 0x0000_0000_4020_008d);
        // Address keeps bits [51:12]; IDbits keeps five bits of id_bits - 1 (40 -> 39 & 0x1f = 7).
        assert_eq!(gicr_propbaser(0xfff1_2345_6789_afff, 40), 0x0001_2345_6789_a087);
        // id_bits 0 does not wrap: IDbits 0.
        assert_eq!(gicr_propbaser(0, 0), 0x80);
    }

    /// PTZ 1 << 62 | address 0x4030_0000 | InnerCache 0b001 << 7 (0x80); the
    /// address keeps bits [51:16].
    #[test]
    fn gicr_pendbaser_fields() {
        assert_eq!(gicr_pendbaser(0x4030_0000, true), 0x4000_0000_4030_0080);
        assert_eq!(gicr_pendbaser(0xfff1_2345_6789_ffff, false), 0x0001_2345_6789_0080);
    }

    /// GICv4.0 VPROPBASER is PROPBASER's layout: 16 bits at 0x4060_0000 is
    /// address | 0x80 | IDbits 15 (0xf).
    #[test]
    fn gicr_vpropbaser_fields() {
        assert_eq!(gicr_vpropbaser(0x4060_0000, 16), 0x0000_0000_4060_008f);
        assert_eq!(gicr_vpropbaser(0x4060_0fff, 14), 0x0000_0000_4060_008d);
    }

    /// GICv4.0 VPENDBASER: Valid 1 << 63 | IDAI 1 << 62 | PendingLast 1 << 61
    /// | address [51:16] | InnerCache 0b001 << 7 (0x80).
    #[test]
    fn gicr_vpendbaser_fields() {
        // Valid | PendingLast: 0x8000_... | 0x2000_...
        assert_eq!(gicr_vpendbaser(0x4050_0000, true, false, true), 0xa000_0000_4050_0080);
        // IDAI alone, address bits below 16 dropped.
        assert_eq!(gicr_vpendbaser(0x4050_ffff, false, true, false), 0x4000_0000_4050_0080);
        assert_eq!(gicr_vpendbaser(0, true, true, true), 0xe000_0000_0000_0080);
        assert_eq!(GICR_VPENDBASER_DIRTY, 0x1000_0000_0000_0000);
    }

    /// Priority[7:2] | RES1 (0b10) | Enable.
    #[test]
    fn lpi_config_entries() {
        assert_eq!(lpi_config(0xa0, true), 0xa3); // 0xa0 | 0x2 | 0x1
        assert_eq!(lpi_config(0x80, false), 0x82); // 0x80 | 0x2
        assert_eq!(lpi_config(0xff, false), 0xfe); // 0xfc | 0x2: bits [1:0] of the priority dropped
        assert_eq!(lpi_config(0x03, true), 0x03); // priority 0 | 0x2 | 0x1
    }

    #[test]
    fn memory_attribute_constants() {
        assert_eq!(INNER_NON_CACHEABLE, 0b001);
        assert_eq!(OUTER_SAME_AS_INNER, 0b000);
        assert_eq!(NON_SHAREABLE, 0b00);
    }
}
