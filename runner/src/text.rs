//! Quoting input text in error messages.

/// Most characters of one token an error message shows.
pub const ECHO_MAX_CHARS: usize = 40;

/// Text from a case or golden file as error messages quote it: printable ASCII as
/// written; tab, CR, LF and `\` as `\t`, `\r`, `\n`, `\\`; every other
/// character as `\u{…}`, so a byte-order mark, a zero-width or no-break
/// space, a control character or a look-alike letter (Cyrillic `у` in
/// `phys`) cannot hide. Cut after 40 characters, marked `…`.
pub fn echo(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == ECHO_MAX_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => out.extend(c.escape_unicode()),
        }
    }
    out
}

/// True for the characters a report must not print raw: control
/// characters other than line feed (ESC starts terminal sequences; YAML
/// rejects most C0 and C1 controls), and the invisible format characters
/// that reorder or hide text or break lines on their own (bidirectional
/// embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069,
/// marks U+200E/U+200F/U+061C, zero-width U+200B–U+200D and U+2060, the
/// byte-order mark U+FEFF, and the line and paragraph separators
/// U+2028/U+2029, which YAML and JavaScript read as line breaks).
fn hides(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `s` as reports show it: every character `hides` says is unsafe as
/// `\u{…}` (ESC as `\u{1b}`), everything else as it is, line feeds
/// included (details are multi-line). Idempotent: its output has nothing
/// left to escape. Used for whatever a run brings in from outside: the
/// kernel's output and QEMU's, case names from file names, and results
/// files read back.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(hides) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hides(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `s` holds a character no report may print raw (control other
/// than line feed, or an invisible format character).
#[cfg(test)]
pub(crate) fn has_raw_controls(s: &str) -> bool {
    s.chars().any(hides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_format_characters_are_escaped_line_feeds_kept() {
        assert_eq!(escape_controls("plain\n  text"), "plain\n  text");
        assert_eq!(escape_controls("\u{1b}[31mred\u{1b}[0m\r\n"), "\\u{1b}[31mred\\u{1b}[0m\\u{d}\n");
        assert_eq!(escape_controls("a\tb\u{0}c\u{85}d"), "a\\u{9}b\\u{0}c\\u{85}d");
        assert_eq!(escape_controls("x\u{202e}y\u{200b}z\u{2028}\u{feff}"), "x\\u{202e}y\\u{200b}z\\u{2028}\\u{feff}");
        // Letters of any script are text, not escapes.
        assert_eq!(escape_controls("phуs ≠ é"), "phуs ≠ é");
        let once = escape_controls("\u{1b}\u{7}").into_owned();
        assert_eq!(escape_controls(&once), once);
    }
}
