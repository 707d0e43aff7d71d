//! Preserved PCI devices: the tracker that collects them before kexec, and the lookup that
//! answers "was this device preserved?" after it.
//!
//! # Locking
//!
//! [`PciTracker`] has one spin lock, held for bounded work and never for a callback: the
//! bookkeeping of `preserve_*` / `unpreserve_*`, and in [`PciTracker::serialize`] /
//! [`PciTracker::serialize_blocks`] the encoding of the whole table and its CRC-32C (so the
//! record is a snapshot of one state; O(devices) bytes written, no I/O). [`PciIncoming`] takes
//! no lock on its lookup path: a reader announces itself in an atomic reader count, and
//! [`PciIncoming::finish`] marks the state finished in the same word, waits for the readers
//! already inside (each is one binary search) to leave, and drops the table, so the memory
//! under it may be released as soon as it returns (argued in [`PciIncoming`]'s docs). Readers
//! that arrive after the mark see it and leave at once, so that wait is bounded.
//!
//! Lock order: the FLB registry's lock ([`crate::flb`]) before the PCI state's, never the
//! reverse. Nothing here calls into the FLB registry, and the registry runs no callback under
//! its lock, so a PCI FLB whose `finish` calls [`PciIncoming::finish`] keeps that order.

mod error;
mod incoming;
mod tracker;

pub use error::PciError;
pub use incoming::PciIncoming;
pub use tracker::PciTracker;
