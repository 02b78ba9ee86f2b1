//! detek's renderers: views of a [`ReportList`].
//!
//! * [`json`] / [`json_many`] — the contract, documented in `docs/report-schema.md` and
//!   `docs/report-schema.json`. Every other output is a view of it.
//! * [`html`] — one self-contained file: inline CSS and JS, no network fetch (a
//!   Content-Security-Policy forbids any), every report string escaped.
//! * [`table`] / [`summary_line`] — for terminals; ANSI colour only when asked, control
//!   characters and escape sequences from report data neutralised.
//!
//! Renderers are pure: no clock, no I/O, no environment. The same `ReportList` always renders to
//! the same bytes.

mod csp;
mod escape;
mod format;
mod html;
mod json;
mod table;
mod text;

pub use escape::{escape_html, sanitize_terminal};
pub use format::{Format, ParseFormatError, render};
pub use html::html;
pub use json::{json, json_many};
pub use table::{summary_line, table};
