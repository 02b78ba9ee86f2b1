//! The HTML report: content, escaping of hostile report strings, self-containment.

mod common;

use common::*;
use detek_core::ScanStatus;

/// Every tag name the renderer writes. Anything else in the output came from data.
const OUR_TAGS: &[&str] = &[
    "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4",
    "h5", "span", "main", "div", "strong", "a", "nav", "table", "thead", "tbody", "tr", "th", "td",
    "button", "p", "input", "label", "section", "dl", "dt", "dd", "details", "summary", "code",
    "ul", "ol", "li", "pre", "script",
];

fn tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        out.push(name);
    }
    out
}

/// Attribute names the renderer writes.
const OUR_ATTRS: &[&str] = &[
    "lang",
    "charset",
    "http-equiv",
    "content",
    "name",
    "class",
    "role",
    "href",
    "id",
    "data-cluster",
    "data-level",
    "data-show-cluster",
    "data-level-filter",
    "type",
    "value",
    "checked",
    "placeholder",
    "aria-label",
    "autocomplete",
    "hidden",
    "open",
    "html",
];

/// `(tag, attribute name)` for every attribute of every tag outside `<style>` and `<script>`.
/// Panics on an unquoted or single-quoted value: the renderer only writes `name="value"`.
fn attributes(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with('/') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        rest = &rest[name.len()..];
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix('>') {
                rest = r;
                break;
            }
            let attr: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '=' && *c != '>')
                .collect();
            assert!(
                !attr.is_empty(),
                "malformed tag <{name}: {:?}",
                &rest[..rest.len().min(40)]
            );
            rest = &rest[attr.len()..];
            if let Some(r) = rest.strip_prefix('=') {
                let r = r
                    .strip_prefix('"')
                    .unwrap_or_else(|| panic!("unquoted value of {attr} on <{name}>"));
                let end = r.find('"').unwrap();
                assert!(!r[..end].contains(['<', '>']), "raw markup in {attr}");
                rest = &r[end + 1..];
            }
            out.push((name.clone(), attr.to_ascii_lowercase()));
        }
        for raw in ["style", "script"] {
            if name == raw {
                let close = format!("</{raw}>");
                rest = &rest[rest.find(&close).unwrap()..];
            }
        }
    }
    out
}

/// The text between `<script>` and `</script>`: there must be exactly one, and it is ours.
fn scripts(html: &str) -> Vec<&str> {
    html.match_indices("<script")
        .map(|(i, _)| {
            let body = &html[i..];
            &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()]
        })
        .collect()
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    let list = hostile();
    for html in [
        detek_render::html(std::slice::from_ref(&list)),
        detek_render::html(&[list.clone(), healthy(), hostile()]),
    ] {
        // Only our tags, only our script.
        for tag in tags(&html) {
            assert!(
                OUR_TAGS.contains(&tag.as_str()),
                "unexpected tag <{tag}> in output"
            );
        }
        assert_eq!(scripts(&html).len(), 1);
        assert!(!scripts(&html)[0].contains("alert"));
        // Only our attributes, always double-quoted.
        for (tag, attr) in attributes(&html) {
            assert!(
                OUR_ATTRS.contains(&attr.as_str()),
                "unexpected attribute {attr:?} on <{tag}>"
            );
        }
        for bad in [
            "<script>alert",
            "<img",
            "<svg",
            "<a href=\"https://evil",
            "<link",
            "</textarea>",
        ] {
            assert!(!html.contains(bad), "{bad:?} found unescaped");
        }
        // No attribute can be broken out of: every `"` in the output belongs to our attributes,
        // which are name="value" pairs inside our tags. Count quotes outside tags: there are none.
        let mut in_tag = false;
        for (i, c) in html.char_indices() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                '"' | '\'' if !in_tag => {
                    // Quotes outside tags are only allowed inside our <style> and <script>.
                    let before = &html[..i];
                    let in_raw = before.rfind("<style>") > before.rfind("</style>")
                        || before.rfind("<script>") > before.rfind("</script>");
                    assert!(
                        in_raw,
                        "raw quote at byte {i}: {:?}",
                        &html[i.saturating_sub(40)..i + 1]
                    );
                }
                _ => {}
            }
        }
        // The hostile text is there, escaped (nothing was dropped).
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&amp;amp;&amp;lt;already-escaped&amp;gt;"));
        // Control characters never reach the document.
        assert!(!html.contains('\u{1b}') && !html.contains('\u{7}') && !html.contains('\u{9b}'));
    }
}

#[test]
fn hostile_strings_reach_every_section_escaped() {
    // Each kind of field, individually: target, ids, labels, objects, messages, evidence,
    // suppression reasons, errors, attachments, collectors, diagnostics, skipped.
    let html = detek_render::html(&[hostile()]);
    let count = html
        .matches("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
        .count();
    assert!(count >= 10, "hostile string rendered only {count} times");
    let img = html
        .matches("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
        .count();
    assert!(img >= 10, "{img}");
    // In attribute position (title) and in <code>, <td>, <li>, <pre>.
    assert!(html.contains("<title>detek report — &lt;script&gt;"));
    for context in [
        "<td>&",
        "<li>&",
        "<code>&",
        "<h5>&",
        "<span class=\"label\">&",
        "<code class=\"det-id\">&",
        "<span class=\"det-title\">&",
        "<td class=\"src\">&",
        "<td class=\"msg\">&",
        "<pre class=\"json\">{\n  &quot;&",
    ] {
        assert!(
            html.contains(context),
            "no escaped data right after {context:?}"
        );
    }
}

#[test]
fn no_external_resources() {
    for lists in [
        vec![representative()],
        vec![hostile()],
        vec![representative(), healthy(), nothing_collected()],
    ] {
        let html = detek_render::html(&lists);
        let lower = html.to_ascii_lowercase();
        for attr in ["src=", "href=", "action=", "srcset=", "poster=", "data="] {
            for (i, _) in lower.match_indices(attr) {
                // Only inside a tag (escaped data contains `src=` as text, which is harmless).
                let before = &lower[..i];
                let in_tag = before.rfind('<') > before.rfind('>');
                if !in_tag {
                    continue;
                }
                let value = &lower[i + attr.len()..];
                assert!(
                    value.starts_with("\"#"),
                    "{attr} to something other than an in-page anchor: {:?}",
                    &html[i..(i + 80).min(html.len())]
                );
            }
        }
        assert!(!lower.contains("@import"));
        assert!(!lower.contains("url("));
        assert!(!lower.contains("<link"));
        assert!(!lower.contains("<iframe"));
        assert!(!lower.contains("fetch("));
        assert!(!lower.contains("xmlhttprequest"));
        // `http://` and `https://` only appear as escaped text from the report data (the
        // reference URLs, shown as code) — never in our markup, style or script.
        for (i, _) in lower
            .match_indices("http://")
            .chain(lower.match_indices("https://"))
        {
            let before = &lower[..i];
            assert!(
                before.rfind('<') < before.rfind('>'),
                "http inside a tag at {i}"
            );
        }
        for s in scripts(&html) {
            assert!(!s.contains("http"));
        }
        // The browser is told the same: no network, only our script.
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;;"
        ));
    }
}

#[test]
fn incomplete_scans_never_look_healthy() {
    let nothing = detek_render::html(&[nothing_collected()]);
    assert!(nothing.contains("class=\"banner banner-nothing\" role=\"alert\""));
    assert!(nothing.contains("Nothing could be collected from cluster staging."));
    assert!(nothing.contains("This report says nothing about its health"));
    assert!(nothing.contains("No result"));
    assert!(!nothing.contains("All passed"));

    let partial = detek_render::html(&[representative()]);
    assert!(partial.contains("class=\"banner banner-partial\" role=\"alert\""));
    assert!(partial.contains(
        "Incomplete scan: 1 collector failed, 1 input unavailable, 1 detector could not be evaluated."
    ));
    assert!(partial.contains("Incomplete · worst Fatal"));

    // A partial scan in which everything that ran passed still says it is incomplete.
    let mut list = healthy();
    list.status = ScanStatus::Partial;
    let html = detek_render::html(&[list]);
    assert!(html.contains("banner-partial"));
    assert!(!html.contains("All passed"));
    assert!(html.contains("summary incomplete"));

    let ok = detek_render::html(&[healthy()]);
    assert!(!ok.contains("class=\"banner"));
    assert!(ok.contains("All passed"));
}

#[test]
fn report_content() {
    let html = detek_render::html(&[representative()]);
    // Header: target, time, duration, status.
    assert!(html.contains("Target: snapshot manifests/"));
    assert!(html.contains("<dt>Started</dt><dd>2025-03-04 05:06:07 UTC</dd>"));
    assert!(html.contains("<dt>Duration</dt><dd>1.8 s</dd>"));
    assert!(html.contains("<span class=\"status status-partial\">partial</span>"));
    // Summary tiles.
    assert!(html.contains(
        "<div class=\"tile t-fatal\"><span class=\"n\">1</span><span class=\"l\">Fatal</span></div>"
    ));
    assert!(html.contains("<div class=\"tile t-normal\"><span class=\"n\">1</span><span class=\"l\">Normal (passed)</span></div>"));
    // Worst first.
    let pos = |id: &str| {
        html.find(&format!("<code class=\"det-id\">{id}</code>"))
            .unwrap()
    };
    assert!(pos("webhook_fail_closed") < pos("failed_pod"));
    assert!(pos("failed_pod") < pos("node_not_ready"));
    assert!(pos("node_not_ready") < pos("image_tag_latest"));
    assert!(pos("image_tag_latest") < pos("secret_unused"));
    assert!(pos("secret_unused") < pos("service_no_endpoints"));
    // Findings table with source, container, evidence, suppression.
    assert!(html.contains("<td class=\"src\">manifests/shop.yaml:42</td>"));
    assert!(html.contains("<li>container app: exit code 137, reason OOMKilled</li>"));
    assert!(html.contains("<tr class=\"finding suppressed\" data-level=\"error\">"));
    assert!(html.contains("annotation detek.io/ignore on namespace kube-system"));
    assert_eq!(
        html.matches("<tr class=\"finding\" data-level=\"warn\">")
            .count(),
        25
    );
    // Unknown report: the reason.
    assert!(
        html.contains("<strong>Not evaluated:</strong> not run: collector kubernetes/live failed")
    );
    // Markdown-ish explanation and solution.
    assert!(
        html.contains("<p>Pods in phase <code>Failed</code>: every container has terminated.</p>")
    );
    assert!(
        html.contains("<pre class=\"code\"><code>kubectl describe pod NAME -n NS</code></pre>")
    );
    assert!(html.contains("<ul><li>fix the cause</li><li>delete the Pod</li></ul>"));
    // Attachments, collectors, diagnostics, skipped.
    assert!(html.contains("<h5># of objects evaluated</h5><pre class=\"json\">12</pre>"));
    assert!(html.contains("<code>kubernetes/secrets</code> unavailable"));
    assert!(html.contains("connection refused (127.0.0.1:9090)"));
    assert!(html.contains("<td class=\"src\">manifests/broken.yaml:7</td><td>mapping values are not allowed in this context</td>"));
    assert!(html.contains("<h3>Skipped detectors"));
    assert!(html.contains("<code>node_kubelet_version_skew</code>"));
    // Filter bar.
    assert!(html.contains("<input type=\"search\" id=\"q\""));
    for level in ["fatal", "error", "warn", "unknown", "normal"] {
        assert!(html.contains(&format!("data-level-filter value=\"{level}\" checked")));
    }
    // One cluster: no selector.
    assert!(!html.contains("data-show-cluster=\""));
}

#[test]
fn several_clusters_get_a_selector() {
    let html = detek_render::html(&[representative(), healthy(), nothing_collected()]);
    assert!(html.contains("<title>detek report — 3 clusters</title>"));
    for i in 0..3 {
        assert!(html.contains(&format!("data-show-cluster=\"{i}\"")));
        assert!(html.contains(&format!(
            "<section class=\"cluster\" id=\"cluster-{i}\" data-cluster=\"{i}\">"
        )));
    }
    assert!(html.contains("data-show-cluster=\"all\""));
    assert!(html.contains("Cluster: cluster prod-eu"));
    // The overview shows each cluster's scan status.
    assert!(html.contains("<span class=\"status status-nothing\">nothing collected</span>"));
    // Ids are unique across clusters.
    assert!(html.contains("id=\"c0-d0\"") && html.contains("id=\"c1-d0\""));
    assert!(html.contains("id=\"collectors-2\""));
}

#[test]
fn empty_input_is_not_healthy() {
    let html = detek_render::html(&[]);
    assert!(html.contains("Empty report."));
    assert!(html.contains("says nothing about any cluster"));
}

#[test]
fn html_snapshot() {
    assert_snapshot(
        "representative.html",
        &detek_render::html(&[representative()]),
    );
    assert_snapshot(
        "clusters.html",
        &detek_render::html(&[healthy(), nothing_collected()]),
    );
}

#[test]
fn deterministic() {
    let a = detek_render::html(&[representative(), healthy()]);
    let b = detek_render::html(&[representative(), healthy()]);
    assert_eq!(a, b);
}
