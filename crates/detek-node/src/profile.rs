//! Kernel parameter profiles: what a parameter should be on a Kubernetes node, and why
//! (`data/kernel-profile.yaml`, the default; users' profiles in the same format).

use serde::Deserialize;

/// The default profile, compiled in.
pub const DEFAULT_PROFILE: &str = include_str!("../data/kernel-profile.yaml");

/// One parameter's expectation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub name: String,
    /// The exact value, compared after normalising whitespace.
    #[serde(default)]
    pub expect: Option<String>,
    /// The smallest acceptable value.
    #[serde(default)]
    pub min: Option<i64>,
    /// `network` (per network namespace) or `host`.
    pub scope: String,
    pub why: String,
    pub references: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    parameters: Vec<Expectation>,
}

/// Read a profile; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Expectation>, String> {
    let file: ProfileFile = serde_saphyr::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    check(file.parameters, origin)
}

/// Read the parameters of a user profile given as a setting (`detek.yaml`): a list of entries
/// in the default profile's format; null is none.
pub fn from_setting(value: &serde_json::Value, origin: &str) -> Result<Vec<Expectation>, String> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let parameters: Vec<Expectation> =
        serde_json::from_value(value.clone()).map_err(|e| format!("{origin}: {e}"))?;
    check(parameters, origin)
}

fn check(parameters: Vec<Expectation>, origin: &str) -> Result<Vec<Expectation>, String> {
    for p in &parameters {
        match (&p.expect, p.min) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(format!(
                    "{origin}: {}: give exactly one of expect and min",
                    p.name
                ));
            }
        }
        if p.references.is_empty() {
            return Err(format!("{origin}: {}: no reference", p.name));
        }
    }
    Ok(parameters)
}

/// Normalise a value as `/proc/sys` prints it (tabs between the fields of multi-value
/// parameters such as `net.ipv4.ip_local_port_range`).
pub fn normalise(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Expectation {
    /// Why `value` does not meet the expectation, or `None` when it does. A minimum against a
    /// value that is not an integer is reported as such.
    pub fn miss(&self, value: &str) -> Option<String> {
        let value = normalise(value);
        if let Some(expect) = &self.expect {
            return (value != normalise(expect)).then(|| format!("is {value}, expected {expect}"));
        }
        let min = self.min?;
        match value.parse::<i64>() {
            Ok(v) if v >= min => None,
            Ok(v) => Some(format!("is {v}, below the minimum {min}")),
            Err(_) => Some(format!(
                "is {value:?}, not the integer the minimum {min} needs"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_reads_and_each_entry_judges() {
        let profile = parse(DEFAULT_PROFILE, "kernel-profile.yaml").unwrap();
        let forward = profile
            .iter()
            .find(|p| p.name == "net.ipv4.ip_forward")
            .unwrap();
        assert_eq!(forward.miss("1\n"), None);
        assert_eq!(forward.miss("0"), Some("is 0, expected 1".to_string()));
        let watches = profile
            .iter()
            .find(|p| p.name == "fs.inotify.max_user_watches")
            .unwrap();
        assert_eq!(watches.min, Some(524288));
        assert_eq!(
            watches.miss("8192"),
            Some("is 8192, below the minimum 524288".to_string())
        );
        assert_eq!(watches.miss("1048576"), None);
        assert!(profile.len() >= 15, "{}", profile.len());
    }

    #[test]
    fn an_entry_with_both_or_neither_is_refused() {
        let both = "parameters:\n  - {name: a.b, expect: \"1\", min: 1, scope: host, why: x, references: [u]}\n";
        assert_eq!(
            parse(both, "p.yaml").unwrap_err(),
            "p.yaml: a.b: give exactly one of expect and min"
        );
    }
}
