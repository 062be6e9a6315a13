//! The HTML conformance matrix as a reader sees it: rendered by headless
//! Chromium (Debian's `chromium`, which `.ci/run` installs), its DOM read
//! back and its screenshot decoded.
//!
//! Needs Chromium, so it is `#[ignore]`d in a plain `cargo test`; `cargo
//! xtask ci` runs it with `cargo test -p gicv-runner --test html_report --
//! --ignored`, after checking the real run's page with `cargo xtask report
//! --check`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gic_case::proto::Outcome;
use runner::report::browser;
use runner::report::results::{QemuRun, Results, StoredRun};
use runner::report::CaseInfo;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gicv-html-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(case: &str, gic: Option<&str>, o: Outcome, detail: &str) -> StoredRun {
    StoredRun {
        case: case.into(),
        gic: gic.map(str::to_string),
        outcome: o.name().into(),
        detail: detail.into(),
        elapsed_ms: 40,
        log: Some(format!("/logs/{case}").into()),
    }
}

/// Two QEMUs, three GIC versions, every outcome, text that must be
/// escaped, a result for no GIC version, and 30 passing cases so that the
/// page is taller than one screen.
fn sample() -> Results {
    let mut cases = BTreeMap::new();
    let mut q7 = Vec::new();
    let mut q10 = Vec::new();
    let outcomes = [
        ("eoimode/fails", Outcome::Fail, "    step 3 (guest ack): INTID: expected 27, got 1023\n"),
        ("eoimode/known", Outcome::XFail, "    known deviation: <script>alert(1)</script> & more\n"),
        ("lr/xpass", Outcome::XPass, "    matches the golden, but deviations.toml lists a deviation\n"),
        ("lr/crash", Outcome::Crash, "    exception at EL2: ESR 0x96000045\n"),
        ("lr/slow", Outcome::Timeout, "    no exit within 1s\n"),
    ];
    for (case, o, detail) in outcomes {
        cases.insert(case.to_string(), CaseInfo { aim: format!("aim of {case} <b>"), spec: "IHI0069H 6.3".into() });
        for g in ["v2", "v3", "v4"] {
            q7.push(run(case, Some(g), o, detail));
            // The newer QEMU fixed the deviation.
            let o10 = if o == Outcome::XFail { Outcome::Pass } else { o };
            q10.push(run(case, Some(g), o10, if o10 == Outcome::Pass { "" } else { detail }));
        }
    }
    for i in 0..30 {
        let case = format!("maintenance/case-{i:02}");
        cases.insert(case.clone(), CaseInfo { aim: "an aim".into(), spec: "IHI0069H 12.4.7".into() });
        for q in [&mut q7, &mut q10] {
            q.push(run(&case, Some("v2"), Outcome::Skip, "    the case applies to GIC v3, v4 only (`gic:` header)\n"));
            q.push(run(&case, Some("v3"), Outcome::Pass, ""));
            q.push(run(&case, Some("v4"), Outcome::Pass, ""));
        }
    }
    for q in [&mut q7, &mut q10] {
        q.push(run("lr/unusable", None, Outcome::Error, "    golden unusable: expected/lr/unusable.json:1:2: …\n"));
    }
    Results {
        format: runner::report::results::FORMAT,
        elapsed_s: 12.5,
        cases,
        qemus: vec![
            QemuRun { version: "7.2.22".into(), path: "/usr/bin/qemu-system-aarch64".into(), runs: q7 },
            QemuRun { version: "10.0.2".into(), path: "/opt/q10/qemu-system-aarch64".into(), runs: q10 },
        ],
    }
}

#[test]
#[ignore = "needs Chromium; cargo xtask ci runs it with --ignored"]
fn the_matrix_renders_in_chromium_with_every_result_in_its_cell() {
    let chromium = browser::find_chromium().unwrap_or_else(|e| panic!("{e}"));
    let dir = scratch("chromium");
    let results = sample();
    let page = dir.join("report.html");
    std::fs::write(&page, runner::report::html::render(&results)).unwrap();

    let dom = browser::dump_dom(&chromium, &page).unwrap();
    assert!(!dom.contains("<script>alert"), "text is escaped in the DOM too");
    let c = browser::check_dom(&results, &dom).unwrap_or_else(|e| panic!("{e}"));
    // 36 cases × 3 GIC versions × 2 QEMUs; the unusable case fills its row.
    assert_eq!((c.cells, c.rows, c.columns), (216, 36, 6));
    assert_eq!(c.per_outcome[&Outcome::XFail], 3);
    assert_eq!(c.per_outcome[&Outcome::Error], 6);
    assert!(c.matrix_top > 300 && c.matrix_bottom > c.matrix_top + 36 * 18, "{c:?}");
    assert!(c.height >= c.matrix_bottom, "{c:?}");

    let png = dir.join("report.png");
    browser::screenshot(&chromium, &page, &png, c.height).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    let s = browser::check_screenshot(&bytes, &c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.size, (browser::WIDTH, c.height));
    for o in Outcome::ALL {
        assert!(s.pixels.get(&o).copied().unwrap_or(0) >= c.per_outcome[&o] * browser::PIXELS_PER_CELL, "{o:?}");
    }

    // A screenshot cut above the matrix's bottom fails the check.
    let short = dir.join("short.png");
    browser::screenshot(&chromium, &page, &short, c.matrix_top + 100).unwrap();
    let e = browser::check_screenshot(&std::fs::read(&short).unwrap(), &c).unwrap_err();
    assert!(e.contains("px tall; the matrix ends at"), "{e}");
    assert!(e.contains("cells are not all seen"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_dom_check_finds_a_wrong_missing_or_extra_cell() {
    let results = sample();
    let page = runner::report::html::render(&results);
    let cell = r#"data-case="maintenance/case-03" data-gic="v3" data-qemu="10.0.2" data-outcome="PASS""#;
    assert_eq!(page.matches(cell).count(), 1);

    let e = browser::check_dom(&results, &page.replace(cell, &cell.replace("PASS\"", "FAIL\""))).unwrap_err();
    assert!(e.contains("maintenance/case-03 GICv3 QEMU 10.0.2: the cell says FAIL, the run PASS"), "{e}");
    assert!(e.contains("summary GICv3 QEMU 10.0.2: PASS is 31, the cells have 30"), "{e}");

    let e = browser::check_dom(&results, &page.replace(cell, &cell.replace("case-03", "case-99"))).unwrap_err();
    assert!(e.contains("maintenance/case-99 GICv3 QEMU 10.0.2: a cell for no result of the run"), "{e}");
    assert!(e.contains("maintenance/case-03 GICv3 QEMU 10.0.2: the run's result has no cell"), "{e}");

    let detail = "step 3 (guest ack): INTID: expected 27, got 1023";
    let e = browser::check_dom(&results, &page.replacen(detail, "", 1)).unwrap_err();
    assert!(e.contains("eoimode/fails GICv2 QEMU 7.2.22: the cell lacks its explanation"), "{e}");

    // Without a browser the page has not measured itself: only that is wrong.
    let e = browser::check_dom(&results, &page).unwrap_err();
    assert_eq!(e, "the page did not measure itself (data-height, data-matrix-top/bottom on <html>)");
}
