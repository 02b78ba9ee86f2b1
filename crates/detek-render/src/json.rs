//! The JSON contract (`docs/report-schema.md`, `docs/report-schema.json`).

use detek_core::ReportList;
use detek_core::report::SCHEMA_VERSION;
use serde::Serialize;

/// One scan of one target: the serialized [`ReportList`], pretty-printed, ending with a newline.
///
/// The top-level object carries kakao/detek's `started_at`, `finished_at` and `reports`, so
/// readers of detek's JSON keep working. This is what `detek run -f json` prints for one target.
pub fn json(list: &ReportList) -> String {
    to_pretty(list)
}

/// Several scans (one per cluster) in one document, always in this shape, whatever the number
/// of lists (zero and one included):
///
/// ```json
/// {"schemaVersion": 1, "tool": "detek", "version": "0.1.0", "clusters": [ReportList, ...]}
/// ```
///
/// `version` is the version of detek that wrote the document; each `clusters[]` entry keeps its
/// own `version` and `schemaVersion`.
pub fn json_many(lists: &[ReportList]) -> String {
    #[derive(Serialize)]
    struct Many<'a> {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        tool: &'static str,
        version: &'static str,
        clusters: &'a [ReportList],
    }
    to_pretty(&Many {
        schema_version: SCHEMA_VERSION,
        tool: "detek",
        version: env!("CARGO_PKG_VERSION"),
        clusters: lists,
    })
}

fn to_pretty<T: Serialize>(value: &T) -> String {
    // The report model is plain data (string keys, no custom serializers that can fail), so
    // serialization cannot fail; if it ever did, say so in valid JSON rather than panic.
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("detek: cannot serialize the report: {e}") })
            .to_string()
    });
    s.push('\n');
    s
}
