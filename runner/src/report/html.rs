//! The HTML conformance matrix: one static page from a run's
//! [`Results`], opened from the file system (no server, no network, no
//! script needed to read it).
//!
//! Layout: a summary per model (GIC version × QEMU version: counts of each
//! outcome and the share of judged runs that conform), a summary per area
//! (the cases' first path component), the results that differ between QEMU
//! versions, then the matrix: rows are cases grouped by area, with their
//! aim and spec sections; columns are GIC version × QEMU version (the QEMUs
//! of one GIC version side by side, so a change between versions is seen
//! at a glance); each cell is the outcome, and for anything but PASS a click
//! opens the deviation text or the field-level diff, the reason of a SKIP,
//! and the log directory.
//!
//! Cells carry `data-case`, `data-gic`, `data-qemu` and `data-outcome`, so
//! tools (and [`crate::report::browser::check_dom`]) can read the matrix back.
//! Templates are [maud](https://maud.lambda.xyz), which escapes all text.

use std::collections::{BTreeMap, BTreeSet};

use gic_case::proto::Outcome;
use gic_case::GicVersion;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::report::results::{Results, StoredRun};
use crate::text;

/// The background colour of each outcome's cells (sRGB), used by the page's
/// style sheet and by the screenshot check.
pub const COLOURS: [(Outcome, [u8; 3]); 9] = [
    (Outcome::Pass, [0xc8, 0xe6, 0xc9]),
    (Outcome::Fail, [0xef, 0x9a, 0x9a]),
    (Outcome::XFail, [0xff, 0xe0, 0x82]),
    (Outcome::XPass, [0xce, 0x93, 0xd8]),
    (Outcome::Skip, [0xe0, 0xe0, 0xe0]),
    (Outcome::Crash, [0xe5, 0x73, 0x73]),
    (Outcome::Timeout, [0xff, 0xab, 0x91]),
    (Outcome::Restore, [0xd9, 0xa0, 0xe6]),
    (Outcome::Error, [0xb0, 0xbe, 0xc5]),
];

/// The colour of `o`'s cells.
pub fn colour(o: Outcome) -> [u8; 3] {
    COLOURS.iter().find(|(x, _)| *x == o).map_or([0xff; 3], |(_, c)| *c)
}

/// What each outcome means, for the legend.
fn meaning(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "the events equal the spec-derived golden",
        Outcome::Fail => "the events differ from the golden, and no known deviation explains it",
        Outcome::XFail => "known deviation: differs from the golden exactly as recorded in deviations.toml",
        Outcome::XPass => "a recorded deviation was not seen: the model changed, update deviations.toml",
        Outcome::Skip => "the case does not apply (GIC version, or what this GIC implements)",
        Outcome::Crash => "an exception, a kernel panic or QEMU dying",
        Outcome::Timeout => "the run did not finish within its time limit",
        Outcome::Restore => "--migrate: the saved machine did not come back in a fresh QEMU",
        Outcome::Error => "the case or its golden could not be used",
    }
}

fn class(o: Outcome) -> String {
    o.name().to_ascii_lowercase()
}

/// A column: a GIC version on one QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    /// GIC version.
    pub gic: GicVersion,
    /// Index of the QEMU in [`Results::qemus`].
    pub qemu: usize,
}

/// The matrix's columns: every GIC version that has a result, each with
/// every QEMU of the run in the run's order.
pub fn columns(r: &Results) -> Vec<Column> {
    let gics: BTreeSet<GicVersion> = r.qemus.iter().flat_map(|q| q.runs.iter().filter_map(StoredRun::gic)).collect();
    gics.into_iter().flat_map(|gic| (0..r.qemus.len()).map(move |qemu| Column { gic, qemu })).collect()
}

/// The result shown in `col` for `case`: its run on that GIC version, or
/// the case's result for no GIC version (an unusable case or golden).
pub fn cell<'a>(r: &'a Results, case: &str, col: Column) -> Option<&'a StoredRun> {
    let runs = &r.qemus[col.qemu].runs;
    runs.iter()
        .find(|s| s.case == case && s.gic() == Some(col.gic))
        .or_else(|| runs.iter().find(|s| s.case == case && s.gic.is_none()))
}

/// Every case (or golden) that has a result, in name order, by area.
fn areas(r: &Results) -> BTreeMap<String, Vec<String>> {
    let names: BTreeSet<&str> = r.qemus.iter().flat_map(|q| q.runs.iter().map(|s| s.case.as_str())).collect();
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in names {
        m.entry(area_of(n).to_string()).or_default().push(n.to_string());
    }
    m
}

/// A case's area: the first component of its name (`lr/basic` → `lr`).
pub fn area_of(case: &str) -> &str {
    case.split('/').next().unwrap_or(case)
}

/// A fragment id for a case's row.
pub fn row_id(case: &str) -> String {
    let id: String = case.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("case-{id}")
}

#[derive(Default)]
struct Tally {
    counts: BTreeMap<Outcome, usize>,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        *self.counts.entry(o).or_default() += 1;
    }
    fn n(&self, o: Outcome) -> usize {
        self.counts.get(&o).copied().unwrap_or(0)
    }
    /// Runs that were judged against a golden (all but SKIP).
    fn judged(&self) -> usize {
        self.counts.iter().filter(|(o, _)| **o != Outcome::Skip).map(|(_, n)| n).sum()
    }
    fn conform(&self) -> Markup {
        let j = self.judged();
        if j == 0 {
            return html! { span.na { "–" } };
        }
        let pct = self.n(Outcome::Pass) as f64 * 100.0 / j as f64;
        html! { (self.n(Outcome::Pass)) "/" (j) " (" (format!("{pct:.0}")) "%)" }
    }
}

fn col_label(r: &Results, c: Column) -> String {
    format!("GIC{} · QEMU {}", c.gic.name(), r.qemus[c.qemu].version)
}

const CSS: &str = r#"
body { font: 13px/1.35 system-ui, sans-serif; margin: 1.2em 1.6em; color: #222; }
h1 { font-size: 20px; margin: 0 0 .3em; } h2 { font-size: 15px; margin: 1.4em 0 .4em; }
p.meta { margin: .2em 0; color: #555; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; }
th { background: #f4f4f4; font-weight: 600; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.matrix { table-layout: fixed; }
table.matrix thead th { position: sticky; top: 0; z-index: 2; text-align: center; }
table.matrix thead tr:nth-child(2) th { top: 22px; }
table.matrix td.case { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.matrix td.aim { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: #444; }
table.matrix td.spec { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: #666; font-size: 11px; }
tr.area th { background: #e3eaf3; text-align: left; }
tr.area td { background: #e3eaf3; text-align: center; font-size: 11px; }
tr.differs td.case { font-weight: 600; }
tr.differs td.case::after { content: " ≠"; color: #b00; }
td.o { text-align: center; font-size: 11px; font-weight: 600; position: relative; }
td.o details summary { cursor: pointer; list-style: none; }
td.o details summary::-webkit-details-marker { display: none; }
td.o details[open] summary { text-decoration: underline; }
td.o .pop { position: absolute; right: 0; top: 100%; z-index: 5; width: 70ch; max-height: 32em; overflow: auto;
  background: #fff; border: 1px solid #888; box-shadow: 0 3px 10px rgba(0,0,0,.25); padding: .5em .7em;
  text-align: left; font-weight: 400; font-size: 12px; }
td.o .pop pre { white-space: pre-wrap; margin: .3em 0; font-size: 11px; }
td.o .pop .log { color: #555; word-break: break-all; }
td.none { color: #aaa; text-align: center; }
span.swatch { display: inline-block; width: 5.5em; text-align: center; font-size: 11px; font-weight: 600; padding: 1px 0; }
ul.legend { list-style: none; padding: 0; margin: .3em 0; columns: 2; }
ul.legend li { margin: 2px 0; }
"#;

const MEASURE: &str = "(function () { var d = document.documentElement, m = document.querySelector('table.matrix'); \
d.dataset.height = d.scrollHeight; \
if (m) { var b = m.getBoundingClientRect(); d.dataset.matrixTop = b.top + window.scrollY; \
d.dataset.matrixBottom = b.bottom + window.scrollY; } })();";

/// `r` with [`text::escape_controls`] applied to every text a page shows;
/// borrowed when nothing needs it.
fn shown(r: &Results) -> std::borrow::Cow<'_, Results> {
    use std::borrow::Cow;
    let esc = |s: &str| text::escape_controls(s).into_owned();
    let clean = |s: &str| matches!(text::escape_controls(s), Cow::Borrowed(_));
    let all_clean = r.cases.iter().all(|(k, i)| clean(k) && clean(&i.aim) && clean(&i.spec))
        && r.qemus.iter().all(|q| clean(&q.version) && q.runs.iter().all(|s| clean(&s.case) && clean(&s.detail)));
    if all_clean {
        return Cow::Borrowed(r);
    }
    let mut out = r.clone();
    out.cases = r
        .cases
        .iter()
        .map(|(k, i)| (esc(k), crate::report::CaseInfo { aim: esc(&i.aim), spec: esc(&i.spec) }))
        .collect();
    for q in &mut out.qemus {
        q.version = esc(&q.version);
        for s in &mut q.runs {
            s.case = esc(&s.case);
            s.detail = esc(&s.detail);
        }
    }
    Cow::Owned(out)
}

/// The whole page for `r`, as HTML5 text.
pub fn render(r: &Results) -> String {
    render_with(r, None)
}

/// [`render`], with a section on spec coverage (the summary of
/// `cargo xtask coverage`: per GIC version the items the cases know, and
/// which of them no case touches or touches with one value only) when
/// `coverage` is given.
pub fn render_with(r: &Results, coverage: Option<&crate::report::coverage::Coverage>) -> String {
    // Text from outside (case names, QEMU's and the kernel's output in the
    // details) with control and invisible format characters escaped: maud
    // escapes markup, not those.
    let shown = shown(r);
    let r = shown.as_ref();
    let cols = columns(r);
    let areas = areas(r);
    let gics: Vec<GicVersion> = cols.iter().map(|c| c.gic).collect::<BTreeSet<_>>().into_iter().collect();
    let nq = r.qemus.len();
    let mut per_model: BTreeMap<Column, Tally> = BTreeMap::new();
    let mut per_area: BTreeMap<(&str, Column), Tally> = BTreeMap::new();
    for (area, cases) in &areas {
        for case in cases {
            for &c in &cols {
                if let Some(s) = cell(r, case, c) {
                    per_model.entry(c).or_default().add(s.outcome());
                    per_area.entry((area.as_str(), c)).or_default().add(s.outcome());
                }
            }
        }
    }
    // A row differs when one GIC version has different outcomes on different QEMUs.
    let differs = |case: &str| {
        gics.iter().any(|&gic| {
            let o: Vec<Option<Outcome>> =
                (0..nq).map(|qemu| cell(r, case, Column { gic, qemu }).map(StoredRun::outcome)).collect();
            o.iter().any(|x| *x != o[0])
        })
    };
    let differing: Vec<&String> = areas.values().flatten().filter(|c| differs(c)).collect();
    let colours: String = COLOURS
        .iter()
        .map(|(o, [r, g, b])| format!("td.{0}, span.{0} {{ background: rgb({r},{g},{b}); }}\n", class(*o)))
        .collect();
    let versions: Vec<String> = r.qemus.iter().map(|q| format!("QEMU {} ({})", q.version, q.path.display())).collect();
    let ncases: usize = areas.values().map(Vec::len).sum();
    let cov_rows = coverage.map(crate::report::coverage::summary).unwrap_or_default();

    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "GIC virtualization conformance matrix" }
                style { (PreEscaped(CSS)) (PreEscaped(colours)) }
            }
            body {
                h1 { "GIC virtualization conformance matrix" }
                p.meta { (ncases) " cases × " (gics.len()) " GIC versions on " (versions.join(" and ")) "; run took "
                    (format!("{:.1}", r.elapsed_s)) " s." }
                p.meta { "Goldens are derived from Arm IHI 0048B (GICv2) and IHI 0069 (GICv3/v4). Click an outcome \
                    other than PASS for the deviation, the field-level diff or the reason." }
                ul.legend {
                    @for o in Outcome::ALL {
                        li { span class=(format!("swatch {}", class(o))) { (o.name()) } " " (meaning(o)) }
                    }
                }

                h2 id="models" { "Summary per model" }
                table.models {
                    thead { tr {
                        th { "model" }
                        @for o in Outcome::ALL { th { (o.name()) } }
                        th { "conforming (PASS of judged)" }
                    } }
                    tbody {
                        @for &c in &cols {
                            @let t = per_model.get(&c);
                            tr data-gic=(c.gic.name()) data-qemu=(r.qemus[c.qemu].version) {
                                th { (col_label(r, c)) }
                                @for o in Outcome::ALL {
                                    td.num data-outcome=(o.name()) { (t.map_or(0, |t| t.n(o))) }
                                }
                                td.num { @if let Some(t) = t { (t.conform()) } }
                            }
                        }
                    }
                }

                h2 id="areas" { "Summary per area" }
                table.areas {
                    thead { tr {
                        th { "area" } th { "cases" }
                        @for &c in &cols { th { (col_label(r, c)) } }
                    } }
                    tbody {
                        @for (area, cases) in &areas {
                            tr data-area=(area) {
                                th { a href=(format!("#area-{area}")) { (area) } }
                                td.num { (cases.len()) }
                                @for &c in &cols {
                                    td.num { @if let Some(t) = per_area.get(&(area.as_str(), c)) {
                                        (t.conform())
                                        @match t.n(Outcome::XFail) {
                                            0 => {},
                                            1 => { ", 1 known deviation" },
                                            n => { ", " (n) " known deviations" },
                                        }
                                    } }
                                }
                            }
                        }
                    }
                }

                @if let Some(cov) = coverage {
                    h2 id="coverage" { "Spec coverage" }
                    p.meta { "Registers, fields and statement arguments the suite knows by name, computed from the \
                        compiled cases (cargo xtask coverage --detail lists every value and case)." }
                    table.coverage {
                        thead { tr {
                            th { "GIC" } th { "cases" } th { "items" } th { "untouched" } th { "one value only" }
                            th { "share untouched or one value" }
                        } }
                        tbody {
                            @for (v, n, untouched, one) in &cov_rows {
                                tr data-gic=(v.name()) {
                                    th { "GICv" (v.name().trim_start_matches('v')) }
                                    td.num { (cov.cases.get(v).copied().unwrap_or(0)) }
                                    td.num { (n) }
                                    td.num { (untouched.len()) }
                                    td.num { (one.len()) }
                                    td.num { (format!("{:.1} %", if *n == 0 { 0.0 } else {
                                        100.0 * (untouched.len() + one.len()) as f64 / *n as f64 })) }
                                }
                            }
                        }
                    }
                    @for (v, _, untouched, one) in &cov_rows {
                        details.coverage data-gic=(v.name()) {
                            summary { "GIC" (v.name()) ": " (untouched.len()) " untouched, " (one.len())
                                " with one value only" }
                            p { b { "Untouched: " } (untouched.join(", ")) }
                            p { b { "One value only: " } (one.join(", ")) }
                        }
                    }
                }

                @if nq > 1 {
                    h2 id="differences" { "Outcomes that differ between QEMU versions (" (differing.len()) ")" }
                    @if differing.is_empty() {
                        p { "None: every case has the same outcome on every QEMU." }
                    } @else {
                        ul.differences {
                            @for case in &differing {
                                li {
                                    a href=(format!("#{}", row_id(case))) { (case) }
                                    @for &gic in &gics {
                                        @let o: Vec<String> = (0..nq).map(|qemu| {
                                            let x = cell(r, case, Column { gic, qemu }).map_or("-", |s| s.outcome.as_str());
                                            format!("{x} on {}", r.qemus[qemu].version)
                                        }).collect();
                                        @if o.iter().any(|x| x.split(' ').next() != o[0].split(' ').next()) {
                                            " — GIC" (gic.name()) ": " (o.join(", "))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }

                h2 id="matrix" { "Matrix" }
                table.matrix style=(format!("width: {}px", 920 + 64 * cols.len())) {
                    colgroup {
                        col style="width: 300px"; col style="width: 420px"; col style="width: 200px";
                        @for _ in &cols { col style="width: 64px"; }
                    }
                    thead {
                        tr {
                            th rowspan="2" { "case" } th rowspan="2" { "aim" } th rowspan="2" { "spec" }
                            @for g in &gics { th colspan=(nq) { "GIC" (g.name()) } }
                        }
                        tr {
                            @for &c in &cols { th { (r.qemus[c.qemu].version) } }
                        }
                    }
                    @for (area, cases) in &areas {
                        tbody id=(format!("area-{area}")) {
                            tr.area {
                                th colspan="3" { (area) " — " (cases.len()) " cases" }
                                @for &c in &cols {
                                    td { @if let Some(t) = per_area.get(&(area.as_str(), c)) {
                                        (t.n(Outcome::Pass)) "/" (t.judged())
                                    } }
                                }
                            }
                            @for case in cases {
                                @let info = r.cases.get(case);
                                tr id=(row_id(case)) class=[differs(case).then_some("differs")] data-case=(case) {
                                    td.case title=(case) { (case) }
                                    td.aim title=[info.map(|i| &i.aim)] { @if let Some(i) = info { (i.aim) } }
                                    td.spec title=[info.map(|i| &i.spec)] { @if let Some(i) = info { (i.spec) } }
                                    @for &c in &cols { (cell_markup(r, case, c)) }
                                }
                            }
                        }
                    }
                }
                // For tools that take a screenshot of the whole matrix: the
                // page's height and the matrix's top and bottom, in CSS pixels, on <html>.
                script { (PreEscaped(MEASURE)) }
            }
        }
    };
    page.into_string()
}

fn cell_markup(r: &Results, case: &str, c: Column) -> Markup {
    let qemu = &r.qemus[c.qemu].version;
    let Some(s) = cell(r, case, c) else {
        return html! { td.none data-case=(case) data-gic=(c.gic.name()) data-qemu=(qemu) { "–" } };
    };
    let o = s.outcome();
    let detail: String = s.detail.lines().map(|l| l.strip_prefix("    ").unwrap_or(l)).collect::<Vec<_>>().join("\n");
    html! {
        td class=(format!("o {}", class(o))) data-case=(case) data-gic=(c.gic.name()) data-qemu=(qemu)
            data-outcome=(o.name()) title=(format!("{} ms", s.elapsed_ms)) {
            @if o == Outcome::Pass {
                (o.name())
            } @else {
                details {
                    summary { (o.name()) }
                    div.pop {
                        b { (o.name()) " — " (case) ", GIC" (c.gic.name()) ", QEMU " (qemu) }
                        pre { (detail) }
                        @if let Some(l) = &s.log { div.log { "log: " (l.display()) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::results::QemuRun;
    use crate::report::CaseInfo;

    fn run(case: &str, gic: Option<&str>, o: Outcome, detail: &str) -> StoredRun {
        StoredRun {
            case: case.into(),
            gic: gic.map(str::to_string),
            outcome: o.name().into(),
            detail: detail.into(),
            elapsed_ms: 40,
            log: None,
        }
    }

    /// The results of one run (`r`, of a case described by `info`) on QEMU `version`.
    fn one_run(info: CaseInfo, version: &str, r: StoredRun) -> Results {
        let cases = BTreeMap::from([(r.case.clone(), info)]);
        let qemus = vec![QemuRun { version: version.into(), path: format!("/q{version}").into(), runs: vec![r] }];
        Results { format: 1, elapsed_s: 1.0, cases, qemus }
    }

    #[test]
    fn the_coverage_section_shows_each_versions_summary_when_given() {
        let info = CaseInfo { aim: "a".into(), spec: "IHI0069H 12.4.3".into() };
        let r = one_run(info, "10.0.2", run("t/a", Some("v3"), Outcome::Pass, ""));
        assert!(!render(&r).contains(r#"id="coverage""#), "no section without a coverage map");
        let path = std::path::PathBuf::from("cases/t/a.case");
        let parsed =
            crate::case::parse(&path, "t/a", "aim: a\nspec: IHI0069H 12.4.3\ngic: v3\nhcr = En UIE\nread hcr\n");
        let file = crate::case::inputs::CaseFile { name: "t/a".into(), path, parsed };
        let cov = crate::report::coverage::compute(&[file], None);
        let page = render_with(&r, Some(&cov));
        assert!(page.contains(r#"<h2 id="coverage">Spec coverage</h2>"#));
        let (_, n, untouched, one) =
            crate::report::coverage::summary(&cov).into_iter().find(|(v, ..)| *v == GicVersion::V3).unwrap();
        let row = format!(
            r#"<tr data-gic="v3"><th>GICv3</th><td class="num">1</td><td class="num">{n}</td><td class="num">{}</td><td class="num">{}</td>"#,
            untouched.len(),
            one.len()
        );
        assert!(page.contains(&row), "the v3 row: {row}");
        assert!(page.contains("ICH_HCR_EL2.UIE"), "the one-value items are listed");
    }

    #[test]
    fn cells_are_escaped_and_carry_their_coordinates() {
        let mut cases = BTreeMap::new();
        cases.insert("lr/a".to_string(), CaseInfo { aim: "a <b> & c".into(), spec: "IHI0069H 6.3".into() });
        let r = Results {
            format: 1,
            elapsed_s: 1.0,
            cases,
            qemus: vec![
                QemuRun {
                    version: "7.2.22".into(),
                    path: "/q7".into(),
                    runs: vec![
                        run("lr/a", Some("v3"), Outcome::XFail, "    known deviation: <script>x</script>\n"),
                        run("lr/bad", None, Outcome::Error, "    golden unusable\n"),
                    ],
                },
                QemuRun {
                    version: "10.0.2".into(),
                    path: "/q10".into(),
                    runs: vec![
                        run("lr/a", Some("v3"), Outcome::Pass, ""),
                        run("lr/bad", None, Outcome::Error, "    golden unusable\n"),
                    ],
                },
            ],
        };
        let page = render(&r);
        assert!(!page.contains("<script>x") && page.contains("&lt;script&gt;x"), "text is escaped");
        assert!(page.contains("a &lt;b&gt; &amp; c"));
        assert!(page
            .contains(r#"<td class="o xfail" data-case="lr/a" data-gic="v3" data-qemu="7.2.22" data-outcome="XFAIL""#));
        assert!(page.contains(r#"data-case="lr/a" data-gic="v3" data-qemu="10.0.2" data-outcome="PASS""#));
        assert!(page.contains(r#"<tr id="case-lr_a" class="differs" data-case="lr/a">"#), "{page}");
        // A result for no GIC version fills the case's row.
        assert!(page.contains(r#"data-case="lr/bad" data-gic="v3" data-qemu="10.0.2" data-outcome="ERROR""#));
        assert_eq!(columns(&r), vec![Column { gic: GicVersion::V3, qemu: 0 }, Column { gic: GicVersion::V3, qemu: 1 }]);
        assert!(page.contains("Outcomes that differ between QEMU versions (1)"));
    }

    #[test]
    fn control_characters_in_results_are_escaped_on_the_page() {
        let info = CaseInfo { aim: "aim\u{7}".into(), spec: "IHI0069H".into() };
        let r =
            one_run(info, "7.2.22", run("lr/\u{1b}a", Some("v3"), Outcome::Crash, "    \u{1b}[31m\u{0}\u{2028}x\n"));
        let page = render(&r);
        assert!(!crate::text::has_raw_controls(&page), "raw control characters on the page");
        assert!(page.contains("\\u{1b}[31m\\u{0}\\u{2028}x"), "the detail, escaped");
        assert!(page.contains("lr/\\u{1b}a"), "the case name, escaped");
    }
}
