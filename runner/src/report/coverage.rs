//! The spec coverage map: for every register, field, statement and ITS
//! command argument the suite knows by name, which cases write it and with
//! which distinct values, and which read it, per GIC version; and for each
//! version, what no case touches or touches with one value only.
//!
//! Computed from the cases as compiled for each version they list (the op
//! words the kernel runs, decoded again), never kept by hand:
//!
//! - registers by spec name ([`regs::known_names`]), indexed ones as
//!   `NAME<n>`: written by `write REG`, read by `read REG` (and `guest`);
//! - the fields of the virtual interface registers ([`VifReg::fields`]),
//!   named `ICH_HCR_EL2.UIE` (GICv2: `GICH_HCR.UIE`): written by `hcr = …`,
//!   `vmcr = …`, read by `read hcr`, …;
//! - the List Register fields (`ICH_LR<n>_EL2.State`, `GICH_LR<n>.HW`, …):
//!   written by `lr N = …`, read by `read lr N`;
//! - every other statement's arguments as the op carries them
//!   (`PhysPend.0` = the INTID, `Its.MAPTI.event`, …), written when a case
//!   uses the statement with that value.
//!
//! The universe of names is the register table, the field tables, the
//! List Register layout and the op and ITS command kinds; an argument of a
//! statement is listed once some case uses that statement.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use gic_case::op::Op;
use gic_case::regs::{self, Access, RegId};
use gic_case::vif::VifReg;
use gic_case::GicVersion;

use crate::case::inputs::CaseFile;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A register by spec name.
    Register,
    /// A field of a register.
    Field,
    /// An argument of a statement (an op of the compiled case).
    Argument,
}

/// How one GIC version's cases use an item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touch {
    /// Each distinct value written, with the cases that write it.
    pub written: BTreeMap<String, BTreeSet<String>>,
    /// The cases that read it.
    pub read: BTreeSet<String>,
}

/// One name in the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What it is.
    pub kind: Kind,
    /// The versions it exists on.
    pub gics: Vec<GicVersion>,
    /// Whether a case may write it (read-only registers and fields are
    /// judged by being read, not by the values written).
    pub writable: bool,
    /// Its use per version.
    pub per_gic: BTreeMap<GicVersion, Touch>,
}

impl Item {
    fn new(kind: Kind, gics: Vec<GicVersion>, writable: bool) -> Item {
        Item { kind, gics, writable, per_gic: BTreeMap::new() }
    }

    /// Whether no case on `v` writes or reads it.
    pub fn untouched(&self, v: GicVersion) -> bool {
        self.per_gic.get(&v).is_none_or(|t| t.written.is_empty() && t.read.is_empty())
    }

    /// Whether the cases on `v` write it with exactly one value (a writable
    /// item only).
    pub fn one_value(&self, v: GicVersion) -> bool {
        self.writable && self.per_gic.get(&v).is_some_and(|t| t.written.len() == 1)
    }
}

/// The map: item name → item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Every item, by name.
    pub items: BTreeMap<String, Item>,
    /// The cases counted, per version.
    pub cases: BTreeMap<GicVersion, usize>,
}

/// A register's name as the map lists it: `GICD_ISENABLER<n>` for any
/// `<n>`, with `NAME<n>_EL2` for numbered system registers.
fn reg_key(id: RegId) -> Option<String> {
    let (name, idx) = regs::name_of(id)?;
    Some(match idx {
        Some(_) => format!("{name}<n>"),
        None => match name.find(|c: char| c.is_ascii_digit()) {
            // ICH_LR12_EL2, ICH_AP1R0_EL2: the family, as the table numbers them.
            Some(i) if name.starts_with("ICH_LR") || name.contains("_AP") => {
                let end = name[i..].find('_').map_or(name.len(), |j| i + j);
                format!("{}<n>{}", &name[..i], &name[end..])
            }
            _ => name.to_string(),
        },
    })
}

fn vif_name(r: VifReg, v: GicVersion) -> &'static str {
    let v3 = v.is_v3_family();
    match r {
        VifReg::Hcr => {
            if v3 {
                "ICH_HCR_EL2"
            } else {
                "GICH_HCR"
            }
        }
        VifReg::Vmcr => {
            if v3 {
                "ICH_VMCR_EL2"
            } else {
                "GICH_VMCR"
            }
        }
        VifReg::Misr => {
            if v3 {
                "ICH_MISR_EL2"
            } else {
                "GICH_MISR"
            }
        }
        VifReg::Eisr => {
            if v3 {
                "ICH_EISR_EL2"
            } else {
                "GICH_EISR<n>"
            }
        }
        VifReg::Elrsr => {
            if v3 {
                "ICH_ELRSR_EL2"
            } else {
                "GICH_ELRSR<n>"
            }
        }
        VifReg::Apr => {
            if v3 {
                "ICH_AP<n>R<n>_EL2"
            } else {
                "GICH_APR"
            }
        }
        VifReg::Vtr => {
            if v3 {
                "ICH_VTR_EL2"
            } else {
                "GICH_VTR"
            }
        }
    }
}

/// List Register fields as events name them (`CPUID`: GICv2 only).
const LR_FIELDS: [&str; 8] = ["State", "HW", "Group", "Priority", "vINTID", "pINTID", "EOI", "CPUID"];

fn lr_name(v: GicVersion) -> &'static str {
    if v.is_v3_family() {
        "ICH_LR<n>_EL2"
    } else {
        "GICH_LR<n>"
    }
}

fn lr_values(lr: &gic_case::lr::Lr) -> [(&'static str, String); 8] {
    [
        ("State", lr.state.name().to_string()),
        ("HW", u8::from(lr.hw).to_string()),
        ("Group", lr.group.to_string()),
        ("Priority", format!("{:#x}", lr.priority)),
        ("vINTID", lr.vintid.to_string()),
        ("pINTID", lr.pintid.to_string()),
        ("EOI", u8::from(lr.eoi).to_string()),
        ("CPUID", lr.cpuid.to_string()),
    ]
}

/// Every name the suite knows, with where it exists, before any case.
fn universe() -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    for (name, indexed) in regs::known_names() {
        let probe = if indexed { format!("{name}0") } else { name.to_string() };
        let Some(info) = regs::lookup(&probe).or_else(|| regs::lookup(&format!("{name}32"))) else { continue };
        let Some(key) = reg_key(info.id) else { continue };
        let gics: Vec<GicVersion> = GicVersion::ALL.into_iter().filter(|v| info.exists_on(*v)).collect();
        let item = items.entry(key).or_insert_with(|| Item::new(Kind::Register, gics.clone(), false));
        item.writable |= info.access != Access::Ro;
    }
    for v in GicVersion::ALL {
        for r in VifReg::ALL {
            for f in r.fields() {
                let key = format!("{}.{}", vif_name(r, v), f.name);
                let item = items.entry(key).or_insert_with(|| Item::new(Kind::Field, vec![], r.writable()));
                item.gics.push(v);
            }
        }
        for f in LR_FIELDS {
            if f == "CPUID" && v.is_v3_family() {
                continue;
            }
            let key = format!("{}.{f}", lr_name(v));
            let item = items.entry(key).or_insert_with(|| Item::new(Kind::Field, vec![], true));
            item.gics.push(v);
        }
    }
    items
}

/// `Name(a, b)` or `Name { x: a, y: b }` (an op's `Debug` form, nested ops
/// and ITS commands flattened): the statement's arguments as
/// (`Name.arg`, value).
fn op_arguments(op: &Op) -> Vec<(String, String)> {
    let text = format!("{op:?}");
    // Its(Mapti { … }) → Its.MAPTI { … }; Guest(Ack(Group1)) → Guest.Ack(Group1).
    let (head, rest) = split_head(&text);
    let (name, body) = match head {
        "Its" | "Guest" => {
            let inner = rest.trim_start_matches('(').strip_suffix(')').unwrap_or(rest);
            let (h, b) = split_head(inner);
            let h = if head == "Its" { h.to_uppercase() } else { h.to_string() };
            (format!("{head}.{h}"), b.to_string())
        }
        _ => (head.to_string(), rest.to_string()),
    };
    let body = body.trim();
    let mut out = Vec::new();
    if let Some(fields) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
        for (k, v) in split_top(fields).iter().filter_map(|f| f.split_once(':')) {
            out.push((format!("{name}.{}", k.trim()), v.trim().to_string()));
        }
    } else if let Some(args) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        for (i, a) in split_top(args).iter().enumerate() {
            out.push((format!("{name}.{i}"), a.trim().to_string()));
        }
    } else {
        out.push((name, "()".into()));
    }
    out
}

fn split_head(s: &str) -> (&str, &str) {
    let i = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    (&s[..i], &s[i..])
}

/// Splits at commas outside brackets.
fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push(&s[start..]);
    }
    out
}

impl Coverage {
    fn touch(&mut self, key: String, kind: Kind, v: GicVersion, case: &str, write: Option<String>) {
        let item = self.items.entry(key).or_insert_with(|| Item::new(kind, vec![], true));
        // A statement's arguments exist wherever some case uses them.
        if kind == Kind::Argument && !item.gics.contains(&v) {
            item.gics.push(v);
        }
        let t = item.per_gic.entry(v).or_default();
        match write {
            Some(value) => {
                t.written.entry(value).or_default().insert(case.to_string());
            }
            None => {
                t.read.insert(case.to_string());
            }
        }
    }

    fn op(&mut self, op: &Op, v: GicVersion, case: &str) {
        match op {
            Op::RegRead(id) | Op::RegReadOn(id, _) | Op::Guest(gic_case::op::GuestOp::ReadReg(id)) => {
                if let Some(k) = reg_key(*id) {
                    self.touch(k, Kind::Register, v, case, None);
                }
            }
            Op::RegWrite(id, value)
            | Op::RegWriteOn(id, value, _)
            | Op::Guest(gic_case::op::GuestOp::WriteReg(id, value)) => {
                if let Some(k) = reg_key(*id) {
                    self.touch(k, Kind::Register, v, case, Some(format!("{value:#x}")));
                }
            }
            Op::RegWriteNamed(id, _) => {
                if let Some(k) = reg_key(*id) {
                    self.touch(k, Kind::Register, v, case, Some("(a kept value)".into()));
                }
            }
            Op::VifRead(r) => {
                self.touch(vif_name(*r, v).to_string(), Kind::Register, v, case, None);
                for f in r.fields() {
                    self.touch(format!("{}.{}", vif_name(*r, v), f.name), Kind::Field, v, case, None);
                }
            }
            Op::VifWrite(r, value) => {
                self.touch(vif_name(*r, v).to_string(), Kind::Register, v, case, Some(format!("{value:#x}")));
                for f in r.fields() {
                    let key = format!("{}.{}", vif_name(*r, v), f.name);
                    self.touch(key, Kind::Field, v, case, Some(f.get(*value).to_string()));
                }
            }
            Op::LrRead(_) => {
                self.touch(lr_name(v).to_string(), Kind::Register, v, case, None);
                for f in LR_FIELDS.iter().filter(|f| **f != "CPUID" || !v.is_v3_family()) {
                    self.touch(format!("{}.{f}", lr_name(v)), Kind::Field, v, case, None);
                }
            }
            Op::LrWrite(_, lr) => {
                self.touch(lr_name(v).to_string(), Kind::Register, v, case, Some("(fields)".into()));
                for (f, value) in lr_values(lr) {
                    if f == "CPUID" && v.is_v3_family() {
                        continue;
                    }
                    self.touch(format!("{}.{f}", lr_name(v)), Kind::Field, v, case, Some(value));
                }
            }
            other => {
                for (k, value) in op_arguments(other) {
                    self.touch(k, Kind::Argument, v, case, Some(value));
                }
            }
        }
    }
}

/// The map of `cases` (those that parse and compile), each on every
/// version it lists.
pub fn compute(cases: &[CaseFile]) -> Coverage {
    let mut c = Coverage { items: universe(), cases: BTreeMap::new() };
    for cf in cases {
        let Ok(case) = &cf.parsed else { continue };
        for &v in &case.gics {
            let Ok(ops) = case.ops(v) else { continue };
            *c.cases.entry(v).or_default() += 1;
            for (_, op) in &ops {
                c.op(op, v, &case.name);
            }
        }
    }
    c
}

/// Per version: (items that exist on it, untouched, one value only).
pub fn summary(c: &Coverage) -> Vec<(GicVersion, usize, Vec<&str>, Vec<&str>)> {
    GicVersion::ALL
        .into_iter()
        .map(|v| {
            let on: Vec<(&String, &Item)> = c.items.iter().filter(|(_, i)| i.gics.contains(&v)).collect();
            let untouched = on.iter().filter(|(_, i)| i.untouched(v)).map(|(k, _)| k.as_str()).collect();
            let one = on.iter().filter(|(_, i)| i.one_value(v)).map(|(k, _)| k.as_str()).collect();
            (v, on.len(), untouched, one)
        })
        .collect()
}

/// The text `cargo xtask coverage` prints: the summary table, then per
/// version the untouched items and those with one value (with it), then
/// with `detail` every item with its values and cases.
pub fn render(c: &Coverage, detail: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Spec coverage: registers, fields and statement arguments the cases touch");
    let _ =
        writeln!(out, "  GIC   cases  items  untouched  one value only  (share of items untouched or with one value)");
    let rows = summary(c);
    for (v, n, untouched, one) in &rows {
        let bad = untouched.len() + one.len();
        let pct = if *n == 0 { 0.0 } else { 100.0 * bad as f64 / *n as f64 };
        let _ = writeln!(
            out,
            "  {:<4} {:>6} {:>6} {:>10} {:>15}  ({pct:.1} %)",
            v.name(),
            c.cases.get(v).copied().unwrap_or(0),
            n,
            untouched.len(),
            one.len()
        );
    }
    for (v, _, untouched, one) in &rows {
        let _ = writeln!(out, "\nGIC{}: untouched ({}): {}", v.name(), untouched.len(), untouched.join(", "));
        let ones: Vec<String> = one
            .iter()
            .map(|k| {
                let t = &c.items[*k].per_gic[v];
                format!("{k} = {}", t.written.keys().next().map_or("", String::as_str))
            })
            .collect();
        let _ = writeln!(out, "GIC{}: one value only ({}): {}", v.name(), ones.len(), ones.join(", "));
    }
    if detail {
        for (k, item) in &c.items {
            let _ = writeln!(out, "\n{k} ({:?}{})", item.kind, if item.writable { "" } else { ", read-only" });
            for (v, t) in &item.per_gic {
                for (value, cases) in &t.written {
                    let list: Vec<&str> = cases.iter().map(String::as_str).collect();
                    let _ = writeln!(out, "  {} write {value}: {}", v.name(), list.join(", "));
                }
                if !t.read.is_empty() {
                    let list: Vec<&str> = t.read.iter().map(String::as_str).collect();
                    let _ = writeln!(out, "  {} read: {}", v.name(), list.join(", "));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::inputs::CaseFile;
    use std::path::PathBuf;

    fn case(name: &str, text: &str) -> CaseFile {
        let path = PathBuf::from(format!("cases/{name}.case"));
        let parsed = crate::case::parse(&path, name, text);
        CaseFile { name: name.into(), path, parsed }
    }

    #[test]
    fn writes_reads_and_values_are_counted_per_version() {
        let a = case(
            "t/a",
            "aim: a\nspec: IHI0069H 12.4.3\ngic: v2 v3\nhcr = En UIE\nread hcr\nwrite GICD_ISENABLER1 0x10000\nlr 0 = vintid 48 group 1 prio 0xa0 pending\nphys pend spi 48\n",
        );
        let b = case("t/b", "aim: b\nspec: IHI0069H 12.4.3\ngic: v3\nhcr = En\nread GICD_ISENABLER1\n");
        let c = compute(&[a, b]);
        let uie = &c.items["ICH_HCR_EL2.UIE"];
        assert_eq!(uie.per_gic[&GicVersion::V3].written.keys().collect::<Vec<_>>(), ["0", "1"]);
        assert!(!uie.one_value(GicVersion::V3));
        assert!(c.items["GICH_HCR.UIE"].one_value(GicVersion::V2), "only t/a on v2, UIE = 1");
        assert!(c.items["GICH_HCR.UIE"].untouched(GicVersion::V4));
        let en = &c.items["GICD_ISENABLER<n>"].per_gic[&GicVersion::V3];
        assert_eq!(en.read.iter().collect::<Vec<_>>(), ["t/b"]);
        assert_eq!(en.written["0x10000"].iter().collect::<Vec<_>>(), ["t/a"]);
        assert_eq!(
            c.items["ICH_LR<n>_EL2.Priority"].per_gic[&GicVersion::V3].written.keys().collect::<Vec<_>>(),
            ["0xa0"]
        );
        assert!(c.items.contains_key("PhysPend.0"));
        assert!(c.items["ICH_VTR_EL2.ListRegs"].untouched(GicVersion::V3));
        assert_eq!(c.cases[&GicVersion::V3], 2);
        let text = render(&c, false);
        assert!(text.contains("GICv3: untouched"), "{text}");
    }

    #[test]
    fn op_arguments_flatten_debug_forms() {
        assert_eq!(op_arguments(&Op::PhysPend(48)), [("PhysPend.0".to_string(), "48".to_string())]);
        let its = op_arguments(&Op::Its(gic_case::op::ItsOp::Sync { cpu: 1 }));
        assert_eq!(its, [("Its.SYNC.cpu".to_string(), "1".to_string())]);
    }
}
