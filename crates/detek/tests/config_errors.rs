//! Issue 10 item 8: config parse errors name the file and line, and keep the snippet.

use assert_cmd::Command;

#[test]
fn a_config_error_names_the_file_and_line_with_its_snippet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("detek.yaml"),
        "allowedRegistries:\n  - ghcr.io\n  - {a: b}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    )
    .unwrap();
    let out = Command::cargo_bin("detek")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "run",
            "--config",
            "detek.yaml",
            "--input",
            "cm.yaml",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut lines = stderr.lines();
    let first = lines.next().unwrap();
    assert_eq!(
        first,
        "detek: error: invalid config file detek.yaml: line 3 column 5: expected string scalar",
        "{stderr}"
    );
    assert_eq!(lines.next(), Some(" --> detek.yaml:3:5"), "{stderr}");
    assert!(!stderr.contains("<input>"), "{stderr}");
    assert!(stderr.lines().count() > 2, "{stderr}");
    assert!(stderr.contains("3 |   - {a: b}"), "{stderr}");
}
