//! Outcome decisions of the runner, driven by a scripted stand-in for QEMU
//! so that every failure mode (hang, crash, garbage, QEMU dying) is tested
//! deterministically. The real QEMU is exercised in `e2e.rs`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gic_case::proto::Outcome;
use gic_case::GicVersion;
use runner::suite::{self, Options, RunReport};

const HEADER: &str = r#"{"header":{"schema":1,"gic":"v3"}}"#;

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("gicv-outcomes-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("cases/t")).unwrap();
        fs::create_dir_all(dir.join("expected/t")).unwrap();
        fs::write(dir.join("kernel.elf"), b"not used by the fake").unwrap();
        // The fake QEMU prints the kernel output found in `behaviour/<gic>.out`,
        // exits with `behaviour/<gic>.code`, or sleeps when `<gic>.hang` exists.
        let script = dir.join("fake-qemu");
        fs::write(
            &script,
            r#"#!/bin/sh
if [ "$1" = "--version" ]; then echo "QEMU emulator version 9.9.9 (fake)"; exit 0; fi
dir=$(dirname "$0")/behaviour
for a in "$@"; do
  case "$a" in
    file,id=semi,path=*) out="${a#file,id=semi,path=}";;
    virt,virtualization=on,gic-version=*) gic="v${a##*=}";;
  esac
done
[ -f "$dir/$gic.out" ] && cat "$dir/$gic.out" > "$out"
[ -f "$dir/$gic.stderr" ] && cat "$dir/$gic.stderr" >&2
[ -f "$dir/$gic.hang" ] && sleep 30
exit $(cat "$dir/$gic.code" 2>/dev/null || echo 0)
"#,
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        fs::create_dir_all(dir.join("behaviour")).unwrap();
        Fixture { dir }
    }

    fn case(&self, name: &str, text: &str) {
        fs::write(self.dir.join(format!("cases/{name}.case")), text).unwrap();
    }

    fn golden(&self, name: &str, text: &str) {
        fs::write(self.dir.join(format!("expected/{name}.json")), text).unwrap();
    }

    fn behave(&self, gic: &str, out: &str, code: i32) {
        fs::write(self.dir.join(format!("behaviour/{gic}.out")), out).unwrap();
        fs::write(self.dir.join(format!("behaviour/{gic}.code")), code.to_string()).unwrap();
    }

    fn opts(&self, bless: bool, filters: &[&str]) -> Options {
        Options {
            cases_dir: self.dir.join("cases"),
            expected_dir: self.dir.join("expected"),
            kernel: self.dir.join("kernel.elf"),
            qemu: runner::qemu::find(Some(&self.dir.join("fake-qemu"))).unwrap(),
            gics: vec![GicVersion::V3],
            filters: filters.iter().map(|s| s.to_string()).collect(),
            jobs: 2,
            bless,
            log_dir: self.dir.join("logs"),
        }
    }

    fn run(&self, bless: bool, filters: &[&str]) -> Vec<RunReport> {
        suite::run(&self.opts(bless, filters), &|_| {}).unwrap().runs
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

const CASE: &str = "aim: t\nspec: IHI0069H 6.3\ngic: v3\ntimeout: 1s\nguest ack\n";

fn out(events: &[&str], end: bool) -> String {
    let mut s = format!("{HEADER}\n");
    for e in events {
        s.push_str(e);
        s.push('\n');
    }
    if end {
        s.push_str("{\"end\":\"ok\"}\n");
    }
    s
}

fn only(runs: &[RunReport], case: &str) -> RunReport {
    let v: Vec<_> = runs.iter().filter(|r| r.case == case).collect();
    assert_eq!(v.len(), 1, "{runs:#?}");
    v[0].clone()
}

#[test]
fn pass_and_fail_with_field_level_diff() {
    let f = Fixture::new("passfail");
    f.case("t/a", CASE);
    f.case("t/b", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.golden("t/b", r#"{"all":[{"step":1,"op":"guest ack","INTID":1023}]}"#);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let runs = f.run(false, &[]);
    assert_eq!(only(&runs, "t/a").outcome, Outcome::Pass);
    let b = only(&runs, "t/b");
    assert_eq!(b.outcome, Outcome::Fail);
    assert!(b.detail.contains("step 1 (guest ack): INTID: expected 1023, got 27"), "{}", b.detail);
    assert!(b.detail.contains("- {\"step\":1,\"op\":\"guest ack\",\"INTID\":1023}"), "{}", b.detail);
}

#[test]
fn hung_guest_is_a_timeout_with_the_events_seen() {
    let f = Fixture::new("hang");
    f.case("t/a", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], false), 0);
    fs::write(f.dir.join("behaviour/v3.hang"), "").unwrap();
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Timeout);
    assert!(r.detail.contains("no exit within 1s"), "{}", r.detail);
    assert!(r.detail.contains("events seen before it stopped (1)"), "{}", r.detail);
}

#[test]
fn crash_record_is_decoded() {
    let f = Fixture::new("crash");
    f.case("t/a", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    let crash = r#"{"crash":{"EL":1,"kind":"trapped to EL2","cpu":0,"EC":"0x18","class":"MSR/MRS/system instruction trapped","ESR":"0x62340401","ELR":"0x40081234","FAR":"0x0"}}"#;
    f.behave("v3", &format!("{HEADER}\n{crash}\n"), 3);
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Crash);
    assert!(
        r.detail.contains(
            "trapped to EL2 exception at EL1 on cpu0: EC=0x18 (MSR/MRS/system instruction trapped), ESR=0x62340401"
        ),
        "{}",
        r.detail
    );
}

#[test]
fn truncated_or_garbage_output_is_reported() {
    let f = Fixture::new("garbage");
    f.case("t/a", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.behave("v3", &format!("{HEADER}\n{{\"step\":1,\"op\":\"guest a\n"), 0);
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Crash);
    assert!(
        r.detail.contains("truncated or not JSON lines")
            && r.detail.contains("line 2:")
            && r.detail.contains("no end record"),
        "{}",
        r.detail
    );
}

#[test]
fn qemu_dying_is_a_crash_with_its_stderr() {
    let f = Fixture::new("qemudies");
    f.case("t/a", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.behave("v3", "", 1);
    fs::write(f.dir.join("behaviour/v3.stderr"), "qemu-system-aarch64: gic-version=3 is not supported\n").unwrap();
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Crash);
    assert!(
        r.detail.contains("QEMU exited with status 1") && r.detail.contains("gic-version=3 is not supported"),
        "{}",
        r.detail
    );
}

#[test]
fn bad_input_is_reported_and_other_cases_still_run() {
    let f = Fixture::new("badinput");
    f.case("t/good", CASE);
    f.golden("t/good", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.case("t/malformed", "aim: t\nspec: s\ngic: v3\nguest ack group7\n");
    f.case("t/nogolden", CASE);
    f.golden("t/orphan", r#"{"all":[]}"#);
    f.case("t/v2only", "aim: t\nspec: s\ngic: v2\nguest ack\n");
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let runs = f.run(false, &[]);
    assert_eq!(only(&runs, "t/good").outcome, Outcome::Pass);
    let m = only(&runs, "t/malformed");
    assert_eq!(m.outcome, Outcome::Error);
    assert!(m.detail.contains("malformed.case:4:11: unexpected `group7`"), "{}", m.detail);
    let n = only(&runs, "t/nogolden");
    assert_eq!(n.outcome, Outcome::Error);
    assert!(n.detail.contains("no golden"), "{}", n.detail);
    let o = runs.iter().find(|r| r.case.ends_with("orphan.json")).expect("orphan reported");
    assert_eq!(o.outcome, Outcome::Error);
    let s = only(&runs, "t/v2only");
    assert_eq!(s.outcome, Outcome::Skip);
    assert!(s.detail.contains("applies to GIC v2 only"), "{}", s.detail);
    assert!(!f.dir.join("expected/t/nogolden.json").exists(), "a run without --bless must not write goldens");
}

#[test]
fn bless_writes_only_the_cases_that_ran() {
    let f = Fixture::new("bless");
    f.case("t/a", CASE);
    f.case("t/b", CASE);
    let b_golden = "{\n  \"all\": [\n    {\"step\":1,\"op\":\"guest ack\",\"INTID\":99}\n  ]\n}\n";
    f.golden("t/b", b_golden);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let runs = f.run(true, &["t/a"]);
    assert_eq!(runs.len(), 1);
    assert_eq!(
        fs::read_to_string(f.dir.join("expected/t/a.json")).unwrap(),
        "{\n  \"all\": [\n    {\"step\":1,\"op\":\"guest ack\",\"INTID\":27}\n  ]\n}\n"
    );
    assert_eq!(fs::read_to_string(f.dir.join("expected/t/b.json")).unwrap(), b_golden, "t/b was not run");
}

#[test]
fn bless_never_writes_from_a_crashed_run() {
    let f = Fixture::new("blesscrash");
    f.case("t/a", CASE);
    f.behave("v3", &format!("{HEADER}\n"), 5);
    let runs = f.run(true, &[]);
    assert_eq!(only(&runs, "t/a").outcome, Outcome::Crash);
    assert!(!Path::new(&f.dir.join("expected/t/a.json")).exists());
}

#[test]
fn known_deviation_gives_xfail_then_xpass() {
    let f = Fixture::new("deviation");
    f.case("t/a", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":1023}]}"#);
    fs::write(
        f.dir.join("expected/deviations.toml"),
        "[[deviation]]\ncase = \"t/a\"\ngic = [\"v3\"]\nqemu = \">=9.0, <10\"\nsteps = [1]\nwhat = \"w\"\nwhy = \"y\"\n",
    )
    .unwrap();
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":0}"#], true), 0);
    assert_eq!(only(&f.run(false, &[]), "t/a").outcome, Outcome::XFail);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":1023}"#], true), 0);
    assert_eq!(only(&f.run(false, &[]), "t/a").outcome, Outcome::XPass);
}
