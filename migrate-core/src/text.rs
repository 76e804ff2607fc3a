//! Text that is safe to show: which characters may drive a terminal or end a SQL comment early,
//! and how to write them visibly instead.

use std::borrow::Cow;

/// Whether `c` must never reach a terminal or an offline script unescaped: C0 and C1 control
/// characters other than tab (carriage return, escape, bell…), DEL, the Unicode line and
/// paragraph separators, and the bidirectional embedding, override and isolate characters that
/// make text read differently from what it is.
///
/// ```
/// use migrate_core::text::is_unsafe_char;
/// assert!(is_unsafe_char('\r') && is_unsafe_char('\u{1b}') && is_unsafe_char('\u{202e}'));
/// assert!(!is_unsafe_char('\t') && !is_unsafe_char('é') && !is_unsafe_char(' '));
/// ```
pub fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [unsafe character](is_unsafe_char) written as a visible escape (`\r`,
/// `\u{1b}`…) and backslashes left as they are; borrowed when there is nothing to escape.
///
/// ```
/// use migrate_core::text::escape_unsafe;
/// assert_eq!(escape_unsafe("harmless\rDROP TABLE victim"), r"harmless\rDROP TABLE victim");
/// assert_eq!(escape_unsafe("\u{1b}[2Jspoof"), r"\u{1b}[2Jspoof");
/// assert_eq!(escape_unsafe("plain text"), "plain text");
/// ```
pub fn escape_unsafe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Appends `c`, escaped when it is [unsafe](is_unsafe_char).
pub(crate) fn push_escaped(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_c0_control_but_tab_is_unsafe() {
        for b in 0u8..0x20 {
            assert_eq!(is_unsafe_char(char::from(b)), b != b'\t', "{b:#x}");
        }
        assert!(is_unsafe_char('\u{7f}'));
        assert!(is_unsafe_char('\u{85}'), "NEL");
        assert!(is_unsafe_char('\u{9b}'), "C1 CSI");
        assert!(is_unsafe_char('\u{2066}'));
    }

    #[test]
    fn escaping_is_visible_and_lossless_for_safe_text() {
        assert_eq!(escape_unsafe("a\u{7}b\nc"), "a\\u{7}b\\nc");
        assert!(matches!(escape_unsafe("naïve — ok\t"), Cow::Borrowed(_)));
    }
}
