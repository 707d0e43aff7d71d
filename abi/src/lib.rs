#![doc = include_str!("../README.md")]
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
pub mod mem;
pub mod pci;
pub mod record;
pub mod root;
pub mod table;
pub mod version;

pub use error::{ChainFault, DecodeError, DirectoryField, EncodeError, EntryFault, Field, Unfit};
pub use flb::{FlbEntry, FlbFlags, FlbTable};
pub use header::{Access, Capacity, Features, Generation, Link, MAJOR, MINOR, RecordHeader, seal};
pub use kind::RecordKind;
pub use mem::{MemError, MemFault, PhysAddr, PhysMem, PhysMemMut, SliceMemory};
pub use pci::{
    IdentityMatch, PciAddress, PciAddressError, PciDevice, PciEntry, PciFlags, PciIdentity,
    PciTable,
};
pub use record::{Encoding, Entries, Entry, Record};
pub use root::{DirEntry, Root};
pub use table::{BlockPlace, Table, TableError, TableWritten};
pub use version::AbiVersion;
