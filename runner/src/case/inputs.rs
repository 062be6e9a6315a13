//! A suite's inputs on disk, and choosing among them: the case files under
//! `cases/` (found and parsed), where each case's golden lives under
//! `expected/`, goldens left without a case, and the name filters of
//! `run`, `bless`, `list` and `check`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::{Case, CaseError};

/// A case file found on disk.
#[derive(Debug)]
pub struct CaseFile {
    /// `group/name`.
    pub name: String,
    /// Path of the `.case` file.
    pub path: PathBuf,
    /// Parsed case, or the located error.
    pub parsed: Result<Case, CaseError>,
}

/// Finds every `*.case` under `cases_dir`, sorted by name, each parsed.
///
/// # Errors
/// When the directory cannot be read.
pub fn discover(cases_dir: &Path) -> Result<Vec<CaseFile>, String> {
    let mut files = Vec::new();
    walk(cases_dir, "case", &mut files).map_err(|e| format!("{}: {e}", cases_dir.display()))?;
    files.sort();
    Ok(files
        .into_iter()
        .map(|path| {
            let name = rel_name(cases_dir, &path, "case");
            let parsed = fs::read_to_string(&path)
                .map_err(|e| CaseError { file: path.clone(), line: 1, col: 1, msg: format!("cannot read: {e}") })
                .and_then(|text| super::parse(&path, &name, &text));
            CaseFile { name, path, parsed }
        })
        .collect())
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, ext, out)?;
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    Ok(())
}

fn rel_name(base: &Path, p: &Path, ext: &str) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p).to_string_lossy().replace('\\', "/");
    rel.strip_suffix(&format!(".{ext}")).unwrap_or(&rel).to_string()
}

/// Goldens with no case (`expected/x/y.json` without `cases/x/y.case`).
pub fn orphan_goldens(expected_dir: &Path, cases: &[CaseFile]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if walk(expected_dir, "json", &mut files).is_err() {
        return Vec::new();
    }
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    files.sort();
    files.into_iter().filter(|p| !names.contains(rel_name(expected_dir, p, "json").as_str())).collect()
}

/// Path of a case's golden.
pub fn golden_path(expected_dir: &Path, name: &str) -> PathBuf {
    expected_dir.join(format!("{name}.json"))
}

/// Whether case `name` is selected by `filters`: it contains one of them,
/// or there are none.
pub fn matches_filter(name: &str, filters: &[String]) -> bool {
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

/// One message per filter that matches no case name, in filter order:
/// `no case matches `lr/bsic``, followed by `; did you mean lr/basic-group0,
/// lr/basic-group1?` when some names come close. A filter matches a name
/// that contains it (as `run`, `bless`, `list` and `check` select cases);
/// the empty filter matches every name, and no filters select everything,
/// so both give no message. Callers print each as an error and exit 2.
pub fn unmatched_filters(names: &[&str], filters: &[String]) -> Vec<String> {
    filters
        .iter()
        .filter(|f| !names.iter().any(|n| n.contains(f.as_str())))
        .map(|f| {
            let near = nearest(names, f);
            if near.is_empty() {
                format!("no case matches `{f}`")
            } else {
                format!("no case matches `{f}`; did you mean {}?", near.join(", "))
            }
        })
        .collect()
}

/// Up to three of `names` closest to `word`, closest first, if any is close:
/// within a quarter of `word`'s length (at least 1) of edits of some part of
/// the name, as a filter matches part of a name. Ties go to the name closer
/// as a whole, then to the first in order.
pub(crate) fn nearest<'a>(names: &[&'a str], word: &str) -> Vec<&'a str> {
    let limit = (word.chars().count() / 4).max(1);
    let mut scored: Vec<(usize, usize, &str)> = names
        .iter()
        .map(|n| (substring_distance(word, n), strsim::levenshtein(word, n), *n))
        .filter(|(d, _, _)| *d <= limit)
        .collect();
    scored.sort();
    let best = scored.first().map_or(0, |s| s.0);
    scored.into_iter().take_while(|s| s.0 == best).take(3).map(|s| s.2).collect()
}

/// Fewest single-character edits (insert, delete, substitute) that turn
/// `pattern` into some substring of `text` (Sellers' algorithm).
fn substring_distance(pattern: &str, text: &str) -> usize {
    let t: Vec<char> = text.chars().collect();
    let mut prev = vec![0; t.len() + 1];
    for (i, pc) in pattern.chars().enumerate() {
        let mut cur = vec![i + 1; t.len() + 1];
        for (j, tc) in t.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(pc != *tc)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev.into_iter().min().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_distance_counts_edits_to_the_closest_part() {
        assert_eq!(substring_distance("basic", "lr/basic-group0"), 0);
        assert_eq!(substring_distance("lr/bsic", "lr/basic-group0"), 1);
        assert_eq!(substring_distance("spi-eio", "hw/spi-eoi"), 1); // "spi-eo"
        assert_eq!(substring_distance("zzz", "lr/basic"), 3);
        assert_eq!(substring_distance("", "lr/basic"), 0);
    }

    #[test]
    fn nearest_prefers_close_parts_then_close_wholes() {
        let names = ["lr/basic-group1", "lr/basic-group0", "lr/basic", "hw/basic-spi"];
        assert_eq!(nearest(&names, "lr/basc"), ["lr/basic", "lr/basic-group0", "lr/basic-group1"]);
        assert!(nearest(&names, "timer").is_empty());
    }
}
