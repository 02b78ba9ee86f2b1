//! Pinned findings for catalogue tests: a report's findings as text lines, compared with an
//! expected file that `DETEK_BLESS=1` rewrites after a deliberate change (review its diff like
//! code). Every integration's catalogue test pins its fail fixtures this way.

use crate::report::Report;
use std::path::Path;

/// Each finding as `Level Kind/namespace/name [container]: message`, in report order.
pub fn finding_lines(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| {
            let object = f
                .object
                .as_ref()
                .map_or_else(|| "-".to_string(), |o| o.display_name());
            format!("{:?} {object}: {}", f.level, f.message)
        })
        .collect()
}

/// Compare `report`'s findings with the file at `path` (or write it, with `DETEK_BLESS=1`);
/// `Some(problem)` when they differ, or when a fail fixture produced no finding at all.
pub fn check_expected(path: &Path, report: &Report) -> Option<String> {
    let got = finding_lines(report);
    if std::env::var_os("DETEK_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ok()?;
        }
        return std::fs::write(path, got.join("\n") + "\n")
            .err()
            .map(|e| format!("cannot write {}: {e}", path.display()));
    }
    if got.is_empty() {
        return Some("expected findings, got none".to_string());
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Some(format!("no {} (DETEK_BLESS=1 writes it)", path.display()));
    };
    let expected: Vec<&str> = text.lines().collect();
    (got != expected).then(|| {
        format!(
            "findings differ from {}:\n  expected: {expected:#?}\n  got: {got:#?}",
            path.display()
        )
    })
}
