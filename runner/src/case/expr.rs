//! Golden values that depend on what the GIC implements.
//!
//! The Arm specification leaves some parameters of the virtual CPU
//! interface IMPLEMENTATION DEFINED: the number of List Registers
//! (ICH_VTR_EL2.ListRegs, GICH_VTR.ListRegs), the number of virtual
//! priority and preemption bits (PRIbits, PREbits), and with them the
//! number of active-priority registers, the binary-point minimum and which
//! priority bits read as zero (IHI 0069H 12.4.10 ICH_VTR_EL2, 12.4.1
//! ICH_AP0R<n>_EL2, 12.3 ICV_BPR0_EL1; IHI 0048B 5.3.2 GICH_VTR). A golden
//! value that depends on them is written as an expression, a JSON string
//! starting with `=`, and evaluated against the header of each run:
//!
//! ```text
//! "LRs": "=range(0, num_lrs)"                 every List Register (ELRSR when all are empty)
//! "LRs": "=without(range(0, num_lrs), 0, 2)"  all but LR0 and LR2
//! "ICH_AP0R<n>_EL2": "=apr(0xa0)"             active priority 0xa0, every ICH_AP0R<n>_EL2
//! "GICH_APR": "=apr()"                        no active priority (GICv2)
//! "VPMR": "=prio(0xff)"                       0xff with the unimplemented low bits as zero
//! "Priority": "=one_of(0xff, 0xf8)"           any of the values the spec allows
//! ```
//!
//! Names: `num_lrs` (ListRegs + 1), `pri_bits` (PRIbits + 1), `pre_bits`
//! (PREbits + 1), `bpr0_min` (7 − pre_bits: the lowest ICV_BPR0_EL1 /
//! GICV_BPR value; ICH_VTR_EL2.PREbits "determines the minimum value of
//! ICH_VMCR_EL2.VBPR0"), `bpr1_min` (bpr0_min + 1), `idle_priority` (what
//! the running priority reads with nothing active: on GICv3/v4 0xff, as
//! ICV_RPR_EL1 returns "the Idle priority" and "software cannot determine
//! the number of implemented priority bits from a read of this register";
//! on GICv2 0xff or, with fewer than 8 priority bits, 0xff without the
//! unimplemented bits, e.g. 0xf8, as GICV_RPR "reads as 0xFF or 0xF8 to
//! reflect the number of supported interrupt priority bits"), and every numeric field of the header by its
//! own name (`ListRegs`, `PRIbits`, `PREbits`, `cpus`, …; the guest view's
//! header has no `ListRegs` or `PREbits` but `ITLinesNumber`, `SPIs` and
//! `PPIs`, and its `PRIbits` is the physical interface's, found by probing).
//!
//! Functions: `range(a, b)` (the list a, a+1, … b−1), `without(list, x…)`,
//! `one_of(v…)` (the run may give any of them), `hex(n)` (the string
//! `"0x…"` that register values are reported as), `prio(p)` (p with the
//! bits below the implemented priority bits cleared), `apr(p…)` (the
//! active-priority registers with the bit of each group priority `p` set:
//! on GICv3/v4 the list of ICH_AP0R<n>_EL2 or ICH_AP1R<n>_EL2 values, one
//! per implemented register, 2^(pre_bits − 5) of them, with priority `p` at
//! bit `p >> (8 − pre_bits)` of their concatenation; on GICv2 the one
//! GICH_APR value, bit `p >> 3`), `min(a, b)`, `max(a, b)`.
//!
//! Operators, loosest first: comparisons `==` `!=` `<` `<=` `>` `>=` (1 or
//! 0; a case's `requires:` line is one), `|`, `&`, `<<` `>>`, `+` `-`, `*`,
//! unary `~` (8-bit: `~x` is `0xff & !x`, for priority masks). Numbers are
//! decimal or `0x` hexadecimal.

use std::fmt;

use gic_case::GicVersion;
use serde_json::{Map, Value};

use crate::text::echo;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Int(i128),
    /// A name of the header.
    Name(String),
    /// A function call.
    Call(String, Vec<Expr>),
    /// A list literal `[a, b]`.
    List(Vec<Expr>),
    /// A binary operation.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `~x`: the 8-bit complement.
    Not(Box<Expr>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `|`
    Or,
    /// `&`
    And,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `==` (1 or 0)
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// What an expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A number.
    Int(i128),
    /// A string (register values: `"0x…"`).
    Str(String),
    /// A list.
    List(Vec<Val>),
    /// Any one of these values is right.
    OneOf(Vec<Val>),
    /// A register value whose bits under the mask (first) equal the second;
    /// the other bits may be anything (`bits(MASK, VALUE)`: fields the spec
    /// leaves UNKNOWN or IMPLEMENTATION DEFINED beside the one a case checks).
    Bits(i128, i128),
    /// Any other JSON value (booleans, objects), compared as it is.
    Json(Value),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Val::Int(n) => write!(f, "{n}"),
            Val::Str(s) => write!(f, "{}", Value::String(s.clone())),
            Val::List(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Val::Json(v) => write!(f, "{v}"),
            Val::OneOf(v) => {
                f.write_str("one of ")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                Ok(())
            }
            Val::Bits(mask, value) => write!(f, "bits {value:#x} under mask {mask:#x}"),
        }
    }
}

impl Val {
    /// The value as the JSON a run would print, if it is one value (not a set).
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            Val::Int(n) => match u64::try_from(*n) {
                Ok(u) => Value::from(u),
                Err(_) => Value::from(i64::try_from(*n).ok()?),
            },
            Val::Str(s) => Value::String(s.clone()),
            Val::List(v) => Value::Array(v.iter().map(Val::to_json).collect::<Option<_>>()?),
            Val::Json(v) => v.clone(),
            Val::OneOf(_) | Val::Bits(..) => return None,
        })
    }

    /// Whether the run's JSON value `actual` is (one of) this value.
    pub fn matches(&self, actual: &Value) -> bool {
        match (self, actual) {
            (Val::OneOf(vs), a) => vs.iter().any(|v| v.matches(a)),
            (Val::Bits(mask, value), a) => {
                let n = match a {
                    Value::Number(n) => n.as_u64().map(i128::from),
                    Value::String(s) => {
                        s.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()).map(i128::from)
                    }
                    _ => None,
                };
                n.is_some_and(|n| n & mask == *value)
            }
            (Val::Int(n), Value::Number(a)) => a.as_u64().map(i128::from).or(a.as_i64().map(i128::from)) == Some(*n),
            (Val::Str(s), Value::String(a)) => s == a,
            (Val::List(vs), Value::Array(a)) => vs.len() == a.len() && vs.iter().zip(a).all(|(v, x)| v.matches(x)),
            (Val::Json(v), a) => v == a,
            _ => false,
        }
    }
}

/// What the expressions of one run may use: the GIC version and the header.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// The GIC version of the run.
    pub gic: GicVersion,
    /// The header's numeric fields by name, and the derived names.
    pub names: Vec<(String, i128)>,
}

impl Params {
    /// The parameters of a run from its header (`{"ListRegs":3,"PRIbits":4,…}`).
    ///
    /// Derived names are present only when the header has the fields they
    /// come from; an expression using a missing one fails to evaluate.
    pub fn from_header(gic: GicVersion, header: &Map<String, Value>) -> Params {
        let mut names: Vec<(String, i128)> =
            header.iter().filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), i128::from(n)))).collect();
        let get = |k: &str| header.get(k).and_then(Value::as_u64).map(i128::from);
        if let Some(n) = get("ListRegs") {
            names.push(("num_lrs".into(), n + 1));
        }
        if let Some(n) = get("PRIbits") {
            names.push(("pri_bits".into(), n + 1));
        }
        if let Some(n) = get("PREbits") {
            names.push(("pre_bits".into(), n + 1));
            names.push(("bpr0_min".into(), 7 - (n + 1)));
            names.push(("bpr1_min".into(), 8 - (n + 1)));
        }
        Params { gic, names }
    }

    /// A header with the given List Registers, priority and preemption
    /// bits (the counts, not the field values), for tests and examples.
    pub fn synthetic(gic: GicVersion, lrs: u32, pri_bits: u32, pre_bits: u32) -> Params {
        let mut h = Map::new();
        h.insert("ListRegs".into(), (lrs - 1).into());
        h.insert("PRIbits".into(), (pri_bits - 1).into());
        h.insert("PREbits".into(), (pre_bits - 1).into());
        Params::from_header(gic, &h)
    }

    /// The value of header name `name` (a header field or a derived name).
    ///
    /// # Errors
    /// A name this run's header does not have, with the names it has.
    pub fn get(&self, name: &str) -> Result<i128, String> {
        self.names.iter().find(|(k, _)| k == name).map(|(_, v)| *v).ok_or_else(|| {
            let known: Vec<&str> = self.names.iter().map(|(k, _)| k.as_str()).collect();
            format!("`{name}` is not a name of this run's header; names: {}", known.join(", "))
        })
    }
}

/// Names an expression may use whatever the header holds.
const DERIVED: [&str; 6] = ["num_lrs", "pri_bits", "pre_bits", "bpr0_min", "bpr1_min", "idle_priority"];
/// Header fields by their own names: the EL2 kernel's, and those only the
/// guest view's header has (what the distributor advertises and what
/// probing found: `ITLinesNumber`, `SPIs`, `PPIs` as a bit mask of INTIDs
/// 16-31, and on GICv3 `ICC_PRIbits`, the CPU interface's
/// ICC_CTLR_EL1.PRIbits), and on GICv3/v4 `ITS_ID_bits`, the EventID bits
/// the ITS supports (GITS_TYPER.ID_bits + 1), and `ITS_VMAPP`,
/// GITS_TYPER.VMAPP (1: the ITS takes GICv4.1's VMAPP format, not the
/// GICv4.0 commands the kernel builds). A name the run's header lacks is an
/// error when evaluated.
const HEADER: [&str; 16] = [
    "ListRegs",
    "PRIbits",
    "PREbits",
    "TDS",
    "cpus",
    "ArchRev",
    "ITLinesNumber",
    "SPIs",
    "PPIs",
    "ICC_PRIbits",
    "No1N",
    "SecurityExtn",
    "has_ITS",
    "has_UART",
    "ITS_ID_bits",
    "ITS_VMAPP",
];
/// Functions and their argument counts (min, max).
const FUNCTIONS: [(&str, usize, usize); 9] = [
    ("range", 2, 2),
    ("without", 1, usize::MAX),
    ("one_of", 1, usize::MAX),
    ("bits", 2, 2),
    ("hex", 1, 1),
    ("prio", 1, 1),
    ("apr", 0, usize::MAX),
    ("min", 2, 2),
    ("max", 2, 2),
];

/// Parses an expression (the text after `=`).
///
/// # Errors
/// `(offset, message)`: the byte offset in `src` where it went wrong and
/// what was expected; unknown names and functions, and wrong argument
/// counts, are errors here, not at evaluation.
pub fn parse(src: &str) -> Result<Expr, (usize, String)> {
    let mut p = Parser { s: src.as_bytes(), i: 0 };
    let e = p.expr()?;
    p.ws();
    if p.i < p.s.len() {
        return Err((p.i, format!("unexpected `{}`; expected an operator or the end", echo(&src[p.i..]))));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, t: &str) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(t.as_bytes()) {
            self.i += t.len();
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Expr, (usize, String)> {
        self.binary(0)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, (usize, String)> {
        const LEVELS: [&[(&str, BinOp)]; 6] = [
            &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("|", BinOp::Or)],
            &[("&", BinOp::And)],
            &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        'more: loop {
            for (t, op) in LEVELS[level] {
                if self.eat(t) {
                    let rhs = self.binary(level + 1)?;
                    lhs = Expr::Bin(*op, Box::new(lhs), Box::new(rhs));
                    continue 'more;
                }
            }
            return Ok(lhs);
        }
    }

    fn unary(&mut self) -> Result<Expr, (usize, String)> {
        if self.eat("~") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn list(&mut self, close: &str) -> Result<Vec<Expr>, (usize, String)> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(",") {
                self.ws();
                return Err((self.i, format!("expected `,` or `{close}`")));
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, (usize, String)> {
        self.ws();
        let start = self.i;
        if self.eat("(") {
            let e = self.expr()?;
            if !self.eat(")") {
                return Err((self.i, "expected `)`".into()));
            }
            return Ok(e);
        }
        if self.eat("[") {
            return Ok(Expr::List(self.list("]")?));
        }
        let word_len = self.s[start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        if word_len == 0 {
            let rest = String::from_utf8_lossy(&self.s[start.min(self.s.len())..]).into_owned();
            let what = rest.chars().next().map_or("the end".to_string(), |c| format!("`{}`", echo(&c.to_string())));
            return Err((start, format!("expected a number, a name or a function call, found {what}")));
        }
        let word = std::str::from_utf8(&self.s[start..start + word_len]).unwrap_or_default().to_string();
        self.i = start + word_len;
        if word.as_bytes()[0].is_ascii_digit() {
            let n = match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
                Some(h) => i128::from_str_radix(h, 16),
                None => word.parse::<i128>(),
            };
            return n.map(Expr::Int).map_err(|_| (start, format!("`{word}` is not a number (decimal or 0x hex)")));
        }
        if self.eat("(") {
            let Some((_, lo, hi)) = FUNCTIONS.iter().find(|(f, _, _)| *f == word) else {
                let known: Vec<&str> = FUNCTIONS.iter().map(|(f, _, _)| *f).collect();
                return Err((start, format!("unknown function `{word}`; functions: {}", known.join(", "))));
            };
            let args = self.list(")")?;
            if args.len() < *lo || args.len() > *hi {
                let want = if lo == hi { format!("{lo}") } else { format!("at least {lo}") };
                return Err((start, format!("`{word}` takes {want} argument(s), not {}", args.len())));
            }
            return Ok(Expr::Call(word, args));
        }
        if !DERIVED.contains(&word.as_str()) && !HEADER.contains(&word.as_str()) {
            let known: Vec<&str> = DERIVED.iter().chain(HEADER.iter()).copied().collect();
            return Err((start, format!("unknown name `{word}`; names: {}", known.join(", "))));
        }
        Ok(Expr::Name(word))
    }
}

fn int(v: Val, what: &str) -> Result<i128, String> {
    match v {
        Val::Int(n) => Ok(n),
        other => Err(format!("{what} needs a number, got {other}")),
    }
}

/// The active-priority register values with the bit of each group priority
/// in `prios` set, for `p` (IHI 0069H 12.4.1, 12.4.2; IHI 0048B 5.3 GICH_APR).
fn apr(p: &Params, prios: &[i128]) -> Result<Val, String> {
    let (bits, regs) = match p.gic {
        GicVersion::V2 => (5, 1),
        _ => {
            let pre = p.get("pre_bits")?;
            if !(5..=7).contains(&pre) {
                return Err(format!(
                    "apr() needs 5 to 7 preemption bits (ICH_VTR_EL2.PREbits 4 to 6), the header says {pre}"
                ));
            }
            (pre, 1usize << (pre - 5))
        }
    };
    let mut words = vec![0u64; regs];
    for &prio in prios {
        if !(0..=0xff).contains(&prio) {
            return Err(format!("apr(): {prio} is not a priority (0 to 0xff)"));
        }
        let bit = (prio >> (8 - bits)) as usize;
        words[bit / 32] |= 1 << (bit % 32);
    }
    let hex = |w: &u64| Val::Str(format!("{w:#x}"));
    Ok(match p.gic {
        GicVersion::V2 => hex(&words[0]),
        _ => Val::List(words.iter().map(hex).collect()),
    })
}

/// Evaluates `e` for one run.
///
/// # Errors
/// A name the header lacks, an operation on a list, a value out of range.
pub fn eval(e: &Expr, p: &Params) -> Result<Val, String> {
    Ok(match e {
        Expr::Int(n) => Val::Int(*n),
        Expr::Name(n) if n == "idle_priority" && p.gic != GicVersion::V2 => {
            // ICV_RPR_EL1/ICC_RPR_EL1 with nothing active return "the Idle
            // priority", and "software cannot determine the number of
            // implemented priority bits from a read of this register": so
            // not 0xff masked to the implemented bits, 0xff itself.
            Val::Int(0xff)
        }
        Expr::Name(n) if n == "idle_priority" => {
            // GICV_RPR: "the priority reads as 0xFF or 0xF8 to reflect the
            // number of supported interrupt priority bits defined by
            // GICH_VTR.PRIbits". So 0xff, or 0xff without the unimplemented bits.
            let bits = p.get("pri_bits")?.clamp(1, 8);
            let masked = 0xff & (0xff << (8 - bits));
            if masked == 0xff {
                Val::Int(0xff)
            } else {
                Val::OneOf(vec![Val::Int(0xff), Val::Int(masked)])
            }
        }
        Expr::Name(n) => Val::Int(p.get(n)?),
        Expr::List(items) => Val::List(items.iter().map(|x| eval(x, p)).collect::<Result<_, _>>()?),
        Expr::Not(x) => Val::Int(0xff & !int(eval(x, p)?, "`~`")?),
        Expr::Bin(op, a, b) => {
            let (a, b) = (int(eval(a, p)?, "an operator")?, int(eval(b, p)?, "an operator")?);
            let shift = |n: i128| u32::try_from(n).ok().filter(|n| *n < 64).ok_or(format!("shift by {n}"));
            Val::Int(match op {
                BinOp::Or => a | b,
                BinOp::And => a & b,
                BinOp::Shl => a << shift(b)?,
                BinOp::Shr => a >> shift(b)?,
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Eq => i128::from(a == b),
                BinOp::Ne => i128::from(a != b),
                BinOp::Lt => i128::from(a < b),
                BinOp::Le => i128::from(a <= b),
                BinOp::Gt => i128::from(a > b),
                BinOp::Ge => i128::from(a >= b),
            })
        }
        Expr::Call(f, args) => {
            let mut vals = args.iter().map(|x| eval(x, p)).collect::<Result<Vec<_>, _>>()?.into_iter();
            let mut next_int = |what: &str| int(vals.next().unwrap_or(Val::Int(0)), what);
            match f.as_str() {
                "range" => {
                    let (a, b) = (next_int("range()")?, next_int("range()")?);
                    if b - a > 4096 {
                        return Err(format!("range({a}, {b}) is too long"));
                    }
                    Val::List((a..b).map(Val::Int).collect())
                }
                "without" => {
                    let Some(Val::List(list)) = vals.next() else {
                        return Err("without() takes a list first".into());
                    };
                    let drop: Vec<Val> = vals.collect();
                    Val::List(list.into_iter().filter(|x| !drop.contains(x)).collect())
                }
                "one_of" => Val::OneOf(vals.collect()),
                "bits" => {
                    let (mask, value) = (next_int("bits()")?, next_int("bits()")?);
                    if value & !mask != 0 {
                        return Err(format!("bits({mask:#x}, {value:#x}): the value has bits outside the mask"));
                    }
                    Val::Bits(mask, value)
                }
                "hex" => Val::Str(format!("{:#x}", next_int("hex()")?)),
                "prio" => {
                    let (v, bits) = (next_int("prio()")?, p.get("pri_bits")?);
                    Val::Int(v & (0xff << (8 - bits.clamp(1, 8))) & 0xff)
                }
                "apr" => {
                    let prios = vals.map(|v| int(v, "apr()")).collect::<Result<Vec<_>, _>>()?;
                    apr(p, &prios)?
                }
                "min" => Val::Int(next_int("min()")?.min(next_int("min()")?)),
                "max" => Val::Int(next_int("max()")?.max(next_int("max()")?)),
                other => return Err(format!("unknown function `{other}`")),
            }
        }
    })
}

/// The expression of a golden value: the text after `=` when `v` is a
/// string starting with `=`.
pub fn source_of(v: &Value) -> Option<&str> {
    v.as_str().and_then(|s| s.strip_prefix('='))
}

/// Evaluates a golden value for a run: an expression (`"=…"`) is
/// evaluated, any other value stands for itself.
///
/// # Errors
/// As [`parse`] (message only) and [`eval`].
pub fn value_for_run(v: &Value, p: &Params) -> Result<Val, String> {
    match source_of(v) {
        Some(src) => eval(&parse(src).map_err(|(at, m)| format!("at {}: {m}", at + 1))?, p),
        None => Ok(from_json(v)),
    }
}

/// A plain JSON value as a [`Val`] (objects, booleans and null stay JSON).
fn from_json(v: &Value) -> Val {
    match v {
        Value::Number(n) => {
            n.as_u64().map(i128::from).or(n.as_i64().map(i128::from)).map_or(Val::Str(n.to_string()), Val::Int)
        }
        Value::Array(a) => Val::List(a.iter().map(from_json).collect()),
        Value::String(s) => Val::Str(s.clone()),
        other => Val::Json(other.clone()),
    }
}

/// Whether the run's `actual` value matches golden value `expected` for a
/// run with parameters `p`; `Err` when the golden's expression cannot be
/// evaluated.
///
/// # Errors
/// As [`value_for_run`].
pub fn golden_matches(expected: &Value, actual: &Value, p: &Params) -> Result<bool, String> {
    match source_of(expected) {
        Some(_) => Ok(value_for_run(expected, p)?.matches(actual)),
        None => Ok(expected == actual),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(src: &str, p: &Params) -> Val {
        eval(&parse(src).unwrap(), p).unwrap()
    }

    #[test]
    fn bits_compares_under_a_mask_only() {
        let p = Params::synthetic(GicVersion::V3, 4, 5, 5);
        let v = value_for_run(&json!("=bits(0x80000000, 0x80000000)"), &p).unwrap();
        assert!(v.matches(&json!("0x80000002")), "bits outside the mask are free");
        assert!(v.matches(&json!(0x8000_0000u64)));
        assert!(!v.matches(&json!("0x2")), "the masked bit is checked");
        assert!(!v.matches(&json!(true)));
        assert!(eval(&parse("bits(0x1, 0x3)").unwrap(), &p).unwrap_err().contains("outside the mask"));
    }

    #[test]
    fn list_registers_follow_the_header() {
        let q = Params::synthetic(GicVersion::V3, 4, 5, 5);
        let big = Params::synthetic(GicVersion::V3, 16, 8, 7);
        assert_eq!(ev("range(0, num_lrs)", &q).to_string(), "[0,1,2,3]");
        assert_eq!(
            ev("range(0, num_lrs)", &big).to_string(),
            format!("[{}]", (0..16).map(|i| i.to_string()).collect::<Vec<_>>().join(","))
        );
        assert_eq!(ev("without(range(0, num_lrs), 0, 2)", &q).to_string(), "[1,3]");
    }

    #[test]
    fn active_priorities_follow_the_preemption_bits() {
        // 5 bits: one register, 0xa0 at bit 20; 6 bits: two, bit 40 = AP*R1 bit 8;
        // 7 bits: four, bit 80 = AP*R2 bit 16 (IHI 0069H 12.4.1).
        let five = Params::synthetic(GicVersion::V3, 4, 5, 5);
        let six = Params::synthetic(GicVersion::V3, 4, 6, 6);
        let seven = Params::synthetic(GicVersion::V3, 4, 8, 7);
        assert_eq!(ev("apr(0xa0)", &five).to_string(), r#"["0x100000"]"#);
        assert_eq!(ev("apr(0xa0)", &six).to_string(), r#"["0x0","0x100"]"#);
        assert_eq!(ev("apr(0xa0, 0)", &seven).to_string(), r#"["0x1","0x0","0x10000","0x0"]"#);
        assert_eq!(ev("apr()", &seven).to_string(), r#"["0x0","0x0","0x0","0x0"]"#);
        let v2 = Params::synthetic(GicVersion::V2, 4, 5, 5);
        assert_eq!(ev("apr(0xa0)", &v2), Val::Str("0x100000".into()));
    }

    #[test]
    fn priorities_lose_unimplemented_bits() {
        assert_eq!(ev("prio(0xff)", &Params::synthetic(GicVersion::V3, 4, 5, 5)), Val::Int(0xf8));
        assert_eq!(ev("prio(0xff)", &Params::synthetic(GicVersion::V3, 4, 8, 7)), Val::Int(0xff));
        assert_eq!(ev("bpr0_min", &Params::synthetic(GicVersion::V3, 4, 5, 5)), Val::Int(2));
        assert_eq!(ev("idle_priority", &Params::synthetic(GicVersion::V2, 4, 5, 5)).to_string(), "one of 255, 248");
        assert_eq!(ev("idle_priority", &Params::synthetic(GicVersion::V3, 4, 8, 7)), Val::Int(0xff));
        assert_eq!(ev("idle_priority", &Params::synthetic(GicVersion::V3, 4, 5, 5)), Val::Int(0xff), "not 0xf8");
        assert_eq!(ev("bpr1_min", &Params::synthetic(GicVersion::V3, 4, 8, 7)), Val::Int(1));
        assert_eq!(ev("~0x7 & 0xa5", &Params::synthetic(GicVersion::V3, 4, 5, 5)), Val::Int(0xa0));
        assert_eq!(ev("1 + 2 * 3 << 1 | 1", &Params::synthetic(GicVersion::V3, 4, 5, 5)), Val::Int(15));
        assert_eq!(ev("pri_bits == 5", &Params::synthetic(GicVersion::V3, 4, 5, 5)), Val::Int(1));
        assert_eq!(ev("num_lrs >= 1 << 3", &Params::synthetic(GicVersion::V3, 4, 5, 5)), Val::Int(0));
    }

    #[test]
    fn one_of_matches_any() {
        let p = Params::synthetic(GicVersion::V2, 4, 5, 5);
        assert!(golden_matches(&json!("=one_of(0xff, 0xf8)"), &json!(248), &p).unwrap());
        assert!(!golden_matches(&json!("=one_of(0xff, 0xf8)"), &json!(240), &p).unwrap());
        assert!(golden_matches(&json!("=hex(1 << 20)"), &json!("0x100000"), &p).unwrap());
        assert!(golden_matches(&json!(5), &json!(5), &p).unwrap());
        assert!(!golden_matches(&json!("=range(0, num_lrs)"), &json!([0, 1, 2]), &p).unwrap());
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(parse("range(0,").unwrap_err().0, 8);
        assert!(parse("nlrs").unwrap_err().1.starts_with("unknown name `nlrs`; names: num_lrs"));
        assert!(parse("rng(1)").unwrap_err().1.starts_with("unknown function `rng`"));
        assert_eq!(parse("hex(1, 2)").unwrap_err(), (0, "`hex` takes 1 argument(s), not 2".to_string()));
        assert_eq!(parse("1 2").unwrap_err(), (2, "unexpected `2`; expected an operator or the end".to_string()));
        // Invisible characters are shown escaped (found by parser_props mutating a `requires:` line).
        assert_eq!(
            parse("pri_bits\0== 5").unwrap_err(),
            (8, "unexpected `\\u{0}== 5`; expected an operator or the end".to_string())
        );
        assert_eq!(
            parse("1 + \u{200b}").unwrap_err().1,
            "expected a number, a name or a function call, found `\\u{200b}`"
        );
        let no_header = Params::from_header(GicVersion::V3, &Map::new());
        assert!(eval(&parse("num_lrs").unwrap(), &no_header).unwrap_err().contains("not a name of this run's header"));
        assert!(eval(&parse("range(0,3) + 1").unwrap(), &no_header).unwrap_err().contains("needs a number"));
    }
}
