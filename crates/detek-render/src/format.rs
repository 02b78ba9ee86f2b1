//! Output formats, by name.

use detek_core::ReportList;
use std::fmt;
use std::str::FromStr;

/// An output format. More may join this list; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// One self-contained HTML file ([`crate::html`]).
    Html,
    /// The JSON contract ([`crate::json`], [`crate::json_many`]).
    Json,
    /// A terminal table ([`crate::table`]).
    Table,
    /// SARIF 2.1.0, for code-scanning UIs ([`crate::sarif`]).
    Sarif,
    /// JUnit XML, for CI test reports ([`crate::junit`]).
    Junit,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Json,
        Format::Table,
        Format::Sarif,
        Format::Junit,
    ];

    /// The name used on the command line (`-f NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Json => "json",
            Format::Table => "table",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
        }
    }

    /// One line for `--help`.
    pub fn description(self) -> &'static str {
        match self {
            Format::Html => "One self-contained HTML file (default, as kakao/detek)",
            Format::Json => "The versioned JSON report (docs/report-schema.md)",
            Format::Table => "A table for terminals",
            Format::Sarif => {
                "SARIF 2.1.0 for code scanning (GitHub, GitLab): rules, file:line, fingerprints"
            }
            Format::Junit => "JUnit XML for CI test reports: a test case per detector and object",
        }
    }

    /// The usual file extension for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Json => "json",
            Format::Table => "txt",
            Format::Sarif => "sarif",
            Format::Junit => "xml",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of [`Format::from_str`]: names the bad value and lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFormatError(String);

impl fmt::Display for ParseFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let valid: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        write!(
            f,
            "unknown format {:?} (valid formats: {})",
            self.0,
            valid.join(", ")
        )
    }
}

impl std::error::Error for ParseFormatError {}

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Case-insensitive; surrounding spaces are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| ParseFormatError(s.to_string()))
    }
}

/// Render scans in a format, as `detek run -f FORMAT` does.
///
/// * `Html`: one file for all lists (a cluster selector when there are several).
/// * `Json`: exactly one list gives that [`ReportList`] ([`crate::json`], detek-compatible);
///   any other number gives the multi-cluster document ([`crate::json_many`]).
/// * `Table`: one table per list, separated by a blank line; `color` adds ANSI colour.
/// * `Sarif`: one log, one run per list, file paths as given ([`crate::sarif`];
///   [`crate::sarif_with`] makes absolute paths relative to a directory).
/// * `Junit`: one document, one test suite per list ([`crate::junit`]).
pub fn render(format: Format, lists: &[ReportList], color: bool) -> String {
    match format {
        Format::Html => crate::html(lists),
        Format::Json => match lists {
            [one] => crate::json(one),
            _ => crate::json_many(lists),
        },
        Format::Table => lists
            .iter()
            .map(|l| crate::table(l, color))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Sarif => crate::sarif(lists),
        Format::Junit => crate::junit(lists),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!("html".parse::<Format>(), Ok(Format::Html));
        assert_eq!(" JSON ".parse::<Format>(), Ok(Format::Json));
        assert_eq!("Table".parse::<Format>(), Ok(Format::Table));
        assert_eq!("sarif".parse::<Format>(), Ok(Format::Sarif));
        assert_eq!("JUnit".parse::<Format>(), Ok(Format::Junit));
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
    }

    #[test]
    fn error_lists_valid_values() {
        let err = "yaml".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown format \"yaml\" (valid formats: html, json, table, sarif, junit)"
        );
    }
}
