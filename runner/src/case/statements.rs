//! The parser's state and the core statement families: List Registers,
//! physical and guest interrupt operations, register reads and writes,
//! blocks. The ITS and vLPI statements are in `its.rs`, named values, SGIs,
//! routing, timers and lines in `crosspe.rs`.

use super::*;

/// Words that start a List Register field list, so `lr N = pending` is a
/// write of fields, never of a value named `pending`.
pub(super) const LR_WORDS: &[&str] = &["invalid", "pending", "active", "hw", "eoi"];

pub(super) struct Parser<'a> {
    pub(super) file: &'a Path,
    pub(super) line: usize,
    pub(super) step: u16,
    /// Value names defined so far, with their slots.
    pub(super) names: std::collections::BTreeMap<String, u32>,
    /// PEs running a concurrent block not joined yet: line and column of its `on`.
    pub(super) unjoined: std::collections::BTreeMap<u32, (usize, usize)>,
}

/// The error for the statement after the 65535th.
pub(super) fn too_many_statements() -> String {
    format!("too many statements: a case may have at most {} (the step number is 16 bits)", u16::MAX)
}

impl<'a> Parser<'a> {
    pub(super) fn err(&self, col: usize, msg: impl Into<String>) -> CaseError {
        CaseError { file: self.file.to_path_buf(), line: self.line, col, msg: msg.into() }
    }

    pub(super) fn end_col(&self, toks: &[Tok]) -> usize {
        toks.last().map_or(1, |t| t.col + t.text.chars().count())
    }

    pub(super) fn need<'t>(&self, toks: &'t [Tok], i: usize, what: &str) -> Result<&'t Tok, CaseError> {
        toks.get(i).ok_or_else(|| self.err(self.end_col(toks), format!("expected {what} here, found end of line")))
    }

    pub(super) fn num(&self, toks: &[Tok], i: usize, what: &str, max: u64) -> Result<u64, CaseError> {
        let t = self.need(toks, i, what)?;
        let v = number(&t.text).map_err(|e| {
            let msg = match e {
                NumError::Syntax => format!("expected {what} (a number), found `{}`", echo(&t.text)),
                NumError::Sign => format!("expected {what} (a number without a sign), found `{}`", echo(&t.text)),
                NumError::Overflow => format!("{what} `{}` is out of range (at most {max})", echo(&t.text)),
            };
            self.err(t.col, msg)
        })?;
        if v > max {
            return Err(self.err(t.col, format!("{what} {v} is out of range (at most {max})")));
        }
        Ok(v)
    }

    pub(super) fn no_more(&self, toks: &[Tok], i: usize) -> Result<(), CaseError> {
        match toks.get(i) {
            Some(t) => Err(self.err(t.col, format!("unexpected `{}`: the statement ends before it", echo(&t.text)))),
            None => Ok(()),
        }
    }

    /// `sgi N` | `ppi N` | `spi N` | `N`; returns the INTID and the next index.
    pub(super) fn irq(&self, toks: &[Tok], i: usize) -> Result<(u32, usize), CaseError> {
        let t = self.need(toks, i, "an interrupt (`sgi N`, `ppi N`, `spi N` or an INTID)")?;
        let (range, name, idx) = match t.text.as_str() {
            "sgi" => (0..=15u64, "an SGI INTID (0-15)", i + 1),
            "ppi" => (16..=31, "a PPI INTID (16-31)", i + 1),
            "spi" => (32..=1019, "an SPI INTID (32-1019)", i + 1),
            _ => (0..=1019, "an INTID (0-1019)", i),
        };
        let v = self.num(toks, idx, name, 1019)?;
        if !range.contains(&v) {
            let c = toks[idx].col;
            return Err(self.err(c, format!("{v} is not {name}")));
        }
        Ok((v as u32, idx + 1))
    }

    /// An optional `group0`/`group1` (default group 1); any other word
    /// starting with `group` is a mistyped group, not the next argument.
    pub(super) fn group(&self, toks: &[Tok], i: usize) -> Result<(Group, usize), CaseError> {
        match toks.get(i) {
            Some(t) if t.text == "group0" => Ok((Group::G0, i + 1)),
            Some(t) if t.text == "group1" => Ok((Group::G1, i + 1)),
            Some(t) if t.text.to_ascii_lowercase().starts_with("group") => {
                self.group_required(toks, i).map(|g| (g, i + 1))
            }
            Some(_) | None => Ok((Group::G1, i)),
        }
    }

    pub(super) fn group_required(&self, toks: &[Tok], i: usize) -> Result<Group, CaseError> {
        let t = self.need(toks, i, "`group0` or `group1`")?;
        match t.text.as_str() {
            "group0" => Ok(Group::G0),
            "group1" => Ok(Group::G1),
            _ => Err(self.err(t.col, format!("expected `group0` or `group1`, found `{}`", echo(&t.text)))),
        }
    }

    pub(super) fn wait_ms(&self, toks: &[Tok], i: usize) -> Result<u32, CaseError> {
        match toks.get(i) {
            None => Ok(DEFAULT_WAIT_MS),
            Some(t) => {
                let v = t.text.strip_suffix("ms").and_then(parse_decimal).filter(|v| (1..=10_000).contains(v));
                let v = v.ok_or_else(|| {
                    self.err(
                        t.col,
                        format!(
                            "expected a bound such as `200ms` (1ms to 10000ms, decimal), found `{}`",
                            echo(&t.text)
                        ),
                    )
                })?;
                self.no_more(toks, i + 1)?;
                Ok(v as u32)
            }
        }
    }

    pub(super) fn reg(&self, toks: &[Tok], i: usize) -> Result<(String, usize, RegInfo), CaseError> {
        self.reg_from(toks, i, Side::El2)
    }

    /// A register name as accessed from `side` (see `regs::lookup_from`).
    pub(super) fn reg_from(&self, toks: &[Tok], i: usize, side: Side) -> Result<(String, usize, RegInfo), CaseError> {
        let t = self.need(toks, i, "a register name")?;
        let info = regs::lookup_from(&t.text, side).ok_or_else(|| {
            let near = suggest_registers(&t.text);
            let readme = format!("(README.md, 'Register names', lists all {})", regs::known_names().count());
            let msg = if near.is_empty() {
                format!("unknown register `{}` {readme}", echo(&t.text))
            } else {
                format!("unknown register `{}`; did you mean {}? {readme}", echo(&t.text), one_of(&near))
            };
            self.err(t.col, msg)
        })?;
        Ok((t.text.clone(), t.col, info))
    }

    /// An optional narrower access after a register name at `toks[i]`:
    /// `byte K` or `low`/`high` ([`regs::RegInfo::narrowed`]). Returns the
    /// access and the index after it.
    pub(super) fn reg_part(
        &self,
        toks: &[Tok],
        i: usize,
        name: &str,
        info: RegInfo,
    ) -> Result<(RegInfo, usize), CaseError> {
        let Some(t) = toks.get(i) else { return Ok((info, i)) };
        let (part, next) = match t.text.as_str() {
            "byte" => {
                let k = self.num(toks, i + 1, "the byte number", 3)? as u32;
                (regs::Part::Byte(k), i + 2)
            }
            "low" => (regs::Part::Low, i + 1),
            "high" => (regs::Part::High, i + 1),
            _ => return Ok((info, i)),
        };
        let narrowed = info.narrowed(part).ok_or_else(|| {
            let allowed = match info.parts {
                regs::Parts::Bytes => "it allows `byte 0`-`byte 3`",
                regs::Parts::Halves => "it allows `low` and `high` (32-bit halves)",
                regs::Parts::Whole => "the spec allows whole-register accesses only",
            };
            self.err(t.col, format!("{} cannot be accessed by `{}`: {allowed}", echo(name), t.text))
        })?;
        Ok((narrowed, next))
    }

    /// An optional `of cpuN` at `toks[i]`: the PE whose Redistributor a
    /// `GICR_*` access goes to. Returns it (with its column) and the index
    /// after it.
    pub(super) fn reg_of(&self, toks: &[Tok], i: usize) -> Result<(Option<(u32, usize)>, usize), CaseError> {
        match toks.get(i) {
            Some(t) if t.text == "of" => {
                let cpu = self.cpu(toks, i + 1)?;
                Ok((Some((cpu, toks[i + 1].col)), i + 2))
            }
            _ => Ok((None, i)),
        }
    }

    pub(super) fn lr_fields(&self, toks: &[Tok], mut i: usize) -> Result<Lr, CaseError> {
        let mut lr = Lr::EMPTY;
        let mut state_seen = false;
        let first = i;
        if i >= toks.len() {
            return Err(self.err(self.end_col(toks), "expected List Register fields (state, vintid N, ...)"));
        }
        while i < toks.len() {
            let t = &toks[i];
            if let Some(s) = LrState::from_name(&t.text) {
                lr.state = s;
                state_seen = true;
                i += 1;
                continue;
            }
            match t.text.as_str() {
                "hw" => lr.hw = true,
                "eoi" => lr.eoi = true,
                "vintid" => {
                    lr.vintid = self.num(toks, i + 1, "a vINTID", u32::MAX as u64)? as u32;
                    i += 1;
                }
                "pintid" => {
                    lr.pintid = self.num(toks, i + 1, "a pINTID", 0x1fff)? as u32;
                    i += 1;
                }
                "group" => {
                    lr.group = self.num(toks, i + 1, "a group (0 or 1)", 1)? as u8;
                    i += 1;
                }
                "prio" => {
                    lr.priority = self.num(toks, i + 1, "a priority (0-255)", 255)? as u8;
                    i += 1;
                }
                "cpuid" => {
                    lr.cpuid = self.num(toks, i + 1, "a source CPUID (0-7)", 7)? as u8;
                    i += 1;
                }
                _ => {
                    return Err(self.err(
                        t.col,
                        format!(
                            "unknown List Register field `{}`; expected one of invalid, pending, active, \
                             pending+active, vintid N, pintid N, hw, group N, prio N, eoi, cpuid N",
                            echo(&t.text)
                        ),
                    ))
                }
            }
            i += 1;
        }
        if !state_seen {
            return Err(self.err(
                toks[first].col,
                "a List Register write must give the State (invalid, pending, active or pending+active)",
            ));
        }
        if lr.hw && !toks.iter().any(|t| t.text == "pintid") {
            return Err(self.err(toks[first].col, "an LR with `hw` needs `pintid N`"));
        }
        Ok(lr)
    }

    /// `hcr = En UIE EOIcount 3` style field lists against a field table.
    pub(super) fn fields(&self, reg: VifReg, toks: &[Tok], mut i: usize) -> Result<u64, CaseError> {
        let mut v = 0u64;
        while i < toks.len() {
            let t = &toks[i];
            let f = vif::field(reg, &t.text).ok_or_else(|| {
                let names: Vec<&str> = reg.fields().iter().map(|f| f.name).collect();
                self.err(
                    t.col,
                    format!("unknown {} field `{}`; expected one of {}", reg.name(), echo(&t.text), names.join(", ")),
                )
            })?;
            let val = if f.width == 1 && !toks.get(i + 1).is_some_and(|n| looks_numeric(&n.text)) {
                1
            } else {
                i += 1;
                self.num(toks, i, &format!("a value for {}", f.name), f.max())?
            };
            v = f.set(v, val);
            i += 1;
        }
        Ok(v)
    }

    pub(super) fn statement(&mut self, toks: &[Tok]) -> Result<StmtKind, CaseError> {
        let t0 = &toks[0];
        let w = |i: usize| toks.get(i).map(|t| t.text.as_str());
        let is_read = t0.text == "read" || (t0.text == "guest" && w(1) == Some("read"));
        if is_read && toks.len() >= 4 && toks[toks.len() - 2].text == "as" {
            return self.kept_read(toks);
        }
        let op = match t0.text.as_str() {
            "sgi" => self.sgi(toks)?,
            "compare" => self.compare(toks)?,
            "uart" => self.uart(toks)?,
            "inject" => self.inject(toks)?,
            "join" => {
                let cpu = self.cpu(toks, 1)?;
                self.no_more(toks, 2)?;
                Op::Join(cpu)
            }
            "phys" => {
                let t1 =
                    self.need(toks, 1, "a physical operation (pend, unpend, ack, eoi, dir, prio, enable, disable)")?;
                match t1.text.as_str() {
                    "route" => self.route(toks)?,
                    "eoi" if toks.get(2).is_some_and(|t| t.text == "lpi") => {
                        let intid = self.lpi(toks, 3, "an LPI INTID")?;
                        let (g, i) = self.group(toks, 4)?;
                        self.no_more(toks, i)?;
                        Op::PhysEoi(intid, g)
                    }
                    "pend" | "unpend" | "dir" | "enable" | "disable" => {
                        let (irq, i) = self.irq(toks, 2)?;
                        self.no_more(toks, i)?;
                        match t1.text.as_str() {
                            "pend" => Op::PhysPend(irq),
                            "unpend" => Op::PhysUnpend(irq),
                            "dir" => Op::PhysDir(irq),
                            "enable" => Op::PhysEnable(irq, true),
                            _ => Op::PhysEnable(irq, false),
                        }
                    }
                    "ack" => {
                        let (g, i) = self.group(toks, 2)?;
                        if i < toks.len() {
                            Op::PhysAckWithin(g, self.wait_ms(toks, i)?)
                        } else {
                            Op::PhysAck(g)
                        }
                    }
                    "eoi" => {
                        let (irq, i) = self.irq(toks, 2)?;
                        let (g, i) = self.group(toks, i)?;
                        self.no_more(toks, i)?;
                        Op::PhysEoi(irq, g)
                    }
                    "prio" => {
                        let (irq, i) = self.irq(toks, 2)?;
                        let p = self.num(toks, i, "a priority (0-255)", 255)?;
                        self.no_more(toks, i + 1)?;
                        Op::PhysPrio(irq, p as u32)
                    }
                    other => {
                        return Err(self.err(
                            t1.col,
                            format!(
                                "unknown physical operation `{}`; expected pend, unpend, ack, eoi, dir, prio, enable or disable",
                                echo(other)
                            ),
                        ))
                    }
                }
            }
            "lr" => {
                let n = self.num(toks, 1, "a List Register number (0-15)", 15)? as u32;
                let eq = self.need(toks, 2, "`=`")?;
                if eq.text != "=" {
                    return Err(self.err(eq.col, format!("expected `=`, found `{}`", echo(&eq.text))));
                }
                if toks.len() == 4 && crosspe::is_name(&toks[3].text) && !LR_WORDS.contains(&toks[3].text.as_str()) {
                    return Ok(StmtKind::Op(Op::LrWriteNamed(n, self.use_name(&toks[3])?)));
                }
                let lr = self.lr_fields(toks, 3)?;
                return Ok(StmtKind::LrWrite { n, lr, col: toks[3].col });
            }
            "hcr" | "vmcr" | "apr" => {
                let reg = VifReg::from_name(&t0.text).expect("listed above");
                let eq = self.need(toks, 1, "`=`")?;
                if eq.text != "=" {
                    return Err(self.err(eq.col, format!("expected `=`, found `{}`", echo(&eq.text))));
                }
                if toks.len() == 3 && crosspe::is_name(&toks[2].text) && vif::field(reg, &toks[2].text).is_none() {
                    return Ok(StmtKind::Op(Op::VifWriteNamed(reg, self.use_name(&toks[2])?)));
                }
                let v = if reg == VifReg::Apr {
                    let v = self.num(toks, 2, "an active-priorities value", u64::MAX)?;
                    self.no_more(toks, 3)?;
                    v
                } else {
                    self.fields(reg, toks, 2)?
                };
                Op::VifWrite(reg, v)
            }
            "read" => {
                let t1 = self.need(
                    toks,
                    1,
                    "what to read (lr N, phys …, hcr, vmcr, misr, eisr, elrsr, apr, vtr, or a register name)",
                )?;
                if t1.text == "lr" {
                    let n = self.num(toks, 2, "a List Register number (0-15)", 15)? as u32;
                    self.no_more(toks, 3)?;
                    Op::LrRead(n)
                } else if t1.text == "phys" {
                    let t2 = self.need(toks, 2, "`pending` or `active`")?;
                    let s = match t2.text.as_str() {
                        "pending" => PhysState::Pending,
                        "active" => PhysState::Active,
                        o => {
                            return Err(self.err(t2.col, format!("expected `pending` or `active`, found `{}`", echo(o))))
                        }
                    };
                    let (irq, i) = self.irq(toks, 3)?;
                    if toks.get(i).is_some_and(|t| t.text == "of") {
                        if irq >= 32 {
                            return Err(self.err(
                                toks[i].col,
                                "`of cpuN` reads another PE's SGI or PPI; an SPI's state is not per PE",
                            ));
                        }
                        let cpu = self.cpu(toks, i + 1)?;
                        self.no_more(toks, i + 2)?;
                        Op::PhysReadOn(irq, s, cpu)
                    } else {
                        self.no_more(toks, i)?;
                        Op::PhysRead(irq, s)
                    }
                } else if let Some(r) = VifReg::from_name(&t1.text) {
                    self.no_more(toks, 2)?;
                    Op::VifRead(r)
                } else {
                    let (name, col, info) = self.reg(toks, 1)?;
                    let (info, next) = self.reg_part(toks, 2, &name, info)?;
                    let (of, next) = self.reg_of(toks, next)?;
                    self.no_more(toks, next)?;
                    return Ok(StmtKind::Reg { name, col, info, write: None, guest: false, of });
                }
            }
            "write" => {
                let (name, col, info) = self.reg(toks, 1)?;
                let (info, at) = self.reg_part(toks, 2, &name, info)?;
                let (of, at) = self.reg_of(toks, at)?;
                let v = match toks.get(at) {
                    Some(t) if crosspe::is_name(&t.text) => Value::Named(self.use_name(t)?),
                    _ => Value::Lit(self.num(toks, at, "a value or a value name", u64::MAX)?),
                };
                self.no_more(toks, at + 1)?;
                return Ok(StmtKind::Reg { name, col, info, write: Some(v), guest: false, of });
            }
            "queue" => {
                let mut vintid = None;
                let (mut group, mut prio) = (1u8, 0xa0u8);
                let mut i = 1;
                while i < toks.len() {
                    match toks[i].text.as_str() {
                        "vintid" => vintid = Some(self.num(toks, i + 1, "a vINTID", u32::MAX as u64)? as u32),
                        "group" => group = self.num(toks, i + 1, "a group (0 or 1)", 1)? as u8,
                        "prio" => prio = self.num(toks, i + 1, "a priority (0-255)", 255)? as u8,
                        o => {
                            return Err(self.err(
                                toks[i].col,
                                format!("unknown queue field `{}`; expected vintid N, group N, prio N", echo(o)),
                            ))
                        }
                    }
                    i += 2;
                }
                let v = vintid.ok_or_else(|| self.err(toks[0].col, "`queue` needs `vintid N`"))?;
                Op::Queue(v, group, prio)
            }
            "serve" => {
                let n = self.num(toks, 1, "the most guest interrupts to serve (1-64)", 64)?;
                if n == 0 {
                    return Err(self.err(toks[1].col, "`serve` needs at least 1"));
                }
                self.no_more(toks, 2)?;
                Op::Serve(n as u32)
            }
            "timer" => self.timer(toks)?,
            "wait" => {
                let t1 = self.need(toks, 1, "`maintenance` or `irq`")?;
                match t1.text.as_str() {
                    "maintenance" => Op::WaitMaintenance(self.wait_ms(toks, 2)?),
                    "irq" => Op::WaitIrq(self.wait_ms(toks, 2)?),
                    o => {
                        return Err(self.err(
                            t1.col,
                            format!(
                                "expected `maintenance` or `irq`, found `{}` (the guest waits with `guest wait virq`)",
                                echo(o)
                            ),
                        ))
                    }
                }
            }
            "its" => self.its_statement(toks)?,
            "lpi" | "vlpi" => self.lpi_config(toks)?,
            "vpe" => self.vpe_statement(toks)?,
            "guest" => {
                let t1 = self.need(toks, 1, "a guest operation")?;
                let g = match t1.text.as_str() {
                    "ack" => {
                        let (g, i) = self.group(toks, 2)?;
                        self.no_more(toks, i)?;
                        GuestOp::Ack(g)
                    }
                    "eoi" => {
                        let v = self.num(toks, 2, "a vINTID", u32::MAX as u64)? as u32;
                        let (g, i) = self.group(toks, 3)?;
                        self.no_more(toks, i)?;
                        GuestOp::Eoi(v, g)
                    }
                    "dir" => {
                        let v = self.num(toks, 2, "a vINTID", u32::MAX as u64)? as u32;
                        self.no_more(toks, 3)?;
                        GuestOp::Dir(v)
                    }
                    "pmr" => {
                        let v = self.num(toks, 2, "a priority mask (0-255)", 255)? as u32;
                        self.no_more(toks, 3)?;
                        GuestOp::SetPmr(v)
                    }
                    "bpr" => {
                        let (g, i) = self.group(toks, 2)?;
                        let v = self.num(toks, i, "a binary point (0-7)", 7)? as u32;
                        self.no_more(toks, i + 1)?;
                        GuestOp::SetBpr(g, v)
                    }
                    "eoimode" => {
                        let v = self.num(toks, 2, "0 or 1", 1)?;
                        self.no_more(toks, 3)?;
                        GuestOp::SetEoiMode(v == 1)
                    }
                    "enable" | "disable" => {
                        let g = self.group_required(toks, 2)?;
                        self.no_more(toks, 3)?;
                        GuestOp::SetGroupEnable(g, t1.text == "enable")
                    }
                    "wait" => {
                        let t2 = self.need(toks, 2, "`virq`")?;
                        if t2.text != "virq" {
                            return Err(self.err(t2.col, format!("expected `virq`, found `{}`", echo(&t2.text))));
                        }
                        GuestOp::WaitVirq(self.wait_ms(toks, 3)?)
                    }
                    "read" => match w(2) {
                        Some("rpr") => {
                            self.no_more(toks, 3)?;
                            GuestOp::ReadRpr
                        }
                        Some("pmr") => {
                            self.no_more(toks, 3)?;
                            GuestOp::ReadPmr
                        }
                        Some("hppir") => {
                            let (g, i) = self.group(toks, 3)?;
                            self.no_more(toks, i)?;
                            GuestOp::ReadHppir(g)
                        }
                        _ => {
                            let (name, col, info) = self.reg_from(toks, 2, Side::El1)?;
                            self.no_more(toks, 3)?;
                            return Ok(StmtKind::Reg { name, col, info, write: None, guest: true, of: None });
                        }
                    },
                    "write" => {
                        let (name, col, info) = self.reg_from(toks, 2, Side::El1)?;
                        let v = self.num(toks, 3, "a value", u64::MAX)?;
                        self.no_more(toks, 4)?;
                        return Ok(StmtKind::Reg {
                            name,
                            col,
                            info,
                            write: Some(Value::Lit(v)),
                            guest: true,
                            of: None,
                        });
                    }
                    other => {
                        return Err(self.err(
                            t1.col,
                            format!(
                                "unknown guest operation `{}`; expected ack, eoi, dir, pmr, bpr, eoimode, \
                                 enable, disable, wait virq, read, write",
                                echo(other)
                            ),
                        ))
                    }
                };
                Op::Guest(g)
            }
            other => {
                return Err(self.err(
                    t0.col,
                    format!(
                        "unknown statement `{}`; expected phys, lr, read, write, hcr, vmcr, apr, guest, wait, \
                         timer, uart, sgi, inject, compare, join, queue, serve, its, lpi, vlpi, vpe, \
                         or `on cpuN {{`",
                        echo(other)
                    ),
                ))
            }
        };
        Ok(StmtKind::Op(op))
    }
}
