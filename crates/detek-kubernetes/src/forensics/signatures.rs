//! Known error signatures in a container's last log lines or its termination message
//! (`data/log-signatures.yaml`), and the redaction of the line shown.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// One entry of the signature table, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    pub id: String,
    /// What happened, in a few words ("the JVM ran out of heap").
    pub title: String,
    /// What the restart causes match on (`memory`, `dependency`, `image`, `config`…).
    pub category: String,
    /// A regular expression matched against one line at a time.
    pub pattern: String,
    pub fix: String,
    #[serde(default)]
    pub sources: Vec<String>,
    /// Lines this signature must win for, matched against the whole table.
    #[serde(default)]
    pub matches: Vec<String>,
    /// Lines its pattern must not match.
    #[serde(default)]
    pub not_matches: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    signatures: Vec<SignatureEntry>,
}

/// A signature ready to match.
#[derive(Debug, Clone)]
pub struct Signature {
    pub entry: SignatureEntry,
    pattern: Regex,
}

impl Signature {
    pub fn is_match(&self, line: &str) -> bool {
        self.pattern.is_match(line)
    }
}

/// The signature table: built-in entries, then the user's.
#[derive(Debug, Clone)]
pub struct Signatures(Vec<Signature>);

/// Where a signature matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogMatch {
    pub signature: String,
    pub title: String,
    pub category: String,
    pub fix: String,
    /// Where the line was read: `previous log` or `termination message`.
    pub found_in: String,
    /// The matched line, redacted (see [`redact`]); `None` when excerpts are hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

/// Parse a signature table (YAML); `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Signature>, String> {
    let file: SignatureFile = serde_saphyr::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    file.signatures
        .into_iter()
        .map(|entry| {
            let pattern = Regex::new(&entry.pattern)
                .map_err(|e| format!("{origin}: signature {}: pattern: {e}", entry.id))?;
            Ok(Signature { entry, pattern })
        })
        .collect()
}

/// The table shipped with detek.
pub static BUILTIN: LazyLock<Signatures> = LazyLock::new(|| {
    Signatures(
        parse(
            include_str!("../../data/log-signatures.yaml"),
            "data/log-signatures.yaml",
        )
        .expect("data/log-signatures.yaml is valid"),
    )
});

impl Signatures {
    pub fn builtin() -> Signatures {
        BUILTIN.clone()
    }

    /// The built-in table with `extra` entries after it (a user's table).
    pub fn with(mut self, extra: Vec<Signature>) -> Signatures {
        self.0.extend(extra);
        self
    }

    pub fn entries(&self) -> impl Iterator<Item = &Signature> {
        self.0.iter()
    }

    /// The first signature, in table order, matching one of `lines` (the newest line first:
    /// the last thing a process wrote is usually why it stopped), with that line.
    pub fn find<'l>(&self, lines: &[&'l str]) -> Option<(&Signature, &'l str)> {
        self.0.iter().find_map(|s| {
            lines
                .iter()
                .rev()
                .find(|line| s.is_match(line))
                .map(|line| (s, *line))
        })
    }

    /// Which signature wins for one line.
    pub fn classify(&self, line: &str) -> Option<&Signature> {
        self.find(&[line]).map(|(s, _)| s)
    }
}

/// The line with anything that looks like a credential replaced by `[redacted]`: bearer and
/// basic tokens, `password=`/`token: `/`secret=`… values, user:password in URLs, private key
/// blocks and AWS access key ids. Lines are also cut at 300 characters.
pub fn redact(line: &str) -> String {
    static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
        [
            // HTTP's own spelling, so prose ("basic settings") is left alone.
            (r"\b(Bearer|Basic|bearer)\s+[A-Za-z0-9._~+/=-]{8,}", "$1 [redacted]"),
            (
                r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)s?[a-z0-9_.-]*)(["']?\s*[:=]\s*["']?)[^\s"',;&]+"#,
                "$1$2[redacted]",
            ),
            (r"://([^/\s:@]+):[^/\s@]+@", "://$1:[redacted]@"),
            (r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", "[redacted private key]"),
            (r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "[redacted]"),
        ]
        .into_iter()
        .map(|(p, r)| (Regex::new(p).expect("valid redaction pattern"), r))
        .collect()
    });
    let mut out = line.to_string();
    for (pattern, replacement) in RULES.iter() {
        out = pattern.replace_all(&out, *replacement).into_owned();
    }
    if out.chars().count() > 300 {
        out = out.chars().take(300).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table-driven check of every signature's samples: each `matches` line is won by its
    /// signature (against the whole table, so an earlier, broader entry cannot steal it), and
    /// no `not_matches` line matches its pattern. A user's table is checked the same way.
    #[test]
    fn every_signature_wins_its_samples_and_misses_its_counter_samples() {
        let table = Signatures::builtin();
        let mut problems = Vec::new();
        for s in table.entries() {
            let e = &s.entry;
            if e.matches.is_empty() || e.not_matches.is_empty() || e.sources.is_empty() {
                problems.push(format!("{}: needs samples both ways and a source", e.id));
            }
            for line in &e.matches {
                let won = table.classify(line).map(|w| w.entry.id.as_str());
                if won != Some(e.id.as_str()) {
                    problems.push(format!("{}: {line:?} is won by {won:?}", e.id));
                }
            }
            for line in &e.not_matches {
                if s.is_match(line) {
                    problems.push(format!("{}: matches its counter-sample {line:?}", e.id));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let ids: Vec<&str> = table.entries().map(|s| s.entry.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "jvm_out_of_memory",
                "go_out_of_memory",
                "too_many_open_files",
                "x509_expired",
                "dns_no_such_host",
                "connection_refused",
                "address_in_use",
                "permission_denied_volume",
                "exec_format_error",
                "command_not_found",
                "no_such_file",
                "go_panic",
                "python_traceback",
            ]
        );
    }

    #[test]
    fn the_newest_matching_line_of_the_first_matching_signature_wins() {
        let table = Signatures::builtin();
        let lines = [
            "dial tcp 10.0.0.1:5432: connect: connection refused",
            "Traceback (most recent call last):",
            "dial tcp 10.0.0.2:5432: connect: connection refused",
        ];
        let (s, line) = table.find(&lines).unwrap();
        assert_eq!(s.entry.id, "connection_refused");
        assert_eq!(line, "dial tcp 10.0.0.2:5432: connect: connection refused");
        assert!(table.find(&["all good", "shutting down"]).is_none());
    }

    #[test]
    fn credentials_are_redacted_from_shown_lines() {
        assert_eq!(
            redact("GET /api Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6 failed"),
            "GET /api Authorization: Bearer [redacted] failed"
        );
        assert_eq!(
            redact("connecting with password=hunter2secret user=app"),
            "connecting with password=[redacted] user=app"
        );
        assert_eq!(
            redact(r#"{"DB_PASSWORD": "s3cr3t", "host": "db"}"#),
            r#"{"DB_PASSWORD": "[redacted]", "host": "db"}"#
        );
        assert_eq!(
            redact("dial postgres://app:pa55w0rd@db:5432/x: connection refused"),
            "dial postgres://app:[redacted]@db:5432/x: connection refused"
        );
        assert_eq!(
            redact("key AKIAIOSFODNN7EXAMPLE rejected"),
            "key [redacted] rejected"
        );
        assert_eq!(
            redact("-----BEGIN RSA PRIVATE KEY----- MIIEow"),
            "[redacted private key]"
        );
        assert_eq!(
            redact("dial tcp 10.0.0.1:5432: connect: connection refused"),
            "dial tcp 10.0.0.1:5432: connect: connection refused"
        );
        assert_eq!(redact(&"x".repeat(400)).chars().count(), 301);
    }
}
