//! Parsing the kernel's JSON lines.
//!
//! Line kinds: `{"header":{…}}` first, then events (`{"step":N,"op":…}`),
//! and one closing record: `{"end":"ok"}`, `{"crash":{…}}` or
//! `{"error":"…"}`; with `--migrate`, `{"checkpoint":n}` records where
//! the run was saved and restored (not events). Anything else is reported
//! as malformed output.

use serde_json::{Map, Value};

/// What one run printed, classified.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct KernelOutput {
    /// The header object, if printed.
    pub header: Option<Map<String, Value>>,
    /// Events in order.
    pub events: Vec<Value>,
    /// Whether the kernel printed its `end` record.
    pub ended: bool,
    /// The crash record, if any.
    pub crash: Option<Value>,
    /// A kernel `error` record (bad case image, wrong platform).
    pub error: Option<String>,
    /// Lines that are not valid records, with their 1-based line number.
    pub malformed: Vec<(usize, String)>,
    /// The migration points announced (`{"checkpoint":n}`), in order.
    pub checkpoints: Vec<u64>,
}

/// Classifies the kernel's output text.
pub fn parse(text: &str) -> KernelOutput {
    let mut out = KernelOutput::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => {
                out.malformed.push((i + 1, line.to_string()));
                continue;
            }
        };
        let Value::Object(obj) = v else {
            out.malformed.push((i + 1, line.to_string()));
            continue;
        };
        if let Some(Value::Object(h)) = obj.get("header") {
            out.header = Some(h.clone());
        } else if obj.get("end").is_some() {
            out.ended = true;
        } else if let Some(n) = obj.get("checkpoint").and_then(Value::as_u64).filter(|_| obj.len() == 1) {
            out.checkpoints.push(n);
        } else if let Some(c) = obj.get("crash") {
            out.crash = Some(c.clone());
        } else if let Some(e) = obj.get("error").filter(|_| !obj.contains_key("step")) {
            out.error = Some(e.as_str().map_or_else(|| e.to_string(), str::to_string));
        } else if obj.contains_key("step") {
            out.events.push(Value::Object(obj));
        } else {
            out.malformed.push((i + 1, line.to_string()));
        }
    }
    // Step order: a concurrent block's events are printed when CPU0 joins
    // it, after CPU0's own events of later steps. Sorting is stable, so the
    // events of one step keep the order they were printed in.
    out.events.sort_by_key(|e| e.get("step").and_then(Value::as_u64).unwrap_or(0));
    out
}

/// One-line description of a crash record for reports.
pub fn describe_crash(c: &Value) -> String {
    let g = |k: &str| c.get(k).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).unwrap_or_default();
    if g("kind") == "panic" {
        return format!("kernel panic on cpu{}: {}", g("cpu"), g("message"));
    }
    format!(
        "{} exception at EL{} on cpu{}: EC={} ({}), ESR={}, ELR={}, FAR={}",
        g("kind"),
        g("EL"),
        g("cpu"),
        g("EC"),
        g("class"),
        g("ESR"),
        g("ELR"),
        g("FAR")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_record_kind() {
        let text = concat!(
            "{\"header\":{\"schema\":1,\"gic\":\"v3\"}}\n",
            "{\"step\":1,\"op\":\"guest ack\",\"INTID\":27}\n",
            "not json\n",
            "[1,2]\n",
            "{\"step\":2,\"op\":\"lr\",\"error\":\"List Register not implemented\"}\n",
            "{\"checkpoint\":1}\n",
            "{\"end\":\"ok\"}\n",
        );
        let o = parse(text);
        assert_eq!(o.checkpoints, vec![1], "a migration point is no event");
        assert_eq!(o.header.unwrap()["gic"], "v3");
        assert_eq!(o.events.len(), 2, "an event with an error field is still an event");
        assert!(o.ended);
        assert_eq!(o.malformed, vec![(3, "not json".to_string()), (4, "[1,2]".to_string())]);
        assert!(o.crash.is_none() && o.error.is_none());
    }

    #[test]
    fn truncated_output_has_no_end() {
        let o = parse("{\"header\":{}}\n{\"step\":1,\"op\":\"guest ack\",\"IN");
        assert!(!o.ended);
        assert_eq!(o.events.len(), 0);
        assert_eq!(o.malformed.len(), 1);
    }

    #[test]
    fn crash_is_decoded() {
        let o = parse("{\"crash\":{\"EL\":2,\"kind\":\"synchronous\",\"cpu\":0,\"EC\":\"0x25\",\"class\":\"data abort at the same EL\",\"ESR\":\"0x96000010\",\"ELR\":\"0x40080000\",\"FAR\":\"0x800ffe8\"}}\n");
        let d = describe_crash(o.crash.as_ref().unwrap());
        assert_eq!(
            d,
            "synchronous exception at EL2 on cpu0: EC=0x25 (data abort at the same EL), ESR=0x96000010, ELR=0x40080000, FAR=0x800ffe8"
        );
    }
}
