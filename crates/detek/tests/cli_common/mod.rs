//! Shared by the end-to-end tests that run the `detek` binary in a directory.

use assert_cmd::Command;
use std::path::Path;

/// Run `detek ARGS` in `dir`: (exit code, stdout, stderr).
pub fn detek(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("detek")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}
