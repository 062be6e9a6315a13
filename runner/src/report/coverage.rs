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
//!   uses the statement with that value; the harness's own arguments (named
//!   value slots, time bounds, block sizes) are left out, and so are group
//!   arguments the GICv2 kernel ignores;
//! - the registers a statement accesses without naming them, as the kernel
//!   runs it (`phys ack` reads `ICC_IAR1_EL1` or `GICC_IAR`, `guest eoi 48`
//!   writes 48 to `ICV_EOIR1_EL1` or `GICV_AEOIR`, `phys pend ppi 27`
//!   writes bit 27 of `GICR_ISPENDR0`): [`implicit`];
//! - the registers the kernel reads at boot for the header, for a case
//!   whose golden or `requires:` uses what they report
//!   (`=range(0, num_lrs)` reads `ICH_VTR_EL2.ListRegs`): [`header_reads`].
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
                // Each number in the family's name: ICH_AP1R0_EL2 → ICH_AP<n>R<n>_EL2.
                let mut family = name[..i].to_string();
                let mut in_number = false;
                for c in name[i..end].chars() {
                    match (c.is_ascii_digit(), in_number) {
                        (true, false) => family.push_str("<n>"),
                        (true, true) => {}
                        (false, _) => family.push(c),
                    }
                    in_number = c.is_ascii_digit();
                }
                family + &name[end..]
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

/// GICv3 CPU interface registers that are not in the register table (no
/// `read`/`write` names them) but that statements access: (name, writable).
const IMPLICIT_ONLY: [(&str, bool); 7] = [
    ("ICC_IAR0_EL1", false),
    ("ICC_IAR1_EL1", false),
    ("ICC_EOIR0_EL1", true),
    ("ICC_EOIR1_EL1", true),
    ("ICC_DIR_EL1", true),
    ("ICV_IAR0_EL1", false),
    ("ICV_IAR1_EL1", false),
];

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
    // Registers only a statement accesses (acknowledging, ending and
    // deactivating by name would break the case's own bookkeeping).
    for (name, writable) in IMPLICIT_ONLY {
        let gics = GicVersion::ALL.into_iter().filter(|v| v.is_v3_family()).collect();
        items.insert(name.to_string(), Item::new(Kind::Register, gics, writable));
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

/// Statement arguments that are the harness's own, not GIC state: named
/// value slots, time bounds, the size of an `on cpuN` block, whether it
/// runs concurrently, the PE whose block `join` waits for, the bound of
/// `serve`. Not listed in the map.
const HARNESS_ARGUMENTS: [&str; 14] = [
    "Compare.0",
    "Compare.1",
    "Keep.0",
    "LrWriteNamed.1",
    "VifWriteNamed.1",
    "Join.0",
    "OnCpu.count",
    "OnCpu.concurrent",
    "Serve.0",
    "Guest.WaitVirq.0",
    "PhysAckWithin.1",
    "WaitIrq.0",
    "WaitMaintenance.0",
    "InjectSgi.lr",
];

/// Group arguments the GICv2 kernel ignores: it acknowledges, ends and
/// sends SGIs through `GICC_IAR`, `GICC_EOIR` and `GICD_SGIR` whatever the
/// group (`testkernel/src/gic/v2.rs`). Not listed on GICv2.
const V2_IGNORED_ARGUMENTS: [&str; 4] = ["PhysAck.0", "PhysAckWithin.0", "PhysEoi.1", "Sgi.group"];

/// The value [`op_arguments`] gives a statement without arguments.
const NO_ARGUMENTS: &str = "()";

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
        out.push((name, NO_ARGUMENTS.into()));
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
                    if HARNESS_ARGUMENTS.contains(&k.as_str())
                        || (!v.is_v3_family() && V2_IGNORED_ARGUMENTS.contains(&k.as_str()))
                    {
                        continue;
                    }
                    // A statement without arguments is used, with no value to vary.
                    let value = (value != NO_ARGUMENTS).then_some(value);
                    self.touch(k, Kind::Argument, v, case, value);
                }
                for (k, value) in implicit(other, v) {
                    self.touch(k.to_string(), Kind::Register, v, case, value);
                }
            }
        }
    }
}

/// The registers a statement's op accesses without naming them, as the
/// kernel runs it on `v` (`testkernel/src/gic/v2.rs`, `v3.rs`,
/// `guest.rs`): (register key, `Some(value written)` or `None` for a read).
/// A value the op's arguments do not fix (a read-modify-write, an
/// affinity) is given as the part the op sets (`EOImode = 1`).
fn implicit(op: &Op, v: GicVersion) -> Vec<(&'static str, Option<String>)> {
    use gic_case::op::Group::{G0, G1};
    use gic_case::op::{GuestOp, PhysState};
    let v2 = !v.is_v3_family();
    let bit = |i: u32| Some(format!("{:#x}", 1u32 << (i % 32)));
    // SGIs and PPIs are the Redistributor's on GICv3/v4.
    let banked = |i: u32, gicr: &'static str, gicd: &'static str| if !v2 && i < 32 { gicr } else { gicd };
    let w = |k: &'static str, value: String| vec![(k, Some(value))];
    match *op {
        Op::PhysPend(i) if v2 && i < 16 => w("GICD_SGIR", format!("{:#x}", (0b10 << 24) | i)),
        Op::PhysPend(i) => vec![(banked(i, "GICR_ISPENDR0", "GICD_ISPENDR<n>"), bit(i))],
        Op::PhysUnpend(i) if v2 && i < 16 => w("GICD_CPENDSGIR<n>", "0xff".into()),
        Op::PhysUnpend(i) => vec![(banked(i, "GICR_ICPENDR0", "GICD_ICPENDR<n>"), bit(i))],
        Op::PhysAck(g) | Op::PhysAckWithin(g, _) => {
            let iar = match (v2, g) {
                (true, _) => "GICC_IAR",
                (false, G0) => "ICC_IAR0_EL1",
                (false, G1) => "ICC_IAR1_EL1",
            };
            let hppir = match (v2, g) {
                (true, _) => "GICC_HPPIR",
                (false, G0) => "ICC_HPPIR0_EL1",
                (false, G1) => "ICC_HPPIR1_EL1",
            };
            match op {
                Op::PhysAckWithin(..) => vec![(hppir, None), (iar, None)],
                _ => vec![(iar, None)],
            }
        }
        Op::PhysEoi(i, g) => w(
            match (v2, g) {
                (true, _) => "GICC_EOIR",
                (false, G0) => "ICC_EOIR0_EL1",
                (false, G1) => "ICC_EOIR1_EL1",
            },
            i.to_string(),
        ),
        Op::PhysDir(i) => w(if v2 { "GICC_DIR" } else { "ICC_DIR_EL1" }, i.to_string()),
        Op::PhysPrio(i, p) => w(banked(i, "GICR_IPRIORITYR<n>", "GICD_IPRIORITYR<n>"), format!("{p:#x}")),
        Op::PhysEnable(i, on) => {
            let k = match on {
                true => banked(i, "GICR_ISENABLER0", "GICD_ISENABLER<n>"),
                false => banked(i, "GICR_ICENABLER0", "GICD_ICENABLER<n>"),
            };
            vec![(k, bit(i))]
        }
        Op::PhysRead(i, s) => vec![(
            match s {
                PhysState::Pending => banked(i, "GICR_ISPENDR0", "GICD_ISPENDR<n>"),
                PhysState::Active => banked(i, "GICR_ISACTIVER0", "GICD_ISACTIVER<n>"),
            },
            None,
        )],
        Op::PhysReadOn(_, s, _) if !v2 => vec![(
            match s {
                PhysState::Pending => "GICR_ISPENDR0",
                PhysState::Active => "GICR_ISACTIVER0",
            },
            None,
        )],
        Op::PhysRoute(i, cpu) if v2 => w("GICD_ITARGETSR<n>", format!("INTID {i} to CPU {cpu}")),
        Op::PhysRoute(i, cpu) if cpu == gic_case::op::ANY_PE => w("GICD_IROUTER<n>", format!("INTID {i} IRM = 1")),
        Op::PhysRoute(i, cpu) => w("GICD_IROUTER<n>", format!("INTID {i} Aff0 = {cpu}")),
        Op::Sgi { intid, targets, group } => w(
            match (v2, group) {
                (true, _) => "GICD_SGIR",
                (false, G0) => "ICC_SGI0R_EL1",
                (false, G1) => "ICC_SGI1R_EL1",
            },
            format!("INTID {intid} {targets:?}"),
        ),
        Op::Guest(g) => {
            let pick = |a: &'static str, b: &'static str| if v2 { a } else { b };
            match g {
                GuestOp::Ack(G0) => vec![(pick("GICV_IAR", "ICV_IAR0_EL1"), None)],
                GuestOp::Ack(G1) => vec![(pick("GICV_AIAR", "ICV_IAR1_EL1"), None)],
                GuestOp::Eoi(i, G0) => w(pick("GICV_EOIR", "ICV_EOIR0_EL1"), i.to_string()),
                GuestOp::Eoi(i, G1) => w(pick("GICV_AEOIR", "ICV_EOIR1_EL1"), i.to_string()),
                GuestOp::Dir(i) => w(pick("GICV_DIR", "ICV_DIR_EL1"), i.to_string()),
                GuestOp::ReadRpr => vec![(pick("GICV_RPR", "ICV_RPR_EL1"), None)],
                GuestOp::ReadHppir(G0) => vec![(pick("GICV_HPPIR", "ICV_HPPIR0_EL1"), None)],
                GuestOp::ReadHppir(G1) => vec![(pick("GICV_AHPPIR", "ICV_HPPIR1_EL1"), None)],
                GuestOp::SetPmr(p) => w(pick("GICV_PMR", "ICV_PMR_EL1"), format!("{p:#x}")),
                GuestOp::ReadPmr => vec![(pick("GICV_PMR", "ICV_PMR_EL1"), None)],
                GuestOp::SetBpr(G0, b) => w(pick("GICV_BPR", "ICV_BPR0_EL1"), b.to_string()),
                GuestOp::SetBpr(G1, b) => w(pick("GICV_ABPR", "ICV_BPR1_EL1"), b.to_string()),
                GuestOp::SetEoiMode(on) => {
                    let k = pick("GICV_CTLR", "ICV_CTLR_EL1");
                    vec![(k, None), (k, Some(format!("EOImode = {}", u8::from(on))))]
                }
                GuestOp::SetGroupEnable(grp, on) if v2 => {
                    vec![("GICV_CTLR", None), ("GICV_CTLR", Some(format!("EnableGrp{} = {}", grp as u8, u8::from(on))))]
                }
                GuestOp::SetGroupEnable(G0, on) => w("ICV_IGRPEN0_EL1", u8::from(on).to_string()),
                GuestOp::SetGroupEnable(G1, on) => w("ICV_IGRPEN1_EL1", u8::from(on).to_string()),
                GuestOp::WaitVirq(_) | GuestOp::ReadReg(_) | GuestOp::WriteReg(..) => vec![],
            }
        }
        _ => vec![],
    }
}

/// The map of `cases` (those that parse and compile), each on every
/// version it lists; with `expected` (the goldens' folder), a case whose
/// golden or `requires:` line depends on what the run's header reports
/// also reads the registers the kernel took it from ([`header_reads`]).
pub fn compute(cases: &[CaseFile], expected: Option<&std::path::Path>) -> Coverage {
    let mut c = Coverage { items: universe(), cases: BTreeMap::new() };
    for cf in cases {
        let Ok(case) = &cf.parsed else { continue };
        let golden = expected
            .and_then(|e| crate::judge::golden::Golden::load(&crate::case::inputs::golden_path(e, &case.name)).ok());
        for &v in &case.gics {
            let Ok(ops) = case.ops(v) else { continue };
            *c.cases.entry(v).or_default() += 1;
            for (_, op) in &ops {
                c.op(op, v, &case.name);
            }
            let mut names = BTreeSet::new();
            for (_, req) in &case.requires {
                if let Ok(e) = crate::case::expr::parse(req) {
                    expression_names(&e, &mut names);
                }
            }
            for event in golden.as_ref().and_then(|g| g.for_version(v)).unwrap_or_default() {
                for value in event.as_object().into_iter().flat_map(|o| o.values()) {
                    if let Some(Ok(e)) = crate::case::expr::source_of(value).map(crate::case::expr::parse) {
                        expression_names(&e, &mut names);
                    }
                }
            }
            for key in names.iter().flat_map(|n| header_reads(n, v)) {
                c.touch(key, Kind::Register, v, &case.name, None);
            }
        }
    }
    c
}

/// The header names and functions an expression uses (`prio()` counts as
/// `pri_bits`, `apr()` as `pre_bits`).
fn expression_names(e: &crate::case::expr::Expr, out: &mut BTreeSet<String>) {
    use crate::case::expr::Expr;
    match e {
        Expr::Int(_) => {}
        Expr::Name(n) => {
            out.insert(n.clone());
        }
        Expr::Call(f, args) => {
            match f.as_str() {
                "prio" => out.insert("pri_bits".into()),
                "apr" => out.insert("pre_bits".into()),
                _ => false,
            };
            args.iter().for_each(|a| expression_names(a, out));
        }
        Expr::List(items) => items.iter().for_each(|a| expression_names(a, out)),
        Expr::Bin(_, a, b) => {
            expression_names(a, out);
            expression_names(b, out);
        }
        Expr::Not(a) => expression_names(a, out),
    }
}

/// The registers and fields behind header name `name` on `v`: the kernel
/// reads them at boot (`ICH_VTR_EL2` / `GICH_VTR`; in the guest's view
/// `GICD_TYPER` and `ICC_CTLR_EL1`), and a golden or requirement that uses
/// the name holds only if they describe the GIC the case then exercises
/// (`=range(0, num_lrs)` in an ELRSR read: exactly ListRegs + 1 List
/// Registers).
fn header_reads(name: &str, v: GicVersion) -> Vec<String> {
    let vtr = vif_name(VifReg::Vtr, v);
    let field = match name {
        "num_lrs" | "ListRegs" => "ListRegs",
        "pri_bits" | "PRIbits" | "idle_priority" => "PRIbits",
        "pre_bits" | "PREbits" | "bpr0_min" | "bpr1_min" => "PREbits",
        "ITLinesNumber" | "SecurityExtn" | "No1N" => return vec!["GICD_TYPER".into()],
        "ICC_PRIbits" => return vec!["ICC_CTLR_EL1".into()],
        _ => return vec![],
    };
    vec![vtr.to_string(), format!("{vtr}.{field}")]
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

    /// README.md's "Spec coverage" shows the summary of the checkout's own
    /// cases and names every gap the map finds (the issue's "each
    /// remaining one is named in README with the reason"): a case added
    /// without updating it, or a gap closed or opened, fails here.
    #[test]
    fn readme_shows_the_coverage_of_the_checkouts_cases_and_names_every_gap() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cases = crate::case::inputs::discover(&root.join("cases")).expect("the checkout's cases");
        let c = compute(&cases, Some(&root.join("expected")));
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        let start = readme.find("\n### Spec coverage\n").expect("README.md has `### Spec coverage`");
        let end = start + readme[start..].find("\n### The HTML").expect("a section after it");
        let section = &readme[start..end];
        let text = render(&c, false);
        for row in text.lines().skip(1).take_while(|l| !l.is_empty()) {
            assert!(
                section.contains(row),
                "README.md 'Spec coverage' lacks the line\n{row}\n(cargo xtask coverage prints:\n{text})"
            );
        }
        let mut unnamed = Vec::new();
        for (v, _, untouched, one) in summary(&c) {
            for k in untouched.iter().chain(&one) {
                // `ICH_VMCR_EL2.VFIQEn` is named as such; `Its.MAPC.valid`
                // as `Its.MAPC.valid`; a register family as `NAME<n>`.
                if !section.contains(&format!("`{k}`")) && !section.contains(&format!("`{k} ")) {
                    unnamed.push(format!("{k} ({})", v.name()));
                }
            }
        }
        assert!(unnamed.is_empty(), "README.md's gap table does not name {unnamed:?}");
    }

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
        let c = compute(&[a, b], None);
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
    fn implicit_register_uses_name_registers_of_the_table_on_their_version() {
        use gic_case::op::{Group, GuestOp, PhysState, SgiTargets};
        let u = universe();
        let mut ops = vec![];
        for i in [3, 27, 48] {
            ops.extend([
                Op::PhysPend(i),
                Op::PhysUnpend(i),
                Op::PhysEoi(i, Group::G1),
                Op::PhysEoi(i, Group::G0),
                Op::PhysDir(i),
                Op::PhysPrio(i, 0x80),
                Op::PhysEnable(i, true),
                Op::PhysEnable(i, false),
                Op::PhysRead(i, PhysState::Pending),
                Op::PhysRead(i, PhysState::Active),
                Op::PhysReadOn(i, PhysState::Active, 1),
                Op::PhysRoute(48, 1),
                Op::PhysRoute(48, gic_case::op::ANY_PE),
            ]);
        }
        for g in [Group::G0, Group::G1] {
            ops.extend([
                Op::PhysAck(g),
                Op::PhysAckWithin(g, 5),
                Op::Sgi { intid: 1, targets: SgiTargets::Others, group: g },
                Op::Guest(GuestOp::Ack(g)),
                Op::Guest(GuestOp::Eoi(40, g)),
                Op::Guest(GuestOp::ReadHppir(g)),
                Op::Guest(GuestOp::SetBpr(g, 2)),
                Op::Guest(GuestOp::SetGroupEnable(g, true)),
            ]);
        }
        ops.extend([
            Op::Guest(GuestOp::Dir(40)),
            Op::Guest(GuestOp::ReadRpr),
            Op::Guest(GuestOp::SetPmr(0xf0)),
            Op::Guest(GuestOp::ReadPmr),
            Op::Guest(GuestOp::SetEoiMode(true)),
        ]);
        for v in GicVersion::ALL {
            for op in &ops {
                for (k, _) in implicit(op, v) {
                    let item = u.get(k).unwrap_or_else(|| panic!("{op:?} on {}: {k} is not in the table", v.name()));
                    assert!(item.gics.contains(&v), "{op:?}: {k} does not exist on {}", v.name());
                }
            }
        }
        let c =
            compute(&[case("t/i", "aim: a\nspec: IHI0069H 12.4.3\ngic: v2 v3\nphys pend ppi 27\nphys ack\n")], None);
        assert_eq!(c.items["GICR_ISPENDR0"].per_gic[&GicVersion::V3].written.keys().collect::<Vec<_>>(), ["0x8000000"]);
        assert_eq!(
            c.items["GICD_ISPENDR<n>"].per_gic[&GicVersion::V2].written.keys().collect::<Vec<_>>(),
            ["0x8000000"]
        );
        assert!(!c.items["ICC_IAR1_EL1"].untouched(GicVersion::V3) && !c.items["GICC_IAR"].untouched(GicVersion::V2));
    }

    #[test]
    fn goldens_and_requirements_that_use_the_header_read_its_registers() {
        let dir = std::env::temp_dir().join(format!("gicv-coverage-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("t")).unwrap();
        std::fs::write(dir.join("t/e.json"), r#"{"all":[{"step":1,"op":"read elrsr","LRs":"=range(0, num_lrs)"}]}"#)
            .unwrap();
        let e = case("t/e", "aim: a\nspec: IHI0069H 12.4.3\ngic: v2 v3\nrequires: pri_bits >= 4\nread elrsr\n");
        let c = compute(&[e], Some(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        for (v, vtr) in [(GicVersion::V2, "GICH_VTR"), (GicVersion::V3, "ICH_VTR_EL2")] {
            for f in ["ListRegs", "PRIbits"] {
                assert!(!c.items[&format!("{vtr}.{f}")].untouched(v), "{vtr}.{f} on {}", v.name());
            }
            assert!(c.items[&format!("{vtr}.PREbits")].untouched(v), "no golden or requirement uses it");
        }
        let without = compute(&[case("t/e", "aim: a\nspec: IHI0069H 12.4.3\ngic: v3\nread elrsr\n")], None);
        assert!(without.items["ICH_VTR_EL2.ListRegs"].untouched(GicVersion::V3));
    }

    #[test]
    fn op_arguments_flatten_debug_forms() {
        assert_eq!(op_arguments(&Op::PhysPend(48)), [("PhysPend.0".to_string(), "48".to_string())]);
        let its = op_arguments(&Op::Its(gic_case::op::ItsOp::Sync { cpu: 1 }));
        assert_eq!(its, [("Its.SYNC.cpu".to_string(), "1".to_string())]);
    }
}
