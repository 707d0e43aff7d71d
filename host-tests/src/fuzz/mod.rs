//! Bodies of the cargo-fuzz targets in `fuzz/`, as plain functions over bytes.
//!
//! Each `fuzz/fuzz_targets/<name>.rs` is one line calling the function of the same name here,
//! so a stable `cargo test` (`tests/fuzz_replay.rs`) replays every committed corpus file and
//! crash input through exactly the code the fuzzer ran. A body panics when an invariant
//! breaks; returning means the input was handled correctly (accepted or rejected).
//!
//! The bodies do more than call a decoder: every accessor of a decoded view is exercised,
//! lookups are compared with a linear scan, errors are checked to point at the byte they
//! name, and whatever decodes is re-encoded and compared.

#![allow(
    clippy::missing_panics_doc,
    reason = "a body panics exactly when an invariant breaks: that is its job"
)]

mod c_verify;
mod graph;
mod image;
mod lifecycle;
pub mod linux;
mod open;
mod records;
mod roundtrip;
pub mod table;

pub use c_verify::c_verify;
pub use graph::{graph, graph_sealed};
pub use image::{luo_image, luo_image_sealed};
pub use lifecycle::lifecycle;
pub use linux::{
    linux_flb, linux_flb_lenient, linux_luo_lenient, linux_luo_ser, linux_pci_array,
    linux_pci_image, linux_pci_versioned, linux_phys_image,
};
pub use open::root_open;
pub use records::{flb, flb_sealed, pci, pci_sealed, root, root_sealed};
pub use roundtrip::{roundtrip_flb, roundtrip_pci, roundtrip_root};
pub use table::{table_flb, table_flb_sealed, table_pci, table_pci_sealed};

/// A fuzz target body.
pub type Body = fn(&[u8]);

/// Every target: its name and its body, the function of that name in this module, which
/// `fuzz/fuzz_targets/<name>.rs` calls; its inputs are in `fuzz/corpus/<name>/` and
/// `fuzz/artifacts/<name>/`.
pub const TARGETS: &[(&str, Body)] = &[
    ("root", root),
    ("root_sealed", root_sealed),
    ("flb", flb),
    ("flb_sealed", flb_sealed),
    ("pci", pci),
    ("pci_sealed", pci_sealed),
    ("roundtrip_root", roundtrip_root),
    ("roundtrip_flb", roundtrip_flb),
    ("roundtrip_pci", roundtrip_pci),
    ("root_open", root_open),
    ("graph", graph),
    ("graph_sealed", graph_sealed),
    ("lifecycle", lifecycle),
    ("luo_image", luo_image),
    ("luo_image_sealed", luo_image_sealed),
    ("linux_luo_ser", linux_luo_ser),
    ("linux_flb", linux_flb),
    ("linux_pci_array", linux_pci_array),
    ("linux_pci_image", linux_pci_image),
    ("linux_phys_image", linux_phys_image),
    ("linux_pci_versioned", linux_pci_versioned),
    ("linux_luo_lenient", linux_luo_lenient),
    ("linux_flb_lenient", linux_flb_lenient),
    ("table_pci", table_pci),
    ("table_pci_sealed", table_pci_sealed),
    ("table_flb", table_flb),
    ("table_flb_sealed", table_flb_sealed),
    ("c_verify", c_verify),
];

/// The body of the target called `name`.
pub fn body(name: &str) -> Option<Body> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}
