//! Lexing a case line: tokens with their columns, comments, numbers.

use super::*;

/// A token with its 1-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tok {
    pub(super) text: String,
    pub(super) col: usize,
}

pub(super) fn tokenize(line: &str) -> Vec<Tok> {
    let code = match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    };
    let mut toks = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, c) in code.chars().enumerate() {
        if c.is_whitespace() || c == '{' || c == '}' || c == '=' {
            if !cur.is_empty() {
                toks.push(Tok { text: std::mem::take(&mut cur), col: start + 1 });
            }
            if !c.is_whitespace() {
                toks.push(Tok { text: c.to_string(), col: i + 1 });
            }
        } else {
            if cur.is_empty() {
                start = i;
            }
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        toks.push(Tok { text: cur, col: start + 1 });
    }
    toks
}

/// `found `x`` for a message, or `found nothing` for empty text.
pub(super) fn found(s: &str) -> String {
    if s.is_empty() {
        "found nothing".into()
    } else {
        format!("found `{}`", echo(s))
    }
}

/// Why a token is not an unsigned number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumError {
    /// Not digits of its base.
    Syntax,
    /// Starts with `+` or `-` (after any `0x`/`0b`).
    Sign,
    /// More than 64 bits.
    Overflow,
}

pub(super) fn number(s: &str) -> Result<u64, NumError> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = s.strip_prefix("0b") {
        (b, 2)
    } else {
        (s, 10)
    };
    if s.starts_with(['+', '-']) || digits.starts_with(['+', '-']) {
        return Err(NumError::Sign);
    }
    if !digits.chars().all(|c| c == '_' || c.is_digit(radix)) || !digits.chars().any(|c| c.is_digit(radix)) {
        return Err(NumError::Syntax);
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    u64::from_str_radix(&clean, radix).map_err(|_| NumError::Overflow)
}

/// Parses an unsigned number: decimal, `0x` hex or `0b` binary, `_` allowed
/// between digits; no sign.
pub fn parse_number(s: &str) -> Option<u64> {
    number(s).ok()
}

/// Parses a plain decimal number (ASCII digits only: no sign, base prefix
/// or `_`), as `smp:`, `timeout:`, `cpuN` and wait bounds take.
pub(super) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether a token is meant as a number (a digit, or a sign and a digit),
/// so a malformed one is reported as a bad number rather than a bad name.
pub(super) fn looks_numeric(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    s.starts_with(|c: char| c.is_ascii_digit())
}

/// The 1-based character column of byte offset `byte` in `line`.
pub(super) fn col_at(line: &str, byte: usize) -> usize {
    line[..byte].chars().count() + 1
}

/// The white-space separated words of `s`, each with its byte offset.
pub(super) fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((b, &s[b..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, &s[b..]));
    }
    out
}
