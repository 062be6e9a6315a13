//! Golden files: `expected/<group>/<name>.json`.
//!
//! A golden is a JSON object whose keys name GIC versions and whose values
//! are the expected event lists: `"all"` for every version the case runs
//! on, or a comma-separated list such as `"v3,v4"` or `"v2"`. A version
//! uses the entry that names it, else `"all"`. Every value in it must follow
//! from the spec sections the case cites; `--bless` writes what a run
//! produced only so that a person can check it against the spec.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use gic_case::GicVersion;
use serde_json::Value;

/// A parsed golden file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Golden {
    /// Entries in file order: (versions or empty for `all`, events).
    pub entries: Vec<(Vec<GicVersion>, Vec<Value>)>,
}

impl Golden {
    /// Parses golden text.
    ///
    /// # Errors
    /// Invalid JSON (with line and column), a key that is not `all` or a
    /// version list, or a value that is not a list of event objects.
    pub fn parse(text: &str) -> Result<Golden, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("{}:{}: {}", e.line(), e.column(), e))?;
        let Value::Object(obj) = v else {
            return Err("1:1: a golden is a JSON object: {\"all\": [events…]} or {\"v2\": […], \"v3,v4\": […]}".into());
        };
        let mut entries = Vec::new();
        for (k, val) in obj {
            let versions = if k == "all" {
                Vec::new()
            } else {
                k.split(',')
                    .map(|s| {
                        GicVersion::from_name(s.trim()).ok_or_else(|| format!("key `{k}`: `{s}` is not v2, v3 or v4"))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            let Value::Array(events) = val else {
                return Err(format!("key `{k}`: expected a list of events"));
            };
            if let Some(bad) = events.iter().find(|e| !e.is_object() || e.get("step").is_none()) {
                return Err(format!("key `{k}`: every event is an object with a `step`; found {bad}"));
            }
            entries.push((versions, events));
        }
        Ok(Golden { entries })
    }

    /// Reads and parses a golden file.
    ///
    /// # Errors
    /// I/O or parse errors, prefixed with the path.
    pub fn load(path: &Path) -> Result<Golden, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Golden::parse(&text).map_err(|e| format!("{}:{e}", path.display()))
    }

    /// The expected events for version `v`, if the golden covers it.
    pub fn for_version(&self, v: GicVersion) -> Option<&Vec<Value>> {
        self.entries
            .iter()
            .find(|(vs, _)| vs.contains(&v))
            .or_else(|| self.entries.iter().find(|(vs, _)| vs.is_empty()))
            .map(|(_, e)| e)
    }

    /// Builds a golden from per-version events, grouping identical lists;
    /// uses `all` when every version in `case_versions` has the same events.
    pub fn from_runs(case_versions: &[GicVersion], runs: &BTreeMap<GicVersion, Vec<Value>>) -> Golden {
        let mut groups: Vec<(Vec<GicVersion>, Vec<Value>)> = Vec::new();
        for (v, ev) in runs {
            match groups.iter_mut().find(|(_, e)| e == ev) {
                Some((vs, _)) => vs.push(*v),
                None => groups.push((vec![*v], ev.clone())),
            }
        }
        if groups.len() == 1 && case_versions.iter().all(|v| groups[0].0.contains(v)) {
            groups[0].0.clear();
        }
        Golden { entries: groups }
    }

    /// Renders the golden: one event per line, so diffs stay readable.
    pub fn render(&self) -> String {
        let mut s = String::from("{\n");
        for (i, (vs, events)) in self.entries.iter().enumerate() {
            let key = if vs.is_empty() {
                "all".to_string()
            } else {
                vs.iter().map(|v| v.name()).collect::<Vec<_>>().join(",")
            };
            let _ = writeln!(s, "  \"{key}\": [");
            for (j, e) in events.iter().enumerate() {
                let comma = if j + 1 < events.len() { "," } else { "" };
                let _ = writeln!(s, "    {e}{comma}");
            }
            let comma = if i + 1 < self.entries.len() { "," } else { "" };
            let _ = writeln!(s, "  ]{comma}");
        }
        s.push_str("}\n");
        s
    }

    /// Versions of `wanted` this golden gives no events for.
    pub fn missing_versions(&self, wanted: &[GicVersion]) -> Vec<GicVersion> {
        wanted.iter().copied().filter(|v| self.for_version(*v).is_none()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_entry_wins_over_all() {
        let g = Golden::parse(r#"{"all":[{"step":1,"op":"a"}],"v2":[{"step":1,"op":"b"}]}"#).unwrap();
        assert_eq!(g.for_version(GicVersion::V2).unwrap()[0]["op"], "b");
        assert_eq!(g.for_version(GicVersion::V3).unwrap()[0]["op"], "a");
    }

    #[test]
    fn rejects_bad_keys_and_events() {
        assert!(Golden::parse(r#"{"v5":[]}"#).unwrap_err().contains("`v5` is not"));
        assert!(Golden::parse(r#"{"all":[{"op":"x"}]}"#).unwrap_err().contains("with a `step`"));
        assert!(Golden::parse("{\n  \"all\": [,]\n}").unwrap_err().starts_with("2:"));
    }

    #[test]
    fn from_runs_groups_identical_versions_and_round_trips() {
        let a = vec![json!({"step":1,"op":"guest ack","INTID":27})];
        let b = vec![json!({"step":1,"op":"guest ack","INTID":1023})];
        let mut runs = BTreeMap::new();
        runs.insert(GicVersion::V2, b.clone());
        runs.insert(GicVersion::V3, a.clone());
        runs.insert(GicVersion::V4, a.clone());
        let g = Golden::from_runs(&GicVersion::ALL, &runs);
        let text = g.render();
        assert_eq!(
            text,
            "{\n  \"v2\": [\n    {\"step\":1,\"op\":\"guest ack\",\"INTID\":1023}\n  ],\n  \"v3,v4\": [\n    {\"step\":1,\"op\":\"guest ack\",\"INTID\":27}\n  ]\n}\n"
        );
        assert_eq!(Golden::parse(&text).unwrap(), g);
        let mut same = BTreeMap::new();
        same.insert(GicVersion::V3, a.clone());
        same.insert(GicVersion::V4, a);
        assert!(Golden::from_runs(&[GicVersion::V3, GicVersion::V4], &same).render().contains("\"all\""));
    }
}
