//! Finds the hardware the test kernel's guest mode needs from a flattened
//! device tree (DTB): the GIC (version, distributor, CPU interface or
//! redistributors, virtual interface, ITS), the PL011 UART, RAM, the CPUs and
//! the PSCI conduit, the architected timer's PPIs, and the initrd the loader
//! placed in RAM (`/chosen`), which carries the compiled case.
//!
//! The kernel in guest mode is booted like a Linux arm64 `Image` (QEMU
//! `-kernel`, a hypervisor's domain builder), gets the physical address of
//! the DTB in x0 and calls [`Platform::from_ptr`]; the host tests call
//! [`Platform::from_bytes`] on QEMU's own `dumpdtb` output and on trees in
//! Xen's guest layout. Every field says which node and property it comes
//! from, named as in the Linux device-tree bindings (`Documentation/
//! devicetree/bindings/`): `interrupt-controller/arm,gic.yaml` (GICv2),
//! `interrupt-controller/arm,gic-v3.yaml` (GICv3/v4 and its ITS),
//! `serial/arm,pl011.yaml` and `serial/arm,sbsa-uart.yaml`,
//! `arm/psci.yaml`, `timer/arm,arch_timer.yaml`, `arm/cpus.yaml`, the
//! Devicetree Specification v0.4 for `/memory`, `reg`, `ranges` and
//! `#address-cells`/`#size-cells`, and dt-schema's `chosen.yaml` for
//! `linux,initrd-start`/`linux,initrd-end`.
//!
//! # The FDT crate
//!
//! Parsing is [`dtoolkit`] (Google, 2025–): `#![no_std]` without `alloc` for
//! the read-only API, validates the whole blob once in `Fdt::new` so later
//! lookups cannot run off the end, forbids `unsafe` outside the one
//! raw-pointer constructor, and is dual MIT/Apache-2.0 like this project
//! (and from the same authors as `aarch64-rt`, which the kernel already
//! boots with). The older `fdt` crate (repnop) has had no stable release since
//! 2023, and both `fdt` and `fdt-parser` are MPL-2.0.
//!
//! # Host feature
//!
//! With the `host` feature (std) the crate also has [`image`]: the
//! conversion of the kernel's ELF into the flat arm64 `Image` that QEMU's
//! `-kernel` loads as Linux, and the `elf2image` binary around it.
#![cfg_attr(not(any(feature = "host", test)), no_std)]
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(any(feature = "host", test))]
pub mod image;

use core::fmt;

use dtoolkit::error::FdtParseError;
use dtoolkit::fdt::{Fdt, FdtNode};
use dtoolkit::standard::{NodeStandard, Status};
use dtoolkit::{Node, Property, ToCellInt};

/// Most CPUs whose MPIDR the [`Cpus`] list keeps (more are counted).
pub const MAX_CPUS: usize = 8;
/// Most redistributor regions kept (`#redistributor-regions`).
pub const MAX_REDIST_REGIONS: usize = 4;
/// Largest DTB accepted: the arm64 boot protocol limits it to 2 MiB
/// (Linux `Documentation/arch/arm64/booting.rst`, "Setup the device tree").
pub const MAX_DTB_SIZE: usize = 2 << 20;
/// `magic` of an FDT header (Devicetree Specification v0.4, 5.2), big-endian.
pub const FDT_MAGIC: u32 = 0xd00d_feed;

/// Deepest node the walk visits; QEMU's and Xen's trees are 4 levels deep.
const MAX_DEPTH: usize = 8;

/// A physical address range, from one `(address, size)` entry of a `reg`
/// property, translated through the `ranges` of the node's ancestors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    /// Physical base address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

/// The GIC architecture version, from the interrupt controller's
/// `compatible`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicVersion {
    /// GICv2: `arm,cortex-a15-gic`, `arm,cortex-a7-gic`, `arm,gic-400`, `arm,gic-v2`.
    V2,
    /// GICv3 (and GICv4, which uses the same binding): `arm,gic-v3`.
    V3,
}

impl GicVersion {
    /// `v2` or `v3`, as in the kernel's headers.
    pub fn name(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V3 => "v3",
        }
    }
}

/// `compatible` strings of a GICv2 (`arm,gic.yaml`); the Cortex-A9 GIC is
/// left out, being GICv1 without the virtualization extensions.
const GICV2_COMPATIBLE: [&str; 4] = ["arm,cortex-a15-gic", "arm,cortex-a7-gic", "arm,gic-400", "arm,gic-v2"];
/// `compatible` of a GICv3/v4 (`arm,gic-v3.yaml`).
const GICV3_COMPATIBLE: &str = "arm,gic-v3";
/// `compatible` of a GICv3 ITS child node (`arm,gic-v3-its.yaml`).
const ITS_COMPATIBLE: &str = "arm,gic-v3-its";

/// The interrupt controller node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gic {
    /// From `compatible`.
    pub version: GicVersion,
    /// Distributor: `reg` entry 0 (both versions).
    pub gicd: Region,
    /// GICv2: CPU interface, `reg` entry 1 (required). GICv3: the optional
    /// GICv2-compatible CPU interface, `reg` entry `1 + #redistributor-regions`.
    pub gicc: Option<Region>,
    /// Virtual interface control (hypervisor) registers: GICv2 `reg` entry 2,
    /// GICv3 entry `2 + #redistributor-regions`; present only where the
    /// tree describes the virtualization extensions (EL2 available).
    pub gich: Option<Region>,
    /// Virtual CPU interface: GICv2 `reg` entry 3, GICv3 entry `3 + #redistributor-regions`.
    pub gicv: Option<Region>,
    /// GICv3: redistributor regions, `reg` entries `1 ..= #redistributor-regions`
    /// (`#redistributor-regions` defaults to 1); only the first
    /// [`gicr_count`](Self::gicr_count) entries are meaningful.
    pub gicr: [Region; MAX_REDIST_REGIONS],
    /// GICv3: how many redistributor regions `gicr` holds (0 for GICv2).
    pub gicr_count: usize,
    /// GICv3: the first child node compatible with `arm,gic-v3-its`, `reg` entry 0.
    pub its: Option<Region>,
    /// The virtual GIC maintenance interrupt (`interrupts` of the GIC node,
    /// a PPI), as an INTID; absent unless the tree describes the
    /// virtualization extensions.
    pub maintenance_intid: Option<u32>,
}

impl Gic {
    /// The redistributor regions the tree names.
    pub fn redistributors(&self) -> &[Region] {
        &self.gicr[..self.gicr_count]
    }
}

/// The PSCI conduit, from `/psci` `method` (`arm/psci.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsciConduit {
    /// `method = "hvc"`: calls go to EL2 (a hypervisor, or QEMU emulating
    /// PSCI when it models no EL2).
    Hvc,
    /// `method = "smc"`: calls go to EL3 firmware (or QEMU emulating PSCI for
    /// a guest at EL2).
    Smc,
}

impl PsciConduit {
    /// `hvc` or `smc`, as in `method`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hvc => "hvc",
            Self::Smc => "smc",
        }
    }
}

/// The `/psci` node (or the first node compatible with `arm,psci*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Psci {
    /// From `method`.
    pub conduit: PsciConduit,
    /// Whether `compatible` names `arm,psci-0.2` or `arm,psci-1.0`: the
    /// function IDs are then the standard ones (Arm DEN 0022), and the
    /// properties below are only what PSCI 0.1 callers would use.
    pub standard_ids: bool,
    /// `cpu_on` function ID, if given (required only for `arm,psci`, 0.1).
    pub cpu_on: Option<u32>,
    /// `cpu_off` function ID, if given.
    pub cpu_off: Option<u32>,
    /// `cpu_suspend` function ID, if given.
    pub cpu_suspend: Option<u32>,
    /// `migrate` function ID, if given.
    pub migrate: Option<u32>,
}

/// The `/cpus/cpu@*` nodes (`arm/cpus.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpus {
    /// How many `cpu` nodes `/cpus` has (with `device_type = "cpu"` or
    /// without `device_type`), whatever their `status`.
    pub count: usize,
    /// Their `reg`: the MPIDR affinity fields (Aff3 in bits 39:32 when
    /// `#address-cells` = 2, Aff2..Aff0 in bits 23:0), in tree order; the
    /// first `min(count, MAX_CPUS)` entries are meaningful.
    pub mpidr: [u64; MAX_CPUS],
}

impl Cpus {
    /// The MPIDRs the tree names, at most [`MAX_CPUS`].
    pub fn mpidrs(&self) -> &[u64] {
        &self.mpidr[..self.count.min(MAX_CPUS)]
    }
}

/// The architected timer's interrupts (`arm,armv8-timer` / `arm,armv7-timer`
/// `interrupts`, in the binding's order), as INTIDs (PPI number + 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerIntids {
    /// Secure EL1 physical timer.
    pub secure_phys: u32,
    /// Non-secure EL1 physical timer.
    pub phys: u32,
    /// EL1 virtual timer.
    pub virt: u32,
    /// EL2 (hypervisor) physical timer, if listed.
    pub hyp_phys: Option<u32>,
    /// EL2 virtual timer, if listed.
    pub hyp_virt: Option<u32>,
}

/// What the guest-mode kernel needs to know about the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// The interrupt controller: the first enabled node whose `compatible`
    /// names a GICv2 or GICv3.
    pub gic: Gic,
    /// The first enabled node compatible with `arm,pl011` or
    /// `arm,sbsa-uart` (Xen's vPL011), `reg` entry 0.
    pub uart: Option<Region>,
    /// RAM: the first `reg` entry of nonzero size of the first node with
    /// `device_type = "memory"`.
    pub ram: Region,
    /// The `/psci` node, if any (without it only the boot CPU runs).
    pub psci: Option<Psci>,
    /// The CPUs.
    pub cpus: Cpus,
    /// The timer's interrupts, if the tree has a timer node whose
    /// `interrupts` the parser understands (3 cells per interrupt, PPIs).
    pub timer: Option<TimerIntids>,
    /// The initrd: `/chosen` `linux,initrd-start` (its first byte) and
    /// `linux,initrd-end` (the first byte after it), each one 32-bit or one
    /// 64-bit big-endian cell (dt-schema `chosen.yaml`; QEMU 7.2 writes one
    /// cell, QEMU 10.0 two, as the root's `#address-cells`); `None` when
    /// `/chosen` has neither property. `size` is end − start, possibly 0.
    pub initrd: Option<Region>,
    /// `/chosen` `gicv,run` (one 32-bit cell), written by the project's KVM
    /// VMM when it runs one case of a batch (several cases, one VM each, in
    /// one Linux boot): the case's number in the batch. The kernel then
    /// marks its output with the number and ends the VM with PSCI
    /// SYSTEM_OFF instead of ending the whole machine with semihosting
    /// SYS_EXIT. `None` when the property is absent.
    pub batch_run: Option<u32>,
}

/// Why a device tree could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// No FDT header magic (0xd00dfeed) where the tree should be.
    BadMagic {
        /// What was found there.
        found: u32,
    },
    /// The header's `totalsize` is larger than the blob given or than the
    /// 2 MiB the boot protocol allows.
    BadSize {
        /// The header's `totalsize`.
        totalsize: u32,
    },
    /// The blob is malformed (as `dtoolkit` found it).
    Malformed(FdtParseError),
    /// No enabled node compatible with a GICv2 or GICv3.
    NoGic,
    /// The GIC node lacks a `reg` entry its binding requires.
    MissingGicReg {
        /// Which register frame: `GICD`, `GICC` or `GICR`.
        frame: &'static str,
    },
    /// No node with `device_type = "memory"` and a nonzero `reg`.
    NoMemory,
    /// No `/cpus` node or no `cpu` node in it.
    NoCpus,
    /// The `/psci` node has no `method`, or one other than `hvc` and `smc`.
    BadPsciMethod,
    /// A property has the wrong length or does not fit in 64 bits, or (for
    /// `/chosen`'s initrd) comes without its partner or ends before it starts.
    BadProperty {
        /// The node (the binding's name for it).
        node: &'static str,
        /// The property.
        property: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic { found } => write!(f, "no device tree: magic {found:#x}, not 0xd00dfeed"),
            Self::BadSize { totalsize } => {
                write!(f, "device tree totalsize {totalsize:#x} exceeds the blob or the 2 MiB limit")
            }
            Self::Malformed(e) => write!(f, "malformed device tree: {e}"),
            Self::NoGic => write!(
                f,
                "no interrupt controller node compatible with arm,gic-v3, arm,cortex-a15-gic, \
                 arm,cortex-a7-gic, arm,gic-400 or arm,gic-v2"
            ),
            Self::MissingGicReg { frame } => write!(f, "the GIC node's reg has no {frame} entry"),
            Self::NoMemory => write!(f, "no memory node (device_type = \"memory\") with a nonzero reg"),
            Self::NoCpus => write!(f, "no /cpus node with cpu nodes"),
            Self::BadPsciMethod => write!(f, "/psci has no method, or one other than \"hvc\" and \"smc\""),
            Self::BadProperty { node, property } => write!(f, "{node}: property {property} is malformed"),
        }
    }
}

impl Platform {
    /// Parses the DTB at `dtb`, whose extent its header's `totalsize` gives.
    ///
    /// The magic is checked before `totalsize` is believed, and `totalsize`
    /// is capped at [`MAX_DTB_SIZE`], so a wrong pointer reads at most the
    /// 8 header bytes plus 2 MiB.
    ///
    /// # Errors
    /// See [`Platform::from_bytes`].
    ///
    /// # Safety
    /// `dtb` must be 4-byte aligned, its first 8 bytes readable, and, if they
    /// hold the FDT magic, the `totalsize` bytes from `dtb` (at most
    /// [`MAX_DTB_SIZE`]) readable and unchanged for the duration of the call.
    pub unsafe fn from_ptr(dtb: *const u8) -> Result<Platform, Error> {
        let words = dtb.cast::<u32>();
        // SAFETY: the caller guarantees the first 8 bytes are readable and aligned.
        let (magic, totalsize) = unsafe { (u32::from_be(words.read()), u32::from_be(words.add(1).read())) };
        if magic != FDT_MAGIC {
            return Err(Error::BadMagic { found: magic });
        }
        if totalsize as usize > MAX_DTB_SIZE {
            return Err(Error::BadSize { totalsize });
        }
        // SAFETY: the magic is there, so the caller guarantees `totalsize`
        // bytes (capped above) are readable and unchanged while we use them.
        let blob = unsafe { core::slice::from_raw_parts(dtb, totalsize as usize) };
        Self::from_bytes(blob)
    }

    /// Parses a DTB; `blob` may extend past the header's `totalsize`.
    ///
    /// # Errors
    /// [`Error`] names what was missing or malformed: the header, the GIC
    /// node and its required `reg` entries, memory, the CPUs, `/psci`
    /// `method`, or a property of the wrong length.
    pub fn from_bytes(blob: &[u8]) -> Result<Platform, Error> {
        let word = |i: usize| blob.get(i * 4..i * 4 + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let magic = word(0).ok_or(Error::BadMagic { found: 0 })?;
        if magic != FDT_MAGIC {
            return Err(Error::BadMagic { found: magic });
        }
        let totalsize = word(1).ok_or(Error::BadSize { totalsize: 0 })?;
        if totalsize as usize > blob.len() || totalsize as usize > MAX_DTB_SIZE {
            return Err(Error::BadSize { totalsize });
        }
        let fdt = Fdt::new(&blob[..totalsize as usize]).map_err(Error::Malformed)?;
        parse(fdt)
    }
}

/// The nodes of interest, found in one walk of the tree.
#[derive(Default)]
struct Found<'a> {
    gic: Option<(FdtNode<'a>, Ancestors<'a>)>,
    uart: Option<Region>,
    memory: Option<Region>,
    timer: Option<FdtNode<'a>>,
    psci: Option<FdtNode<'a>>,
}

/// The ancestors of a node, root first, for address translation.
#[derive(Clone, Copy, Default)]
struct Ancestors<'a> {
    nodes: [Option<FdtNode<'a>>; MAX_DEPTH],
    len: usize,
}

impl<'a> Ancestors<'a> {
    fn with(mut self, node: FdtNode<'a>) -> Self {
        if self.len < MAX_DEPTH {
            self.nodes[self.len] = Some(node);
            self.len += 1;
        }
        self
    }

    /// Translates `addr`, an address in the bus of the deepest ancestor,
    /// to a CPU physical address through each ancestor's `ranges` (none is
    /// needed from the root's children; an empty `ranges` is the identity;
    /// an ancestor without `ranges` leaves the address as it is, which is
    /// what the trees the kernel meets need).
    fn translate(&self, mut addr: u64, node: &'static str) -> Result<u64, Error> {
        // Skip the root (index 0): its children's addresses are physical.
        for bus in self.nodes[1..self.len].iter().rev().flatten() {
            let Some(ranges) = bus.ranges().map_err(|_| Error::BadProperty { node, property: "ranges" })? else {
                continue;
            };
            let mut mapped = None;
            let mut empty = true;
            for r in ranges {
                empty = false;
                let bad = |_| Error::BadProperty { node, property: "ranges" };
                let child: u64 = r.child_bus_address().map_err(bad)?;
                let parent: u64 = r.parent_bus_address().map_err(bad)?;
                let len: u64 = r.length().map_err(bad)?;
                if addr >= child && addr - child < len {
                    mapped = Some(parent + (addr - child));
                    break;
                }
            }
            if !empty {
                addr = mapped.ok_or(Error::BadProperty { node, property: "ranges" })?;
            }
        }
        Ok(addr)
    }
}

fn enabled(node: &FdtNode<'_>) -> bool {
    // A status the crate does not know (e.g. the legacy "ok") counts as enabled.
    !matches!(node.status(), Ok(Status::Disabled | Status::Reserved | Status::Fail | Status::FailSss))
}

fn is_compatible(node: &FdtNode<'_>, names: &[&str]) -> bool {
    node.compatible().is_some_and(|mut c| c.any(|s| names.contains(&s)))
}

fn gic_version(node: &FdtNode<'_>) -> Option<GicVersion> {
    if is_compatible(node, &[GICV3_COMPATIBLE]) {
        Some(GicVersion::V3)
    } else if is_compatible(node, &GICV2_COMPATIBLE) {
        Some(GicVersion::V2)
    } else {
        None
    }
}

/// The `reg` entries of `node`, translated to physical addresses; `None`
/// past the last, and for entries beyond `out`'s length.
fn regs<const N: usize>(
    node: FdtNode<'_>,
    up: &Ancestors<'_>,
    name: &'static str,
) -> Result<[Option<Region>; N], Error> {
    let bad = Error::BadProperty { node: name, property: "reg" };
    let mut out = [None; N];
    let Some(entries) = node.reg().map_err(|_| bad.clone())? else {
        return Ok(out);
    };
    for (slot, r) in out.iter_mut().zip(entries) {
        let base: u64 = r.address().map_err(|_| bad.clone())?;
        let size: u64 = r.size().map_err(|_| bad.clone())?;
        *slot = Some(Region { base: up.translate(base, name)?, size });
    }
    Ok(out)
}

fn first_reg(node: FdtNode<'_>, up: &Ancestors<'_>, name: &'static str) -> Result<Option<Region>, Error> {
    Ok(regs::<1>(node, up, name)?[0])
}

fn walk<'a>(node: FdtNode<'a>, up: Ancestors<'a>, depth: usize, found: &mut Found<'a>) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let here = up.with(node);
    for child in node.children() {
        if !enabled(&child) {
            continue;
        }
        if found.gic.is_none() && gic_version(&child).is_some() {
            found.gic = Some((child, here));
        } else if found.uart.is_none() && is_compatible(&child, &["arm,pl011", "arm,sbsa-uart"]) {
            found.uart = first_reg(child, &here, "uart")?;
        } else if found.timer.is_none() && is_compatible(&child, &["arm,armv8-timer", "arm,armv7-timer"]) {
            found.timer = Some(child);
        } else if found.psci.is_none()
            && (child.name_without_address() == "psci"
                || is_compatible(&child, &["arm,psci", "arm,psci-0.2", "arm,psci-1.0"]))
        {
            found.psci = Some(child);
        } else if found.memory.is_none()
            && child.property("device_type").is_some_and(|p| p.value_as::<&str>() == Ok("memory"))
        {
            let bad = Error::BadProperty { node: "memory", property: "reg" };
            if let Some(entries) = child.reg().map_err(|_| bad.clone())? {
                for r in entries {
                    let base: u64 = r.address().map_err(|_| bad.clone())?;
                    let size: u64 = r.size().map_err(|_| bad.clone())?;
                    if size != 0 {
                        found.memory = Some(Region { base: here.translate(base, "memory")?, size });
                        break;
                    }
                }
            }
        }
        walk(child, here, depth + 1, found)?;
    }
    Ok(())
}

fn parse(fdt: Fdt<'_>) -> Result<Platform, Error> {
    let mut found = Found::default();
    walk(fdt.root(), Ancestors::default(), 0, &mut found)?;
    let (gic_node, gic_up) = found.gic.ok_or(Error::NoGic)?;
    let gic = parse_gic(gic_node, &gic_up)?;
    let ram = found.memory.ok_or(Error::NoMemory)?;
    let cpus = parse_cpus(fdt)?;
    let psci = found.psci.map(parse_psci).transpose()?;
    let timer = match found.timer {
        Some(t) if interrupt_cells(gic_node) == Some(3) => parse_timer(t)?,
        _ => None,
    };
    let (initrd, batch_run) = match fdt.find_node("/chosen") {
        Some(chosen) => (parse_initrd(&chosen)?, u32_prop(&chosen, "gicv,run", "chosen")?),
        None => (None, None),
    };
    Ok(Platform { gic, uart: found.uart, ram, psci, cpus, timer, initrd, batch_run })
}

/// An address property of one 32-bit or one 64-bit cell (`linux,initrd-*`
/// are written either way; dt-schema `chosen.yaml`).
fn address_prop(node: &FdtNode<'_>, property: &'static str) -> Result<Option<u64>, Error> {
    let Some(p) = node.property(property) else {
        return Ok(None);
    };
    let bad = || Error::BadProperty { node: "chosen", property };
    match p.value().len() {
        4 => p.value_as::<u32>().map(|v| Some(v as u64)).map_err(|_| bad()),
        8 => p.value_as::<u64>().map(Some).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// `/chosen` `linux,initrd-start` and `linux,initrd-end`: both or neither,
/// the end not below the start.
fn parse_initrd(chosen: &FdtNode<'_>) -> Result<Option<Region>, Error> {
    const START: &str = "linux,initrd-start";
    const END: &str = "linux,initrd-end";
    match (address_prop(chosen, START)?, address_prop(chosen, END)?) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::BadProperty { node: "chosen", property: END }),
        (None, Some(_)) => Err(Error::BadProperty { node: "chosen", property: START }),
        (Some(start), Some(end)) if end < start => Err(Error::BadProperty { node: "chosen", property: END }),
        (Some(start), Some(end)) => Ok(Some(Region { base: start, size: end - start })),
    }
}

fn u32_prop(node: &FdtNode<'_>, property: &'static str, name: &'static str) -> Result<Option<u32>, Error> {
    node.property(property)
        .map(|p| p.value_as::<u32>().map_err(|_| Error::BadProperty { node: name, property }))
        .transpose()
}

fn interrupt_cells(gic: FdtNode<'_>) -> Option<u32> {
    u32_prop(&gic, "#interrupt-cells", "GIC").ok().flatten()
}

/// The INTIDs of the PPIs in an `interrupts` property of 3-cell specifiers
/// (`<type number flags>`, type 1 = PPI, INTID = number + 16; type 0 = SPI,
/// INTID = number + 32).
fn intids<const N: usize>(node: &FdtNode<'_>, name: &'static str) -> Result<[Option<u32>; N], Error> {
    let bad = || Error::BadProperty { node: name, property: "interrupts" };
    let mut out = [None; N];
    let Some(p) = node.property("interrupts") else {
        return Ok(out);
    };
    for (slot, [kind, number, _flags]) in out.iter_mut().zip(p.as_prop_encoded_array([1, 1, 1]).map_err(|_| bad())?) {
        let kind: u32 = kind.to_int().map_err(|_| bad())?;
        let number: u32 = number.to_int().map_err(|_| bad())?;
        *slot = Some(match kind {
            1 => number + 16,
            0 => number + 32,
            _ => return Err(bad()),
        });
    }
    Ok(out)
}

fn parse_gic(node: FdtNode<'_>, up: &Ancestors<'_>) -> Result<Gic, Error> {
    let version = gic_version(&node).ok_or(Error::NoGic)?;
    // Room for GICD, the largest redistributor-region count kept, and the
    // three optional GICv2-compatible frames of a GICv3.
    let reg = regs::<{ 4 + MAX_REDIST_REGIONS }>(node, up, "GIC")?;
    let gicd = reg[0].ok_or(Error::MissingGicReg { frame: "GICD" })?;
    let maintenance_intid = if interrupt_cells(node) == Some(3) { intids::<1>(&node, "GIC")?[0] } else { None };
    let mut gic = Gic {
        version,
        gicd,
        gicc: None,
        gich: None,
        gicv: None,
        gicr: [Region::default(); MAX_REDIST_REGIONS],
        gicr_count: 0,
        its: None,
        maintenance_intid,
    };
    match version {
        GicVersion::V2 => {
            gic.gicc = Some(reg[1].ok_or(Error::MissingGicReg { frame: "GICC" })?);
            gic.gich = reg[2];
            gic.gicv = reg[3];
        }
        GicVersion::V3 => {
            let n = u32_prop(&node, "#redistributor-regions", "GIC")?.unwrap_or(1) as usize;
            if n == 0 || n > MAX_REDIST_REGIONS {
                return Err(Error::BadProperty { node: "GIC", property: "#redistributor-regions" });
            }
            for i in 0..n {
                gic.gicr[i] = reg[1 + i].ok_or(Error::MissingGicReg { frame: "GICR" })?;
            }
            gic.gicr_count = n;
            gic.gicc = reg[1 + n];
            gic.gich = reg[2 + n];
            gic.gicv = reg[3 + n];
            let here = up.with(node);
            if let Some(its) = node.children().find(|c| enabled(c) && is_compatible(c, &[ITS_COMPATIBLE])) {
                gic.its = first_reg(its, &here, "ITS")?;
            }
        }
    }
    Ok(gic)
}

fn parse_cpus(fdt: Fdt<'_>) -> Result<Cpus, Error> {
    let cpus_node = fdt.find_node("/cpus").ok_or(Error::NoCpus)?;
    let mut cpus = Cpus { count: 0, mpidr: [0; MAX_CPUS] };
    for cpu in cpus_node.children() {
        if cpu.name_without_address() != "cpu" {
            continue;
        }
        if cpu.property("device_type").is_some_and(|p| p.value_as::<&str>() != Ok("cpu")) {
            continue;
        }
        let bad = Error::BadProperty { node: "cpu", property: "reg" };
        let reg = cpu.reg().map_err(|_| bad.clone())?.and_then(|mut r| r.next()).ok_or(bad.clone())?;
        let mpidr: u64 = reg.address().map_err(|_| bad)?;
        if cpus.count < MAX_CPUS {
            cpus.mpidr[cpus.count] = mpidr;
        }
        cpus.count += 1;
    }
    if cpus.count == 0 {
        return Err(Error::NoCpus);
    }
    Ok(cpus)
}

fn parse_psci(node: FdtNode<'_>) -> Result<Psci, Error> {
    let conduit = match node.property("method").map(|p| p.value_as::<&str>()) {
        Some(Ok("hvc")) => PsciConduit::Hvc,
        Some(Ok("smc")) => PsciConduit::Smc,
        _ => return Err(Error::BadPsciMethod),
    };
    Ok(Psci {
        conduit,
        standard_ids: is_compatible(&node, &["arm,psci-0.2", "arm,psci-1.0"]),
        cpu_on: u32_prop(&node, "cpu_on", "psci")?,
        cpu_off: u32_prop(&node, "cpu_off", "psci")?,
        cpu_suspend: u32_prop(&node, "cpu_suspend", "psci")?,
        migrate: u32_prop(&node, "migrate", "psci")?,
    })
}

fn parse_timer(node: FdtNode<'_>) -> Result<Option<TimerIntids>, Error> {
    let [s, p, v, hp, hv] = intids::<5>(&node, "timer")?;
    Ok(match (s, p, v) {
        (Some(secure_phys), Some(phys), Some(virt)) => {
            Some(TimerIntids { secure_phys, phys, virt, hyp_phys: hp, hyp_virt: hv })
        }
        _ => None,
    })
}
