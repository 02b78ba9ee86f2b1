//! The catalogue of this binary: every crate's detectors, registered into the core catalogue
//! (selection, sets, level overrides and config validation live there, shared with the hub).

use anyhow::Result;
use detek_core::Catalogue;

/// Every detector this binary knows: each source crate registers its own.
pub fn catalogue() -> Result<Catalogue> {
    let mut catalogue = Catalogue::new();
    detek_kubernetes::register(&mut catalogue)?;
    detek_openstack::register(&mut catalogue)?;
    detek_prometheus::register(&mut catalogue)?;
    detek_core::register(&mut catalogue)?;
    Ok(catalogue)
}
