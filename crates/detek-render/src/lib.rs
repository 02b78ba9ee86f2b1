//! detek's renderers: views of a [`ReportList`].
//!
//! * [`json`] / [`json_many`] — the contract, documented in `docs/report-schema.md` and
//!   `docs/report-schema.json`. Every other output is a view of it.
//! * [`html`] — one self-contained file rendered from templates (minijinja, auto-escaping),
//!   the detectors' Markdown rendered with pulldown-cmark: inline CSS and JS, no network
//!   fetch (a Content-Security-Policy forbids any), every report string escaped.
//! * [`table`] / [`table_with`] / [`summary_line`] — for terminals (comfy-table): names and
//!   paths never cut, whole lines or wrapped to a terminal width; colour (anstyle) only when
//!   asked; control characters and escape sequences from report data neutralised.
//! * [`sarif`] / [`sarif_with`] — SARIF 2.1.0 for code-scanning UIs: one run per target, the
//!   detectors as rules, file:line regions for manifests, fingerprints.
//! * [`junit`] — JUnit XML for CI test reports: one test suite per target, one test case per
//!   detector × object.
//!
//! Renderers are pure: no clock, no I/O, no environment. The same `ReportList` always renders to
//! the same bytes.

mod csp;
mod escape;
mod format;
mod html;
mod json;
mod junit;
mod markdown;
mod sarif;
mod score;
mod table;
mod text;

pub use escape::{escape_html, sanitize_terminal};
pub use format::{Format, ParseFormatError, render};
pub use html::{escaping_environment, html};
pub use json::{json, json_many, write_json};
pub use junit::junit;
pub use sarif::{FINGERPRINT_KEY, SARIF_SCHEMA_URI, SarifOptions, sarif, sarif_with};
pub use table::{TableOptions, summary_line, table, table_with};
