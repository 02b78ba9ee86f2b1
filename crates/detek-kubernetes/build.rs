//! Turns each detector's `//!` doc comment into data, so `detek explain`, `detek list` and the
//! HTML report show the same text the source carries (as ruff does for its rules).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time: a build script compiled for one checkout may run for another that
    // shares the target directory.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("src/detectors");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Documentation of each detector, from its file's doc comment.\npub fn docs_for(id: &str) -> detek_core::Docs {\n    match id {\n",
    );
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let id = file.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                l.trim_start_matches("//!")
                    .strip_prefix(' ')
                    .unwrap_or(l.trim_start_matches("//!"))
            })
            .collect();
        let mut sections: [String; 4] = Default::default();
        let mut current: Option<usize> = None;
        for line in doc {
            let heading = line
                .trim()
                .trim_start_matches('#')
                .trim()
                .to_ascii_lowercase();
            if line.trim_start().starts_with("## ") {
                current = match heading.as_str() {
                    "what it detects" => Some(0),
                    "why it matters" => Some(1),
                    "how to fix" => Some(2),
                    "example" | "examples" => Some(3),
                    _ => None,
                };
                continue;
            }
            if let Some(i) = current {
                sections[i].push_str(line);
                sections[i].push('\n');
            }
        }
        let _ = writeln!(
            out,
            "        {id:?} => detek_core::Docs {{ what: {:?}.into(), why: {:?}.into(), fix: {:?}.into(), example: {:?}.into() }},",
            sections[0].trim(),
            sections[1].trim(),
            sections[2].trim(),
            sections[3].trim()
        );
    }
    out.push_str("        _ => detek_core::Docs::default(),\n    }\n}\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("detector_docs.rs");
    std::fs::write(dest, out).unwrap();
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_stem().is_some_and(|s| s != "mod")
        {
            files.push(path);
        }
    }
}
