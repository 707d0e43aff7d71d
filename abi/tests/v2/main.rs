//! Integration tests of ABI 1.1: the golden vectors, the writer x reader
//! matrix across versions, block chains and their errors, the PCI identity and flags, property
//! tests, and the annotated hex dumps of SPEC.md section 11.
//!
//! One test binary (modules below) keeps the build small.

mod chain;
mod common;
#[path = "../v1/dump.rs"]
mod dump;
mod golden;
mod matrix;
mod pci;
mod props;
mod spec;
#[allow(
    dead_code,
    reason = "the v1 suite's helpers; this suite uses some of them"
)]
#[path = "../v1/common.rs"]
mod v1;
