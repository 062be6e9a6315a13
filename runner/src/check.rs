//! Static checks of the suite's inputs: cases, goldens, deviations.
//!
//! `check` reports, each as `error: path:line:col: what is wrong; what was
//! expected`:
//! - a case that does not parse, or does not compile for one of its versions;
//! - a golden that does not parse ([`Golden::parse`]: invalid JSON, a key
//!   repeated in any object, a version named by two keys, an event without
//!   a positive integer `step`), names a step the case does not have, or
//!   gives no events for one of the case's versions; a golden without a case;
//! - a deviations file that does not parse, and entries whose case does not
//!   exist, whose `gic` names a version the case does not list, or whose
//!   `steps` are not steps of the case;
//! - a filter that matches no case ([`unmatched_filters`]).

use std::path::Path;

use crate::case::inputs::{self, nearest, unmatched_filters};
use crate::case::Case;
use crate::judge::golden::{describe_steps, Golden};

/// `list` (print each case with its versions and aim) and `check` (parse
/// every case, golden and the deviations file without running anything),
/// both limited to the cases whose name contains one of `filters` (all when
/// empty). Problems go to stderr, one `error: …` line each; `check` ends
/// with `gicv check: N cases, N problems` on stdout.
///
/// Returns the exit code: 0, or 2 when something is wrong, a filter that
/// matches no case included.
pub fn list(root: &Path, filters: &[String], check: bool) -> i32 {
    let cases = match inputs::discover(&root.join("cases")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let mut problems = unmatched_filters(&names, filters);
    let selected = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let mut checked = 0;
    for c in cases.iter().filter(|c| selected(&c.name)) {
        checked += 1;
        let case = match &c.parsed {
            Ok(case) => case,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if !check {
            let gics: Vec<&str> = case.gics.iter().map(|g| g.name()).collect();
            println!("{:<36} {:<10} {:<9} smp {}  {}", case.name, case.view.name(), gics.join(","), case.smp, case.aim);
        }
        let gp = inputs::golden_path(&root.join("expected"), &case.name);
        match Golden::load_for_case(&gp, &case.name, &steps(case)) {
            Ok(g) => {
                let missing = g.missing_versions(&case.gics);
                if !missing.is_empty() {
                    let m: Vec<&str> = missing.iter().map(|g| g.name()).collect();
                    problems.push(format!("{}: no events for {}", gp.display(), m.join(", ")));
                }
                problems
                    .extend(implementation_defined_literals(&g).into_iter().map(|m| format!("{}: {m}", gp.display())));
                for e in g.entries.iter().flat_map(|(_, ev)| ev).filter_map(serde_json::Value::as_object) {
                    let step = e.get("step").and_then(serde_json::Value::as_u64).unwrap_or(0);
                    problems.extend(
                        crate::judge::schema::problems(e)
                            .into_iter()
                            .map(|m| format!("{}: step {step}: {m}", gp.display())),
                    );
                }
            }
            Err(e) => problems.push(e),
        }
        for v in &case.gics {
            if let Err(e) = case.compile(*v) {
                problems.push(e.to_string());
            }
        }
    }
    let expected = root.join("expected");
    for p in inputs::orphan_goldens(&expected, &cases) {
        let rel = p.strip_prefix(&expected).unwrap_or(&p).to_string_lossy().replace('\\', "/");
        if selected(rel.strip_suffix(".json").unwrap_or(&rel)) {
            problems.push(format!("{}: golden without a case", p.display()));
        }
    }
    problems.extend(deviation_problems(root, &cases, &selected));
    for p in &problems {
        eprintln!("error: {p}");
    }
    if check {
        println!("gicv check: {checked} cases, {} problems", problems.len());
    }
    i32::from(!problems.is_empty()) * 2
}

/// Golden values written as literals although they depend on what the GIC
/// implements: an ELRSR list that is not empty (it lists every List
/// Register, however many there are), a GICv3 active-priority value (how
/// many ICH_AP*R<n>_EL2 there are depends on the preemption bits), an idle
/// running priority (0xff, or 0xf8 in a golden entry for GICv2). Each should be an expression
/// (`crate::case::expr`).
pub fn implementation_defined_literals(g: &Golden) -> Vec<String> {
    let mut out = Vec::new();
    for (versions, e) in g.entries.iter().flat_map(|(v, ev)| ev.iter().map(move |e| (v, e))) {
        // 0xf8 is the idle running priority of a GICv2 virtual CPU interface
        // with five priority bits; on GICv3/v4 idle is 0xff alone and 0xf8
        // may be an active interrupt's priority.
        let for_v2 = versions.is_empty() || versions.contains(&gic_case::GicVersion::V2);
        let step = e.get("step").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let literal = |k: &str| e.get(k).is_some_and(|v| crate::case::expr::source_of(v).is_none());
        let why = match e.get("op").and_then(serde_json::Value::as_str) {
            Some("read elrsr") if literal("LRs") && e["LRs"].as_array().is_some_and(|a| !a.is_empty()) => {
                Some("`LRs` lists empty List Registers, so it depends on how many there are; write it as \"=range(0, num_lrs)\" or \"=without(range(0, num_lrs), …)\"")
            }
            Some("read apr") if literal("ICH_AP0R<n>_EL2") || literal("ICH_AP1R<n>_EL2") => {
                Some("the number of ICH_AP*R<n>_EL2 depends on the preemption bits; write them as \"=apr(…)\"")
            }
            Some("guest read rpr")
                if literal("Priority")
                    && (e["Priority"].as_u64() == Some(0xff) || (for_v2 && e["Priority"].as_u64() == Some(0xf8))) =>
            {
                Some("the idle running priority is 0xff, or on GICv2 0xff or 0xf8; write it as \"=idle_priority\"")
            }
            _ => None,
        };
        if let Some(why) = why {
            out.push(format!("step {step}: {why}"));
        }
    }
    out
}

/// A case's step numbers.
fn steps(case: &Case) -> Vec<u16> {
    case.steps().into_iter().map(|(s, _)| s).collect()
}

/// Problems of `expected/deviations.toml`: it does not parse, or an entry
/// for a selected case name names a case, a version or a step that does
/// not exist (such an entry can never apply, or applies to less than it says).
fn deviation_problems(root: &Path, cases: &[inputs::CaseFile], selected: &dyn Fn(&str) -> bool) -> Vec<String> {
    let path = root.join("expected/deviations.toml");
    let entries = match crate::judge::deviations::load_located(&path) {
        Ok(e) => e,
        Err(e) => return vec![e],
    };
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let mut problems = Vec::new();
    for entry in entries.iter().filter(|e| selected(&e.deviation.case)) {
        let d = &entry.deviation;
        let at = |(l, c): (usize, usize)| format!("{}:{l}:{c}: deviation for {}", path.display(), d.case);
        let Some(cf) = cases.iter().find(|c| c.name == d.case) else {
            let near = nearest(&names, &d.case);
            let hint = if near.is_empty() { String::new() } else { format!("; did you mean {}?", near.join(", ")) };
            problems.push(format!(
                "{}: no case {} ({}); the entry can never apply: rename it with its case or delete it{hint}",
                at(entry.case_at),
                d.case,
                root.join("cases").join(format!("{}.case", d.case)).display(),
            ));
            continue;
        };
        let Ok(case) = &cf.parsed else { continue }; // the case's own error is reported with it
        for (g, pos) in d.gic.iter().zip(&entry.gic_at) {
            if !case.gics.iter().any(|v| v.name() == g) {
                let listed: Vec<&str> = case.gics.iter().map(|v| v.name()).collect();
                problems.push(format!(
                    "{}: gic {g} is not a version of the case (its `gic:` header lists {}); list only versions it runs on",
                    at(*pos),
                    listed.join(", ")
                ));
            }
        }
        // Two entries that could both apply to one run: which one explains
        // it would depend on their order in the file.
        for other in entries.iter().take_while(|o| !std::ptr::eq(*o, entry)) {
            let o = &other.deviation;
            let shared: Vec<&str> = d.gic.iter().filter(|g| o.gic.contains(g)).map(String::as_str).collect();
            let same_target = o.hypervisor == d.hypervisor
                && o.migrated == d.migrated
                && (!d.migrated || d.after_steps.iter().any(|p| o.after_steps.contains(p)));
            if o.case == d.case
                && same_target
                && !shared.is_empty()
                && crate::judge::deviations::ranges_overlap(&o.qemu, &d.qemu)
            {
                problems.push(format!(
                    "{}: it overlaps the entry at line {} for GIC {} (QEMU `{}` and `{}` share versions{}); one run \
                     would match either: merge them, or make the QEMU ranges disjoint",
                    at(entry.at),
                    other.at.0,
                    shared.join(", "),
                    o.qemu,
                    d.qemu,
                    if d.migrated { ", and `after_steps` a boundary" } else { "" }
                ));
            }
        }
        // A save/restore entry's boundaries: migration points on each of its versions.
        for g in d.gic.iter().filter_map(|g| gic_case::GicVersion::from_name(g)) {
            let points = case.compile(g).map_err(|e| e.to_string()).and_then(|i| crate::launch::migrate::points(&i));
            let Ok(points) = points else { continue }; // the case's own error is reported with it
            let bad: Vec<String> = d.after_steps.iter().filter(|p| !points.contains(p)).map(u16::to_string).collect();
            if !bad.is_empty() {
                let list: Vec<String> = points.iter().map(u16::to_string).collect();
                problems.push(format!(
                    "{}: `after_steps` {} not a migration point of the case on {} (its points: after steps {})",
                    at(entry.at),
                    bad.join(", ") + if bad.len() == 1 { " is" } else { " are" },
                    g.name(),
                    list.join(", ")
                ));
            }
        }
        let steps = steps(case);
        for (s, pos) in d.seen.iter().map(|x| x.step).zip(&entry.steps_at) {
            if !u16::try_from(s).is_ok_and(|s| steps.contains(&s)) {
                problems.push(format!(
                    "{}: step {s} is not a step of the case ({}); list steps whose events differ",
                    at(*pos),
                    describe_steps(&steps)
                ));
            }
        }
    }
    problems
}

/// `steps CASE`: the case's numbered steps, each with its line, its
/// statement as written and the op it compiles to on each GIC version
/// the case lists (one line per version when they differ). For case
/// authors: the step numbers goldens and deviations name.
///
/// # Errors
/// Exit 2 when no case has exactly that name (with the nearest names), or
/// the case does not parse (its located error).
pub fn steps_of(root: &Path, name: &str) -> Result<String, String> {
    let cases = inputs::discover(&root.join("cases"))?;
    let Some(cf) = cases.iter().find(|c| c.name == name) else {
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        let near = nearest(&names, name);
        let hint = if near.is_empty() { String::new() } else { format!("; did you mean {}?", near.join(", ")) };
        return Err(format!("no case named `{}`{hint}", crate::text::echo(name)));
    };
    let case = cf.parsed.as_ref().map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&cf.path).map_err(|e| format!("{}: {e}", cf.path.display()))?;
    let source: Vec<&str> = text.lines().collect();
    // step -> per version, the ops compiled for it.
    let mut ops: std::collections::BTreeMap<u16, Vec<(gic_case::GicVersion, String)>> = Default::default();
    for &v in &case.gics {
        for (step, op) in case.ops(v).map_err(|e| e.to_string())? {
            ops.entry(step).or_default().push((v, format!("{op:?}")));
        }
    }
    let mut out = format!("{} ({}; gic: {})\n", case.name, case.view.name(), {
        let g: Vec<&str> = case.gics.iter().map(|g| g.name()).collect();
        g.join(" ")
    });
    for (step, line) in case.steps() {
        let stmt = source.get(line - 1).map_or("", |l| l.split('#').next().unwrap_or("").trim());
        out.push_str(&format!("step {step:>3}  line {line:>3}  {stmt}\n"));
        let per = ops.get(&step).map(Vec::as_slice).unwrap_or_default();
        let first = per.first().map(|(_, o)| o.as_str());
        if per.iter().all(|(_, o)| Some(o.as_str()) == first) {
            if let Some(o) = first {
                out.push_str(&format!("            {o}\n"));
            }
        } else {
            for (v, o) in per {
                out.push_str(&format!("            {}: {o}\n", v.name()));
            }
        }
    }
    Ok(out)
}
