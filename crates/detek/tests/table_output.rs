//! `detek run -f table` through the binary: whole names and paths when piped, `file:line` for
//! manifests, `--wide`, `--color` and `NO_COLOR`.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn detek() -> Command {
    let mut cmd = Command::cargo_bin("detek").unwrap();
    // The tests choose colour themselves.
    cmd.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    cmd
}

/// A Deployment with a 209-character name, five directories deep under long names, firing
/// `image_tag_latest`; returns the input directory, the object's name and the file.
fn long_manifest(dir: &Path) -> (PathBuf, String, PathBuf) {
    let name = format!("frontend-{}", "a".repeat(200));
    let mut deep = dir.to_path_buf();
    for _ in 0..5 {
        deep.push("very-long-directory-name-for-manifests");
    }
    std::fs::create_dir_all(&deep).unwrap();
    let file = deep.join("shop-frontend-deployment.yaml");
    std::fs::write(
        &file,
        format!(
            "# a comment line\n\
             apiVersion: apps/v1\n\
             kind: Deployment\n\
             metadata:\n  name: {name}\n  namespace: shop\n\
             spec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    \
             metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      \
             - name: web\n        image: nginx:latest\n"
        ),
    )
    .unwrap();
    (dir.to_path_buf(), name, file)
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn piped_table_prints_long_names_and_paths_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, name, file) = long_manifest(tmp.path());
    let text = stdout(detek().args([
        "run",
        "--input",
        input.to_str().unwrap(),
        "-f",
        "table",
        "--select",
        "image_tag_latest",
    ]));
    // The finding's line, pinned: the object as `Kind/namespace/name [container]`, the
    // document's `file:line` (line 2: the comment comes first), the message — nothing cut.
    let line = format!(
        "  Deployment/shop/{name} [web]  {}:2  image \"nginx:latest\" is not pinned: it uses the latest tag",
        file.display()
    );
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in:\n{text}"
    );
    assert!(!text.contains('…'), "{text}");
    assert!(!text.contains('\u{1b}'), "colour when piped: {text}");
    // --wide changes nothing when piped.
    let wide = stdout(detek().args([
        "run",
        "--input",
        input.to_str().unwrap(),
        "-f",
        "table",
        "--select",
        "image_tag_latest",
        "--wide",
    ]));
    assert!(wide.lines().any(|l| l == line), "{wide}");
}

#[test]
fn color_flag_and_no_color() {
    let run = |extra: &[&str], no_color: bool| {
        let mut cmd = detek();
        cmd.args(["run", "--demo", "-f", "table"]).args(extra);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        stdout(&mut cmd)
    };
    // Piped: no colour unless asked.
    assert!(!run(&[], false).contains('\u{1b}'));
    let always = run(&["--color", "always"], false);
    assert!(always.contains("\u{1b}[1m"), "{always}");
    assert!(always.contains("\u{1b}[31mError\u{1b}[0m"), "{always}");
    // `--color always` wins over NO_COLOR; `auto` honours it even when forced otherwise.
    assert!(run(&["--color", "always"], true).contains('\u{1b}'));
    let mut forced = detek();
    forced
        .args(["run", "--demo", "-f", "table"])
        .env("CLICOLOR_FORCE", "1");
    assert!(stdout(&mut forced).contains('\u{1b}'));
    let mut forced_but_no = detek();
    forced_but_no
        .args(["run", "--demo", "-f", "table"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1");
    assert!(!stdout(&mut forced_but_no).contains('\u{1b}'));
    assert!(!run(&["--color", "never"], false).contains('\u{1b}'));
    // Without the codes, the same text.
    let plain = run(&["--color", "never"], false);
    let mut stripped = always.clone();
    for sgr in [
        "\u{1b}[0m",
        "\u{1b}[1m",
        "\u{1b}[2m",
        "\u{1b}[31m",
        "\u{1b}[32m",
        "\u{1b}[33m",
        "\u{1b}[35m",
    ] {
        stripped = stripped.replace(sgr, "");
    }
    // The timestamps and durations differ between runs; compare from the summary line on.
    let from_summary = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(from_summary(&stripped), from_summary(&plain));
}
