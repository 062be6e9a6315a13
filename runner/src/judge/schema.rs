//! What an event may hold, by `op`: the field names the kernel prints and
//! their JSON types (README, "Events"). `cargo xtask check` holds every
//! golden event to it, so a misspelt key, a field of another op, a value of
//! the wrong type or a missing field is an error before any run, not a
//! golden that can never be met (or, worse, one that is met by accident).
//!
//! A value written as an expression (`"=…"`, [`crate::case::expr`]) may
//! stand for any type.

use serde_json::{Map, Value};

use crate::case::expr;

/// A field's JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A non-negative integer.
    Int,
    /// `true` / `false`.
    Bool,
    /// A register value: a string `0x…` in lower-case hex.
    Hex,
    /// Any string (a name, a state, a result).
    Str,
    /// A list (of numbers or hex strings).
    List,
    /// An object (decoded fields).
    Object,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Int => "a number",
            Ty::Bool => "true or false",
            Ty::Hex => "a hex string (\"0x…\")",
            Ty::Str => "a string",
            Ty::List => "a list",
            Ty::Object => "an object",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            Ty::Int => v.as_u64().is_some(),
            Ty::Bool => v.is_boolean(),
            Ty::Hex => v.as_str().is_some_and(|s| {
                s.strip_prefix("0x")
                    .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
            }),
            Ty::Str => v.is_string(),
            Ty::List => v.is_array(),
            Ty::Object => v.is_object(),
        }
    }
}

/// One field: name, type, and whether every event of its op has it.
type Field = (&'static str, Ty, bool);

use Ty::{Bool, Hex, Int, List, Object, Str};

const ACK: &[Field] = &[("INTID", Int, true), ("CPUID", Int, false)];
const HCR: &[Field] = &[
    ("En", Int, true),
    ("UIE", Int, true),
    ("LRENPIE", Int, true),
    ("NPIE", Int, true),
    ("VGrp0EIE", Int, true),
    ("VGrp0DIE", Int, true),
    ("VGrp1EIE", Int, true),
    ("VGrp1DIE", Int, true),
    ("EOIcount", Int, true),
];
const VMCR: &[Field] = &[
    ("VENG0", Int, true),
    ("VENG1", Int, true),
    ("VAckCtl", Int, true),
    ("VFIQEn", Int, true),
    ("VCBPR", Int, true),
    ("VEOIM", Int, true),
    ("VBPR1", Int, true),
    ("VBPR0", Int, true),
    ("VPMR", Int, true),
];
const MISR: &[Field] = &[
    ("EOI", Int, true),
    ("U", Int, true),
    ("LRENP", Int, true),
    ("NP", Int, true),
    ("VGrp0E", Int, true),
    ("VGrp0D", Int, true),
    ("VGrp1E", Int, true),
    ("VGrp1D", Int, true),
];
const VTR: &[Field] = &[("ListRegs", Int, true), ("PREbits", Int, true), ("PRIbits", Int, true)];
const LR: &[Field] = &[
    ("LR", Int, true),
    ("State", Str, true),
    ("HW", Int, true),
    ("Group", Int, true),
    ("Priority", Int, true),
    ("vINTID", Int, true),
    ("pINTID", Int, false),
    ("EOI", Int, false),
    ("CPUID", Int, false),
    ("RES0", Hex, true),
];
const READ: &[Field] =
    &[("reg", Str, true), ("value", Hex, true), ("byte", Int, false), ("half", Str, false), ("of", Int, false)];

/// The fields of every op that prints an event (README, "Events").
const OPS: &[(&str, &[Field])] = &[
    ("phys ack", ACK),
    ("guest ack", ACK),
    ("guest read hppir", ACK),
    ("read phys active", &[("INTID", Int, true), ("active", Bool, true), ("of", Int, false)]),
    ("read phys pending", &[("INTID", Int, true), ("pending", Bool, true), ("of", Int, false)]),
    ("read lr", LR),
    ("read hcr", HCR),
    ("read vmcr", VMCR),
    ("read misr", MISR),
    ("read vtr", VTR),
    ("read eisr", &[("LRs", List, true)]),
    ("read elrsr", &[("LRs", List, true)]),
    ("read apr", &[("ICH_AP0R<n>_EL2", List, false), ("ICH_AP1R<n>_EL2", List, false), ("GICH_APR", Hex, false)]),
    ("read", READ),
    ("guest read", READ),
    ("guest read rpr", &[("Priority", Int, true)]),
    ("guest read pmr", &[("Priority", Int, true)]),
    ("guest wait virq", &[("result", Str, true)]),
    ("wait maintenance", &[("result", Str, true), ("INTID", Int, false), ("MISR", Object, false)]),
    ("wait irq", &[("result", Str, true), ("INTID", Int, false)]),
    (
        "trap",
        &[("EC", Hex, true), ("reg", Str, true), ("dir", Str, true), ("value", Hex, false), ("posted", List, false)],
    ),
    ("inject sgi", &[("LR", Int, false), ("result", Str, false), ("vINTID", Int, false), ("source", Int, false)]),
    ("serve", &[("INTID", Int, true)]),
    ("serve done", &[("maintenance", Int, true), ("queued", Int, true), ("result", Str, true)]),
    ("vpe nonresident", &[("vPE", Int, true), ("PendingLast", Int, true)]),
    ("compare", &[("equal", Bool, true)]),
];

/// Keys every event may have besides its op's fields.
const COMMON: [&str; 3] = ["step", "op", "cpu"];

/// What is wrong with golden event `e` against the schema, one message per
/// problem (empty when it fits): an op no statement prints, a field its op
/// does not have (with the nearest one), a value of the wrong type, a field
/// every event of the op has that is missing. `cpu` must be a number.
pub fn problems(e: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(op) = e.get("op").and_then(Value::as_str) else {
        return vec!["no `op` (every event names the statement that printed it)".into()];
    };
    let Some((_, fields)) = OPS.iter().find(|(name, _)| *name == op) else {
        let names: Vec<&str> = OPS.iter().map(|(n, _)| *n).collect();
        return vec![format!("`op` {op:?} is no statement's event; known: {}", names.join(", "))];
    };
    if e.get("cpu").is_some_and(|c| c.as_u64().is_none()) {
        out.push("`cpu` must be a number".into());
    }
    for (k, v) in e {
        if COMMON.contains(&k.as_str()) {
            continue;
        }
        let Some((_, ty, _)) = fields.iter().find(|(name, _, _)| name == k) else {
            let known: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
            // The closest name, transpositions counting as one edit (VPRM → VPMR).
            let near = known
                .iter()
                .map(|n| (strsim::damerau_levenshtein(&n.to_ascii_lowercase(), &k.to_ascii_lowercase()), n))
                .filter(|(d, _)| *d <= 2)
                .min_by_key(|(d, _)| *d)
                .map(|(_, n)| n);
            let hint = near.map_or(String::new(), |n| format!("; did you mean `{n}`?"));
            out.push(format!("`{op}` events have no field `{k}`{hint} (its fields: {})", known.join(", ")));
            continue;
        };
        if expr::source_of(v).is_none() && !ty.accepts(v) {
            out.push(format!("`{op}` field `{k}` must be {}, found {v}", ty.name()));
        }
    }
    for (name, _, required) in fields.iter() {
        if *required && !e.contains_key(*name) {
            out.push(format!("`{op}` events always have `{name}`; it is missing"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn events_fit_their_op() {
        assert!(problems(&ev(r#"{"step":1,"op":"phys ack","INTID":27}"#)).is_empty());
        assert!(problems(&ev(r#"{"step":1,"op":"read","reg":"GICD_IROUTER48","half":"low","value":"0x80000000"}"#))
            .is_empty());
        assert!(problems(&ev(r#"{"step":1,"op":"read elrsr","LRs":"=range(0, num_lrs)"}"#)).is_empty());
        let p = problems(&ev(
            r#"{"step":9,"op":"read lr","LR":0,"State":"invalid","HW":1,"Group":0,"Prority":160,"vINTID":40,"pINTID":40}"#,
        ));
        assert_eq!(
            p,
            [
                "`read lr` events have no field `Prority`; did you mean `Priority`? (its fields: LR, State, HW, Group, Priority, vINTID, pINTID, EOI, CPUID, RES0)",
                "`read lr` events always have `Priority`; it is missing",
                "`read lr` events always have `RES0`; it is missing",
            ]
        );
        let p = problems(&ev(r#"{"step":2,"op":"read phys active","INTID":"27","active":1}"#));
        assert_eq!(
            p,
            [
                "`read phys active` field `INTID` must be a number, found \"27\"",
                "`read phys active` field `active` must be true or false, found 1",
            ]
        );
        assert!(problems(&ev(r#"{"step":1,"op":"read","reg":"X","value":"0XFF"}"#))[0].contains("hex string"));
        assert!(problems(&ev(r#"{"step":1,"op":"phys ak","INTID":1}"#))[0].contains("is no statement's event"));
    }
}
