//! Inputs found by the fuzz targets (fuzz/), kept as regression tests. Each names its target and
//! what it found.

use detek_kubernetes_model::ingest::parse_text;

/// Runs `fuzz/src/lib.rs`'s `snapshot` checks on one input: every diagnostic names the file and
/// a line that exists (YAML counts a lone carriage return as a line break too).
fn snapshot(bytes: &[u8]) -> Vec<u32> {
    let text = std::str::from_utf8(bytes).unwrap();
    let out = parse_text("fuzz.yaml", text);
    let lines = text.matches(['\n', '\r']).count() as u32 + 1;
    out.diagnostics
        .iter()
        .map(|d| {
            let source = d.source.as_ref().unwrap();
            assert_eq!(source.file, "fuzz.yaml");
            assert!((1..=lines).contains(&source.line), "{d:?}");
            source.line
        })
        .collect()
}

/// snapshot: a file with old Mac line ends (CR only) reported an error on line 3 of what the
/// target counted as a one-line file. Not a bug in detek (YAML's lines are right); the target's
/// line count was wrong and now counts CRs.
#[test]
fn carriage_return_line_ends() {
    assert_eq!(snapshot(b"\r\r-\x03"), [3]);
}
