//! Static checks of the suite's inputs: cases, goldens, deviations.

use std::path::Path;

use crate::suite;

/// `list` (print each case with its versions and aim) and `check` (parse
/// every case, golden and the deviations file without running anything).
/// Returns the exit code: 0, or 2 when something is wrong.
pub fn list(root: &Path, filters: &[String], check: bool) -> i32 {
    let cases = match suite::discover(&root.join("cases")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut bad = 0;
    for c in cases.iter().filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str()))) {
        match &c.parsed {
            Ok(case) => {
                let gics: Vec<&str> = case.gics.iter().map(|g| g.name()).collect();
                if !check {
                    println!("{:<36} {:<9} smp {}  {}", case.name, gics.join(","), case.smp, case.aim);
                }
                let gp = suite::golden_path(&root.join("expected"), &case.name);
                match crate::golden::Golden::load(&gp) {
                    Ok(g) => {
                        let missing = g.missing_versions(&case.gics);
                        if !missing.is_empty() {
                            bad += 1;
                            let m: Vec<&str> = missing.iter().map(|g| g.name()).collect();
                            eprintln!("error: {}: no events for {}", gp.display(), m.join(", "));
                        }
                        for v in &case.gics {
                            if let Err(e) = case.compile(*v) {
                                bad += 1;
                                eprintln!("error: {e}");
                            }
                        }
                    }
                    Err(e) => {
                        bad += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            Err(e) => {
                bad += 1;
                eprintln!("error: {e}");
            }
        }
    }
    for p in suite::orphan_goldens(&root.join("expected"), &cases) {
        bad += 1;
        eprintln!("error: {}: golden without a case", p.display());
    }
    if let Err(e) = crate::deviations::load(&root.join("expected/deviations.toml")) {
        bad += 1;
        eprintln!("error: {e}");
    }
    if check {
        println!("gicv check: {} cases, {bad} problems", cases.len());
    }
    i32::from(bad > 0) * 2
}
