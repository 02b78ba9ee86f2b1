//! The two functions every report string goes through before it reaches an output.

use std::borrow::Cow;
use std::fmt::Write;

/// Escape text for HTML element content and for double- or single-quoted attribute values.
///
/// `&`, `<`, `>`, `"` and `'` become character references; C0 control characters other than tab,
/// newline and carriage return (not allowed in HTML) and DEL become U+FFFD. Every string that comes
/// from a report goes through this function in [`crate::html`]; nothing else writes report data.
pub fn escape_html(s: &str) -> Cow<'_, str> {
    let needs = |c: char| {
        matches!(c, '&' | '<' | '>' | '"' | '\'')
            || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    if !s.contains(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Make a report string safe to print on a terminal, on one line.
///
/// Newlines, tabs and carriage returns become spaces; every other control character (ESC and the
/// rest of C0, DEL, the C1 range including the one-byte CSI `\u{9b}`) is shown as a visible escape
/// such as `\x1b`, so `\x1b[2J` in a pod name prints as the text `\x1b[2J` and clears nothing.
/// Bidirectional overrides and isolates (the "Trojan Source" characters) are shown the same way.
pub fn sanitize_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_terminal_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' | '\t' | '\r' => out.push(' '),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_terminal_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            escape_html("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert!(matches!(escape_html("plain-name-123"), Cow::Borrowed(_)));
        assert_eq!(escape_html("a\u{0}b\u{1b}c\nd"), "a\u{FFFD}b\u{FFFD}c\nd");
        // Already-escaped text is escaped again, never trusted.
        assert_eq!(escape_html("&lt;"), "&amp;lt;");
    }

    #[test]
    fn terminal_neutralises_escapes() {
        assert_eq!(sanitize_terminal("pod\u{1b}[2Jx"), "pod\\x1b[2Jx");
        assert_eq!(sanitize_terminal("a\nb\tc"), "a b c");
        assert_eq!(sanitize_terminal("csi\u{9b}31m"), "csi\\x9b31m");
        assert_eq!(sanitize_terminal("del\u{7f}"), "del\\x7f");
        assert_eq!(sanitize_terminal("rtl\u{202e}txt"), "rtl\\u{202e}txt");
        assert!(matches!(
            sanitize_terminal("ok ünïcödé 한국어"),
            Cow::Borrowed(_)
        ));
    }
}
