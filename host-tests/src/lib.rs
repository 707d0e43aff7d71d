//! Host-side tooling for liveupdate records: simulated KHO memory and its image file, the
//! two-kernel simulation behind `luo simulate`, and the `luo` command-line tool.

pub mod c;
pub mod fuzz;
pub mod image;
pub mod inspect;
pub mod kho;
pub mod linux;
pub mod scenario;
pub mod sim;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
