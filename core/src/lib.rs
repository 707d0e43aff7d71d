#![doc = include_str!("../README.md")]
#![no_std]
// `unsafe` is denied everywhere but in the two modules listed under "Unsafe code" in the
// crate docs (README.md): `mem` (DirectMap) and `sync` (FillOnce).
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::unreachable,
        clippy::todo
    )
)]

pub mod flb;
pub mod graph;
#[allow(unsafe_code)] // DirectMap, DirectMapMut: see "Unsafe code" in the crate docs
pub mod mem;
pub mod pci;
#[allow(unsafe_code)] // FillOnce: see "Unsafe code" in the crate docs
mod sync;
