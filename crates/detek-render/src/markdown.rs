//! The detectors' documentation (Markdown) as HTML, with pulldown-cmark.
//!
//! The output is built here from the parser's events, never by pulldown-cmark's own HTML
//! writer, so only the tags listed below are ever written and every piece of text goes through
//! [`escape_html`]. Raw HTML in the Markdown (blocks and inline) is shown as text; images are
//! replaced by their alt text (the report fetches nothing); links are kept only when they go to
//! `http://` or `https://`, otherwise their text is shown alone.
//!
//! Tags written: `p`, `h5`, `h6`, `blockquote`, `pre`, `code`, `ul`, `ol` (with `start`), `li`,
//! `em`, `strong`, `del`, `a` (with `href` and `rel`), `br`, `hr`.

use crate::escape::escape_html;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::fmt::Write;

/// True for a URL the report may link to: `http://` or `https://`, with no whitespace or
/// control character (which an attribute value could not carry faithfully anyway).
pub(crate) fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() > 8
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Render `text` (CommonMark, with strikethrough) as HTML.
pub(crate) fn markdown(text: &str) -> String {
    let mut o = String::with_capacity(text.len() + text.len() / 4);
    // Whether each open link was written as `<a>` (a link to anything else is text only).
    let mut links: Vec<bool> = Vec::new();
    // Inside an image: its alt text is written as text, nothing else.
    let mut image_depth = 0usize;
    // Inside a fenced or indented code block: its text, trailing newline removed at the end.
    let mut code: Option<String> = None;

    for event in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH) {
        if let Some(buf) = code.as_mut() {
            match event {
                Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) | Event::Code(t) => {
                    buf.push_str(&t);
                    continue;
                }
                Event::End(TagEnd::CodeBlock) => {}
                _ => continue,
            }
        }
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => o.push_str("<p>"),
                Tag::Heading { level, .. } => o.push_str(heading(level, true)),
                Tag::BlockQuote(_) => o.push_str("<blockquote>"),
                Tag::CodeBlock(_) => code = Some(String::new()),
                Tag::HtmlBlock => o.push_str("<p>"),
                Tag::List(Some(1)) => o.push_str("<ol>"),
                Tag::List(Some(start)) => {
                    let _ = write!(o, "<ol start=\"{start}\">");
                }
                Tag::List(None) => o.push_str("<ul>"),
                Tag::Item => o.push_str("<li>"),
                Tag::Emphasis => o.push_str("<em>"),
                Tag::Strong => o.push_str("<strong>"),
                Tag::Strikethrough => o.push_str("<del>"),
                Tag::Link { dest_url, .. } => {
                    let ok = image_depth == 0 && is_web_url(&dest_url);
                    if ok {
                        let _ = write!(
                            o,
                            "<a href=\"{}\" rel=\"noopener noreferrer\">",
                            escape_html(&dest_url)
                        );
                    }
                    links.push(ok);
                }
                Tag::Image { .. } => image_depth += 1,
                _ => {}
            },
            Event::End(end) => match end {
                TagEnd::Paragraph | TagEnd::HtmlBlock => o.push_str("</p>"),
                TagEnd::Heading(level) => o.push_str(heading(level, false)),
                TagEnd::BlockQuote(_) => o.push_str("</blockquote>"),
                TagEnd::CodeBlock => {
                    let mut text = code.take().unwrap_or_default();
                    if text.ends_with('\n') {
                        text.pop();
                    }
                    let _ = write!(
                        o,
                        "<pre class=\"code\"><code>{}</code></pre>",
                        escape_html(&text)
                    );
                }
                TagEnd::List(true) => o.push_str("</ol>"),
                TagEnd::List(false) => o.push_str("</ul>"),
                TagEnd::Item => o.push_str("</li>"),
                TagEnd::Emphasis => o.push_str("</em>"),
                TagEnd::Strong => o.push_str("</strong>"),
                TagEnd::Strikethrough => o.push_str("</del>"),
                TagEnd::Link if links.pop() == Some(true) => o.push_str("</a>"),
                TagEnd::Image => image_depth = image_depth.saturating_sub(1),
                _ => {}
            },
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                o.push_str(&escape_html(&t));
            }
            Event::Code(t) => {
                let _ = write!(o, "<code>{}</code>", escape_html(&t));
            }
            Event::InlineMath(t) | Event::DisplayMath(t) | Event::FootnoteReference(t) => {
                o.push_str(&escape_html(&t));
            }
            Event::SoftBreak => o.push('\n'),
            Event::HardBreak => o.push_str("<br>"),
            Event::Rule => o.push_str("<hr>"),
            Event::TaskListMarker(done) => o.push_str(if done { "[x] " } else { "[ ] " }),
        }
    }
    o
}

/// Headings in a detector's prose sit under the report's own headings: `#`–`##` become `h5`,
/// deeper ones `h6`.
fn heading(level: HeadingLevel, open: bool) -> &'static str {
    match (level, open) {
        (HeadingLevel::H1 | HeadingLevel::H2, true) => "<h5>",
        (HeadingLevel::H1 | HeadingLevel::H2, false) => "</h5>",
        (_, true) => "<h6>",
        (_, false) => "</h6>",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_markdown() {
        let md = markdown(
            "First `kubectl get` line\nsecond **bold** and *why* line.\n\n- one\n- two `x`\n  continued\n\n1. a\n2. b\n\n```yaml\nkey: <v>\n```\n## Head\n\nSee [the docs](https://kubernetes.io/docs/).",
        );
        assert_eq!(
            md,
            "<p>First <code>kubectl get</code> line\nsecond <strong>bold</strong> and <em>why</em> line.</p>\
             <ul><li>one</li><li>two <code>x</code>\ncontinued</li></ul>\
             <ol><li>a</li><li>b</li></ol>\
             <pre class=\"code\"><code>key: &lt;v&gt;</code></pre><h5>Head</h5>\
             <p>See <a href=\"https://kubernetes.io/docs/\" rel=\"noopener noreferrer\">the docs</a>.</p>"
        );
    }

    #[test]
    fn raw_html_and_unsafe_links_are_text() {
        let md = markdown(
            "<script>x</script>\n\nInline <img src=x onerror=y> `<b>` **<b>** [l](javascript:alert(1)) \
             ![alt text](https://evil.example/x.png) [rel](docs/x.md)\n\n```\n</code></pre><script>\n```\n\n<div onclick=\"y\">block</div>",
        );
        for bad in [
            "<script",
            "<img",
            "<b>",
            "<div",
            "javascript:",
            "evil.example",
            "href",
        ] {
            assert!(!md.contains(bad), "{bad} in {md}");
        }
        assert!(md.contains("&lt;script&gt;x&lt;/script&gt;"), "{md}");
        assert!(md.contains("&lt;img src=x onerror=y&gt;"), "{md}");
        // Images and links that go nowhere safe keep their text.
        assert!(md.contains(" l alt text rel</p>"), "{md}");
        assert!(
            md.contains("&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;"),
            "{md}"
        );
        assert!(
            md.contains("&lt;div onclick=&quot;y&quot;&gt;block&lt;/div&gt;"),
            "{md}"
        );
    }

    #[test]
    fn web_urls() {
        assert!(is_web_url("https://kubernetes.io/docs/"));
        assert!(is_web_url("HTTP://example.com"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("https://"));
        assert!(!is_web_url("https://a b"));
        assert!(!is_web_url("//evil"));
        assert!(!is_web_url("data:text/html,x"));
    }
}
