//! Statements for cross-PE scenarios: named values (`read … as NAME`,
//! writes from a name, `compare`), physical SGIs, SPI routing, another
//! PE's state, the real interrupt lines (timers, the PL011 UART), `join`,
//! and the injection of virtual SGIs that an emulated guest `ICC_SGI1R_EL1`
//! write posted.

use gic_case::op::{Op, SgiTargets, TimerKind, ANY_PE, MAX_NAMED};

use super::{echo, looks_numeric, parse_decimal, CaseError, Parser, StmtKind, Tok};

/// Whether `s` can be a value name: a letter or `_`, then letters, digits, `_`.
pub(super) fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
        && !looks_numeric(s)
}

impl Parser<'_> {
    /// `cpuN` at `i`, N below `proto::MAX_CPUS`; returns N.
    pub(super) fn cpu(&self, toks: &[Tok], i: usize) -> Result<u32, CaseError> {
        let t = self.need(toks, i, "`cpuN`")?;
        t.text
            .strip_prefix("cpu")
            .and_then(parse_decimal)
            .filter(|n| *n < gic_case::proto::MAX_CPUS as u64)
            .map(|n| n as u32)
            .ok_or_else(|| {
                self.err(
                    t.col,
                    format!(
                        "expected `cpuN` with a decimal N below {} (e.g. cpu1), found `{}`",
                        gic_case::proto::MAX_CPUS,
                        echo(&t.text)
                    ),
                )
            })
    }

    /// The slot of a value name defined by an earlier `read … as NAME`.
    pub(super) fn use_name(&self, t: &Tok) -> Result<u32, CaseError> {
        self.names.get(&t.text).copied().ok_or_else(|| {
            self.err(
                t.col,
                format!(
                    "named value `{}` is used before it is read: no earlier `read … as {}`",
                    echo(&t.text),
                    echo(&t.text)
                ),
            )
        })
    }

    /// `… as NAME` after a read: defines (or redefines) the name; returns its slot.
    pub(super) fn define_name(&mut self, t: &Tok) -> Result<u32, CaseError> {
        if !is_name(&t.text) {
            return Err(self.err(
                t.col,
                format!(
                    "expected a value name after `as` (a letter, then letters, digits or _), found `{}`",
                    echo(&t.text)
                ),
            ));
        }
        if let Some(s) = self.names.get(&t.text) {
            return Ok(*s);
        }
        if self.names.len() >= MAX_NAMED {
            return Err(self.err(t.col, format!("too many named values: a case keeps at most {MAX_NAMED}")));
        }
        let slot = self.names.len() as u32;
        self.names.insert(t.text.clone(), slot);
        Ok(slot)
    }

    /// `read … as NAME`: the read, then the op that keeps its value.
    pub(super) fn kept_read(&mut self, toks: &[Tok]) -> Result<StmtKind, CaseError> {
        let n = toks.len();
        let inner = self.statement(&toks[..n - 2])?;
        let keepable = matches!(&inner, StmtKind::Op(Op::LrRead(_) | Op::VifRead(_)))
            || matches!(&inner, StmtKind::Reg { write: None, guest: false, .. });
        if !keepable {
            return Err(self.err(
                toks[n - 2].col,
                "only a hypervisor-side register read can be kept: `read lr N`, `read hcr|vmcr|misr|eisr|elrsr|apr|vtr` \
                 or `read REG`",
            ));
        }
        let slot = self.define_name(&toks[n - 1])?;
        Ok(StmtKind::Kept { read: Box::new(inner), slot })
    }

    /// `compare A B`.
    pub(super) fn compare(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let a = self.need(toks, 1, "a value name")?;
        let a = self.use_name(a)?;
        let b = self.need(toks, 2, "a second value name")?;
        let b = self.use_name(b)?;
        self.no_more(toks, 3)?;
        Ok(Op::Compare(a, b))
    }

    /// `sgi N to cpuA [cpuB …] | others | self [group0|group1]`.
    pub(super) fn sgi(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let intid = self.num(toks, 1, "an SGI INTID (0-15)", 15)? as u32;
        let t = self.need(toks, 2, "`to cpuN …`, `others` or `self`")?;
        let (targets, mut i) = match t.text.as_str() {
            "others" => (SgiTargets::Others, 3),
            "self" => (SgiTargets::SelfOnly, 3),
            "to" => {
                let mut mask = 0u8;
                let mut i = 3;
                while toks.get(i).is_some_and(|t| t.text.starts_with("cpu")) {
                    mask |= 1 << self.cpu(toks, i)?;
                    i += 1;
                }
                if mask == 0 {
                    self.cpu(toks, 3)?;
                }
                (SgiTargets::List(mask), i)
            }
            o => return Err(self.err(t.col, format!("expected `to cpuN …`, `others` or `self`, found `{}`", echo(o)))),
        };
        let (group, next) = self.group(toks, i)?;
        i = next;
        self.no_more(toks, i)?;
        Ok(Op::Sgi { intid, targets, group })
    }

    /// `phys route N cpuK|any` (after `phys route`).
    pub(super) fn route(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let (irq, i) = self.irq(toks, 2)?;
        if irq < 32 {
            return Err(self.err(toks[i - 1].col, format!("only SPIs (32-1019) are routed; {irq} is not one")));
        }
        let t = self.need(toks, i, "`cpuN` or `any`")?;
        let cpu = if t.text == "any" { ANY_PE } else { self.cpu(toks, i)? };
        self.no_more(toks, i + 1)?;
        Ok(Op::PhysRoute(irq, cpu))
    }

    /// `timer [phys|virt|hyp] on|off`.
    pub(super) fn timer(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let (kind, i) = match toks.get(1).map(|t| t.text.as_str()) {
            Some("phys") => (TimerKind::Phys, 2),
            Some("virt") => (TimerKind::Virt, 2),
            Some("hyp") => (TimerKind::Hyp, 2),
            _ => (TimerKind::Phys, 1),
        };
        Ok(Op::Timer(kind, self.on_off(toks, i)?))
    }

    fn on_off(&self, toks: &[Tok], i: usize) -> Result<bool, CaseError> {
        let t = self.need(toks, i, "`on` or `off`")?;
        let on = match t.text.as_str() {
            "on" => true,
            "off" => false,
            o => return Err(self.err(t.col, format!("expected `on` or `off`, found `{}`", echo(o)))),
        };
        self.no_more(toks, i + 1)?;
        Ok(on)
    }

    /// `uart irq on|off`.
    pub(super) fn uart(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let t = self.need(toks, 1, "`irq`")?;
        if t.text != "irq" {
            return Err(self.err(t.col, format!("expected `irq`, found `{}`", echo(&t.text))));
        }
        Ok(Op::Uart(self.on_off(toks, 2)?))
    }

    /// `inject sgi lr N [prio P]`.
    pub(super) fn inject(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        for (i, w) in [(1, "sgi"), (2, "lr")] {
            let t = self.need(toks, i, &format!("`{w}`"))?;
            if t.text != w {
                return Err(self.err(t.col, format!("expected `{w}`, found `{}`", echo(&t.text))));
            }
        }
        let lr = self.num(toks, 3, "a List Register number (0-15)", 15)? as u32;
        let prio = match toks.get(4) {
            None => 0xa0,
            Some(t) if t.text == "prio" => {
                let p = self.num(toks, 5, "a priority (0-255)", 255)? as u8;
                self.no_more(toks, 6)?;
                p
            }
            Some(t) => return Err(self.err(t.col, format!("expected `prio P`, found `{}`", echo(&t.text)))),
        };
        Ok(Op::InjectSgi { lr, prio })
    }
}

/// The PEs an op names, for the `smp:` check.
pub(super) fn cpus_named(op: &Op) -> Vec<u32> {
    match op {
        Op::Sgi { targets: SgiTargets::List(m), .. } => (0..8).filter(|c| m & (1 << c) != 0).collect(),
        Op::PhysRoute(_, cpu) if *cpu != ANY_PE => vec![*cpu],
        Op::PhysReadOn(_, _, cpu) | Op::Join(cpu) => vec![*cpu],
        _ => Vec::new(),
    }
}
