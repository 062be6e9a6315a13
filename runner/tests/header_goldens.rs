//! The committed goldens against GICs other than QEMU's: synthetic headers
//! with other numbers of List Registers, priority and preemption bits
//! (all allowed by ICH_VTR_EL2 / GICH_VTR: 1 to 16 LRs, 5 to 8 priority
//! bits, 5 to 7 preemption bits, no more than the priority bits). Every
//! golden must evaluate for every one of them, the values that depend on
//! them must change with them, and a scenario that cannot exist must SKIP
//! with its reason.

use std::path::{Path, PathBuf};

use gic_case::GicVersion;
use runner::case::expr::{value_for_run, Params, Val};
use runner::judge::compare::compare;
use runner::judge::golden::Golden;
use runner::suite;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (List Registers, priority bits, preemption bits): QEMU's, the largest,
/// the smallest, and one in between.
const HEADERS: [(u32, u32, u32); 4] = [(4, 5, 5), (16, 8, 7), (1, 5, 5), (8, 6, 6)];

fn params(v: GicVersion, (lrs, pri, pre): (u32, u32, u32)) -> Params {
    // GICv2's List Registers carry 5 priority bits.
    if v == GicVersion::V2 {
        Params::synthetic(v, lrs, 5, 5)
    } else {
        Params::synthetic(v, lrs, pri, pre)
    }
}

fn golden(name: &str) -> Golden {
    Golden::load(&runner::case::inputs::golden_path(&root().join("expected"), name)).unwrap()
}

fn case(name: &str) -> runner::case::Case {
    let cases = runner::case::inputs::discover(&root().join("cases")).unwrap();
    cases.into_iter().find(|c| c.name == name).unwrap().parsed.unwrap()
}

/// The golden's value of `field` at `step` for a run with `p`.
fn value_at(g: &Golden, v: GicVersion, step: u64, field: &str, p: &Params) -> Val {
    let events = g.for_version(v).unwrap();
    let e = events.iter().find(|e| e["step"] == step).unwrap_or_else(|| panic!("no step {step}"));
    value_for_run(&e[field], p).unwrap()
}

#[test]
fn every_committed_golden_evaluates_for_every_header() {
    let cases = runner::case::inputs::discover(&root().join("cases")).unwrap();
    let mut evaluated = 0;
    for cf in &cases {
        let c = cf.parsed.as_ref().unwrap();
        let g = golden(&c.name);
        for &v in &c.gics {
            for h in HEADERS {
                let p = params(v, h);
                for e in g.for_version(v).unwrap() {
                    for (k, x) in e.as_object().unwrap() {
                        if runner::case::expr::source_of(x).is_some() {
                            value_for_run(x, &p).unwrap_or_else(|err| {
                                panic!("{} {} {:?} step {} {k}: {err}", c.name, v.name(), h, e["step"])
                            });
                            evaluated += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(evaluated > 500, "only {evaluated} expressions evaluated");
}

#[test]
fn committed_goldens_write_no_implementation_defined_literal() {
    let cases = runner::case::inputs::discover(&root().join("cases")).unwrap();
    for cf in &cases {
        let g = golden(&cf.name);
        let found = runner::check::implementation_defined_literals(&g);
        assert!(found.is_empty(), "{}: {found:?}", cf.name);
    }
    // The check itself sees each kind.
    let g = Golden::parse(
        r#"{"all":[{"step":1,"op":"read elrsr","LRs":[0,1,2,3]},{"step":2,"op":"read apr","ICH_AP0R<n>_EL2":["0x0"],"ICH_AP1R<n>_EL2":"=apr()"},{"step":3,"op":"guest read rpr","Priority":255},{"step":4,"op":"read elrsr","LRs":[]}]}"#,
    )
    .unwrap();
    let found = runner::check::implementation_defined_literals(&g);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("step 1: `LRs` lists empty List Registers"));
    // 0xf8 may be an active priority on GICv3/v4; it is the idle one only on GICv2.
    let rpr = |key: &str| {
        Golden::parse(&format!(r#"{{"{key}":[{{"step":1,"op":"guest read rpr","Priority":248}}]}}"#)).unwrap()
    };
    assert!(runner::check::implementation_defined_literals(&rpr("v3,v4")).is_empty());
    assert_eq!(runner::check::implementation_defined_literals(&rpr("all")).len(), 1);
    assert_eq!(runner::check::implementation_defined_literals(&rpr("v2")).len(), 1);
}

#[test]
fn elrsr_lists_every_implemented_list_register() {
    // hyp/eisr-ignores-hw-lr: every LR empty at step 8.
    let g = golden("hyp/eisr-ignores-hw-lr");
    let all = |n: i128| Val::List((0..n).map(Val::Int).collect());
    for v in [GicVersion::V2, GicVersion::V3] {
        assert_eq!(value_at(&g, v, 8, "LRs", &params(v, (4, 5, 5))), all(4));
        assert_eq!(value_at(&g, v, 8, "LRs", &params(v, (16, 8, 7))), all(16));
    }
    // lr/elrsr-tracks-free: LR2 in use, the others free, at step 8.
    let g = golden("lr/elrsr-tracks-free");
    let p = params(GicVersion::V3, (16, 8, 7));
    let want: Vec<Val> = (0..16).filter(|n| *n != 2).map(Val::Int).collect();
    assert_eq!(value_at(&g, GicVersion::V3, 8, "LRs", &p), Val::List(want));
}

#[test]
fn active_priorities_follow_the_preemption_bits() {
    // eoimode/dir-before-eoi-keeps-active-priority: Group 1 priority 0xa0 active at step 7.
    let name = "eoimode/dir-before-eoi-keeps-active-priority";
    let g = golden(name);
    let s = |v: Val| v.to_string();
    let ap1 = |h| s(value_at(&g, GicVersion::V3, 7, "ICH_AP1R<n>_EL2", &params(GicVersion::V3, h)));
    assert_eq!(ap1((4, 5, 5)), r#"["0x100000"]"#);
    assert_eq!(ap1((8, 6, 6)), r#"["0x0","0x100"]"#);
    assert_eq!(ap1((16, 8, 7)), r#"["0x0","0x0","0x10000","0x0"]"#);
    let ap0 = s(value_at(&g, GicVersion::V3, 7, "ICH_AP0R<n>_EL2", &params(GicVersion::V3, (16, 8, 7))));
    assert_eq!(ap0, r#"["0x0","0x0","0x0","0x0"]"#);
    // Where the text allows two readings, both, on each layout.
    let g2 = golden("priority/binary-point-same-group-priority");
    let v2 = value_at(&g2, GicVersion::V2, 7, "GICH_APR", &params(GicVersion::V2, (4, 5, 5)));
    assert_eq!(s(v2), r#"one of "0x10000", "0x100000""#);
    let v3 = value_at(&g2, GicVersion::V3, 7, "ICH_AP0R<n>_EL2", &params(GicVersion::V3, (4, 8, 7)));
    assert_eq!(s(v3), r#"one of ["0x0","0x0","0x1","0x0"], ["0x0","0x0","0x10000","0x0"]"#);
    // A run of a GIC with 7 preemption bits passes against the golden, QEMU's layout does not.
    let events = g.for_version(GicVersion::V3).unwrap();
    let p7 = params(GicVersion::V3, (16, 8, 7));
    let mut run: Vec<Value> = events.iter().map(|e| json!({"step": e["step"], "op": e["op"]})).collect();
    for (e, r) in events.iter().zip(run.iter_mut()) {
        for (k, x) in e.as_object().unwrap() {
            r[k] = value_for_run(x, &p7).unwrap().to_json().unwrap_or_else(|| json!(255));
        }
    }
    assert!(compare(&events, &run, &p7).diffs.is_empty(), "{name}");
    assert!(!compare(&events, &run, &params(GicVersion::V3, (4, 5, 5))).diffs.is_empty());
}

#[test]
fn the_idle_priority_and_unimplemented_priority_bits_follow_the_header() {
    let g = golden("lr/basic-group0");
    // GICv3/v4: 0xff whatever the priority bits (ICV_RPR_EL1: the number of
    // implemented bits cannot be read from it); GICv2: 0xff or 0xf8 (GICV_RPR).
    let idle = |v, h| value_at(&g, v, 8, "Priority", &params(v, h)).to_string();
    assert_eq!(idle(GicVersion::V3, (4, 5, 5)), "255");
    assert_eq!(idle(GicVersion::V3, (16, 8, 7)), "255");
    assert_eq!(idle(GicVersion::V2, (4, 5, 5)), "one of 255, 248");
    let g = golden("priority/pmr-unimplemented-bits");
    let pmr = |h| value_at(&g, GicVersion::V3, 5, "Priority", &params(GicVersion::V3, h));
    assert_eq!(pmr((4, 5, 5)), Val::Int(0x50));
    assert_eq!(pmr((4, 8, 7)), Val::Int(0x57));
    let g = golden("priority/binary-point-below-minimum-reads-minimum");
    let vbpr = |f, h| value_at(&g, GicVersion::V3, 4, f, &params(GicVersion::V3, h));
    assert_eq!((vbpr("VBPR0", (4, 5, 5)), vbpr("VBPR0", (4, 8, 7))), (Val::Int(2), Val::Int(0)));
    assert_eq!((vbpr("VBPR1", (4, 5, 5)), vbpr("VBPR1", (4, 6, 6))), (Val::Int(3), Val::Int(2)));
}

#[test]
fn scenarios_that_cannot_exist_skip_with_the_reason() {
    // A case using LR3 on a GIC with 2 List Registers.
    let c = case("lr/elrsr-tracks-free");
    assert!(c.lrs_needed() >= 3);
    let why = suite::unsupported(&c, &params(GicVersion::V3, (2, 5, 5))).unwrap();
    assert!(why.starts_with(&format!("the scenario needs {} List Registers", c.lrs_needed())), "{why}");
    assert!(suite::unsupported(&c, &params(GicVersion::V3, (16, 8, 7))).is_none());
    // A `requires:` line.
    let c = case("priority/lowest-level-is-masked-by-idle-pmr");
    let why = suite::unsupported(&c, &params(GicVersion::V3, (4, 8, 7))).unwrap();
    assert!(why.starts_with("the scenario requires `pri_bits == 5`"), "{why}");
    assert!(why.ends_with("it does not hold for this GIC (ListRegs = 3, PRIbits = 7, PREbits = 6)"), "{why}");
    assert!(suite::unsupported(&c, &params(GicVersion::V3, (4, 5, 5))).is_none());
    // Named active priorities hold ICH_AP*R0_EL2 only.
    let c = case("migrate/active-priority-carried");
    assert!(c.keeps_apr());
    assert!(suite::unsupported(&c, &params(GicVersion::V3, (4, 8, 7))).unwrap().contains("named value"));
    assert!(suite::unsupported(&c, &params(GicVersion::V3, (4, 5, 5))).is_none());
}
