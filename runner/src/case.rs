//! The case language: parsing, validation and compilation to the op words
//! the kernel runs (`gic_case::op`).
//!
//! A case file starts with header lines (`aim:`, `spec:`, `gic:`, `smp:`,
//! `timeout:`), then one statement per line; `#` starts a comment. The
//! grammar is in README.md ("Writing a case"). Every error names the file,
//! the line and the column of the offending token, and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gic_case::lr::{Lr, LrState};
use gic_case::op::{Group, GuestOp, Op, PhysState};
use gic_case::proto;
use gic_case::regs::{self, Access, RegId, RegInfo, Side};
use gic_case::vif::{self, VifReg};
use gic_case::GicVersion;

/// A located error in a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseError {
    /// The case file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub col: usize,
    /// What is wrong and what was expected.
    pub msg: String,
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.col, self.msg)
    }
}

impl std::error::Error for CaseError {}

/// A token with its 1-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    text: String,
    col: usize,
}

/// One statement, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// 1-based line.
    pub line: usize,
    /// 1-based statement number, as reported in events (`step`).
    pub step: u16,
    /// What it does.
    pub kind: StmtKind,
}

/// Statement kinds; most compile to one op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    /// An op whose validity does not depend on the GIC version.
    Op(Op),
    /// A List Register write (fields checked per GIC version).
    LrWrite {
        /// LR number.
        n: u32,
        /// Fields.
        lr: Lr,
        /// Column of the first field, for errors.
        col: usize,
    },
    /// A register access by spec name (existence checked per GIC version).
    Reg {
        /// The name as written.
        name: String,
        /// Its column, for errors.
        col: usize,
        /// What the name resolves to.
        info: RegInfo,
        /// The value to write, or `None` for a read.
        write: Option<u64>,
        /// Whether the guest (EL1) performs the access.
        guest: bool,
    },
    /// `on cpuN { … }`.
    OnCpu {
        /// Target PE.
        cpu: u32,
        /// Column of `cpuN`, for errors.
        col: usize,
        /// Statements in the block.
        body: Vec<Stmt>,
    },
}

/// A parsed case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Path of the case file.
    pub file: PathBuf,
    /// Name: path under the cases directory without `.case`, e.g. `lr/basic`.
    pub name: String,
    /// `aim:` text.
    pub aim: String,
    /// `spec:` text (section citations).
    pub spec: String,
    /// `gic:` versions the case applies to.
    pub gics: Vec<GicVersion>,
    /// `smp:` number of PEs.
    pub smp: u32,
    /// `timeout:` for one QEMU run.
    pub timeout: Duration,
    /// The statements.
    pub stmts: Vec<Stmt>,
}

/// Default time limit of one QEMU run of a case.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound of `guest wait virq` and `wait maintenance`, in ms.
pub const DEFAULT_WAIT_MS: u32 = 100;

struct Parser<'a> {
    file: &'a Path,
    line: usize,
    step: u16,
}

fn tokenize(line: &str) -> Vec<Tok> {
    let code = match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    };
    let mut toks = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, c) in code.chars().enumerate() {
        if c.is_whitespace() || c == '{' || c == '}' || c == '=' {
            if !cur.is_empty() {
                toks.push(Tok { text: std::mem::take(&mut cur), col: start + 1 });
            }
            if !c.is_whitespace() {
                toks.push(Tok { text: c.to_string(), col: i + 1 });
            }
        } else {
            if cur.is_empty() {
                start = i;
            }
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        toks.push(Tok { text: cur, col: start + 1 });
    }
    toks
}

/// Parses an unsigned number: decimal, `0x` hex or `0b` binary, `_` allowed.
pub fn parse_number(s: &str) -> Option<u64> {
    let s = s.replace('_', "");
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(b) = s.strip_prefix("0b") {
        u64::from_str_radix(b, 2).ok()
    } else {
        s.parse().ok()
    }
}

impl<'a> Parser<'a> {
    fn err(&self, col: usize, msg: impl Into<String>) -> CaseError {
        CaseError { file: self.file.to_path_buf(), line: self.line, col, msg: msg.into() }
    }

    fn end_col(&self, toks: &[Tok]) -> usize {
        toks.last().map_or(1, |t| t.col + t.text.chars().count())
    }

    fn need<'t>(&self, toks: &'t [Tok], i: usize, what: &str) -> Result<&'t Tok, CaseError> {
        toks.get(i).ok_or_else(|| self.err(self.end_col(toks), format!("expected {what} here, found end of line")))
    }

    fn num(&self, toks: &[Tok], i: usize, what: &str, max: u64) -> Result<u64, CaseError> {
        let t = self.need(toks, i, what)?;
        let v = parse_number(&t.text)
            .ok_or_else(|| self.err(t.col, format!("expected {what} (a number), found `{}`", t.text)))?;
        if v > max {
            return Err(self.err(t.col, format!("{what} {v} is out of range (at most {max})")));
        }
        Ok(v)
    }

    fn no_more(&self, toks: &[Tok], i: usize) -> Result<(), CaseError> {
        match toks.get(i) {
            Some(t) => Err(self.err(t.col, format!("unexpected `{}`: the statement ends before it", t.text))),
            None => Ok(()),
        }
    }

    /// `sgi N` | `ppi N` | `spi N` | `N`; returns the INTID and the next index.
    fn irq(&self, toks: &[Tok], i: usize) -> Result<(u32, usize), CaseError> {
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

    fn group(&self, toks: &[Tok], i: usize) -> Result<(Group, usize), CaseError> {
        match toks.get(i).map(|t| t.text.as_str()) {
            Some("group0") => Ok((Group::G0, i + 1)),
            Some("group1") => Ok((Group::G1, i + 1)),
            Some(_) | None => Ok((Group::G1, i)),
        }
    }

    fn group_required(&self, toks: &[Tok], i: usize) -> Result<Group, CaseError> {
        let t = self.need(toks, i, "`group0` or `group1`")?;
        match t.text.as_str() {
            "group0" => Ok(Group::G0),
            "group1" => Ok(Group::G1),
            _ => Err(self.err(t.col, format!("expected `group0` or `group1`, found `{}`", t.text))),
        }
    }

    fn wait_ms(&self, toks: &[Tok], i: usize) -> Result<u32, CaseError> {
        match toks.get(i) {
            None => Ok(DEFAULT_WAIT_MS),
            Some(t) => {
                let Some(n) = t.text.strip_suffix("ms") else {
                    return Err(self.err(t.col, format!("expected a bound such as `200ms`, found `{}`", t.text)));
                };
                let v = parse_number(n).filter(|v| (1..=10_000).contains(v));
                let v = v.ok_or_else(|| self.err(t.col, "the wait bound must be 1ms to 10000ms"))?;
                self.no_more(toks, i + 1)?;
                Ok(v as u32)
            }
        }
    }

    fn reg(&self, toks: &[Tok], i: usize) -> Result<(String, usize, RegInfo), CaseError> {
        let t = self.need(toks, i, "a register name")?;
        let info = regs::lookup(&t.text).ok_or_else(|| {
            let names: Vec<String> =
                regs::known_names().map(|(n, idx)| if idx { format!("{n}<n>") } else { n.to_string() }).collect();
            self.err(t.col, format!("unknown register `{}`; known: {}", t.text, names.join(", ")))
        })?;
        Ok((t.text.clone(), t.col, info))
    }

    fn lr_fields(&self, toks: &[Tok], mut i: usize) -> Result<Lr, CaseError> {
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
                            t.text
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
    fn fields(&self, reg: VifReg, toks: &[Tok], mut i: usize) -> Result<u64, CaseError> {
        let mut v = 0u64;
        while i < toks.len() {
            let t = &toks[i];
            let f = vif::field(reg, &t.text).ok_or_else(|| {
                let names: Vec<&str> = reg.fields().iter().map(|f| f.name).collect();
                self.err(
                    t.col,
                    format!("unknown {} field `{}`; expected one of {}", reg.name(), t.text, names.join(", ")),
                )
            })?;
            let val = if f.width == 1 && toks.get(i + 1).and_then(|n| parse_number(&n.text)).is_none() {
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

    fn statement(&mut self, toks: &[Tok]) -> Result<StmtKind, CaseError> {
        let t0 = &toks[0];
        let w = |i: usize| toks.get(i).map(|t| t.text.as_str());
        let op = match t0.text.as_str() {
            "phys" => {
                let t1 =
                    self.need(toks, 1, "a physical operation (pend, unpend, ack, eoi, dir, prio, enable, disable)")?;
                match t1.text.as_str() {
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
                        self.no_more(toks, i)?;
                        Op::PhysAck(g)
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
                            format!("unknown physical operation `{other}`; expected pend, unpend, ack, eoi, dir, prio, enable or disable"),
                        ))
                    }
                }
            }
            "lr" => {
                let n = self.num(toks, 1, "a List Register number (0-15)", 15)? as u32;
                let eq = self.need(toks, 2, "`=`")?;
                if eq.text != "=" {
                    return Err(self.err(eq.col, format!("expected `=`, found `{}`", eq.text)));
                }
                let lr = self.lr_fields(toks, 3)?;
                return Ok(StmtKind::LrWrite { n, lr, col: toks[3].col });
            }
            "hcr" | "vmcr" | "apr" => {
                let reg = VifReg::from_name(&t0.text).expect("listed above");
                let eq = self.need(toks, 1, "`=`")?;
                if eq.text != "=" {
                    return Err(self.err(eq.col, format!("expected `=`, found `{}`", eq.text)));
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
                        o => return Err(self.err(t2.col, format!("expected `pending` or `active`, found `{o}`"))),
                    };
                    let (irq, i) = self.irq(toks, 3)?;
                    self.no_more(toks, i)?;
                    Op::PhysRead(irq, s)
                } else if let Some(r) = VifReg::from_name(&t1.text) {
                    self.no_more(toks, 2)?;
                    Op::VifRead(r)
                } else {
                    let (name, col, info) = self.reg(toks, 1)?;
                    self.no_more(toks, 2)?;
                    return Ok(StmtKind::Reg { name, col, info, write: None, guest: false });
                }
            }
            "write" => {
                let (name, col, info) = self.reg(toks, 1)?;
                let v = self.num(toks, 2, "a value", u64::MAX)?;
                self.no_more(toks, 3)?;
                return Ok(StmtKind::Reg { name, col, info, write: Some(v), guest: false });
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
                                format!("unknown queue field `{o}`; expected vintid N, group N, prio N"),
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
            "timer" => {
                let t1 = self.need(toks, 1, "`on` or `off`")?;
                let on = match t1.text.as_str() {
                    "on" => true,
                    "off" => false,
                    o => return Err(self.err(t1.col, format!("expected `on` or `off`, found `{o}`"))),
                };
                self.no_more(toks, 2)?;
                Op::Timer(on)
            }
            "wait" => {
                let t1 = self.need(toks, 1, "`maintenance`")?;
                if t1.text != "maintenance" {
                    return Err(self.err(
                        t1.col,
                        format!("expected `maintenance`, found `{}` (the guest waits with `guest wait virq`)", t1.text),
                    ));
                }
                Op::WaitMaintenance(self.wait_ms(toks, 2)?)
            }
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
                            return Err(self.err(t2.col, format!("expected `virq`, found `{}`", t2.text)));
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
                            let (name, col, info) = self.reg(toks, 2)?;
                            self.no_more(toks, 3)?;
                            return Ok(StmtKind::Reg { name, col, info, write: None, guest: true });
                        }
                    },
                    "write" => {
                        let (name, col, info) = self.reg(toks, 2)?;
                        let v = self.num(toks, 3, "a value", u64::MAX)?;
                        self.no_more(toks, 4)?;
                        return Ok(StmtKind::Reg { name, col, info, write: Some(v), guest: true });
                    }
                    other => {
                        return Err(self.err(
                            t1.col,
                            format!(
                                "unknown guest operation `{other}`; expected ack, eoi, dir, pmr, bpr, eoimode, \
                                 enable, disable, wait virq, read, write"
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
                        "unknown statement `{other}`; expected phys, lr, read, write, hcr, vmcr, apr, guest, wait, \
                         timer, queue, serve, or `on cpuN {{`"
                    ),
                ))
            }
        };
        Ok(StmtKind::Op(op))
    }
}

/// Parses a case file's text. `name` is its path under the cases directory
/// without the extension.
///
/// # Errors
/// The first malformed line, with file, line and column.
pub fn parse(file: &Path, name: &str, text: &str) -> Result<Case, CaseError> {
    let mut p = Parser { file, line: 0, step: 0 };
    let mut aim = String::new();
    let mut spec = String::new();
    let mut gics: Option<Vec<GicVersion>> = None;
    let mut smp = 1u32;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut in_header = true;
    // Stack of open blocks: (cpu, col, line, statements).
    let mut stack: Vec<(u32, usize, usize, Vec<Stmt>)> = vec![(0, 0, 0, Vec::new())];

    for (idx, raw) in text.lines().enumerate() {
        p.line = idx + 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if in_header {
            if let Some((key, value)) = header_line(trimmed) {
                let col = raw.len() - trimmed.len() + 1;
                let vcol = col
                    + key.len()
                    + 1
                    + (trimmed[key.len() + 1..].len() - trimmed[key.len() + 1..].trim_start().len());
                let value = value.split('#').next().unwrap_or("").trim();
                match key {
                    "aim" => {
                        if !aim.is_empty() {
                            aim.push(' ');
                        }
                        aim.push_str(value);
                    }
                    "spec" => {
                        if !spec.is_empty() {
                            spec.push_str("; ");
                        }
                        spec.push_str(value);
                    }
                    "gic" => {
                        let mut v = Vec::new();
                        let mut c = vcol;
                        for word in value.split_whitespace() {
                            let g = GicVersion::from_name(word).ok_or_else(|| {
                                p.err(c, format!("unknown GIC version `{word}`; expected v2, v3 or v4"))
                            })?;
                            if !v.contains(&g) {
                                v.push(g);
                            }
                            c += word.len() + 1;
                        }
                        if v.is_empty() {
                            return Err(p.err(vcol, "`gic:` needs at least one of v2, v3, v4"));
                        }
                        v.sort();
                        gics = Some(v);
                    }
                    "smp" => {
                        smp = parse_number(value)
                            .filter(|n| (1..=proto::MAX_CPUS as u64).contains(n))
                            .ok_or_else(|| p.err(vcol, format!("`smp:` must be 1 to {}", proto::MAX_CPUS)))?
                            as u32;
                    }
                    "timeout" => {
                        let secs = value
                            .strip_suffix('s')
                            .and_then(parse_number)
                            .filter(|n| (1..=600).contains(n))
                            .ok_or_else(|| p.err(vcol, "`timeout:` must be like `10s` (1s to 600s)"))?;
                        timeout = Duration::from_secs(secs);
                    }
                    _ => {
                        return Err(
                            p.err(col, format!("unknown header `{key}:`; expected aim, spec, gic, smp or timeout"))
                        )
                    }
                }
                continue;
            }
            in_header = false;
        }
        let toks = tokenize(raw);
        if toks.is_empty() {
            continue;
        }
        if header_line(trimmed).is_some() {
            return Err(p.err(toks[0].col, "header lines (`key: value`) must come before the first statement"));
        }
        if toks[0].text == "}" {
            p.no_more(&toks, 1)?;
            if stack.len() == 1 {
                return Err(p.err(toks[0].col, "`}` without an open `on cpuN {` block"));
            }
            let (cpu, col, _, body) = stack.pop().expect("checked");
            let parent = stack.last_mut().expect("root stays");
            let last = parent.3.last_mut().expect("the block's own statement was pushed");
            last.kind = StmtKind::OnCpu { cpu, col, body };
            continue;
        }
        if toks[0].text == "on" {
            let t1 = p.need(&toks, 1, "`cpuN`")?;
            let cpu = t1
                .text
                .strip_prefix("cpu")
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| p.err(t1.col, format!("expected `cpuN` (e.g. cpu1), found `{}`", t1.text)))?;
            let brace = p.need(&toks, 2, "`{`")?;
            if brace.text != "{" {
                return Err(p.err(brace.col, format!("expected `{{`, found `{}`", brace.text)));
            }
            p.no_more(&toks, 3)?;
            if stack.len() > 1 {
                return Err(p.err(toks[0].col, "`on cpuN` blocks do not nest"));
            }
            p.step = p.step.checked_add(1).ok_or_else(|| p.err(1, "too many statements"))?;
            stack.last_mut().expect("root").3.push(Stmt {
                line: p.line,
                step: p.step,
                kind: StmtKind::OnCpu { cpu, col: t1.col, body: Vec::new() },
            });
            stack.push((cpu, t1.col, p.line, Vec::new()));
            continue;
        }
        let kind = p.statement(&toks)?;
        p.step = p.step.checked_add(1).ok_or_else(|| p.err(1, "too many statements"))?;
        let line = p.line;
        let step = p.step;
        stack.last_mut().expect("root").3.push(Stmt { line, step, kind });
    }
    if stack.len() > 1 {
        let (_, col, line, _) = stack.last().expect("len > 1");
        return Err(CaseError {
            file: file.to_path_buf(),
            line: *line,
            col: *col,
            msg: "`on cpuN {` block is never closed with `}`".into(),
        });
    }
    let missing = |what: &str| CaseError {
        file: file.to_path_buf(),
        line: 1,
        col: 1,
        msg: format!("missing `{what}:` header line"),
    };
    if aim.is_empty() {
        return Err(missing("aim"));
    }
    if spec.is_empty() {
        return Err(missing("spec"));
    }
    let gics = gics.ok_or_else(|| missing("gic"))?;
    let stmts = stack.pop().expect("root").3;
    check_cpus(file, &stmts, smp)?;
    Ok(Case { file: file.to_path_buf(), name: name.to_string(), aim, spec, gics, smp, timeout, stmts })
}

fn check_cpus(file: &Path, stmts: &[Stmt], smp: u32) -> Result<(), CaseError> {
    for s in stmts {
        if let StmtKind::OnCpu { cpu, col, .. } = &s.kind {
            if *cpu >= smp {
                return Err(CaseError {
                    file: file.to_path_buf(),
                    line: s.line,
                    col: *col,
                    msg: format!("cpu{cpu} does not exist: the case says `smp: {smp}` (PEs cpu0..cpu{})", smp - 1),
                });
            }
        }
    }
    Ok(())
}

fn header_line(s: &str) -> Option<(&str, &str)> {
    let (key, rest) = s.split_once(':')?;
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    Some((key, rest))
}

impl Case {
    /// Every statement as (step, line), blocks' bodies included, in step order.
    pub fn steps(&self) -> Vec<(u16, usize)> {
        fn walk(stmts: &[Stmt], out: &mut Vec<(u16, usize)>) {
            for s in stmts {
                out.push((s.step, s.line));
                if let StmtKind::OnCpu { body, .. } = &s.kind {
                    walk(body, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.stmts, &mut out);
        out.sort_unstable();
        out
    }

    /// The case-file line of statement `step`, if the case has it.
    pub fn line_of(&self, step: u16) -> Option<usize> {
        self.steps().into_iter().find(|(s, _)| *s == step).map(|(_, l)| l)
    }

    /// Compiles the case for one GIC version into the image the kernel loads
    /// (header + op words, see `gic_case::proto`).
    ///
    /// # Errors
    /// A statement that cannot run on this version (a register that does not
    /// exist, a List Register field that does not fit the layout), located.
    pub fn compile(&self, v: GicVersion) -> Result<Vec<u32>, CaseError> {
        let mut ops = Vec::new();
        self.compile_into(&self.stmts, v, &mut ops)?;
        if ops.len() > proto::MAX_CASE_WORDS {
            return Err(CaseError {
                file: self.file.clone(),
                line: 1,
                col: 1,
                msg: "case too long for the kernel".into(),
            });
        }
        let mut out = vec![proto::CASE_MAGIC, proto::FORMAT_VERSION, v as u32, self.smp, ops.len() as u32];
        out.extend(ops);
        Ok(out)
    }

    fn err(&self, line: usize, col: usize, msg: String) -> CaseError {
        CaseError { file: self.file.clone(), line, col, msg }
    }

    fn compile_into(&self, stmts: &[Stmt], v: GicVersion, out: &mut Vec<u32>) -> Result<usize, CaseError> {
        let mut count = 0;
        for s in stmts {
            let op = match &s.kind {
                StmtKind::Op(op) => *op,
                StmtKind::LrWrite { n, lr, col } => {
                    let check = if v == GicVersion::V2 { lr.check_v2() } else { lr.check_v3() };
                    check.map_err(|m| self.err(s.line, *col, format!("on GIC{}: {m}", v.name())))?;
                    Op::LrWrite(*n, *lr)
                }
                StmtKind::Reg { name, col, info, write, guest } => {
                    if !info.exists_on(v) {
                        return Err(self.err(
                            s.line,
                            *col,
                            format!("register {name} does not exist on GIC{}; list only the versions it applies to in `gic:`", v.name()),
                        ));
                    }
                    let side = if *guest { Side::El1 } else { Side::El2 };
                    if info.side() != side {
                        let hint = if *guest {
                            "use `read`/`write` (hypervisor side)"
                        } else {
                            "use `guest read`/`guest write`"
                        };
                        return Err(self.err(s.line, *col, format!("{name} is accessed from the other side: {hint}")));
                    }
                    match (write, info.access) {
                        (Some(_), Access::Ro) => return Err(self.err(s.line, *col, format!("{name} is read-only"))),
                        (None, Access::Wo) => return Err(self.err(s.line, *col, format!("{name} is write-only"))),
                        _ => {}
                    }
                    let id: RegId = info.id;
                    match (write, guest) {
                        (Some(val), false) => Op::RegWrite(id, *val),
                        (None, false) => Op::RegRead(id),
                        (Some(val), true) => Op::Guest(GuestOp::WriteReg(id, *val)),
                        (None, true) => Op::Guest(GuestOp::ReadReg(id)),
                    }
                }
                StmtKind::OnCpu { cpu, body, .. } => {
                    let at = out.len();
                    out.extend_from_slice(Op::OnCpu { cpu: *cpu, count: 0 }.encode(s.step).as_slice());
                    let n = self.compile_into(body, v, out)?;
                    let hdr = Op::OnCpu { cpu: *cpu, count: n as u32 }.encode(s.step);
                    out.splice(at..at + hdr.as_slice().len(), hdr.as_slice().iter().copied());
                    count += 1;
                    continue;
                }
            };
            if let Op::Guest(GuestOp::Eoi(i, _) | GuestOp::Dir(i)) = op {
                if v == GicVersion::V2 && i > 1023 {
                    return Err(self.err(s.line, 1, format!("vINTID {i} does not exist on GICv2 (10-bit INTIDs)")));
                }
            }
            out.extend_from_slice(op.encode(s.step).as_slice());
            count += 1;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "aim: a\nspec: IHI0069H 6.3\ngic: v2 v3 v4\n";

    fn parse_str(text: &str) -> Result<Case, CaseError> {
        parse(Path::new("cases/t/x.case"), "t/x", text)
    }

    fn err(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_header_and_statements() {
        let c = parse_str(
            "# comment\naim: first\naim: second\nspec: A\nspec: B\ngic: v4 v2\nsmp: 2\ntimeout: 5s\n\n\
             lr 0 = vintid 27 pintid 27 hw group 1 prio 0xa0 pending  # trailing\n\
             guest ack\nphys ack group0\nread phys active ppi 23\non cpu1 {\n  phys pend sgi 3\n}\nwait maintenance 50ms\n",
        )
        .unwrap();
        assert_eq!(c.aim, "first second");
        assert_eq!(c.spec, "A; B");
        assert_eq!(c.gics, vec![GicVersion::V2, GicVersion::V4]);
        assert_eq!((c.smp, c.timeout), (2, Duration::from_secs(5)));
        let steps: Vec<u16> = c.stmts.iter().map(|s| s.step).collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5, 7]);
        assert_eq!(c.stmts[1].kind, StmtKind::Op(Op::Guest(GuestOp::Ack(Group::G1))));
        assert_eq!(c.stmts[2].kind, StmtKind::Op(Op::PhysAck(Group::G0)));
        assert_eq!(c.stmts[3].kind, StmtKind::Op(Op::PhysRead(23, PhysState::Active)));
        match &c.stmts[4].kind {
            StmtKind::OnCpu { cpu: 1, body, .. } => {
                assert_eq!(body[0].step, 6);
                assert_eq!(body[0].kind, StmtKind::Op(Op::PhysPend(3)));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(c.stmts[5].kind, StmtKind::Op(Op::WaitMaintenance(50)));
        match &c.stmts[0].kind {
            StmtKind::LrWrite { n: 0, lr, .. } => {
                assert_eq!(lr.to_v2(), 0x9a00_6c1b | (1 << 30));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn queue_and_serve() {
        let c = parse_str(&format!("{HEAD}queue vintid 40 group 0 prio 0xc0\nqueue vintid 41\nserve 16\n")).unwrap();
        assert_eq!(c.stmts[0].kind, StmtKind::Op(Op::Queue(40, 0, 0xc0)));
        assert_eq!(c.stmts[1].kind, StmtKind::Op(Op::Queue(41, 1, 0xa0)));
        assert_eq!(c.stmts[2].kind, StmtKind::Op(Op::Serve(16)));
        assert_eq!(err(&format!("{HEAD}queue group 0\n")), "cases/t/x.case:4:1: `queue` needs `vintid N`");
        assert_eq!(err(&format!("{HEAD}serve 0\n")), "cases/t/x.case:4:7: `serve` needs at least 1");
        assert_eq!(err(&format!("{HEAD}timer maybe\n")), "cases/t/x.case:4:7: expected `on` or `off`, found `maybe`");
    }

    #[test]
    fn hcr_and_vmcr_fields() {
        let c = parse_str(&format!("{HEAD}hcr = En LRENPIE EOIcount 3\nvmcr = VENG1 VPMR 0xf0 VBPR1 2\n")).unwrap();
        assert_eq!(c.stmts[0].kind, StmtKind::Op(Op::VifWrite(VifReg::Hcr, 1 | 4 | (3 << 27))));
        assert_eq!(c.stmts[1].kind, StmtKind::Op(Op::VifWrite(VifReg::Vmcr, 2 | (0xf0 << 24) | (2 << 18))));
    }

    #[test]
    fn errors_name_file_line_column_and_expectation() {
        assert_eq!(err(&format!("{HEAD}phys pend ppi 40\n")), "cases/t/x.case:4:15: 40 is not a PPI INTID (16-31)");
        assert_eq!(
            err(&format!("{HEAD}guest frobnicate\n")),
            "cases/t/x.case:4:7: unknown guest operation `frobnicate`; expected ack, eoi, dir, pmr, bpr, eoimode, enable, disable, wait virq, read, write"
        );
        assert_eq!(
            err(&format!("{HEAD}lr 0 = vintid 3 prio\n")),
            "cases/t/x.case:4:21: expected a priority (0-255) here, found end of line"
        );
        assert_eq!(err(&format!("{HEAD}lr 0 vintid 3\n")), "cases/t/x.case:4:6: expected `=`, found `vintid`");
        assert_eq!(
            err(&format!("{HEAD}lr 0 = vintid 3 group 1\n")),
            "cases/t/x.case:4:8: a List Register write must give the State (invalid, pending, active or pending+active)"
        );
        assert_eq!(
            err(&format!("{HEAD}guest ack group1 extra\n")),
            "cases/t/x.case:4:18: unexpected `extra`: the statement ends before it"
        );
        assert_eq!(err(&format!("{HEAD}hcr = En Bogus\n")),
            "cases/t/x.case:4:10: unknown hcr field `Bogus`; expected one of En, UIE, LRENPIE, NPIE, VGrp0EIE, VGrp0DIE, VGrp1EIE, VGrp1DIE, EOIcount");
        assert!(err(&format!("{HEAD}read ICH_FOO_EL2\n"))
            .starts_with("cases/t/x.case:4:6: unknown register `ICH_FOO_EL2`; known: ICH_HCR_EL2,"));
        assert_eq!(
            err("aim: a\nspec: b\ngic: v2 v5\n"),
            "cases/t/x.case:3:9: unknown GIC version `v5`; expected v2, v3 or v4"
        );
        assert_eq!(err("aim: a\nspec: b\n"), "cases/t/x.case:1:1: missing `gic:` header line");
        assert_eq!(
            err(&format!("{HEAD}on cpu1 {{\nguest ack\n")),
            "cases/t/x.case:4:4: `on cpuN {` block is never closed with `}`"
        );
        assert_eq!(
            err(&format!("{HEAD}on cpu1 {{\n}}\n")),
            "cases/t/x.case:4:4: cpu1 does not exist: the case says `smp: 1` (PEs cpu0..cpu0)"
        );
        assert_eq!(err(&format!("{HEAD}}}\n")), "cases/t/x.case:4:1: `}` without an open `on cpuN {` block");
        assert_eq!(
            err(&format!("{HEAD}guest ack\nsmp: 2\n")),
            "cases/t/x.case:5:1: header lines (`key: value`) must come before the first statement"
        );
        assert_eq!(
            err(&format!("{HEAD}wait maintenance 5s\n")),
            "cases/t/x.case:4:18: expected a bound such as `200ms`, found `5s`"
        );
        assert_eq!(
            err("aim: a\nspec: b\ngic: v3\ncolour: red\n"),
            "cases/t/x.case:4:1: unknown header `colour:`; expected aim, spec, gic, smp or timeout"
        );
    }

    #[test]
    fn version_specific_errors_come_from_compile() {
        let c = parse_str(&format!("{HEAD}read ICH_HCR_EL2\n")).unwrap();
        assert!(c.compile(GicVersion::V3).is_ok());
        assert_eq!(
            c.compile(GicVersion::V2).unwrap_err().to_string(),
            "cases/t/x.case:4:6: register ICH_HCR_EL2 does not exist on GICv2; list only the versions it applies to in `gic:`"
        );
        let c = parse_str(&format!("{HEAD}lr 0 = vintid 8192 group 1 prio 0xa0 pending\n")).unwrap();
        assert!(c.compile(GicVersion::V3).is_ok());
        assert_eq!(
            c.compile(GicVersion::V2).unwrap_err().to_string(),
            "cases/t/x.case:4:8: on GICv2: vINTID does not fit GICH_LR.VirtualID (10 bits, IHI 0048B 5.3.10)"
        );
        let c = parse_str(&format!("{HEAD}guest read ICH_HCR_EL2\n")).unwrap();
        assert_eq!(
            c.compile(GicVersion::V3).unwrap_err().to_string(),
            "cases/t/x.case:4:12: ICH_HCR_EL2 is accessed from the other side: use `read`/`write` (hypervisor side)"
        );
        let c = parse_str(&format!("{HEAD}write ICH_VTR_EL2 1\n")).unwrap();
        assert_eq!(c.compile(GicVersion::V3).unwrap_err().to_string(), "cases/t/x.case:4:7: ICH_VTR_EL2 is read-only");
    }

    #[test]
    fn compiles_header_and_on_cpu_block() {
        let c = parse_str("aim: a\nspec: b\ngic: v3\nsmp: 2\non cpu1 {\nphys pend ppi 20\nguest ack\n}\nread lr 1\n")
            .unwrap();
        let w = c.compile(GicVersion::V3).unwrap();
        assert_eq!(&w[..4], &[proto::CASE_MAGIC, proto::FORMAT_VERSION, 3, 2]);
        assert_eq!(w[4] as usize, w.len() - proto::HEADER_WORDS);
        let ops = &w[proto::HEADER_WORDS..];
        let (op, step, n) = Op::decode(ops).unwrap();
        assert_eq!((op, step), (Op::OnCpu { cpu: 1, count: 2 }, 1));
        let (op, step, m) = Op::decode(&ops[n..]).unwrap();
        assert_eq!((op, step), (Op::PhysPend(20), 2));
        let (op, step, k) = Op::decode(&ops[n + m..]).unwrap();
        assert_eq!((op, step), (Op::Guest(GuestOp::Ack(Group::G1)), 3));
        let (op, step, _) = Op::decode(&ops[n + m + k..]).unwrap();
        assert_eq!((op, step), (Op::LrRead(1), 4));
    }

    #[test]
    fn every_committed_case_parses_and_compiles() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cases = crate::suite::discover(&root.join("cases")).unwrap();
        assert!(cases.len() >= 8, "expected the committed cases, found {}", cases.len());
        for c in cases {
            let case = c.parsed.unwrap();
            for v in &case.gics {
                case.compile(*v).unwrap();
            }
        }
    }
}
