//! The `detek` binary: a thin clap CLI over the engine, the collectors, the detector
//! catalogue and the renderers (its logic is the `detek` library).

// Parsing a large dump allocates from every rayon thread at once; glibc grows its
// per-thread arenas one mprotect at a time there (a fifth of a 100k-object scan), mimalloc
// does not. docs/performance.md has the figures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` (the same index in mimalloc v2 and v3's `mi_option_e`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Return freed pages to the OS at once rather than after 10 ms: parsing frees its
    // intermediate JSON while the typed objects grow, and the delay alone costs ~60 MB of peak
    // RSS on 2,000 Deployments, at no measurable speed gain.
    // SAFETY: sets a process-wide allocator option; no allocation depends on its old value.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    detek::main()
}
