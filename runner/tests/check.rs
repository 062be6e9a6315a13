//! `gicv-runner list` and `check` on small suites written to a temporary
//! directory: what the static checks catch, their messages and exit codes.
//! Nothing here starts QEMU.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// A throw-away suite root with `cases/` and `expected/`.
struct Suite {
    root: PathBuf,
}

/// A case with steps 1-3 on GICv3 and GICv4.
const CASE: &str = "aim: fixture\nspec: IHI0069H 12.4.6\ngic: v3 v4\nread hcr\nread vmcr\nread misr\n";
/// A golden that fits [`CASE`].
const GOLDEN: &str = "{\n  \"all\": [\n    {\"step\":1,\"op\":\"read hcr\",\"En\":1,\"UIE\":0,\"LRENPIE\":0,\"NPIE\":0,\"VGrp0EIE\":0,\"VGrp0DIE\":0,\"VGrp1EIE\":0,\"VGrp1DIE\":0,\"EOIcount\":0}\n  ]\n}\n";
/// One well-formed deviation entry, for `t/a` (steps 1-3, gic v3 v4).
const DEVIATION: &str =
    "[[deviation]]\ncase = \"t/a\"\ngic = [\"v3\"]\nqemu = \">=7.2\"\nseen = [{ step = 2, op = \"read vmcr\", event = \"missing\" }]\nwhat = \"w\"\nwhy = \"y\"\n";

impl Suite {
    fn new(name: &str) -> Suite {
        let root = std::env::temp_dir().join(format!("gicv-check-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("cases/t")).unwrap();
        fs::create_dir_all(root.join("expected/t")).unwrap();
        Suite { root }
    }

    /// Writes `rel` (relative to the root), creating directories.
    fn file(&self, rel: &str, text: impl AsRef<[u8]>) -> &Suite {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
        self
    }

    /// A valid case `t/<name>` and its golden.
    fn case(&self, name: &str) -> &Suite {
        self.file(&format!("cases/t/{name}.case"), CASE).file(&format!("expected/t/{name}.json"), GOLDEN)
    }

    /// Runs `gicv-runner <cmd> --root ROOT <args>`: (exit code, stdout, stderr).
    fn run(&self, cmd: &str, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_gicv-runner"))
            .arg(cmd)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .output()
            .unwrap();
        let s = |b: &[u8]| String::from_utf8_lossy(b).replace(&format!("{}/", self.root.display()), "");
        (out.status.code().unwrap_or(-1), s(&out.stdout), s(&out.stderr))
    }

    /// `check` must fail with exit code 2 and print exactly these error lines.
    fn check_fails_with(&self, errors: &[&str]) {
        let (code, out, err) = self.run("check", &[]);
        let got: Vec<&str> = err.lines().collect();
        assert_eq!(got, errors, "stdout:\n{out}");
        assert_eq!(code, 2, "stderr:\n{err}");
        assert!(out.contains(&format!("{} problems", errors.len())), "{out}");
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

#[test]
fn check_passes_a_clean_suite() {
    let s = Suite::new("clean");
    s.case("a").file("expected/deviations.toml", DEVIATION);
    let (code, out, err) = s.run("check", &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, "gicv check: 1 cases, 0 problems\n");
}

#[test]
fn check_rejects_a_duplicate_version_key() {
    let s = Suite::new("dup-all");
    s.case("a").file(
        "expected/t/a.json",
        "{\n  \"all\": [\n    {\"step\":1,\"op\":\"read hcr\"}\n  ],\n  \"all\": [\n    {\"step\":2,\"op\":\"read vmcr\"}\n  ]\n}\n",
    );
    s.check_fails_with(&[
        "error: expected/t/a.json:5:3: duplicate key `all` in an object; each key once (a JSON reader would keep only the last)",
    ]);
}

#[test]
fn check_rejects_a_duplicate_key_in_an_event() {
    let s = Suite::new("dup-event");
    s.case("a").file(
        "expected/t/a.json",
        "{\n  \"all\": [\n    {\"step\":1,\"op\":\"read hcr\"},\n    {\"step\":2,\"INTID\":3,\"INTID\":4}\n  ]\n}\n",
    );
    s.check_fails_with(&[
        "error: expected/t/a.json:4:25: duplicate key `INTID` in an object; each key once (a JSON reader would keep only the last)",
    ]);
}

#[test]
fn check_rejects_a_duplicate_key_nested_deeper() {
    let s = Suite::new("dup-deep");
    s.case("a").file("expected/t/a.json", "{\"all\":[{\"step\":1,\"MISR\":{\"EOI\":1,\"U\":0,\"EOI\":0}}]}");
    s.check_fails_with(&[
        "error: expected/t/a.json:1:41: duplicate key `EOI` in an object; each key once (a JSON reader would keep only the last)",
    ]);
}

#[test]
fn check_rejects_overlapping_version_keys() {
    let s = Suite::new("overlap");
    s.case("a").file(
        "expected/t/a.json",
        "{\n  \"v3\": [\n    {\"step\":1}\n  ],\n  \"v3,v4\": [\n    {\"step\":1}\n  ]\n}\n",
    );
    s.case("b").file("expected/t/b.json", "{\"v2,v2\":[{\"step\":1}],\"v3,v4\":[{\"step\":1}]}");
    s.check_fails_with(&[
        "error: expected/t/a.json:5:3: key `v3,v4` names v3, as key `v3` does; each version in one key (else the key order decides which events apply)",
        "error: expected/t/b.json:1:2: key `v2,v2` names v2 twice; each version once",
    ]);
}

#[test]
fn check_rejects_golden_steps_the_case_does_not_have() {
    let s = Suite::new("steps");
    s.case("a").file(
        "expected/t/a.json",
        "{\n  \"v3\": [\n    {\"step\":1}\n  ],\n  \"v4\": [\n    {\"step\":3},\n    {\"step\":4,\"op\":\"read lr\"}\n  ]\n}\n",
    );
    s.case("b").file("expected/t/b.json", "{\"all\":[{\"step\":0}]}");
    s.case("c").file("expected/t/c.json", "{\"all\":[{\"step\":\"2\"}]}");
    s.case("d").file("expected/t/d.json", "{\"all\":[{\"step\":1.5}]}");
    s.check_fails_with(&[
        "error: expected/t/a.json:7:5: key `v4`: event {\"step\":4,\"op\":\"read lr\"} names step 4, which t/a does not have; its steps are 1-3",
        "error: expected/t/b.json:1:9: key `all`: event {\"step\":0} has `step` 0; a step is a positive integer, the statement's number",
        "error: expected/t/c.json:1:9: key `all`: event {\"step\":\"2\"} has `step` \"2\"; a step is a positive integer, the statement's number",
        "error: expected/t/d.json:1:9: key `all`: event {\"step\":1.5} has `step` 1.5; a step is a positive integer, the statement's number",
    ]);
}

#[test]
fn check_rejects_deviation_entries_for_missing_cases_versions_and_steps() {
    let s = Suite::new("devs");
    s.case("a").case("basic-group1").file(
        "expected/deviations.toml",
        format!(
            "# header\n\n{DEVIATION}\n{}\n{}\n{}",
            DEVIATION.replace("t/a", "t/basic-grup1"),
            DEVIATION.replace("[\"v3\"]", "[\"v2\", \"v4\"]"),
            DEVIATION
                .replace("{ step = 2, op = \"read vmcr\", event = \"missing\" }", "{ step = 1, op = \"a\", event = \"missing\" }, { step = 4, op = \"b\", event = \"missing\" },\n  { step = 3, op = \"c\", event = \"missing\" }, { step = 9, op = \"d\", event = \"missing\" }")
                .replace("v3", "v4"),
        ),
    );
    s.check_fails_with(&[
        "error: expected/deviations.toml:12:8: deviation for t/basic-grup1: no case t/basic-grup1 (cases/t/basic-grup1.case); the entry can never apply: rename it with its case or delete it; did you mean t/basic-group1?",
        "error: expected/deviations.toml:21:8: deviation for t/a: gic v2 is not a version of the case (its `gic:` header lists v3, v4); list only versions it runs on",
        "error: expected/deviations.toml:27:1: deviation for t/a: it overlaps the entry at line 19 for GIC v4 (QEMU `>=7.2` and `>=7.2` share versions); one run would match either: merge them, or make the QEMU ranges disjoint",
        "error: expected/deviations.toml:31:61: deviation for t/a: step 4 is not a step of the case (its steps are 1-3); list steps whose events differ",
        "error: expected/deviations.toml:32:55: deviation for t/a: step 9 is not a step of the case (its steps are 1-3); list steps whose events differ",
    ]);
}

/// A save/restore entry names the boundaries at which migrating alone
/// loses state; each must be a migration point of the case (a boundary
/// between two top-level steps: after step 1 or 2 of the 3-step fixture),
/// and two entries may share a case and QEMU range when their boundaries differ.
#[test]
fn check_rejects_save_restore_boundaries_that_are_not_migration_points() {
    let s = Suite::new("after-steps");
    let migrated =
        |steps: &str| DEVIATION.replace("seen =", &format!("migrated = true\nafter_steps = {steps}\nseen ="));
    s.case("a").file("expected/deviations.toml", format!("{}\n{}", migrated("[1]"), migrated("[2]")));
    let (code, out, err) = s.run("check", &[]);
    assert_eq!(code, 0, "{out}{err}");
    s.file("expected/deviations.toml", format!("{}\n{}", migrated("[1, 3]"), migrated("[1]")));
    s.check_fails_with(&[
        "error: expected/deviations.toml:1:1: deviation for t/a: `after_steps` 3 is not a migration point of the case on v3 (its points: after steps 1, 2)",
        "error: expected/deviations.toml:11:1: deviation for t/a: it overlaps the entry at line 1 for GIC v3 (QEMU `>=7.2` and `>=7.2` share versions, and `after_steps` a boundary); one run would match either: merge them, or make the QEMU ranges disjoint",
    ]);
}

#[test]
fn list_and_check_reject_filters_that_match_no_case() {
    let s = Suite::new("filters");
    s.case("basic-group0").case("basic-group1").case("pmr-masks-pending");
    for cmd in ["list", "check"] {
        let (code, out, err) = s.run(cmd, &["t/bsic", "pmr", "zzz"]);
        assert_eq!(
            err,
            "error: no case matches `t/bsic`; did you mean t/basic-group0, t/basic-group1?\nerror: no case matches `zzz`\n",
            "{cmd}"
        );
        assert_eq!(code, 2, "{cmd}");
        if cmd == "list" {
            assert!(out.starts_with("t/pmr-masks-pending "), "{out}");
            assert_eq!(out.lines().count(), 1, "{out}");
        } else {
            assert_eq!(out, "gicv check: 1 cases, 2 problems\n");
        }
    }
    let (code, _, err) = s.run("check", &["pmr"]);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn unmatched_filters_name_each_and_suggest_near_names() {
    let names = ["lr/basic-group0", "lr/basic-group1", "lr/pmr-masks-pending", "hw/spi-eoi"];
    let f = |fs: &[&str]| {
        runner::case::inputs::unmatched_filters(&names, &fs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    };
    assert!(f(&[]).is_empty());
    assert!(f(&["lr/", "group1", "hw/spi-eoi", ""]).is_empty());
    assert_eq!(
        f(&["lr/bsic", "hw/spi-eio", "priority/"]),
        [
            "no case matches `lr/bsic`; did you mean lr/basic-group0, lr/basic-group1?",
            "no case matches `hw/spi-eio`; did you mean hw/spi-eoi?",
            "no case matches `priority/`",
        ]
    );
}

#[test]
fn check_accepts_byte_order_marks() {
    let s = Suite::new("bom");
    s.case("a")
        .file("expected/t/a.json", format!("\u{feff}{GOLDEN}"))
        .file("expected/deviations.toml", format!("\u{feff}{DEVIATION}"));
    let (code, out, err) = s.run("check", &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
}

/// Issue 19: two entries that could both explain one run (same case, a
/// shared GIC version, QEMU ranges with a version in common) are flagged;
/// disjoint ranges are how a fix in a later QEMU is recorded, and pass.
#[test]
fn check_rejects_deviation_entries_that_overlap() {
    let s = Suite::new("devs-overlap");
    s.case("a").file(
        "expected/deviations.toml",
        format!(
            "{DEVIATION}\n{DEVIATION}\n{}\n{}\n{}",
            DEVIATION.replace(">=7.2", ">=7.2, <10.0").replace("[\"v3\"]", "[\"v4\"]"),
            DEVIATION.replace(">=7.2", ">=9.0").replace("[\"v3\"]", "[\"v4\"]"),
            DEVIATION.replace(">=7.2", ">=10.0").replace("[\"v3\"]", "[\"v2\"]"),
        ),
    );
    s.check_fails_with(&[
        "error: expected/deviations.toml:9:1: deviation for t/a: it overlaps the entry at line 1 for GIC v3 (QEMU `>=7.2` and `>=7.2` share versions); one run would match either: merge them, or make the QEMU ranges disjoint",
        "error: expected/deviations.toml:25:1: deviation for t/a: it overlaps the entry at line 17 for GIC v4 (QEMU `>=7.2, <10.0` and `>=9.0` share versions); one run would match either: merge them, or make the QEMU ranges disjoint",
        "error: expected/deviations.toml:35:8: deviation for t/a: gic v2 is not a version of the case (its `gic:` header lists v3, v4); list only versions it runs on",
    ]);
}

/// `steps CASE` numbers a case's statements as goldens and deviations
/// name them, with each statement's line and compiled op.
#[test]
fn steps_lists_each_step_with_its_line_and_op() {
    let s = Suite::new("steps");
    s.case("a");
    let (code, out, err) = s.run("steps", &["t/a"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "t/a (hypervisor; gic: v3 v4)");
    assert_eq!(lines[1], "step   1  line   4  read hcr");
    assert_eq!(lines[2].trim(), "VifRead(Hcr)");
    assert_eq!(lines[5], "step   3  line   6  read misr");
    let (code, _, err) = s.run("steps", &["t/b"]);
    assert_eq!(code, 2);
    assert!(err.contains("no case named `t/b`; did you mean t/a?"), "{err}");
}

/// Issue 20: a golden event is held to its op's fields, so a misspelt key,
/// a missing field or a value of the wrong type is found before a run.
#[test]
fn check_rejects_events_that_do_not_fit_their_op() {
    let s = Suite::new("schema");
    s.case("a").file(
        "expected/t/a.json",
        "{\"all\":[{\"step\":2,\"op\":\"read vmcr\",\"VENG0\":1,\"VENG1\":1,\"VAckCtl\":0,\"VFIQEn\":1,\"VCBPR\":0,\"VEOIM\":0,\"VBPR1\":3,\"VBPR0\":2,\"VPMR\":\"255\",\"VPRM\":1}]}",
    );
    s.check_fails_with(&[
        "error: expected/t/a.json: step 2: `read vmcr` field `VPMR` must be a number, found \"255\"",
        "error: expected/t/a.json: step 2: `read vmcr` events have no field `VPRM`; did you mean `VPMR`? (its fields: VENG0, VENG1, VAckCtl, VFIQEn, VCBPR, VEOIM, VBPR1, VBPR0, VPMR)",
    ]);
}
