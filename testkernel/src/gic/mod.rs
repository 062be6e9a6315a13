//! GIC drivers for the hypervisor side (EL2): detection, initialisation,
//! physical interrupt operations, and the virtual interface control
//! registers (List Registers, HCR, VMCR, MISR, EISR, ELRSR, APR, VTR).
//!
//! Every operation dispatches on the detected version to [`v2`] (GICD,
//! GICC, GICH, GICV frames; IHI 0048B) or [`v3`] (GICD, GICR frames and
//! ICC/ICH system registers; IHI 0069). The guest's side (ICV/GICV) lives
//! in `guest.rs`, because it must execute at EL1. [`its`] drives the ITS
//! and the Redistributors' LPI/vLPI registers (GICv3/v4).

pub mod its;
pub mod mmio;
pub mod sysreg;
pub mod v2;
pub mod v3;

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

use aarch64_cpu::registers::{Readable, ICH_HCR_EL2, ICH_VTR_EL2, ID_AA64PFR0_EL1};
use gic_case::lr::Lr;
use gic_case::op::{Group, PhysState, SgiTargets};
use gic_case::regs::{Frame, RegId};
use gic_case::vif::VifReg;
use gic_case::GicVersion;

/// Where the GIC's register frames are: QEMU `virt`'s memory map
/// (hw/arm/virt.c `base_memmap`) unless guest mode replaced it with the
/// device tree's at boot (`layout::set`), before any PE touches the GIC.
/// An absent frame reads as 0 ([`layout::gits`]: `None`).
pub mod layout {
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// QEMU `virt`: distributor.
    pub const QEMU_VIRT_GICD: usize = 0x0800_0000;
    /// QEMU `virt`: GICv2 CPU interface.
    pub const QEMU_VIRT_GICC: usize = 0x0801_0000;
    /// QEMU `virt`: GICv2 virtual interface control.
    pub const QEMU_VIRT_GICH: usize = 0x0803_0000;
    /// QEMU `virt`: GICv2 virtual CPU interface.
    pub const QEMU_VIRT_GICV: usize = 0x0804_0000;
    /// QEMU `virt`: the ITS control frame (`VIRT_GIC_ITS`).
    pub const QEMU_VIRT_GITS: usize = 0x0808_0000;
    /// QEMU `virt`: the first GICv3/v4 redistributor.
    pub const QEMU_VIRT_GICR: usize = 0x080a_0000;
    /// Most redistributor regions kept.
    pub const MAX_GICR_REGIONS: usize = 4;

    static GICD: AtomicUsize = AtomicUsize::new(QEMU_VIRT_GICD);
    static GICC: AtomicUsize = AtomicUsize::new(QEMU_VIRT_GICC);
    static GICH: AtomicUsize = AtomicUsize::new(QEMU_VIRT_GICH);
    static GICV: AtomicUsize = AtomicUsize::new(QEMU_VIRT_GICV);
    static GITS: AtomicUsize = AtomicUsize::new(QEMU_VIRT_GITS);
    /// Redistributor regions: base and size (size 0: unknown, walked until
    /// `GICR_TYPER.Last`); a base of 0 ends the list.
    static GICR: [(AtomicUsize, AtomicUsize); MAX_GICR_REGIONS] = [
        (AtomicUsize::new(QEMU_VIRT_GICR), AtomicUsize::new(0)),
        (AtomicUsize::new(0), AtomicUsize::new(0)),
        (AtomicUsize::new(0), AtomicUsize::new(0)),
        (AtomicUsize::new(0), AtomicUsize::new(0)),
    ];

    /// The frames of a GIC, as a device tree gives them.
    #[cfg(feature = "guest")]
    pub struct Layout {
        /// Distributor.
        pub gicd: usize,
        /// GICv2 CPU interface.
        pub gicc: Option<usize>,
        /// GICv2 virtual interface control.
        pub gich: Option<usize>,
        /// GICv2 virtual CPU interface.
        pub gicv: Option<usize>,
        /// Redistributor regions (base, size), in order.
        pub gicr: [Option<(usize, usize)>; MAX_GICR_REGIONS],
        /// ITS control frame.
        pub gits: Option<usize>,
    }

    /// Replaces the QEMU `virt` map (guest mode, once, on CPU0 at boot,
    /// before the GIC is identified or any other PE runs).
    #[cfg(feature = "guest")]
    pub fn set(l: &Layout) {
        GICD.store(l.gicd, Ordering::Relaxed);
        GICC.store(l.gicc.unwrap_or(0), Ordering::Relaxed);
        GICH.store(l.gich.unwrap_or(0), Ordering::Relaxed);
        GICV.store(l.gicv.unwrap_or(0), Ordering::Relaxed);
        GITS.store(l.gits.unwrap_or(0), Ordering::Relaxed);
        for (slot, r) in GICR.iter().zip(l.gicr) {
            let (base, size) = r.unwrap_or((0, 0));
            slot.0.store(base, Ordering::Relaxed);
            slot.1.store(size, Ordering::Relaxed);
        }
    }

    /// Distributor.
    pub fn gicd() -> usize {
        GICD.load(Ordering::Relaxed)
    }

    /// GICv2 CPU interface (0: none).
    pub fn gicc() -> usize {
        GICC.load(Ordering::Relaxed)
    }

    /// GICv2 virtual interface control (0: none, as in guest mode).
    pub fn gich() -> usize {
        GICH.load(Ordering::Relaxed)
    }

    /// GICv2 virtual CPU interface (0: none, as in guest mode).
    pub fn gicv() -> usize {
        GICV.load(Ordering::Relaxed)
    }

    /// The ITS control frame, if there is an ITS.
    pub fn gits() -> Option<usize> {
        let b = GITS.load(Ordering::Relaxed);
        (b != 0).then_some(b)
    }

    /// The redistributor regions: (base, size), size 0 when unknown.
    pub fn gicr_regions() -> impl Iterator<Item = (usize, usize)> {
        GICR.iter().map(|(b, s)| (b.load(Ordering::Relaxed), s.load(Ordering::Relaxed))).take_while(|&(b, _)| b != 0)
    }
}

/// The maintenance interrupt, PPI 25 on QEMU `virt` (IHI 0048B 5.2.2 leaves
/// the number to the implementation; Arm's SBSA recommends 25).
pub const MAINTENANCE_INTID: u32 = 25;

/// Default priority the kernel gives every physical interrupt.
pub const DEFAULT_PRIORITY: u8 = 0x80;

/// The kernel's baseline `ICH_VMCR_EL2`/`GICH_VMCR` (GICv3 layout): VPMR =
/// 0xff (no priority masked), VBPR0 = 2 and VBPR1 = 3 (at or above the
/// minimum binary points of every GIC, 2 and 3 with 5 preemption bits, so
/// they read back as written), VFIQEn = 1 (group 0 as vFIQ), VENG1 = 1,
/// VENG0 = 1. Documented in README.md; cases may overwrite it.
pub const BASELINE_VMCR: u64 = (0xff << 24) | (2 << 21) | (3 << 18) | (1 << 3) | (1 << 1) | 1;

/// The kernel's baseline `ICH_HCR_EL2`/`GICH_HCR`: En = 1, nothing else
/// (GICv3 layout; `GICH_HCR` has the same bits).
pub const BASELINE_HCR: u64 = ICH_HCR_EL2::En::SET.value;

static VERSION: AtomicU32 = AtomicU32::new(0);

/// The GIC version found by [`detect`].
pub fn version() -> GicVersion {
    GicVersion::from_number(VERSION.load(Ordering::Relaxed)).unwrap_or(GicVersion::V2)
}

/// Whether the kernel has the hypervisor's view of the GIC: runs at EL2 with
/// the virtual interface (List Registers, `ICH_*`/`GICH_*`) beside the
/// physical one. False in guest mode, which runs at EL1 where the physical
/// CPU interface is all there is (`ICC_*_EL1` with `ICC_SRE_EL1`; the GICC
/// frame).
pub const HYP_VIEW: bool = cfg!(not(feature = "guest"));

/// Identifies the GIC: `ID_AA64PFR0_EL1.GIC` says whether the PE has the
/// GICv3 system-register CPU interface; `GICD_PIDR2.ArchRev` (IHI 0069H
/// 12.9.29, at 0xFFE8 of the 64 KiB GICv3 distributor; IHI 0048B 4.3.14, at
/// 0xFE8 of the 4 KiB GICv2 one) gives the architecture version, and for
/// GICv3 `GICR_TYPER.VLPIS` tells GICv4 (direct vLPI injection) apart.
pub fn detect() -> GicVersion {
    let v = if cpu_has_gicv3_sysregs() {
        // SAFETY: GICD_PIDR2 of a GICv3 distributor.
        let pidr2 = unsafe { mmio::read32(layout::gicd() + 0xffe8) };
        if (pidr2 >> 4) & 0xf >= 4 || v3::first_typer() & 2 != 0 {
            GicVersion::V4
        } else {
            GicVersion::V3
        }
    } else {
        GicVersion::V2
    };
    VERSION.store(v as u32, Ordering::Relaxed);
    v
}

/// `ID_AA64PFR0_EL1.GIC`, bits [27:24] (aarch64-cpu 11 defines only the
/// register's AMU and SVE fields): non-zero when the GICv3 system-register
/// CPU interface is implemented.
fn cpu_has_gicv3_sysregs() -> bool {
    (ID_AA64PFR0_EL1.get() >> 24) & 0xf != 0
}

/// Offset of `GICD_PIDR2` for the detected version.
fn pidr2_offset() -> usize {
    if version().is_v3_family() {
        0xffe8
    } else {
        0xfe8
    }
}

/// Whether [`init_cpu`] enables Group 0 on the GICv3 CPU interface
/// (`ICC_IGRPEN0_EL1` = 1); cleared by the boot flag
/// `gic_case::proto::BOOT_NO_GROUP0` (a VMM's workaround, see there).
static GROUP0_AT_BOOT: AtomicBool = AtomicBool::new(true);

/// Sets whether [`init_cpu`] enables Group 0 (before any PE's `init_cpu`).
pub fn set_group0_at_boot(on: bool) {
    GROUP0_AT_BOOT.store(on, Ordering::Relaxed);
}

/// Whether [`init_cpu`] enables Group 0 (the header says so when it does not).
pub fn group0_at_boot() -> bool {
    GROUP0_AT_BOOT.load(Ordering::Relaxed)
}

/// Distributor setup, once, on CPU0.
pub fn init_distributor() {
    match version() {
        GicVersion::V2 => v2::init_distributor(),
        _ => v3::init_distributor(),
    }
}

/// Per-PE setup: physical CPU interface (EOImode=1), SGI/PPI state, and,
/// with the hypervisor's view ([`HYP_VIEW`]), the virtual interface at its
/// baseline with all List Registers invalid.
pub fn init_cpu() {
    match version() {
        GicVersion::V2 => v2::init_cpu(),
        _ => v3::init_cpu(),
    }
    if !HYP_VIEW {
        return;
    }
    for n in 0..lr_count() {
        lr_write(n, Lr::EMPTY);
    }
    vif_write(VifReg::Apr, 0);
    vif_write(VifReg::Vmcr, BASELINE_VMCR);
    vif_write(VifReg::Hcr, BASELINE_HCR);
}

/// Number of implemented List Registers (`ListRegs` + 1; `GICH_VTR` has
/// the field where `ICH_VTR_EL2` has it).
pub fn lr_count() -> u32 {
    ICH_VTR_EL2::ListRegs.read(vif_read(VifReg::Vtr)) as u32 + 1
}

/// Sets a physical interrupt pending; an SPI is first routed to the
/// executing PE unless the case routed it ([`route`]).
pub fn phys_pend(intid: u32) {
    match version() {
        GicVersion::V2 => v2::phys_pend(intid),
        _ => v3::phys_pend(intid),
    }
}

/// Clears a physical interrupt's pending state.
pub fn phys_unpend(intid: u32) {
    match version() {
        GicVersion::V2 => v2::phys_unpend(intid),
        _ => v3::phys_unpend(intid),
    }
}

/// SPIs a case routed itself (`phys route`), one bit per INTID: [`phys_pend`]
/// leaves their routing alone.
static ROUTED: [AtomicU32; 32] = [const { AtomicU32::new(0) }; 32];

fn is_routed(intid: u32) -> bool {
    ROUTED[(intid / 32) as usize % 32].load(Ordering::Relaxed) & (1 << (intid % 32)) != 0
}

/// The source CPUID of the SGI the executing PE acknowledged last (GICv2
/// only; -1 when the last acknowledge was not of an SGI).
static LAST_SGI_SOURCE: [AtomicI32; crate::platform::MAX_CPUS] =
    [const { AtomicI32::new(-1) }; crate::platform::MAX_CPUS];

/// Acknowledges the highest-priority pending physical interrupt; returns the INTID.
pub fn phys_ack(g: Group) -> u32 {
    match version() {
        GicVersion::V2 => {
            let (intid, src) = v2::phys_ack();
            LAST_SGI_SOURCE[crate::platform::cpu_index()].store(src.map_or(-1, |s| s as i32), Ordering::Relaxed);
            intid
        }
        _ => v3::phys_ack(g),
    }
}

/// GICv2: the source CPUID (`GICC_IAR.CPUID`) of the SGI that the executing
/// PE's last [`phys_ack`] returned; `None` on GICv3/v4 (the INTID is all
/// `ICC_IAR1_EL1` gives) or when it was not an SGI.
pub fn last_ack_source() -> Option<u32> {
    let v = LAST_SGI_SOURCE[crate::platform::cpu_index()].load(Ordering::Relaxed);
    (v >= 0).then_some(v as u32)
}

/// Sends a physical SGI (`GICD_SGIR`; `ICC_SGI1R_EL1`/`ICC_SGI0R_EL1`).
pub fn sgi(intid: u32, targets: SgiTargets, g: Group) {
    match version() {
        GicVersion::V2 => v2::sgi(intid, targets),
        _ => v3::sgi(intid, targets, g),
    }
}

/// Routes SPI `intid` to PE `cpu` (or any PE, GICv3/v4, with
/// `gic_case::op::ANY_PE`); from then on [`phys_pend`] keeps that routing.
pub fn route(intid: u32, cpu: u32) {
    ROUTED[(intid / 32) as usize % 32].fetch_or(1 << (intid % 32), Ordering::Relaxed);
    match version() {
        GicVersion::V2 => v2::route(intid, cpu),
        _ => v3::route(intid, cpu),
    }
}

/// Whether SGI/PPI `intid` is pending or active on PE `cpu` (GICv3/v4: read
/// from that PE's Redistributor). `None` on GICv2, whose banked registers
/// only their own PE can read, or if that PE is not up.
pub fn phys_state_on(intid: u32, s: PhysState, cpu: usize) -> Option<bool> {
    match version() {
        GicVersion::V2 => None,
        _ => v3::phys_state_on(intid, s, cpu),
    }
}

/// The highest-priority pending physical interrupt of group `g` that the
/// CPU interface shows (`ICC_HPPIR<g>_EL1` / `GICC_HPPIR`), without acknowledging it.
pub fn phys_hppir(g: Group) -> u32 {
    match version() {
        GicVersion::V2 => v2::phys_hppir(),
        _ => v3::phys_hppir(g),
    }
}

/// Physical EOI (a priority drop only: the kernel runs with EOImode=1).
pub fn phys_eoi(intid: u32, g: Group) {
    match version() {
        GicVersion::V2 => v2::phys_eoi(intid),
        _ => v3::phys_eoi(intid, g),
    }
}

/// Physical deactivation.
pub fn phys_dir(intid: u32) {
    match version() {
        GicVersion::V2 => v2::phys_dir(intid),
        _ => v3::phys_dir(intid),
    }
}

/// Sets a physical interrupt's priority.
pub fn phys_prio(intid: u32, prio: u8) {
    match version() {
        GicVersion::V2 => v2::phys_prio(intid, prio),
        _ => v3::phys_prio(intid, prio),
    }
}

/// Enables or disables a physical interrupt.
pub fn phys_enable(intid: u32, on: bool) {
    match version() {
        GicVersion::V2 => v2::phys_enable(intid, on),
        _ => v3::phys_enable(intid, on),
    }
}

/// Whether a physical interrupt is pending or active, read from the
/// distributor (SPI) or this PE's banked/redistributor state (SGI, PPI).
pub fn phys_state(intid: u32, s: PhysState) -> bool {
    match version() {
        GicVersion::V2 => v2::phys_state(intid, s),
        _ => v3::phys_state(intid, s),
    }
}

/// Sets the physical priority mask; returns the previous one.
pub fn swap_phys_pmr(pmr: u8) -> u8 {
    match version() {
        GicVersion::V2 => v2::swap_phys_pmr(pmr),
        _ => v3::swap_phys_pmr(pmr),
    }
}

/// Reads List Register `n`.
pub fn lr_read(n: u32) -> Lr {
    match version() {
        GicVersion::V2 => Lr::from_v2(v2::lr_read_raw(n)),
        _ => Lr::from_v3(v3::lr_read_raw(n)),
    }
}

/// List Register `n` as raw bits (`GICH_LR<n>`, 32 bits; `ICH_LR<n>_EL2`, 64).
pub fn lr_read_raw(n: u32) -> u64 {
    match version() {
        GicVersion::V2 => v2::lr_read_raw(n) as u64,
        _ => v3::lr_read_raw(n),
    }
}

/// The RES0 bits of a List Register as [`lr_read_raw`] returns it, for an
/// LR with `hw` = HW. GICv3 ICH_LR<n>_EL2: [58:56], [47:45], and with HW = 0
/// [44:42] and [40:32] (bit 59 is NMI with FEAT_GICv3_NMI, else RES0; the
/// suite never sets it, so it is counted here: it reads 0 either way).
/// GICv2 GICH_LR: [22:20] (IHI 0048B 5.3 GICH_LR<n>; bits [18:13] with HW = 0
/// are only "should be zero", so not counted).
pub fn lr_res0_mask(hw: bool) -> u64 {
    match (version(), hw) {
        (GicVersion::V2, _) => 0x7 << 20,
        (_, true) => 0xf << 56 | 0x7 << 45,
        (_, false) => 0xf << 56 | 0x7 << 45 | 0x7 << 42 | 0x1ff << 32,
    }
}

/// Writes List Register `n` with raw bits (as [`lr_read_raw`] returns them).
pub fn lr_write_raw(n: u32, v: u64) {
    match version() {
        GicVersion::V2 => v2::lr_write_raw(n, v as u32),
        _ => v3::lr_write_raw(n, v),
    }
}

/// Writes List Register `n`.
pub fn lr_write(n: u32, lr: Lr) {
    match version() {
        GicVersion::V2 => v2::lr_write_raw(n, lr.to_v2()),
        _ => v3::lr_write_raw(n, lr.to_v3()),
    }
}

/// Reads a virtual interface register in its version-neutral form: HCR,
/// VMCR, MISR, VTR in the GICv3 layout; EISR/ELRSR as a bitmap of LRs;
/// APR as `GICH_APR` (v2) or `ICH_AP1R0_EL2 << 32 | ICH_AP0R0_EL2` (v3).
pub fn vif_read(r: VifReg) -> u64 {
    match version() {
        GicVersion::V2 => v2::vif_read(r),
        _ => v3::vif_read(r),
    }
}

/// Writes a virtual interface register from its version-neutral form.
pub fn vif_write(r: VifReg, v: u64) {
    match version() {
        GicVersion::V2 => v2::vif_write(r, v),
        _ => v3::vif_write(r, v),
    }
}

/// Base address of a memory-mapped frame for the executing PE.
pub fn frame_base(f: Frame) -> Option<usize> {
    if !f.exists_on(version()) {
        return None;
    }
    let base = match f {
        Frame::Gicd => layout::gicd(),
        Frame::Gicc => layout::gicc(),
        Frame::Gich => layout::gich(),
        Frame::Gicv => layout::gicv(),
        Frame::GicrRd | Frame::GicrSgi => v3::rd_base(),
    };
    // Guest mode has no GICH/GICV frames (0).
    if base == 0 {
        return None;
    }
    Some(if f == Frame::GicrSgi { base + 0x1_0000 } else { base })
}

/// Reads a register by id (memory-mapped, or a system register accessible at the current EL).
///
/// # Safety
/// The register must exist on this GIC and reading it must be acceptable
/// to the case (reads of IAR registers acknowledge interrupts).
pub unsafe fn reg_read(id: RegId) -> Option<u64> {
    match id {
        // SAFETY: the caller checked the register exists (v3 family) and its side.
        RegId::Sys(s) => Some(unsafe { sysreg::read(s) }),
        RegId::Mmio { frame, offset, width } => {
            let base = frame_base(frame)?;
            // SAFETY: base is a frame of this GIC and offset comes from the spec's map.
            // A byte access (width 8) of a byte-accessible register or a
            // 32-bit half of a 64-bit one is what the runner compiles for
            // `byte K` / `low|high` (gic_case::regs::Part).
            Some(unsafe {
                match width {
                    64 => mmio::read64(base + offset as usize),
                    8 => mmio::read8(base + offset as usize) as u64,
                    _ => mmio::read32(base + offset as usize) as u64,
                }
            })
        }
    }
}

/// Writes a register by id.
///
/// # Safety
/// As [`reg_read`]; the write must be what the case asked for.
pub unsafe fn reg_write(id: RegId, v: u64) -> Option<()> {
    match id {
        // SAFETY: the caller checked the register exists and is writable at this EL.
        RegId::Sys(s) => unsafe { sysreg::write(s, v) },
        RegId::Mmio { frame, offset, width } => {
            let base = frame_base(frame)?;
            // SAFETY: base is a frame of this GIC and offset comes from the spec's map.
            unsafe {
                match width {
                    64 => mmio::write64(base + offset as usize, v),
                    8 => mmio::write8(base + offset as usize, v as u8),
                    _ => mmio::write32(base + offset as usize, v as u32),
                }
            }
            if version().is_v3_family() {
                v3::settle(frame, offset as usize, base);
            }
        }
    }
    Some(())
}

/// The frame `f` of PE `cpu`'s Redistributor (`GicrRd` or `GicrSgi`), once
/// that PE has initialised; `None` for another frame or an unknown PE.
fn gicr_frame_of(f: Frame, cpu: u32) -> Option<usize> {
    if !version().is_v3_family() {
        return None;
    }
    let rd = v3::rd_base_of(cpu as usize)?;
    match f {
        Frame::GicrRd => Some(rd),
        Frame::GicrSgi => Some(rd + 0x1_0000),
        _ => None,
    }
}

/// Reads a register of PE `cpu`'s Redistributor (`read GICR_… of cpuN`).
///
/// # Safety
/// As [`reg_read`].
pub unsafe fn reg_read_on(id: RegId, cpu: u32) -> Option<u64> {
    let RegId::Mmio { frame, offset, width } = id else { return None };
    let base = gicr_frame_of(frame, cpu)?;
    // SAFETY: base is that PE's Redistributor frame and offset comes from the spec's map.
    Some(unsafe {
        match width {
            64 => mmio::read64(base + offset as usize),
            8 => mmio::read8(base + offset as usize) as u64,
            _ => mmio::read32(base + offset as usize) as u64,
        }
    })
}

/// Writes a register of PE `cpu`'s Redistributor (`write GICR_… of cpuN V`).
///
/// # Safety
/// As [`reg_write`].
pub unsafe fn reg_write_on(id: RegId, v: u64, cpu: u32) -> Option<()> {
    let RegId::Mmio { frame, offset, width } = id else { return None };
    let base = gicr_frame_of(frame, cpu)?;
    // SAFETY: base is that PE's Redistributor frame and offset comes from the spec's map.
    unsafe {
        match width {
            64 => mmio::write64(base + offset as usize, v),
            8 => mmio::write8(base + offset as usize, v as u8),
            _ => mmio::write32(base + offset as usize, v as u32),
        }
    }
    v3::settle(frame, offset as usize, base);
    Some(())
}

/// What the hardware advertises, for the header line.
pub struct Advertised {
    /// `GICD_IIDR`.
    pub gicd_iidr: u32,
    /// `GICD_TYPER`.
    pub gicd_typer: u32,
    /// `GICD_PIDR2.ArchRev`.
    pub arch_rev: u32,
    /// `GICR_TYPER` of the first redistributor (GICv3/v4), else 0.
    pub gicr_typer: u64,
    /// The VTR register (GICv3 layout fields); 0 without the hypervisor's
    /// view ([`HYP_VIEW`]), where it cannot be read.
    pub vtr: u64,
}

/// Reads what the hardware advertises.
pub fn advertised() -> Advertised {
    // SAFETY: GICD_IIDR and GICD_TYPER exist in every distributor.
    let (iidr, typer) = unsafe {
        let d = layout::gicd();
        (mmio::read32(d + 8), mmio::read32(d + 4))
    };
    // GICD_PIDR2.ArchRev. A guest on GICv2 does not read it: GICv2's
    // identification registers are IMPLEMENTATION DEFINED (IHI 0048B 4.3.14),
    // and Xen's vGICv2 answers a read of 0xFE8 with a data abort; the device
    // tree already said GICv2.
    let pidr2 = if !HYP_VIEW && version() == GicVersion::V2 {
        2 << 4
    } else {
        // SAFETY: GICD_PIDR2 of the detected version's distributor.
        unsafe { mmio::read32(layout::gicd() + pidr2_offset()) }
    };
    Advertised {
        gicd_iidr: iidr,
        gicd_typer: typer,
        arch_rev: (pidr2 >> 4) & 0xf,
        gicr_typer: if version().is_v3_family() { v3::first_typer() } else { 0 },
        vtr: if HYP_VIEW { vif_read(VifReg::Vtr) } else { 0 },
    }
}

/// How many priority bits the GIC implements, found by probing (IHI 0069H
/// 4.8, IHI 0048B 3.3: writing 0xFF to a priority field and reading it back
/// gives the implemented bits as ones): the priority byte of SPI 32 if the
/// distributor has SPIs (`GICD_IPRIORITYR<8>`), else of SGI 0 (GICv2's
/// banked `GICD_IPRIORITYR0`, GICv3's `GICR_IPRIORITYR0` of this PE). The
/// byte is restored afterwards. Returns the bits read back.
#[cfg(feature = "guest")]
pub fn probe_priority_bits() -> u8 {
    // SAFETY: GICD_TYPER is a read-only ID register of every distributor.
    let has_spis = unsafe { mmio::read32(layout::gicd() + 4) } & 0x1f != 0;
    let addr = if has_spis || version() == GicVersion::V2 {
        layout::gicd() + 0x400 + if has_spis { 32 } else { 0 }
    } else {
        v3::rd_base() + 0x1_0000 + 0x400
    };
    // SAFETY: a byte of GICD_IPRIORITYR<n> / GICR_IPRIORITYR<n>, which are
    // byte-accessible (IHI 0069H, both registers; IHI 0048B 4.3.11); the
    // old value is written back, and the interrupt is not signalled in
    // between (IRQs are masked while the kernel probes).
    unsafe {
        let old = mmio::read8(addr);
        mmio::write8(addr, 0xff);
        let bits = mmio::read8(addr);
        mmio::write8(addr, old);
        bits
    }
}

/// Which of the PPIs 16–31 the executing PE's interface implements, found
/// by probing the enable bits (IHI 0069H `GICR_ISENABLER0`, IHI 0048B
/// 4.3.5 `GICD_ISENABLER0`: the bit of an unimplemented interrupt is
/// RAZ/WI): all of bits 16–31 written with ones, read back, and those that
/// were not enabled before cleared again through the clear-enable register.
/// Returns the bits read back (bit n: INTID n).
pub fn probe_ppis() -> u32 {
    const PPIS: u32 = 0xffff_0000;
    let (set, clear) = match version() {
        GicVersion::V2 => (layout::gicd() + 0x100, layout::gicd() + 0x180),
        _ => (v3::rd_base() + 0x1_0000 + 0x100, v3::rd_base() + 0x1_0000 + 0x180),
    };
    // SAFETY: this PE's banked GICD_ISENABLER0/GICD_ICENABLER0 (GICv2) or
    // its Redistributor's GICR_ISENABLER0/GICR_ICENABLER0 (GICv3); the
    // enables end as they were (IRQs are masked while the kernel probes).
    unsafe {
        let old = mmio::read32(set);
        mmio::write32(set, PPIS);
        let implemented = mmio::read32(set) & PPIS;
        mmio::write32(clear, PPIS & !old);
        implemented
    }
}
