//! Property tests of the case parser: whatever the text, `case::parse` does
//! not panic; what it accepts compiles (or is refused with a located error)
//! for every GIC version without panicking; and every error names a line and
//! column inside the file and a message without invisible characters.
//!
//! Two sources of text: arbitrary text (any Unicode, token soup under a valid
//! header, long lines, many lines), and mutations of every committed case
//! under `cases/` (characters, tokens and lines deleted, inserted, replaced,
//! duplicated or swapped; braces, signs, huge numbers, byte-order marks).

use std::fs;
use std::path::{Path, PathBuf};

use gic_case::{proto, GicVersion};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use runner::case::{self, CaseError};

/// Characters an error message must not contain raw: controls, white space
/// other than the plain space, and Unicode's default-ignorable and
/// private-use code points (they print as nothing, or not at all).
fn invisible(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c,
            '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}' | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}' | '\u{f0000}'..)
}

/// The error points inside `text` and reads cleanly.
fn check_error(text: &str, e: &CaseError) -> Result<(), TestCaseError> {
    let lines: Vec<&str> = text.lines().collect();
    prop_assert!((1..=lines.len() + 1).contains(&e.line), "line {} of {}: {e}", e.line, lines.len());
    let chars = lines.get(e.line - 1).map_or(0, |l| l.chars().count());
    prop_assert!((1..=chars + 1).contains(&e.col), "column {} of a {chars}-character line: {e}", e.col);
    prop_assert!(!e.msg.trim().is_empty(), "empty message at {}:{}", e.line, e.col);
    prop_assert!(!e.msg.chars().any(invisible), "invisible character in {:?}", e.msg);
    Ok(())
}

/// `parse`, then `compile` for every version of what it accepts.
fn check(text: &str) -> Result<(), TestCaseError> {
    let file = Path::new("cases/prop/x.case");
    match case::parse(file, "prop/x", text) {
        Err(e) => check_error(text, &e),
        Ok(c) => {
            prop_assert!(!c.gics.is_empty() && (1..=proto::MAX_CPUS).contains(&c.smp));
            for v in GicVersion::ALL {
                match c.compile(v) {
                    Ok(words) => prop_assert!(words.len() <= proto::HEADER_WORDS + proto::MAX_CASE_WORDS),
                    Err(e) => check_error(text, &e)?,
                }
            }
            Ok(())
        }
    }
}

/// Runs `test` on `cases` inputs from `strategy`; on failure, panics with
/// the smallest failing input found.
fn run<S: Strategy>(what: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{what}: {e}");
    }
}

/// Words of the case language and near misses.
const VOCAB: &[&str] = &[
    "phys",
    "pend",
    "unpend",
    "enable",
    "disable",
    "dir",
    "prio",
    "ack",
    "eoi",
    "read",
    "write",
    "lr",
    "=",
    "hcr",
    "vmcr",
    "apr",
    "misr",
    "vtr",
    "eisr",
    "elrsr",
    "guest",
    "pmr",
    "bpr",
    "eoimode",
    "wait",
    "virq",
    "maintenance",
    "rpr",
    "hppir",
    "queue",
    "serve",
    "timer",
    "on",
    "off",
    "cpu0",
    "cpu1",
    "cpu3",
    "cpu4",
    "cpu+1",
    "cpu",
    "{",
    "}",
    "{}",
    "#",
    "sgi",
    "ppi",
    "spi",
    "group0",
    "group1",
    "group2",
    "group",
    "Group1",
    "vintid",
    "pintid",
    "hw",
    "cpuid",
    "pending",
    "active",
    "invalid",
    "pending+active",
    "En",
    "UIE",
    "NPIE",
    "EOIcount",
    "VPMR",
    "VENG0",
    "VENG1",
    "VBPR1",
    "ICH_HCR_EL2",
    "ICH_VTR_EL2",
    "ICH_LR3_EL2",
    "ICH_LR17_EL2",
    "ICH_HRC_EL2",
    "GICH_LR3",
    "GICH_LR64",
    "GICD_SGIR",
    "GICD_ISPENDR1",
    "GICR_TYPER",
    "GICV_AIAR",
    "ICV_PMR_EL1",
    "ICC_PMR_EL1",
    "aim:",
    "spec:",
    "gic:",
    "smp:",
    "timeout:",
    "v2",
    "v3",
    "v4",
    "v5",
    "10s",
    "0s",
    "601s",
    "20ms",
    "0ms",
    "10001ms",
    "+5ms",
    "0x10ms",
    "\u{feff}",
    "\u{200b}",
    "\u{a0}",
    "\t",
    "\u{1b}[31m",
    "é",
    "\u{301}",
];

/// Numbers, good and bad.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "7",
    "15",
    "16",
    "27",
    "31",
    "32",
    "48",
    "64",
    "65",
    "255",
    "256",
    "1019",
    "1020",
    "1023",
    "1024",
    "8191",
    "8192",
    "0xa0",
    "0xff",
    "0x1_0",
    "0b1",
    "0b2",
    "1_000",
    "4294967295",
    "4294967296",
    "0xffffffffffffffff",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "+3",
    "-1",
    "+0x3",
    "0x",
    "0x+3",
    "0b",
    "_",
    "1_",
    "00",
    "3a",
];

/// Characters worth inserting.
const CHARS: &[char] = &[
    '{',
    '}',
    '=',
    '#',
    '+',
    '-',
    ':',
    '0',
    '9',
    'x',
    '_',
    ' ',
    '\t',
    '\n',
    '\r',
    '\u{feff}',
    '\u{200b}',
    '\u{a0}',
    '\u{0}',
    '\u{7f}',
    'é',
    '\u{301}',
    '\u{2028}',
    '\u{10ffff}',
];

const HEAD: &str = "aim: a\nspec: IHI0069H 12.4\ngic: v2 v3 v4\n";

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(VOCAB).prop_map(str::to_string),
        3 => select(NUMBERS).prop_map(str::to_string),
        1 => "[0-9a-zA-Z_+#{}=.:-]{1,10}",
        1 => any::<char>().prop_map(String::from),
    ]
}

fn a_char() -> impl Strategy<Value = char> {
    prop_oneof![select(CHARS), any::<char>()]
}

/// A line of tokens with assorted separators.
fn soup_line() -> impl Strategy<Value = String> {
    (prop::collection::vec(token(), 0..8), select(&[" ", "  ", "\t", " \u{a0}", " "][..]))
        .prop_map(|(toks, sep)| toks.join(sep))
}

/// A header (valid, odd or none) and lines of tokens.
fn soup() -> impl Strategy<Value = String> {
    let head = select(&[HEAD, "aim: a\nspec: b\ngic: v3\nsmp: 2\ntimeout: 5s\n", "gic: v2\n", ""][..]);
    (head, prop::collection::vec(soup_line(), 0..40), select(&["\n", "\r\n"][..]))
        .prop_map(|(h, lines, nl)| format!("{h}{}", lines.join(nl)))
}

/// A valid header and one line of up to ~20k characters.
fn long_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::char::range(' ', '~'), 2_000..20_000).prop_map(String::from_iter),
        prop::collection::vec(token(), 500..3_000).prop_map(|t| t.join(" ")),
    ]
    .prop_map(|line| format!("{HEAD}{line}\n"))
}

/// A valid header and thousands of lines (a block of lines repeated).
fn many_lines() -> impl Strategy<Value = String> {
    (prop::collection::vec(soup_line(), 1..12), 100usize..600)
        .prop_map(|(block, n)| format!("{HEAD}{}", format!("{}\n", block.join("\n")).repeat(n)))
}

#[test]
fn arbitrary_text_never_panics_and_errors_are_located() {
    run("arbitrary Unicode", 256, prop::collection::vec(any::<char>(), 0..400).prop_map(String::from_iter), |t| {
        check(&t)
    });
    run("arbitrary Unicode lines under a header", 128, prop::collection::vec(any::<char>(), 0..400), |t| {
        check(&format!("{HEAD}{}", String::from_iter(t)))
    });
    run("token soup", 512, soup(), |t| check(&t));
    run("long lines", 16, long_line(), |t| check(&t));
    run("many lines", 16, many_lines(), |t| check(&t));
}

/// Which element of a list an edit applies to: `n % len`, so shrinking
/// moves towards the first.
type Pick = usize;

/// One edit of a case file; a `Pick` chooses a character, token, number or
/// line of the text as it is when the edit is applied.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteChar(Pick),
    InsertChar(Pick, char),
    ReplaceChar(Pick, char),
    DeleteToken(Pick),
    InsertToken(Pick, String),
    ReplaceToken(Pick, String),
    /// Put `+` or `-` before a number.
    SignNumber(Pick, char),
    /// Replace a number by another (huge, signed, malformed, …).
    ReplaceNumber(Pick, String),
    DuplicateLine(Pick),
    DeleteLine(Pick),
    SwapLines(Pick, Pick),
    InsertLine(Pick, String),
    /// Repeat a line many times.
    RepeatLine(Pick, usize),
    PrependBom,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    use Mutation::*;
    let idx = any::<Pick>;
    prop_oneof![
        2 => idx().prop_map(DeleteChar),
        2 => (idx(), a_char()).prop_map(|(i, c)| InsertChar(i, c)),
        2 => (idx(), a_char()).prop_map(|(i, c)| ReplaceChar(i, c)),
        2 => idx().prop_map(DeleteToken),
        3 => (idx(), token()).prop_map(|(i, t)| InsertToken(i, t)),
        3 => (idx(), token()).prop_map(|(i, t)| ReplaceToken(i, t)),
        2 => (idx(), select(&['+', '-'][..])).prop_map(|(i, c)| SignNumber(i, c)),
        3 => (idx(), select(NUMBERS).prop_map(str::to_string)).prop_map(|(i, n)| ReplaceNumber(i, n)),
        1 => idx().prop_map(DuplicateLine),
        1 => idx().prop_map(DeleteLine),
        1 => (idx(), idx()).prop_map(|(a, b)| SwapLines(a, b)),
        2 => (idx(), soup_line()).prop_map(|(i, l)| InsertLine(i, l)),
        1 => (idx(), 2usize..300).prop_map(|(i, n)| RepeatLine(i, n)),
        1 => Just(PrependBom),
    ]
}

/// Byte ranges of the white-space separated tokens of `s`.
fn token_spans(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((b, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, s.len()));
    }
    out
}

fn apply(text: &str, muts: &[Mutation]) -> String {
    use Mutation::*;
    let mut s = text.to_string();
    for m in muts {
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let chars: Vec<(usize, usize)> = s.char_indices().map(|(i, c)| (i, i + c.len_utf8())).collect();
        let toks = token_spans(&s);
        let nums: Vec<(usize, usize)> =
            toks.iter().copied().filter(|&(a, _)| s[a..].starts_with(|c: char| c.is_ascii_digit())).collect();
        let mut lines: Vec<String> = s.split_inclusive('\n').map(str::to_string).collect();
        let pick = |v: &[(usize, usize)], i: &Pick| (!v.is_empty()).then(|| v[i % v.len()]);
        match m {
            DeleteChar(i) => {
                if let Some((a, b)) = pick(&chars, i) {
                    s.replace_range(a..b, "");
                }
            }
            InsertChar(i, c) => s.insert(bounds[i % bounds.len()], *c),
            ReplaceChar(i, c) => {
                if let Some((a, b)) = pick(&chars, i) {
                    s.replace_range(a..b, &c.to_string());
                }
            }
            DeleteToken(i) => {
                if let Some((a, b)) = pick(&toks, i) {
                    s.replace_range(a..b, "");
                }
            }
            InsertToken(i, t) => {
                let at = toks.get(i % (toks.len() + 1)).map_or(s.len(), |&(a, _)| a);
                s.insert_str(at, &format!("{t} "));
            }
            ReplaceToken(i, t) => {
                if let Some((a, b)) = pick(&toks, i) {
                    s.replace_range(a..b, t);
                }
            }
            SignNumber(i, c) => {
                if let Some((a, _)) = pick(&nums, i) {
                    s.insert(a, *c);
                }
            }
            ReplaceNumber(i, n) => {
                if let Some((a, b)) = pick(&nums, i) {
                    s.replace_range(a..b, n);
                }
            }
            DuplicateLine(i) | DeleteLine(i) | RepeatLine(i, _) if !lines.is_empty() => {
                let k = i % lines.len();
                match m {
                    DuplicateLine(_) => lines.insert(k, lines[k].clone()),
                    DeleteLine(_) => drop(lines.remove(k)),
                    _ => {
                        let RepeatLine(_, n) = m else { unreachable!() };
                        let l = if lines[k].ends_with('\n') { lines[k].clone() } else { format!("{}\n", lines[k]) };
                        lines[k] = l.repeat(*n);
                    }
                }
                s = lines.concat();
            }
            SwapLines(a, b) if !lines.is_empty() => {
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
                s = lines.concat();
            }
            InsertLine(i, l) => {
                lines.insert(i % (lines.len() + 1), format!("{l}\n"));
                s = lines.concat();
            }
            PrependBom => s.insert(0, '\u{feff}'),
            DuplicateLine(_) | DeleteLine(_) | RepeatLine(..) | SwapLines(..) => {}
        }
    }
    s
}

fn committed_cases() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "case") {
                let text = fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases"), &mut out);
    out
}

#[test]
fn mutated_committed_cases_never_panic_and_errors_are_located() {
    let cases = committed_cases();
    assert!(cases.len() >= 8, "expected the committed cases, found {}", cases.len());
    for (path, text) in &cases {
        // The committed case itself is accepted and compiles.
        let c = case::parse(path, "committed", text).unwrap_or_else(|e| panic!("{e}"));
        for v in &c.gics {
            c.compile(*v).unwrap_or_else(|e| panic!("{e}"));
        }
        run(&path.display().to_string(), 48, prop::collection::vec(mutation(), 1..6), |muts| {
            check(&apply(text, &muts))
        });
    }
}

#[test]
fn mutations_do_what_they_say() {
    use Mutation::*;
    let text = "a 12\nb\n";
    assert_eq!(apply(text, &[SignNumber(0, '+')]), "a +12\nb\n");
    assert_eq!(apply(text, &[ReplaceNumber(0, "99999999999999999999".into())]), "a 99999999999999999999\nb\n");
    assert_eq!(apply(text, &[DuplicateLine(0)]), "a 12\na 12\nb\n");
    assert_eq!(apply(text, &[DeleteLine(2)]), "b\n");
    assert_eq!(apply(text, &[SwapLines(0, 1)]), "b\na 12\n");
    assert_eq!(apply(text, &[RepeatLine(1, 3)]), "a 12\nb\nb\nb\n");
    assert_eq!(apply(text, &[InsertToken(0, "{".into())]), "{ a 12\nb\n");
    assert_eq!(apply(text, &[InsertLine(1, "}".into())]), "a 12\n}\nb\n");
    assert_eq!(apply(text, &[DeleteToken(1)]), "a \nb\n");
    assert_eq!(apply(text, &[ReplaceToken(2, "x".into())]), "a 12\nx\n");
    assert_eq!(apply(text, &[InsertChar(1, '\u{200b}'), DeleteChar(0), ReplaceChar(0, '+')]), "+ 12\nb\n");
    assert_eq!(apply(text, &[PrependBom]), "\u{feff}a 12\nb\n");
    assert_eq!(apply("", &[DeleteLine(0), DeleteChar(0), SwapLines(0, 1), SignNumber(0, '-')]), "");
}
