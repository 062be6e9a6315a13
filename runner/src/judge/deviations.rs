//! Known deviations of GIC models from the spec: `expected/deviations.toml`.
//!
//! ```toml
//! [[deviation]]
//! case = "lr/aliased-ack"          # case name
//! gic = ["v2"]                     # GIC versions affected
//! qemu = ">=7.2, <=10.0.2"         # QEMU versions affected (comparators: >=, >, <=, <, =)
//! what = "GICV_AIAR reads 0 while a Group 1 vINTID is pending"
//! why = "IHI 0048B 5.5 ... so the golden's INTID 27 is right"
//! upstream = "link or 'not reported'"
//! seen = [                         # exactly how the model's events differ
//!   { step = 3, op = "guest ack", field = "INTID", value = 0 },
//!   { step = 3, op = "guest ack", field = "CPUID", value = 0 },       # a field the golden lacks
//!   { step = 5, op = "read elrsr", field = "LRs", value = "=range(1, num_lrs)" },
//!   { step = 6, op = "wait maintenance", field = "MISR", absent = true },
//!   { step = 7, op = "guest ack", event = "missing" },                # or "unexpected"
//! ]
//! ```
//!
//! Each `seen` item is one difference: at `step`, in the event with `op`
//! (and `cpu`, default 0), `field` has `value` (any TOML value; a string
//! starting with `=` is a golden expression, [`crate::case::expr`]) or is
//! `absent`; or the golden's event is `missing` from the run, or the run
//! has an `unexpected` one. A failing run is XFAIL only when its
//! differences are exactly the recorded ones; any other difference, or a
//! recorded one that did not occur, FAILs. A passing run with a matching
//! entry is XPASS (the entry is stale). [`parse_located`] also gives where
//! each entry's parts are in the file, so that `check` can point at an
//! entry whose case, versions or steps do not exist. A UTF-8 byte-order
//! mark at the start is ignored.

use std::cmp::Ordering;
use std::path::Path;

use gic_case::GicVersion;
use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::case::expr::{self, Params};
use crate::judge::compare::Difference;

/// One recorded difference of a deviation (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// The step.
    pub step: u64,
    /// The event's `op`.
    pub op: String,
    /// The event's PE (0 when the event has no `cpu`).
    pub cpu: u64,
    /// What the model gives there.
    pub what: SeenKind,
    /// The QEMU versions this difference is seen on (a range as the
    /// entry's `qemu`); empty: all of the entry's. Two items of one step
    /// with different ranges give a value per QEMU version, and an entry
    /// none of whose items holds for a version does not apply to it (a
    /// fixed version PASSes beside the XFAIL of the others).
    pub qemu: String,
    /// In a save/restore entry, the boundaries (some of the entry's
    /// `after_steps`) at which this difference is seen; empty: all of them.
    /// A state lost at an earlier boundary shows at more of the later steps.
    pub after_steps: Vec<u16>,
}

/// What a recorded difference is.
#[derive(Debug, Clone, PartialEq)]
pub enum SeenKind {
    /// `field` has this value (JSON; `"=…"` is an expression), or is
    /// absent (`None`).
    Field(String, Option<Value>),
    /// The golden's event did not happen.
    Missing,
    /// The run has an event the golden does not.
    Unexpected,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let cpu = if self.cpu > 0 { format!(", cpu{}", self.cpu) } else { String::new() };
        write!(f, "step {} ({}{cpu}): ", self.step, self.op)?;
        match &self.what {
            SeenKind::Field(field, Some(v)) => write!(f, "{field} = {v}"),
            SeenKind::Field(field, None) => write!(f, "{field} absent"),
            SeenKind::Missing => f.write_str("event missing"),
            SeenKind::Unexpected => f.write_str("unexpected event"),
        }
    }
}

impl Seen {
    /// Whether run difference `d` is this recorded one, for a run with
    /// parameters `p`.
    pub fn matches(&self, d: &Difference, p: &Params) -> bool {
        match (&self.what, d) {
            (SeenKind::Field(field, value), Difference::Field { step, op, cpu, field: f, actual, .. }) => {
                if (*step, op.as_str(), *cpu, f.as_str()) != (self.step, self.op.as_str(), self.cpu, field.as_str()) {
                    return false;
                }
                let actual: Option<Value> = actual.as_deref().and_then(|a| serde_json::from_str(a).ok());
                match (value, actual) {
                    (None, None) => true,
                    (Some(v), Some(a)) => expr::golden_matches(v, &a, p).unwrap_or(false),
                    _ => false,
                }
            }
            (SeenKind::Missing, Difference::Missing { step, event })
            | (SeenKind::Unexpected, Difference::Unexpected { step, event }) => {
                let (_, op, cpu) = crate::judge::compare::key_of(&serde_json::from_str(event).unwrap_or_default());
                (*step, op.as_str(), cpu) == (self.step, self.op.as_str(), self.cpu)
            }
            _ => false,
        }
    }
}

/// One known deviation.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// Case name (`group/name`).
    pub case: String,
    /// Affected GIC versions (`v2`, `v3`, `v4`).
    pub gic: Vec<String>,
    /// Affected QEMU versions, e.g. `>=7.2, <10.0`.
    pub qemu: String,
    /// Exactly how the model's events differ from the golden.
    #[serde(skip)]
    pub seen: Vec<Seen>,
    /// What differs from the spec.
    pub what: String,
    /// Why the golden (the spec) is right.
    pub why: String,
    /// Upstream report, if any.
    #[serde(default)]
    pub upstream: String,
    /// The hypervisor the deviation is of (`kvm 6.1` for Linux 6.1's KVM and
    /// later, written `NAME RANGE` with RANGE as `qemu`'s), for runs under
    /// `--hypervisor`; empty for the GIC model of bare QEMU. An entry with
    /// one applies only to runs under that hypervisor in that version range,
    /// one without only to bare runs.
    #[serde(default)]
    pub hypervisor: String,
    /// `migrated = true`: a deviation of the model's save/restore, for the
    /// runs of `--migrate` only (labelled `<version>-migrated`). Migrated
    /// runs without such an entry are judged by the plain entries, as the
    /// model is the same.
    #[serde(default)]
    pub migrated: bool,
    /// The step boundaries (`after_steps = [8, 9]`: migrated after step 8,
    /// or after step 9) at which the machine, saved and restored at that
    /// boundary alone, loses state; `seen` lists every difference of such
    /// a run (an item with its own `after_steps` only at those). Given with
    /// `migrated = true`, and only then.
    #[serde(default)]
    pub after_steps: Vec<u16>,
}

/// A deviation entry and where its parts are in the file, each as a
/// 1-based (line, column).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The entry.
    pub deviation: Deviation,
    /// Its `[[deviation]]` header.
    pub at: (usize, usize),
    /// The `case` value.
    pub case_at: (usize, usize),
    /// Each `gic` element, in order.
    pub gic_at: Vec<(usize, usize)>,
    /// Each `seen` item's `step`, in order.
    pub steps_at: Vec<(usize, usize)>,
}

/// The file as written, with spans: converted into [`Located`] entries.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Spanned<RawDeviation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeviation {
    case: Spanned<String>,
    gic: Vec<Spanned<String>>,
    qemu: Spanned<String>,
    seen: Spanned<Vec<RawSeen>>,
    what: String,
    why: String,
    #[serde(default)]
    upstream: String,
    #[serde(default)]
    hypervisor: String,
    #[serde(default)]
    migrated: bool,
    after_steps: Option<Spanned<Vec<u16>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeen {
    step: Spanned<u64>,
    op: String,
    #[serde(default)]
    cpu: u64,
    field: Option<String>,
    value: Option<toml::Value>,
    #[serde(default)]
    absent: bool,
    event: Option<Spanned<String>>,
    #[serde(default)]
    qemu: String,
    after_steps: Option<Vec<u16>>,
}

fn to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
    }
}

/// 1-based (line, column) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

/// Parses the deviations file.
///
/// # Errors
/// `line:col: what is wrong` for TOML errors (syntax, unknown or missing
/// fields, wrong types), a `gic` element that is not v2, v3 or v4, and a
/// `qemu` range that does not parse.
pub fn parse(text: &str) -> Result<Vec<Deviation>, String> {
    parse_located(text).map(|v| v.into_iter().map(|l| l.deviation).collect())
}

/// Parses the deviations file, keeping where each entry's parts are.
///
/// # Errors
/// As [`parse`].
pub fn parse_located(text: &str) -> Result<Vec<Located>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let f: File = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim_end();
        match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                format!("{l}:{c}: {msg}")
            }
            None => msg.to_string(),
        }
    })?;
    let at = |offset: usize| line_col(text, offset);
    let mut out = Vec::new();
    for entry in f.deviation {
        let header = entry.span().start;
        let d = entry.into_inner();
        let case = d.case.get_ref().clone();
        for g in &d.gic {
            if GicVersion::from_name(g.get_ref()).is_none() {
                let (l, c) = at(g.span().start);
                return Err(format!("{l}:{c}: deviation for {case}: `{}` is not v2, v3 or v4", g.get_ref()));
            }
        }
        if let Err(e) = parse_range(d.qemu.get_ref()) {
            let (l, c) = at(d.qemu.span().start);
            return Err(format!("{l}:{c}: deviation for {case}: {e}"));
        }
        if !d.hypervisor.is_empty() {
            let ok = d
                .hypervisor
                .split_once(' ')
                .is_some_and(|(name, range)| matches!(name, "kvm" | "kvm-nv" | "xen") && parse_range(range).is_ok());
            if !ok {
                let (l, c) = at(header);
                return Err(format!(
                    "{l}:{c}: deviation for {case}: `hypervisor` is `kvm RANGE`, `kvm-nv RANGE` or `xen RANGE` (e.g. \"kvm >=6.1\"), not `{}`",
                    d.hypervisor
                ));
            }
        }
        let steps_at = d.after_steps.as_ref().map_or(header, |a| a.span().start);
        let after_steps = d.after_steps.map(Spanned::into_inner).unwrap_or_default();
        if d.migrated == after_steps.is_empty() {
            let (l, c) = at(steps_at);
            return Err(format!(
                "{l}:{c}: deviation for {case}: a save/restore deviation gives both `migrated = true` and \
                 `after_steps = [N, ...]`, the step boundaries at which a run migrated there alone loses state \
                 (the result of a failing migrated run names them); a plain deviation gives neither"
            ));
        }
        if after_steps.windows(2).any(|w| w[0] >= w[1]) {
            let (l, c) = at(steps_at);
            return Err(format!(
                "{l}:{c}: deviation for {case}: `after_steps` lists each boundary once, in increasing order"
            ));
        }
        let seen_at = at(d.seen.span().start);
        let raw_seen = d.seen.into_inner();
        if raw_seen.is_empty() {
            return Err(format!(
                "{}:{}: deviation for {case}: `seen` is empty; list each difference the model shows (step, op, field, value)",
                seen_at.0, seen_at.1
            ));
        }
        let mut steps_at = Vec::new();
        let mut seen = Vec::new();
        for r in raw_seen {
            let (l, c) = at(r.step.span().start);
            steps_at.push((l, c));
            let bad = |m: &str| format!("{l}:{c}: deviation for {case}: `seen` item at step {}: {m}", r.step.get_ref());
            let what = match (r.field, r.value, r.absent, r.event) {
                (Some(f), Some(v), false, None) => {
                    let v = to_json(v);
                    if let Some(src) = expr::source_of(&v) {
                        expr::parse(src).map_err(|(i, m)| bad(&format!("expression `{v}` at {}: {m}", i + 1)))?;
                    }
                    SeenKind::Field(f, Some(v))
                }
                (Some(f), None, true, None) => SeenKind::Field(f, None),
                (None, None, false, Some(e)) => match e.get_ref().as_str() {
                    "missing" => SeenKind::Missing,
                    "unexpected" => SeenKind::Unexpected,
                    other => return Err(bad(&format!("event = \"{other}\"; expected \"missing\" or \"unexpected\""))),
                },
                _ => {
                    return Err(bad(
                        "give `field` with `value` (or `absent = true`), or `event = \"missing\"` / \"unexpected\"",
                    ))
                }
            };
            if !r.qemu.is_empty() {
                parse_range(&r.qemu).map_err(|e| bad(&format!("`qemu`: {e}")))?;
            }
            let item_points = r.after_steps.unwrap_or_default();
            if !item_points.iter().all(|p| after_steps.contains(p)) {
                return Err(bad("`after_steps` of an item are some of its entry's `after_steps`"));
            }
            seen.push(Seen {
                step: *r.step.get_ref(),
                op: r.op,
                cpu: r.cpu,
                what,
                qemu: r.qemu,
                after_steps: item_points,
            });
        }
        out.push(Located {
            at: at(header),
            case_at: at(d.case.span().start),
            gic_at: d.gic.iter().map(|g| at(g.span().start)).collect(),
            steps_at,
            deviation: Deviation {
                case,
                gic: d.gic.into_iter().map(Spanned::into_inner).collect(),
                qemu: d.qemu.into_inner(),
                seen,
                what: d.what,
                why: d.why,
                upstream: d.upstream,
                hypervisor: d.hypervisor,
                migrated: d.migrated,
                after_steps,
            },
        });
    }
    Ok(out)
}

/// Loads the deviations file; a missing file means no deviations.
///
/// # Errors
/// As [`parse`], prefixed with the path: `path:line:col: …`; I/O errors
/// as `path: …`.
pub fn load(path: &Path) -> Result<Vec<Deviation>, String> {
    load_located(path).map(|v| v.into_iter().map(|l| l.deviation).collect())
}

/// Loads the deviations file as [`parse_located`] reads it; a missing file
/// means no deviations.
///
/// # Errors
/// As [`load`].
pub fn load_located(path: &Path) -> Result<Vec<Located>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => parse_located(&t).map_err(|e| {
            if e.starts_with(|c: char| c.is_ascii_digit()) {
                format!("{}:{e}", path.display())
            } else {
                format!("{}: {e}", path.display())
            }
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn version_tuple(v: &str) -> Result<Vec<u64>, String> {
    v.trim().split('.').map(|p| p.parse::<u64>().map_err(|_| format!("`{v}` is not a version like 7.2.0"))).collect()
}

fn cmp_versions(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        match a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    Ordering::Equal
}

type Range = Vec<(String, Vec<u64>)>;

fn parse_range(r: &str) -> Result<Range, String> {
    r.split(',')
        .map(|c| {
            let c = c.trim();
            let (op, v) = ["<=", ">=", "<", ">", "="]
                .iter()
                .find_map(|op| c.strip_prefix(op).map(|v| (op.to_string(), v)))
                .ok_or_else(|| format!("`{c}` in `{r}` needs a comparator (>=, >, <=, <, =)"))?;
            Ok((op, version_tuple(v)?))
        })
        .collect()
}

/// Whether QEMU `version` is inside `range` (e.g. `>=7.2, <10.0`).
pub fn version_in(range: &str, version: &str) -> bool {
    let (Ok(r), Ok(v)) = (parse_range(range), version_tuple(version)) else { return false };
    r.iter().all(|(op, b)| {
        let o = cmp_versions(&v, b);
        match op.as_str() {
            "<=" => o != Ordering::Greater,
            ">=" => o != Ordering::Less,
            "<" => o == Ordering::Less,
            ">" => o == Ordering::Greater,
            _ => o == Ordering::Equal,
        }
    })
}

/// Whether some QEMU version lies in both ranges (each a conjunction of
/// comparators, as in `qemu = ">=7.2, <10.0"`). Versions are read as dense
/// (between 7.2 and 7.2.1 lie 7.2.0.1, …), so only an exact bound shared by
/// two inclusive comparators makes a single common point. `false` when a
/// range does not parse (that is reported on its own).
pub fn ranges_overlap(a: &str, b: &str) -> bool {
    let (Ok(mut r), Ok(rb)) = (parse_range(a), parse_range(b)) else { return false };
    r.extend(rb);
    // The tightest lower and upper bound of the conjunction: (version, inclusive).
    let mut lo: Option<(Vec<u64>, bool)> = None;
    let mut hi: Option<(Vec<u64>, bool)> = None;
    let tighter_lo = |cur: &Option<(Vec<u64>, bool)>, v: &[u64], inc: bool| match cur {
        None => true,
        Some((c, ci)) => match cmp_versions(v, c) {
            Ordering::Greater => true,
            Ordering::Equal => *ci && !inc,
            Ordering::Less => false,
        },
    };
    let tighter_hi = |cur: &Option<(Vec<u64>, bool)>, v: &[u64], inc: bool| match cur {
        None => true,
        Some((c, ci)) => match cmp_versions(v, c) {
            Ordering::Less => true,
            Ordering::Equal => *ci && !inc,
            Ordering::Greater => false,
        },
    };
    for (op, v) in &r {
        let (is_lo, is_hi, inc) = match op.as_str() {
            ">=" => (true, false, true),
            ">" => (true, false, false),
            "<=" => (false, true, true),
            "<" => (false, true, false),
            _ => (true, true, true),
        };
        if is_lo && tighter_lo(&lo, v, inc) {
            lo = Some((v.clone(), inc));
        }
        if is_hi && tighter_hi(&hi, v, inc) {
            hi = Some((v.clone(), inc));
        }
    }
    match (lo, hi) {
        (Some((l, li)), Some((h, hi))) => match cmp_versions(&l, &h) {
            Ordering::Less => true,
            Ordering::Equal => li && hi,
            Ordering::Greater => false,
        },
        _ => true,
    }
}

/// How a failing run's differences stand against deviation `d`: the
/// differences it does not record, and the recorded ones that did not occur.
/// Both empty: the run deviates exactly as recorded (XFAIL).
pub fn unexplained<'a>(
    d: &'a Deviation,
    diffs: &'a [Difference],
    p: &Params,
    qemu_version: &str,
    point: Option<u16>,
) -> (Vec<&'a Difference>, Vec<&'a Seen>) {
    let here: Vec<&Seen> = d.seen.iter().filter(|s| s.holds(qemu_version, point)).collect();
    let extra = diffs.iter().filter(|x| !here.iter().any(|s| s.matches(x, p))).collect();
    let absent = here.into_iter().filter(|s| !diffs.iter().any(|x| s.matches(x, p))).collect();
    (extra, absent)
}

impl Seen {
    /// Whether this difference is recorded for a run with result label
    /// `label` (its QEMU version) migrated at `point` alone (`None`: not at
    /// one point).
    pub fn holds(&self, label: &str, point: Option<u16>) -> bool {
        let on_version =
            self.qemu.is_empty() || version_in(&self.qemu, crate::launch::hypervisor::split_label(label).0);
        on_version && (self.after_steps.is_empty() || point.is_some_and(|p| self.after_steps.contains(&p)))
    }
}

/// The deviation that applies to a run, if any. `point`: the one step
/// boundary a migrated run was saved and restored at; a save/restore entry
/// applies only to such a run at one of its `after_steps`, any other
/// migrated run is judged by the plain entries.
pub fn find<'a>(
    devs: &'a [Deviation],
    case: &str,
    gic: GicVersion,
    qemu_version: &str,
    point: Option<u16>,
) -> Option<&'a Deviation> {
    let (qemu, hypervisor) = crate::launch::hypervisor::split_label(qemu_version);
    let migrated = qemu_version.ends_with(crate::launch::migrate::MIGRATED);
    let applies = |d: &&Deviation| {
        d.case == case
            && d.gic.iter().any(|g| g == gic.name())
            && version_in(&d.qemu, qemu)
            && d.seen.iter().any(|s| s.holds(qemu_version, point))
            && match (d.hypervisor.split_once(' '), hypervisor) {
                (None, None) => d.hypervisor.is_empty(),
                (Some((name, range)), Some((hv, hv_version))) => name == hv && version_in(range, hv_version),
                _ => false,
            }
    };
    // A migrated run: the entry of its one boundary first, else the model's plain one.
    let at_point = |d: &&Deviation| d.migrated && migrated && point.is_some_and(|p| d.after_steps.contains(&p));
    let own = devs.iter().filter(applies).find(at_point);
    own.or_else(|| devs.iter().filter(applies).find(|d| !d.migrated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_can_hold_per_qemu_version_and_a_fixed_version_is_not_matched() {
        let t = "[[deviation]]\ncase = \"g/a\"\ngic = [\"v3\"]\nqemu = \">=7.2, <=10.0.2\"\nwhat = \"w\"\nwhy = \"y\"\nseen = [\n  { step = 3, op = \"phys ack\", field = \"INTID\", value = 1023, qemu = \"<10.0\" },\n  { step = 4, op = \"phys ack\", field = \"INTID\", value = 7, qemu = \"=10.0.2\" },\n]\n";
        let devs = parse(t).unwrap();
        let v3 = GicVersion::V3;
        assert!(find(&devs, "g/a", v3, "7.2.22", None).is_some());
        assert!(find(&devs, "g/a", v3, "10.0.2-migrated", None).is_some());
        let d = &devs[0];
        let p = Params::from_header(v3, &serde_json::Map::new());
        let at = |step: u64, v: &str| Difference::Field {
            step,
            op: "phys ack".into(),
            cpu: 0,
            field: "INTID".into(),
            expected: Some("40".into()),
            actual: Some(v.into()),
        };
        let on72 = [at(3, "1023")];
        assert_eq!(unexplained(d, &on72, &p, "7.2.22", None), (vec![], vec![]), "7.2's item only");
        let (extra, absent) = unexplained(d, &on72, &p, "10.0.2", None);
        assert_eq!((extra.len(), absent.len()), (1, 1), "10.0.2 expects its own value at step 4");
        let bad = "[[deviation]]\ncase = \"g/a\"\ngic = [\"v3\"]\nqemu = \">=7.2\"\nwhat = \"w\"\nwhy = \"y\"\nseen = [{ step = 1, op = \"a\", event = \"missing\", qemu = \"7.2\" }]\n";
        assert!(parse(bad).unwrap_err().contains("`qemu`"), "a bare version is not a range");
    }

    #[test]
    fn migrated_entries_apply_to_runs_migrated_at_one_of_their_boundaries_alone() {
        let entry = |what: &str, migrated: &str| {
            format!(
                "[[deviation]]\ncase = \"g/a\"\ngic = [\"v3\"]\nqemu = \">=7.2\"\n{migrated}what = \"{what}\"\nwhy = \"y\"\nseen = [{{ step = 1, op = \"a\", event = \"missing\" }}]\n\n"
            )
        };
        let saved = "migrated = true\nafter_steps = [3, 4]\n";
        let both = parse(&(entry("migrated", saved) + &entry("plain", ""))).unwrap();
        let v3 = GicVersion::V3;
        let what = |devs, label, point| find(devs, "g/a", v3, label, point).map(|d: &Deviation| d.what.clone());
        assert_eq!(what(&both, "10.0.2-migrated", Some(4)).as_deref(), Some("migrated"));
        assert_eq!(what(&both, "10.0.2-migrated", Some(5)).as_deref(), Some("plain"), "not its boundary");
        assert_eq!(what(&both, "10.0.2-migrated", None).as_deref(), Some("plain"), "several boundaries");
        assert_eq!(what(&both, "10.0.2", None).as_deref(), Some("plain"));
        let plain = parse(&entry("plain", "")).unwrap();
        assert_eq!(what(&plain, "7.2.22-migrated", Some(3)).as_deref(), Some("plain"));
        let only_migrated = parse(&entry("migrated", saved)).unwrap();
        assert!(what(&only_migrated, "10.0.2", Some(3)).is_none(), "a migration entry is not the plain run's");
        for (bad, says) in [
            ("migrated = true\n", "both `migrated = true` and"),
            ("after_steps = [3]\n", "both `migrated = true` and"),
            ("migrated = true\nafter_steps = [4, 3]\n", "once, in increasing order"),
        ] {
            let e = parse(&entry("m", bad)).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn entries_of_a_hypervisor_apply_to_its_runs_only() {
        let t = "[[deviation]]\ncase = \"g/a\"\ngic = [\"v3\"]\nqemu = \">=7.2\"\nhypervisor = \"kvm >=6.1\"\nwhat = \"w\"\nwhy = \"y\"\nseen = [{ step = 1, op = \"a\", event = \"missing\" }]\n\n[[deviation]]\ncase = \"g/a\"\ngic = [\"v3\"]\nqemu = \">=7.2\"\nwhat = \"bare\"\nwhy = \"y\"\nseen = [{ step = 1, op = \"a\", event = \"missing\" }]\n";
        let devs = parse(t).unwrap();
        let v3 = GicVersion::V3;
        assert_eq!(find(&devs, "g/a", v3, "10.0.2-kvm-6.1.0-50-arm64", None).map(|d| d.what.as_str()), Some("w"));
        assert_eq!(find(&devs, "g/a", v3, "10.0.2-kvm-6.12.95+deb12-arm64", None).map(|d| d.what.as_str()), Some("w"));
        assert_eq!(find(&devs, "g/a", v3, "10.0.2", None).map(|d| d.what.as_str()), Some("bare"));
        assert!(find(&devs, "g/a", v3, "10.0.2-xen-4.17", None).is_none());
        assert!(find(&devs, "g/a", v3, "10.0.2-kvm-5.15.0", None).is_none());
    }

    #[test]
    fn overlapping_ranges() {
        assert!(ranges_overlap(">=7.2", ">=7.2"));
        assert!(ranges_overlap(">=7.2, <10.0", ">=9.0"));
        assert!(ranges_overlap("=7.2.22", ">=7.2, <=7.2.22"));
        assert!(ranges_overlap("<=8.0", ">=8.0"));
        assert!(!ranges_overlap("<8.0", ">=8.0"));
        assert!(!ranges_overlap(">=7.2, <10.0", ">=10.0.0"));
        assert!(!ranges_overlap("=7.2.22", "=10.0.2"));
        assert!(ranges_overlap(">7.2", "<7.2.1"), "7.2.0.1 lies in both");
        assert!(!ranges_overlap(">7.2", "<=7.2.0"));
    }

    #[test]
    fn version_ranges() {
        assert!(version_in(">=7.2, <10.0", "7.2.22"));
        assert!(!version_in(">=7.2, <10.0", "10.0.2"));
        assert!(version_in("<=10.0.2", "10.0.2"));
        assert!(version_in("=7.2", "7.2.0"));
        assert!(!version_in("=7.2", "7.2.1"));
    }

    #[test]
    fn parse_and_find() {
        let t = r#"
[[deviation]]
case = "lr/x"
gic = ["v2"]
qemu = ">=7.2"
what = "w"
why = "y"
seen = [{ step = 3, op = "guest ack", field = "INTID", value = 0 }]
"#;
        let d = parse(t).unwrap();
        assert!(find(&d, "lr/x", GicVersion::V2, "7.2.22", None).is_some());
        assert!(find(&d, "lr/x", GicVersion::V3, "7.2.22", None).is_none());
        assert!(find(&d, "lr/y", GicVersion::V2, "7.2.22", None).is_none());
    }

    #[test]
    fn locates_entries_and_their_parts() {
        let t = "# c\n\n[[deviation]]\ncase = \"lr/x\"\ngic = [\"v2\", \"v3\"]\nqemu = \">=7.2\"\nseen = [{ step = 3, op = \"a\", event = \"missing\" },\n  { step = 14, op = \"b\", cpu = 1, field = \"X\", absent = true }]\nwhat = \"w\"\nwhy = \"y\"\n";
        let d = parse_located(t).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].at, d[0].case_at), ((3, 1), (4, 8)));
        assert_eq!(d[0].gic_at, [(5, 8), (5, 14)]);
        assert_eq!(d[0].steps_at, [(7, 18), (8, 12)]);
        assert_eq!(d[0].deviation.seen[1].to_string(), "step 14 (b, cpu1): X absent");
        assert_eq!(d[0].deviation.seen[0].what, SeenKind::Missing);
        assert_eq!(parse(t).unwrap(), [d[0].deviation.clone()]);
    }

    #[test]
    fn skips_a_byte_order_mark() {
        let t = "\u{feff}[[deviation]]\ncase = \"lr/x\"\ngic = [\"v2\"]\nqemu = \">=7.2\"\nwhat = \"w\"\nwhy = \"y\"\nseen = [{ step = 1, op = \"a\", event = \"missing\" }]\n";
        assert_eq!(parse_located(t).unwrap()[0].case_at, (2, 8));
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v9\"]\nqemu=\">=1\"\nwhat=\"\"\nwhy=\"\"\nseen=[{step=1,op=\"a\",event=\"missing\"}]\n")
            .unwrap_err()
            .contains("v9"));
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\"7.2\"\nwhat=\"\"\nwhy=\"\"\nseen=[{step=1,op=\"a\",event=\"missing\"}]\n")
            .unwrap_err()
            .contains("comparator"));
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\">=7\"\nwhat=\"\"\nwhy=\"\"\nbogus=1\nseen=[{step=1,op=\"a\",event=\"missing\"}]\n")
            .unwrap_err()
            .starts_with("7:1: unknown field `bogus`"));
        assert_eq!(
            parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\", \"v9\"]\nqemu=\">=1\"\nwhat=\"\"\nwhy=\"\"\nseen=[{step=1,op=\"a\",event=\"missing\"}]\n").unwrap_err(),
            "3:12: deviation for a: `v9` is not v2, v3 or v4"
        );
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\"7.2\"\nwhat=\"\"\nwhy=\"\"\nseen=[{step=1,op=\"a\",event=\"missing\"}]\n")
            .unwrap_err()
            .starts_with("4:6: deviation for a: `7.2` in `7.2` needs a comparator"));
        assert!(parse("[[deviation]]\ncase=\"a\"\n").unwrap_err().starts_with("1:1: missing field `gic`"));
    }

    #[test]
    fn seen_items_are_one_kind_each_and_expressions_parse() {
        let head = "[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\">=1\"\nwhat=\"\"\nwhy=\"\"\n";
        let e = |seen: &str| parse(&format!("{head}seen = [{seen}]\n")).unwrap_err();
        assert!(e("").starts_with("7:8: deviation for a: `seen` is empty"), "{}", e(""));
        assert!(e("{ step = 2, op = \"x\", field = \"F\" }")
            .starts_with("7:18: deviation for a: `seen` item at step 2: give `field` with `value`"));
        assert!(e("{ step = 2, op = \"x\", event = \"gone\" }")
            .contains("event = \"gone\"; expected \"missing\" or \"unexpected\""));
        assert!(e("{ step = 2, op = \"x\", field = \"F\", value = \"=range(0\" }").contains("expression"));
        assert!(parse(&format!("{head}steps = [1]\nseen = [{{ step = 2, op = \"x\", event = \"missing\" }}]\n"))
            .unwrap_err()
            .contains("unknown field `steps`"));
    }

    #[test]
    fn a_run_is_explained_only_by_exactly_the_recorded_values() {
        use serde_json::json;
        let head = "[[deviation]]\ncase=\"a\"\ngic=[\"v3\"]\nqemu=\">=1\"\nwhat=\"\"\nwhy=\"\"\n";
        let d = &parse(&format!(
            "{head}seen = [{{ step = 6, op = \"read hcr\", field = \"EOIcount\", value = 1 }},\n  {{ step = 8, op = \"read elrsr\", field = \"LRs\", value = \"=range(1, num_lrs)\" }}]\n"
        ))
        .unwrap()[0];
        let p = Params::synthetic(GicVersion::V3, 4, 5, 5);
        let golden = [
            json!({"step":6,"op":"read hcr","EOIcount":0}),
            json!({"step":8,"op":"read elrsr","LRs":"=range(0, num_lrs)"}),
        ];
        let run = |eoicount: u64, lrs: Value| {
            [json!({"step":6,"op":"read hcr","EOIcount":eoicount}), json!({"step":8,"op":"read elrsr","LRs":lrs})]
        };
        let diffs = |r: &[Value], p: &Params| crate::judge::compare::compare(&golden, r, p).diffs;
        // As recorded: explained.
        let r = run(1, json!([1, 2, 3]));
        let dd = diffs(&r, &p);
        let (extra, absent) = unexplained(d, &dd, &p, "10.0.2", None);
        assert!(extra.is_empty() && absent.is_empty());
        // The recorded list follows the header too.
        let p16 = Params::synthetic(GicVersion::V3, 16, 5, 5);
        let r = run(1, json!((1..16).collect::<Vec<u64>>()));
        let dd = diffs(&r, &p16);
        let (extra, absent) = unexplained(d, &dd, &p16, "10.0.2", None);
        assert!(extra.is_empty() && absent.is_empty());
        // Another wrong value at a recorded step: not explained.
        let r = run(2, json!([1, 2, 3]));
        let dd = diffs(&r, &p);
        let (extra, absent) = unexplained(d, &dd, &p, "10.0.2", None);
        assert_eq!(extra.len(), 1);
        assert_eq!(absent.len(), 1);
        assert_eq!(absent[0].to_string(), "step 6 (read hcr): EOIcount = 1");
        // Only part of the deviation: the rest is reported as not seen.
        let r = run(0, json!([1, 2, 3]));
        let dd = diffs(&r, &p);
        let (extra, absent) = unexplained(d, &dd, &p, "10.0.2", None);
        assert!(extra.is_empty());
        assert_eq!(absent.len(), 1);
    }
}
