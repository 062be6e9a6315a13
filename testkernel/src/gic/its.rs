//! The ITS and the Redistributors' LPI and vLPI registers (IHI 0069H
//! chapter 5 "Locality-specific Peripheral Interrupts and the ITS", chapter
//! 6 for GICv4 direct injection): the tables, the command queue, MSI writes,
//! and making a vPE resident.
//!
//! Everything is set up on first use, so cases that do not use LPIs run on
//! a GIC whose LPIs stay disabled: the configuration tables at the first
//! `lpi`/`vlpi` statement, the ITS and `GICR_CTLR.EnableLPIs` at the first
//! ITS command or vPE statement ([`ensure_init`]). Tables live in the ITS
//! memory ([`QEMU_VIRT_ITS_MEMORY`], or the region of the device tree's RAM
//! that guest mode picks, `set_memory`), RAM nothing else uses, carved by a
//! bump allocator and zeroed with aligned stores (the MMU is off, so the kernel's
//! own accesses are Device-nGnRnE and must be aligned). Their sizes come
//! from what the ITS advertises (`GITS_TYPER.ITT_entry_size`,
//! `GITS_BASER<n>.Entry_Size` and the page sizes it accepts), never from
//! one model's constants. The commands are built by `gic_case::its`, one
//! builder per command.
//!
//! Kernel choices, documented in README.md: LPI INTIDs 8192..=16383
//! (`GICR_PROPBASER.IDbits` = 13, i.e. 14 bits, the minimum every
//! LPI-capable GIC supports), the same for vINTIDs; every LPI and vLPI
//! starts disabled at priority 0x80; one virtual LPI configuration table
//! shared by all vPEs (they belong to one VM); at most [`MAX_DEVICES`]
//! DeviceIDs, [`MAX_ICIDS`] collections and [`MAX_VPES`] vPEs.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;
use gic_case::its::{
    self as cmd, Command, GitsBaser, GitsTyper, RdBase, FIRST_LPI, GICR_VPENDBASER_DIRTY, GICR_VPENDBASER_IDAI,
    GICR_VPENDBASER_VALID, LPI_END, LPI_ID_BITS, MAX_DEVICES, MAX_ICIDS, MAX_VPES,
};
use gic_case::op::{EventCmd, ItsOp};

use super::mmio::{read32, read64, write32, write64, write8};
use super::{layout, v3, DEFAULT_PRIORITY};
use crate::platform::timer::wait_until;
use crate::platform::MAX_CPUS;

/// The ITS translation frame, 64 KiB after the control frame (IHI 0069H 12.19).
const GITS_TRANSLATION: usize = 0x1_0000;

// ITS control registers, IHI 0069H Table 12-31.
const GITS_CTLR: usize = 0x0000;
const GITS_IIDR: usize = 0x0004;
const GITS_TYPER: usize = 0x0008;
const GITS_CBASER: usize = 0x0080;
const GITS_CWRITER: usize = 0x0088;
const GITS_CREADR: usize = 0x0090;
const GITS_BASER: usize = 0x0100;
const GITS_TRANSLATER: usize = 0x0040;
const GITS_CTLR_ENABLED: u32 = 1;
/// `GITS_CREADR.Stalled` (bit 0) and the Offset field (bits [19:5]).
const GITS_CREADR_STALLED: u64 = 1;
const GITS_CREADR_OFFSET: u64 = 0xf_ffe0;

// Redistributor RD_base (Table 12-27) and, on GICv4, VLPI_base, the third
// 64 KiB frame (Table 12-29).
const GICR_CTLR: usize = 0x0000;
const GICR_CTLR_ENABLE_LPIS: u32 = 1;
const GICR_TYPER: usize = 0x0008;
const GICR_PROPBASER: usize = 0x0070;
const GICR_PENDBASER: usize = 0x0078;
const VLPI_BASE: usize = 0x2_0000;
const GICR_VPROPBASER: usize = VLPI_BASE + 0x0070;
const GICR_VPENDBASER: usize = VLPI_BASE + 0x0078;

/// RAM the ITS driver owns in the EL2 kernel: 16 MiB at 0x5000_0000,
/// inside the 512 MiB QEMU gives the guest, above the compiled case at
/// 0x4800_0000. Guest mode picks its own (`set_memory`).
pub const QEMU_VIRT_ITS_MEMORY: usize = 0x5000_0000;
/// How much RAM the ITS driver needs.
pub const ITS_MEMORY_SIZE: usize = 16 << 20;

/// Command queue size: four 4 KiB pages, 512 commands.
const QUEUE_PAGES: u32 = 4;
const QUEUE_BYTES: usize = QUEUE_PAGES as usize * 4096;
/// Bound of every wait for the ITS or a Redistributor, in ms.
const WAIT_MS: u32 = 100;

static TABLES: AtomicBool = AtomicBool::new(false);
static INIT: AtomicBool = AtomicBool::new(false);
/// The ITS memory: its first byte (0: none) and the next byte free.
static MEMORY: AtomicUsize = AtomicUsize::new(QEMU_VIRT_ITS_MEMORY);
static NEXT_FREE: AtomicUsize = AtomicUsize::new(QEMU_VIRT_ITS_MEMORY);
static QUEUE: AtomicUsize = AtomicUsize::new(0);
static CWRITER: AtomicUsize = AtomicUsize::new(0);
static PROP_TABLE: AtomicUsize = AtomicUsize::new(0);
static VPROP_TABLE: AtomicUsize = AtomicUsize::new(0);
static VPTS: [AtomicUsize; MAX_VPES as usize] = [const { AtomicUsize::new(0) }; MAX_VPES as usize];
/// The `IDAI` value to write when a vPE is next made resident: 1 until it
/// has been descheduled, then what `GICR_VPENDBASER.IDAI` read after that.
static IDAI: [AtomicBool; MAX_VPES as usize] = [const { AtomicBool::new(true) }; MAX_VPES as usize];
/// Step of the command the queue stalled on (0: none).
static STALLED_AT: AtomicU32 = AtomicU32::new(0);

/// Why an ITS operation did not complete.
#[derive(Clone, Copy, Debug)]
pub enum ItsError {
    /// The GIC has no ITS, or the ITS has no table of a kind the case needs.
    Missing(&'static str),
    /// The ITS did not consume the command within the bound (or set
    /// `GITS_CREADR.Stalled`): the command and `GITS_CREADR`.
    Stalled {
        /// The command's spec name.
        command: &'static str,
        /// `GITS_CREADR` when the kernel gave up.
        creadr: u64,
    },
    /// An earlier command stalled the queue at this step; nothing was issued.
    StalledEarlier(u32),
    /// A Redistributor register did not settle (`GICR_VPENDBASER.Dirty`,
    /// `GICR_CTLR.RWP`): its name and last value.
    NotSettled(&'static str, u64),
    /// The kernel's tables do not cover this number (DeviceID, ICID, vPE, INTID).
    OutOfRange(&'static str),
    /// A vPE is already resident on this Redistributor (`GICR_VPENDBASER.Valid`
    /// is 1: writing its other bits would be UNPREDICTABLE).
    AlreadyResident(u64),
}

/// Sets the RAM the ITS driver owns: [`ITS_MEMORY_SIZE`] bytes from `base`
/// (64 KiB aligned), or none (`None`: every ITS table allocation fails).
/// Guest mode, once at boot, before any ITS or LPI statement.
#[cfg(feature = "guest")]
pub fn set_memory(base: Option<usize>) {
    let b = base.unwrap_or(0);
    MEMORY.store(b, Ordering::Relaxed);
    NEXT_FREE.store(b, Ordering::Relaxed);
}

/// The ITS control frame (`GITS_CTLR` …), if the GIC has an ITS.
fn gits() -> Option<usize> {
    layout::gits()
}

/// The ITS control frame, or [`ItsError::Missing`].
fn gits_or_missing() -> Result<usize, ItsError> {
    gits().ok_or(ItsError::Missing("ITS (none in the device tree)"))
}

/// `GITS_TYPER` (0 without an ITS).
pub fn typer() -> u64 {
    let Some(g) = gits() else { return 0 };
    // SAFETY: GITS_TYPER is a read-only ID register of the ITS control frame.
    unsafe { read64(g + GITS_TYPER) }
}

/// `GITS_IIDR` (0 without an ITS).
pub fn iidr() -> u32 {
    let Some(g) = gits() else { return 0 };
    // SAFETY: GITS_IIDR is a read-only ID register of the ITS control frame.
    unsafe { read32(g + GITS_IIDR) }
}

/// Carves `bytes` (rounded up to 8) aligned to `align` from the ITS memory
/// and zeroes them.
fn alloc(bytes: usize, align: usize) -> Result<usize, ItsError> {
    let memory = MEMORY.load(Ordering::Relaxed);
    let start = NEXT_FREE.load(Ordering::Relaxed).next_multiple_of(align);
    let end = start + bytes.next_multiple_of(8);
    if memory == 0 || end > memory + ITS_MEMORY_SIZE {
        return Err(ItsError::OutOfRange("the kernel's ITS memory"));
    }
    NEXT_FREE.store(end, Ordering::Relaxed);
    for a in (start..end).step_by(8) {
        // SAFETY: [start, end) lies in the ITS memory, RAM that only this module
        // uses; 8-byte aligned stores are valid on Device memory.
        unsafe { core::ptr::write_volatile(a as *mut u64, 0) };
    }
    Ok(start)
}

fn fill_config(table: usize) {
    for i in 0..(LPI_END - FIRST_LPI) as usize {
        // SAFETY: `table` was allocated with LPI_END - FIRST_LPI bytes.
        unsafe { write8(table + i, cmd::lpi_config(DEFAULT_PRIORITY, false)) };
    }
}

/// Programs one `GITS_BASER<n>` that the ITS implements: a flat table
/// covering `ids` entries of the advertised `Entry_Size`, in the smallest
/// page size the register accepts.
fn init_baser(gits: usize, n: usize) -> Result<(), ItsError> {
    let addr = gits + GITS_BASER + 8 * n;
    // SAFETY: GITS_BASER<n>, n < 8, of the ITS control frame.
    let b = GitsBaser(unsafe { read64(addr) });
    let ids = match b.table_type() {
        cmd::BaserType::Devices => MAX_DEVICES,
        cmd::BaserType::Collections => MAX_ICIDS,
        cmd::BaserType::Vpes => MAX_VPES,
        _ => return Ok(()),
    };
    // Ask for 4 KiB pages; an ITS that supports only larger ones reads back
    // with its own Page_Size (IHI 0069H 12.19.1, Page_Size).
    let probe = GitsBaser::encode(b.0, 0, cmd::PageSize::K4, 1, false);
    // SAFETY: writing GITS_BASER<n> while GITS_CTLR.Enabled is 0 is allowed.
    let page = unsafe {
        write64(addr, probe);
        GitsBaser(read64(addr)).page_size()
    };
    let bytes = ids as usize * b.entry_size();
    let pages = bytes.div_ceil(page.bytes()).max(1);
    let table = alloc(pages * page.bytes(), page.bytes())?;
    // SAFETY: as above; the table is ours and zeroed.
    unsafe { write64(addr, GitsBaser::encode(b.0, table as u64, page, pages as u32, true)) };
    Ok(())
}

/// The RDbase field a command gives for PE `cpu`: its processor number or
/// its Redistributor's address, as `GITS_TYPER.PTA` says (IHI 0069H 5.3.x).
fn rdbase(cpu: u8) -> Result<RdBase, ItsError> {
    let rd = v3::rd_base_of(cpu as usize).ok_or(ItsError::OutOfRange("PE (not running)"))?;
    Ok(if GitsTyper(typer()).pta() {
        RdBase::Address(rd as u64)
    } else {
        // SAFETY: GICR_TYPER of a redistributor found at boot.
        let t = unsafe { read64(rd + GICR_TYPER) };
        RdBase::ProcessorNumber(((t >> 8) & 0xffff) as u32)
    })
}

/// Allocates the LPI and vLPI configuration tables (every entry disabled
/// at [`DEFAULT_PRIORITY`]), once. LPIs stay disabled until [`ensure_init`],
/// so configuration written before then is what every Redistributor sees
/// when `GICR_CTLR.EnableLPIs` goes from 0 to 1 (IHI 0069H 5.1.1: the
/// tables must be globally observable at that write).
fn ensure_tables() -> Result<(), ItsError> {
    if TABLES.load(Ordering::Acquire) {
        return Ok(());
    }
    gits_or_missing()?;
    if !GitsTyper(typer()).physical() {
        return Err(ItsError::Missing("ITS (GITS_TYPER.Physical is 0)"));
    }
    let prop = alloc((LPI_END - FIRST_LPI) as usize, 4096)?;
    fill_config(prop);
    PROP_TABLE.store(prop, Ordering::Relaxed);
    let vprop = alloc((LPI_END - FIRST_LPI) as usize, 4096)?;
    fill_config(vprop);
    VPROP_TABLE.store(vprop, Ordering::Relaxed);
    TABLES.store(true, Ordering::Release);
    Ok(())
}

/// Sets up the ITS (tables, command queue, `GITS_CTLR.Enabled`) and every
/// running PE's LPI tables (`GICR_PROPBASER`, `GICR_PENDBASER`,
/// `GICR_CTLR.EnableLPIs`), once: at the first ITS command or vPE statement.
pub fn ensure_init() -> Result<(), ItsError> {
    if INIT.load(Ordering::Acquire) {
        return Ok(());
    }
    ensure_tables()?;
    let gits = gits_or_missing()?;
    for n in 0..8 {
        init_baser(gits, n)?;
    }
    let queue = alloc(QUEUE_BYTES, 64 * 1024)?;
    QUEUE.store(queue, Ordering::Relaxed);
    CWRITER.store(0, Ordering::Relaxed);
    // SAFETY: ITS control registers, written while the ITS is disabled.
    unsafe {
        write64(gits + GITS_CBASER, cmd::gits_cbaser(queue as u64, QUEUE_PAGES, true));
        write64(gits + GITS_CWRITER, 0);
        let ctlr = read32(gits + GITS_CTLR);
        write32(gits + GITS_CTLR, ctlr | GITS_CTLR_ENABLED);
    }
    let prop = PROP_TABLE.load(Ordering::Relaxed);
    for cpu in 0..MAX_CPUS {
        let Some(rd) = v3::rd_base_of(cpu) else { continue };
        let pend = alloc((LPI_END / 8) as usize, 64 * 1024)?;
        barrier::dsb(barrier::SY);
        // SAFETY: RD_base registers of a redistributor found at boot; the
        // tables are ours, zeroed, and sized for LPI_ID_BITS.
        unsafe {
            write64(rd + GICR_PROPBASER, cmd::gicr_propbaser(prop as u64, LPI_ID_BITS));
            write64(rd + GICR_PENDBASER, cmd::gicr_pendbaser(pend as u64, true));
            let ctlr = read32(rd + GICR_CTLR);
            write32(rd + GICR_CTLR, ctlr | GICR_CTLR_ENABLE_LPIS);
        }
    }
    INIT.store(true, Ordering::Release);
    Ok(())
}

/// Writes `c` at `GITS_CWRITER`, advances it and waits, bounded, until
/// `GITS_CREADR` has moved past it (IHI 0069H 5.3.2 "The ITS command
/// queue"). A stall (`GITS_CREADR.Stalled`) or a queue that does not move is
/// reported with `GITS_CREADR`; the kernel issues no further commands then.
fn submit(c: Command, step: u16) -> Result<(), ItsError> {
    let at = STALLED_AT.load(Ordering::Relaxed);
    if at != 0 {
        return Err(ItsError::StalledEarlier(at));
    }
    let gits = gits_or_missing()?;
    let queue = QUEUE.load(Ordering::Relaxed);
    let off = CWRITER.load(Ordering::Relaxed);
    for (i, dw) in c.0.iter().enumerate() {
        // SAFETY: the slot lies in the command queue this module allocated.
        unsafe { core::ptr::write_volatile((queue + off + 8 * i) as *mut u64, *dw) };
    }
    let next = (off + 32) % QUEUE_BYTES;
    CWRITER.store(next, Ordering::Relaxed);
    barrier::dsb(barrier::SY);
    // SAFETY: GITS_CWRITER.Offset of the enabled ITS, pointing into the queue.
    unsafe { write64(gits + GITS_CWRITER, next as u64) };
    let creadr = || {
        // SAFETY: GITS_CREADR is read-only with no side effects.
        unsafe { read64(gits + GITS_CREADR) }
    };
    let done = wait_until(WAIT_MS, || {
        let r = creadr();
        r & GITS_CREADR_STALLED != 0 || (r & GITS_CREADR_OFFSET) as usize == next
    });
    let r = creadr();
    if !done || r & GITS_CREADR_STALLED != 0 {
        STALLED_AT.store(step as u32, Ordering::Relaxed);
        return Err(ItsError::Stalled { command: c.name(), creadr: r });
    }
    Ok(())
}

fn check(v: u32, max: u32, what: &'static str) -> Result<(), ItsError> {
    if v < max {
        Ok(())
    } else {
        Err(ItsError::OutOfRange(what))
    }
}

fn vpt(vpe: u16) -> Result<usize, ItsError> {
    check(vpe as u32, MAX_VPES, "vPE")?;
    let slot = &VPTS[vpe as usize];
    let v = slot.load(Ordering::Relaxed);
    if v != 0 {
        return Ok(v);
    }
    let t = alloc((LPI_END / 8) as usize, 64 * 1024)?;
    slot.store(t, Ordering::Relaxed);
    Ok(t)
}

/// Builds and issues the ITS command of `op` (or writes the MSI).
pub fn exec(op: ItsOp, step: u16) -> Result<(), ItsError> {
    ensure_init()?;
    if op.is_virtual() && !GitsTyper(typer()).virtual_() {
        return Err(ItsError::Missing("GICv4 virtual commands (GITS_TYPER.Virtual is 0)"));
    }
    let c = match op {
        ItsOp::Mapd { device, event_bits } => {
            check(device, MAX_DEVICES, "DeviceID")?;
            if event_bits == 0 {
                cmd::mapd(device, 0, 0, false)
            } else if event_bits as u32 > GitsTyper(typer()).id_bits() {
                return Err(ItsError::OutOfRange("EventID bits beyond GITS_TYPER.ID_bits"));
            } else {
                let bytes = (1usize << event_bits) * GitsTyper(typer()).itt_entry_size();
                let itt = alloc(bytes.max(256), 256)?;
                cmd::mapd(device, itt as u64, event_bits - 1, true)
            }
        }
        ItsOp::Mapc { icid, cpu, valid } => {
            check(icid as u32, MAX_ICIDS, "ICID")?;
            cmd::mapc(icid, rdbase(cpu)?, valid)
        }
        ItsOp::Mapti { device, event, intid, icid } => cmd::mapti(device, event, intid, icid),
        ItsOp::Mapi { device, event, icid } => cmd::mapi(device, event, icid),
        ItsOp::Event { cmd: e, device, event } => match e {
            EventCmd::Int => cmd::int(device, event),
            EventCmd::Clear => cmd::clear(device, event),
            EventCmd::Discard => cmd::discard(device, event),
            EventCmd::Inv => cmd::inv(device, event),
        },
        ItsOp::Invall { icid } => cmd::invall(icid),
        ItsOp::Movi { device, event, icid } => cmd::movi(device, event, icid),
        ItsOp::Movall { from, to } => cmd::movall(rdbase(from)?, rdbase(to)?),
        ItsOp::Sync { cpu } => cmd::sync(rdbase(cpu)?),
        ItsOp::Vmapp { vpe, cpu, valid } => cmd::vmapp(vpe, rdbase(cpu)?, vpt(vpe)? as u64, LPI_ID_BITS - 1, valid),
        ItsOp::Vmapti { device, event, vpe, vintid, doorbell } => cmd::vmapti(device, event, vpe, vintid, doorbell),
        ItsOp::Vmapi { device, event, vpe, doorbell } => cmd::vmapi(device, event, vpe, doorbell),
        ItsOp::Vmovi { device, event, vpe, doorbell } => cmd::vmovi(device, event, vpe, Some(doorbell)),
        ItsOp::Vmovp { vpe, cpu } => {
            // With GITS_TYPER.VMOVP = 0 the command names every ITS that maps
            // the vPE (here only this one, GITS_CTLR.ITS_Number); with 1,
            // ITSList and SequenceNumber are RES0 (GITS_TYPER.VMOVP).
            let its_list = if GitsTyper(typer()).vmovp() {
                0
            } else {
                let gits = gits_or_missing()?;
                // SAFETY: reading GITS_CTLR has no side effects.
                1 << ((unsafe { read32(gits + GITS_CTLR) } >> 4) & 0xf)
            };
            cmd::vmovp(vpe, rdbase(cpu)?, 0, its_list)
        }
        ItsOp::Vsync { vpe } => cmd::vsync(vpe),
        ItsOp::Vinvall { vpe } => cmd::vinvall(vpe),
        ItsOp::Msi { event } => {
            let gits = gits_or_missing()?;
            barrier::dsb(barrier::SY);
            // SAFETY: GITS_TRANSLATER, a 32-bit write-only register of the
            // translation frame; the write is the MSI the case asks for.
            unsafe { write32(gits + GITS_TRANSLATION + GITS_TRANSLATER, event) };
            return Ok(());
        }
    };
    submit(c, step)
}

/// Writes LPI (or, with `virtual_`, vLPI) `intid`'s configuration table
/// entry: Priority[7:2], Enable (IHI 0069H 5.1.1). Takes effect for the
/// GIC only after an INV/INVALL (VINVALL) that the case issues.
pub fn config(intid: u32, prio: u8, enable: bool, virtual_: bool) -> Result<(), ItsError> {
    ensure_tables()?;
    if !(FIRST_LPI..LPI_END).contains(&intid) {
        return Err(ItsError::OutOfRange("LPI INTID"));
    }
    let table = if virtual_ { VPROP_TABLE.load(Ordering::Relaxed) } else { PROP_TABLE.load(Ordering::Relaxed) };
    // SAFETY: the entry lies in a configuration table this module allocated.
    unsafe { write8(table + (intid - FIRST_LPI) as usize, cmd::lpi_config(prio, enable)) };
    barrier::dsb(barrier::SY);
    Ok(())
}

/// Makes vPE `vpe` resident on the executing PE's Redistributor
/// (`GICR_VPROPBASER`, then `GICR_VPENDBASER` with Valid = 1), or not
/// (Valid = 0), and waits, bounded, for `GICR_VPENDBASER.Dirty` to clear
/// (IHI 0069H chapter 6; `GICR_VPENDBASER`). Returns `GICR_VPENDBASER` as read afterwards.
pub fn set_resident(vpe: u16, resident: bool) -> Result<u64, ItsError> {
    ensure_init()?;
    if !GitsTyper(typer()).virtual_() {
        return Err(ItsError::Missing("GICv4 vLPIs (GITS_TYPER.Virtual is 0)"));
    }
    let vpt = vpt(vpe)?;
    let rd = v3::rd_base();
    let read = || {
        // SAFETY: reading GICR_VPENDBASER has no side effects.
        unsafe { read64(rd + GICR_VPENDBASER) }
    };
    if resident {
        let now = read();
        if now & GICR_VPENDBASER_VALID != 0 {
            return Err(ItsError::AlreadyResident(now));
        }
        let idai = IDAI[vpe as usize].load(Ordering::Relaxed);
        // SAFETY: VLPI_base registers of this PE's GICv4 redistributor, written
        // while Valid is 0; the tables are ours and sized for LPI_ID_BITS.
        unsafe {
            write64(
                rd + GICR_VPROPBASER,
                cmd::gicr_vpropbaser(VPROP_TABLE.load(Ordering::Relaxed) as u64, LPI_ID_BITS),
            );
            write64(rd + GICR_VPENDBASER, cmd::gicr_vpendbaser(vpt as u64, true, idai, true));
        }
    } else {
        // Only Valid changes: writing any other bit while Valid is 1 is
        // UNPREDICTABLE (GICR_VPENDBASER); IDAI and PendingLast are read back.
        let now = read();
        // SAFETY: as above; the write clears Valid and keeps every other bit.
        unsafe { write64(rd + GICR_VPENDBASER, now & !GICR_VPENDBASER_VALID) };
    }
    if !wait_until(WAIT_MS, || read() & GICR_VPENDBASER_DIRTY == 0) {
        return Err(ItsError::NotSettled("GICR_VPENDBASER", read()));
    }
    if !resident {
        IDAI[vpe as usize].store(read() & GICR_VPENDBASER_IDAI != 0, Ordering::Relaxed);
    }
    Ok(read())
}
