//! What a policy's text names: the functions it calls and the rules it defines, read from its
//! tokens (comments and strings skipped).
//!
//! regorus finds an unknown builtin only when evaluation reaches the call, so a policy calling
//! `http.send` under a condition the dry run never meets would fail — or worse, seem to pass —
//! in the middle of a scan. Checking every call against the builtins, the extensions and the
//! functions the policies define finds it when the policy is loaded, wherever the call is.

use std::collections::BTreeSet;

/// A name as written in the text, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub line: u32,
}

/// The tokens of a Rego text that matter here.
#[derive(Debug, Default)]
pub struct Scanned {
    pub package: Option<String>,
    /// `import data.lib.k8s` → (alias `k8s`, path `data.lib.k8s`); `import data.x as y` → y.
    pub imports: Vec<(String, String)>,
    /// Every dotted name followed by `(`: calls, and function heads.
    pub calls: Vec<Named>,
    /// Names that start a line at column 0 (rule and function heads), with their line.
    pub heads: Vec<Named>,
    /// Every identifier outside comments and strings, for "is this rule used".
    pub words: Vec<Named>,
}

const KEYWORDS: &[&str] = &[
    "as", "contains", "default", "else", "every", "false", "if", "import", "in", "not", "null",
    "package", "some", "true", "with",
];

/// Tokenise `source` (Rego v1) for the names it defines and calls.
pub fn scan(source: &str) -> Scanned {
    let mut out = Scanned::default();
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut line: u32 = 1;
    let mut line_start = true;
    // The tokens of the current line so far, for `package` and `import`.
    let mut statement: Vec<String> = Vec::new();
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                finish_statement(&mut statement, &mut out);
                line += 1;
                line_start = true;
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                line_start = false;
                continue;
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 1;
                line_start = false;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let at_column_0 = line_start && (i == 0 || bytes[i - 1] == b'\n');
                let start = i;
                // A dotted name: identifiers joined by `.` (no spaces).
                loop {
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                    {
                        i += 1;
                    }
                    if i + 1 < bytes.len()
                        && bytes[i] == b'.'
                        && (bytes[i + 1].is_ascii_alphabetic() || bytes[i + 1] == b'_')
                    {
                        i += 1;
                        continue;
                    }
                    break;
                }
                let name = &source[start..i];
                for word in name.split('.') {
                    out.words.push(Named {
                        name: word.to_string(),
                        line,
                    });
                }
                statement.push(name.to_string());
                let mut j = i;
                while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                    j += 1;
                }
                let called = j < bytes.len() && bytes[j] == b'(';
                if called && !KEYWORDS.contains(&name) {
                    out.calls.push(Named {
                        name: name.to_string(),
                        line,
                    });
                }
                if at_column_0 && !KEYWORDS.contains(&name) {
                    out.heads.push(Named {
                        name: name.to_string(),
                        line,
                    });
                }
                line_start = false;
                continue;
            }
            b' ' | b'\t' | b'\r' => {}
            _ => {
                line_start = false;
                statement.push((c as char).to_string());
            }
        }
        i += 1;
    }
    finish_statement(&mut statement, &mut out);
    out
}

fn finish_statement(tokens: &mut Vec<String>, out: &mut Scanned) {
    match tokens.first().map(String::as_str) {
        Some("package") if tokens.len() >= 2 && out.package.is_none() => {
            out.package = Some(tokens[1].clone());
        }
        Some("import") if tokens.len() >= 2 => {
            let path = tokens[1].clone();
            let alias = match tokens.get(2).map(String::as_str) {
                Some("as") => tokens.get(3).cloned(),
                _ => path.rsplit('.').next().map(str::to_string),
            };
            if let Some(alias) = alias {
                out.imports.push((alias, path));
            }
        }
        _ => {}
    }
    tokens.clear();
}

/// The functions and rules the modules of one engine define, as `data.<package>.<name>`.
pub fn defined(modules: &[&Scanned]) -> BTreeSet<String> {
    modules
        .iter()
        .filter_map(|m| m.package.as_ref().map(|p| (p, m)))
        .flat_map(|(package, m)| {
            m.heads
                .iter()
                .map(move |h| format!("data.{package}.{}", h.name))
        })
        .collect()
}

/// The calls of `module` that name neither a builtin, an extension nor a function the
/// modules define: each is an error naming its line.
pub fn unknown_calls(
    module: &Scanned,
    defined: &BTreeSet<String>,
    is_builtin: &dyn Fn(&str) -> bool,
) -> Vec<Named> {
    let package = module.package.as_deref().unwrap_or("");
    module
        .calls
        .iter()
        .filter(|call| {
            let name = call.name.as_str();
            if is_builtin(name) || name == "print" {
                return false;
            }
            // A head at column 0 (`f(x) := ...`) is a definition, not a call.
            if module
                .heads
                .iter()
                .any(|h| h.name == name && h.line == call.line)
            {
                return false;
            }
            let first = name.split('.').next().unwrap_or(name);
            let resolved = if name.starts_with("data.") {
                name.to_string()
            } else if let Some((_, path)) = module.imports.iter().find(|(alias, _)| alias == first)
            {
                format!("{path}{}", &name[first.len()..])
            } else {
                format!("data.{package}.{name}")
            };
            !defined.contains(&resolved)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_calls_heads_and_imports_outside_strings_and_comments() {
        let source = "package detek.x\nimport data.lib.k8s\nimport data.other as o\n\n# http.send({}) in a comment\nmsg(p) := sprintf(\"%s http.send(\", [p])\nfindings contains f if {\n  some p in input.kubernetes.pods\n  k8s.owner(p)\n  o.helper (p)\n  x := http.send({\"url\": \"http://a\"})\n  f := msg(p)\n}\n";
        let scanned = scan(source);
        assert_eq!(scanned.package.as_deref(), Some("detek.x"));
        assert_eq!(
            scanned.imports,
            [
                ("k8s".to_string(), "data.lib.k8s".to_string()),
                ("o".to_string(), "data.other".to_string())
            ]
        );
        let calls: Vec<(&str, u32)> = scanned
            .calls
            .iter()
            .map(|c| (c.name.as_str(), c.line))
            .collect();
        assert_eq!(
            calls,
            [
                ("msg", 6),
                ("sprintf", 6),
                ("k8s.owner", 9),
                ("o.helper", 10),
                ("http.send", 11),
                ("msg", 12)
            ]
        );
        let heads: Vec<&str> = scanned.heads.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(heads, ["msg", "findings"]);

        let lib = scan("package lib.k8s\nowner(p) := p.metadata.ownerReferences[0]\n");
        let other = scan("package other\nhelper(p) if true\n");
        let defined = defined(&[&scanned, &lib, &other]);
        let builtins = |name: &str| name == "sprintf";
        let unknown: Vec<(String, u32)> = unknown_calls(&scanned, &defined, &builtins)
            .into_iter()
            .map(|n| (n.name, n.line))
            .collect();
        assert_eq!(unknown, [("http.send".to_string(), 11)]);
    }
}
