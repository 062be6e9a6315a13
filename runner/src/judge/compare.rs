//! Comparing a run's events with the golden, and rendering the difference
//! for a terminal: a field-level list first (what differs at which step),
//! then a line diff of the two event lists. Golden values written as
//! expressions (`"=…"`, [`crate::case::expr`]) are evaluated against the run's
//! header.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::case::expr::{self, Params};

/// One difference between expected and actual events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The same event (same step and op) with different field values.
    Field {
        /// Step of the event.
        step: u64,
        /// Its op.
        op: String,
        /// The PE that reported it (0 unless the event has `cpu`).
        cpu: u64,
        /// The field that differs.
        field: String,
        /// Golden value (JSON), or `None` if the golden lacks the field.
        expected: Option<String>,
        /// Run's value (JSON), or `None` if the run lacks the field.
        actual: Option<String>,
    },
    /// An expected event that did not happen.
    Missing {
        /// Its step.
        step: u64,
        /// The event (JSON).
        event: String,
    },
    /// An event the golden does not have.
    Unexpected {
        /// Its step.
        step: u64,
        /// The event (JSON).
        event: String,
    },
}

impl Difference {
    /// The step the difference is at.
    pub fn step(&self) -> u64 {
        match self {
            Difference::Field { step, .. } | Difference::Missing { step, .. } | Difference::Unexpected { step, .. } => {
                *step
            }
        }
    }
}

fn step_of(e: &Value) -> u64 {
    e.get("step").and_then(Value::as_u64).unwrap_or(0)
}

fn op_of(e: &Value) -> String {
    e.get("op").and_then(Value::as_str).unwrap_or("?").to_string()
}

/// An event's identity: (step, op, cpu), cpu 0 when absent. Goldens'
/// per-version overrides and deviations match events by it too.
pub fn key_of(e: &Value) -> (u64, String, u64) {
    (step_of(e), op_of(e), e.get("cpu").and_then(Value::as_u64).unwrap_or(0))
}

/// The result of comparing a run with its golden.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// The differences, in step order.
    pub diffs: Vec<Difference>,
    /// The golden's events as they apply to this run: each expression
    /// replaced by the run's value when it matches, else by its value for
    /// this run (a set or an expression that cannot be evaluated stays as
    /// written). For the line diff.
    pub resolved: Vec<Value>,
}

/// Compares event lists for a run with parameters `p` (its header).
/// Events are matched by (step, op, cpu) in order; matched events are
/// compared field by field.
pub fn compare(expected: &[Value], actual: &[Value], p: &Params) -> Comparison {
    let mut diffs = Vec::new();
    let mut resolved = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < expected.len() || j < actual.len() {
        match (expected.get(i), actual.get(j)) {
            (Some(e), Some(a)) if key_of(e) == key_of(a) => {
                resolved.push(field_diffs(e, a, p, &mut diffs));
                i += 1;
                j += 1;
            }
            (Some(e), Some(a)) => {
                // Resynchronise on step order: whichever is earlier is the odd one out.
                if step_of(e) <= step_of(a) && !actual[j..].iter().any(|x| key_of(x) == key_of(e)) {
                    diffs.push(Difference::Missing { step: step_of(e), event: e.to_string() });
                    resolved.push(evaluated(e, p));
                    i += 1;
                } else {
                    diffs.push(Difference::Unexpected { step: step_of(a), event: a.to_string() });
                    j += 1;
                }
            }
            (Some(e), None) => {
                diffs.push(Difference::Missing { step: step_of(e), event: e.to_string() });
                resolved.push(evaluated(e, p));
                i += 1;
            }
            (None, Some(a)) => {
                diffs.push(Difference::Unexpected { step: step_of(a), event: a.to_string() });
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    Comparison { diffs, resolved }
}

/// The value of expression `v` for this run, when it is one plain value
/// (not a set, and it can be evaluated); `None` for anything else.
fn plain_value(v: &Value, p: &Params) -> Option<Value> {
    expr::source_of(v)?;
    expr::value_for_run(v, p).ok()?.to_json()
}

/// `e` with each expression replaced by its value for this run, where it
/// has one plain value.
fn evaluated(e: &Value, p: &Params) -> Value {
    let mut out = e.clone();
    if let Some(o) = out.as_object_mut() {
        for v in o.values_mut() {
            if let Some(j) = plain_value(v, p) {
                *v = j;
            }
        }
    }
    out
}

/// How a golden value reads in a difference: as written, and for an
/// expression also what it means for this run.
fn shown(v: &Value, p: &Params) -> String {
    match expr::source_of(v) {
        None => v.to_string(),
        Some(_) => match expr::value_for_run(v, p) {
            Ok(x) => format!("{v} ({x} here)"),
            Err(e) => format!("{v} (cannot be evaluated for this run: {e})"),
        },
    }
}

/// Compares one matched pair field by field; returns the golden event
/// resolved for this run (see [`Comparison::resolved`]).
fn field_diffs(e: &Value, a: &Value, p: &Params, out: &mut Vec<Difference>) -> Value {
    let (Some(eo), Some(ao)) = (e.as_object(), a.as_object()) else { return e.clone() };
    let mut resolved = eo.clone();
    let keys: BTreeSet<&String> = eo.keys().chain(ao.keys()).collect();
    // Keep the golden's field order for readability, then fields only the run has.
    let mut ordered: Vec<&String> = eo.keys().collect();
    ordered.extend(keys.into_iter().filter(|k| !eo.contains_key(*k)));
    for k in ordered {
        let (ev, av) = (eo.get(k), ao.get(k));
        let same = match (ev, av) {
            (Some(x), Some(y)) => expr::golden_matches(x, y, p).unwrap_or(false),
            (x, y) => x == y,
        };
        if same {
            if let (Some(slot), Some(y)) = (resolved.get_mut(k), av) {
                *slot = y.clone();
            }
        } else {
            if let Some(j) = ev.and_then(|x| plain_value(x, p)) {
                resolved.insert(k.clone(), j);
            }
            out.push(Difference::Field {
                step: step_of(e),
                op: op_of(e),
                cpu: key_of(e).2,
                field: k.clone(),
                expected: ev.map(|x| shown(x, p)),
                actual: av.map(Value::to_string),
            });
        }
    }
    Value::Object(resolved)
}

/// Renders differences as indented report lines.
pub fn render(diffs: &[Difference]) -> String {
    let mut s = String::new();
    for d in diffs {
        let _ = match d {
            Difference::Field { step, op, cpu, field, expected, actual } => writeln!(
                s,
                "    step {step} ({op}{}): {field}: expected {}, got {}",
                if *cpu > 0 { format!(", cpu{cpu}") } else { String::new() },
                expected.as_deref().unwrap_or("(absent)"),
                actual.as_deref().unwrap_or("(absent)")
            ),
            Difference::Missing { step, event } => writeln!(s, "    step {step}: missing event {event}"),
            Difference::Unexpected { step, event } => writeln!(s, "    step {step}: unexpected event {event}"),
        };
    }
    s
}

/// A unified line diff of the two event lists (`-` golden, `+` run).
pub fn line_diff(expected: &[Value], actual: &[Value]) -> String {
    let e: String = expected.iter().map(|v| format!("{v}\n")).collect();
    let a: String = actual.iter().map(|v| format!("{v}\n")).collect();
    let diff = TextDiff::from_lines(&e, &a);
    let mut s = String::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => "-",
            ChangeTag::Insert => "+",
            ChangeTag::Equal => " ",
        };
        let _ = write!(s, "    {sign} {change}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p() -> Params {
        Params::synthetic(gic_case::GicVersion::V3, 4, 5, 5)
    }

    #[test]
    fn equal_lists_have_no_differences() {
        let e = vec![json!({"step":1,"op":"guest ack","INTID":27})];
        assert!(compare(&e, &e.clone(), &p()).diffs.is_empty());
    }

    #[test]
    fn field_level_difference_names_step_op_and_field() {
        let e = vec![json!({"step":3,"op":"guest ack","INTID":27})];
        let a = vec![json!({"step":3,"op":"guest ack","INTID":1023})];
        let d = compare(&e, &a, &p()).diffs;
        assert_eq!(
            d,
            vec![Difference::Field {
                step: 3,
                op: "guest ack".into(),
                cpu: 0,
                field: "INTID".into(),
                expected: Some("27".into()),
                actual: Some("1023".into())
            }]
        );
        assert_eq!(render(&d), "    step 3 (guest ack): INTID: expected 27, got 1023\n");
    }

    #[test]
    fn missing_and_unexpected_events_are_reported_in_step_order() {
        let e = vec![json!({"step":1,"op":"a"}), json!({"step":2,"op":"b"}), json!({"step":4,"op":"d"})];
        let a = vec![json!({"step":1,"op":"a"}), json!({"step":3,"op":"c"}), json!({"step":4,"op":"d"})];
        let d = compare(&e, &a, &p()).diffs;
        assert_eq!(
            d,
            vec![
                Difference::Missing { step: 2, event: r#"{"step":2,"op":"b"}"#.into() },
                Difference::Unexpected { step: 3, event: r#"{"step":3,"op":"c"}"#.into() },
            ]
        );
    }

    #[test]
    fn truncated_run_reports_every_missing_event() {
        let e = vec![json!({"step":1,"op":"a"}), json!({"step":2,"op":"b"})];
        let a = vec![json!({"step":1,"op":"a"})];
        assert_eq!(
            compare(&e, &a, &p()).diffs,
            vec![Difference::Missing { step: 2, event: r#"{"step":2,"op":"b"}"#.into() }]
        );
    }

    #[test]
    fn absent_and_extra_fields_are_differences() {
        let e = vec![json!({"step":1,"op":"read lr","State":"active","EOI":0})];
        let a = vec![json!({"step":1,"op":"read lr","State":"active","pINTID":5})];
        let r = render(&compare(&e, &a, &p()).diffs);
        assert_eq!(
            r,
            "    step 1 (read lr): EOI: expected 0, got (absent)\n    step 1 (read lr): pINTID: expected (absent), got 5\n"
        );
    }

    #[test]
    fn line_diff_marks_golden_and_run() {
        let e = vec![json!({"step":1,"op":"a","x":1})];
        let a = vec![json!({"step":1,"op":"a","x":2})];
        assert_eq!(
            line_diff(&e, &a),
            "    - {\"step\":1,\"op\":\"a\",\"x\":1}\n    + {\"step\":1,\"op\":\"a\",\"x\":2}\n"
        );
    }

    #[test]
    fn expressions_are_evaluated_for_the_run_and_shown_with_their_value() {
        let e = vec![json!({"step":2,"op":"read elrsr","LRs":"=range(0, num_lrs)"})];
        let four = vec![json!({"step":2,"op":"read elrsr","LRs":[0,1,2,3]})];
        assert!(compare(&e, &four, &p()).diffs.is_empty());
        let sixteen = Params::synthetic(gic_case::GicVersion::V3, 16, 5, 5);
        let c = compare(&e, &four, &sixteen);
        assert_eq!(
            render(&c.diffs),
            "    step 2 (read elrsr): LRs: expected \"=range(0, num_lrs)\" ([0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15] here), got [0,1,2,3]\n"
        );
        assert_eq!(c.resolved[0]["LRs"].as_array().map(Vec::len), Some(16));
        assert_eq!(compare(&e, &four, &p()).resolved, four);
    }

    #[test]
    fn differences_name_the_pe() {
        let e = vec![json!({"step":3,"cpu":1,"op":"phys ack","INTID":23})];
        let a = vec![json!({"step":3,"cpu":1,"op":"phys ack","INTID":1023})];
        assert_eq!(render(&compare(&e, &a, &p()).diffs), "    step 3 (phys ack, cpu1): INTID: expected 23, got 1023\n");
    }
}
