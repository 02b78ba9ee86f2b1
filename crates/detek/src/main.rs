//! The `detek` binary: a thin clap CLI over the engine, the collectors, the detector
//! catalogue and the renderers (its logic is the `detek` library).

fn main() -> std::process::ExitCode {
    detek::main()
}
