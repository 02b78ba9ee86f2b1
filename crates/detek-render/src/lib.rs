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
//!
//! Renderers are pure: no clock, no I/O, no environment. The same `ReportList` always renders to
//! the same bytes.

mod csp;
mod escape;
mod format;
mod html;
mod json;
mod markdown;
mod score;
mod table;
mod text;

pub use escape::{escape_html, sanitize_terminal};
pub use format::{Format, ParseFormatError, render};
pub use html::html;
pub use json::{json, json_many};
pub use table::{TableOptions, summary_line, table, table_with};
