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
//! Versions: Versions are named by the wire: 1.0 and 1.1 ([`AbiVersion::V1_0`], [`AbiVersion::V1_1`]). Readers
//! read both; writers take the version to write, so a kernel can hand over to an older one
//! (rollback) and is told, by a typed error, when that version cannot express its state. A
//! table that outgrows one record spans a chain of blocks ([`Table`]).
//!
//! # Example
//!
//! ```
//! use liveupdate_abi::{
//!     AbiVersion, Capacity, DecodeError, EncodeError, Encoding, Generation, IdentityMatch,
//!     PciAddress, PciDevice, PciFlags, PciIdentity, PciTable, Record, Unfit,
//! };
//!
//! let gpu = PciAddress::new(0, 0x3b, 0, 0).unwrap();
//! let nvidia = PciIdentity::new(0x10de, 0x2330, 0x03_02_00).expect("a valid identity");
//! let devices = [
//!     PciDevice::new(gpu, 1).with_identity(nvidia).with_flags(PciFlags::BUS_MASTER),
//!     PciDevice::new(PciAddress::new(0x10000, 0x01, 0, 0).unwrap(), 2),
//! ];
//! let mut buf = [0u8; 256];
//! let encoding = Encoding::new(AbiVersion::V1_1, Generation::new(7), Capacity::new(8));
//! let len = PciTable::encode(&mut buf, encoding, devices)?;
//!
//! let table = PciTable::decode(&buf[..len])?;
//! assert_eq!(table.generation(), Generation::new(7));
//! assert!(table.is_preserved(PciAddress::new(0x10000, 0x01, 0, 0).unwrap()));
//! assert_eq!(table.check_identity(gpu, nvidia), Some(IdentityMatch::Match));
//!
//! // A 1.0 kernel reads it too, without the fields 1.0 does not have.
//! let old = PciTable::decode_as(&buf[..len], AbiVersion::V1_0)?;
//! assert_eq!(old.device(gpu).map(|d| d.identity), Some(None));
//!
//! // Writing for a 1.0 kernel refuses what 1.0 cannot express, rather than dropping it.
//! let mut v1 = [0u8; 128];
//! assert_eq!(
//!     PciTable::encode(&mut v1, Encoding { version: AbiVersion::V1_0, ..encoding }, devices),
//!     Err(EncodeError::Unfit {
//!         kind: liveupdate_abi::RecordKind::PciTable,
//!         version: AbiVersion::V1_0,
//!         what: Unfit::Identity { index: 0 },
//!     })
//! );
//!
//! // One flipped bit anywhere is caught.
//! buf[70] ^= 0x10;
//! assert!(matches!(
//!     Record::<liveupdate_abi::PciEntry>::decode(&buf[..len]),
//!     Err(DecodeError::Checksum { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
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
pub mod table;
pub mod version;

pub use error::{ChainFault, DecodeError, DirectoryField, EncodeError, EntryFault, Field, Unfit};
pub use flb::{FlbEntry, FlbFlags, FlbTable};
pub use header::{Access, Capacity, Features, Generation, Link, MAJOR, MINOR, RecordHeader, seal};
pub use kind::RecordKind;
pub use linux::PhysMem;
pub use pci::{
    IdentityMatch, PciAddress, PciAddressError, PciDevice, PciEntry, PciFlags, PciIdentity,
    PciTable,
};
pub use record::{Encoding, Entries, Entry, Record};
pub use root::{DirEntry, Root};
pub use table::{BlockPlace, PhysMemMut, Table, TableError, TableWritten};
pub use version::AbiVersion;
