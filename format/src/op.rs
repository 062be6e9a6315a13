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

/// One compiled operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Make a physical interrupt pending on the executing PE (SGI to self, PPI, or SPI).
    PhysPend(u32),
    /// Clear a physical interrupt's pending state.
    PhysUnpend(u32),
    /// Acknowledge the highest-priority physical interrupt (`ICC_IAR<g>_EL1` / `GICC_IAR`).
    PhysAck(Group),
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
    /// Run one operation in the guest at EL1.
    Guest(GuestOp),
    /// Unmask IRQs at EL2 and wait, at most the given milliseconds, for the maintenance interrupt.
    WaitMaintenance(u32),
    /// Drive the executing PE's EL1 physical timer output (PPI 30 on QEMU
    /// `virt`), a level-sensitive line: `true` asserts it (CNTP_CVAL_EL0 = 0,
    /// CNTP_CTL_EL0.ENABLE = 1), `false` deasserts it (ENABLE = 0).
    Timer(bool),
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
    /// The next `count` ops run on PE `cpu`; the issuing PE waits for them.
    OnCpu {
        /// Target PE (index, i.e. MPIDR Aff0 on QEMU virt).
        cpu: u32,
        /// Number of ops in the block.
        count: u32,
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
            Op::OnCpu { cpu, count } => {
                w.push(cpu).push(count);
                ON_CPU
            }
            Op::Timer(on) => {
                w.push(on as u32);
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
            PHYS_DIR => Op::PhysDir(arg(0)?),
            PHYS_PRIO => Op::PhysPrio(arg(0)?, arg(1)?),
            PHYS_ENABLE => Op::PhysEnable(arg(0)?, arg(1)? != 0),
            PHYS_READ => Op::PhysRead(arg(0)?, if arg(1)? == 0 { PhysState::Pending } else { PhysState::Active }),
            LR_WRITE => Op::LrWrite(arg(0)?, Lr::from_words([arg(1)?, arg(2)?, arg(3)?])),
            LR_READ => Op::LrRead(arg(0)?),
            VIF_WRITE => Op::VifWrite(VifReg::from_u32(arg(0)?).ok_or(DecodeError::BadArgument(arg(0)?))?, arg64(1)?),
            VIF_READ => Op::VifRead(VifReg::from_u32(arg(0)?).ok_or(DecodeError::BadArgument(arg(0)?))?),
            REG_READ => Op::RegRead(reg(0)?),
            REG_WRITE => Op::RegWrite(reg(0)?, arg64(2)?),
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
            ON_CPU => Op::OnCpu { cpu: arg(0)?, count: arg(1)? },
            TIMER => Op::Timer(arg(0)? != 0),
            QUEUE => Op::Queue(arg(0)?, (arg(1)? & 1) as u8, (arg(1)? >> 8) as u8),
            SERVE => Op::Serve(arg(0)?),
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
            Op::Guest(GuestOp::Eoi(8192, Group::G1)),
            Op::Guest(GuestOp::WriteReg(reg, u64::MAX)),
            Op::Guest(GuestOp::WaitVirq(250)),
            Op::WaitMaintenance(100),
            Op::OnCpu { cpu: 1, count: 4 },
            Op::Timer(true),
            Op::Queue(8200, 1, 0xa0),
            Op::Serve(16),
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
