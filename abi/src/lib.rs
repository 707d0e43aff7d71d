//! The binary records a Linux kernel (or a boot stub) hands across a kexec live update in
//! KHO memory: the root record with its directory, the table of File-Lifecycle-Bound (FLB)
//! global objects, and the table of preserved PCI devices.
//!
//! Every record is self-describing and checked: a magic per kind, a major/minor version,
//! recorded header and entry sizes, three sets of feature bits, the live update's generation,
//! and a CRC-32C over every byte. All multi-byte fields are little-endian and every struct is
//! `Unaligned`, so a record decodes at any address on any host. `abi/SPEC.md` is the
//! byte-level specification.
//!
//! Decoders take `&[u8]`, validate everything, and return a borrowed view whose accessors
//! cannot fail; encoders write into a caller's `&mut [u8]`. There is no heap, no `std` and no
//! panic here, and no `unsafe` outside the hardware CRC-32C engine (`checksum`).
//!
//! # Example
//!
//! ```
//! use liveupdate_abi::{PciAddress, PciEntry, PciTable, Record};
//!
//! let devices = [
//!     PciEntry::new(PciAddress::new(0, 0x3b, 0, 0), 1),
//!     PciEntry::new(PciAddress::new(0x10000, 0x01, 0, 0), 2),
//! ];
//! let mut buf = [0u8; 256];
//! let len = PciTable::encode(&mut buf, 7, 8, devices)?;
//!
//! let table = PciTable::decode(&buf[..len])?;
//! assert_eq!(table.generation(), 7);
//! assert!(table.is_preserved(PciAddress::new(0x10000, 0x01, 0, 0)));
//! assert!(!table.is_preserved(PciAddress::new(0, 0x3b, 0, 1)));
//!
//! // One flipped bit anywhere is caught.
//! buf[70] ^= 0x10;
//! assert!(matches!(
//!     Record::<PciEntry>::decode(&buf[..len]),
//!     Err(liveupdate_abi::Error::Checksum { .. })
//! ));
//! # Ok::<(), liveupdate_abi::Error>(())
//! ```
#![no_std]
// `unsafe` is denied everywhere but in `checksum::engine`, the audited hardware-CRC module.
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

pub mod checksum;
pub mod error;
pub mod flb;
pub mod header;
pub mod kind;
pub mod linux;
pub mod pci;
pub mod record;
pub mod root;

pub use error::{DirectoryField, EntryFault, Error, Field};
pub use flb::{FlbEntry, FlbFlags, FlbTable};
pub use header::{Access, Features, MAJOR, MINOR, RecordHeader, seal};
pub use kind::RecordKind;
pub use pci::{PciAddress, PciEntry, PciTable};
pub use record::{Entries, Entry, Record};
pub use root::{DirEntry, Root};
