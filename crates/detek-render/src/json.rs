//! The JSON contract (`docs/report-schema.md`, `docs/report-schema.json`).

use detek_core::ReportList;
use detek_core::report::SCHEMA_VERSION;
use serde::Serialize;
use std::io::Write;

/// One scan of one target: the serialized [`ReportList`], pretty-printed, ending with a newline.
///
/// The top-level object carries kakao/detek's `started_at`, `finished_at` and `reports`, so
/// readers of detek's JSON keep working. This is what `detek run -f json` prints for one target.
pub fn json(list: &ReportList) -> String {
    to_pretty(list)
}

/// [`json`] or [`json_many`] (several lists), written to `out` as it is serialized: a large
/// scan's report (1.2 GB for 400,000 documents) is never held whole in memory.
pub fn write_json(lists: &[ReportList], out: &mut dyn Write) -> std::io::Result<()> {
    match lists {
        [one] => write_pretty(one, out),
        _ => write_pretty(&Many::new(lists), out),
    }
}

/// The document [`json_many`] writes.
#[derive(Serialize)]
struct Many<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    tool: &'static str,
    version: &'static str,
    clusters: &'a [ReportList],
}

impl<'a> Many<'a> {
    fn new(lists: &'a [ReportList]) -> Self {
        Many {
            schema_version: SCHEMA_VERSION,
            tool: "detek",
            version: env!("CARGO_PKG_VERSION"),
            clusters: lists,
        }
    }
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
    to_pretty(&Many::new(lists))
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

fn write_pretty<T: Serialize>(value: &T, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    // io::Error from serde_json keeps the kind (a closed pipe stays BrokenPipe).
    serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}
