//! Kubernetes version strings: `v1.29.3`, `1.29`, `v1.30.0-eks-1234`.

use std::cmp::Ordering;

/// `(major, minor, patch)` of a version string; suffixes after `-` or `+` are ignored.
pub fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let v = version.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| {
        p.trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()
    })?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor, patch))
}

/// Compare two versions; unparsable ones sort first.
pub fn compare(a: &str, b: &str) -> Ordering {
    parse(a).cmp(&parse(b))
}

/// `a >= b`, `false` when either does not parse.
pub fn at_least(a: &str, b: &str) -> bool {
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x >= y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_versions() {
        assert_eq!(parse("v1.29.3"), Some((1, 29, 3)));
        assert_eq!(parse("1.25"), Some((1, 25, 0)));
        assert_eq!(parse("v1.30.0-eks-1234"), Some((1, 30, 0)));
        assert_eq!(parse("v1.27+"), Some((1, 27, 0)));
        assert_eq!(parse("latest"), None);
        assert!(at_least("v1.25.0", "1.22"));
        assert!(!at_least("v1.21.9", "v1.22.0"));
    }
}
