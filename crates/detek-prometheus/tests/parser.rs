//! The text-format parser on the node_exporter textfile collector's fixture cases (each input
//! against the output node_exporter writes for it) and on real kube-state-metrics, cAdvisor
//! and kube-apiserver `/metrics` dumps (tests/data/SOURCES.md).

use detek_prometheus::text::{Exposition, Format, MetricType, parse};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn read(path: &Path) -> Exposition {
    let text = std::fs::read_to_string(path).unwrap();
    parse(&text, Format::Text004).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Samples as node_exporter's output writes them: labels sorted, empty labels dropped (an
/// empty label is no label in Prometheus), node_textfile_* left out (the collector's own).
fn samples(exposition: &Exposition) -> BTreeSet<String> {
    exposition
        .samples
        .iter()
        .filter(|s| !s.name.starts_with("node_textfile_"))
        .map(|s| {
            let mut labels: Vec<_> = s.labels.iter().filter(|(_, v)| !v.is_empty()).collect();
            labels.sort();
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!("{}{{{}}} {}", s.name, labels.join(","), s.value)
        })
        .collect()
}

fn scrape_error(out: &Exposition) -> f64 {
    out.samples
        .iter()
        .find(|s| s.name == "node_textfile_scrape_error")
        .unwrap()
        .value
}

fn case(name: &str) -> (Vec<Exposition>, Exposition) {
    let dir = data(&format!("textfile/{name}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    (
        files.iter().map(|f| read(f)).collect(),
        read(&data(&format!("textfile/{name}.out"))),
    )
}

#[test]
fn textfile_cases_read_as_node_exporter_reads_them() {
    // Cases node_exporter accepts: the samples of the inputs are exactly the output's.
    for name in [
        "different_metric_types",
        "histogram",
        "histogram_extra_dimension",
        "inconsistent_metrics",
        "metrics_merge_empty_help",
        "metrics_merge_no_help",
        "summary",
        "summary_extra_dimension",
        "two_metric_files",
    ] {
        let (inputs, out) = case(name);
        assert!(!inputs.is_empty(), "{name}");
        assert_eq!(scrape_error(&out), 0.0, "{name}");
        let read: BTreeSet<String> = inputs.iter().flat_map(samples).collect();
        let mut written = samples(&out);
        if name == "summary_extra_dimension" {
            // A summary series given only a quantile: node_exporter's client library writes
            // it back with a _sum and _count of 0 that the input does not have.
            for synthesized in [
                "prometheus_rule_evaluation_duration_seconds_count{handler=\"foo\",rule_type=\"alerting\"} 0",
                "prometheus_rule_evaluation_duration_seconds_sum{handler=\"foo\",rule_type=\"alerting\"} 0",
            ] {
                assert!(written.remove(synthesized), "{synthesized}");
            }
        }
        assert_eq!(read, written, "{name}");
        // And the families' types, where the input declares one.
        for input in &inputs {
            for family in &input.families {
                let written = out.families.iter().find(|f| f.name == family.name).unwrap();
                assert_eq!(
                    written.metric_type, family.metric_type,
                    "{name} {}",
                    family.name
                );
            }
        }
    }
    // Types: a histogram's _bucket/_sum/_count belong to it.
    let (inputs, _) = case("histogram");
    let histogram = &inputs[0];
    let bucket = histogram
        .samples
        .iter()
        .find(|s| s.name.ends_with("_bucket"))
        .unwrap();
    assert_eq!(
        histogram.family_of(bucket).unwrap().metric_type,
        MetricType::Histogram
    );
    assert_eq!(bucket.label("le"), Some("100"));
}

#[test]
fn textfile_cases_node_exporter_refuses() {
    // A client-side timestamp is valid exposition text (node_exporter refuses it in textfiles
    // by policy): it is read, with its timestamp.
    let (inputs, out) = case("client_side_timestamp");
    assert_eq!(scrape_error(&out), 1.0);
    let sample = &inputs[0].samples[0];
    assert_eq!(sample.name, "metric_with_custom_timestamp");
    assert_eq!(sample.timestamp_ms, Some(1441205977284));
    assert_eq!(inputs[0].samples[1].timestamp_ms, None);

    // Two files with different HELP for one family: node_exporter keeps the first file's
    // samples and reports an error; each file reads on its own, with its own HELP.
    let (inputs, out) = case("metrics_merge_different_help");
    assert_eq!(scrape_error(&out), 1.0);
    assert_eq!(samples(&inputs[0]), samples(&out));
    assert_eq!(
        inputs[0].families[0].help.as_deref(),
        Some("A nice help message.")
    );
    assert_eq!(
        inputs[1].families[0].help.as_deref(),
        Some("A different help message.")
    );
}

#[test]
fn real_dumps_read_whole() {
    let ksm = read(&data("nri/ksm.prom"));
    let cadvisor = read(&data("nri/cadvisor.prom"));
    let apiserver = {
        use std::io::Read;
        let mut text = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(data("nri/apiserver.metrics.gz")).unwrap(),
        )
        .read_to_string(&mut text)
        .unwrap();
        parse(&text, Format::Text004).unwrap()
    };
    let count = |e: &Exposition| (e.families.len(), e.samples.len());
    // Families (# TYPE lines) and sample lines, as `grep -c` counts them in the files.
    assert_eq!(count(&ksm), (220, 1593));
    assert_eq!(count(&cadvisor), (6, 220));
    assert_eq!(count(&apiserver), (272, 24311));
    let owner = ksm
        .samples
        .iter()
        .find(|s| s.name == "kube_pod_owner" && s.label("pod") == Some("e2e-statefulset-0"))
        .unwrap();
    assert_eq!(owner.label("owner_kind"), Some("StatefulSet"));
    // cAdvisor writes a timestamp on every container sample.
    let working_sets: Vec<_> = cadvisor
        .samples
        .iter()
        .filter(|s| s.name == "container_memory_working_set_bytes")
        .collect();
    assert_eq!(working_sets.len(), 61);
    assert!(working_sets.iter().all(|s| s.timestamp_ms.is_some()));
}
