//! Integration tests of the v1 format: the golden vectors, every error the decoder and the
//! encoders can return, the version policy, the root directory, property tests, and the
//! annotated hex dumps of SPEC.md.
//!
//! One test binary (modules below) keeps the build small.

mod common;
mod display;
#[allow(
    dead_code,
    reason = "shared with the v2 suite; the annotations of v1.1 fields are unused here"
)]
mod dump;
mod errors;
mod golden;
mod props;
mod root_open;
mod spec;
mod version;
