//! Outcome decisions of the runner, driven by a scripted stand-in for QEMU
//! so that every failure mode (hang, crash, garbage, QEMU dying) is tested
//! deterministically. The real QEMU is exercised in `e2e.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use gic_case::proto::Outcome;
use gic_case::GicVersion;
use runner::report::{RunReport, SuiteReport};
use runner::suite::{self, Options};

const HEADER: &str = r#"{"header":{"schema":1,"gic":"v3"}}"#;

/// A stand-in for qemu-system-aarch64. It answers the runner's probes like a
/// QEMU built without seccomp, then prints the kernel output found in
/// `behaviour/<gic>.out`, exits with `behaviour/<gic>.code`, sleeps when
/// `<gic>.hang` exists, leaves a grandchild named by `<gic>.grandchild`
/// running, kills itself with the signal in `<gic>.signal`, or writes its
/// PID to `<gic>.pid` and becomes `sleep 300` when `<gic>.execsleep` exists.
const FAKE_QEMU: &str = r#"#!/bin/sh
case "$1" in
  --version) echo "QEMU emulator version 9.9.9 (fake)"; exit 0;;
  -sandbox) echo "qemu: -sandbox on: There is no option group 'sandbox'" >&2; exit 1;;
  -machine) echo "virt                 QEMU 9.9 ARM Virtual Machine (alias of virt-9.9)"; exit 0;;
  -cpu) printf '  cortex-a53\n  cortex-a57\n  max\n'; exit 0;;
esac
dir=$(dirname "$0")/behaviour
for a in "$@"; do
  case "$a" in
    file,id=semi,path=*) out=$(printf '%s' "${a#file,id=semi,path=}" | sed 's/,,/,/g');;
    virt,virtualization=on,gic-version=*) gic="v${a##*=}";;
  esac
done
[ -f "$dir/$gic.out" ] && cat "$dir/$gic.out" > "$out"
[ -f "$dir/$gic.stderr" ] && cat "$dir/$gic.stderr" >&2
[ -f "$dir/$gic.grandchild" ] && { sh -c 'sleep 300; :' "$(cat "$dir/$gic.grandchild")" & }
[ -f "$dir/$gic.hang" ] && sleep 30
[ -f "$dir/$gic.execsleep" ] && { echo $$ > "$dir/$gic.pid"; exec sleep 300; }
[ -f "$dir/$gic.signal" ] && kill -"$(cat "$dir/$gic.signal")" $$
exit $(cat "$dir/$gic.code" 2>/dev/null || echo 0)
"#;

/// Writes an executable script at `path`. The file is created by a child
/// process (`install`), so no descriptor open for writing on it can leak
/// into a process another test thread forks at that moment; such a leaked
/// descriptor makes exec fail with ETXTBSY ("Text file busy") until the
/// other child execs, which made these tests flaky under parallel runs.
fn write_script(path: &Path, text: &str) {
    let draft = path.with_extension("draft");
    fs::write(&draft, text).unwrap();
    let ok = std::process::Command::new("install").arg("-m").arg("755").arg(&draft).arg(path).status().unwrap();
    assert!(ok.success(), "install {} failed", path.display());
}

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        // A comma in the path: QEMU option values must be escaped (`,,`).
        let dir = std::env::temp_dir().join(format!("gicv-outcomes-{}-{name},x", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("cases/t")).unwrap();
        fs::create_dir_all(dir.join("expected/t")).unwrap();
        fs::write(dir.join("kernel.elf"), b"not used by the fake").unwrap();
        // The fake QEMU prints the kernel output found in `behaviour/<gic>.out`,
        // exits with `behaviour/<gic>.code`, or sleeps when `<gic>.hang` exists.
        write_script(&dir.join("fake-qemu"), FAKE_QEMU);
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
            guest_image: None,
            hypervisors: vec![],
            migrate: None,
            migrate_seed: None,
            qemu: runner::launch::qemu::find(Some(&self.dir.join("fake-qemu"))).unwrap(),
            exec: runner::launch::qemu::Execution::default(),
            gics: vec![GicVersion::V3],
            filters: filters.iter().map(|s| s.to_string()).collect(),
            jobs: 2,
            bless,
            out_dir: self.dir.join("logs"),
            partition: None,
        }
    }

    fn run(&self, bless: bool, filters: &[&str]) -> Vec<RunReport> {
        self.suite(bless, filters).runs
    }

    /// A run as the command line does it: the suite, then `latest` linked
    /// (the command line links it once the run's files are written).
    fn suite(&self, bless: bool, filters: &[&str]) -> SuiteReport {
        let o = self.opts(bless, filters);
        let rep = suite::run(&o, &|_| {}).unwrap();
        suite::link_latest(&o.out_dir, &rep.run_dir);
        rep
    }

    /// The runner's executable set to run this fixture's GICv3 cases with
    /// the fake QEMU, as a user starts it (for tests that signal it).
    fn runner_command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gicv-runner"));
        c.args(["run", "--gic", "v3", "--root"])
            .arg(&self.dir)
            .arg("--kernel")
            .arg(self.dir.join("kernel.elf"))
            .arg("--qemu")
            .arg(self.dir.join("fake-qemu"))
            .arg("--out")
            .arg(self.dir.join("logs"));
        c
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.dir.join(rel)).unwrap()
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
    assert!(m.detail.contains("malformed.case:4:11: expected `group0` or `group1`, found `group7`"), "{}", m.detail);
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
    let runs = f.run(true, &["t/a"]);
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
        "[[deviation]]\ncase = \"t/a\"\ngic = [\"v3\"]\nqemu = \">=9.0, <10\"\nwhat = \"w\"\nwhy = \"y\"\nseen = [{ step = 1, op = \"guest ack\", field = \"INTID\", value = 0 }]\n",
    )
    .unwrap();
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":0}"#], true), 0);
    assert_eq!(only(&f.run(false, &[]), "t/a").outcome, Outcome::XFail);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":1023}"#], true), 0);
    assert_eq!(only(&f.run(false, &[]), "t/a").outcome, Outcome::XPass);
}

#[test]
fn another_wrong_value_at_a_deviating_step_fails() {
    let f = Fixture::new("deviation-exact");
    f.case("t/a", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":1023}]}"#);
    fs::write(f.dir.join("expected/deviations.toml"), DEVIATION_T_A).unwrap();
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":5}"#], true), 0);
    let runs = f.run(false, &[]);
    let r = only(&runs, "t/a");
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.detail);
    assert!(r.detail.contains("differs other than as the known deviation records (w)"), "{}", r.detail);
    assert!(
        r.detail
            .contains("not recorded in expected/deviations.toml:\n    step 1 (guest ack): INTID: expected 1023, got 5"),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("recorded but not seen in this run: step 1 (guest ack): INTID = 0"), "{}", r.detail);
    // An extra field next to the recorded one fails too.
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":0,"CPUID":0}"#], true), 0);
    let runs = f.run(false, &[]);
    assert_eq!(only(&runs, "t/a").outcome, Outcome::Fail);
}

#[test]
fn golden_expressions_are_evaluated_with_the_runs_header() {
    let f = Fixture::new("expr");
    f.case("t/a", "aim: fixture\nspec: IHI0069H 12.4.8\ngic: v3\nread elrsr\n");
    f.golden("t/a", r#"{"all":[{"step":1,"op":"read elrsr","LRs":"=range(0, num_lrs)"}]}"#);
    let with = |lrs: u32, list: &str| {
        let header =
            format!(r#"{{"header":{{"schema":1,"gic":"v3","ListRegs":{},"PRIbits":4,"PREbits":4}}}}"#, lrs - 1);
        format!("{header}\n{{\"step\":1,\"op\":\"read elrsr\",\"LRs\":{list}}}\n{{\"end\":\"ok\"}}\n")
    };
    f.behave("v3", &with(4, "[0,1,2,3]"), 0);
    assert_eq!(only(&f.run(false, &[]), "t/a").outcome, Outcome::Pass);
    f.behave("v3", &with(16, "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]"), 0);
    assert_eq!(only(&f.run(false, &[]), "t/a").outcome, Outcome::Pass);
    f.behave("v3", &with(16, "[0,1,2,3]"), 0);
    let runs = f.run(false, &[]);
    let r = only(&runs, "t/a");
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(
        r.detail.contains(
            r#"LRs: expected "=range(0, num_lrs)" ([0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15] here), got [0,1,2,3]"#
        ),
        "{}",
        r.detail
    );
    // A GIC with fewer List Registers than the case uses: SKIP, with the reason.
    f.case("t/a", "aim: fixture\nspec: IHI0069H 12.4.8\ngic: v3\nread lr 3\n");
    f.golden("t/a", r#"{"all":[{"step":1,"op":"read lr"}]}"#);
    f.behave("v3", &with(2, "[]").replace("read elrsr\",\"LRs\":[]", "read lr\""), 0);
    let runs = f.run(false, &[]);
    let r = only(&runs, "t/a");
    assert_eq!(r.outcome, Outcome::Skip, "{}", r.detail);
    assert!(
        r.detail.contains("the scenario needs 4 List Registers (ICH_LR<n>_EL2 up to 3); this GIC implements 2"),
        "{}",
        r.detail
    );
}

#[test]
fn bless_keeps_a_golden_with_expressions_that_still_holds_and_refuses_to_flatten_it() {
    let f = Fixture::new("blessexpr");
    f.case("t/a", "aim: fixture\nspec: IHI0069H 12.4.8\ngic: v3\nread elrsr\n");
    let golden = "{\"all\":[{\"step\":1,\"op\":\"read elrsr\",\"LRs\":\"=range(0, num_lrs)\"}]}";
    f.golden("t/a", golden);
    let header = r#"{"header":{"schema":1,"gic":"v3","ListRegs":3,"PRIbits":4,"PREbits":4}}"#;
    f.behave(
        "v3",
        &format!("{header}\n{{\"step\":1,\"op\":\"read elrsr\",\"LRs\":[0,1,2,3]}}\n{{\"end\":\"ok\"}}\n"),
        0,
    );
    let rep = suite::run(&f.opts(true, &["t/a"]), &|_| {}).unwrap();
    assert!(rep.blessed.is_empty() && rep.refused.is_empty(), "{:?}", rep.refused);
    assert_eq!(f.read("expected/t/a.json"), golden);
    f.behave("v3", &format!("{header}\n{{\"step\":1,\"op\":\"read elrsr\",\"LRs\":[1,2,3]}}\n{{\"end\":\"ok\"}}\n"), 0);
    let rep = suite::run(&f.opts(true, &["t/a"]), &|_| {}).unwrap();
    assert!(rep.refused[0].1.contains("as expressions"), "{:?}", rep.refused);
    assert_eq!(f.read("expected/t/a.json"), golden);
}

/// Processes whose command line contains `marker` (scanning /proc).
fn processes_with(marker: &str) -> usize {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(marker))
        .count()
}

/// Polls `cond` for up to `secs` seconds.
fn eventually(secs: u64, cond: impl Fn() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cond()
}

const GOLDEN_27: &str = r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#;
const DEVIATION_T_A: &str =
    "[[deviation]]\ncase = \"t/a\"\ngic = [\"v3\"]\nqemu = \">=9.0, <10\"\nwhat = \"w\"\nwhy = \"y\"\nseen = [{ step = 1, op = \"guest ack\", field = \"INTID\", value = 0 }]\n";

#[test]
fn bless_needs_case_names() {
    let f = Fixture::new("blessnames");
    f.case("t/a", CASE);
    f.golden("t/a", GOLDEN_27);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":5}"#], true), 0);
    let e = suite::run(&f.opts(true, &[]), &|_| {}).unwrap_err();
    assert!(e.contains("bless writes goldens only for the cases you name"), "{e}");
    assert_eq!(f.read("expected/t/a.json"), GOLDEN_27);
}

#[test]
fn bless_never_replaces_the_golden_of_a_known_deviation() {
    let f = Fixture::new("blessdev");
    f.case("t/a", CASE);
    let golden = "{\"all\":[{\"step\":1,\"op\":\"guest ack\",\"INTID\":1023}]}";
    f.golden("t/a", golden);
    fs::write(f.dir.join("expected/deviations.toml"), DEVIATION_T_A).unwrap();
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":0}"#], true), 0);
    // Even when asked by its exact name: QEMU's answer is known to be wrong.
    let rep = f.suite(true, &["t/a"]);
    assert_eq!(only(&rep.runs, "t/a").outcome, Outcome::XFail);
    assert_eq!(f.read("expected/t/a.json"), golden);
    assert!(rep.blessed.is_empty());
    assert!(rep.refused[0].1.contains("lists a deviation of QEMU 9.9.9 on v3"), "{:?}", rep.refused);
    assert!(rep.bless_failed());
}

#[test]
fn bless_never_writes_kernel_error_records() {
    let f = Fixture::new("blesserr");
    f.case("t/a", CASE);
    f.behave(
        "v3",
        &out(
            &[r#"{"step":1,"op":"read lr","LR":7,"error":"List Register not implemented (ListRegs in the header)"}"#],
            true,
        ),
        0,
    );
    let rep = f.suite(true, &["t/a"]);
    assert!(!f.dir.join("expected/t/a.json").exists());
    assert!(rep.refused[0].1.contains("the kernel reported an error"), "{:?}", rep.refused);
    assert!(rep.bless_failed());
}

#[test]
fn bless_leaves_an_unchanged_golden_byte_for_byte() {
    let f = Fixture::new("blesslayout");
    f.case("t/a", CASE);
    // Hand-written layout and key order that `render` would not produce.
    let golden = "{ \"all\": [ {\"op\": \"guest ack\", \"step\": 1, \"INTID\": 27} ] }\n";
    f.golden("t/a", golden);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let rep = f.suite(true, &["t/a"]);
    assert_eq!(only(&rep.runs, "t/a").outcome, Outcome::Pass);
    assert!(rep.blessed.is_empty() && rep.refused.is_empty(), "{:?} {:?}", rep.blessed, rep.refused);
    assert_eq!(f.read("expected/t/a.json"), golden);
}

#[test]
fn bless_replaces_an_existing_golden_only_when_named_exactly() {
    let f = Fixture::new("blessexact");
    f.case("t/a", CASE);
    f.case("t/new", CASE);
    f.golden("t/a", GOLDEN_27);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":28}"#], true), 0);
    let rep = f.suite(true, &["t/"]);
    assert_eq!(f.read("expected/t/a.json"), GOLDEN_27, "a substring filter must not replace an existing golden");
    assert!(f.dir.join("expected/t/new.json").exists(), "a new case's golden is drafted");
    let r = rep.refused.iter().find(|r| r.0 == "t/a").expect("t/a refused");
    assert!(r.1.contains("cargo xtask bless t/a") && !r.2, "{r:?}");
    assert!(!rep.bless_failed());
    let rep = f.suite(true, &["t/a"]);
    assert!(f.read("expected/t/a.json").contains("\"INTID\":28"));
    assert!(rep.blessed[0].1.contains("-    {\"step\":1") || rep.blessed[0].1.contains("+    {\"step\":1"));
}

#[test]
fn concurrent_runs_keep_separate_directories() {
    let f = Fixture::new("concurrent");
    for i in 0..6 {
        f.case(&format!("t/c{i}"), CASE);
        f.golden(&format!("t/c{i}"), GOLDEN_27);
    }
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| f.suite(false, &[]));
        let b = s.spawn(|| f.suite(false, &[]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.run_dir, b.run_dir);
    for rep in [&a, &b] {
        assert!(rep.runs.iter().all(|r| r.outcome == Outcome::Pass), "{:#?}", rep.runs);
        for r in &rep.runs {
            assert!(r.log.as_ref().unwrap().starts_with(&rep.run_dir));
        }
    }
    let latest = fs::read_link(f.dir.join("logs/latest")).unwrap();
    assert!(latest == a.run_dir.file_name().unwrap() || latest == b.run_dir.file_name().unwrap());
}

#[test]
fn old_run_directories_are_pruned() {
    let f = Fixture::new("prune");
    f.case("t/a", CASE);
    f.golden("t/a", GOLDEN_27);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    for _ in 0..suite::KEEP_RUNS + 3 {
        f.suite(false, &[]);
    }
    let runs = fs::read_dir(f.dir.join("logs")).unwrap().filter_map(Result::ok);
    assert_eq!(runs.filter(|e| e.file_name().to_string_lossy().starts_with("run-")).count(), suite::KEEP_RUNS);
}

#[test]
fn timeout_kills_everything_a_wrapper_started() {
    let f = Fixture::new("wrapper");
    f.case("t/a", CASE);
    f.golden("t/a", GOLDEN_27);
    let marker = format!("gicv-grandchild-{}-timeout", std::process::id());
    fs::write(f.dir.join("behaviour/v3.grandchild"), &marker).unwrap();
    fs::write(f.dir.join("behaviour/v3.hang"), "").unwrap();
    assert_eq!(processes_with(&marker), 0);
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Timeout);
    assert!(eventually(2, || processes_with(&marker) == 0), "{} processes left behind", processes_with(&marker));
    assert_eq!(runner::launch::procs::live(), 0);
}

fn signal_the_runner(sig: nix::sys::signal::Signal, code: i32) {
    let f = Fixture::new(&format!("signal{}", sig as i32));
    f.case("t/a", "aim: t\nspec: IHI0069H 6.3\ngic: v3\ntimeout: 60s\nguest ack\n");
    f.golden("t/a", GOLDEN_27);
    let marker = format!("gicv-grandchild-{}-{}", std::process::id(), sig.as_str());
    fs::write(f.dir.join("behaviour/v3.grandchild"), &marker).unwrap();
    fs::write(f.dir.join("behaviour/v3.hang"), "").unwrap();
    let child =
        f.runner_command().stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    assert!(eventually(10, || processes_with(&marker) == 1), "the fake QEMU never started");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains(&format!("stopped by {}; killed 1 running QEMU", sig.as_str())), "{stderr}");
    assert!(eventually(2, || processes_with(&marker) == 0), "QEMU left running after {}", sig.as_str());
}

#[test]
fn sigterm_to_the_runner_kills_its_qemu() {
    signal_the_runner(nix::sys::signal::Signal::SIGTERM, 143);
}

#[test]
fn sigint_to_the_runner_kills_its_qemu() {
    signal_the_runner(nix::sys::signal::Signal::SIGINT, 130);
}

#[test]
fn kernel_error_record_of_a_stuck_pe_is_a_timeout_naming_it() {
    let f = Fixture::new("stuckpe");
    f.case("t/a", "aim: t\nspec: s\ngic: v3\nsmp: 2\ntimeout: 5s\non cpu1 {\n  guest ack\n}\n");
    f.golden("t/a", r#"{"all":[{"step":2,"op":"guest ack","cpu":1,"INTID":27}]}"#);
    let body = format!(
        "{HEADER}\n{}\n{}\n",
        r#"{"step":1,"op":"on cpu","target":1,"result":"timeout","at_step":2}"#,
        r#"{"error":"a secondary PE did not finish its block; stopping the case"}"#
    );
    f.behave("v3", &body, 0);
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Timeout, "{}", r.detail);
    assert!(
        r.detail.contains("cpu1 did not finish its `on cpu1` block within the kernel's bound (CPU0 waited at step 1 ("),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("t/a.case:6)"), "{}", r.detail);
    assert!(r.detail.contains("cpu1 was executing step 2 (") && r.detail.contains("t/a.case:7)"), "{}", r.detail);
    assert!(r.detail.contains("kernel error record: a secondary PE did not finish its block"), "{}", r.detail);
    assert!(!r.detail.contains("truncated"), "{}", r.detail);
}

#[test]
fn crash_names_the_step_and_its_line() {
    let f = Fixture::new("crashstep");
    f.case("t/a", "aim: t\nspec: s\ngic: v3\ntimeout: 1s\n\nguest ack\nguest ack\n");
    f.golden("t/a", GOLDEN_27);
    let crash = r#"{"crash":{"EL":1,"kind":"trapped to EL2","cpu":0,"step":2,"EC":"0x18","class":"MSR/MRS/system instruction trapped","ESR":"0x62340401","ELR":"0x40081234","FAR":"0x0"}}"#;
    f.behave("v3", &format!("{HEADER}\n{crash}\n"), 3);
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Crash);
    assert!(r.detail.contains("FAR=0x0 at step 2 ("), "{}", r.detail);
    assert!(r.detail.contains("t/a.case:7)"), "{}", r.detail);
}

#[test]
fn qemu_killed_by_a_signal_is_named() {
    let f = Fixture::new("qemusignal");
    f.case("t/a", CASE);
    f.golden("t/a", GOLDEN_27);
    fs::write(f.dir.join("behaviour/v3.signal"), "SEGV").unwrap();
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Crash);
    assert!(r.detail.contains("QEMU was killed by SIGSEGV before the kernel finished"), "{}", r.detail);
}

#[test]
fn missing_golden_names_the_bless_command() {
    let f = Fixture::new("nogolden");
    f.case("t/a", CASE);
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Error);
    assert!(r.detail.contains("`cargo xtask bless t/a`") && !r.detail.contains("--bless"), "{}", r.detail);
}

#[test]
fn a_filter_that_matches_no_case_is_an_error() {
    let f = Fixture::new("nomatch");
    f.case("t/basic", CASE);
    f.golden("t/basic", GOLDEN_27);
    let e = suite::run(&f.opts(false, &["t/bsic"]), &|_| {}).unwrap_err();
    assert!(e.contains("t/bsic"), "{e}");
}

#[test]
fn qemu_probe_rejects_what_is_not_qemu_system_aarch64() {
    let f = Fixture::new("probe");
    let script = |name: &str, body: &str| {
        let p = f.dir.join(name);
        write_script(&p, &format!("#!/bin/sh\n{body}\n"));
        p
    };
    let bound = std::time::Duration::from_secs(1);
    let e = runner::launch::qemu::probe(Path::new("/bin/true"), bound).unwrap_err();
    assert!(e.contains("is not QEMU"), "{e}");
    let e = runner::launch::qemu::probe(&script("version3", "echo 'mytool version 3'"), bound).unwrap_err();
    assert!(e.contains("is not QEMU"), "{e}");
    let arm32 = script(
        "arm32",
        "case \"$2\" in help) [ \"$1\" = -machine ] && echo 'virt  QEMU ARM Virtual Machine' || echo '  cortex-a15'; exit 0;; esac\necho 'QEMU emulator version 7.2.22'",
    );
    let e = runner::launch::qemu::probe(&arm32, bound).unwrap_err();
    assert!(e.contains("is not qemu-system-aarch64"), "{e}");
    let start = std::time::Instant::now();
    let e = runner::launch::qemu::probe(&script("hangs", "sleep 30"), bound).unwrap_err();
    assert!(e.contains("did not finish within 1s"), "{e}");
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    let q = runner::launch::qemu::probe(&f.dir.join("fake-qemu"), bound).unwrap();
    assert_eq!((q.version.as_str(), q.sandbox), ("9.9.9", false));
}

#[test]
fn partitions_together_run_every_case_once() {
    let f = Fixture::new("partition");
    let names = ["t/a", "t/b", "t/c", "t/d", "t/e"];
    for n in names {
        f.case(n, CASE);
        f.golden(n, GOLDEN_27);
    }
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let mut seen: Vec<String> = Vec::new();
    for k in 1..=3 {
        let mut o = f.opts(false, &[]);
        o.partition = Some(format!("{k}/3").parse().unwrap());
        let rep = suite::run(&o, &|_| {}).unwrap();
        assert!(rep.runs.iter().all(|r| r.outcome == Outcome::Pass), "{k}/3");
        seen.extend(rep.runs.iter().map(|r| r.case.clone()));
    }
    seen.sort();
    assert_eq!(seen, names);
    let mut o = f.opts(false, &[]);
    o.partition = Some("2/3".parse().unwrap());
    let rep = suite::run(&o, &|_| {}).unwrap();
    assert_eq!(rep.runs.iter().map(|r| r.case.as_str()).collect::<Vec<_>>(), ["t/b", "t/e"]);
    for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
        let e = bad.parse::<suite::Partition>().unwrap_err();
        assert!(e.contains("is not a partition k/n"), "{bad}: {e}");
    }
}

#[test]
fn progress_counts_every_result_against_the_total() {
    let f = Fixture::new("progress");
    for n in ["t/a", "t/b", "t/c"] {
        f.case(n, CASE);
        f.golden(n, GOLDEN_27);
    }
    f.case("t/nogolden", CASE);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let seen = std::sync::Mutex::new(Vec::new());
    let rep =
        suite::run_with_progress(&f.opts(false, &[]), &|_, p| seen.lock().unwrap().push((p.done, p.total))).unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, [(1, 4), (2, 4), (3, 4), (4, 4)]);
    assert_eq!(rep.runs.len(), 4);
}

#[test]
fn several_qemus_run_in_one_directory_and_their_differences_are_tabled() {
    let f = Fixture::new("twoqemus");
    f.case("t/a", CASE);
    f.case("t/b", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.golden("t/b", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    // A second QEMU, version 10.1.0, whose GICv3 answers 1023: the same
    // script in a directory of its own, with its own behaviour.
    let other = f.dir.join("other");
    fs::create_dir_all(other.join("behaviour")).unwrap();
    write_script(&other.join("fake-qemu"), &FAKE_QEMU.replace("9.9.9", "10.1.0"));
    fs::write(other.join("behaviour/v3.out"), out(&[r#"{"step":1,"op":"guest ack","INTID":1023}"#], true)).unwrap();
    let qemus = [
        runner::launch::qemu::find(Some(&f.dir.join("fake-qemu"))).unwrap(),
        runner::launch::qemu::find(Some(&other.join("fake-qemu"))).unwrap(),
    ];
    let seen = std::sync::Mutex::new(Vec::new());
    let reports = suite::run_on(&f.opts(false, &[]), &qemus, &|q, r, p| {
        seen.lock().unwrap().push((q.version.clone(), r.case.clone(), p.done, p.total));
    })
    .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!((reports[0].qemu_version.as_str(), reports[1].qemu_version.as_str()), ("9.9.9", "10.1.0"));
    assert_eq!(reports[0].run_dir, reports[1].run_dir, "one run directory");
    for (rep, outcome) in [(&reports[0], Outcome::Pass), (&reports[1], Outcome::Fail)] {
        for case in ["t/a", "t/b"] {
            let r = only(&rep.runs, case);
            assert_eq!(r.outcome, outcome, "{} {case}: {}", rep.qemu_version, r.detail);
            assert!(r.log.as_ref().unwrap().starts_with(rep.run_dir.join(format!("qemu-{}", rep.qemu_version))));
        }
        assert_eq!(rep.cases["t/a"].spec, "IHI0069H 6.3");
    }
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|s| s.3 == 4) && seen.iter().any(|s| s.2 == 4), "{seen:?}");
    assert_eq!(seen.iter().filter(|s| s.0 == "10.1.0").count(), 2);

    let rows = runner::report::text::differing(&reports);
    assert_eq!(
        rows,
        vec![
            ("t/a".to_string(), Some(GicVersion::V3), vec![Some(Outcome::Pass), Some(Outcome::Fail)]),
            ("t/b".to_string(), Some(GicVersion::V3), vec![Some(Outcome::Pass), Some(Outcome::Fail)]),
        ]
    );
    let text = runner::report::text::render(&reports, std::time::Duration::from_secs(1));
    assert!(text.contains("Details (QEMU 10.1.0):") && !text.contains("Details (QEMU 9.9.9)"), "{text}");
    assert!(text.contains("gicv: 2 passed, 2 failed, 0 skipped (over 2 QEMUs)"), "{text}");

    // bless takes one QEMU.
    let e = suite::run_on(&f.opts(true, &["t/a"]), &qemus, &|_, _, _| {}).unwrap_err();
    assert!(e.contains("give --qemu once"), "{e}");
    // The same version twice cannot be told apart.
    let e = runner::launch::toolchain::ensure_qemus(&[f.dir.join("fake-qemu"), f.dir.join("fake-qemu")]).unwrap_err();
    assert!(e.contains("are both QEMU 9.9.9"), "{e}");
}

/// Issue 19: what the kernel prints (here ESC sequences, a BEL and a NUL
/// in a line that is not JSON) reaches the result's detail escaped, so no
/// report prints it raw.
#[test]
fn control_characters_in_the_kernel_output_are_escaped_at_the_source() {
    let f = Fixture::new("controls");
    f.case("t/a", CASE);
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.behave("v3", &format!("{HEADER}\n\u{1b}[2J\u{1b}[31mboom\u{7}\u{0}\n"), 0);
    let r = only(&f.run(false, &[]), "t/a");
    assert_eq!(r.outcome, Outcome::Crash);
    assert!(!r.detail.chars().any(|c| c.is_control() && c != '\n'), "{:?}", r.detail);
    assert!(r.detail.contains("\\u{1b}[2J\\u{1b}[31mboom\\u{7}\\u{0}"), "{}", r.detail);
}

/// Issue 19: a shard that selects no case is an error, not a green "0 passed".
#[test]
fn a_shard_without_cases_is_an_error() {
    let f = Fixture::new("emptyshard");
    f.case("t/a", CASE);
    f.case("t/b", CASE);
    let mut o = f.opts(false, &[]);
    o.partition = Some("3/3".parse().unwrap());
    let e = suite::run(&o, &|_| {}).unwrap_err();
    assert!(e.contains("--partition 3/3 selects no case: the selection has 2 case(s)"), "{e}");
    o.partition = Some("2/2".parse().unwrap());
    f.golden("t/b", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    f.behave("v3", &out(&[r#"{"step":1,"op":"guest ack","INTID":27}"#], true), 0);
    let runs = suite::run(&o, &|_| {}).unwrap().runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(only(&runs, "t/b").outcome, Outcome::Pass);
}

/// Issue 19: SIGKILL to the runner (no handler can run) must not leave a
/// hung QEMU running for ever: QEMU gets the parent-death signal.
#[test]
fn qemu_dies_with_a_runner_killed_by_sigkill() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let f = Fixture::new("pdeathsig");
    f.case("t/a", &CASE.replace("timeout: 1s", "timeout: 120s"));
    f.golden("t/a", r#"{"all":[{"step":1,"op":"guest ack","INTID":27}]}"#);
    fs::write(f.dir.join("behaviour/v3.execsleep"), "").unwrap();
    let mut runner =
        f.runner_command().stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let pid_file = f.dir.join("behaviour/v3.pid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let qemu = loop {
        if let Some(p) = fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
            break Pid::from_raw(p);
        }
        assert!(std::time::Instant::now() < deadline, "the fake QEMU never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    runner.kill().unwrap(); // SIGKILL
    runner.wait().unwrap();
    // Gone, or a zombie waiting for whoever adopted it to reap it.
    let alive = || {
        kill(qemu, None).is_ok()
            && !fs::read_to_string(format!("/proc/{qemu}/stat"))
                .is_ok_and(|s| s.rsplit(')').next().is_some_and(|t| t.trim_start().starts_with('Z')))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let survived = alive();
    if survived {
        let _ = kill(qemu, Signal::SIGKILL);
    }
    assert!(!survived, "QEMU (pid {qemu}) outlived the runner killed with SIGKILL");
}
