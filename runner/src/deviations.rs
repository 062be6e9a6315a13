//! Known deviations of GIC models from the spec: `expected/deviations.toml`.
//!
//! ```toml
//! [[deviation]]
//! case = "lr/aliased-ack"          # case name
//! gic = ["v2"]                     # GIC versions affected
//! qemu = ">=7.2, <=10.0.2"         # QEMU versions affected (comparators: >=, >, <=, <, =)
//! steps = [3, 4]                   # steps whose events differ (empty: any)
//! what = "GICV_AIAR reads 0 while a Group 1 vINTID is pending"
//! why = "IHI 0048B 5.5 ... so the golden's INTID 27 is right"
//! upstream = "link or 'not reported'"
//! ```
//!
//! A failing run whose differences all fall in the listed steps is XFAIL;
//! a passing run with a matching entry is XPASS (the entry is stale).

use std::cmp::Ordering;
use std::path::Path;

use gic_case::GicVersion;
use serde::Deserialize;

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
    /// Steps whose events differ; empty means any.
    #[serde(default)]
    pub steps: Vec<u64>,
    /// What differs from the spec.
    pub what: String,
    /// Why the golden (the spec) is right.
    pub why: String,
    /// Upstream report, if any.
    #[serde(default)]
    pub upstream: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Deviation>,
}

/// Parses the deviations file.
///
/// # Errors
/// TOML errors (with location), unknown GIC versions, bad version ranges.
pub fn parse(text: &str) -> Result<Vec<Deviation>, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
    for d in &f.deviation {
        for g in &d.gic {
            if GicVersion::from_name(g).is_none() {
                return Err(format!("deviation for {}: `{g}` is not v2, v3 or v4", d.case));
            }
        }
        parse_range(&d.qemu).map_err(|e| format!("deviation for {}: {e}", d.case))?;
    }
    Ok(f.deviation)
}

/// Loads the deviations file; a missing file means no deviations.
///
/// # Errors
/// As [`parse`], prefixed with the path.
pub fn load(path: &Path) -> Result<Vec<Deviation>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => parse(&t).map_err(|e| format!("{}: {e}", path.display())),
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

/// The deviation that applies to a run, if any.
pub fn find<'a>(devs: &'a [Deviation], case: &str, gic: GicVersion, qemu_version: &str) -> Option<&'a Deviation> {
    devs.iter().find(|d| d.case == case && d.gic.iter().any(|g| g == gic.name()) && version_in(&d.qemu, qemu_version))
}

#[cfg(test)]
mod tests {
    use super::*;

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
steps = [3]
what = "w"
why = "y"
"#;
        let d = parse(t).unwrap();
        assert!(find(&d, "lr/x", GicVersion::V2, "7.2.22").is_some());
        assert!(find(&d, "lr/x", GicVersion::V3, "7.2.22").is_none());
        assert!(find(&d, "lr/y", GicVersion::V2, "7.2.22").is_none());
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v9\"]\nqemu=\">=1\"\nwhat=\"\"\nwhy=\"\"\n")
            .unwrap_err()
            .contains("v9"));
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\"7.2\"\nwhat=\"\"\nwhy=\"\"\n")
            .unwrap_err()
            .contains("comparator"));
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\">=7\"\nwhat=\"\"\nwhy=\"\"\nbogus=1\n").is_err());
    }
}
