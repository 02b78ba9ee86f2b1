//! Node checks that no API can make: the kernel parameters, kernel release and OS of each
//! node, read over SSH. This crate holds the model (`node/hosts`: what was read from each
//! host, or why it could not be), the SSH collector (`russh`; one fixed read-only command per
//! host, [`facts::COMMAND`]) with its host lists ([`hosts`]: given, or the cluster's Nodes by
//! node pool), and the detectors that judge the hosts, pure logic over the store like every
//! other detector.

pub mod collector;
pub mod detectors;
pub mod facts;
pub mod hosts;
pub mod model;
mod prelude;
pub mod profile;
pub mod ssh;
#[doc(hidden)]
pub mod testing;

pub use detectors::{all, register};
