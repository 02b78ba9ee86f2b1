//! Node checks that no API can make: the kernel parameters, kernel release and OS of each
//! node, read over SSH (issue 18; the SSH collector is the next step). This crate holds the
//! model (`node/hosts`: what was read from each host, or why it could not be) and the detectors
//! that judge it, pure logic over the store like every other detector.

pub mod detectors;
pub mod model;
mod prelude;
pub mod profile;

pub use detectors::{all, register};
