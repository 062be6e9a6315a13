//! Checking the HTML matrix ([`crate::report::html`]) the way a reader sees it:
//! Chromium in headless mode loads the page from the file system, and
//!
//! - [`check_dom`] reads the DOM Chromium built (`--dump-dom`, parsed with
//!   scraper) and checks that every result of the run is a cell at its
//!   case, GIC version and QEMU with its outcome, that no other cell is
//!   there, that every non-PASS cell holds its explanation, and that the
//!   summary per model counts what the cells show;
//! - [`check_screenshot`] decodes the PNG Chromium took (`--screenshot`)
//!   and checks that it is as tall as the whole matrix and shows the colour
//!   of every outcome the run had.
//!
//! Chromium is Debian's `chromium` package (`.ci/run` installs it), found
//! as `$GICV_CHROMIUM`, else `chromium`, `chromium-browser`,
//! `google-chrome` or `google-chrome-stable` on `PATH`. It runs with a
//! fresh profile directory, without its sandbox (CI machines run as root,
//! where Chromium's sandbox cannot start; the page is our own local file),
//! and is killed after [`BOUND`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gic_case::proto::Outcome;
use scraper::{Html, Selector};

use crate::report::html;
use crate::report::results::Results;

/// How long one Chromium run may take.
pub const BOUND: Duration = Duration::from_secs(90);

/// The window width the page is rendered at, in CSS pixels.
pub const WIDTH: u32 = 1500;

/// How to get Chromium, for error messages.
pub const INSTALL_HINT: &str = "install Debian's chromium with `sudo apt-get install -y --no-install-recommends \
chromium` (.ci/run does), or name a Chromium or Chrome binary in GICV_CHROMIUM";

/// Finds Chromium: `$GICV_CHROMIUM`, else the first of `chromium`,
/// `chromium-browser`, `google-chrome`, `google-chrome-stable` on `PATH`.
///
/// # Errors
/// None found, with how to install it.
pub fn find_chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("GICV_CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("GICV_CHROMIUM names {}, which does not exist; {INSTALL_HINT}", p.display()))
        };
    }
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .find_map(|n| crate::launch::qemu::which(n))
        .ok_or_else(|| format!("Chromium was not found on PATH; {INSTALL_HINT}"))
}

/// Runs headless Chromium on `page` with `args` (besides the ones every run
/// gets); returns its standard output.
fn chromium(bin: &Path, page: &Path, args: &[String]) -> Result<String, String> {
    let page = std::path::absolute(page).map_err(|e| format!("{}: {e}", page.display()))?;
    let profile =
        std::env::temp_dir().join(format!("gicv-chromium-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&profile);
    let mut cmd = Command::new(bin);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg("--disable-dev-shm-usage")
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()));
    let shown = format!("{} … {}", bin.display(), args.join(" "));
    let r = crate::launch::procs::run_bounded(&mut cmd, BOUND);
    let _ = std::fs::remove_dir_all(&profile);
    let r = r.map_err(|e| format!("cannot run {shown}: {e}; {INSTALL_HINT}"))?;
    match r.status {
        None => Err(format!("`{shown}` did not finish within {} s", BOUND.as_secs())),
        Some(s) if !s.success() => {
            let tail: Vec<&str> = r.stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
            Err(format!("`{shown}` failed ({s}):\n{}", tail.join("\n")))
        }
        Some(_) => Ok(r.stdout),
    }
}

/// The DOM Chromium builds from `page`, serialized (`--dump-dom`), at [`WIDTH`].
///
/// # Errors
/// Chromium failed, timed out, or printed no document.
pub fn dump_dom(bin: &Path, page: &Path) -> Result<String, String> {
    let dom = chromium(bin, page, &[format!("--window-size={WIDTH},1000"), "--dump-dom".into()])?;
    if !dom.contains("<html") {
        return Err(format!("Chromium printed no document for {}", page.display()));
    }
    Ok(dom)
}

/// Takes a screenshot of `page` at [`WIDTH`] × `height` CSS pixels into `png`.
///
/// # Errors
/// Chromium failed, timed out, or wrote no file.
pub fn screenshot(bin: &Path, page: &Path, png: &Path, height: u32) -> Result<(), String> {
    let png = std::path::absolute(png).map_err(|e| format!("{}: {e}", png.display()))?;
    let _ = std::fs::remove_file(&png);
    chromium(
        bin,
        page,
        &[
            format!("--window-size={WIDTH},{height}"),
            "--force-device-scale-factor=1".into(),
            format!("--screenshot={}", png.display()),
        ],
    )?;
    if !png.is_file() {
        return Err(format!("Chromium wrote no screenshot at {}", png.display()));
    }
    Ok(())
}

/// What [`check_dom`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomCheck {
    /// Matrix cells with a result.
    pub cells: usize,
    /// Case rows.
    pub rows: usize,
    /// Columns (GIC version × QEMU).
    pub columns: usize,
    /// Cells of each outcome, every outcome listed (0 where none).
    pub per_outcome: BTreeMap<Outcome, usize>,
    /// The page's height in CSS pixels, as its layout measured it.
    pub height: u32,
    /// The top of the matrix in CSS pixels.
    pub matrix_top: u32,
    /// The bottom of the matrix in CSS pixels.
    pub matrix_bottom: u32,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("a valid selector")
}

/// Checks the DOM Chromium built for the page of `results`: every result
/// is a cell at its (case, GIC, QEMU) with its outcome and nothing else is;
/// every non-PASS cell holds the first line of its explanation; each row
/// of the summary per model equals the count of that column's cells.
///
/// # Errors
/// Every mismatch found, one per line.
pub fn check_dom(results: &Results, dom: &str) -> Result<DomCheck, String> {
    let doc = Html::parse_document(dom);
    let mut problems = Vec::new();
    type Key = (String, String, String);
    // What each cell must show: the run's result for it, as the page picks it.
    let mut expected: BTreeMap<Key, (Outcome, String)> = BTreeMap::new();
    let cols = html::columns(results);
    let cases: std::collections::BTreeSet<&str> =
        results.qemus.iter().flat_map(|q| q.runs.iter().map(|s| s.case.as_str())).collect();
    for case in cases {
        for &c in &cols {
            if let Some(s) = html::cell(results, case, c) {
                let first = s.detail.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_string();
                let key = (case.to_string(), c.gic.name().to_string(), results.qemus[c.qemu].version.clone());
                expected.insert(key, (s.outcome(), first));
            }
        }
    }
    let mut seen: BTreeMap<Key, Outcome> = BTreeMap::new();
    for td in doc.select(&sel("table.matrix td.o")) {
        let v = td.value();
        let (Some(case), Some(gic), Some(qemu), Some(o)) =
            (v.attr("data-case"), v.attr("data-gic"), v.attr("data-qemu"), v.attr("data-outcome"))
        else {
            problems.push(format!("a matrix cell without its coordinates: {}", td.html()));
            continue;
        };
        let key = (case.to_string(), gic.to_string(), qemu.to_string());
        let Some(outcome) = Outcome::from_name(o) else {
            problems.push(format!("{case} GIC{gic} QEMU {qemu}: unknown outcome {o}"));
            continue;
        };
        let text: String = td.text().collect();
        if !text.trim_start().starts_with(o) {
            problems.push(format!("{case} GIC{gic} QEMU {qemu}: the cell reads {:?}, not {o}", text.trim()));
        }
        match expected.get(&key) {
            None => problems.push(format!("{case} GIC{gic} QEMU {qemu}: a cell for no result of the run")),
            Some((want, first)) => {
                if *want != outcome {
                    problems.push(format!("{case} GIC{gic} QEMU {qemu}: the cell says {o}, the run {}", want.name()));
                }
                if outcome != Outcome::Pass && !text.contains(first.as_str()) {
                    problems.push(format!("{case} GIC{gic} QEMU {qemu}: the cell lacks its explanation {first:?}"));
                }
                if outcome != Outcome::Pass && td.select(&sel("details > summary")).next().is_none() {
                    problems.push(format!("{case} GIC{gic} QEMU {qemu}: the explanation is not one click away"));
                }
            }
        }
        if seen.insert(key.clone(), outcome).is_some() {
            problems.push(format!("{} GIC{} QEMU {}: two cells", key.0, key.1, key.2));
        }
    }
    for (k, _) in expected.iter().filter(|(k, _)| !seen.contains_key(*k)) {
        problems.push(format!("{} GIC{} QEMU {}: the run's result has no cell", k.0, k.1, k.2));
    }
    // The summary per model counts the cells of its column.
    for tr in doc.select(&sel("table.models tbody tr")) {
        let (Some(gic), Some(qemu)) = (tr.value().attr("data-gic"), tr.value().attr("data-qemu")) else { continue };
        for td in tr.select(&sel("td[data-outcome]")) {
            let o = td.value().attr("data-outcome").unwrap_or_default();
            let shown: usize = td.text().collect::<String>().trim().parse().unwrap_or(usize::MAX);
            let counted = seen.iter().filter(|((_, g, q), x)| g == gic && q == qemu && x.name() == o).count();
            if shown != counted {
                problems.push(format!("summary GIC{gic} QEMU {qemu}: {o} is {shown}, the cells have {counted}"));
            }
        }
    }
    let rows = doc.select(&sel("table.matrix tr[data-case]")).count();
    let columns = doc.select(&sel("table.matrix thead tr:nth-child(2) th")).count();
    if columns != cols.len() {
        problems.push(format!("the matrix has {columns} columns, the run {}", cols.len()));
    }
    let root = doc.root_element();
    let px = |name: &str| root.value().attr(name).and_then(|v| v.parse::<f64>().ok()).map(|v| v.ceil() as u32);
    let (height, top, bottom) = (px("data-height"), px("data-matrix-top"), px("data-matrix-bottom"));
    if height.is_none() || top.is_none() || bottom.is_none() {
        problems.push("the page did not measure itself (data-height, data-matrix-top/bottom on <html>)".into());
    }
    // Every outcome, 0 where no cell has it.
    let mut per_outcome: BTreeMap<Outcome, usize> = Outcome::ALL.iter().map(|o| (*o, 0)).collect();
    for o in seen.values() {
        *per_outcome.entry(*o).or_default() += 1;
    }
    if problems.is_empty() {
        Ok(DomCheck {
            cells: seen.len(),
            rows,
            columns,
            per_outcome,
            height: height.unwrap_or(0),
            matrix_top: top.unwrap_or(0),
            matrix_bottom: bottom.unwrap_or(0),
        })
    } else {
        Err(problems.join("\n"))
    }
}

/// What [`check_screenshot`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShotCheck {
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// Pixels of each outcome's colour.
    pub pixels: BTreeMap<Outcome, usize>,
}

/// The fewest pixels of its outcome's colour a matrix cell must show
/// (a cell is 64 × 22 CSS pixels, about half of it covered by text and
/// borders at most).
pub const PIXELS_PER_CELL: usize = 600;

/// Checks a screenshot (at device scale 1) of a page whose DOM `dom` was
/// checked: as tall as the matrix's bottom, so every case is in it, and
/// below the matrix's top (the legend does not count) each outcome's colour
/// ([`html::COLOURS`]) on at least [`PIXELS_PER_CELL`] pixels per cell of
/// that outcome.
///
/// # Errors
/// Not an 8-bit RGB(A) PNG, too short, or an outcome's cells not seen.
pub fn check_screenshot(png_bytes: &[u8], dom: &DomCheck) -> Result<ShotCheck, String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| format!("PNG: {e}"))?;
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => return Err(format!("PNG colour type {other:?}, expected RGB or RGBA")),
    };
    if info.bit_depth != png::BitDepth::Eight {
        return Err(format!("PNG bit depth {:?}, expected 8", info.bit_depth));
    }
    let (w, h) = (info.width, info.height);
    let mut problems = Vec::new();
    if h < dom.matrix_bottom {
        problems.push(format!("the screenshot is {h} px tall; the matrix ends at {} px", dom.matrix_bottom));
    }
    let mut pixels: BTreeMap<Outcome, usize> = BTreeMap::new();
    let row = w as usize * channels;
    let below_top = buf[..info.buffer_size()].get(dom.matrix_top as usize * row..).unwrap_or(&[]);
    for px in below_top.chunks_exact(channels) {
        if let Some((o, _)) = html::COLOURS.iter().find(|(_, c)| c.iter().zip(px).all(|(a, b)| a.abs_diff(*b) <= 2)) {
            *pixels.entry(*o).or_default() += 1;
        }
    }
    for (o, cells) in &dom.per_outcome {
        let n = pixels.get(o).copied().unwrap_or(0);
        if n < cells * PIXELS_PER_CELL {
            problems.push(format!(
                "{cells} {} cells are not all seen: {n} pixels of their colour, fewer than {} per cell",
                o.name(),
                PIXELS_PER_CELL
            ));
        }
    }
    if problems.is_empty() {
        Ok(ShotCheck { size: (w, h), pixels })
    } else {
        Err(problems.join("\n"))
    }
}
