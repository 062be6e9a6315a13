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
