//! Host-side tooling for liveupdate records: simulated KHO memory and its image file (and the
//! flat file a boot stub reads, [`flat`]), the two-kernel simulation behind `luo simulate`,
//! and the `luo` command-line tool; for upstream
//! Linux blobs the `KHOIMAGE` container, the `luo --linux KIND` entry points and the C tests'
//! layout table ([`linux`]); and the body of every fuzz target ([`fuzz`]). None of it is a
//! format, so none of it is in `liveupdate-abi`.

pub mod c;
pub mod flat;
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
