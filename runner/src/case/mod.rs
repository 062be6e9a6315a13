//! The case language: parsing, validation and compilation to the op words
//! the kernel runs (`gic_case::op`).
//!
//! A case file starts with header lines (`aim:`, `spec:`, `gic:`, `smp:`,
//! `timeout:`), then one statement per line; `#` starts a comment. The
//! grammar is in README.md ("Writing a case"). Every error names the file,
//! the line and the column of the offending token, and what was expected.

mod compile;
mod crosspe;
pub mod expr;
pub mod inputs;
mod its;
mod lex;
mod parse;
mod registers;
mod statements;
mod validate;

pub use lex::parse_number;
use lex::*;
pub use parse::parse;
use registers::*;
use statements::*;
use validate::*;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gic_case::lr::{Lr, LrState};
use gic_case::op::{Group, GuestOp, Op, PhysState};
use gic_case::proto;
use gic_case::regs::{self, Access, RegId, RegInfo, Side};
use gic_case::vif::{self, VifReg};
use gic_case::GicVersion;

use crate::text::echo;

/// A located error in a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseError {
    /// The case file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub col: usize,
    /// What is wrong and what was expected.
    pub msg: String,
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.col, self.msg)
    }
}

impl std::error::Error for CaseError {}

/// One statement, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// 1-based line.
    pub line: usize,
    /// 1-based statement number, as reported in events (`step`).
    pub step: u16,
    /// What it does.
    pub kind: StmtKind,
}

/// Statement kinds; most compile to one op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    /// An op whose validity does not depend on the GIC version.
    Op(Op),
    /// A List Register write (fields checked per GIC version).
    LrWrite {
        /// LR number.
        n: u32,
        /// Fields.
        lr: Lr,
        /// Column of the first field, for errors.
        col: usize,
    },
    /// A register access by spec name (existence checked per GIC version).
    Reg {
        /// The name as written.
        name: String,
        /// Its column, for errors.
        col: usize,
        /// What the name resolves to.
        info: RegInfo,
        /// The value to write, or `None` for a read.
        write: Option<Value>,
        /// Whether the guest (EL1) performs the access.
        guest: bool,
        /// `of cpuN`: another PE's Redistributor register, with the column
        /// of `cpuN`.
        of: Option<(u32, usize)>,
    },
    /// `on cpuN { … }`, or `on cpuN async { … }` (joined later with `join cpuN`).
    OnCpu {
        /// Target PE.
        cpu: u32,
        /// Column of `cpuN`, for errors.
        col: usize,
        /// Statements in the block.
        body: Vec<Stmt>,
        /// Whether the block runs alongside CPU0 (`async`).
        concurrent: bool,
    },
    /// `read … as NAME`: a read whose raw value is kept under a name (and not printed).
    Kept {
        /// The read.
        read: Box<StmtKind>,
        /// The name's slot.
        slot: u32,
    },
}

/// A value a statement writes: a literal, or a value kept by `read … as NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A number written in the case.
    Lit(u64),
    /// The slot of a named value.
    Named(u32),
}

/// A parsed case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Path of the case file.
    pub file: PathBuf,
    /// Name: path under the cases directory without `.case`, e.g. `lr/basic`.
    pub name: String,
    /// `aim:` text.
    pub aim: String,
    /// `spec:` text (section citations).
    pub spec: String,
    /// `gic:` versions the case applies to.
    pub gics: Vec<GicVersion>,
    /// `smp:` number of PEs.
    pub smp: u32,
    /// `timeout:` for one QEMU run.
    pub timeout: Duration,
    /// `requires:` lines as (line, expression): conditions on what the GIC
    /// implements (its header, see [`crate::case::expr`]) without which the
    /// scenario cannot exist; a run on a GIC that does not meet one SKIPs.
    pub requires: Vec<(usize, String)>,
    /// The statements.
    pub stmts: Vec<Stmt>,
    /// Whose view of the GIC the case takes ([`View::of`] its name).
    pub view: View,
}

/// Whose view of the GIC a case takes, which decides where it runs
/// (`crate::launch::target`) and which statements it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum View {
    /// The hypervisor's: the test kernel at EL2 drives the virtualization
    /// interface (List Registers, ICH_*/GICH_*, the vCPU's ICV_*/GICV_*)
    /// and the physical GIC. Every case outside `guest/`.
    Hypervisor,
    /// A VM's: the test kernel at EL1 sees a GIC as a guest does, through
    /// the distributor, redistributors, CPU interface (ICC_* or GICC_*) and
    /// ITS, with no virtualization interface. Cases under `guest/`, which
    /// any hypervisor must pass for its guests (on bare QEMU the GIC model
    /// itself is the reference).
    Guest,
}

impl View {
    /// The view of the case named `name` (`group/name`): `guest/…` is
    /// [`View::Guest`].
    pub fn of(name: &str) -> View {
        if name.starts_with("guest/") {
            View::Guest
        } else {
            View::Hypervisor
        }
    }

    /// `hypervisor` or `guest`, as `list` and the reports show it.
    pub fn name(self) -> &'static str {
        match self {
            View::Hypervisor => "hypervisor",
            View::Guest => "guest",
        }
    }
}

/// Default time limit of one QEMU run of a case.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound of `guest wait virq` and `wait maintenance`, in ms.
pub const DEFAULT_WAIT_MS: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "aim: a\nspec: IHI0069H 6.3\ngic: v2 v3 v4\n";

    fn parse_str(text: &str) -> Result<Case, CaseError> {
        parse(Path::new("cases/t/x.case"), "t/x", text)
    }

    fn err(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    /// Byte and 32-bit-half accesses where the spec allows them, and only there.
    #[test]
    fn narrower_register_accesses() {
        use gic_case::regs::{Frame, RegId};
        let v3 = "aim: a\nspec: IHI0069H 12.9.22\ngic: v3\n";
        let c = parse_str(&format!(
            "{v3}read GICD_IPRIORITYR12 byte 1\nwrite GICD_ITARGETSR8 byte 3 0x2\nread GICD_IROUTER48 high\nwrite GICD_IROUTER48 low 0x1\n"
        ))
        .unwrap();
        let decoded: Vec<Op> = c.ops(GicVersion::V3).unwrap().into_iter().map(|(_, op)| op).collect();
        let mmio = |offset, width| RegId::Mmio { frame: Frame::Gicd, offset, width };
        assert_eq!(
            decoded,
            [
                Op::RegRead(mmio(0x431, 8)),
                Op::RegWrite(mmio(0x823, 8), 2),
                Op::RegRead(mmio(0x6184, 32)),
                Op::RegWrite(mmio(0x6180, 32), 1),
            ]
        );
        assert_eq!(gic_case::regs::name_of(mmio(0x431, 8)), Some(("GICD_IPRIORITYR", Some(12))));
        assert_eq!(gic_case::regs::part_of(mmio(0x431, 8)), Some(gic_case::regs::Part::Byte(1)));
        assert_eq!(gic_case::regs::part_of(mmio(0x6184, 32)), Some(gic_case::regs::Part::High));
        let e = err(&format!("{v3}read GICD_ICFGR2 byte 1\n"));
        assert!(e.contains(":4:18: GICD_ICFGR2 cannot be accessed by `byte`: the spec allows whole-register"), "{e}");
        let e = err(&format!("{v3}read GICD_IPRIORITYR1 high\n"));
        assert!(e.contains("it allows `byte 0`-`byte 3`"), "{e}");
        let e = err(&format!("{v3}read GICD_IPRIORITYR1 byte 4\n"));
        assert!(e.contains(":4:28: the byte number 4 is out of range (at most 3)"), "{e}");
        let v2 = parse_str("aim: a\nspec: IHI0069H 12.9.22\ngic: v2\nread GICD_IROUTER40\n").unwrap();
        assert!(v2.compile(GicVersion::V2).unwrap_err().to_string().contains("does not exist on GICv2"));
    }

    /// A guest-view case has what a VM has, and nothing of EL2.
    #[test]
    fn guest_view_cases_refuse_what_needs_the_hypervisor() {
        let guest = |body: &str| parse(Path::new("cases/guest/x.case"), "guest/x", &format!("{HEAD}{body}"));
        let ok = guest("read GICD_TYPER\nwrite GICD_ISENABLER1 0x10000\nphys pend spi 48\nphys ack\nphys eoi 48\n");
        assert_eq!(ok.unwrap().view, View::Guest);
        for (body, what) in [
            ("read GICD_TYPER\nlr 0 = vintid 48 group 1 prio 0xa0 pending\n", ":5:1: a List Register needs"),
            ("read lr 0\n", ":4:1: a List Register needs"),
            ("read hcr\n", ":4:1: a register of the virtualization interface needs"),
            ("read ICH_VTR_EL2\n", ":4:1: `ICH_VTR_EL2`, a register of the virtualization interface needs"),
            ("guest read ICV_PMR_EL1\n", ":4:1: `ICV_PMR_EL1`, a register of the vCPU needs"),
            ("guest ack group1\n", ":4:1: a vCPU operation needs"),
            ("on cpu0 {\n  wait maintenance\n}\n", ":5:1: the maintenance interrupt needs"),
        ] {
            let e = guest(body).unwrap_err().to_string();
            assert!(e.starts_with("cases/guest/x.case") && e.contains(what), "{body:?}: {e}");
            assert!(e.contains("needs the hypervisor's view (EL2)"), "{e}");
        }
        assert_eq!(parse_str(&format!("{HEAD}read lr 0\n")).unwrap().view, View::Hypervisor);
    }

    #[test]
    fn parses_header_and_statements() {
        let c = parse_str(
            "# comment\naim: first\naim: second\nspec: A\nspec: B\ngic: v4 v2\nsmp: 2\ntimeout: 5s\n\n\
             lr 0 = vintid 27 pintid 27 hw group 1 prio 0xa0 pending  # trailing\n\
             guest ack\nphys ack group0\nread phys active ppi 23\non cpu1 {\n  phys pend sgi 3\n}\nwait maintenance 50ms\n",
        )
        .unwrap();
        assert_eq!(c.aim, "first second");
        assert_eq!(c.spec, "A; B");
        assert_eq!(c.gics, vec![GicVersion::V2, GicVersion::V4]);
        assert_eq!((c.smp, c.timeout), (2, Duration::from_secs(5)));
        let steps: Vec<u16> = c.stmts.iter().map(|s| s.step).collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5, 7]);
        assert_eq!(c.stmts[1].kind, StmtKind::Op(Op::Guest(GuestOp::Ack(Group::G1))));
        assert_eq!(c.stmts[2].kind, StmtKind::Op(Op::PhysAck(Group::G0)));
        assert_eq!(c.stmts[3].kind, StmtKind::Op(Op::PhysRead(23, PhysState::Active)));
        match &c.stmts[4].kind {
            StmtKind::OnCpu { cpu: 1, body, .. } => {
                assert_eq!(body[0].step, 6);
                assert_eq!(body[0].kind, StmtKind::Op(Op::PhysPend(3)));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(c.stmts[5].kind, StmtKind::Op(Op::WaitMaintenance(50)));
        match &c.stmts[0].kind {
            StmtKind::LrWrite { n: 0, lr, .. } => {
                assert_eq!(lr.to_v2(), 0x9a00_6c1b | (1 << 30));
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn queue_and_serve() {
        let c = parse_str(&format!("{HEAD}queue vintid 40 group 0 prio 0xc0\nqueue vintid 41\nserve 16\n")).unwrap();
        assert_eq!(c.stmts[0].kind, StmtKind::Op(Op::Queue(40, 0, 0xc0)));
        assert_eq!(c.stmts[1].kind, StmtKind::Op(Op::Queue(41, 1, 0xa0)));
        assert_eq!(c.stmts[2].kind, StmtKind::Op(Op::Serve(16)));
        assert_eq!(err(&format!("{HEAD}queue group 0\n")), "cases/t/x.case:4:1: `queue` needs `vintid N`");
        assert_eq!(err(&format!("{HEAD}serve 0\n")), "cases/t/x.case:4:7: `serve` needs at least 1");
        assert_eq!(err(&format!("{HEAD}timer maybe\n")), "cases/t/x.case:4:7: expected `on` or `off`, found `maybe`");
    }

    #[test]
    fn hcr_and_vmcr_fields() {
        let c = parse_str(&format!("{HEAD}hcr = En LRENPIE EOIcount 3\nvmcr = VENG1 VPMR 0xf0 VBPR1 2\n")).unwrap();
        assert_eq!(c.stmts[0].kind, StmtKind::Op(Op::VifWrite(VifReg::Hcr, 1 | 4 | (3 << 27))));
        assert_eq!(c.stmts[1].kind, StmtKind::Op(Op::VifWrite(VifReg::Vmcr, 2 | (0xf0 << 24) | (2 << 18))));
    }

    #[test]
    fn requires_lines_are_expressions_located_when_wrong() {
        let c =
            parse_str("aim: a\nspec: s\ngic: v3\nrequires: pri_bits == 5  # why\nrequires: num_lrs >= 2\nread hcr\n")
                .unwrap();
        assert_eq!(c.requires, [(4, "pri_bits == 5".to_string()), (5, "num_lrs >= 2".to_string())]);
        let p = crate::case::expr::Params::synthetic(GicVersion::V3, 1, 8, 7);
        let unmet = c.unmet_requirements(&p);
        assert_eq!(unmet.len(), 2);
        assert_eq!(unmet[0], (4, "pri_bits == 5".to_string(), "it does not hold".to_string()));
        assert!(c.unmet_requirements(&crate::case::expr::Params::synthetic(GicVersion::V3, 4, 5, 5)).is_empty());
        assert_eq!(
            parse_str("aim: a\nspec: s\ngic: v3\nrequires: pri_bit == 5\n").unwrap_err().to_string(),
            "cases/t/x.case:4:11: `requires:` unknown name `pri_bit`; names: num_lrs, pri_bits, pre_bits, bpr0_min, bpr1_min, idle_priority, ListRegs, PRIbits, PREbits, TDS, cpus, ArchRev, ITLinesNumber, SPIs, PPIs, ICC_PRIbits, No1N, SecurityExtn, has_ITS, has_UART, ITS_ID_bits, ITS_VMAPP"
        );
    }

    #[test]
    fn errors_name_file_line_column_and_expectation() {
        assert_eq!(err(&format!("{HEAD}phys pend ppi 40\n")), "cases/t/x.case:4:15: 40 is not a PPI INTID (16-31)");
        assert_eq!(
            err(&format!("{HEAD}guest frobnicate\n")),
            "cases/t/x.case:4:7: unknown guest operation `frobnicate`; expected ack, eoi, dir, pmr, bpr, eoimode, enable, disable, wait virq, read, write"
        );
        assert_eq!(
            err(&format!("{HEAD}lr 0 = vintid 3 prio\n")),
            "cases/t/x.case:4:21: expected a priority (0-255) here, found end of line"
        );
        assert_eq!(err(&format!("{HEAD}lr 0 vintid 3\n")), "cases/t/x.case:4:6: expected `=`, found `vintid`");
        assert_eq!(
            err(&format!("{HEAD}lr 0 = vintid 3 group 1\n")),
            "cases/t/x.case:4:8: a List Register write must give the State (invalid, pending, active or pending+active)"
        );
        assert_eq!(
            err(&format!("{HEAD}guest ack group1 extra\n")),
            "cases/t/x.case:4:18: unexpected `extra`: the statement ends before it"
        );
        assert_eq!(err(&format!("{HEAD}hcr = En Bogus\n")),
            "cases/t/x.case:4:10: unknown hcr field `Bogus`; expected one of En, UIE, LRENPIE, NPIE, VGrp0EIE, VGrp0DIE, VGrp1EIE, VGrp1DIE, EOIcount");
        assert!(
            err(&format!("{HEAD}read ICH_FOO_EL2\n")).starts_with("cases/t/x.case:4:6: unknown register `ICH_FOO_EL2`")
        );
        assert_eq!(
            err("aim: a\nspec: b\ngic: v2 v5\n"),
            "cases/t/x.case:3:9: unknown GIC version `v5`; expected v2, v3 or v4"
        );
        assert_eq!(err("aim: a\nspec: b\n"), "cases/t/x.case:1:1: missing `gic:` header line");
        assert_eq!(
            err(&format!("{HEAD}on cpu1 {{\nguest ack\n")),
            "cases/t/x.case:4:4: `on cpuN {` block is never closed with `}`"
        );
        assert_eq!(
            err(&format!("{HEAD}on cpu1 {{\n}}\n")),
            "cases/t/x.case:4:4: cpu1 does not exist: the case says `smp: 1` (PEs cpu0..cpu0)"
        );
        assert_eq!(err(&format!("{HEAD}}}\n")), "cases/t/x.case:4:1: `}` without an open `on cpuN {` block");
        assert_eq!(
            err(&format!("{HEAD}guest ack\nsmp: 2\n")),
            "cases/t/x.case:5:1: header lines (`key: value`) must come before the first statement"
        );
        assert_eq!(
            err(&format!("{HEAD}wait maintenance 5s\n")),
            "cases/t/x.case:4:18: expected a bound such as `200ms` (1ms to 10000ms, decimal), found `5s`"
        );
        assert_eq!(
            err("aim: a\nspec: b\ngic: v3\ncolour: red\n"),
            "cases/t/x.case:4:1: unknown header `colour:`; expected aim, spec, gic, smp, timeout or requires"
        );
    }

    #[test]
    fn version_specific_errors_come_from_compile() {
        let c = parse_str(&format!("{HEAD}read ICH_HCR_EL2\n")).unwrap();
        assert!(c.compile(GicVersion::V3).is_ok());
        assert_eq!(
            c.compile(GicVersion::V2).unwrap_err().to_string(),
            "cases/t/x.case:4:6: register ICH_HCR_EL2 does not exist on GICv2; list only the versions it applies to in `gic:`"
        );
        let c = parse_str(&format!("{HEAD}lr 0 = vintid 8192 group 1 prio 0xa0 pending\n")).unwrap();
        assert!(c.compile(GicVersion::V3).is_ok());
        assert_eq!(
            c.compile(GicVersion::V2).unwrap_err().to_string(),
            "cases/t/x.case:4:8: on GICv2: vINTID does not fit GICH_LR.VirtualID (10 bits, IHI 0048B 5.3 GICH_LR<n>)"
        );
        let c = parse_str(&format!("{HEAD}guest read ICH_HCR_EL2\n")).unwrap();
        assert_eq!(
            c.compile(GicVersion::V3).unwrap_err().to_string(),
            "cases/t/x.case:4:12: ICH_HCR_EL2 is accessed from the other side: use `read`/`write` (hypervisor side)"
        );
        let c = parse_str(&format!("{HEAD}write ICH_VTR_EL2 1\n")).unwrap();
        assert_eq!(c.compile(GicVersion::V3).unwrap_err().to_string(), "cases/t/x.case:4:7: ICH_VTR_EL2 is read-only");
    }

    #[test]
    fn compiles_header_and_on_cpu_block() {
        let c = parse_str("aim: a\nspec: b\ngic: v3\nsmp: 2\non cpu1 {\nphys pend ppi 20\nguest ack\n}\nread lr 1\n")
            .unwrap();
        let w = c.compile(GicVersion::V3).unwrap();
        assert_eq!(&w[..4], &[proto::CASE_MAGIC, proto::FORMAT_VERSION, 3, 2]);
        assert_eq!(w[4] as usize, w.len() - proto::HEADER_WORDS);
        let ops = &w[proto::HEADER_WORDS..];
        let (op, step, n) = Op::decode(ops).unwrap();
        assert_eq!((op, step), (Op::OnCpu { cpu: 1, count: 2, concurrent: false }, 1));
        let (op, step, m) = Op::decode(&ops[n..]).unwrap();
        assert_eq!((op, step), (Op::PhysPend(20), 2));
        let (op, step, k) = Op::decode(&ops[n + m..]).unwrap();
        assert_eq!((op, step), (Op::Guest(GuestOp::Ack(Group::G1)), 3));
        let (op, step, _) = Op::decode(&ops[n + m + k..]).unwrap();
        assert_eq!((op, step), (Op::LrRead(1), 4));
    }

    #[test]
    fn leading_bom_is_ignored_and_line_one_columns_count_visible_text() {
        let c = parse_str(&format!("\u{feff}{HEAD}guest ack\n")).unwrap();
        assert_eq!((c.aim.as_str(), c.stmts.len()), ("a", 1));
        assert_eq!(
            err("\u{feff}  colour: red\n"),
            "cases/t/x.case:1:3: unknown header `colour:`; expected aim, spec, gic, smp, timeout or requires"
        );
        assert_eq!(err("\u{feff}phys pend ppi 40\n"), "cases/t/x.case:1:15: 40 is not a PPI INTID (16-31)");
        assert_eq!(
            err("\u{feff}aim: a\nspec: b\ngic:\u{a0}v2  v5\n"),
            "cases/t/x.case:3:10: unknown GIC version `v5`; expected v2, v3 or v4"
        );
    }

    #[test]
    fn echoed_tokens_show_invisible_characters_escaped() {
        assert_eq!(echo("a\tb\u{a0}c\\d\u{1b}[1m"), "a\\tb\\u{a0}c\\\\d\\u{1b}[1m");
        assert_eq!(echo(&"x".repeat(100)), format!("{}…", "x".repeat(40)));
        // A BOM that is not the file's first character is a token character.
        assert_eq!(
            err(&format!("{HEAD}\u{feff}guest ack\n")),
            "cases/t/x.case:4:1: unknown statement `\\u{feff}guest`; expected phys, lr, read, write, hcr, vmcr, apr, \
             guest, wait, timer, uart, sgi, inject, compare, join, queue, serve, its, lpi, vlpi, vpe, or `on cpuN {`"
        );
        assert_eq!(
            err(&format!("{HEAD}guest ack\u{200b}\n")),
            "cases/t/x.case:4:7: unknown guest operation `ack\\u{200b}`; expected ack, eoi, dir, pmr, bpr, eoimode, \
             enable, disable, wait virq, read, write"
        );
        assert_eq!(
            err(&format!("{HEAD}lr 0 = vintid 3\u{7} pending\n")),
            "cases/t/x.case:4:15: expected a vINTID (a number), found `3\\u{7}`"
        );
        assert_eq!(
            err("aim: a\nspec: b\ngic: v2\u{2060}\n"),
            "cases/t/x.case:3:6: unknown GIC version `v2\\u{2060}`; expected v2, v3 or v4"
        );
        // Look-alike letters are shown too (a Cyrillic `у` in `phys`).
        assert!(err(&format!("{HEAD}ph\u{443}s ack\n")).contains("unknown statement `ph\\u{443}s`"));
        // A no-break space separates tokens like any other white space.
        assert!(parse_str(&format!("{HEAD}guest\u{a0}ack\tgroup0\n")).is_ok());
    }

    #[test]
    fn numbers_and_names_take_no_sign() {
        for s in ["+3", "-3", "0x+3", "0x-3", "0b+1", "+0x3", "", "_", "0x", "0b2", "3a"] {
            assert_eq!(parse_number(s), None, "{s:?}");
        }
        assert_eq!(parse_number("0x1_0"), Some(16));
        assert_eq!(parse_number("0b101"), Some(5));
        assert_eq!(parse_number("1_000"), Some(1000));
        let e = |s: &str| err(&format!("{HEAD}{s}\n"));
        assert_eq!(
            e("lr +3 = pending"),
            "cases/t/x.case:4:4: expected a List Register number (0-15) (a number without a sign), found `+3`"
        );
        assert_eq!(
            e("phys pend spi -40"),
            "cases/t/x.case:4:15: expected an SPI INTID (32-1019) (a number without a sign), found `-40`"
        );
        assert_eq!(
            e("hcr = En EOIcount +3"),
            "cases/t/x.case:4:19: expected a value for EOIcount (a number without a sign), found `+3`"
        );
        assert_eq!(
            e("hcr = En +1"),
            "cases/t/x.case:4:10: expected a value for En (a number without a sign), found `+1`"
        );
        assert_eq!(
            e("lr 0 = vintid 99999999999999999999 pending"),
            "cases/t/x.case:4:15: a vINTID `99999999999999999999` is out of range (at most 4294967295)"
        );
        assert_eq!(
            e("wait maintenance +5ms"),
            "cases/t/x.case:4:18: expected a bound such as `200ms` (1ms to 10000ms, decimal), found `+5ms`"
        );
        assert_eq!(
            e("guest wait virq 0x10ms"),
            "cases/t/x.case:4:17: expected a bound such as `200ms` (1ms to 10000ms, decimal), found `0x10ms`"
        );
        let h = |s: &str| err(&format!("aim: a\nspec: b\ngic: v3\n{s}\n"));
        for v in ["+2", "0x2", "0", "5", "2x", "99999999999999999999999"] {
            assert_eq!(
                h(&format!("smp: {v}")),
                format!("cases/t/x.case:4:6: `smp:` must be a decimal number of PEs, 1 to 4; found `{v}`")
            );
        }
        assert_eq!(h("smp:"), "cases/t/x.case:4:5: `smp:` must be a decimal number of PEs, 1 to 4; found nothing");
        for v in ["+5s", "0x5s", "5", "0s", "601s"] {
            assert_eq!(
                h(&format!("timeout:  {v}")),
                format!("cases/t/x.case:4:11: `timeout:` must be a decimal number of seconds such as `10s`, 1s to 600s; found `{v}`")
            );
        }
        for cpu in ["cpu+1", "cpu-1", "cpu0x1", "cpu", "cpux"] {
            assert_eq!(
                h(&format!("smp: 2\non {cpu} {{\n}}")),
                format!("cases/t/x.case:5:4: expected `cpuN` with a decimal N (e.g. cpu1), found `{cpu}`")
            );
        }
        let c = parse_str("aim: a\nspec: b\ngic: v3\nsmp:  2\ntimeout: 20s\non cpu01 {\nguest ack\n}\n").unwrap();
        assert_eq!((c.smp, c.timeout), (2, Duration::from_secs(20)));
    }

    #[test]
    fn optional_group_rejects_other_group_words() {
        for (stmt, col, word) in [
            ("guest ack group2", 11, "group2"),
            ("phys ack group7", 10, "group7"),
            ("phys eoi 48 group3", 13, "group3"),
            ("phys eoi 48 group 1", 13, "group"),
            ("guest eoi 40 Group1", 14, "Group1"),
            ("guest bpr group2 3", 11, "group2"),
            ("guest read hppir groupX", 18, "groupX"),
            ("guest enable group", 14, "group"),
        ] {
            assert_eq!(
                err(&format!("{HEAD}{stmt}\n")),
                format!("cases/t/x.case:4:{col}: expected `group0` or `group1`, found `{word}`"),
                "{stmt}"
            );
        }
    }

    #[test]
    fn limits_say_what_they_are() {
        let over = "timer on\n".repeat(65_536);
        assert_eq!(
            err(&format!("{HEAD}{over}")),
            "cases/t/x.case:65539:1: too many statements: a case may have at most 65535 (the step number is 16 bits)"
        );
        // `phys ack` compiles to two words.
        let fits = parse_str(&format!("{HEAD}{}", "phys ack\n".repeat(proto::MAX_CASE_WORDS / 2))).unwrap();
        assert!(fits.compile(GicVersion::V3).is_ok());
        let long =
            parse_str(&format!("{HEAD}{}guest ack\n", "phys ack\n".repeat(proto::MAX_CASE_WORDS / 2 + 1))).unwrap();
        assert_eq!(
            long.compile(GicVersion::V3).unwrap_err().to_string(),
            format!(
                "cases/t/x.case:{}:1: case too long for the kernel: it compiles to 16389 op words, the kernel takes at \
                 most 16384 (gic_case::proto::MAX_CASE_WORDS); this statement crosses the limit",
                3 + proto::MAX_CASE_WORDS / 2 + 1
            )
        );
    }

    #[test]
    fn unknown_register_suggests_the_nearest_names() {
        let all = regs::known_names().count();
        let e = |s: &str| err(&format!("{HEAD}{s}\n"));
        let see = format!("(README.md, 'Register names', lists all {all})");
        assert_eq!(
            e("read ICH_HRC_EL2"),
            format!("cases/t/x.case:4:6: unknown register `ICH_HRC_EL2`; did you mean ICH_HCR_EL2? {see}")
        );
        assert_eq!(
            e("read ich_hcr_el2"),
            format!("cases/t/x.case:4:6: unknown register `ich_hcr_el2`; did you mean ICH_HCR_EL2? {see}")
        );
        assert_eq!(
            e("read ICH_LR17_EL2"),
            format!(
                "cases/t/x.case:4:6: unknown register `ICH_LR17_EL2`; did you mean ICH_LR<n>_EL2 (n = 0-15)? {see}"
            )
        );
        assert_eq!(
            e("read GICH_LR64"),
            format!("cases/t/x.case:4:6: unknown register `GICH_LR64`; did you mean GICH_LR<n> (n = 0-63)? {see}")
        );
        assert_eq!(
            e("read GICH_LR01"),
            format!("cases/t/x.case:4:6: unknown register `GICH_LR01`; did you mean GICH_LR1? {see}")
        );
        assert_eq!(
            e("read GICD_ISPNDR2"),
            format!("cases/t/x.case:4:6: unknown register `GICD_ISPNDR2`; did you mean GICD_ISPENDR2? {see}")
        );
        assert_eq!(
            e("read GICD_ISPNDR99"),
            format!(
                "cases/t/x.case:4:6: unknown register `GICD_ISPNDR99`; did you mean GICD_ISPENDR<n> (n = 0-31)? {see}"
            )
        );
        assert_eq!(e("write XYZZY 1"), format!("cases/t/x.case:4:7: unknown register `XYZZY` {see}"));
        let m = e("guest read ICV_PMR_EL2");
        assert!(m.starts_with("cases/t/x.case:4:12: unknown register `ICV_PMR_EL2`; did you mean ICV_PMR_EL1"), "{m}");
        for s in ["read ICH_FOO_EL2", "read ICH_AP2R0_EL2", "guest read ICV_IAR1_EL1", "read GICR_IGROUPR1"] {
            let m = e(s);
            assert!(m.len() < 200, "{m}");
        }
    }

    #[test]
    fn every_committed_case_parses_and_compiles() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cases = crate::case::inputs::discover(&root.join("cases")).unwrap();
        assert!(cases.len() >= 8, "expected the committed cases, found {}", cases.len());
        for c in cases {
            let case = c.parsed.unwrap();
            for v in &case.gics {
                case.compile(*v).unwrap();
            }
        }
    }
}
