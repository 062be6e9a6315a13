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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gic_case::op::{Group, Op, PhysState, SgiTargets, TimerKind, ANY_PE};
    use gic_case::GicVersion;

    use super::super::{parse, Case, CaseError, StmtKind, Value};

    const HEAD: &str = "aim: a\nspec: IHI0069H 12.11\ngic: v2 v3 v4\nsmp: 3\n";

    fn parse_str(text: &str) -> Result<Case, CaseError> {
        parse(Path::new("cases/x/y.case"), "x/y", text)
    }

    fn err(body: &str) -> String {
        parse_str(&format!("{HEAD}{body}")).unwrap_err().to_string()
    }

    fn op(body: &str) -> Op {
        match &parse_str(&format!("{HEAD}{body}")).unwrap().stmts.last().unwrap().kind {
            StmtKind::Op(o) => *o,
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn sgi_route_timer_uart_inject_parse() {
        assert_eq!(
            op("sgi 3 to cpu1 cpu2\n"),
            Op::Sgi { intid: 3, targets: SgiTargets::List(0b110), group: Group::G1 }
        );
        assert_eq!(op("sgi 15 others group0\n"), Op::Sgi { intid: 15, targets: SgiTargets::Others, group: Group::G0 });
        assert_eq!(op("sgi 0 self\n"), Op::Sgi { intid: 0, targets: SgiTargets::SelfOnly, group: Group::G1 });
        assert_eq!(op("phys route spi 33 cpu1\n"), Op::PhysRoute(33, 1));
        assert_eq!(op("phys route 40 any\n"), Op::PhysRoute(40, ANY_PE));
        assert_eq!(op("timer on\n"), Op::Timer(TimerKind::Phys, true));
        assert_eq!(op("timer virt off\n"), Op::Timer(TimerKind::Virt, false));
        assert_eq!(op("timer hyp on\n"), Op::Timer(TimerKind::Hyp, true));
        assert_eq!(op("uart irq on\n"), Op::Uart(true));
        assert_eq!(op("inject sgi lr 2 prio 0x90\n"), Op::InjectSgi { lr: 2, prio: 0x90 });
        assert_eq!(op("inject sgi lr 1\n"), Op::InjectSgi { lr: 1, prio: 0xa0 });
        assert_eq!(op("read phys active 27 of cpu2\n"), Op::PhysReadOn(27, PhysState::Active, 2));
    }

    #[test]
    fn bad_statements_name_line_column_and_expectation() {
        assert_eq!(err("sgi 16 self\n"), "cases/x/y.case:5:5: an SGI INTID (0-15) 16 is out of range (at most 15)");
        assert_eq!(err("sgi 1 to\n"), "cases/x/y.case:5:9: expected `cpuN` here, found end of line");
        assert_eq!(
            err("sgi 1 to cpu3\n"),
            "cases/x/y.case:5:1: cpu3 does not exist: the case says `smp: 3` (PEs cpu0..cpu2)"
        );
        assert_eq!(err("sgi 1 all\n"), "cases/x/y.case:5:7: expected `to cpuN …`, `others` or `self`, found `all`");
        assert_eq!(err("phys route 27 cpu1\n"), "cases/x/y.case:5:12: only SPIs (32-1019) are routed; 27 is not one");
        assert_eq!(
            err("read phys pending 40 of cpu1\n"),
            "cases/x/y.case:5:22: `of cpuN` reads another PE's SGI or PPI; an SPI's state is not per PE"
        );
        assert_eq!(err("timer virt maybe\n"), "cases/x/y.case:5:12: expected `on` or `off`, found `maybe`");
        assert_eq!(err("uart on\n"), "cases/x/y.case:5:6: expected `irq`, found `on`");
    }

    #[test]
    fn named_values_are_read_before_use_and_compile_to_keep_then_read() {
        assert_eq!(
            err("lr 0 = saved0\n"),
            "cases/x/y.case:5:8: named value `saved0` is used before it is read: no earlier `read … as saved0`"
        );
        assert_eq!(err("compare a b\n").split(": ").nth(1), Some("named value `a` is used before it is read"));
        assert_eq!(
            err("guest read ICV_PMR_EL1 as p\n"),
            "cases/x/y.case:5:24: only a hypervisor-side register read can be kept: `read lr N`, \
             `read hcr|vmcr|misr|eisr|elrsr|apr|vtr` or `read REG`"
        );
        assert_eq!(
            err("read lr 0 as 9x\n"),
            "cases/x/y.case:5:14: expected a value name after `as` (a letter, then letters, digits or _), found `9x`"
        );
        let c = parse_str(&format!(
            "{HEAD}read lr 0 as l0\nread vmcr as vm\nread GICD_CTLR as d\nlr 1 = l0\nvmcr = vm\nwrite GICD_CTLR d\n\
             compare l0 vm\nlr 2 = pending vintid 3\n"
        ))
        .unwrap();
        let kinds: Vec<&StmtKind> = c.stmts.iter().map(|s| &s.kind).collect();
        assert!(matches!(kinds[0], StmtKind::Kept { slot: 0, .. }));
        assert!(matches!(kinds[1], StmtKind::Kept { slot: 1, .. }));
        assert!(matches!(kinds[2], StmtKind::Kept { slot: 2, .. }));
        assert_eq!(kinds[3], &StmtKind::Op(Op::LrWriteNamed(1, 0)));
        assert_eq!(kinds[4], &StmtKind::Op(Op::VifWriteNamed(gic_case::vif::VifReg::Vmcr, 1)));
        assert!(matches!(kinds[5], StmtKind::Reg { write: Some(Value::Named(2)), .. }));
        assert_eq!(kinds[6], &StmtKind::Op(Op::Compare(0, 1)));
        // `pending` is an LR field word, never a value name.
        assert!(matches!(kinds[7], StmtKind::LrWrite { .. }));
        // Compiled: Keep(slot) comes right before the read it keeps, same step.
        let words = c.compile(GicVersion::V3).unwrap();
        let mut at = gic_case::proto::HEADER_WORDS;
        let mut ops = Vec::new();
        while at < words.len() {
            let (o, step, n) = Op::decode(&words[at..]).unwrap();
            ops.push((o, step));
            at += n;
        }
        assert_eq!(ops[0], (Op::Keep(0), 1));
        assert_eq!(ops[1], (Op::LrRead(0), 1));
        assert_eq!(ops[2], (Op::Keep(1), 2));
        assert_eq!(ops[4], (Op::Keep(2), 3));
    }

    #[test]
    fn concurrent_blocks_must_be_joined_once_and_only_from_cpu0() {
        let c =
            parse_str(&format!("{HEAD}on cpu1 async {{\n  phys ack 100ms\n}}\nphys pend spi 40\njoin cpu1\n")).unwrap();
        assert!(matches!(c.stmts[0].kind, StmtKind::OnCpu { cpu: 1, concurrent: true, .. }));
        assert_eq!(c.stmts[2].kind, StmtKind::Op(Op::Join(1)));
        let words = c.compile(GicVersion::V2).unwrap();
        let (o, _, _) = Op::decode(&words[gic_case::proto::HEADER_WORDS..]).unwrap();
        assert_eq!(o, Op::OnCpu { cpu: 1, count: 1, concurrent: true });
        assert_eq!(
            err("on cpu1 async {\n}\n"),
            "cases/x/y.case:5:4: the concurrent block on cpu1 is never joined: add `join cpu1` after it"
        );
        assert_eq!(err("join cpu2\n"), "cases/x/y.case:5:6: no concurrent block runs on cpu2 here (`on cpu2 async {`)");
        assert_eq!(
            err("on cpu1 async {\n}\non cpu1 {\n}\n"),
            "cases/x/y.case:7:4: cpu1 still runs the concurrent block opened at line 5; `join cpu1` first"
        );
        assert_eq!(
            err("on cpu1 async {\n}\non cpu2 {\n  join cpu1\n}\n"),
            "cases/x/y.case:8:3: `join` waits on CPU0: write it outside `on cpuN` blocks"
        );
        assert_eq!(
            err("on cpu0 async {\n}\n"),
            "cases/x/y.case:5:4: CPU0 runs the case itself: only another PE's block can be `async`"
        );
        assert_eq!(err("on cpu1 later {\n"), "cases/x/y.case:5:9: expected `async` or `{`, found `later`");
    }

    #[test]
    fn version_limits_are_compile_errors() {
        let c = parse_str(&format!("{HEAD}read phys active 27 of cpu1\n")).unwrap();
        assert!(c.compile(GicVersion::V3).is_ok());
        assert!(c.compile(GicVersion::V2).unwrap_err().to_string().contains("GICv2 has no way to read another PE's"));
        let c = parse_str(&format!("{HEAD}phys route 40 any\ninject sgi lr 0\n")).unwrap();
        assert!(c.compile(GicVersion::V2).unwrap_err().to_string().contains("1-of-N SPI routing"));
        assert!(c.compile(GicVersion::V4).is_ok());
    }

    #[test]
    fn guest_sgi_registers_resolve_to_the_guest_side() {
        let c = parse_str(&format!("{HEAD}guest write ICC_SGI1R_EL1 0x3000002\nwrite ICC_SGI1R_EL1 0x1\n")).unwrap();
        let words = c.compile(GicVersion::V3).unwrap();
        let (a, _, n) = Op::decode(&words[gic_case::proto::HEADER_WORDS..]).unwrap();
        let (b, _, _) = Op::decode(&words[gic_case::proto::HEADER_WORDS + n..]).unwrap();
        let Op::Guest(gic_case::op::GuestOp::WriteReg(gic_case::regs::RegId::Sys(g), 0x300_0002)) = a else {
            panic!("{a:?}")
        };
        let Op::RegWrite(gic_case::regs::RegId::Sys(h), 1) = b else { panic!("{b:?}") };
        assert_eq!((g.side(), h.side()), (gic_case::regs::Side::El1, gic_case::regs::Side::El2));
        assert_eq!((g.name(), h.name()), ("ICC_SGI1R_EL1", "ICC_SGI1R_EL1"));
    }
}
