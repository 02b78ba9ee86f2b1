//! Baselines: the fingerprints of a previous report, so that a scan can tell the findings that
//! appeared since (`new`) from those already known (`known`) — `detek run --baseline FILE`.
//!
//! A baseline is any JSON report `detek run -f json` wrote: one [`ReportList`] or the
//! multi-cluster `{"clusters": [...]}` document. Only the findings' fingerprints are read (they
//! include the target identity, so one baseline can hold several clusters); suppressed findings
//! count as known too.

use crate::report::{BaselineState, ReportList};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;

/// The fingerprints of a previous report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

/// Why a baseline could not be read. The caller names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineError(String);

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BaselineError {}

/// How many findings of a scan a baseline knew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaselineCounts {
    pub new: u64,
    pub known: u64,
}

impl Baseline {
    /// A baseline of these fingerprints.
    pub fn new<I, S>(fingerprints: I) -> Baseline
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Baseline {
            fingerprints: fingerprints.into_iter().map(Into::into).collect(),
        }
    }

    /// Read a JSON report (`detek run -f json`): one ReportList (it has `reports`) or several
    /// (`clusters`). Every finding must carry its `fingerprint`; anything else is an error
    /// saying where the document departs from that shape.
    pub fn from_json(text: &str) -> Result<Baseline, BaselineError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| BaselineError(format!("not JSON: {e}")))?;
        let mut fingerprints = HashSet::new();
        match (value.get("clusters"), value.get("reports")) {
            (Some(clusters), _) => {
                let clusters = clusters.as_array().ok_or_else(|| {
                    BaselineError("`clusters` is not an array of reports".to_string())
                })?;
                for (i, list) in clusters.iter().enumerate() {
                    read_list(list, &format!("clusters[{i}]"), &mut fingerprints)?;
                }
            }
            (None, Some(_)) => read_list(&value, "", &mut fingerprints)?,
            (None, None) => {
                return Err(BaselineError(
                    "not a detek JSON report: expected an object with `reports` (one target) \
                     or `clusters` (several), as `detek run -f json` writes"
                        .to_string(),
                ));
            }
        }
        Ok(Baseline { fingerprints })
    }

    /// How many distinct fingerprints it holds.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// Mark every finding of `list` `known` (its fingerprint is in the baseline) or `new`, and
    /// count the unsuppressed ones of each. A finding without a fingerprint is new.
    pub fn apply(&self, list: &mut ReportList) -> BaselineCounts {
        let mut counts = BaselineCounts::default();
        for report in &mut list.reports {
            for finding in &mut report.findings {
                let state =
                    if !finding.fingerprint.is_empty() && self.contains(&finding.fingerprint) {
                        BaselineState::Known
                    } else {
                        BaselineState::New
                    };
                finding.baseline = Some(state);
                if finding.suppressed.is_none() {
                    match state {
                        BaselineState::New => counts.new += 1,
                        BaselineState::Known => counts.known += 1,
                    }
                }
            }
        }
        counts
    }
}

fn read_list(
    list: &Value,
    at: &str,
    fingerprints: &mut HashSet<String>,
) -> Result<(), BaselineError> {
    let here = |field: &str| {
        if at.is_empty() {
            field.to_string()
        } else {
            format!("{at}.{field}")
        }
    };
    let reports = list
        .get("reports")
        .and_then(Value::as_array)
        .ok_or_else(|| BaselineError(format!("`{}` is not an array", here("reports"))))?;
    for (r, report) in reports.iter().enumerate() {
        let Some(findings) = report.get("findings") else {
            continue;
        };
        let findings = findings.as_array().ok_or_else(|| {
            BaselineError(format!(
                "`{}` is not an array",
                here(&format!("reports[{r}].findings"))
            ))
        })?;
        for (f, finding) in findings.iter().enumerate() {
            match finding.get("fingerprint").and_then(Value::as_str) {
                Some(fp) if !fp.is_empty() => {
                    fingerprints.insert(fp.to_string());
                }
                _ => {
                    return Err(BaselineError(format!(
                        "`{}` has no fingerprint (a report written by `detek run -f json` \
                         gives every finding one)",
                        here(&format!("reports[{r}].findings[{f}]"))
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_list_and_several() {
        let one = r#"{"reports": [{"id": "a", "findings": [{"fingerprint": "f1"}, {"fingerprint": "f2"}]}, {"id": "b"}]}"#;
        let b = Baseline::from_json(one).unwrap();
        assert_eq!(b.len(), 2);
        assert!(b.contains("f1") && b.contains("f2") && !b.contains("f3"));
        let many = r#"{"clusters": [{"reports": [{"findings": [{"fingerprint": "f1"}]}]}, {"reports": [{"findings": [{"fingerprint": "f3"}]}]}]}"#;
        let b = Baseline::from_json(many).unwrap();
        assert!(b.contains("f1") && b.contains("f3"));
        assert!(
            Baseline::from_json(r#"{"clusters": []}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn wrong_shapes_say_where() {
        let err = |s: &str| Baseline::from_json(s).unwrap_err().to_string();
        assert!(
            err("not json").starts_with("not JSON:"),
            "{}",
            err("not json")
        );
        assert!(err("[]").contains("expected an object with `reports`"));
        assert!(err(r#"{"reports": 3}"#).contains("`reports` is not an array"));
        assert!(err(r#"{"clusters": {}}"#).contains("`clusters` is not an array"));
        assert!(
            err(r#"{"clusters": [{"reports": [{"findings": [{"message": "x"}]}]}]}"#)
                .contains("`clusters[0].reports[0].findings[0]` has no fingerprint")
        );
    }
}
