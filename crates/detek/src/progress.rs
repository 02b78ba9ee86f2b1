//! Progress on stderr, only when it is a terminal.

use detek_core::Progress;
use std::io::Write;
use std::time::Instant;

pub struct StderrProgress {
    start: Instant,
}

impl StderrProgress {
    pub fn new() -> Self {
        StderrProgress {
            start: Instant::now(),
        }
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "[{:>6.2}s] {}",
            self.start.elapsed().as_secs_f64(),
            detek_render::sanitize_terminal(text)
        );
    }
}

impl Progress for StderrProgress {
    fn collector_started(&self, id: &str) {
        self.line(&format!("collecting {id} ..."));
    }

    fn collector_finished(&self, id: &str, ok: bool, ms: f64) {
        let state = if ok { "done" } else { "FAILED" };
        self.line(&format!("collector {id} {state} in {ms:.0} ms"));
    }

    fn detectors_started(&self, count: usize) {
        self.line(&format!("running {count} detectors ..."));
    }

    fn message(&self, text: &str) {
        self.line(text);
    }
}
