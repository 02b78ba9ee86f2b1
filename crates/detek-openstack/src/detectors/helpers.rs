//! Code shared by the OpenStack detectors: object references for findings, API times.

use crate::model::Server;
use detek_core::ObjectRef;
use jiff::Timestamp;
use std::time::SystemTime;

/// A server as the object of a finding: kind `Server`, its project as the namespace, its name
/// (its id when unnamed). Names are not unique in Nova: findings on servers also carry the id
/// as their discriminator ([`server_discriminator`]), so two servers of one name are told apart.
pub(crate) fn server_ref(server: &Server) -> ObjectRef {
    let name = if server.name.is_empty() {
        &server.id
    } else {
        &server.name
    };
    ObjectRef::new("Server", server.tenant_id.as_deref(), name.as_str())
}

/// What tells findings on two servers of the same name apart: the server id.
pub(crate) fn server_discriminator(server: &Server) -> &str {
    &server.id
}

/// A time as the APIs write it: RFC 3339 (`2013-12-05T21:07:07Z`), or a naive UTC time
/// (`2012-10-29T13:42:02.000000` in `os-services`, `2017-09-12 19:40:08` in Neutron agents).
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let naive = text.replacen(' ', "T", 1);
    let civil: jiff::civil::DateTime = naive.parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Seconds from `since` to the scan's clock; `None` when `since` is later.
pub(crate) fn seconds_since(since: Timestamp, now: SystemTime) -> Option<i64> {
    let now = Timestamp::try_from(now).ok()?;
    let secs = now.as_second() - since.as_second();
    (secs >= 0).then_some(secs)
}

/// A duration in seconds as `3d 4h`, `2h 5m` or `7m`.
pub(crate) fn human_duration(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_time_formats_of_nova_and_neutron() {
        let rfc = parse_time("2013-12-05T21:07:07Z").unwrap();
        assert_eq!(rfc.to_string(), "2013-12-05T21:07:07Z");
        let nova = parse_time("2012-10-29T13:42:02.000000").unwrap();
        assert_eq!(nova.to_string(), "2012-10-29T13:42:02Z");
        let neutron = parse_time("2017-09-12 19:40:08").unwrap();
        assert_eq!(neutron.to_string(), "2017-09-12T19:40:08Z");
        assert!(parse_time("yesterday").is_none());
        assert_eq!(human_duration(3 * 86_400 + 4 * 3_600 + 59), "3d 4h");
        assert_eq!(human_duration(7_500), "2h 5m");
        assert_eq!(human_duration(420), "7m");
    }
}
