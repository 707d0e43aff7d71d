//! The error of the upstream-format decoders and encoders.
//!
//! A module-local type rather than new variants of [`crate::DecodeError`] and
//! [`crate::EncodeError`]: upstream blobs have no magic, version, header or CRC, so almost
//! none of their variants apply, and their [`crate::RecordKind`] cannot name an upstream
//! structure. Keeping them apart also keeps the v1 error types, which kernels match on,
//! independent of how upstream evolves. Like them it is `Copy`, `Eq`, `no_std` and says what
//! and where.

use core::fmt;

use crate::error::EntryFault;
use crate::linux::pci::{PciCompat, PciLayout};
use crate::mem::{MemError, PhysAddr};

/// The upstream structure an error is about, named as in the kernel headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Struct {
    /// `struct luo_ser`.
    LuoSer,
    /// `struct luo_flb_header_ser`.
    FlbHeader,
    /// `struct luo_flb_ser`.
    FlbSer,
    /// `struct pci_ser`.
    PciSer,
    /// `struct pci_dev_ser`.
    PciDevSer,
    /// `struct kho_block_header_ser`.
    BlockHeader,
}

impl Struct {
    /// The C name.
    pub const fn c_name(self) -> &'static str {
        match self {
            Struct::LuoSer => "luo_ser",
            Struct::FlbHeader => "luo_flb_header_ser",
            Struct::FlbSer => "luo_flb_ser",
            Struct::PciSer => "pci_ser",
            Struct::PciDevSer => "pci_dev_ser",
            Struct::BlockHeader => "kho_block_header_ser",
        }
    }
}

impl fmt::Display for Struct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.c_name())
    }
}

/// Where a faulty field is: a byte offset inside the decoded blob, or a physical address
/// (for entries of a block chain, which live outside the blob).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Where {
    /// Byte offset from the start of the blob.
    Offset(u64),
    /// Physical address.
    Phys(PhysAddr),
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Where::Offset(o) => write!(f, "offset {o}"),
            Where::Phys(p) => write!(f, "physical address {p:#x}"),
        }
    }
}

/// What is wrong with a fixed-size, NUL-terminated string field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameFault {
    /// No NUL inside the field.
    Unterminated,
    /// The string is empty.
    Empty,
    /// A byte that is not printable ASCII, at this position of the string.
    NotPrintable {
        /// Position inside the string.
        at: u8,
    },
    /// A non-zero byte between the NUL and the end of the field, at this position.
    Padding {
        /// Position inside the field.
        at: u8,
    },
    /// A `luo_ser` compatible that does not start with `"luo-v"`.
    Prefix,
    /// The `;`-separated sub-components of a composite compatible are not in strictly
    /// ascending (alphabetical) order, as `KHO_SUB_COMPAT` requires.
    ComponentOrder,
    /// Longer than the field or the bound allows.
    TooLong {
        /// Largest string length allowed.
        max: u8,
    },
    /// Not the compatible the caller expects.
    Mismatch,
}

impl fmt::Display for NameFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameFault::Unterminated => f.write_str("no terminating NUL inside the field"),
            NameFault::Empty => f.write_str("empty string"),
            NameFault::NotPrintable { at } => write!(f, "byte {at} is not printable ASCII"),
            NameFault::Padding { at } => write!(f, "non-zero byte {at} after the NUL"),
            NameFault::Prefix => f.write_str("does not start with \"luo-v\""),
            NameFault::ComponentOrder => {
                f.write_str("sub-components not in strictly alphabetical order")
            }
            NameFault::TooLong { max } => write!(f, "longer than {max} bytes"),
            NameFault::Mismatch => f.write_str("not the expected compatible"),
        }
    }
}

/// A count or size field named by [`LinuxError::Count`] and [`LinuxError::Zero`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CountField {
    /// `luo_flb_header_ser.pgcnt`.
    Pgcnt,
    /// `luo_flb_header_ser.count`.
    FlbCount,
    /// `luo_flb_ser.count`.
    FlbFileCount,
    /// `pci_ser.max_nr_devices`.
    MaxNrDevices,
    /// `pci_ser.nr_devices`.
    NrDevices,
    /// `kho_block_header_ser.count`.
    BlockCount,
    /// Blocks given to an encoder.
    Blocks,
}

impl CountField {
    const fn name(self) -> &'static str {
        match self {
            CountField::Pgcnt => "pgcnt",
            CountField::FlbCount | CountField::FlbFileCount | CountField::BlockCount => "count",
            CountField::MaxNrDevices => "max_nr_devices",
            CountField::NrDevices => "nr_devices",
            CountField::Blocks => "blocks",
        }
    }
}

/// What is wrong with one `pci_dev_ser` slot, under the compatible's refcount semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SlotFault {
    /// pci-v1 (dense array): the `reserved`/`padding` field of an entry is not zero.
    Padding {
        /// The value found.
        value: u16,
    },
    /// pci-v1 (chain) and pci-v2 (array): a refcount other than 0 (free) or 1 (in use).
    Refcount {
        /// The value found.
        value: u16,
    },
    /// A free slot (refcount 0, or past `nr_devices` in a dense array) is not all zero, as
    /// the writer's `memset()` or zeroed allocation leaves it.
    FreeNotZero,
    /// The 23 Mar 2026 array is guaranteed sorted; this entry is not above the previous one.
    OutOfOrder,
}

impl fmt::Display for SlotFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SlotFault::Padding { value } => write!(f, "padding is {value:#x}, expected 0"),
            SlotFault::Refcount { value } => write!(f, "refcount {value} is neither 0 nor 1"),
            SlotFault::FreeNotZero => f.write_str("free slot is not zeroed"),
            SlotFault::OutOfOrder => f.write_str("not above the previous entry (array is sorted)"),
        }
    }
}

/// What is wrong with one block of a `kho_block_header_ser` chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockFault {
    /// The memory is not available to the reader (not in the image, or not mapped): the
    /// range asked for and why.
    Unmapped(MemError),
    /// The block does not start on a page boundary (blocks are whole pages).
    Misaligned,
    /// `count` is zero: the kernel's restore refuses empty blocks.
    ZeroCount,
    /// `count` exceeds what a block holds, `(PAGE_SIZE - 16) / entry_size`.
    OverCapacity {
        /// The recorded count.
        count: u64,
        /// Entries a block holds.
        capacity: u64,
    },
    /// The block overlaps the blob that points to the chain.
    OverlapsBlob,
    /// An encoder was given the same block twice.
    Repeated,
    /// An encoder was given a block at address 0, the end-of-chain marker.
    Null,
}

impl fmt::Display for BlockFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BlockFault::Unmapped(error) => write!(f, "not readable: {error}"),
            BlockFault::Misaligned => f.write_str("not page-aligned"),
            BlockFault::ZeroCount => f.write_str("count is zero"),
            BlockFault::OverCapacity { count, capacity } => {
                write!(f, "count {count} exceeds the block capacity {capacity}")
            }
            BlockFault::OverlapsBlob => f.write_str("overlaps the blob pointing to the chain"),
            BlockFault::Repeated => f.write_str("given twice"),
            BlockFault::Null => f.write_str("at address 0, the end-of-chain marker"),
        }
    }
}

/// Why a value of this crate's types cannot be written in an upstream format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReprFault {
    /// The compatible's refcount field holds only 0/1 (or nothing, for pci-v1 arrays), and the
    /// entry has a larger refcount.
    Refcount {
        /// The entry's refcount.
        refcount: u16,
    },
    /// `luo_flb_ser` has no flags, and the entry has some.
    Flags {
        /// The entry's flag bits.
        bits: u32,
    },
}

impl fmt::Display for ReprFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReprFault::Refcount { refcount } => {
                write!(
                    f,
                    "refcount {refcount} does not fit the compatible's refcount field"
                )
            }
            ReprFault::Flags { bits } => write!(f, "flags {bits:#x} have no upstream field"),
        }
    }
}

/// Why an upstream blob was refused, or could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinuxError {
    /// The input ends before the structure does.
    TooShort {
        /// The structure being read.
        what: Struct,
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        found: u64,
    },
    /// The input is longer than the structure can be.
    TooLong {
        /// The structure being read.
        what: Struct,
        /// Largest valid length.
        max: u64,
        /// Bytes present.
        found: u64,
    },
    /// A compatible or name field is malformed.
    Name {
        /// The structure holding the field.
        what: Struct,
        /// Index of the entry (0 for a structure that is not an entry).
        index: u64,
        /// Where the field starts.
        at: Where,
        /// What is wrong.
        fault: NameFault,
    },
    /// A count exceeds what its container holds (arithmetic overflow counts as exceeding).
    Count {
        /// The structure holding the count.
        what: Struct,
        /// Which count.
        field: CountField,
        /// The largest valid value.
        max: u64,
        /// The value found.
        found: u64,
    },
    /// A count that must not be zero is zero.
    Zero {
        /// The structure holding the count.
        what: Struct,
        /// Which count.
        field: CountField,
        /// Index of the entry.
        index: u64,
        /// Where the entry starts.
        at: Where,
    },
    /// `pci_ser.nr_devices` is not the number of slots in use.
    DeviceCount {
        /// `nr_devices` as recorded.
        declared: u64,
        /// Slots in use, as the compatible defines them.
        found: u64,
    },
    /// One `pci_dev_ser` slot breaks the compatible's rules.
    Slot {
        /// Index of the slot across the array or the chain.
        index: u64,
        /// Where the slot is.
        at: Where,
        /// What is wrong.
        fault: SlotFault,
    },
    /// Two entries in use have the same key (device address or FLB name).
    Duplicate {
        /// The entries' structure.
        what: Struct,
        /// Index of the first.
        first: u64,
        /// Index of the second.
        second: u64,
    },
    /// One block of a chain is invalid.
    Block {
        /// Position of the block in the chain, from 0.
        index: u32,
        /// Its physical address.
        phys: PhysAddr,
        /// What is wrong.
        fault: BlockFault,
    },
    /// The chain has more than [`crate::linux::KHO_MAX_BLOCKS`] blocks.
    ChainTooLong {
        /// The bound.
        max: u32,
    },
    /// The chain loops back on itself.
    ChainCycle {
        /// A block that is reached twice.
        phys: PhysAddr,
    },
    /// A structure's version field holds a version this module does not read.
    Version {
        /// The structure.
        what: Struct,
        /// The version found.
        found: u32,
    },
    /// This layout never carried this compatible.
    Format {
        /// The layout asked for.
        layout: PciLayout,
        /// The compatible asked for.
        compat: PciCompat,
    },
    /// An output buffer is too small.
    BufferTooSmall {
        /// The structure being written (or the entry type of a conversion).
        what: Struct,
        /// Bytes (or entries, for a conversion) needed.
        needed: u64,
        /// Bytes (or entries) available.
        found: u64,
    },
    /// An entry of this crate's types cannot be written in the upstream format.
    NotRepresentable {
        /// The upstream structure.
        what: Struct,
        /// Index of the entry.
        index: u64,
        /// What does not fit.
        fault: ReprFault,
    },
    /// An upstream entry is not a valid entry of this crate's ABI.
    Convert {
        /// The upstream structure.
        what: Struct,
        /// Index of the entry.
        index: u64,
        /// Why this crate refuses it.
        fault: EntryFault,
    },
}

impl fmt::Display for LinuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LinuxError::TooShort {
                what,
                needed,
                found,
            } => write!(f, "{what}: too short: need {needed} bytes, found {found}"),
            LinuxError::TooLong { what, max, found } => {
                write!(f, "{what}: too long: at most {max} bytes, found {found}")
            }
            LinuxError::Name {
                what,
                index,
                at,
                fault,
            } => write!(f, "{what} {index}: name at {at}: {fault}"),
            LinuxError::Count {
                what,
                field,
                max,
                found,
            } => write!(
                f,
                "{what}: {} is {found}, more than the maximum {max}",
                field.name()
            ),
            LinuxError::Zero {
                what,
                field,
                index,
                at,
            } => write!(f, "{what} {index} at {at}: {} is zero", field.name()),
            LinuxError::DeviceCount { declared, found } => write!(
                f,
                "pci_ser: nr_devices is {declared}, but {found} slots are in use"
            ),
            LinuxError::Slot { index, at, fault } => {
                write!(f, "pci_dev_ser slot {index} at {at}: {fault}")
            }
            LinuxError::Duplicate {
                what,
                first,
                second,
            } => write!(f, "{what}: entries {first} and {second} have the same key"),
            LinuxError::Block { index, phys, fault } => {
                write!(f, "kho block {index} at {phys:#x}: {fault}")
            }
            LinuxError::ChainTooLong { max } => {
                write!(f, "kho block chain: more than {max} blocks")
            }
            LinuxError::ChainCycle { phys } => {
                write!(f, "kho block chain: cycle through the block at {phys:#x}")
            }
            LinuxError::Version { what, found } => write!(
                f,
                "{what}: version {found} is not one this reader knows (1, 2)"
            ),
            LinuxError::Format { layout, compat } => write!(
                f,
                "pci_ser: the {} layout never carried compatible \"{}\"",
                layout.name(),
                compat.name()
            ),
            LinuxError::BufferTooSmall {
                what,
                needed,
                found,
            } => write!(f, "{what}: output too small: need {needed}, have {found}"),
            LinuxError::NotRepresentable { what, index, fault } => {
                write!(f, "{what}: entry {index}: {fault}")
            }
            LinuxError::Convert { what, index, fault } => {
                write!(f, "{what} {index}: not a valid liveupdate entry: {fault}")
            }
        }
    }
}

impl core::error::Error for LinuxError {}
