//! The ITS and vLPI statements: `its <command> …`, `lpi`, `vlpi`, `vpe`.
//!
//! Each `its` statement is one ITS command named as in IHI 0069H (5.3 for
//! the physical and GICv4.0's virtual commands) with its operands
//! as `name value` pairs in any order (`device 1 event 0 intid 8192
//! collection 0`), PEs as `cpuN`. Ranges are the kernel's tables (README,
//! "ITS and vLPI statements"): DeviceIDs 0-255, collections 0-15, vPEs
//! 0-15, LPI INTIDs and vINTIDs 8192-16383.

use gic_case::its;
use gic_case::op::{EventCmd, ItsOp, Op};

use super::{echo, parse_decimal, CaseError, Parser, Tok};

/// LPI INTIDs (and vINTIDs) the kernel's configuration tables cover.
const LPI_RANGE: std::ops::RangeInclusive<u64> = its::FIRST_LPI as u64..=its::LPI_END as u64 - 1;

/// Operands an `its` statement gives, each at most once.
#[derive(Default)]
struct Operands {
    device: Option<u32>,
    event: Option<u32>,
    intid: Option<u32>,
    icid: Option<u16>,
    vpe: Option<u16>,
    vintid: Option<u32>,
    doorbell: Option<u32>,
    events: Option<u8>,
    cpus: Vec<u8>,
    invalid: bool,
}

/// What each command takes: (operand names in the order the error lists them).
fn takes(command: &str) -> Option<&'static [&'static str]> {
    Some(match command {
        "mapd" => &["device", "events|invalid"],
        "mapc" => &["collection", "cpuN", "[invalid]"],
        "mapti" => &["device", "event", "intid", "collection"],
        "mapi" => &["device", "event", "collection"],
        "int" | "clear" | "discard" | "inv" => &["device", "event"],
        "invall" => &["collection"],
        "movi" => &["device", "event", "collection"],
        "movall" => &["cpuN", "cpuN"],
        "sync" => &["cpuN"],
        "vmapp" => &["vpe", "cpuN", "[invalid]"],
        "vmapti" => &["device", "event", "vpe", "vintid", "doorbell"],
        "vmapi" | "vmovi" => &["device", "event", "vpe", "doorbell"],
        "vmovp" => &["vpe", "cpuN"],
        "vsync" | "vinvall" => &["vpe"],
        "msi" => &["event"],
        _ => return None,
    })
}

const COMMANDS: &str = "mapd, mapc, mapti, mapi, int, clear, discard, inv, invall, movi, movall, sync, vmapp, \
                        vmapti, vmapi, vmovi, vmovp, vsync, vinvall or msi";

impl Parser<'_> {
    /// `its <command> <operands>`.
    pub(super) fn its_statement(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let t1 = self.need(toks, 1, "an ITS command (mapd, mapc, mapti, int, …)")?;
        let command = t1.text.as_str();
        let Some(expected) = takes(command) else {
            return Err(self.err(t1.col, format!("unknown ITS command `{}`; expected {COMMANDS}", echo(command))));
        };
        let o = self.operands(toks, 2, command, expected)?;
        let missing = |what: &str| {
            self.err(self.end_col(toks), format!("`its {command}` needs `{what}`; it takes {}", expected.join(" ")))
        };
        let device = || o.device.ok_or_else(|| missing("device N"));
        let event = || o.event.ok_or_else(|| missing("event N"));
        let icid = || o.icid.ok_or_else(|| missing("collection N"));
        let vpe = || o.vpe.ok_or_else(|| missing("vpe N"));
        let doorbell = || o.doorbell.ok_or_else(|| missing("doorbell N|none"));
        let cpu = |n: usize| o.cpus.get(n).copied().ok_or_else(|| missing("cpuN"));
        let op = match command {
            "mapd" => {
                let event_bits = match (o.events, o.invalid) {
                    (Some(bits), false) => bits,
                    (None, true) => 0,
                    (Some(_), true) => {
                        return Err(self.err(t1.col, "`its mapd` takes `events N` or `invalid`, not both"))
                    }
                    (None, false) => return Err(missing("events N` or `invalid")),
                };
                ItsOp::Mapd { device: device()?, event_bits }
            }
            "mapc" => ItsOp::Mapc { icid: icid()?, cpu: cpu(0)?, valid: !o.invalid },
            "mapti" => ItsOp::Mapti {
                device: device()?,
                event: event()?,
                intid: o.intid.ok_or_else(|| missing("intid N"))?,
                icid: icid()?,
            },
            "mapi" => {
                ItsOp::Mapi { device: device()?, event: self.event_as_intid(toks, event()?, "mapi")?, icid: icid()? }
            }
            "int" | "clear" | "discard" | "inv" => {
                let cmd = match command {
                    "int" => EventCmd::Int,
                    "clear" => EventCmd::Clear,
                    "discard" => EventCmd::Discard,
                    _ => EventCmd::Inv,
                };
                ItsOp::Event { cmd, device: device()?, event: event()? }
            }
            "invall" => ItsOp::Invall { icid: icid()? },
            "movi" => ItsOp::Movi { device: device()?, event: event()?, icid: icid()? },
            "movall" => ItsOp::Movall { from: cpu(0)?, to: cpu(1)? },
            "sync" => ItsOp::Sync { cpu: cpu(0)? },
            "vmapp" => ItsOp::Vmapp { vpe: vpe()?, cpu: cpu(0)?, valid: !o.invalid },
            "vmapti" => ItsOp::Vmapti {
                device: device()?,
                event: event()?,
                vpe: vpe()?,
                vintid: o.vintid.ok_or_else(|| missing("vintid N"))?,
                doorbell: doorbell()?,
            },
            "vmapi" => ItsOp::Vmapi {
                device: device()?,
                event: self.event_as_intid(toks, event()?, "vmapi")?,
                vpe: vpe()?,
                doorbell: doorbell()?,
            },
            "vmovi" => ItsOp::Vmovi { device: device()?, event: event()?, vpe: vpe()?, doorbell: doorbell()? },
            "vmovp" => ItsOp::Vmovp { vpe: vpe()?, cpu: cpu(0)? },
            "vsync" => ItsOp::Vsync { vpe: vpe()? },
            "vinvall" => ItsOp::Vinvall { vpe: vpe()? },
            _ => ItsOp::Msi { event: event()? },
        };
        Ok(Op::Its(op))
    }

    /// The EventID of `its mapi`/`its vmapi`, which the command makes the
    /// (v)INTID, so it must be in [`LPI_RANGE`].
    fn event_as_intid(&self, toks: &[Tok], event: u32, command: &str) -> Result<u32, CaseError> {
        if LPI_RANGE.contains(&(event as u64)) {
            return Ok(event);
        }
        let (what, other) = if command == "mapi" {
            ("the LPI INTID", "mapti … intid N")
        } else {
            ("the vINTID", "vmapti … vintid N")
        };
        Err(self.err(
            self.col_of(toks, "event"),
            format!(
                "`its {command}` makes the EventID {what}, so it must be in {}-{}; use `its {other}` for \
                 another EventID",
                LPI_RANGE.start(),
                LPI_RANGE.end()
            ),
        ))
    }

    fn col_of(&self, toks: &[Tok], word: &str) -> usize {
        toks.iter().find(|t| t.text == word).map_or(1, |t| t.col)
    }

    /// Reads `name value` pairs, `cpuN` and `invalid` from `toks[i..]`,
    /// accepting only what `command` takes.
    fn operands(&self, toks: &[Tok], mut i: usize, command: &str, expected: &[&str]) -> Result<Operands, CaseError> {
        let mut o = Operands::default();
        let cpus_taken = expected.iter().filter(|e| **e == "cpuN").count();
        while i < toks.len() {
            let t = &toks[i];
            let word = t.text.as_str();
            let allowed =
                |name: &str| expected.iter().any(|e| e.trim_matches(['[', ']']).split('|').any(|x| x == name));
            if let Some(n) = word.strip_prefix("cpu").filter(|n| !n.is_empty()) {
                let cpu = parse_decimal(n).filter(|c| *c < gic_case::proto::MAX_CPUS as u64).ok_or_else(|| {
                    self.err(
                        t.col,
                        format!(
                            "expected `cpuN` with N from 0 to {}, found `{}`",
                            gic_case::proto::MAX_CPUS - 1,
                            echo(word)
                        ),
                    )
                })?;
                if o.cpus.len() == cpus_taken {
                    return Err(
                        self.err(t.col, format!("`its {command}` takes {} `cpuN`; this one is extra", cpus_taken))
                    );
                }
                o.cpus.push(cpu as u8);
                i += 1;
                continue;
            }
            if !allowed(word) {
                return Err(self.err(
                    t.col,
                    format!("`its {command}` does not take `{}`; it takes {}", echo(word), expected.join(" ")),
                ));
            }
            if word == "invalid" {
                o.invalid = true;
                i += 1;
                continue;
            }
            let twice = || self.err(t.col, format!("`{word}` is given twice"));
            match word {
                "device" => {
                    let v = self.num(
                        toks,
                        i + 1,
                        "a DeviceID (0-255, the kernel's device table)",
                        its::MAX_DEVICES as u64 - 1,
                    )?;
                    o.device.replace(v as u32).map_or(Ok(()), |_| Err(twice()))?;
                }
                "event" => {
                    let v = self.num(toks, i + 1, "an EventID", u32::MAX as u64)?;
                    o.event.replace(v as u32).map_or(Ok(()), |_| Err(twice()))?;
                }
                "intid" => {
                    let v = self.lpi(toks, i + 1, "an LPI INTID")?;
                    o.intid.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "vintid" => {
                    let v = self.lpi(toks, i + 1, "a vINTID")?;
                    o.vintid.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "collection" => {
                    let v = self.num(
                        toks,
                        i + 1,
                        "an ICID (0-15, the kernel's collection table)",
                        its::MAX_ICIDS as u64 - 1,
                    )?;
                    o.icid.replace(v as u16).map_or(Ok(()), |_| Err(twice()))?;
                }
                "vpe" => {
                    let v =
                        self.num(toks, i + 1, "a vPEID (0-15, the kernel's vPE table)", its::MAX_VPES as u64 - 1)?;
                    o.vpe.replace(v as u16).map_or(Ok(()), |_| Err(twice()))?;
                }
                "doorbell" => {
                    let v = if toks.get(i + 1).is_some_and(|t| t.text == "none") {
                        its::NO_DOORBELL
                    } else {
                        self.lpi(toks, i + 1, "a doorbell LPI INTID or `none`")?
                    };
                    o.doorbell.replace(v).map_or(Ok(()), |_| Err(twice()))?;
                }
                "events" => {
                    let v = self.num(
                        toks,
                        i + 1,
                        "a number of EventIDs (a power of two, 2-16384)",
                        its::MAX_EVENTS as u64,
                    )?;
                    if v < 2 || !v.is_power_of_two() {
                        return Err(self.err(
                            toks[i + 1].col,
                            format!("`events` must be a power of two from 2 to 16384 (the ITT covers 2^Size+1 EventIDs), found {v}"),
                        ));
                    }
                    o.events.replace(v.trailing_zeros() as u8).map_or(Ok(()), |_| Err(twice()))?;
                }
                _ => unreachable!("`allowed` admits only the names above"),
            }
            i += 2;
        }
        Ok(o)
    }

    /// An LPI INTID or vINTID in the kernel's tables (8192-16383).
    pub(super) fn lpi(&self, toks: &[Tok], i: usize, what: &str) -> Result<u32, CaseError> {
        let what = format!("{what} ({}-{})", LPI_RANGE.start(), LPI_RANGE.end());
        let v = self.num(toks, i, &what, u32::MAX as u64)?;
        if !LPI_RANGE.contains(&v) {
            return Err(self.err(toks[i].col, format!("{v} is not {what}")));
        }
        Ok(v as u32)
    }

    /// `lpi N prio P enable|disable` and `vlpi N prio P enable|disable`.
    pub(super) fn lpi_config(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let virtual_ = toks[0].text == "vlpi";
        let intid = self.lpi(toks, 1, if virtual_ { "a vINTID" } else { "an LPI INTID" })?;
        let p = self.need(toks, 2, "`prio`")?;
        if p.text != "prio" {
            return Err(self.err(p.col, format!("expected `prio`, found `{}`", echo(&p.text))));
        }
        let prio = self.num(toks, 3, "a priority (0-255)", 255)? as u8;
        let e = self.need(toks, 4, "`enable` or `disable`")?;
        let enable = match e.text.as_str() {
            "enable" => true,
            "disable" => false,
            o => return Err(self.err(e.col, format!("expected `enable` or `disable`, found `{}`", echo(o)))),
        };
        self.no_more(toks, 5)?;
        Ok(Op::LpiConfig { intid, prio, enable, virtual_ })
    }

    /// `vpe V resident|nonresident`.
    pub(super) fn vpe_statement(&self, toks: &[Tok]) -> Result<Op, CaseError> {
        let vpe = self.num(toks, 1, "a vPEID (0-15, the kernel's vPE table)", its::MAX_VPES as u64 - 1)? as u16;
        let t = self.need(toks, 2, "`resident` or `nonresident`")?;
        let resident = match t.text.as_str() {
            "resident" => true,
            "nonresident" => false,
            o => return Err(self.err(t.col, format!("expected `resident` or `nonresident`, found `{}`", echo(o)))),
        };
        self.no_more(toks, 3)?;
        Ok(Op::Vpe { vpe, resident })
    }
}

/// The PEs an op names (ITS targets), for the `smp:` check.
pub(super) fn cpus_named(op: &Op) -> Vec<u8> {
    match op {
        Op::Its(
            ItsOp::Mapc { cpu, .. } | ItsOp::Sync { cpu } | ItsOp::Vmapp { cpu, .. } | ItsOp::Vmovp { cpu, .. },
        ) => {
            vec![*cpu]
        }
        Op::Its(ItsOp::Movall { from, to }) => vec![*from, *to],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gic_case::op::{EventCmd, ItsOp, Op};
    use gic_case::GicVersion;

    use super::super::{parse, Case, CaseError, StmtKind};

    const HEAD: &str = "aim: a\nspec: IHI0069H 5.3\ngic: v3 v4\nsmp: 2\nrequires: ITS_VMAPP == 0\n";

    fn parse_str(text: &str) -> Result<Case, CaseError> {
        parse(Path::new("cases/its/x.case"), "its/x", text)
    }

    fn ops(body: &str) -> Vec<Op> {
        let c = parse_str(&format!("{HEAD}{body}")).unwrap();
        c.stmts
            .iter()
            .map(|s| match &s.kind {
                StmtKind::Op(op) => *op,
                k => panic!("{k:?}"),
            })
            .collect()
    }

    fn err(body: &str) -> String {
        parse_str(&format!("{HEAD}{body}")).unwrap_err().to_string()
    }

    #[test]
    fn every_its_statement_parses_to_its_command() {
        let got = ops("its mapd device 1 events 32\n\
             its mapd device 255 invalid\n\
             its mapc collection 3 cpu1\n\
             its mapc cpu0 collection 0 invalid\n\
             its mapti device 1 event 0 intid 8192 collection 0\n\
             its mapti collection 2 intid 16383 event 4294967295 device 2\n\
             its mapi device 1 event 8200 collection 1\n\
             its int device 1 event 0\n\
             its clear device 1 event 1\n\
             its discard device 1 event 2\n\
             its inv device 1 event 3\n\
             its invall collection 15\n\
             its movi device 1 event 0 collection 1\n\
             its movall cpu0 cpu1\n\
             its sync cpu1\n\
             its vmapp vpe 0 cpu0\n\
             its vmapp vpe 15 cpu1 invalid\n\
             its vmapti device 1 event 0 vpe 0 vintid 8192 doorbell 8300\n\
             its vmapi device 1 event 8193 vpe 1 doorbell none\n\
             its vmovi device 1 event 0 vpe 1 doorbell 8301\n\
             its vmovp vpe 0 cpu1\n\
             its vsync vpe 2\n\
             its vinvall vpe 3\n\
             its msi event 7\n\
             lpi 8192 prio 0xa0 enable\n\
             vlpi 16383 prio 0 disable\n\
             vpe 4 resident\n\
             vpe 4 nonresident\n\
             wait irq 20ms\n\
             phys eoi lpi 8192\n\
             phys ack 20ms\n");
        use ItsOp::*;
        let want = vec![
            Op::Its(Mapd { device: 1, event_bits: 5 }),
            Op::Its(Mapd { device: 255, event_bits: 0 }),
            Op::Its(Mapc { icid: 3, cpu: 1, valid: true }),
            Op::Its(Mapc { icid: 0, cpu: 0, valid: false }),
            Op::Its(Mapti { device: 1, event: 0, intid: 8192, icid: 0 }),
            Op::Its(Mapti { device: 2, event: u32::MAX, intid: 16383, icid: 2 }),
            Op::Its(Mapi { device: 1, event: 8200, icid: 1 }),
            Op::Its(Event { cmd: EventCmd::Int, device: 1, event: 0 }),
            Op::Its(Event { cmd: EventCmd::Clear, device: 1, event: 1 }),
            Op::Its(Event { cmd: EventCmd::Discard, device: 1, event: 2 }),
            Op::Its(Event { cmd: EventCmd::Inv, device: 1, event: 3 }),
            Op::Its(Invall { icid: 15 }),
            Op::Its(Movi { device: 1, event: 0, icid: 1 }),
            Op::Its(Movall { from: 0, to: 1 }),
            Op::Its(Sync { cpu: 1 }),
            Op::Its(Vmapp { vpe: 0, cpu: 0, valid: true }),
            Op::Its(Vmapp { vpe: 15, cpu: 1, valid: false }),
            Op::Its(Vmapti { device: 1, event: 0, vpe: 0, vintid: 8192, doorbell: 8300 }),
            Op::Its(Vmapi { device: 1, event: 8193, vpe: 1, doorbell: 1023 }),
            Op::Its(Vmovi { device: 1, event: 0, vpe: 1, doorbell: 8301 }),
            Op::Its(Vmovp { vpe: 0, cpu: 1 }),
            Op::Its(Vsync { vpe: 2 }),
            Op::Its(Vinvall { vpe: 3 }),
            Op::Its(Msi { event: 7 }),
            Op::LpiConfig { intid: 8192, prio: 0xa0, enable: true, virtual_: false },
            Op::LpiConfig { intid: 16383, prio: 0, enable: false, virtual_: true },
            Op::Vpe { vpe: 4, resident: true },
            Op::Vpe { vpe: 4, resident: false },
            Op::WaitIrq(20),
            Op::PhysEoi(8192, gic_case::op::Group::G1),
            Op::PhysAckWithin(gic_case::op::Group::G1, 20),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn its_errors_are_located_and_say_what_is_expected() {
        let at = |s: &str| s.trim_start_matches("cases/its/x.case:").to_string();
        assert_eq!(
            at(&err("its mapx device 1\n")),
            "6:5: unknown ITS command `mapx`; expected mapd, mapc, mapti, mapi, int, clear, discard, inv, invall, \
             movi, movall, sync, vmapp, vmapti, vmapi, vmovi, vmovp, vsync, vinvall or msi"
        );
        assert_eq!(at(&err("its int device 1\n")), "6:17: `its int` needs `event N`; it takes device event");
        assert_eq!(
            at(&err("its int device 1 event 0 collection 2\n")),
            "6:26: `its int` does not take `collection`; it takes device event"
        );
        assert_eq!(at(&err("its int device 1 device 2 event 0\n")), "6:18: `device` is given twice");
        assert_eq!(
            at(&err("its mapd device 256 events 2\n")),
            "6:17: a DeviceID (0-255, the kernel's device table) 256 is out of range (at most 255)"
        );
        assert_eq!(
            at(&err("its mapd device 1 events 24\n")),
            "6:26: `events` must be a power of two from 2 to 16384 (the ITT covers 2^Size+1 EventIDs), found 24"
        );
        assert_eq!(
            at(&err("its mapd device 1 events 2 invalid\n")),
            "6:5: `its mapd` takes `events N` or `invalid`, not both"
        );
        assert_eq!(
            at(&err("its mapti device 1 event 0 intid 40 collection 0\n")),
            "6:34: 40 is not an LPI INTID (8192-16383)"
        );
        assert_eq!(at(&err("its mapi device 1 event 3 collection 0\n")).split(':').nth(1), Some("19"));
        assert_eq!(at(&err("its sync cpu2\n")), "6:1: cpu2 does not exist: the case says `smp: 2` (PEs cpu0..cpu1)");
        assert_eq!(at(&err("its movall cpu0\n")), "6:16: `its movall` needs `cpuN`; it takes cpuN cpuN");
        assert_eq!(at(&err("its sync cpu0 cpu1\n")), "6:15: `its sync` takes 1 `cpuN`; this one is extra");
        assert_eq!(at(&err("lpi 8192 prio 0xa0 on\n")), "6:20: expected `enable` or `disable`, found `on`");
        assert_eq!(at(&err("vpe 1 awake\n")), "6:7: expected `resident` or `nonresident`, found `awake`");
        assert_eq!(at(&err("phys eoi lpi 100\n")), "6:14: 100 is not an LPI INTID (8192-16383)");
        assert_eq!(
            at(&err("wait doorbell\n")),
            "6:6: expected `maintenance` or `irq`, found `doorbell` (the guest waits with `guest wait virq`)"
        );
    }

    #[test]
    fn its_statements_compile_only_where_the_gic_has_them() {
        let c = parse_str(
            "aim: a\nspec: s\ngic: v2 v3 v4\nrequires: ITS_VMAPP == 0\nits int device 1 event 0\nvpe 0 resident\n",
        )
        .unwrap();
        let e = c.compile(GicVersion::V2).unwrap_err().to_string();
        assert!(e.contains("GICv2 has no ITS or LPIs (GICv3 or GICv4 only)"), "{e}");
        assert!(e.starts_with("cases/its/x.case:5:"), "{e}");
        let e = c.compile(GicVersion::V3).unwrap_err().to_string();
        assert!(e.starts_with("cases/its/x.case:6:") && e.contains("GICv4 vLPIs"), "{e}");
        let e = parse_str("aim: a\nspec: s\ngic: v3\nrequires: ITS_VMAPP == 0\nits vsync vpe 0\n")
            .unwrap()
            .compile(GicVersion::V3)
            .unwrap_err();
        assert!(e.to_string().contains("GICv4 direct injection"), "{e}");
        parse_str("aim: a\nspec: s\ngic: v4\nrequires: ITS_VMAPP == 0\nits vsync vpe 0\nvpe 0 resident\n")
            .unwrap()
            .compile(GicVersion::V4)
            .unwrap();
    }

    #[test]
    fn gicv4_0_statements_need_the_requires_line_that_skips_a_gicv4_1_its() {
        for stmt in
            ["its vsync vpe 0", "vpe 0 resident", "vlpi 8192 prio 0xa0 enable", "on cpu1 {\n  vpe 1 resident\n}"]
        {
            let e = parse_str(&format!("aim: a\nspec: s\ngic: v4\nsmp: 2\nlpi 8192 prio 0xa0 enable\n{stmt}\n"))
                .unwrap_err();
            let e = e.to_string();
            assert!(e.contains("requires: ITS_VMAPP == 0") && e.contains("GICv4.0"), "{stmt}: {e}");
            let line = if stmt.starts_with("on") { 7 } else { 6 };
            assert!(e.starts_with(&format!("cases/its/x.case:{line}:1:")), "{stmt}: {e}");
        }
        // Physical LPIs and commands need nothing; the line may carry spaces and a comment.
        parse_str("aim: a\nspec: s\ngic: v3\nlpi 8192 prio 0xa0 enable\nits sync cpu0\n").unwrap();
        parse_str("aim: a\nspec: s\ngic: v4\nrequires: ITS_VMAPP==0  # GICv4.0\nits vsync vpe 0\n").unwrap();
    }
}
