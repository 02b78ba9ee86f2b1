//! MB/s of detek's text-format parser and of `prometheus-parse` on the kube-apiserver dump
//! (crates/detek-prometheus/tests/data/nri/apiserver.metrics.gz), best of 10 runs each.

#[allow(dead_code)]
#[path = "../../../crates/detek-prometheus/src/text.rs"]
mod text;

use std::io::Read;
use std::time::Instant;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed().as_secs_f64());
        last = Some(out);
    }
    (best, last.unwrap())
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crates/detek-prometheus/tests/data/nri/apiserver.metrics.gz");
    let mut body = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut body)
        .unwrap();
    let mb = body.len() as f64 / 1e6;
    let (ours, exposition) = best_of(10, || text::parse(&body, text::Format::Text004).unwrap());
    let (theirs, scrape) = best_of(10, || {
        prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap()
    });
    println!("input: {:.2} MB, {} lines", mb, body.lines().count());
    println!(
        "detek text::parse       {:7.1} ms  {:6.1} MB/s  {} samples",
        ours * 1e3,
        mb / ours,
        exposition.samples.len()
    );
    println!(
        "prometheus-parse 0.2    {:7.1} ms  {:6.1} MB/s  {} samples",
        theirs * 1e3,
        mb / theirs,
        scrape.samples.len()
    );
}
