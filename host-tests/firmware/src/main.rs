//! A freestanding image (`#![no_std]`, `#![no_main]`, no C library, no allocator) that runs the
//! liveupdate decoders, encoders, graph validation and accessors on `x86_64` Linux.
//!
//! It is a proof by construction: it links only if `liveupdate-abi` and `liveupdate-core` need
//! neither `std` nor `alloc` (a crate that linked `alloc` would demand a global allocator,
//! which does not exist here); built with `--features prove-no-panic` in release, it links
//! only if no panic path is left in any of the code it runs (see `rt.rs`). Its exit status is
//! 0 when every check in `exercise.rs` passed.
#![no_std]
#![no_main]

mod exercise;
mod probes;
mod rt;
