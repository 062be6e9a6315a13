//! The case language: parsing, validation and compilation to the op words
//! the kernel runs (`gic_case::op`).
//!
//! A case file starts with header lines (`aim:`, `spec:`, `gic:`, `smp:`,
//! `timeout:`), then one statement per line; `#` starts a comment. The
//! grammar is in README.md ("Writing a case"). Every error names the file,
//! the line and the column of the offending token, and what was expected.

mod crosspe;
pub mod expr;
pub mod inputs;
mod its;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gic_case::lr::{Lr, LrState};
use gic_case::op::{Group, GuestOp, Op, PhysState};
use gic_case::proto;
use gic_case::regs::{self, Access, RegId, RegInfo, Side};
use gic_case::vif::{self, VifReg};
use gic_case::GicVersion;

use crate::text::echo;

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
        write: Option<Value>,
        /// Whether the guest (EL1) performs the access.
        guest: bool,
    },
    /// `on cpuN { … }`, or `on cpuN async { … }` (joined later with `join cpuN`).
    OnCpu {
        /// Target PE.
        cpu: u32,
        /// Column of `cpuN`, for errors.
        col: usize,
        /// Statements in the block.
        body: Vec<Stmt>,
        /// Whether the block runs alongside CPU0 (`async`).
        concurrent: bool,
    },
    /// `read … as NAME`: a read whose raw value is kept under a name (and not printed).
    Kept {
        /// The read.
        read: Box<StmtKind>,
        /// The name's slot.
        slot: u32,
    },
}

/// A value a statement writes: a literal, or a value kept by `read … as NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A number written in the case.
    Lit(u64),
    /// The slot of a named value.
    Named(u32),
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
    /// `requires:` lines as (line, expression): conditions on what the GIC
    /// implements (its header, see [`crate::case::expr`]) without which the
    /// scenario cannot exist; a run on a GIC that does not meet one SKIPs.
    pub requires: Vec<(usize, String)>,
    /// The statements.
    pub stmts: Vec<Stmt>,
}

/// Default time limit of one QEMU run of a case.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound of `guest wait virq` and `wait maintenance`, in ms.
pub const DEFAULT_WAIT_MS: u32 = 100;

/// Words that start a List Register field list, so `lr N = pending` is a
/// write of fields, never of a value named `pending`.
const LR_WORDS: &[&str] = &["invalid", "pending", "active", "hw", "eoi"];

struct Parser<'a> {
    file: &'a Path,
    line: usize,
    step: u16,
    /// Value names defined so far, with their slots.
    names: std::collections::BTreeMap<String, u32>,
    /// PEs running a concurrent block not joined yet: line and column of its `on`.
    unjoined: std::collections::BTreeMap<u32, (usize, usize)>,
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

/// `found `x`` for a message, or `found nothing` for empty text.
fn found(s: &str) -> String {
    if s.is_empty() {
        "found nothing".into()
    } else {
        format!("found `{}`", echo(s))
    }
}

/// Why a token is not an unsigned number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumError {
    /// Not digits of its base.
    Syntax,
    /// Starts with `+` or `-` (after any `0x`/`0b`).
    Sign,
    /// More than 64 bits.
    Overflow,
}

fn number(s: &str) -> Result<u64, NumError> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = s.strip_prefix("0b") {
        (b, 2)
    } else {
        (s, 10)
    };
    if s.starts_with(['+', '-']) || digits.starts_with(['+', '-']) {
        return Err(NumError::Sign);
    }
    if !digits.chars().all(|c| c == '_' || c.is_digit(radix)) || !digits.chars().any(|c| c.is_digit(radix)) {
        return Err(NumError::Syntax);
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    u64::from_str_radix(&clean, radix).map_err(|_| NumError::Overflow)
}

/// Parses an unsigned number: decimal, `0x` hex or `0b` binary, `_` allowed
/// between digits; no sign.
pub fn parse_number(s: &str) -> Option<u64> {
    number(s).ok()
}

/// Parses a plain decimal number (ASCII digits only: no sign, base prefix
/// or `_`), as `smp:`, `timeout:`, `cpuN` and wait bounds take.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether a token is meant as a number (a digit, or a sign and a digit),
/// so a malformed one is reported as a bad number rather than a bad name.
fn looks_numeric(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    s.starts_with(|c: char| c.is_ascii_digit())
}

/// The 1-based character column of byte offset `byte` in `line`.
fn col_at(line: &str, byte: usize) -> usize {
    line[..byte].chars().count() + 1
}

/// The white-space separated words of `s`, each with its byte offset.
fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((b, &s[b..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, &s[b..]));
    }
    out
}

/// The error for the statement after the 65535th.
fn too_many_statements() -> String {
    format!("too many statements: a case may have at most {} (the step number is 16 bits)", u16::MAX)
}

/// A numbered family of register names, `prefix<n>suffix` for `n` in
/// `0..count`: the table's indexed names (`GICH_LR<n>`) and system
/// registers numbered before `_EL` (`ICH_LR<n>_EL2`, `ICV_BPR<n>_EL1`).
struct RegFamily {
    prefix: &'static str,
    suffix: &'static str,
    count: u32,
}

impl RegFamily {
    fn all() -> Vec<RegFamily> {
        let mut fams: Vec<(RegFamily, u32)> =
            regs::indexed_names().map(|(prefix, count)| (RegFamily { prefix, suffix: "", count }, count)).collect();
        for (name, _) in regs::known_names().filter(|(_, indexed)| !indexed) {
            let Some(el) = name.rfind("_EL") else { continue };
            let (head, suffix) = name.split_at(el);
            let prefix = head.trim_end_matches(|c: char| c.is_ascii_digit());
            let Ok(n) = head[prefix.len()..].parse::<u32>() else { continue };
            match fams.iter_mut().find(|(f, _)| f.prefix == prefix && f.suffix == suffix) {
                Some((f, members)) => {
                    f.count = f.count.max(n + 1);
                    *members += 1;
                }
                None => fams.push((RegFamily { prefix, suffix, count: n + 1 }, 1)),
            }
        }
        // A family is `0..count` with every member present, at least two.
        fams.into_iter().filter(|(f, members)| f.count >= 2 && *members == f.count).map(|(f, _)| f).collect()
    }

    /// `GICH_LR<n> (n = 0-63)`, or the member `n` if it exists.
    fn show(&self, n: Option<u32>) -> String {
        match n {
            Some(n) if n < self.count => format!("{}{n}{}", self.prefix, self.suffix),
            _ => format!("{}<n>{} (n = 0-{})", self.prefix, self.suffix, self.count - 1),
        }
    }
}

/// Splits a register name into its stem and index: the digits right before
/// `_EL<x>`, or at the end (`ICH_LR17_EL2` → (`ICH_LR_EL2`, 17)).
fn split_index(name: &str) -> (String, Option<u32>) {
    let (head, suffix) = match name.rfind("_EL") {
        Some(el) if name[el + 3..].bytes().all(|b| b.is_ascii_digit()) => name.split_at(el),
        _ => (name, ""),
    };
    let stem = head.trim_end_matches(|c: char| c.is_ascii_digit());
    let n = head[stem.len()..].parse().ok();
    (format!("{stem}{suffix}"), n)
}

/// Known register names nearest to an unknown one, best first, at most 3.
fn suggest_registers(typed: &str) -> Vec<String> {
    use strsim::normalized_damerau_levenshtein as similarity;
    /// Least similarity (1 - edits / length) of a suggestion.
    const CUTOFF: f64 = 0.75;
    /// Suggestions are at most this much less similar than the best one.
    const WINDOW: f64 = 0.05;
    if typed.chars().count() > 64 {
        return Vec::new();
    }
    let up = typed.to_ascii_uppercase();
    if let Some((name, _)) = regs::known_names().find(|(n, indexed)| !indexed && *n == up) {
        return vec![name.to_string()];
    }
    let fams = RegFamily::all();
    // The right name with an index out of range, missing or with leading zeros.
    for f in &fams {
        if let Some(mid) = up.strip_prefix(f.prefix).and_then(|r| r.strip_suffix(f.suffix)) {
            if mid.bytes().all(|b| b.is_ascii_digit()) {
                return vec![f.show(mid.parse().ok())];
            }
        }
    }
    let mut scored: Vec<(f64, String)> = Vec::new();
    for (name, _) in regs::known_names().filter(|(_, indexed)| !indexed) {
        let mut score = similarity(&up, name);
        // `ICH_HCR` for `ICH_HCR_EL2`.
        if let (false, Some(el)) = (up.contains("_EL"), name.rfind("_EL")) {
            score = score.max(similarity(&up, &name[..el]));
        }
        scored.push((score, name.to_string()));
    }
    let (stem, n) = split_index(&up);
    for f in &fams {
        scored.push((similarity(&stem, &format!("{}{}", f.prefix, f.suffix)), f.show(n)));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let best = scored.first().map_or(0.0, |s| s.0);
    let mut out: Vec<String> = Vec::new();
    for (score, name) in scored {
        if score < CUTOFF || score < best - WINDOW || out.len() == 3 {
            break;
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
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

    fn no_more(&self, toks: &[Tok], i: usize) -> Result<(), CaseError> {
        match toks.get(i) {
            Some(t) => Err(self.err(t.col, format!("unexpected `{}`: the statement ends before it", echo(&t.text)))),
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

    /// An optional `group0`/`group1` (default group 1); any other word
    /// starting with `group` is a mistyped group, not the next argument.
    fn group(&self, toks: &[Tok], i: usize) -> Result<(Group, usize), CaseError> {
        match toks.get(i) {
            Some(t) if t.text == "group0" => Ok((Group::G0, i + 1)),
            Some(t) if t.text == "group1" => Ok((Group::G1, i + 1)),
            Some(t) if t.text.to_ascii_lowercase().starts_with("group") => {
                self.group_required(toks, i).map(|g| (g, i + 1))
            }
            Some(_) | None => Ok((Group::G1, i)),
        }
    }

    fn group_required(&self, toks: &[Tok], i: usize) -> Result<Group, CaseError> {
        let t = self.need(toks, i, "`group0` or `group1`")?;
        match t.text.as_str() {
            "group0" => Ok(Group::G0),
            "group1" => Ok(Group::G1),
            _ => Err(self.err(t.col, format!("expected `group0` or `group1`, found `{}`", echo(&t.text)))),
        }
    }

    fn wait_ms(&self, toks: &[Tok], i: usize) -> Result<u32, CaseError> {
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

    fn reg(&self, toks: &[Tok], i: usize) -> Result<(String, usize, RegInfo), CaseError> {
        self.reg_from(toks, i, Side::El2)
    }

    /// A register name as accessed from `side` (see `regs::lookup_from`).
    fn reg_from(&self, toks: &[Tok], i: usize, side: Side) -> Result<(String, usize, RegInfo), CaseError> {
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
    fn fields(&self, reg: VifReg, toks: &[Tok], mut i: usize) -> Result<u64, CaseError> {
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

    fn statement(&mut self, toks: &[Tok]) -> Result<StmtKind, CaseError> {
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
                    self.no_more(toks, 2)?;
                    return Ok(StmtKind::Reg { name, col, info, write: None, guest: false });
                }
            }
            "write" => {
                let (name, col, info) = self.reg(toks, 1)?;
                let v = match toks.get(2) {
                    Some(t) if crosspe::is_name(&t.text) => Value::Named(self.use_name(t)?),
                    _ => Value::Lit(self.num(toks, 2, "a value or a value name", u64::MAX)?),
                };
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
                            return Ok(StmtKind::Reg { name, col, info, write: None, guest: true });
                        }
                    },
                    "write" => {
                        let (name, col, info) = self.reg_from(toks, 2, Side::El1)?;
                        let v = self.num(toks, 3, "a value", u64::MAX)?;
                        self.no_more(toks, 4)?;
                        return Ok(StmtKind::Reg { name, col, info, write: Some(Value::Lit(v)), guest: true });
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

/// Parses a case file's text. `name` is its path under the cases directory
/// without the extension. A leading byte-order mark is ignored.
///
/// # Errors
/// The first malformed line, with file, line and column.
pub fn parse(file: &Path, name: &str, text: &str) -> Result<Case, CaseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser { file, line: 0, step: 0, names: Default::default(), unjoined: Default::default() };
    let mut aim = String::new();
    let mut spec = String::new();
    let mut gics: Option<Vec<GicVersion>> = None;
    let mut smp = 1u32;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut requires: Vec<(usize, String)> = Vec::new();
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
            if let Some((key, _)) = header_line(trimmed) {
                let key_at = raw.len() - trimmed.len();
                let col = col_at(raw, key_at);
                // The value: after the colon, up to a comment.
                let value_at = key_at + key.len() + 1;
                let value_raw = &raw[value_at..raw.find('#').unwrap_or(raw.len())];
                let vcol = col_at(raw, value_at + (value_raw.len() - value_raw.trim_start().len()));
                let value = value_raw.trim();
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
                        for (at, word) in words(value_raw) {
                            let g = GicVersion::from_name(word).ok_or_else(|| {
                                p.err(
                                    col_at(raw, value_at + at),
                                    format!("unknown GIC version `{}`; expected v2, v3 or v4", echo(word)),
                                )
                            })?;
                            if !v.contains(&g) {
                                v.push(g);
                            }
                        }
                        if v.is_empty() {
                            return Err(p.err(vcol, "`gic:` needs at least one of v2, v3, v4"));
                        }
                        v.sort();
                        gics = Some(v);
                    }
                    "smp" => {
                        smp = parse_decimal(value).filter(|n| (1..=proto::MAX_CPUS as u64).contains(n)).ok_or_else(
                            || {
                                let max = proto::MAX_CPUS;
                                p.err(
                                    vcol,
                                    format!("`smp:` must be a decimal number of PEs, 1 to {max}; {}", found(value)),
                                )
                            },
                        )? as u32;
                    }
                    "timeout" => {
                        let secs = value
                            .strip_suffix('s')
                            .and_then(parse_decimal)
                            .filter(|n| (1..=600).contains(n))
                            .ok_or_else(|| {
                                p.err(
                                    vcol,
                                    format!(
                                        "`timeout:` must be a decimal number of seconds such as `10s`, 1s to 600s; {}",
                                        found(value)
                                    ),
                                )
                            })?;
                        timeout = Duration::from_secs(secs);
                    }
                    "requires" => {
                        if let Err((at, msg)) = crate::case::expr::parse(value) {
                            return Err(p.err(
                                vcol + value[..at.min(value.len())].chars().count(),
                                format!("`requires:` {msg}"),
                            ));
                        }
                        requires.push((p.line, value.to_string()));
                    }
                    _ => {
                        return Err(p.err(
                            col,
                            format!(
                                "unknown header `{}:`; expected aim, spec, gic, smp, timeout or requires",
                                echo(key)
                            ),
                        ))
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
            let concurrent = matches!(last.kind, StmtKind::OnCpu { concurrent: true, .. });
            last.kind = StmtKind::OnCpu { cpu, col, body, concurrent };
            continue;
        }
        if toks[0].text == "on" {
            let t1 = p.need(&toks, 1, "`cpuN`")?;
            let cpu = t1
                .text
                .strip_prefix("cpu")
                .and_then(parse_decimal)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    p.err(t1.col, format!("expected `cpuN` with a decimal N (e.g. cpu1), found `{}`", echo(&t1.text)))
                })?;
            let concurrent = toks.get(2).is_some_and(|t| t.text == "async");
            let at = if concurrent { 3 } else { 2 };
            let brace = p.need(&toks, at, "`{`")?;
            if brace.text != "{" {
                return Err(p.err(brace.col, format!("expected `async` or `{{`, found `{}`", echo(&brace.text))));
            }
            p.no_more(&toks, at + 1)?;
            if stack.len() > 1 {
                return Err(p.err(toks[0].col, "`on cpuN` blocks do not nest"));
            }
            if let Some((l, _)) = p.unjoined.get(&cpu) {
                return Err(p.err(
                    t1.col,
                    format!("cpu{cpu} still runs the concurrent block opened at line {l}; `join cpu{cpu}` first"),
                ));
            }
            if concurrent {
                if cpu == 0 {
                    return Err(p.err(t1.col, "CPU0 runs the case itself: only another PE's block can be `async`"));
                }
                p.unjoined.insert(cpu, (p.line, t1.col));
            }
            p.step = p.step.checked_add(1).ok_or_else(|| p.err(toks[0].col, too_many_statements()))?;
            stack.last_mut().expect("root").3.push(Stmt {
                line: p.line,
                step: p.step,
                kind: StmtKind::OnCpu { cpu, col: t1.col, body: Vec::new(), concurrent },
            });
            stack.push((cpu, t1.col, p.line, Vec::new()));
            continue;
        }
        let kind = p.statement(&toks)?;
        if let StmtKind::Op(Op::Join(cpu)) = &kind {
            if stack.len() > 1 {
                return Err(p.err(toks[0].col, "`join` waits on CPU0: write it outside `on cpuN` blocks"));
            }
            if p.unjoined.remove(cpu).is_none() {
                return Err(
                    p.err(toks[1].col, format!("no concurrent block runs on cpu{cpu} here (`on cpu{cpu} async {{`)"))
                );
            }
        }
        p.step = p.step.checked_add(1).ok_or_else(|| p.err(toks[0].col, too_many_statements()))?;
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
    if let Some((cpu, (line, col))) = p.unjoined.iter().next() {
        return Err(CaseError {
            file: file.to_path_buf(),
            line: *line,
            col: *col,
            msg: format!("the concurrent block on cpu{cpu} is never joined: add `join cpu{cpu}` after it"),
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
    Ok(Case { file: file.to_path_buf(), name: name.to_string(), aim, spec, gics, smp, timeout, requires, stmts })
}

fn check_cpus(file: &Path, stmts: &[Stmt], smp: u32) -> Result<(), CaseError> {
    for s in stmts {
        if let StmtKind::Op(op) = &s.kind {
            let mut named = its::cpus_named(op).into_iter().map(u32::from).chain(crosspe::cpus_named(op));
            if let Some(cpu) = named.find(|c| *c >= smp) {
                return Err(CaseError {
                    file: file.to_path_buf(),
                    line: s.line,
                    col: 1,
                    msg: format!("cpu{cpu} does not exist: the case says `smp: {smp}` (PEs cpu0..cpu{})", smp - 1),
                });
            }
        }
        if let StmtKind::OnCpu { body, .. } = &s.kind {
            check_cpus(file, body, smp)?;
        }
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

    /// The `requires:` conditions that are not met by a GIC with parameters
    /// `p`, each as (line, expression, why); an expression that cannot be
    /// evaluated for this GIC counts as not met.
    pub fn unmet_requirements(&self, p: &crate::case::expr::Params) -> Vec<(usize, String, String)> {
        use crate::case::expr::{eval, parse, Val};
        self.requires
            .iter()
            .filter_map(|(line, src)| {
                let why = match parse(src).map_err(|(_, m)| m).and_then(|e| eval(&e, p)) {
                    Ok(Val::Int(0)) => "it does not hold".to_string(),
                    Ok(Val::Int(_)) => return None,
                    Ok(other) => format!("it gives {other}, not a truth value"),
                    Err(e) => e,
                };
                Some((*line, src.clone(), why))
            })
            .collect()
    }

    /// Every statement, blocks' bodies and kept reads included.
    fn all_kinds(&self) -> Vec<&StmtKind> {
        fn walk<'a>(k: &'a StmtKind, out: &mut Vec<&'a StmtKind>) {
            out.push(k);
            match k {
                StmtKind::OnCpu { body, .. } => body.iter().for_each(|s| walk(&s.kind, out)),
                StmtKind::Kept { read, .. } => walk(read, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.stmts.iter().for_each(|s| walk(&s.kind, &mut out));
        out
    }

    /// How many List Registers the scenario needs: one more than the
    /// highest LR number a statement writes, reads or injects into (`lr N`,
    /// `read lr N`, `inject sgi lr N`), 0 when none. A GIC that implements
    /// fewer (ICH_VTR_EL2.ListRegs, GICH_VTR.ListRegs) cannot run it.
    pub fn lrs_needed(&self) -> u32 {
        self.all_kinds()
            .into_iter()
            .filter_map(|k| match k {
                StmtKind::LrWrite { n, .. }
                | StmtKind::Op(Op::LrRead(n))
                | StmtKind::Op(Op::LrWriteNamed(n, _))
                | StmtKind::Op(Op::InjectSgi { lr: n, .. }) => Some(n + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether the case keeps the active priorities in a named value
    /// (`read apr as NAME` or `apr = NAME`).
    pub fn keeps_apr(&self) -> bool {
        self.all_kinds().into_iter().any(|k| match k {
            StmtKind::Kept { read, .. } => matches!(**read, StmtKind::Op(Op::VifRead(VifReg::Apr))),
            StmtKind::Op(Op::VifWriteNamed(VifReg::Apr, _)) => true,
            _ => false,
        })
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
        let mut crossed = None;
        self.compile_into(&self.stmts, v, &mut ops, &mut crossed)?;
        if ops.len() > proto::MAX_CASE_WORDS {
            return Err(self.err(
                crossed.unwrap_or(1),
                1,
                format!(
                    "case too long for the kernel: it compiles to {} op words, the kernel takes at most {} \
                     (gic_case::proto::MAX_CASE_WORDS); this statement crosses the limit",
                    ops.len(),
                    proto::MAX_CASE_WORDS
                ),
            ));
        }
        let mut out = vec![proto::CASE_MAGIC, proto::FORMAT_VERSION, v as u32, self.smp, ops.len() as u32];
        out.extend(ops);
        Ok(out)
    }

    fn err(&self, line: usize, col: usize, msg: String) -> CaseError {
        CaseError { file: self.file.clone(), line, col, msg }
    }

    /// Appends the ops of `stmts` to `out`; returns how many ops it added
    /// at this level and notes in `crossed` the line of the statement whose
    /// words first exceed `proto::MAX_CASE_WORDS`.
    fn compile_into(
        &self,
        stmts: &[Stmt],
        v: GicVersion,
        out: &mut Vec<u32>,
        crossed: &mut Option<usize>,
    ) -> Result<usize, CaseError> {
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
                            format!(
                                "register {} does not exist on GIC{}; list only the versions it applies to in `gic:`",
                                echo(name),
                                v.name()
                            ),
                        ));
                    }
                    let side = if *guest { Side::El1 } else { Side::El2 };
                    if info.side() != side {
                        let hint = if *guest {
                            "use `read`/`write` (hypervisor side)"
                        } else {
                            "use `guest read`/`guest write`"
                        };
                        let name = echo(name);
                        return Err(self.err(s.line, *col, format!("{name} is accessed from the other side: {hint}")));
                    }
                    match (write, info.access) {
                        (Some(_), Access::Ro) => {
                            return Err(self.err(s.line, *col, format!("{} is read-only", echo(name))))
                        }
                        (None, Access::Wo) => {
                            return Err(self.err(s.line, *col, format!("{} is write-only", echo(name))))
                        }
                        _ => {}
                    }
                    let id: RegId = info.id;
                    match (write, guest) {
                        (Some(Value::Lit(val)), false) => Op::RegWrite(id, *val),
                        (Some(Value::Named(slot)), false) => Op::RegWriteNamed(id, *slot),
                        (None, false) => Op::RegRead(id),
                        (Some(Value::Lit(val)), true) => Op::Guest(GuestOp::WriteReg(id, *val)),
                        (Some(Value::Named(_)), true) => unreachable!("the parser gives guest writes literals only"),
                        (None, true) => Op::Guest(GuestOp::ReadReg(id)),
                    }
                }
                StmtKind::Kept { read, slot } => {
                    out.extend_from_slice(Op::Keep(*slot).encode(s.step).as_slice());
                    count += 1;
                    let one = [Stmt { line: s.line, step: s.step, kind: (**read).clone() }];
                    count += self.compile_into(&one, v, out, crossed)?;
                    continue;
                }
                StmtKind::OnCpu { cpu, body, concurrent, .. } => {
                    let concurrent = *concurrent;
                    let at = out.len();
                    out.extend_from_slice(Op::OnCpu { cpu: *cpu, count: 0, concurrent }.encode(s.step).as_slice());
                    if out.len() > proto::MAX_CASE_WORDS && crossed.is_none() {
                        *crossed = Some(s.line);
                    }
                    let n = self.compile_into(body, v, out, crossed)?;
                    let hdr = Op::OnCpu { cpu: *cpu, count: n as u32, concurrent }.encode(s.step);
                    out.splice(at..at + hdr.as_slice().len(), hdr.as_slice().iter().copied());
                    count += 1;
                    continue;
                }
            };
            let needs = match op {
                Op::Its(i) if i.is_virtual() => {
                    Some((GicVersion::V4, "GICv4 direct injection (the ITS's virtual commands)"))
                }
                Op::LpiConfig { virtual_: true, .. } | Op::Vpe { .. } => Some((GicVersion::V4, "GICv4 vLPIs")),
                Op::Its(_) | Op::LpiConfig { .. } => Some((GicVersion::V3, "ITS or LPIs (GICv3 or GICv4 only)")),
                Op::PhysEoi(i, _) if i >= gic_case::its::FIRST_LPI => {
                    Some((GicVersion::V3, "LPIs (GICv3 or GICv4 only)"))
                }
                Op::PhysReadOn(..) => Some((
                    GicVersion::V3,
                    "way to read another PE's SGI/PPI state (its banked registers are read by a block on that PE)",
                )),
                Op::PhysRoute(_, gic_case::op::ANY_PE) => {
                    Some((GicVersion::V3, "1-of-N SPI routing (GICD_IROUTER<n>.Interrupt_Routing_Mode)"))
                }
                Op::InjectSgi { .. } => Some((
                    GicVersion::V3,
                    "trapped guest SGI register (a GICv2 guest writes GICD_SGIR, a memory-mapped register)",
                )),
                _ => None,
            };
            if let Some((min, what)) = needs {
                if v < min {
                    return Err(self.err(
                        s.line,
                        1,
                        format!("GIC{} has no {what}; list only the versions it applies to in `gic:`", v.name()),
                    ));
                }
            }
            if let Op::Guest(GuestOp::Eoi(i, _) | GuestOp::Dir(i)) = op {
                if v == GicVersion::V2 && i > 1023 {
                    return Err(self.err(s.line, 1, format!("vINTID {i} does not exist on GICv2 (10-bit INTIDs)")));
                }
            }
            out.extend_from_slice(op.encode(s.step).as_slice());
            if out.len() > proto::MAX_CASE_WORDS && crossed.is_none() {
                *crossed = Some(s.line);
            }
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
    fn requires_lines_are_expressions_located_when_wrong() {
        let c =
            parse_str("aim: a\nspec: s\ngic: v3\nrequires: pri_bits == 5  # why\nrequires: num_lrs >= 2\nread hcr\n")
                .unwrap();
        assert_eq!(c.requires, [(4, "pri_bits == 5".to_string()), (5, "num_lrs >= 2".to_string())]);
        let p = crate::case::expr::Params::synthetic(GicVersion::V3, 1, 8, 7);
        let unmet = c.unmet_requirements(&p);
        assert_eq!(unmet.len(), 2);
        assert_eq!(unmet[0], (4, "pri_bits == 5".to_string(), "it does not hold".to_string()));
        assert!(c.unmet_requirements(&crate::case::expr::Params::synthetic(GicVersion::V3, 4, 5, 5)).is_empty());
        assert_eq!(
            parse_str("aim: a\nspec: s\ngic: v3\nrequires: pri_bit == 5\n").unwrap_err().to_string(),
            "cases/t/x.case:4:11: `requires:` unknown name `pri_bit`; names: num_lrs, pri_bits, pre_bits, bpr0_min, bpr1_min, idle_priority, ListRegs, PRIbits, PREbits, cpus, ArchRev"
        );
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
        assert!(
            err(&format!("{HEAD}read ICH_FOO_EL2\n")).starts_with("cases/t/x.case:4:6: unknown register `ICH_FOO_EL2`")
        );
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
            "cases/t/x.case:4:18: expected a bound such as `200ms` (1ms to 10000ms, decimal), found `5s`"
        );
        assert_eq!(
            err("aim: a\nspec: b\ngic: v3\ncolour: red\n"),
            "cases/t/x.case:4:1: unknown header `colour:`; expected aim, spec, gic, smp, timeout or requires"
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
        assert_eq!((op, step), (Op::OnCpu { cpu: 1, count: 2, concurrent: false }, 1));
        let (op, step, m) = Op::decode(&ops[n..]).unwrap();
        assert_eq!((op, step), (Op::PhysPend(20), 2));
        let (op, step, k) = Op::decode(&ops[n + m..]).unwrap();
        assert_eq!((op, step), (Op::Guest(GuestOp::Ack(Group::G1)), 3));
        let (op, step, _) = Op::decode(&ops[n + m + k..]).unwrap();
        assert_eq!((op, step), (Op::LrRead(1), 4));
    }

    #[test]
    fn leading_bom_is_ignored_and_line_one_columns_count_visible_text() {
        let c = parse_str(&format!("\u{feff}{HEAD}guest ack\n")).unwrap();
        assert_eq!((c.aim.as_str(), c.stmts.len()), ("a", 1));
        assert_eq!(
            err("\u{feff}  colour: red\n"),
            "cases/t/x.case:1:3: unknown header `colour:`; expected aim, spec, gic, smp, timeout or requires"
        );
        assert_eq!(err("\u{feff}phys pend ppi 40\n"), "cases/t/x.case:1:15: 40 is not a PPI INTID (16-31)");
        assert_eq!(
            err("\u{feff}aim: a\nspec: b\ngic:\u{a0}v2  v5\n"),
            "cases/t/x.case:3:10: unknown GIC version `v5`; expected v2, v3 or v4"
        );
    }

    #[test]
    fn echoed_tokens_show_invisible_characters_escaped() {
        assert_eq!(echo("a\tb\u{a0}c\\d\u{1b}[1m"), "a\\tb\\u{a0}c\\\\d\\u{1b}[1m");
        assert_eq!(echo(&"x".repeat(100)), format!("{}…", "x".repeat(40)));
        // A BOM that is not the file's first character is a token character.
        assert_eq!(
            err(&format!("{HEAD}\u{feff}guest ack\n")),
            "cases/t/x.case:4:1: unknown statement `\\u{feff}guest`; expected phys, lr, read, write, hcr, vmcr, apr, \
             guest, wait, timer, uart, sgi, inject, compare, join, queue, serve, its, lpi, vlpi, vpe, or `on cpuN {`"
        );
        assert_eq!(
            err(&format!("{HEAD}guest ack\u{200b}\n")),
            "cases/t/x.case:4:7: unknown guest operation `ack\\u{200b}`; expected ack, eoi, dir, pmr, bpr, eoimode, \
             enable, disable, wait virq, read, write"
        );
        assert_eq!(
            err(&format!("{HEAD}lr 0 = vintid 3\u{7} pending\n")),
            "cases/t/x.case:4:15: expected a vINTID (a number), found `3\\u{7}`"
        );
        assert_eq!(
            err("aim: a\nspec: b\ngic: v2\u{2060}\n"),
            "cases/t/x.case:3:6: unknown GIC version `v2\\u{2060}`; expected v2, v3 or v4"
        );
        // Look-alike letters are shown too (a Cyrillic `у` in `phys`).
        assert!(err(&format!("{HEAD}ph\u{443}s ack\n")).contains("unknown statement `ph\\u{443}s`"));
        // A no-break space separates tokens like any other white space.
        assert!(parse_str(&format!("{HEAD}guest\u{a0}ack\tgroup0\n")).is_ok());
    }

    #[test]
    fn numbers_and_names_take_no_sign() {
        for s in ["+3", "-3", "0x+3", "0x-3", "0b+1", "+0x3", "", "_", "0x", "0b2", "3a"] {
            assert_eq!(parse_number(s), None, "{s:?}");
        }
        assert_eq!(parse_number("0x1_0"), Some(16));
        assert_eq!(parse_number("0b101"), Some(5));
        assert_eq!(parse_number("1_000"), Some(1000));
        let e = |s: &str| err(&format!("{HEAD}{s}\n"));
        assert_eq!(
            e("lr +3 = pending"),
            "cases/t/x.case:4:4: expected a List Register number (0-15) (a number without a sign), found `+3`"
        );
        assert_eq!(
            e("phys pend spi -40"),
            "cases/t/x.case:4:15: expected an SPI INTID (32-1019) (a number without a sign), found `-40`"
        );
        assert_eq!(
            e("hcr = En EOIcount +3"),
            "cases/t/x.case:4:19: expected a value for EOIcount (a number without a sign), found `+3`"
        );
        assert_eq!(
            e("hcr = En +1"),
            "cases/t/x.case:4:10: expected a value for En (a number without a sign), found `+1`"
        );
        assert_eq!(
            e("lr 0 = vintid 99999999999999999999 pending"),
            "cases/t/x.case:4:15: a vINTID `99999999999999999999` is out of range (at most 4294967295)"
        );
        assert_eq!(
            e("wait maintenance +5ms"),
            "cases/t/x.case:4:18: expected a bound such as `200ms` (1ms to 10000ms, decimal), found `+5ms`"
        );
        assert_eq!(
            e("guest wait virq 0x10ms"),
            "cases/t/x.case:4:17: expected a bound such as `200ms` (1ms to 10000ms, decimal), found `0x10ms`"
        );
        let h = |s: &str| err(&format!("aim: a\nspec: b\ngic: v3\n{s}\n"));
        for v in ["+2", "0x2", "0", "5", "2x", "99999999999999999999999"] {
            assert_eq!(
                h(&format!("smp: {v}")),
                format!("cases/t/x.case:4:6: `smp:` must be a decimal number of PEs, 1 to 4; found `{v}`")
            );
        }
        assert_eq!(h("smp:"), "cases/t/x.case:4:5: `smp:` must be a decimal number of PEs, 1 to 4; found nothing");
        for v in ["+5s", "0x5s", "5", "0s", "601s"] {
            assert_eq!(
                h(&format!("timeout:  {v}")),
                format!("cases/t/x.case:4:11: `timeout:` must be a decimal number of seconds such as `10s`, 1s to 600s; found `{v}`")
            );
        }
        for cpu in ["cpu+1", "cpu-1", "cpu0x1", "cpu", "cpux"] {
            assert_eq!(
                h(&format!("smp: 2\non {cpu} {{\n}}")),
                format!("cases/t/x.case:5:4: expected `cpuN` with a decimal N (e.g. cpu1), found `{cpu}`")
            );
        }
        let c = parse_str("aim: a\nspec: b\ngic: v3\nsmp:  2\ntimeout: 20s\non cpu01 {\nguest ack\n}\n").unwrap();
        assert_eq!((c.smp, c.timeout), (2, Duration::from_secs(20)));
    }

    #[test]
    fn optional_group_rejects_other_group_words() {
        for (stmt, col, word) in [
            ("guest ack group2", 11, "group2"),
            ("phys ack group7", 10, "group7"),
            ("phys eoi 48 group3", 13, "group3"),
            ("phys eoi 48 group 1", 13, "group"),
            ("guest eoi 40 Group1", 14, "Group1"),
            ("guest bpr group2 3", 11, "group2"),
            ("guest read hppir groupX", 18, "groupX"),
            ("guest enable group", 14, "group"),
        ] {
            assert_eq!(
                err(&format!("{HEAD}{stmt}\n")),
                format!("cases/t/x.case:4:{col}: expected `group0` or `group1`, found `{word}`"),
                "{stmt}"
            );
        }
    }

    #[test]
    fn limits_say_what_they_are() {
        let over = "timer on\n".repeat(65_536);
        assert_eq!(
            err(&format!("{HEAD}{over}")),
            "cases/t/x.case:65539:1: too many statements: a case may have at most 65535 (the step number is 16 bits)"
        );
        // `phys ack` compiles to two words.
        let fits = parse_str(&format!("{HEAD}{}", "phys ack\n".repeat(proto::MAX_CASE_WORDS / 2))).unwrap();
        assert!(fits.compile(GicVersion::V3).is_ok());
        let long =
            parse_str(&format!("{HEAD}{}guest ack\n", "phys ack\n".repeat(proto::MAX_CASE_WORDS / 2 + 1))).unwrap();
        assert_eq!(
            long.compile(GicVersion::V3).unwrap_err().to_string(),
            format!(
                "cases/t/x.case:{}:1: case too long for the kernel: it compiles to 16389 op words, the kernel takes at \
                 most 16384 (gic_case::proto::MAX_CASE_WORDS); this statement crosses the limit",
                3 + proto::MAX_CASE_WORDS / 2 + 1
            )
        );
    }

    #[test]
    fn unknown_register_suggests_the_nearest_names() {
        let all = regs::known_names().count();
        let e = |s: &str| err(&format!("{HEAD}{s}\n"));
        let see = format!("(README.md, 'Register names', lists all {all})");
        assert_eq!(
            e("read ICH_HRC_EL2"),
            format!("cases/t/x.case:4:6: unknown register `ICH_HRC_EL2`; did you mean ICH_HCR_EL2? {see}")
        );
        assert_eq!(
            e("read ich_hcr_el2"),
            format!("cases/t/x.case:4:6: unknown register `ich_hcr_el2`; did you mean ICH_HCR_EL2? {see}")
        );
        assert_eq!(
            e("read ICH_LR17_EL2"),
            format!(
                "cases/t/x.case:4:6: unknown register `ICH_LR17_EL2`; did you mean ICH_LR<n>_EL2 (n = 0-15)? {see}"
            )
        );
        assert_eq!(
            e("read GICH_LR64"),
            format!("cases/t/x.case:4:6: unknown register `GICH_LR64`; did you mean GICH_LR<n> (n = 0-63)? {see}")
        );
        assert_eq!(
            e("read GICH_LR01"),
            format!("cases/t/x.case:4:6: unknown register `GICH_LR01`; did you mean GICH_LR1? {see}")
        );
        assert_eq!(
            e("read GICD_ISPNDR2"),
            format!("cases/t/x.case:4:6: unknown register `GICD_ISPNDR2`; did you mean GICD_ISPENDR2? {see}")
        );
        assert_eq!(
            e("read GICD_ISPNDR99"),
            format!(
                "cases/t/x.case:4:6: unknown register `GICD_ISPNDR99`; did you mean GICD_ISPENDR<n> (n = 0-31)? {see}"
            )
        );
        assert_eq!(e("write XYZZY 1"), format!("cases/t/x.case:4:7: unknown register `XYZZY` {see}"));
        let m = e("guest read ICV_PMR_EL2");
        assert!(m.starts_with("cases/t/x.case:4:12: unknown register `ICV_PMR_EL2`; did you mean ICV_PMR_EL1"), "{m}");
        for s in ["read ICH_FOO_EL2", "read ICH_AP2R0_EL2", "guest read ICV_IAR1_EL1", "read GICR_IGROUPR1"] {
            let m = e(s);
            assert!(m.len() < 200, "{m}");
        }
    }

    #[test]
    fn every_committed_case_parses_and_compiles() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cases = crate::case::inputs::discover(&root.join("cases")).unwrap();
        assert!(cases.len() >= 8, "expected the committed cases, found {}", cases.len());
        for c in cases {
            let case = c.parsed.unwrap();
            for v in &case.gics {
                case.compile(*v).unwrap();
            }
        }
    }
}
