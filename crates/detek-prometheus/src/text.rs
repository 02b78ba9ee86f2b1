//! The Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text format, parsed into
//! samples: what `--metrics-url` scrapes read.
//!
//! One pass over the bytes, no regular expressions, labels borrowed from the text until a
//! sample is kept. What differs between the two formats is handled by [`Format`]: OpenMetrics
//! timestamps are seconds (0.0.4: milliseconds), it ends with `# EOF`, and it may carry
//! exemplars (`# {trace_id="…"} 1.0`) after a sample, which are skipped. A malformed line is
//! an error with its line number, as Prometheus fails a scrape on one.

use std::collections::HashMap;
use std::fmt;

/// Which text format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text004,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// From a response's `Content-Type` (anything but OpenMetrics is read as 0.0.4, as
    /// Prometheus does).
    pub fn from_content_type(content_type: Option<&str>) -> Format {
        match content_type {
            Some(ct) if ct.trim_start().starts_with("application/openmetrics-text") => {
                Format::OpenMetrics
            }
            _ => Format::Text004,
        }
    }
}

/// A metric family's type, from its `# TYPE` line (`untyped` when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Untyped,
}

impl MetricType {
    fn parse(word: &str) -> Option<MetricType> {
        Some(match word {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "untyped" | "unknown" => MetricType::Untyped,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Untyped => "untyped",
        }
    }

    /// The suffixes a sample of this family may add to the family's name.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricType::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            MetricType::Summary => &["_sum", "_count", "_created"],
            MetricType::Info => &["_info"],
            _ => &[],
        }
    }
}

/// One metric family's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: Option<String>,
    pub metric_type: MetricType,
    pub unit: Option<String>,
}

/// One sample: the series' name as written (`http_requests_total`, `x_bucket`), its labels
/// in the order written, its value and its timestamp in milliseconds, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed exposition: families (in order of first mention) and samples (in order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub families: Vec<Family>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The family a sample belongs to: its own name, or the name without the suffix its
    /// family's type allows (`x_bucket` → histogram `x`).
    pub fn family_of(&self, sample: &Sample) -> Option<&Family> {
        let by_name = |name: &str| self.families.iter().find(|f| f.name == name);
        if let Some(f) = by_name(&sample.name) {
            return Some(f);
        }
        for f in &self.families {
            if let Some(rest) = sample.name.strip_prefix(f.name.as_str())
                && f.metric_type.suffixes().contains(&rest)
            {
                return Some(f);
            }
        }
        None
    }
}

/// A line that is not valid exposition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parse a whole exposition.
pub fn parse(text: &str, format: Format) -> Result<Exposition, ParseError> {
    let mut out = Exposition::default();
    let mut family_index: HashMap<String, usize> = HashMap::new();
    let mut eof = false;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let err = |message: String| ParseError {
            line: line_no,
            message,
        };
        if eof {
            if line.is_empty() {
                continue;
            }
            return Err(err("text after # EOF".into()));
        }
        if line.trim().is_empty() {
            if format == Format::OpenMetrics && !line.is_empty() {
                return Err(err("blank line with spaces".into()));
            }
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start_matches([' ', '\t']);
            if format == Format::OpenMetrics && comment == "EOF" {
                eof = true;
                continue;
            }
            let (keyword, rest) = split_word(comment);
            match keyword {
                "HELP" | "TYPE" | "UNIT" => {
                    let (name, value) = split_word(rest);
                    if name.is_empty() || !valid_metric_name(name) {
                        return Err(err(format!("# {keyword} without a valid metric name")));
                    }
                    let idx = *family_index.entry(name.to_string()).or_insert_with(|| {
                        out.families.push(Family {
                            name: name.to_string(),
                            help: None,
                            metric_type: MetricType::Untyped,
                            unit: None,
                        });
                        out.families.len() - 1
                    });
                    let family = &mut out.families[idx];
                    match keyword {
                        "HELP" => family.help = Some(unescape_help(value)),
                        "TYPE" => {
                            family.metric_type = MetricType::parse(value.trim())
                                .ok_or_else(|| err(format!("unknown metric type {value:?}")))?
                        }
                        _ => family.unit = Some(value.trim().to_string()),
                    }
                }
                // Other comments are allowed (and ignored) in 0.0.4.
                _ => {}
            }
            continue;
        }
        out.samples
            .push(parse_sample(line, format).map_err(|m| err(m.to_string()))?);
    }
    if format == Format::OpenMetrics && !eof {
        return Err(ParseError {
            line: text.split('\n').count(),
            message: "OpenMetrics text does not end with # EOF".into(),
        });
    }
    Ok(out)
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn unescape_help(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_sample(line: &str, format: Format) -> Result<Sample, &'static str> {
    let bytes = line.as_bytes();
    let mut pos = 0;
    while pos < bytes.len()
        && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_' || bytes[pos] == b':')
    {
        pos += 1;
    }
    let name = &line[..pos];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err("a sample line must start with a metric name");
    }
    let mut labels = Vec::new();
    if bytes.get(pos) == Some(&b'{') {
        pos += 1;
        loop {
            pos = skip_spaces(bytes, pos);
            match bytes.get(pos) {
                Some(b'}') => {
                    pos += 1;
                    break;
                }
                None => return Err("unterminated label set"),
                _ => {}
            }
            let start = pos;
            while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_') {
                pos += 1;
            }
            let label = &line[start..pos];
            if label.is_empty() || label.as_bytes()[0].is_ascii_digit() {
                return Err("invalid label name");
            }
            pos = skip_spaces(bytes, pos);
            if bytes.get(pos) != Some(&b'=') {
                return Err("expected = after a label name");
            }
            pos = skip_spaces(bytes, pos + 1);
            if bytes.get(pos) != Some(&b'"') {
                return Err("expected a quoted label value");
            }
            pos += 1;
            let (value, next) = read_label_value(line, pos)?;
            pos = skip_spaces(bytes, next);
            if labels.iter().any(|(n, _): &(String, String)| n == label) {
                return Err("duplicate label name");
            }
            labels.push((label.to_string(), value));
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b'}') => {}
                _ => return Err("expected , or } after a label value"),
            }
        }
    }
    let rest = &line[pos..];
    if !rest.starts_with([' ', '\t']) {
        return Err("expected a space before the value");
    }
    // An exemplar (OpenMetrics) follows ` # `; it is not part of the sample.
    let rest = match (format, rest.find(" # ")) {
        (Format::OpenMetrics, Some(i)) => &rest[..i],
        _ => rest,
    };
    let mut words = rest.split_ascii_whitespace();
    let value = parse_float(words.next().ok_or("missing value")?).ok_or("invalid value")?;
    let timestamp_ms = match words.next() {
        None => None,
        Some(t) => Some(match format {
            Format::Text004 => t.parse::<i64>().map_err(|_| "invalid timestamp")?,
            Format::OpenMetrics => {
                let seconds = parse_float(t).ok_or("invalid timestamp")?;
                (seconds * 1000.0).round() as i64
            }
        }),
    };
    if words.next().is_some() {
        return Err("unexpected text after the timestamp");
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
        timestamp_ms,
    })
}

fn skip_spaces(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && (bytes[pos] == b' ' || bytes[pos] == b'\t') {
        pos += 1;
    }
    pos
}

/// A label value from just after its opening quote: the value and the index after the
/// closing quote.
fn read_label_value(line: &str, start: usize) -> Result<(String, usize), &'static str> {
    let bytes = line.as_bytes();
    let Some(offset) = memchr::memchr2(b'"', b'\\', &bytes[start..]) else {
        return Err("unterminated label value");
    };
    if bytes[start + offset] == b'"' {
        return Ok((line[start..start + offset].to_string(), start + offset + 1));
    }
    let mut value = String::new();
    let mut pos = start;
    loop {
        let Some(offset) = memchr::memchr2(b'"', b'\\', &bytes[pos..]) else {
            return Err("unterminated label value");
        };
        value.push_str(&line[pos..pos + offset]);
        pos += offset;
        if bytes[pos] == b'"' {
            return Ok((value, pos + 1));
        }
        match bytes.get(pos + 1) {
            Some(b'n') => value.push('\n'),
            Some(b'\\') => value.push('\\'),
            Some(b'"') => value.push('"'),
            Some(_) => value.push('\\'),
            None => return Err("unterminated label value"),
        }
        pos += if matches!(bytes.get(pos + 1), Some(b'n' | b'\\' | b'"')) {
            2
        } else {
            1
        };
    }
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse::<f64>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_exemplars_timestamps() {
        let text = "# HELP a_total A \\\\ help\\nline\n# TYPE a_total counter\n\
                    a_total{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\n\"} 1.5e3 1441205977284\n";
        let e = parse(text, Format::Text004).unwrap();
        assert_eq!(e.families[0].help.as_deref(), Some("A \\ help\nline"));
        assert_eq!(
            e.samples[0].labels,
            vec![
                ("path".to_string(), "C:\\dir".to_string()),
                ("msg".to_string(), "say \"hi\"\n".to_string())
            ]
        );
        assert_eq!(e.samples[0].value, 1500.0);
        assert_eq!(e.samples[0].timestamp_ms, Some(1441205977284));

        let om = "# TYPE b histogram\n# UNIT b seconds\nb_bucket{le=\"+Inf\"} 3 # {trace_id=\"x\"} 0.5 1.0\n\
                  b_count 3 1520879607.789\n# EOF\n";
        let e = parse(om, Format::OpenMetrics).unwrap();
        assert_eq!(e.samples[0].value, 3.0);
        assert_eq!(e.samples[1].timestamp_ms, Some(1520879607789));
        assert_eq!(e.families[0].unit.as_deref(), Some("seconds"));
        assert_eq!(e.family_of(&e.samples[0]).unwrap().name, "b");
        assert!(parse("b 1\n", Format::OpenMetrics).is_err(), "no # EOF");
        assert_eq!(
            parse("ok 1\nbad{x=\"1} 2\n", Format::Text004)
                .unwrap_err()
                .line,
            2
        );
    }
}
