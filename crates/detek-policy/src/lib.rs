//! Detectors written in Rego, loaded at run time (docs/policies.md).
//!
//! An operator who understands a new known issue writes it down as a policy file the same day,
//! without forking or rebuilding detek: every `*.rego` file of a `--policy-dir` (or `policyDirs`
//! in detek.yaml) with an OPA `# METADATA` block becomes a detector beside the built-in ones —
//! listed, explained, selected, ignored, suppressed and levelled like them, in every report
//! format, with its file and line as its source.
//!
//! - [`metadata`]: the `# METADATA` block (title, description, related_resources, and under
//!   `custom:` id, level, solution, example, labels, requires), checked with file and line;
//! - [`input`]: the input document, built once per scan from the store and shared by every
//!   policy, with the model's join indexes;
//! - [`policy`]: loading directories (policies, helper libraries, `data.json`/`data.yaml`),
//!   compiling each policy once on its own engine, checking its calls and a dry run at load,
//!   and the [`PolicyDetector`] that evaluates it;
//! - [`builtins`]: the extension `crypto.x509.parse_certificates` and the builtins refused;
//! - [`testing`], [`check`], [`scaffold`]: `detek policy test`, `check` and `new`.
//!
//! **Safety.** Policies run on regorus built without `http.send` and `opa.runtime`, so a
//! policy cannot reach the network, the environment or the file system (Rego has no file
//! builtin; data files are read by detek, from the policy directory only). A call to a refused
//! or unknown function is found when the policy is loaded, wherever it is. Each evaluation has
//! a time budget (`policyTimeout`, 5 s by default) and a cap on its findings; a policy that
//! fails to load, errors or runs past its budget is `Unknown` with the reason, and every other
//! detector still runs.

pub mod builtins;
pub mod check;
pub mod input;
pub mod metadata;
pub mod policy;
pub mod scaffold;
pub mod scan;
pub mod testing;

pub use policy::{Options, PolicyDetector, Problem, Sources, load, load_sources, read_dirs};

/// Register the policies of `dirs` into `catalogue`; the problems found while loading come
/// back for the caller to print (each broken policy is also a detector reporting `Unknown`).
pub fn register(
    catalogue: &mut detek_core::Catalogue,
    dirs: &[std::path::PathBuf],
    options: Options,
) -> anyhow::Result<Vec<Problem>> {
    use detek_core::Detector as _;
    let (detectors, problems) = load(dirs, options)?;
    for detector in detectors {
        let id = detector.meta().id.to_string();
        catalogue.register(detector).map_err(|e| {
            anyhow::anyhow!(
                "policy {id}: {e} (a policy's id must differ from every built-in detector's)"
            )
        })?;
    }
    Ok(problems)
}
