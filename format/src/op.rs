//! Compiled-case operations and their word encoding.
//!
//! Each op is a header word followed by its argument words:
//! header = `opcode | (argument count << 8) | (step << 16)`, where `step`
//! is the 1-based number of the case statement the op came from; every
//! event the op produces carries it. `OnCpu { cpu, count }` is followed by
//! the `count` ops of the block, which run on PE `cpu`.

use crate::lr::Lr;
use crate::regs::RegId;
use crate::vif::VifReg;

/// Interrupt group selector for acknowledge/EOI/HPPIR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Group 0 (`IAR0`/`EOIR0`, GICv2 `GICV_IAR`/`GICV_EOIR`).
    G0 = 0,
    /// Group 1 (`IAR1`/`EOIR1`, GICv2 `GICV_AIAR`/`GICV_AEOIR`).
    G1 = 1,
}

impl Group {
    fn from_u32(v: u32) -> Group {
        if v & 1 == 0 {
            Group::G0
        } else {
            Group::G1
        }
    }
}

/// Physical interrupt state a case can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhysState {
    /// Pending in the distributor/redistributor (`ISPENDR`).
    Pending = 0,
    /// Active (`ISACTIVER`).
    Active = 1,
}

/// Operations the guest (EL1) performs on its virtual CPU interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestOp {
    /// Read `ICV_IAR<g>_EL1` (GICv2: `GICV_IAR` for group 0, `GICV_AIAR` for group 1).
    Ack(Group),
    /// Write `ICV_EOIR<g>_EL1` (GICv2: `GICV_EOIR` / `GICV_AEOIR`).
    Eoi(u32, Group),
    /// Write `ICV_DIR_EL1` (GICv2: `GICV_DIR`).
    Dir(u32),
    /// Read `ICV_RPR_EL1` / `GICV_RPR`.
    ReadRpr,
    /// Read `ICV_HPPIR<g>_EL1` (GICv2: `GICV_HPPIR` / `GICV_AHPPIR`).
    ReadHppir(Group),
    /// Write `ICV_PMR_EL1` / `GICV_PMR`.
    SetPmr(u32),
    /// Read `ICV_PMR_EL1` / `GICV_PMR`.
    ReadPmr,
    /// Write `ICV_BPR<g>_EL1` (GICv2: `GICV_BPR` / `GICV_ABPR`).
    SetBpr(Group, u32),
    /// Set `ICV_CTLR_EL1.EOImode` / `GICV_CTLR.EOImode`.
    SetEoiMode(bool),
    /// Write `ICV_IGRPEN<g>_EL1` / `GICV_CTLR.EnableGrp<g>`.
    SetGroupEnable(Group, bool),
    /// Unmask IRQ and FIQ at EL1 and wait, at most the given milliseconds,
    /// for a virtual interrupt exception.
    WaitVirq(u32),
    /// Read a register the guest owns (`ICV_*`, `GICV_*`) by name.
    ReadReg(RegId),
    /// Write a register the guest owns by name.
    WriteReg(RegId, u64),
}

/// An ITS command a case issues (IHI 0069H 5.3 for the physical commands,
/// the GICv4.0 virtual ones included). The kernel builds the command with the
/// builder of the same name in [`crate::its`], resolving `cpu` to the target
/// Redistributor's RDbase (processor number or address, per `GITS_TYPER.PTA`)
/// and table addresses to its own memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItsOp {
    /// `MAPD`: map `device` to an ITT for `2^event_bits` EventIDs; `event_bits == 0` unmaps it (V = 0).
    Mapd {
        /// DeviceID.
        device: u32,
        /// Number of EventID bits (the command's Size + 1), 1..=16; 0 for V = 0.
        event_bits: u8,
    },
    /// `MAPC`: map collection `icid` to PE `cpu`'s Redistributor (or unmap it).
    Mapc {
        /// ICID.
        icid: u16,
        /// Target PE.
        cpu: u8,
        /// V.
        valid: bool,
    },
    /// `MAPTI`: map (`device`, `event`) to physical LPI `intid` in collection `icid`.
    Mapti {
        /// DeviceID.
        device: u32,
        /// EventID.
        event: u32,
        /// pINTID.
        intid: u32,
        /// ICID.
        icid: u16,
    },
    /// `MAPI`: as `MAPTI` with pINTID = EventID.
    Mapi {
        /// DeviceID.
        device: u32,
        /// EventID.
        event: u32,
        /// ICID.
        icid: u16,
    },
    /// `INT`, `CLEAR`, `DISCARD` or `INV` of (`device`, `event`).
    Event {
        /// Which of the four.
        cmd: EventCmd,
        /// DeviceID.
        device: u32,
        /// EventID.
        event: u32,
    },
    /// `INVALL` of collection `icid`.
    Invall {
        /// ICID.
        icid: u16,
    },
    /// `MOVI`: move (`device`, `event`) to collection `icid`.
    Movi {
        /// DeviceID.
        device: u32,
        /// EventID.
        event: u32,
        /// ICID.
        icid: u16,
    },
    /// `MOVALL`: move every pending LPI of PE `from`'s Redistributor to PE `to`'s.
    Movall {
        /// RDbase1.
        from: u8,
        /// RDbase2.
        to: u8,
    },
    /// `SYNC` for PE `cpu`'s Redistributor.
    Sync {
        /// Target PE.
        cpu: u8,
    },
    /// `VMAPP`: map vPE `vpe` to PE `cpu`'s Redistributor with the kernel's virtual pending table for it.
    Vmapp {
        /// vPEID.
        vpe: u16,
        /// Target PE.
        cpu: u8,
        /// V.
        valid: bool,
    },
    /// `VMAPTI`: map (`device`, `event`) to vINTID `vintid` of vPE `vpe`, doorbell pINTID `doorbell` (1023: none).
    Vmapti {
        /// DeviceID.
        device: u32,
        /// EventID.
        event: u32,
        /// vPEID.
        vpe: u16,
        /// vINTID.
        vintid: u32,
        /// Dbell_pINTID.
        doorbell: u32,
    },
    /// `VMAPI`: as `VMAPTI` with vINTID = EventID.
    Vmapi {
        /// DeviceID.
        device: u32,
        /// EventID.
        event: u32,
        /// vPEID.
        vpe: u16,
        /// Dbell_pINTID.
        doorbell: u32,
    },
    /// `VMOVI`: move (`device`, `event`) to vPE `vpe` with D = 1 and doorbell `doorbell` (1023: none).
    Vmovi {
        /// DeviceID.
        device: u32,
        /// EventID.
        event: u32,
        /// vPEID.
        vpe: u16,
        /// Dbell_pINTID (1023: no doorbell).
        doorbell: u32,
    },
    /// `VMOVP`: move vPE `vpe` to PE `cpu`'s Redistributor.
    Vmovp {
        /// vPEID.
        vpe: u16,
        /// Target PE.
        cpu: u8,
    },
    /// `VSYNC` of vPE `vpe`.
    Vsync {
        /// vPEID.
        vpe: u16,
    },
    /// `VINVALL` of vPE `vpe`.
    Vinvall {
        /// vPEID.
        vpe: u16,
    },
    /// A write of `event` to `GITS_TRANSLATER` by the executing PE (an MSI
    /// whose DeviceID is the one the platform gives a PE's writes).
    Msi {
        /// EventID (the data written).
        event: u32,
    },
}

/// The ITS commands that take only a DeviceID and an EventID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventCmd {
    /// `INT`: make the mapped interrupt pending.
    Int = 0,
    /// `CLEAR`: clear its pending state.
    Clear = 1,
    /// `DISCARD`: clear its pending state and unmap the event.
    Discard = 2,
    /// `INV`: make the Redistributor re-read its configuration.
    Inv = 3,
}

impl EventCmd {
    /// The command's name in the spec.
    pub fn name(self) -> &'static str {
        match self {
            EventCmd::Int => "INT",
            EventCmd::Clear => "CLEAR",
            EventCmd::Discard => "DISCARD",
            EventCmd::Inv => "INV",
        }
    }
}

impl ItsOp {
    /// Whether the command is one of GICv4's virtual commands (or maps to them).
    pub fn is_virtual(&self) -> bool {
        matches!(
            self,
            ItsOp::Vmapp { .. }
                | ItsOp::Vmapti { .. }
                | ItsOp::Vmapi { .. }
                | ItsOp::Vmovi { .. }
                | ItsOp::Vmovp { .. }
                | ItsOp::Vsync { .. }
                | ItsOp::Vinvall { .. }
        )
    }

    /// The case-language statement, as events name it (`its mapti`, `its msi`).
    pub fn name(&self) -> &'static str {
        match self {
            ItsOp::Mapd { .. } => "its mapd",
            ItsOp::Mapc { .. } => "its mapc",
            ItsOp::Mapti { .. } => "its mapti",
            ItsOp::Mapi { .. } => "its mapi",
            ItsOp::Event { cmd: EventCmd::Int, .. } => "its int",
            ItsOp::Event { cmd: EventCmd::Clear, .. } => "its clear",
            ItsOp::Event { cmd: EventCmd::Discard, .. } => "its discard",
            ItsOp::Event { cmd: EventCmd::Inv, .. } => "its inv",
            ItsOp::Invall { .. } => "its invall",
            ItsOp::Movi { .. } => "its movi",
            ItsOp::Movall { .. } => "its movall",
            ItsOp::Sync { .. } => "its sync",
            ItsOp::Vmapp { .. } => "its vmapp",
            ItsOp::Vmapti { .. } => "its vmapti",
            ItsOp::Vmapi { .. } => "its vmapi",
            ItsOp::Vmovi { .. } => "its vmovi",
            ItsOp::Vmovp { .. } => "its vmovp",
            ItsOp::Vsync { .. } => "its vsync",
            ItsOp::Vinvall { .. } => "its vinvall",
            ItsOp::Msi { .. } => "its msi",
        }
    }

    fn encode_into(&self, w: &mut Words) {
        use code::its::*;
        match *self {
            ItsOp::Mapd { device, event_bits } => w.push(MAPD).push(device).push(event_bits as u32),
            ItsOp::Mapc { icid, cpu, valid } => w.push(MAPC).push(icid as u32).push(cpu as u32).push(valid as u32),
            ItsOp::Mapti { device, event, intid, icid } => {
                w.push(MAPTI).push(device).push(event).push(intid).push(icid as u32)
            }
            ItsOp::Mapi { device, event, icid } => w.push(MAPI).push(device).push(event).push(icid as u32),
            ItsOp::Event { cmd, device, event } => w.push(EVENT).push(cmd as u32).push(device).push(event),
            ItsOp::Invall { icid } => w.push(INVALL).push(icid as u32),
            ItsOp::Movi { device, event, icid } => w.push(MOVI).push(device).push(event).push(icid as u32),
            ItsOp::Movall { from, to } => w.push(MOVALL).push(from as u32).push(to as u32),
            ItsOp::Sync { cpu } => w.push(SYNC).push(cpu as u32),
            ItsOp::Vmapp { vpe, cpu, valid } => w.push(VMAPP).push(vpe as u32).push(cpu as u32).push(valid as u32),
            ItsOp::Vmapti { device, event, vpe, vintid, doorbell } => {
                w.push(VMAPTI).push(device).push(event).push(vpe as u32).push(vintid).push(doorbell)
            }
            ItsOp::Vmapi { device, event, vpe, doorbell } => {
                w.push(VMAPI).push(device).push(event).push(vpe as u32).push(doorbell)
            }
            ItsOp::Vmovi { device, event, vpe, doorbell } => {
                w.push(VMOVI).push(device).push(event).push(vpe as u32).push(doorbell)
            }
            ItsOp::Vmovp { vpe, cpu } => w.push(VMOVP).push(vpe as u32).push(cpu as u32),
            ItsOp::Vsync { vpe } => w.push(VSYNC).push(vpe as u32),
            ItsOp::Vinvall { vpe } => w.push(VINVALL).push(vpe as u32),
            ItsOp::Msi { event } => w.push(MSI).push(event),
        };
    }

    fn decode(a: &dyn Fn(usize) -> Result<u32, DecodeError>) -> Result<ItsOp, DecodeError> {
        use code::its::*;
        let b = |i: usize| -> Result<bool, DecodeError> { Ok(a(i)? != 0) };
        let h = |i: usize| -> Result<u16, DecodeError> { Ok(a(i)? as u16) };
        let c = |i: usize| -> Result<u8, DecodeError> { Ok(a(i)? as u8) };
        Ok(match a(0)? {
            MAPD => ItsOp::Mapd { device: a(1)?, event_bits: c(2)? },
            MAPC => ItsOp::Mapc { icid: h(1)?, cpu: c(2)?, valid: b(3)? },
            MAPTI => ItsOp::Mapti { device: a(1)?, event: a(2)?, intid: a(3)?, icid: h(4)? },
            MAPI => ItsOp::Mapi { device: a(1)?, event: a(2)?, icid: h(3)? },
            EVENT => ItsOp::Event {
                cmd: match a(1)? {
                    0 => EventCmd::Int,
                    1 => EventCmd::Clear,
                    2 => EventCmd::Discard,
                    3 => EventCmd::Inv,
                    o => return Err(DecodeError::BadArgument(o)),
                },
                device: a(2)?,
                event: a(3)?,
            },
            INVALL => ItsOp::Invall { icid: h(1)? },
            MOVI => ItsOp::Movi { device: a(1)?, event: a(2)?, icid: h(3)? },
            MOVALL => ItsOp::Movall { from: c(1)?, to: c(2)? },
            SYNC => ItsOp::Sync { cpu: c(1)? },
            VMAPP => ItsOp::Vmapp { vpe: h(1)?, cpu: c(2)?, valid: b(3)? },
            VMAPTI => ItsOp::Vmapti { device: a(1)?, event: a(2)?, vpe: h(3)?, vintid: a(4)?, doorbell: a(5)? },
            VMAPI => ItsOp::Vmapi { device: a(1)?, event: a(2)?, vpe: h(3)?, doorbell: a(4)? },
            VMOVI => ItsOp::Vmovi { device: a(1)?, event: a(2)?, vpe: h(3)?, doorbell: a(4)? },
            VMOVP => ItsOp::Vmovp { vpe: h(1)?, cpu: c(2)? },
            VSYNC => ItsOp::Vsync { vpe: h(1)? },
            VINVALL => ItsOp::Vinvall { vpe: h(1)? },
            MSI => ItsOp::Msi { event: a(1)? },
            o => return Err(DecodeError::BadArgument(o)),
        })
    }
}

/// Which PEs a physical SGI targets (IHI 0069H `ICC_SGI1R_EL1`
/// TargetList/IRM; IHI 0048B 4.3.15 `GICD_SGIR` TargetListFilter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgiTargets {
    /// The PEs in the bitmap (bit n: PE n; `TargetList` / `CPUTargetList`).
    List(u8),
    /// Every PE but the sender (`IRM` = 1 / TargetListFilter 0b01).
    Others,
    /// The sender only (its own bit in `TargetList` / TargetListFilter 0b10).
    SelfOnly,
}

impl SgiTargets {
    fn to_word(self) -> u32 {
        match self {
            SgiTargets::List(m) => m as u32,
            SgiTargets::Others => 1 << 8,
            SgiTargets::SelfOnly => 2 << 8,
        }
    }
    fn from_word(w: u32) -> Result<Self, DecodeError> {
        Ok(match w >> 8 {
            0 => SgiTargets::List(w as u8),
            1 => SgiTargets::Others,
            2 => SgiTargets::SelfOnly,
            _ => return Err(DecodeError::BadArgument(w)),
        })
    }
}

/// A generic timer whose interrupt output a case drives (Arm ARM D11.2; the
/// PPIs are QEMU `virt`'s: 30, 27, 26).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// EL1 physical timer, `CNTP_*_EL0` (PPI 30).
    Phys = 0,
    /// EL1 virtual timer, `CNTV_*_EL0` (PPI 27).
    Virt = 1,
    /// EL2 physical timer, `CNTHP_*_EL2` (PPI 26).
    Hyp = 2,
}

impl TimerKind {
    /// All of them.
    pub const ALL: [TimerKind; 3] = [TimerKind::Phys, TimerKind::Virt, TimerKind::Hyp];
}

/// Value of an op's PE argument that means "any PE" (`GICD_IROUTER<n>.Interrupt_Routing_Mode` = 1).
pub const ANY_PE: u32 = 0xff;

/// Most named values a case may keep (`read … as NAME`).
pub const MAX_NAMED: usize = 64;

/// One compiled operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Make a physical interrupt pending on the executing PE (SGI to self, PPI, or SPI).
    PhysPend(u32),
    /// Clear a physical interrupt's pending state.
    PhysUnpend(u32),
    /// Acknowledge the highest-priority physical interrupt (`ICC_IAR<g>_EL1` / `GICC_IAR`).
    PhysAck(Group),
    /// Wait, at most the given milliseconds, until the physical CPU interface
    /// shows a pending interrupt of the group (`ICC_HPPIR<g>_EL1` /
    /// `GICC_HPPIR` not one of the special INTIDs 1020-1023), then acknowledge as [`Op::PhysAck`]. For
    /// interrupts whose delivery takes time (an LPI after `SYNC`).
    PhysAckWithin(Group, u32),
    /// Physical end of interrupt. The kernel runs with EOImode=1 at EL2, so this is a
    /// priority drop only (IHI 0069 4.1.1; IHI 0048B 3.2.1).
    PhysEoi(u32, Group),
    /// Physical deactivation (`ICC_DIR_EL1` / `GICC_DIR`).
    PhysDir(u32),
    /// Set a physical interrupt's priority.
    PhysPrio(u32, u32),
    /// Enable (true) or disable a physical interrupt.
    PhysEnable(u32, bool),
    /// Read whether a physical interrupt is pending or active.
    PhysRead(u32, PhysState),
    /// Read whether SGI/PPI `intid` is pending or active on another PE
    /// (GICv3/v4: that PE's Redistributor, `GICR_ISPENDR0`/`GICR_ISACTIVER0`).
    PhysReadOn(u32, PhysState, u32),
    /// Route SPI `intid` to PE `cpu` (`GICD_IROUTER<n>` with
    /// Interrupt_Routing_Mode 0; GICv2 `GICD_ITARGETSR<n>` with that PE's
    /// bit only), or to any PE with [`ANY_PE`] (Interrupt_Routing_Mode 1, GICv3/v4).
    PhysRoute(u32, u32),
    /// Send physical SGI `intid` (`ICC_SGI1R_EL1`, or `ICC_SGI0R_EL1` for
    /// group 0; GICv2 `GICD_SGIR`).
    Sgi {
        /// SGI number, 0-15.
        intid: u32,
        /// Targets.
        targets: SgiTargets,
        /// Group (GICv3/v4: which register; GICv2: ignored, always `GICD_SGIR`).
        group: Group,
    },
    /// Make the executing PE's next read op ([`Op::LrRead`], [`Op::VifRead`]
    /// or [`Op::RegRead`]) keep its raw value (a whole
    /// `ICH_LR<n>_EL2`/`GICH_LR<n>`, a virtual interface register in its
    /// version-neutral form, a register read by name) as named value `slot`
    /// instead of printing an event.
    Keep(u32),
    /// Write List Register `n` with the raw value kept as `slot`.
    LrWriteNamed(u32, u32),
    /// Write a virtual interface register with the value kept as `slot`.
    VifWriteNamed(VifReg, u32),
    /// Write a hypervisor-side register by spec name with the value kept as `slot`.
    RegWriteNamed(RegId, u32),
    /// Compare two kept values; reports whether they are equal.
    Compare(u32, u32),
    /// Wait, bounded, for the concurrent block running on PE `cpu` to finish.
    Join(u32),
    /// A migration point `n` (`cargo xtask test --migrate`; inserted by the
    /// runner between two top-level steps of CPU0, never written in a case):
    /// the kernel prints `{"checkpoint":n}` and waits, bounded, until the
    /// runner has saved the machine, restored it in a fresh QEMU and
    /// created the host file `gicv-resume-<n>`. Prints no event.
    Checkpoint(u32),
    /// Drive the PL011 UART's interrupt line (SPI 1, INTID 33 on QEMU
    /// `virt`), a level-sensitive SPI: `true` asserts it (`UARTIMSC.TXIM` = 1
    /// with the TX interrupt raised), `false` deasserts it (`UARTIMSC` = 0).
    Uart(bool),
    /// Take the oldest virtual SGI posted to the executing PE by an emulated
    /// guest `ICC_SGI1R_EL1` write and put it in List Register `lr`, pending,
    /// group 1, priority `prio`.
    InjectSgi {
        /// List Register.
        lr: u32,
        /// Priority.
        prio: u8,
    },
    /// Write List Register `n` with version-neutral fields.
    LrWrite(u32, Lr),
    /// Read List Register `n`, decoded.
    LrRead(u32),
    /// Write a virtual interface register; value in the GICv3 layout (see [`crate::vif`]).
    VifWrite(VifReg, u64),
    /// Read a virtual interface register, decoded.
    VifRead(VifReg),
    /// Read a hypervisor-side register by spec name.
    RegRead(RegId),
    /// Write a hypervisor-side register by spec name.
    RegWrite(RegId, u64),
    /// `read GICR_… of cpuN`: a register of another PE's Redistributor
    /// (frames `GicrRd`/`GicrSgi` only), read by the executing PE.
    RegReadOn(RegId, u32),
    /// `write GICR_… of cpuN V`: as [`Op::RegReadOn`], a write.
    RegWriteOn(RegId, u64, u32),
    /// Run one operation in the guest at EL1.
    Guest(GuestOp),
    /// Unmask IRQs at EL2 and wait, at most the given milliseconds, for the maintenance interrupt.
    WaitMaintenance(u32),
    /// Drive the output of one of the executing PE's generic timers, a
    /// level-sensitive PPI: `true` asserts it (compare value 0, `ENABLE` = 1,
    /// `IMASK` = 0: the timer condition is met at once), `false` deasserts
    /// it (`ENABLE` = 0).
    Timer(TimerKind, bool),
    /// Add a virtual interrupt to the executing PE's software queue (the
    /// hypervisor's list of pending interrupts that do not fit in the LRs):
    /// vINTID, group, priority.
    Queue(u32, u8, u8),
    /// Run the hypervisor loop on the executing PE for at most the given
    /// number of guest interrupts: refill free LRs (ELRSR) from the queue,
    /// highest priority first, clearing UIE/NPIE once the queue is empty;
    /// before each guest step take an asserted maintenance interrupt and
    /// refill from its handler; the guest waits for a vIRQ/vFIQ, acknowledges
    /// and EOIs it.
    Serve(u32),
    /// Unmask IRQs at EL2 and wait, at most the given milliseconds, for any
    /// physical interrupt (a doorbell, an LPI, an SPI…); the EL2 dispatch
    /// acknowledges, priority-drops and deactivates it.
    WaitIrq(u32),
    /// Issue an ITS command (or an MSI write) and wait, bounded, for the ITS to consume it.
    Its(ItsOp),
    /// Write an entry of the LPI configuration table (`virtual_ == false`,
    /// `GICR_PROPBASER`) or of the kernel's one virtual LPI configuration
    /// table (`GICR_VPROPBASER`): Priority[7:2] and Enable (IHI 0069H 5.1.1).
    /// No INV is issued: the case says when the ITS is told.
    LpiConfig {
        /// LPI INTID (8192 and up) or vINTID.
        intid: u32,
        /// Priority (bits [1:0] are not stored).
        prio: u8,
        /// Enable.
        enable: bool,
        /// The virtual table.
        virtual_: bool,
    },
    /// Make vPE `vpe` resident on (`true`) or remove it from (`false`) the
    /// executing PE's Redistributor (`GICR_VPROPBASER`, `GICR_VPENDBASER.Valid`),
    /// polling `Dirty` with a bound.
    Vpe {
        /// vPEID.
        vpe: u16,
        /// Resident.
        resident: bool,
    },
    /// The next `count` ops run on PE `cpu`; the issuing PE waits for them,
    /// unless `concurrent`: then it goes on and waits at a later [`Op::Join`].
    OnCpu {
        /// Target PE (index, i.e. MPIDR Aff0 on QEMU virt).
        cpu: u32,
        /// Number of ops in the block.
        count: u32,
        /// Whether the block runs alongside the issuing PE.
        concurrent: bool,
    },
}

/// Why a word sequence is not a valid op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The sequence ends inside an op.
    Truncated,
    /// Unknown opcode.
    BadOpcode(u32),
    /// An argument is out of its range (e.g. unknown register id).
    BadArgument(u32),
}

mod code {
    pub const PHYS_PEND: u32 = 1;
    pub const PHYS_UNPEND: u32 = 2;
    pub const PHYS_ACK: u32 = 3;
    pub const PHYS_EOI: u32 = 4;
    pub const PHYS_DIR: u32 = 5;
    pub const PHYS_PRIO: u32 = 6;
    pub const PHYS_ENABLE: u32 = 7;
    pub const PHYS_READ: u32 = 8;
    pub const LR_WRITE: u32 = 9;
    pub const LR_READ: u32 = 10;
    pub const VIF_WRITE: u32 = 11;
    pub const VIF_READ: u32 = 12;
    pub const REG_READ: u32 = 13;
    pub const REG_WRITE: u32 = 14;
    pub const GUEST: u32 = 15;
    pub const WAIT_MAINT: u32 = 16;
    pub const ON_CPU: u32 = 17;
    pub const TIMER: u32 = 18;
    pub const QUEUE: u32 = 19;
    pub const SERVE: u32 = 20;
    pub const WAIT_IRQ: u32 = 21;
    pub const ITS: u32 = 22;
    pub const LPI_CONFIG: u32 = 23;
    pub const VPE: u32 = 24;
    pub const PHYS_ACK_WITHIN: u32 = 25;
    pub const PHYS_READ_ON: u32 = 26;
    pub const PHYS_ROUTE: u32 = 27;
    pub const SGI: u32 = 28;
    pub const KEEP: u32 = 29;
    pub const LR_WRITE_NAMED: u32 = 30;
    pub const VIF_WRITE_NAMED: u32 = 31;
    pub const REG_WRITE_NAMED: u32 = 32;
    pub const COMPARE: u32 = 33;
    pub const JOIN: u32 = 34;
    pub const UART: u32 = 35;
    pub const INJECT_SGI: u32 = 36;
    pub const REG_READ_ON: u32 = 37;
    pub const REG_WRITE_ON: u32 = 38;
    pub const CHECKPOINT: u32 = 39;

    pub const G_ACK: u32 = 1;
    pub const G_EOI: u32 = 2;
    pub const G_DIR: u32 = 3;
    pub const G_RPR: u32 = 4;
    pub const G_HPPIR: u32 = 5;
    pub const G_SET_PMR: u32 = 6;
    pub const G_READ_PMR: u32 = 7;
    pub const G_SET_BPR: u32 = 8;
    pub const G_EOIMODE: u32 = 9;
    pub const G_GRPEN: u32 = 10;
    pub const G_WAIT_VIRQ: u32 = 11;
    pub const G_READ_REG: u32 = 12;
    pub const G_WRITE_REG: u32 = 13;

    pub mod its {
        pub const MAPD: u32 = 1;
        pub const MAPC: u32 = 2;
        pub const MAPTI: u32 = 3;
        pub const MAPI: u32 = 4;
        pub const EVENT: u32 = 5;
        pub const INVALL: u32 = 6;
        pub const MOVI: u32 = 7;
        pub const MOVALL: u32 = 8;
        pub const SYNC: u32 = 9;
        pub const VMAPP: u32 = 10;
        pub const VMAPTI: u32 = 11;
        pub const VMAPI: u32 = 12;
        pub const VMOVI: u32 = 13;
        pub const VMOVP: u32 = 14;
        pub const VSYNC: u32 = 15;
        pub const VINVALL: u32 = 16;
        pub const MSI: u32 = 17;
    }
}

/// Most argument words an op has.
pub const MAX_ARGS: usize = 6;

/// A fixed-capacity argument list (no allocation, usable in the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Words {
    buf: [u32; MAX_ARGS + 1],
    len: usize,
}

impl Words {
    fn new(opcode: u32) -> Self {
        Words { buf: [opcode, 0, 0, 0, 0, 0, 0], len: 1 }
    }
    fn push(&mut self, w: u32) -> &mut Self {
        self.buf[self.len] = w;
        self.len += 1;
        self
    }
    fn push64(&mut self, v: u64) -> &mut Self {
        self.push(v as u32).push((v >> 32) as u32)
    }
    /// The encoded words, header first.
    pub fn as_slice(&self) -> &[u32] {
        &self.buf[..self.len]
    }
}

impl Op {
    /// Encodes the op for case statement `step` (1-based, at most 65535).
    pub fn encode(&self, step: u16) -> Words {
        use code::*;
        let mut w = Words::new(0);
        let op = match *self {
            Op::PhysPend(i) => {
                w.push(i);
                PHYS_PEND
            }
            Op::PhysUnpend(i) => {
                w.push(i);
                PHYS_UNPEND
            }
            Op::PhysAck(g) => {
                w.push(g as u32);
                PHYS_ACK
            }
            Op::PhysAckWithin(g, ms) => {
                w.push(g as u32).push(ms);
                PHYS_ACK_WITHIN
            }
            Op::PhysEoi(i, g) => {
                w.push(i).push(g as u32);
                PHYS_EOI
            }
            Op::PhysDir(i) => {
                w.push(i);
                PHYS_DIR
            }
            Op::PhysPrio(i, p) => {
                w.push(i).push(p);
                PHYS_PRIO
            }
            Op::PhysEnable(i, on) => {
                w.push(i).push(on as u32);
                PHYS_ENABLE
            }
            Op::PhysRead(i, s) => {
                w.push(i).push(s as u32);
                PHYS_READ
            }
            Op::PhysReadOn(i, s, cpu) => {
                w.push(i).push(s as u32).push(cpu);
                PHYS_READ_ON
            }
            Op::PhysRoute(i, cpu) => {
                w.push(i).push(cpu);
                PHYS_ROUTE
            }
            Op::Sgi { intid, targets, group } => {
                w.push(intid).push(targets.to_word()).push(group as u32);
                SGI
            }
            Op::Keep(slot) => {
                w.push(slot);
                KEEP
            }
            Op::LrWriteNamed(n, slot) => {
                w.push(n).push(slot);
                LR_WRITE_NAMED
            }
            Op::VifWriteNamed(r, slot) => {
                w.push(r as u32).push(slot);
                VIF_WRITE_NAMED
            }
            Op::RegWriteNamed(r, slot) => {
                let rw = r.to_words();
                w.push(rw[0]).push(rw[1]).push(slot);
                REG_WRITE_NAMED
            }
            Op::Compare(a, b) => {
                w.push(a).push(b);
                COMPARE
            }
            Op::Join(cpu) => {
                w.push(cpu);
                JOIN
            }
            Op::Checkpoint(n) => {
                w.push(n);
                CHECKPOINT
            }
            Op::Uart(on) => {
                w.push(on as u32);
                UART
            }
            Op::InjectSgi { lr, prio } => {
                w.push(lr).push(prio as u32);
                INJECT_SGI
            }
            Op::LrWrite(n, lr) => {
                let lw = lr.to_words();
                w.push(n).push(lw[0]).push(lw[1]).push(lw[2]);
                LR_WRITE
            }
            Op::LrRead(n) => {
                w.push(n);
                LR_READ
            }
            Op::VifWrite(r, v) => {
                w.push(r as u32).push64(v);
                VIF_WRITE
            }
            Op::VifRead(r) => {
                w.push(r as u32);
                VIF_READ
            }
            Op::RegRead(r) => {
                let rw = r.to_words();
                w.push(rw[0]).push(rw[1]);
                REG_READ
            }
            Op::RegWrite(r, v) => {
                let rw = r.to_words();
                w.push(rw[0]).push(rw[1]).push64(v);
                REG_WRITE
            }
            Op::RegReadOn(r, cpu) => {
                let rw = r.to_words();
                w.push(rw[0]).push(rw[1]).push(cpu);
                REG_READ_ON
            }
            Op::RegWriteOn(r, v, cpu) => {
                let rw = r.to_words();
                w.push(rw[0]).push(rw[1]).push64(v).push(cpu);
                REG_WRITE_ON
            }
            Op::Guest(g) => {
                match g {
                    GuestOp::Ack(gr) => w.push(G_ACK).push(gr as u32),
                    GuestOp::Eoi(i, gr) => w.push(G_EOI).push(i).push(gr as u32),
                    GuestOp::Dir(i) => w.push(G_DIR).push(i),
                    GuestOp::ReadRpr => w.push(G_RPR),
                    GuestOp::ReadHppir(gr) => w.push(G_HPPIR).push(gr as u32),
                    GuestOp::SetPmr(p) => w.push(G_SET_PMR).push(p),
                    GuestOp::ReadPmr => w.push(G_READ_PMR),
                    GuestOp::SetBpr(gr, v) => w.push(G_SET_BPR).push(gr as u32).push(v),
                    GuestOp::SetEoiMode(on) => w.push(G_EOIMODE).push(on as u32),
                    GuestOp::SetGroupEnable(gr, on) => w.push(G_GRPEN).push(gr as u32).push(on as u32),
                    GuestOp::WaitVirq(ms) => w.push(G_WAIT_VIRQ).push(ms),
                    GuestOp::ReadReg(r) => {
                        let rw = r.to_words();
                        w.push(G_READ_REG).push(rw[0]).push(rw[1])
                    }
                    GuestOp::WriteReg(r, v) => {
                        let rw = r.to_words();
                        w.push(G_WRITE_REG).push(rw[0]).push(rw[1]).push64(v)
                    }
                };
                GUEST
            }
            Op::WaitMaintenance(ms) => {
                w.push(ms);
                WAIT_MAINT
            }
            Op::OnCpu { cpu, count, concurrent } => {
                w.push(cpu).push(count).push(concurrent as u32);
                ON_CPU
            }
            Op::Timer(kind, on) => {
                w.push(kind as u32).push(on as u32);
                TIMER
            }
            Op::Queue(vintid, group, prio) => {
                w.push(vintid).push(group as u32 | ((prio as u32) << 8));
                QUEUE
            }
            Op::Serve(max) => {
                w.push(max);
                SERVE
            }
            Op::WaitIrq(ms) => {
                w.push(ms);
                WAIT_IRQ
            }
            Op::Its(its) => {
                its.encode_into(&mut w);
                ITS
            }
            Op::LpiConfig { intid, prio, enable, virtual_ } => {
                w.push(intid).push(prio as u32 | (enable as u32) << 8 | (virtual_ as u32) << 9);
                LPI_CONFIG
            }
            Op::Vpe { vpe, resident } => {
                w.push(vpe as u32).push(resident as u32);
                VPE
            }
        };
        w.buf[0] = op | (((w.len - 1) as u32) << 8) | ((step as u32) << 16);
        w
    }

    /// Decodes the op at the start of `words`; returns it, its step and the
    /// number of words it used.
    pub fn decode(words: &[u32]) -> Result<(Op, u16, usize), DecodeError> {
        use code::*;
        let hdr = *words.first().ok_or(DecodeError::Truncated)?;
        let opcode = hdr & 0xff;
        let n = ((hdr >> 8) & 0xff) as usize;
        let step = (hdr >> 16) as u16;
        if n > MAX_ARGS {
            return Err(DecodeError::BadOpcode(hdr));
        }
        let a = words.get(1..1 + n).ok_or(DecodeError::Truncated)?;
        let arg = |i: usize| a.get(i).copied().ok_or(DecodeError::Truncated);
        let arg64 = |i: usize| -> Result<u64, DecodeError> { Ok(arg(i)? as u64 | ((arg(i + 1)? as u64) << 32)) };
        let reg = |i: usize| -> Result<RegId, DecodeError> {
            RegId::from_words([arg(i)?, arg(i + 1)?]).ok_or(DecodeError::BadArgument(arg(i + 1)?))
        };
        let op = match opcode {
            PHYS_PEND => Op::PhysPend(arg(0)?),
            PHYS_UNPEND => Op::PhysUnpend(arg(0)?),
            PHYS_ACK => Op::PhysAck(Group::from_u32(arg(0)?)),
            PHYS_EOI => Op::PhysEoi(arg(0)?, Group::from_u32(arg(1)?)),
            PHYS_ACK_WITHIN => Op::PhysAckWithin(Group::from_u32(arg(0)?), arg(1)?),
            PHYS_DIR => Op::PhysDir(arg(0)?),
            PHYS_PRIO => Op::PhysPrio(arg(0)?, arg(1)?),
            PHYS_ENABLE => Op::PhysEnable(arg(0)?, arg(1)? != 0),
            PHYS_READ => Op::PhysRead(arg(0)?, if arg(1)? == 0 { PhysState::Pending } else { PhysState::Active }),
            PHYS_READ_ON => {
                Op::PhysReadOn(arg(0)?, if arg(1)? == 0 { PhysState::Pending } else { PhysState::Active }, arg(2)?)
            }
            PHYS_ROUTE => Op::PhysRoute(arg(0)?, arg(1)?),
            SGI => {
                Op::Sgi { intid: arg(0)?, targets: SgiTargets::from_word(arg(1)?)?, group: Group::from_u32(arg(2)?) }
            }
            KEEP => Op::Keep(arg(0)?),
            LR_WRITE_NAMED => Op::LrWriteNamed(arg(0)?, arg(1)?),
            VIF_WRITE_NAMED => {
                Op::VifWriteNamed(VifReg::from_u32(arg(0)?).ok_or(DecodeError::BadArgument(arg(0)?))?, arg(1)?)
            }
            REG_WRITE_NAMED => Op::RegWriteNamed(reg(0)?, arg(2)?),
            COMPARE => Op::Compare(arg(0)?, arg(1)?),
            CHECKPOINT => Op::Checkpoint(arg(0)?),
            JOIN => Op::Join(arg(0)?),
            UART => Op::Uart(arg(0)? != 0),
            INJECT_SGI => Op::InjectSgi { lr: arg(0)?, prio: arg(1)? as u8 },
            LR_WRITE => Op::LrWrite(arg(0)?, Lr::from_words([arg(1)?, arg(2)?, arg(3)?])),
            LR_READ => Op::LrRead(arg(0)?),
            VIF_WRITE => Op::VifWrite(VifReg::from_u32(arg(0)?).ok_or(DecodeError::BadArgument(arg(0)?))?, arg64(1)?),
            VIF_READ => Op::VifRead(VifReg::from_u32(arg(0)?).ok_or(DecodeError::BadArgument(arg(0)?))?),
            REG_READ => Op::RegRead(reg(0)?),
            REG_WRITE => Op::RegWrite(reg(0)?, arg64(2)?),
            REG_READ_ON => Op::RegReadOn(reg(0)?, arg(2)?),
            REG_WRITE_ON => Op::RegWriteOn(reg(0)?, arg64(2)?, arg(4)?),
            GUEST => Op::Guest(match arg(0)? {
                G_ACK => GuestOp::Ack(Group::from_u32(arg(1)?)),
                G_EOI => GuestOp::Eoi(arg(1)?, Group::from_u32(arg(2)?)),
                G_DIR => GuestOp::Dir(arg(1)?),
                G_RPR => GuestOp::ReadRpr,
                G_HPPIR => GuestOp::ReadHppir(Group::from_u32(arg(1)?)),
                G_SET_PMR => GuestOp::SetPmr(arg(1)?),
                G_READ_PMR => GuestOp::ReadPmr,
                G_SET_BPR => GuestOp::SetBpr(Group::from_u32(arg(1)?), arg(2)?),
                G_EOIMODE => GuestOp::SetEoiMode(arg(1)? != 0),
                G_GRPEN => GuestOp::SetGroupEnable(Group::from_u32(arg(1)?), arg(2)? != 0),
                G_WAIT_VIRQ => GuestOp::WaitVirq(arg(1)?),
                G_READ_REG => GuestOp::ReadReg(reg(1)?),
                G_WRITE_REG => GuestOp::WriteReg(reg(1)?, arg64(3)?),
                other => return Err(DecodeError::BadArgument(other)),
            }),
            WAIT_MAINT => Op::WaitMaintenance(arg(0)?),
            ON_CPU => Op::OnCpu { cpu: arg(0)?, count: arg(1)?, concurrent: arg(2)? != 0 },
            TIMER => {
                Op::Timer(*TimerKind::ALL.get(arg(0)? as usize).ok_or(DecodeError::BadArgument(arg(0)?))?, arg(1)? != 0)
            }
            QUEUE => Op::Queue(arg(0)?, (arg(1)? & 1) as u8, (arg(1)? >> 8) as u8),
            SERVE => Op::Serve(arg(0)?),
            WAIT_IRQ => Op::WaitIrq(arg(0)?),
            ITS => Op::Its(ItsOp::decode(&arg)?),
            LPI_CONFIG => {
                let f = arg(1)?;
                Op::LpiConfig { intid: arg(0)?, prio: f as u8, enable: f & (1 << 8) != 0, virtual_: f & (1 << 9) != 0 }
            }
            VPE => Op::Vpe { vpe: arg(0)? as u16, resident: arg(1)? != 0 },
            _ => return Err(DecodeError::BadOpcode(hdr)),
        };
        Ok((op, step, 1 + n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regs;

    #[test]
    fn every_op_round_trips() {
        let reg = regs::lookup("GICH_LR3").unwrap().id;
        let sys = regs::lookup("ICV_PMR_EL1").unwrap().id;
        let ops = [
            Op::PhysPend(48),
            Op::PhysUnpend(3),
            Op::PhysAck(Group::G0),
            Op::PhysAckWithin(Group::G1, 100),
            Op::PhysEoi(27, Group::G1),
            Op::PhysDir(27),
            Op::PhysPrio(40, 0x80),
            Op::PhysEnable(40, false),
            Op::PhysRead(23, PhysState::Active),
            Op::LrWrite(3, Lr { vintid: 8192, priority: 0x10, ..Lr::EMPTY }),
            Op::LrRead(15),
            Op::VifWrite(VifReg::Hcr, 0xf800_0005),
            Op::VifRead(VifReg::Elrsr),
            Op::RegRead(reg),
            Op::RegWrite(sys, 0x1_0000_00f0),
            Op::RegReadOn(RegId::Mmio { frame: regs::Frame::GicrSgi, offset: 0x100, width: 32 }, 1),
            Op::RegWriteOn(RegId::Mmio { frame: regs::Frame::GicrSgi, offset: 0x180, width: 32 }, 0x800_0000, 3),
            Op::Guest(GuestOp::Eoi(8192, Group::G1)),
            Op::Guest(GuestOp::WriteReg(reg, u64::MAX)),
            Op::Guest(GuestOp::WaitVirq(250)),
            Op::WaitMaintenance(100),
            Op::OnCpu { cpu: 1, count: 4, concurrent: false },
            Op::OnCpu { cpu: 2, count: 1, concurrent: true },
            Op::Join(2),
            Op::Checkpoint(7),
            Op::Timer(TimerKind::Phys, true),
            Op::Timer(TimerKind::Virt, false),
            Op::Timer(TimerKind::Hyp, true),
            Op::PhysReadOn(27, PhysState::Pending, 1),
            Op::PhysRoute(33, 1),
            Op::PhysRoute(34, ANY_PE),
            Op::Sgi { intid: 3, targets: SgiTargets::List(0b1010), group: Group::G1 },
            Op::Sgi { intid: 15, targets: SgiTargets::Others, group: Group::G0 },
            Op::Sgi { intid: 0, targets: SgiTargets::SelfOnly, group: Group::G1 },
            Op::Keep(63),
            Op::LrWriteNamed(3, 7),
            Op::VifWriteNamed(VifReg::Apr, 2),
            Op::RegWriteNamed(reg, 5),
            Op::Compare(1, 2),
            Op::Uart(true),
            Op::InjectSgi { lr: 2, prio: 0x90 },
            Op::Queue(8200, 1, 0xa0),
            Op::Serve(16),
            Op::WaitIrq(300),
            Op::LpiConfig { intid: 8192, prio: 0xa0, enable: true, virtual_: false },
            Op::LpiConfig { intid: 8300, prio: 0x40, enable: false, virtual_: true },
            Op::Vpe { vpe: 3, resident: true },
            Op::Vpe { vpe: 0, resident: false },
            Op::Its(ItsOp::Mapd { device: 7, event_bits: 5 }),
            Op::Its(ItsOp::Mapc { icid: 2, cpu: 1, valid: true }),
            Op::Its(ItsOp::Mapti { device: 7, event: 31, intid: 8192, icid: 2 }),
            Op::Its(ItsOp::Mapi { device: 7, event: 8200, icid: 0 }),
            Op::Its(ItsOp::Event { cmd: EventCmd::Discard, device: 1, event: 2 }),
            Op::Its(ItsOp::Event { cmd: EventCmd::Inv, device: 3, event: 4 }),
            Op::Its(ItsOp::Invall { icid: 9 }),
            Op::Its(ItsOp::Movi { device: 7, event: 1, icid: 3 }),
            Op::Its(ItsOp::Movall { from: 0, to: 1 }),
            Op::Its(ItsOp::Sync { cpu: 3 }),
            Op::Its(ItsOp::Vmapp { vpe: 5, cpu: 2, valid: false }),
            Op::Its(ItsOp::Vmapti { device: 7, event: 2, vpe: 5, vintid: 8193, doorbell: 8400 }),
            Op::Its(ItsOp::Vmapi { device: 7, event: 3, vpe: 5, doorbell: 1023 }),
            Op::Its(ItsOp::Vmovi { device: 7, event: 2, vpe: 6, doorbell: 8401 }),
            Op::Its(ItsOp::Vmovp { vpe: 5, cpu: 1 }),
            Op::Its(ItsOp::Vsync { vpe: 5 }),
            Op::Its(ItsOp::Vinvall { vpe: 6 }),
            Op::Its(ItsOp::Msi { event: 17 }),
        ];
        for (i, op) in ops.iter().enumerate() {
            let w = op.encode(i as u16 + 1);
            let (back, step, n) = Op::decode(w.as_slice()).unwrap();
            assert_eq!((back, step, n), (*op, i as u16 + 1, w.as_slice().len()), "{op:?}");
        }
    }

    #[test]
    fn decode_rejects_garbage() {
        assert_eq!(Op::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(Op::decode(&[0x0000_0201]), Err(DecodeError::Truncated));
        assert!(matches!(Op::decode(&[0xff]), Err(DecodeError::BadOpcode(_))));
    }

    #[test]
    fn register_names_resolve_both_ways() {
        for (name, _) in regs::known_names().filter(|(_, indexed)| !indexed) {
            let info = regs::lookup(name).unwrap();
            assert_eq!(regs::name_of(info.id), Some((name, None)), "{name}");
        }
        let id = regs::lookup("GICD_ISPENDR2").unwrap().id;
        assert_eq!(id, RegId::Mmio { frame: regs::Frame::Gicd, offset: 0x208, width: 32 });
        assert_eq!(regs::name_of(id), Some(("GICD_ISPENDR", Some(2))));
        assert!(regs::lookup("GICH_LR64").is_none());
        assert!(regs::lookup("GICH_LR01").is_none());
    }
}
