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
//! [`parse_located`] also gives where each entry's parts are in the file,
//! so that `check` can point at an entry whose case, versions or steps do
//! not exist. A UTF-8 byte-order mark at the start is ignored.

use std::cmp::Ordering;
use std::path::Path;

use gic_case::GicVersion;
use serde::Deserialize;
use toml::Spanned;

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
    /// Each `steps` element, in order.
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
    #[serde(default)]
    steps: Vec<Spanned<u64>>,
    what: String,
    why: String,
    #[serde(default)]
    upstream: String,
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
        out.push(Located {
            at: at(header),
            case_at: at(d.case.span().start),
            gic_at: d.gic.iter().map(|g| at(g.span().start)).collect(),
            steps_at: d.steps.iter().map(|s| at(s.span().start)).collect(),
            deviation: Deviation {
                case,
                gic: d.gic.into_iter().map(Spanned::into_inner).collect(),
                qemu: d.qemu.into_inner(),
                steps: d.steps.into_iter().map(Spanned::into_inner).collect(),
                what: d.what,
                why: d.why,
                upstream: d.upstream,
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
    fn locates_entries_and_their_parts() {
        let t = "# c\n\n[[deviation]]\ncase = \"lr/x\"\ngic = [\"v2\", \"v3\"]\nqemu = \">=7.2\"\nsteps = [3, 14]\nwhat = \"w\"\nwhy = \"y\"\n";
        let d = parse_located(t).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].at, d[0].case_at), ((3, 1), (4, 8)));
        assert_eq!(d[0].gic_at, [(5, 8), (5, 14)]);
        assert_eq!(d[0].steps_at, [(7, 10), (7, 13)]);
        assert_eq!(d[0].deviation.steps, [3, 14]);
        assert_eq!(parse(t).unwrap(), [d[0].deviation.clone()]);
    }

    #[test]
    fn skips_a_byte_order_mark() {
        let t = "\u{feff}[[deviation]]\ncase = \"lr/x\"\ngic = [\"v2\"]\nqemu = \">=7.2\"\nwhat = \"w\"\nwhy = \"y\"\n";
        assert_eq!(parse_located(t).unwrap()[0].case_at, (2, 8));
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v9\"]\nqemu=\">=1\"\nwhat=\"\"\nwhy=\"\"\n")
            .unwrap_err()
            .contains("v9"));
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\"7.2\"\nwhat=\"\"\nwhy=\"\"\n")
            .unwrap_err()
            .contains("comparator"));
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\">=7\"\nwhat=\"\"\nwhy=\"\"\nbogus=1\n")
            .unwrap_err()
            .starts_with("7:1: unknown field `bogus`"));
        assert_eq!(
            parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\", \"v9\"]\nqemu=\">=1\"\nwhat=\"\"\nwhy=\"\"\n").unwrap_err(),
            "3:12: deviation for a: `v9` is not v2, v3 or v4"
        );
        assert!(parse("[[deviation]]\ncase=\"a\"\ngic=[\"v2\"]\nqemu=\"7.2\"\nwhat=\"\"\nwhy=\"\"\n")
            .unwrap_err()
            .starts_with("4:6: deviation for a: `7.2` in `7.2` needs a comparator"));
        assert!(parse("[[deviation]]\ncase=\"a\"\n").unwrap_err().starts_with("1:1: missing field `gic`"));
    }
}
