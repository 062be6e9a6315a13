//! Register names as a case writes them: lookup in the register table by
//! name and numbered family (`ICH_LR<n>_EL2`, `GICH_LR<n>`), and the
//! suggestions an unknown name gets.

use super::*;

/// A numbered family of register names, `prefix<n>suffix` for `n` in
/// `0..count`: the table's indexed names (`GICH_LR<n>`) and system
/// registers numbered before `_EL` (`ICH_LR<n>_EL2`, `ICV_BPR<n>_EL1`).
pub(super) struct RegFamily {
    pub(super) prefix: &'static str,
    pub(super) suffix: &'static str,
    pub(super) count: u32,
}

impl RegFamily {
    pub(super) fn all() -> Vec<RegFamily> {
        let mut fams: Vec<(RegFamily, u32)> =
            regs::indexed_names().map(|(prefix, count)| (RegFamily { prefix, suffix: "", count }, count)).collect();
        for (name, _) in regs::known_names().filter(|(_, indexed)| !indexed) {
            let Some(el) = name.rfind("_EL") else { continue };
            let (head, suffix) = name.split_at(el);
            let prefix = head.trim_end_matches(|c: char| c.is_ascii_digit());
            let Ok(n) = head[prefix.len()..].parse::<u32>() else { continue };
            match fams.iter_mut().find(|(f, _)| f.prefix == prefix && f.suffix == suffix) {
                Some((f, members)) => {
                    f.count = f.count.max(n + 1);
                    *members += 1;
                }
                None => fams.push((RegFamily { prefix, suffix, count: n + 1 }, 1)),
            }
        }
        // A family is `0..count` with every member present, at least two.
        fams.into_iter().filter(|(f, members)| f.count >= 2 && *members == f.count).map(|(f, _)| f).collect()
    }

    /// `GICH_LR<n> (n = 0-63)`, or the member `n` if it exists.
    pub(super) fn show(&self, n: Option<u32>) -> String {
        match n {
            Some(n) if n < self.count => format!("{}{n}{}", self.prefix, self.suffix),
            _ => format!("{}<n>{} (n = 0-{})", self.prefix, self.suffix, self.count - 1),
        }
    }
}

/// Splits a register name into its stem and index: the digits right before
/// `_EL<x>`, or at the end (`ICH_LR17_EL2` → (`ICH_LR_EL2`, 17)).
pub(super) fn split_index(name: &str) -> (String, Option<u32>) {
    let (head, suffix) = match name.rfind("_EL") {
        Some(el) if name[el + 3..].bytes().all(|b| b.is_ascii_digit()) => name.split_at(el),
        _ => (name, ""),
    };
    let stem = head.trim_end_matches(|c: char| c.is_ascii_digit());
    let n = head[stem.len()..].parse().ok();
    (format!("{stem}{suffix}"), n)
}

/// Known register names nearest to an unknown one, best first, at most 3.
pub(super) fn suggest_registers(typed: &str) -> Vec<String> {
    use strsim::normalized_damerau_levenshtein as similarity;
    /// Least similarity (1 - edits / length) of a suggestion.
    const CUTOFF: f64 = 0.75;
    /// Suggestions are at most this much less similar than the best one.
    const WINDOW: f64 = 0.05;
    if typed.chars().count() > 64 {
        return Vec::new();
    }
    let up = typed.to_ascii_uppercase();
    if let Some((name, _)) = regs::known_names().find(|(n, indexed)| !indexed && *n == up) {
        return vec![name.to_string()];
    }
    let fams = RegFamily::all();
    // The right name with an index out of range, missing or with leading zeros.
    for f in &fams {
        if let Some(mid) = up.strip_prefix(f.prefix).and_then(|r| r.strip_suffix(f.suffix)) {
            if mid.bytes().all(|b| b.is_ascii_digit()) {
                return vec![f.show(mid.parse().ok())];
            }
        }
    }
    let mut scored: Vec<(f64, String)> = Vec::new();
    for (name, _) in regs::known_names().filter(|(_, indexed)| !indexed) {
        let mut score = similarity(&up, name);
        // `ICH_HCR` for `ICH_HCR_EL2`.
        if let (false, Some(el)) = (up.contains("_EL"), name.rfind("_EL")) {
            score = score.max(similarity(&up, &name[..el]));
        }
        scored.push((score, name.to_string()));
    }
    let (stem, n) = split_index(&up);
    for f in &fams {
        scored.push((similarity(&stem, &format!("{}{}", f.prefix, f.suffix)), f.show(n)));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let best = scored.first().map_or(0.0, |s| s.0);
    let mut out: Vec<String> = Vec::new();
    for (score, name) in scored {
        if score < CUTOFF || score < best - WINDOW || out.len() == 3 {
            break;
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `a`, `a or b`, `a, b or c`.
pub(super) fn one_of(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
