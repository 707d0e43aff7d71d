//! The errors of the crate: what a reader refuses ([`DecodeError`]) and what a writer refuses
//! ([`EncodeError`]), where, and why.

use core::fmt;

use crate::header::{Generation, offsets};
use crate::kind::{Magic, RecordKind};
use crate::mem::{MemError, PhysAddr};
use crate::version::AbiVersion;

/// Why a reader refused a record (or a table, or a directory reference).
///
/// Every variant names the record kind, and the place (a byte offset inside the record, or an
/// entry index and its byte offset) with the expected and the found value where there is one,
/// so a kernel log line is enough to act on. Three families are kept apart on purpose:
/// [`DecodeError::NoRecord`] (nothing was handed over), [`DecodeError::UnsupportedMajor`] and
/// [`DecodeError::UnsupportedFeatures`] (a record this reader does not understand, left by a
/// different kernel), and everything else (a corrupt or inconsistent record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is empty, its magic is zero, or the root directory has no entry of this
    /// kind: nothing was handed over.
    NoRecord {
        /// The kind that was looked for.
        kind: RecordKind,
    },
    /// The input ends before the record does.
    TooShort {
        /// The kind being decoded.
        kind: RecordKind,
        /// Bytes needed to go on.
        needed: u64,
        /// Bytes present.
        found: u64,
    },
    /// The magic at offset 0 is not the one of the expected kind.
    BadMagic {
        /// The kind expected.
        kind: RecordKind,
        /// The magic found.
        found: u32,
    },
    /// The record has a major version this reader does not read.
    UnsupportedMajor {
        /// The kind being decoded.
        kind: RecordKind,
        /// The major version found.
        found: u16,
        /// Lowest major this reader supports.
        min: u16,
        /// Highest major this reader supports.
        max: u16,
    },
    /// The record sets incompatible feature bits this reader does not know.
    UnsupportedFeatures {
        /// The kind being decoded.
        kind: RecordKind,
        /// The unknown incompatible bits.
        unknown: u32,
    },
    /// The recorded header length is not valid for the record's version.
    HeaderSize {
        /// The kind being decoded.
        kind: RecordKind,
        /// The recorded header length.
        found: u16,
        /// Smallest valid value.
        min: u16,
        /// Largest valid value.
        max: u16,
    },
    /// The recorded entry size is not valid for the record's version.
    EntrySize {
        /// The kind being decoded.
        kind: RecordKind,
        /// The recorded entry size.
        found: u16,
        /// Smallest valid value.
        min: u16,
        /// Largest valid value.
        max: u16,
    },
    /// A stored quantity is not the value the rest of the record implies (arithmetic overflow
    /// counts as disagreement): [`Field::RecordLength`], [`Field::InputLength`],
    /// [`Field::RoCompat`].
    Inconsistent {
        /// The kind being decoded.
        kind: RecordKind,
        /// Which quantity.
        field: Field,
        /// The value the rest of the record implies.
        expected: u64,
        /// The value found.
        found: u64,
    },
    /// A stored count is above its maximum: [`Field::EntryCount`] (above `entry_capacity`).
    OverMaximum {
        /// The kind being decoded.
        kind: RecordKind,
        /// Which count.
        field: Field,
        /// The largest valid value.
        max: u64,
        /// The value found.
        found: u64,
    },
    /// The stored CRC-32C does not match the bytes.
    Checksum {
        /// The kind being decoded.
        kind: RecordKind,
        /// CRC stored in the header.
        stored: u32,
        /// CRC computed over the record.
        computed: u32,
    },
    /// The record belongs to another live update than the one being read.
    Generation {
        /// The kind being decoded.
        kind: RecordKind,
        /// Generation of the root record.
        expected: Generation,
        /// Generation found in this record.
        found: Generation,
    },
    /// A reserved or padding byte, or an unused entry slot, is not zero.
    Reserved {
        /// The kind being decoded.
        kind: RecordKind,
        /// Byte offset of the first non-zero byte, from the start of the record.
        offset: u64,
    },
    /// One entry of a table is invalid.
    Entry {
        /// The kind being decoded.
        kind: RecordKind,
        /// Index of the entry.
        index: u32,
        /// Byte offset of the entry from the start of the record.
        offset: u64,
        /// What is wrong with it.
        fault: EntryFault,
    },
    /// A record does not match the root directory entry that references it.
    Directory {
        /// The kind of the referenced record.
        kind: RecordKind,
        /// Which field of the directory entry disagrees.
        field: DirectoryField,
        /// The value in the directory.
        expected: u64,
        /// The value of the referenced record.
        found: u64,
    },
    /// A table's chain of blocks is broken, or a block was decoded on its own
    /// ([`ChainFault::NeedsMemory`]).
    Chain {
        /// The kind of the table.
        kind: RecordKind,
        /// What is wrong.
        fault: ChainFault,
    },
}

/// Why a writer refused to build (or seal) a record or a table.
///
/// Every variant names the record kind and, where there is one, the entry, the size needed
/// or the capacity, so the caller knows what to change. Nothing is dropped silently: a writer
/// refuses instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The record sets read-only-compatible feature bits this writer does not know, so it
    /// may be read but not rewritten.
    ReadOnly {
        /// The kind of the record.
        kind: RecordKind,
        /// The unknown read-only-compatible bits.
        unknown: u32,
    },
    /// The output buffer is too small for the record.
    BufferTooSmall {
        /// The kind being built.
        kind: RecordKind,
        /// Bytes the record needs.
        needed: u64,
        /// Bytes available.
        found: u64,
    },
    /// More entries were given than the record's capacity holds (for a chained table, than
    /// the blocks given hold together).
    CapacityExceeded {
        /// The kind being built.
        kind: RecordKind,
        /// The capacity.
        capacity: u32,
    },
    /// The version a writer targets cannot express what it was given. Nothing is dropped
    /// silently: the writer refuses instead.
    Unfit {
        /// The kind being built.
        kind: RecordKind,
        /// The target version.
        version: AbiVersion,
        /// What does not fit.
        what: Unfit,
    },
    /// A capacity whose record would not fit the `u32` `record_len` field.
    CapacityTooLarge {
        /// The kind being built.
        kind: RecordKind,
        /// The largest capacity whose record fits.
        max: u64,
        /// The capacity asked for.
        found: u64,
    },
    /// An entry given to the writer is invalid (the fault the decoder would report for it).
    Entry {
        /// The kind being built.
        kind: RecordKind,
        /// Index of the entry.
        index: u32,
        /// Byte offset the entry would have from the start of the record.
        offset: u64,
        /// What is wrong with it.
        fault: EntryFault,
    },
    /// The blocks given for a table cannot hold a chain: [`ChainFault::TooLong`],
    /// [`ChainFault::Cycle`], [`ChainFault::Overlap`], [`ChainFault::OutOfOrder`], or
    /// [`ChainFault::Unmapped`] when the memory given does not hold a block to write.
    Chain {
        /// The kind of the table.
        kind: RecordKind,
        /// What is wrong.
        fault: ChainFault,
    },
    /// A record handed to [`seal`](crate::header::seal) fails the decoder's structural
    /// checks. Its `Display` is the inner error's.
    Malformed(DecodeError),
}

/// What a target version cannot express, named by [`EncodeError::Unfit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unfit {
    /// Entry `index` has a device identity; the version has no identity fields.
    Identity {
        /// Index of the entry.
        index: u32,
    },
    /// Entry `index` has flags; the version has no flags field.
    Flags {
        /// Index of the entry.
        index: u32,
        /// The flags that do not fit.
        bits: u32,
    },
    /// The entries need more than one block of `capacity` entries; the version has no chains.
    Chain {
        /// Capacity of the one block the version allows.
        capacity: u32,
    },
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Unfit::Identity { index } => {
                write!(
                    f,
                    "entry {index} has a device identity, which it has no field for"
                )
            }
            Unfit::Flags { index, bits } => {
                write!(
                    f,
                    "entry {index} has flags {bits:#x}, which it has no field for"
                )
            }
            Unfit::Chain { capacity } => write!(
                f,
                "the entries do not fit one block of {capacity}, and it has no chained tables"
            ),
        }
    }
}

/// What is wrong with a chain of blocks, named by [`DecodeError::Chain`] (a reader) and
/// [`EncodeError::Chain`] (a writer). The block is named by the
/// [`TableError`](crate::table::TableError) that carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainFault {
    /// The record is a block of a chained table (`CHAINED`); it was decoded on its own, which
    /// would show only part of the table. Decode it as a [`Table`](crate::table::Table).
    NeedsMemory,
    /// The block's bytes are not in the memory given: the range asked for and why.
    Unmapped(MemError),
    /// The chain has more blocks than a reader follows.
    TooLong {
        /// Most blocks a chain may have.
        max: u32,
    },
    /// The link points back to an earlier block.
    Cycle {
        /// The index of the block it points to.
        to_block: u32,
    },
    /// The block starts inside an earlier block.
    Overlap {
        /// The index of the block it starts in.
        with_block: u32,
    },
    /// The block does not start after the end of the previous one (blocks are in ascending
    /// address order, so that overlaps are found in constant memory).
    OutOfOrder {
        /// The end of the previous block.
        after: PhysAddr,
    },
    /// The block's `block_index` is not its position in the chain.
    Index {
        /// The index it records.
        found: u32,
    },
    /// A block reached through a link does not set `CHAINED`.
    NotChained,
    /// The first block of a chain links nowhere: a one-block table is written without
    /// `CHAINED`.
    Single,
    /// A block of a chain has no entry in use.
    EmptyBlock,
}

impl fmt::Display for ChainFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChainFault::NeedsMemory => f.write_str(
                "a block of a chained table (CHAINED), decoded on its own: decode the table",
            ),
            ChainFault::Unmapped(error) => write!(f, "not in memory: {error}"),
            ChainFault::TooLong { max } => write!(f, "the chain has more than {max} blocks"),
            ChainFault::Cycle { to_block } => {
                write!(f, "the link points back to block {to_block}: a cycle")
            }
            ChainFault::Overlap { with_block } => {
                write!(f, "it starts inside block {with_block}")
            }
            ChainFault::OutOfOrder { after } => write!(
                f,
                "it does not start at or after {after}, the end of the previous block"
            ),
            ChainFault::Index { found } => {
                write!(
                    f,
                    "block_index {found} at offset {} is not its position",
                    offsets::BLOCK_INDEX
                )
            }
            ChainFault::NotChained => f.write_str("reached through a link, but CHAINED is not set"),
            ChainFault::Single => {
                write!(
                    f,
                    "CHAINED is set but next_block at offset {} is 0 in the first block",
                    offsets::NEXT_BLOCK
                )
            }
            ChainFault::EmptyBlock => f.write_str("a block of a chain has no entry in use"),
        }
    }
}

/// A quantity named by [`DecodeError::Inconsistent`] or [`DecodeError::OverMaximum`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// `record_len` against `header_len + entry_capacity * entry_size`.
    RecordLength,
    /// `entry_count` against `entry_capacity`.
    EntryCount,
    /// The length of the input against `record_len`.
    InputLength,
    /// The read-only-compatible features against those the entries use.
    RoCompat,
}

impl Field {
    const fn name(self) -> &'static str {
        match self {
            Field::RecordLength => "record_len",
            Field::EntryCount => "entry_count",
            Field::InputLength => "input length",
            Field::RoCompat => "ro_compat",
        }
    }
}

/// A field of a root directory entry, named by [`DecodeError::Directory`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryField {
    /// The referenced record's length.
    Length,
    /// The referenced record's stored CRC-32C.
    Crc,
}

impl DirectoryField {
    const fn name(self) -> &'static str {
        match self {
            DirectoryField::Length => "length",
            DirectoryField::Crc => "crc",
        }
    }
}

/// What is wrong with one table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryFault {
    /// The name is empty.
    NameEmpty,
    /// The name has no terminating NUL inside its field.
    NameUnterminated,
    /// The name holds a byte that is not printable ASCII (at this byte of the name).
    NameNotPrintable {
        /// Position of the byte inside the name.
        at: u8,
    },
    /// A byte after the terminating NUL is not zero.
    NamePadding,
    /// The name equals the previous entry's.
    DuplicateName,
    /// The entry does not sort strictly after the previous one.
    OutOfOrder,
    /// The entry's key equals the previous entry's.
    Duplicate,
    /// An FLB with no dependent files.
    ZeroFileCount,
    /// A PCI device with a zero refcount.
    ZeroRefcount,
    /// Flag bits this version does not define.
    UnknownFlags {
        /// The unknown bits.
        bits: u32,
    },
    /// A reserved field of the entry is not zero.
    Reserved,
    /// A directory entry references a record shorter than a record header.
    RecordTooSmall {
        /// The recorded length.
        length: u32,
    },
    /// A directory entry references a root record.
    NestedRoot,
    /// A directory entry's byte range wraps around the physical address space.
    AddressOverflow,
    /// A PCI identity with vendor id `0x0000` (with a non-zero field elsewhere: an unknown
    /// identity is all zero) or `0xFFFF` (what a read of an absent function returns).
    Vendor {
        /// The vendor id.
        vendor_id: u16,
    },
    /// A PCI class code wider than 24 bits.
    ClassCode {
        /// The class code field.
        class_code: u32,
    },
    /// A PCI identity with vendor id 0 (unknown) but another identity field not zero.
    IdentityIncomplete,
    /// A PCI entry with `DESCENDANT` but not `BRIDGE`: only a bridge has devices below it.
    DescendantNotBridge,
}

impl fmt::Display for EntryFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EntryFault::NameEmpty => f.write_str("name is empty"),
            EntryFault::NameUnterminated => f.write_str("name has no terminating NUL"),
            EntryFault::NameNotPrintable { at } => {
                write!(f, "name byte {at} is not printable ASCII")
            }
            EntryFault::NamePadding => f.write_str("name has non-zero bytes after its NUL"),
            EntryFault::DuplicateName => f.write_str("name repeats the previous entry's"),
            EntryFault::OutOfOrder => f.write_str("not strictly after the previous entry"),
            EntryFault::Duplicate => f.write_str("repeats the previous entry's key"),
            EntryFault::ZeroFileCount => f.write_str("file count is zero"),
            EntryFault::ZeroRefcount => f.write_str("refcount is zero"),
            EntryFault::UnknownFlags { bits } => write!(f, "unknown flag bits {bits:#x}"),
            EntryFault::Reserved => f.write_str("reserved field is not zero"),
            EntryFault::RecordTooSmall { length } => {
                write!(
                    f,
                    "referenced length {length} is smaller than a record header"
                )
            }
            EntryFault::NestedRoot => f.write_str("references a root record"),
            EntryFault::AddressOverflow => f.write_str("address + length overflows u64"),
            EntryFault::Vendor { vendor_id } => {
                write!(f, "vendor id {vendor_id:#06x} is not a device's")
            }
            EntryFault::ClassCode { class_code } => {
                write!(f, "class code {class_code:#010x} is wider than 24 bits")
            }
            EntryFault::IdentityIncomplete => {
                f.write_str("vendor id is 0 (identity unknown) but device id or class code is not")
            }
            EntryFault::DescendantNotBridge => f.write_str("DESCENDANT is set without BRIDGE"),
        }
    }
}

impl DecodeError {
    /// The kind of the record the error is about.
    pub const fn kind(&self) -> RecordKind {
        match *self {
            DecodeError::NoRecord { kind }
            | DecodeError::TooShort { kind, .. }
            | DecodeError::BadMagic { kind, .. }
            | DecodeError::UnsupportedMajor { kind, .. }
            | DecodeError::UnsupportedFeatures { kind, .. }
            | DecodeError::HeaderSize { kind, .. }
            | DecodeError::EntrySize { kind, .. }
            | DecodeError::Inconsistent { kind, .. }
            | DecodeError::OverMaximum { kind, .. }
            | DecodeError::Checksum { kind, .. }
            | DecodeError::Generation { kind, .. }
            | DecodeError::Reserved { kind, .. }
            | DecodeError::Entry { kind, .. }
            | DecodeError::Directory { kind, .. }
            | DecodeError::Chain { kind, .. } => kind,
        }
    }
}

impl fmt::Display for DecodeError {
    #[allow(clippy::too_many_lines)] // one arm per variant
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::NoRecord { kind } => write!(
                f,
                "{kind}: no record (empty input, zero magic, or absent from the root directory)"
            ),
            DecodeError::TooShort {
                kind,
                needed,
                found,
            } => write!(f, "{kind}: too short: need {needed} bytes, found {found}"),
            DecodeError::BadMagic { kind, found } => write!(
                f,
                "{kind}: bad magic at offset {}: expected {}, found {}",
                offsets::MAGIC,
                Magic(kind.magic()),
                Magic(found)
            ),
            DecodeError::UnsupportedMajor {
                kind,
                found,
                min,
                max,
            } => write!(
                f,
                "{kind}: unsupported major version {found} at offset {} (this reader supports {min}..={max})",
                offsets::MAJOR
            ),
            DecodeError::UnsupportedFeatures { kind, unknown } => write!(
                f,
                "{kind}: unknown incompatible features {unknown:#010x} at offset {}",
                offsets::INCOMPAT
            ),
            DecodeError::HeaderSize {
                kind,
                found,
                min,
                max,
            } => write!(
                f,
                "{kind}: header_len {found} at offset {} is invalid (expected a multiple of 8 in {min}..={max})",
                offsets::HEADER_LEN
            ),
            DecodeError::EntrySize {
                kind,
                found,
                min,
                max,
            } => write!(
                f,
                "{kind}: entry_size {found} at offset {} is invalid (expected a multiple of 8 in {min}..={max})",
                offsets::ENTRY_SIZE
            ),
            DecodeError::Inconsistent {
                kind,
                field,
                expected,
                found,
            } => match field {
                Field::RoCompat => write!(
                    f,
                    "{kind}: ro_compat at offset {} has known bits {found:#x}, but the entries use {expected:#x}",
                    offsets::RO_COMPAT
                ),
                _ => write!(
                    f,
                    "{kind}: {} is {found}, expected {expected}",
                    field.name()
                ),
            },
            DecodeError::OverMaximum {
                kind,
                field,
                max,
                found,
            } => write!(
                f,
                "{kind}: {} is {found}, more than the maximum {max}",
                field.name()
            ),
            DecodeError::Checksum {
                kind,
                stored,
                computed,
            } => write!(
                f,
                "{kind}: CRC-32C mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            DecodeError::Generation {
                kind,
                expected,
                found,
            } => write!(
                f,
                "{kind}: generation {found} at offset {} does not match the root's {expected} (left over from another update)",
                offsets::GENERATION
            ),
            DecodeError::Reserved { kind, offset } => {
                write!(f, "{kind}: non-zero reserved byte at offset {offset}")
            }
            DecodeError::Entry {
                kind,
                index,
                offset,
                fault,
            } => write!(f, "{kind}: entry {index} at offset {offset}: {fault}"),
            DecodeError::Directory {
                kind,
                field,
                expected,
                found,
            } => write!(
                f,
                "root directory entry for the {kind}: {} is {expected:#x} in the directory but {found:#x} in the record",
                field.name()
            ),
            DecodeError::Chain { kind, fault } => write!(f, "{kind}: chain: {fault}"),
        }
    }
}

impl EncodeError {
    /// The kind of the record the error is about.
    pub const fn kind(&self) -> RecordKind {
        match *self {
            EncodeError::ReadOnly { kind, .. }
            | EncodeError::BufferTooSmall { kind, .. }
            | EncodeError::CapacityExceeded { kind, .. }
            | EncodeError::Unfit { kind, .. }
            | EncodeError::CapacityTooLarge { kind, .. }
            | EncodeError::Entry { kind, .. }
            | EncodeError::Chain { kind, .. } => kind,
            EncodeError::Malformed(error) => error.kind(),
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::ReadOnly { kind, unknown } => write!(
                f,
                "{kind}: read-only: unknown read-only-compatible features {unknown:#010x} forbid rewriting it"
            ),
            EncodeError::BufferTooSmall {
                kind,
                needed,
                found,
            } => write!(
                f,
                "{kind}: output buffer too small: need {needed} bytes, have {found}"
            ),
            EncodeError::CapacityExceeded { kind, capacity } => {
                write!(f, "{kind}: more entries than the capacity of {capacity}")
            }
            EncodeError::Unfit {
                kind,
                version,
                what,
            } => write!(f, "{kind}: ABI {version} cannot express it: {what}"),
            EncodeError::CapacityTooLarge { kind, max, found } => write!(
                f,
                "{kind}: entry_capacity is {found}, more than the maximum {max}"
            ),
            EncodeError::Entry {
                kind,
                index,
                offset,
                fault,
            } => write!(f, "{kind}: entry {index} at offset {offset}: {fault}"),
            EncodeError::Chain { kind, fault } => write!(f, "{kind}: chain: {fault}"),
            EncodeError::Malformed(error) => fmt::Display::fmt(&error, f),
        }
    }
}

impl core::error::Error for DecodeError {}
/// [`EncodeError::Malformed`] prints its inner error, so `source()` is `None`.
impl core::error::Error for EncodeError {}
impl core::error::Error for EntryFault {}
impl core::error::Error for ChainFault {}
impl core::error::Error for Unfit {}

#[cfg(test)]
mod tests {
    //! The decoder's and the encoder's error sets are the ones SPEC.md section 6.3 lists. The
    //! matches below have no wildcard: adding a variant does not compile until it has a name
    //! here, a sample, and (for the test to pass) its row in SPEC.md.

    extern crate std;

    use super::{ChainFault, DecodeError, EncodeError, EntryFault, Field, Unfit};
    use crate::header::Generation;
    use crate::kind::RecordKind;
    use crate::version::AbiVersion;

    const SPEC: &str = include_str!("../SPEC.md");
    const K: RecordKind = RecordKind::PciTable;

    fn decode_name(e: &DecodeError) -> &'static str {
        match e {
            DecodeError::NoRecord { .. } => "NoRecord",
            DecodeError::TooShort { .. } => "TooShort",
            DecodeError::BadMagic { .. } => "BadMagic",
            DecodeError::UnsupportedMajor { .. } => "UnsupportedMajor",
            DecodeError::UnsupportedFeatures { .. } => "UnsupportedFeatures",
            DecodeError::HeaderSize { .. } => "HeaderSize",
            DecodeError::EntrySize { .. } => "EntrySize",
            DecodeError::Inconsistent { .. } => "Inconsistent",
            DecodeError::OverMaximum { .. } => "OverMaximum",
            DecodeError::Checksum { .. } => "Checksum",
            DecodeError::Generation { .. } => "Generation",
            DecodeError::Reserved { .. } => "Reserved",
            DecodeError::Entry { .. } => "Entry",
            DecodeError::Directory { .. } => "Directory",
            DecodeError::Chain { .. } => "Chain",
        }
    }

    fn encode_name(e: &EncodeError) -> &'static str {
        match e {
            EncodeError::ReadOnly { .. } => "ReadOnly",
            EncodeError::BufferTooSmall { .. } => "BufferTooSmall",
            EncodeError::CapacityExceeded { .. } => "CapacityExceeded",
            EncodeError::Unfit { .. } => "Unfit",
            EncodeError::CapacityTooLarge { .. } => "CapacityTooLarge",
            EncodeError::Entry { .. } => "Entry",
            EncodeError::Chain { .. } => "Chain",
            EncodeError::Malformed(_) => "Malformed",
        }
    }

    fn decode_samples() -> [DecodeError; 15] {
        let g = Generation::new(1);
        [
            DecodeError::NoRecord { kind: K },
            DecodeError::TooShort {
                kind: K,
                needed: 64,
                found: 8,
            },
            DecodeError::BadMagic { kind: K, found: 1 },
            DecodeError::UnsupportedMajor {
                kind: K,
                found: 2,
                min: 1,
                max: 1,
            },
            DecodeError::UnsupportedFeatures {
                kind: K,
                unknown: 0x10,
            },
            DecodeError::HeaderSize {
                kind: K,
                found: 8,
                min: 64,
                max: 64,
            },
            DecodeError::EntrySize {
                kind: K,
                found: 8,
                min: 24,
                max: 24,
            },
            DecodeError::Inconsistent {
                kind: K,
                field: Field::RecordLength,
                expected: 88,
                found: 96,
            },
            DecodeError::OverMaximum {
                kind: K,
                field: Field::EntryCount,
                max: 1,
                found: 2,
            },
            DecodeError::Checksum {
                kind: K,
                stored: 1,
                computed: 2,
            },
            DecodeError::Generation {
                kind: K,
                expected: g,
                found: Generation::new(2),
            },
            DecodeError::Reserved {
                kind: K,
                offset: 60,
            },
            DecodeError::Entry {
                kind: K,
                index: 0,
                offset: 64,
                fault: EntryFault::ZeroRefcount,
            },
            DecodeError::Directory {
                kind: K,
                field: super::DirectoryField::Crc,
                expected: 1,
                found: 2,
            },
            DecodeError::Chain {
                kind: K,
                fault: ChainFault::Single,
            },
        ]
    }

    fn encode_samples() -> [EncodeError; 8] {
        [
            EncodeError::ReadOnly {
                kind: K,
                unknown: 0x10,
            },
            EncodeError::BufferTooSmall {
                kind: K,
                needed: 88,
                found: 8,
            },
            EncodeError::CapacityExceeded {
                kind: K,
                capacity: 1,
            },
            EncodeError::Unfit {
                kind: K,
                version: AbiVersion::V1_0,
                what: Unfit::Identity { index: 0 },
            },
            EncodeError::CapacityTooLarge {
                kind: K,
                max: 1,
                found: 2,
            },
            EncodeError::Entry {
                kind: K,
                index: 0,
                offset: 64,
                fault: EntryFault::ZeroRefcount,
            },
            EncodeError::Chain {
                kind: K,
                fault: ChainFault::TooLong { max: 4096 },
            },
            EncodeError::Malformed(DecodeError::NoRecord { kind: K }),
        ]
    }

    /// The variant names of the table in SPEC.md section 6.3 that follows `heading`: the first
    /// identifier of each row's first cell.
    fn spec_table(heading: &str) -> std::vec::Vec<&'static str> {
        let section = SPEC
            .split("### 6.3 The errors")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("SPEC.md has section 6.3");
        let table = section
            .split(heading)
            .nth(1)
            .unwrap_or_else(|| panic!("section 6.3 has {heading:?}"));
        table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.strip_prefix("| `"))
            .map(|l| {
                let end = l
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(l.len());
                &l[..end]
            })
            .collect()
    }

    fn sorted(mut names: std::vec::Vec<&'static str>) -> std::vec::Vec<&'static str> {
        names.sort_unstable();
        names
    }

    #[test]
    fn decode_errors_are_those_spec_lists() {
        let names = sorted(decode_samples().iter().map(decode_name).collect());
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(unique, names, "one sample per variant");
        assert_eq!(names, sorted(spec_table("`DecodeError` variants")));
        for e in decode_samples() {
            assert_eq!(e.kind(), K);
            assert!(std::format!("{e}").contains("pci table"), "{e}");
        }
    }

    #[test]
    fn encode_errors_are_those_spec_lists() {
        let names = sorted(encode_samples().iter().map(encode_name).collect());
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(unique, names, "one sample per variant");
        assert_eq!(names, sorted(spec_table("`EncodeError` variants")));
        for e in encode_samples() {
            assert_eq!(e.kind(), K);
            assert!(std::format!("{e}").contains("pci table"), "{e}");
        }
    }
}
