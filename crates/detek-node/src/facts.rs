//! The one command the collector runs on a host, and how its output becomes [`Facts`].
//!
//! The command is a constant: nothing of the input (host names, profiles, settings) is ever
//! put into it. It only reads: `uname -r`, `/etc/os-release`, `/proc/uptime`, the container
//! runtime's `--version`, and every readable file under `/proc/sys` (`grep -r`, which every
//! node has, where `sysctl -a` needs procps). Sections are separated by a marker line.

use crate::model::Facts;

/// The line between two sections of the output.
const MARKER: &str = "@@detek-section@@";

/// What runs on every host (a POSIX shell command line; read-only).
pub const COMMAND: &str = "export LC_ALL=C; S='\\n@@detek-section@@\\n'; \
uname -r; printf \"$S\"; \
cat /etc/os-release 2>/dev/null; printf \"$S\"; \
cat /proc/uptime 2>/dev/null; printf \"$S\"; \
(containerd --version || crio --version || dockerd --version) 2>/dev/null | head -n 1; \
printf \"$S\"; \
grep -rs '' /proc/sys 2>/dev/null; exit 0";

/// Output beyond this many bytes is not read (a `/proc/sys` dump is ~60 KB).
pub const MAX_OUTPUT_BYTES: usize = 4 << 20;

/// Parse the output of [`COMMAND`]. An output without its sections (a shell that is not
/// POSIX, a forced command in `authorized_keys`) is an error naming what was missing.
pub fn parse(output: &str) -> Result<Facts, String> {
    // A marker line starts a section (each is printed after a newline of its own: a file
    // without a final newline cannot hide it).
    let mut sections: Vec<String> = vec![String::new()];
    for line in output.lines() {
        if line == MARKER {
            sections.push(String::new());
        } else if let Some(current) = sections.last_mut() {
            current.push_str(line);
            current.push('\n');
        }
    }
    let [uname, os_release, uptime, runtime, sysctl] = sections.as_slice() else {
        let first = output.lines().next().unwrap_or("").trim();
        return Err(format!(
            "the host's answer to the read-only command is not what a POSIX shell prints \
             ({} of 5 sections; first line {first:?})",
            sections.len()
        ));
    };
    let kernel_release = uname.trim().to_string();
    if kernel_release.is_empty() {
        return Err("`uname -r` printed nothing".into());
    }
    Ok(Facts {
        kernel_release,
        os: pretty_name(os_release).unwrap_or_default(),
        uptime_seconds: uptime
            .split_whitespace()
            .next()
            .and_then(|s| s.parse::<f64>().ok())
            .map(|s| s as u64),
        runtime: Some(runtime.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        sysctl: parse_proc_sys(sysctl),
    })
}

/// `PRETTY_NAME` of an os-release file (unquoted).
fn pretty_name(os_release: &str) -> Option<String> {
    let value = os_release
        .lines()
        .find_map(|l| l.trim().strip_prefix("PRETTY_NAME="))?;
    Some(value.trim().trim_matches(['"', '\'']).to_string())
}

/// `grep -r '' /proc/sys` output (`/proc/sys/net/ipv4/ip_forward:1`) as sysctl names and
/// values; a file of several lines is one value, its lines joined by a space.
pub fn parse_proc_sys(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::<String, String>::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("/proc/sys/") else {
            continue;
        };
        let Some((path, value)) = rest.split_once(':') else {
            continue;
        };
        // Interface names may hold dots (`eth0.100`): sysctl writes those as `/`.
        let name: String = path
            .chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                c => c,
            })
            .collect();
        out.entry(name)
            .and_modify(|v| {
                v.push(' ');
                v.push_str(value.trim());
            })
            .or_insert_with(|| value.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posix_hosts_output_reads_section_by_section() {
        let output = "6.8.0-45-generic\n@@detek-section@@\nNAME=\"Ubuntu\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n\
@@detek-section@@\n12345.67 20000.00\n@@detek-section@@\ncontainerd containerd.io 1.7.22 7f7fdf5\n\
@@detek-section@@\n/proc/sys/net/ipv4/ip_forward:1\n/proc/sys/net/ipv4/ip_local_port_range:32768\t60999\n\
/proc/sys/net/ipv4/conf/eth0.100/rp_filter:2\n/proc/sys/dev/cdrom/info:CD-ROM information\n/proc/sys/dev/cdrom/info:drive name:\n";
        let facts = parse(output).unwrap();
        assert_eq!(facts.kernel_release, "6.8.0-45-generic");
        assert_eq!(facts.os, "Ubuntu 24.04.1 LTS");
        assert_eq!(facts.uptime_seconds, Some(12345));
        assert_eq!(
            facts.runtime.as_deref(),
            Some("containerd containerd.io 1.7.22 7f7fdf5")
        );
        let sysctl: Vec<(&str, &str)> = facts
            .sysctl
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            sysctl,
            [
                ("dev.cdrom.info", "CD-ROM information drive name:"),
                ("net.ipv4.conf.eth0/100.rp_filter", "2"),
                ("net.ipv4.ip_forward", "1"),
                ("net.ipv4.ip_local_port_range", "32768\t60999"),
            ]
        );
    }

    #[test]
    fn an_output_without_sections_is_an_error_with_its_first_line() {
        assert_eq!(
            parse("This account is restricted\n").unwrap_err(),
            "the host's answer to the read-only command is not what a POSIX shell prints \
             (1 of 5 sections; first line \"This account is restricted\")"
        );
        let no_uname =
            "\n@@detek-section@@\n\n@@detek-section@@\n@@detek-section@@\n@@detek-section@@\n";
        assert_eq!(parse(no_uname).unwrap_err(), "`uname -r` printed nothing");
    }
}
