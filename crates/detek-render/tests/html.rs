//! The HTML report: content, escaping of hostile report strings, self-containment.

mod common;

use common::*;
use detek_core::ScanStatus;

/// Every tag name the renderer writes. Anything else in the output came from data.
const OUR_TAGS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "span",
    "main",
    "div",
    "strong",
    "em",
    "del",
    "a",
    "nav",
    "aside",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "button",
    "p",
    "input",
    "label",
    "section",
    "dl",
    "dt",
    "dd",
    "details",
    "summary",
    "code",
    "ul",
    "ol",
    "li",
    "pre",
    "blockquote",
    "hr",
    "br",
    "script",
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
    "data-view",
    "data-view-btn",
    "data-det",
    "data-ns",
    "aria-pressed",
    "rel",
    "start",
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
        "<li><code>&",
        "<code>&",
        "<h5>&",
        "<dd>&",
        "<span class=\"label\">&",
        "<code class=\"det-id\">&",
        "<span class=\"det-title\">&",
        "<span class=\"on\">&",
        "<span class=\"msg\">&",
        "<span class=\"ev\">&",
        "<pre class=\"json\">{\n  &quot;&",
    ] {
        assert!(
            html.contains(context),
            "no escaped data right after {context:?}"
        );
    }
    // Sources (file:line) of findings and of diagnostics: control characters replaced.
    assert!(html.contains("<span class=\"src\">pod\u{FFFD}[2J\u{FFFD}[31mred"));
    assert!(html.contains("<td class=\"src\">csi\u{FFFD}2Jc1:7</td>"));
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
                let tag_start = before.rfind('<').unwrap();
                let tag = &lower[tag_start..i + lower[i..].find('>').unwrap()];
                // In-page anchors; and the detectors' references, as plain links (a click
                // navigates away; nothing is fetched by the page itself) that send no referrer.
                let anchor = value.starts_with("\"#");
                let reference = attr == "href="
                    && tag.starts_with("<a ")
                    && (value.starts_with("\"https://") || value.starts_with("\"http://"))
                    && tag.ends_with(" rel=\"noopener noreferrer\"");
                assert!(
                    anchor || reference,
                    "{attr} to something other than an in-page anchor or a reference link: {:?}",
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
        // `http://` and `https://` only appear as escaped text from the report data and in the
        // `href` of reference links — never elsewhere in our markup, style or script.
        for (i, _) in lower
            .match_indices("http://")
            .chain(lower.match_indices("https://"))
        {
            let before = &lower[..i];
            if before.rfind('<') > before.rfind('>') {
                assert!(
                    before.ends_with("<a href=\"") || before.ends_with(" href=\""),
                    "http inside a tag, not as a link target, at {i}"
                );
                let tag = &before[before.rfind('<').unwrap()..];
                assert!(tag.starts_with("<a href=\""), "http in {tag:?}");
            }
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
    // Summary tiles: buttons that filter by level, with the findings of that level.
    assert!(html.contains(
        "<button type=\"button\" class=\"tile t-fatal\" data-level-filter=\"fatal\" aria-pressed=\"false\">\
         <span class=\"n\">1</span><span class=\"l\">Fatal</span><span class=\"f\">1 finding</span></button>"
    ));
    assert!(html.contains(
        "<button type=\"button\" class=\"tile t-normal\" data-level-filter=\"normal\" aria-pressed=\"false\">\
         <span class=\"n\">1</span><span class=\"l\">Normal (passed)</span></button>"
    ));
    // The score: an upper bound, since the scan is partial (docs/score.md).
    assert!(html.contains(
        "<div class=\"tile t-score s-partial\"><span class=\"n\">97*</span><span class=\"l\">score /100</span>\
         <span class=\"f\">29 of 118 objects with findings</span></div>"
    ));
    // Findings first: the summary of failing detectors, then the findings, the prose folded.
    let summary = html.find("<aside class=\"failing\"").unwrap();
    assert!(html.contains(
        "<tr data-det=\"c0-d0\" data-level=\"fatal\"><td><span class=\"badge lvl-fatal\">Fatal</span></td>\
         <td class=\"id\"><a href=\"#c0-d0\">webhook_fail_closed</a></td><td class=\"num cnt\">2</td></tr>"
    ));
    assert!(html.contains(
        "<tr data-det=\"c0-d4\" data-level=\"unknown\"><td><span class=\"badge lvl-unknown\">Unknown</span></td>\
         <td class=\"id\"><a href=\"#c0-d4\">secret_unused</a></td><td class=\"num\">–</td></tr>"
    ));
    let first_finding = html.find("<li class=\"finding").unwrap();
    let first_prose = html.find("<details class=\"about\">").unwrap();
    assert!(summary < first_finding && first_finding < first_prose);
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
    // Findings with object (as Kind/namespace/name elsewhere), container, source (file:line),
    // evidence, suppression.
    assert!(html.contains(
        "<li class=\"finding\" data-level=\"error\"><span class=\"on\">Pod/shop/cart-7d9f</span> \
         <span class=\"src\">manifests/shop.yaml:42</span> <span class=\"msg\">Pod failed: OOMKilled (exit 137)</span> \
         <span class=\"evidence\"><span class=\"ev\">container app: exit code 137, reason OOMKilled</span></span></li>"
    ));
    assert!(
        html.contains(
            "<span class=\"on\">Pod/batch/job-00</span> <span class=\"ctr\">[main]</span>"
        )
    );
    assert!(html.contains("<li class=\"finding suppressed\" data-level=\"error\">"));
    assert!(html.contains(
        "<span class=\"sup\">suppressed: annotation detek.io/ignore on namespace kube-system</span>"
    ));
    // A finding graded differently from its detector shows its level.
    assert!(html.contains(
        "<li class=\"finding\" data-level=\"error\"><span class=\"badge lvl-error\">Error</span> \
         <span class=\"on\">MutatingWebhookConfiguration/sidecar-injector</span>"
    ));
    // Every finding is there; beyond the first four of a detector they are folded.
    assert_eq!(
        html.matches("<li class=\"finding\" data-level=\"warn\">")
            .count(),
        25
    );
    assert!(html.contains("<details class=\"more\"><summary>Show 21 more</summary>"));
    // Unknown report: the reason.
    assert!(
        html.contains("<strong>Not evaluated:</strong> not run: collector kubernetes/live failed")
    );
    // The prose, folded under the findings: Markdown rendered (code, emphasis, lists, code
    // blocks), the example, the references as links.
    assert!(html.contains(
        "<summary>About <code>failed_pod</code>: why it matters, how to fix, example, references</summary>"
    ));
    assert!(
        html.contains("<p>Pods in phase <code>Failed</code>: every container has terminated.</p>")
    );
    assert!(html.contains("<p>A failed Pod does <strong>no</strong> work.</p>"));
    assert!(
        html.contains("<pre class=\"code\"><code>kubectl describe pod NAME -n NS</code></pre>")
    );
    assert!(html.contains("<ul><li>fix the cause</li><li>delete the Pod</li></ul>"));
    assert!(html.contains(
        "<h4>Example</h4><pre class=\"code\"><code>kind: Pod\nstatus: {phase: Failed}</code></pre>"
    ));
    assert!(html.contains(
        "<li><a href=\"https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/\" rel=\"noopener noreferrer\">\
         https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/</a></li>"
    ));
    // Passed detectors: one line each, in a folded group, with their prose.
    assert!(html.contains(
        "<details class=\"group g-normal\"><summary><span class=\"badge lvl-normal\">Normal</span> \
         <strong class=\"gn\">1</strong> passed (no finding)</summary>"
    ));
    assert!(
        html.contains("<span class=\"det-count muted\">passed: 12 evaluated objects</span>")
            || html.contains("<span class=\"det-count muted\">passed: 12 objects evaluated</span>")
    );
    // The view by namespace and object: namespaces worst score first, each object with
    // everything reported about it.
    let ns = |name: &str| {
        html.find(&format!("<h4 class=\"ns-head\">{name}"))
            .unwrap_or_else(|| panic!("namespace {name}"))
    };
    assert!(ns("batch") < ns("shop") && ns("shop") < ns("kube-system"));
    assert!(ns("kube-system") < ns("Cluster-scoped objects"));
    assert!(ns("Cluster-scoped objects") < ns("Findings about no object"));
    assert!(html.contains(
        "<h4 class=\"ns-head\">batch <span class=\"muted\">score</span> <span class=\"score s-partial\">95*</span></h4>"
    ));
    assert!(html.contains(
        "<summary><span class=\"badge lvl-error\">Error</span> <span class=\"on\">Pod/shop/cart-7d9f</span> \
         <span class=\"muted\">1 error</span> <span class=\"src muted\">manifests/shop.yaml:42</span></summary>"
    ));
    assert!(html.contains(
        "<li class=\"ofinding\" data-level=\"error\"><span class=\"badge lvl-error\">Error</span> \
         <a class=\"det-link\" href=\"#c0-d1\">failed_pod</a> <span class=\"msg\">Pod failed: OOMKilled (exit 137)</span>"
    ));
    // Attachments, collectors, diagnostics, skipped.
    assert!(html.contains("<h5># of objects evaluated</h5><pre class=\"json\">12</pre>"));
    assert!(html.contains("<code>kubernetes/secrets</code> unavailable"));
    assert!(html.contains("connection refused (127.0.0.1:9090)"));
    assert!(html.contains("<td class=\"src\">manifests/broken.yaml:7</td><td>mapping values are not allowed in this context</td>"));
    assert!(html.contains("<h3>Skipped detectors"));
    assert!(html.contains("<code>node_kubelet_version_skew</code>"));
    // The per-namespace counts feed the scores; they are not listed with the collector.
    assert!(html.contains("<p class=\"muted\">documents: 118 · objects: 117</p>"));
    // Filter bar: search, views, suppressed.
    assert!(html.contains("<input type=\"search\" id=\"q\""));
    assert!(html.contains("data-view-btn=\"detectors\" aria-pressed=\"true\""));
    assert!(html.contains("data-view-btn=\"objects\" aria-pressed=\"false\""));
    assert!(html.contains("<input type=\"checkbox\" id=\"show-suppressed\" checked>"));
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
