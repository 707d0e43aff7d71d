//! The common record header, the version policy and the feature bits.
//!
//! Every record starts with the same 64-byte [`RecordHeader`] and is followed by
//! `entry_capacity` entries of `entry_size` bytes, of which the first `entry_count` are in
//! use and the rest are zero. The header records every size, so a reader never assumes one.
//!
//! A reader of version `m` checks a record of wire minor `n <= m` against exactly the sizes,
//! fields and feature bits minor `n` defines, and a record of a newer minor against its own,
//! leniently (wider sizes, reserved bytes and unknown flags allowed).

use core::mem::{offset_of, size_of};

use bitflags::bitflags;
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::checksum::record_crc;
use crate::error::{DecodeError, EncodeError, Field};
use crate::kind::RecordKind;
use crate::version::AbiVersion;

/// The major version this crate reads and writes. A record of another major is refused.
pub const MAJOR: u16 = 1;
/// The newest minor version this crate knows every field of ([`AbiVersion::NEWEST`]).
pub const MINOR: u16 = AbiVersion::NEWEST.minor();
/// Size of the header, the same at every minor this crate knows (64).
pub const HEADER_LEN: usize = HEADER_LEN_U16 as usize;
const HEADER_LEN_U16: u16 = 64;
/// Byte offset of the CRC field, read as zero when the CRC is computed.
pub const CRC_OFFSET: usize = offset_of!(RecordHeader, crc);
/// Largest header length or entry size a newer minor may record (a multiple of 8).
pub const MAX_SIZE_FIELD: u16 = 0xFFF8;

/// The common header at offset 0 of every record. All fields little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | `magic` — the record kind |
/// | 4 | 2 | `major` |
/// | 6 | 2 | `minor` |
/// | 8 | 2 | `header_len` — bytes before the first entry |
/// | 10 | 2 | `entry_size` — bytes from one entry to the next |
/// | 12 | 4 | `entry_count` — entries in use |
/// | 16 | 4 | `entry_capacity` — entry slots in the record |
/// | 20 | 4 | `record_len` — `header_len + entry_capacity * entry_size` |
/// | 24 | 8 | `generation` — live-update sequence number |
/// | 32 | 4 | `compat` features |
/// | 36 | 4 | `ro_compat` features |
/// | 40 | 4 | `incompat` features |
/// | 44 | 4 | `crc` — CRC-32C of the record with this field as zero |
/// | 48 | 8 | `next_block` — under `CHAINED` (minor 1): the next block's address; else zero |
/// | 56 | 4 | `block_index` — under `CHAINED` (minor 1): the block's position; else zero |
/// | 60 | 4 | reserved, zero |
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct RecordHeader {
    magic: U32,
    major: U16,
    minor: U16,
    header_len: U16,
    entry_size: U16,
    entry_count: U32,
    entry_capacity: U32,
    record_len: U32,
    generation: U64,
    compat: U32,
    ro_compat: U32,
    incompat: U32,
    crc: U32,
    next_block: U64,
    block_index: U32,
    reserved: U32,
}

const _: () = {
    assert!(size_of::<RecordHeader>() == HEADER_LEN);
    assert!(offset_of!(RecordHeader, magic) == 0);
    assert!(offset_of!(RecordHeader, major) == 4);
    assert!(offset_of!(RecordHeader, minor) == 6);
    assert!(offset_of!(RecordHeader, header_len) == 8);
    assert!(offset_of!(RecordHeader, entry_size) == 10);
    assert!(offset_of!(RecordHeader, entry_count) == 12);
    assert!(offset_of!(RecordHeader, entry_capacity) == 16);
    assert!(offset_of!(RecordHeader, record_len) == 20);
    assert!(offset_of!(RecordHeader, generation) == 24);
    assert!(offset_of!(RecordHeader, compat) == 32);
    assert!(offset_of!(RecordHeader, ro_compat) == 36);
    assert!(offset_of!(RecordHeader, incompat) == 40);
    assert!(offset_of!(RecordHeader, crc) == 44);
    assert!(offset_of!(RecordHeader, next_block) == 48);
    assert!(offset_of!(RecordHeader, block_index) == 56);
    assert!(offset_of!(RecordHeader, reserved) == 60);
};

/// Byte offsets of the header fields, from the layout itself (`offset_of!`): what error
/// messages name, so that a message and the layout cannot disagree.
pub mod offsets {
    use core::mem::offset_of;

    use super::RecordHeader;

    /// `magic`.
    pub const MAGIC: usize = offset_of!(RecordHeader, magic);
    /// `major`.
    pub const MAJOR: usize = offset_of!(RecordHeader, major);
    /// `minor`.
    pub const MINOR: usize = offset_of!(RecordHeader, minor);
    /// `header_len`.
    pub const HEADER_LEN: usize = offset_of!(RecordHeader, header_len);
    /// `entry_size`.
    pub const ENTRY_SIZE: usize = offset_of!(RecordHeader, entry_size);
    /// `entry_count`.
    pub const ENTRY_COUNT: usize = offset_of!(RecordHeader, entry_count);
    /// `entry_capacity`.
    pub const ENTRY_CAPACITY: usize = offset_of!(RecordHeader, entry_capacity);
    /// `record_len`.
    pub const RECORD_LEN: usize = offset_of!(RecordHeader, record_len);
    /// `generation`.
    pub const GENERATION: usize = offset_of!(RecordHeader, generation);
    /// `compat`.
    pub const COMPAT: usize = offset_of!(RecordHeader, compat);
    /// `ro_compat`.
    pub const RO_COMPAT: usize = offset_of!(RecordHeader, ro_compat);
    /// `incompat`.
    pub const INCOMPAT: usize = offset_of!(RecordHeader, incompat);
    /// `crc`.
    pub const CRC: usize = offset_of!(RecordHeader, crc);
    /// `next_block`.
    pub const NEXT_BLOCK: usize = offset_of!(RecordHeader, next_block);
    /// `block_index`.
    pub const BLOCK_INDEX: usize = offset_of!(RecordHeader, block_index);
}

/// Byte offset of the first header byte that is reserved (zero) when no feature uses it.
pub(crate) const RESERVED_OFFSET: usize = offset_of!(RecordHeader, next_block);
/// Byte offset of the header bytes that stay reserved under `CHAINED`.
const CHAINED_RESERVED_OFFSET: usize = offset_of!(RecordHeader, reserved);

bitflags! {
    /// Compatible features: a reader ignores a bit it does not know. None is defined yet.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CompatFeatures: u32 {}
}

bitflags! {
    /// Read-only-compatible features: a reader that does not know a bit may read the record
    /// but must not rewrite it.
    ///
    /// Bit numbers are allocated once for all kinds; each bit is defined for the kinds named.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct RoCompatFeatures: u32 {
        /// PCI table, minor 1: some entry has [`PciFlags::DESCENDANT`](crate::pci::PciFlags)
        /// and a refcount that counts the preserved devices below it (upstream's pci-v3
        /// semantics). Set exactly when such an entry is in the record. A reader that does
        /// not know it answers "was this device preserved" correctly, but would not update
        /// the bridges above a device it unpreserved, so it must not rewrite the record.
        const HIERARCHY = 1 << 0;
    }
}

bitflags! {
    /// Incompatible features: a reader that does not know a bit refuses the record.
    ///
    /// Bit numbers are allocated once for all kinds; each bit is defined for the kinds named.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct IncompatFeatures: u32 {
        /// FLB and PCI tables, minor 1: the record is one block of a table that spans a chain
        /// of blocks, linked by `next_block` and numbered by `block_index`. A reader that
        /// cannot follow the chain would see part of the table, so it must refuse it.
        const CHAINED = 1 << 0;
    }
}

/// The three feature sets of a record, unknown bits retained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Features {
    /// Bits a reader may ignore.
    pub compat: CompatFeatures,
    /// Bits that forbid rewriting when unknown.
    pub ro_compat: RoCompatFeatures,
    /// Bits that forbid reading when unknown.
    pub incompat: IncompatFeatures,
}

impl Features {
    /// No feature bits.
    pub const NONE: Features = Features {
        compat: CompatFeatures::empty(),
        ro_compat: RoCompatFeatures::empty(),
        incompat: IncompatFeatures::empty(),
    };
}

/// The live update a record belongs to: the sequence number every record of one handover
/// carries (header offset 24). A newtype, so that it cannot be passed where an address, a length
/// or a capacity is expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Generation(u64);

impl Generation {
    /// The generation numbered `n`.
    pub const fn new(n: u64) -> Generation {
        Generation(n)
    }

    /// Its number, as stored.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl core::fmt::Display for Generation {
    /// The number, in decimal.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// A number of entry slots in a record (header field `entry_capacity`). A newtype, so that it
/// cannot be passed where a generation or a count is expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Capacity(u32);

impl Capacity {
    /// Room for `slots` entries.
    pub const fn new(slots: u32) -> Capacity {
        Capacity(slots)
    }

    /// The number of slots.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl core::fmt::Display for Capacity {
    /// The number of slots, in decimal.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// What a reader may do with a decoded record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Every feature is known: the record may be read and rewritten.
    ReadWrite,
    /// Unknown read-only-compatible features are set: read it, do not rewrite it.
    ReadOnly {
        /// The unknown read-only-compatible bits.
        unknown: u32,
    },
}

impl RecordHeader {
    /// The magic (record kind) as stored.
    pub fn magic(&self) -> u32 {
        self.magic.get()
    }
    /// Major version.
    pub fn major(&self) -> u16 {
        self.major.get()
    }
    /// Minor version.
    pub fn minor(&self) -> u16 {
        self.minor.get()
    }
    /// Bytes from the start of the record to its first entry.
    pub fn header_len(&self) -> u16 {
        self.header_len.get()
    }
    /// Bytes from one entry to the next.
    pub fn entry_size(&self) -> u16 {
        self.entry_size.get()
    }
    /// Entries in use.
    pub fn entry_count(&self) -> u32 {
        self.entry_count.get()
    }
    /// Entry slots the record has room for.
    pub fn entry_capacity(&self) -> u32 {
        self.entry_capacity.get()
    }
    /// Total length of the record in bytes.
    pub fn record_len(&self) -> u32 {
        self.record_len.get()
    }
    /// The live-update sequence number the record belongs to.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.get())
    }
    /// The stored CRC-32C.
    pub fn crc(&self) -> u32 {
        self.crc.get()
    }
    /// The feature bits, unknown ones retained.
    pub fn features(&self) -> Features {
        Features {
            compat: CompatFeatures::from_bits_retain(self.compat.get()),
            ro_compat: RoCompatFeatures::from_bits_retain(self.ro_compat.get()),
            incompat: IncompatFeatures::from_bits_retain(self.incompat.get()),
        }
    }
    /// Whether the newest reader ([`AbiVersion::NEWEST`]) may rewrite the record.
    pub fn access(&self) -> Access {
        match RecordKind::from_magic(self.magic()) {
            Some(kind) => {
                self.access_for(kind.known_features(AbiVersion::NEWEST.reading(self.minor())))
            }
            None => access_of(self.ro_compat.get()),
        }
    }
    /// Where this record sits in its chain, when it is a block of one (`CHAINED` is set).
    pub fn link(&self) -> Option<Link> {
        IncompatFeatures::from_bits_retain(self.incompat.get())
            .contains(IncompatFeatures::CHAINED)
            .then(|| Link {
                next: self.next_block.get(),
                index: self.block_index.get(),
            })
    }
    /// Whether a reader that knows the features `known` may rewrite this record.
    pub(crate) fn access_for(&self, known: Features) -> Access {
        let known = known.ro_compat.bits();
        access_of(self.ro_compat.get() & !known)
    }
}

fn access_of(unknown: u32) -> Access {
    if unknown == 0 {
        Access::ReadWrite
    } else {
        Access::ReadOnly { unknown }
    }
}

/// A block's place in its chain: the header fields `next_block` and `block_index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Link {
    /// Physical address of the next block; 0 for the last.
    pub next: u64,
    /// Position of this block in the chain, from 0.
    pub index: u32,
}

/// The sizes of a record whose header passed the structural checks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout<'a> {
    pub header: &'a RecordHeader,
    /// The record's exact bytes (`record_len`).
    pub record: &'a [u8],
    /// Offset of the first entry.
    pub header_len: usize,
    /// Distance between entries.
    pub stride: usize,
    /// Entries in use.
    pub count: usize,
    /// The version whose rules apply: the record's minor, or the reader's when it is newer.
    pub version: AbiVersion,
    /// Whether the record has a newer minor than the reader.
    pub newer: bool,
}

/// Checks a size field against `known`, the size defined by the version whose rules apply:
/// exactly `known` for a minor the reader knows; for a newer minor at least `known`, a
/// multiple of 8, at most [`MAX_SIZE_FIELD`].
fn size_ok(found: u16, known: u16, newer: bool) -> Result<(), (u16, u16)> {
    let max = if newer { MAX_SIZE_FIELD } else { known };
    if found >= known && found <= max && found.is_multiple_of(8) {
        Ok(())
    } else {
        Err((known, max))
    }
}

/// The structural checks, in the order SPEC.md gives: presence, magic, major, header and entry
/// sizes, count against capacity, record length, input length. No CRC yet.
pub(crate) fn layout(
    bytes: &[u8],
    kind: RecordKind,
    reader: AbiVersion,
) -> Result<Layout<'_>, DecodeError> {
    let too_short = |needed: usize| DecodeError::TooShort {
        kind,
        needed: needed as u64,
        found: bytes.len() as u64,
    };
    let magic = bytes
        .get(..4)
        .and_then(|m| U32::read_from_bytes(m).ok())
        .map(U32::get);
    match magic {
        None if bytes.is_empty() => return Err(DecodeError::NoRecord { kind }),
        None => return Err(too_short(4)),
        Some(0) => return Err(DecodeError::NoRecord { kind }),
        Some(m) if m != kind.magic() => return Err(DecodeError::BadMagic { kind, found: m }),
        Some(_) => {}
    }
    let major = bytes
        .get(4..6)
        .and_then(|m| U16::read_from_bytes(m).ok())
        .map(U16::get)
        .ok_or_else(|| too_short(6))?;
    if major != MAJOR {
        return Err(DecodeError::UnsupportedMajor {
            kind,
            found: major,
            min: MAJOR,
            max: MAJOR,
        });
    }
    let (header, _) = RecordHeader::ref_from_prefix(bytes).map_err(|_| too_short(HEADER_LEN))?;
    let version = reader.reading(header.minor());
    let newer = header.minor() > reader.minor();
    let entry_size = kind.entry_size(version);
    size_ok(header.header_len(), HEADER_LEN_U16, newer).map_err(|(min, max)| {
        DecodeError::HeaderSize {
            kind,
            found: header.header_len(),
            min,
            max,
        }
    })?;
    size_ok(header.entry_size(), entry_size, newer).map_err(|(min, max)| {
        DecodeError::EntrySize {
            kind,
            found: header.entry_size(),
            min,
            max,
        }
    })?;
    if header.entry_count() > header.entry_capacity() {
        return Err(DecodeError::OverMaximum {
            kind,
            field: Field::EntryCount,
            max: u64::from(header.entry_capacity()),
            found: u64::from(header.entry_count()),
        });
    }
    // u16 + u32 * u16 < 2^49: cannot overflow u64.
    let implied = u64::from(header.header_len()).saturating_add(
        u64::from(header.entry_capacity()).saturating_mul(u64::from(header.entry_size())),
    );
    if implied != u64::from(header.record_len()) {
        return Err(DecodeError::Inconsistent {
            kind,
            field: Field::RecordLength,
            expected: implied,
            found: u64::from(header.record_len()),
        });
    }
    let record_len = usize::try_from(header.record_len()).map_err(|_| too_short(usize::MAX))?;
    let record = match bytes.get(..record_len) {
        Some(r) if r.len() == bytes.len() => r,
        Some(_) => {
            return Err(DecodeError::Inconsistent {
                kind,
                field: Field::InputLength,
                expected: u64::from(header.record_len()),
                found: bytes.len() as u64,
            });
        }
        None => return Err(too_short(record_len)),
    };
    Ok(Layout {
        header,
        record,
        header_len: usize::from(header.header_len()),
        stride: usize::from(header.entry_size()),
        // entry_count <= entry_capacity and the record holds them all, so this fits usize.
        count: usize::try_from(header.entry_count()).unwrap_or(usize::MAX),
        version,
        newer,
    })
}

/// Everything [`layout`] checks, then the CRC, the incompatible features and the reserved
/// bytes. Entries are the caller's.
pub(crate) fn check(
    bytes: &[u8],
    kind: RecordKind,
    reader: AbiVersion,
) -> Result<Layout<'_>, DecodeError> {
    let layout = layout(bytes, kind, reader)?;
    let computed = record_crc(layout.record);
    let header = layout.header;
    if computed != header.crc() {
        return Err(DecodeError::Checksum {
            kind,
            stored: header.crc(),
            computed,
        });
    }
    let known = kind.known_features(layout.version).incompat.bits();
    let unknown = header.incompat.get() & !known;
    if unknown != 0 {
        return Err(DecodeError::UnsupportedFeatures { kind, unknown });
    }
    if !layout.newer {
        // A newer minor may give reserved bytes a meaning; ours must be zero. (Header bytes
        // past 64 cannot exist here: `header_len` is exactly 64 at every known minor.)
        let reserved = if header.link().is_some() {
            CHAINED_RESERVED_OFFSET
        } else {
            RESERVED_OFFSET
        };
        first_nonzero(
            layout.record.get(reserved..HEADER_LEN).unwrap_or(&[]),
            reserved,
            kind,
        )?;
    }
    // Unused entry slots are zero whatever the minor.
    let used_end = layout
        .count
        .checked_mul(layout.stride)
        .and_then(|n| n.checked_add(layout.header_len))
        .unwrap_or(usize::MAX);
    first_nonzero(layout.record.get(used_end..).unwrap_or(&[]), used_end, kind)?;
    Ok(layout)
}

/// Fails with [`DecodeError::Reserved`] at the first non-zero byte of `bytes`, which starts at
/// record offset `base`.
pub(crate) fn first_nonzero(
    bytes: &[u8],
    base: usize,
    kind: RecordKind,
) -> Result<(), DecodeError> {
    match bytes.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(at) => Err(DecodeError::Reserved {
            kind,
            offset: base.saturating_add(at) as u64,
        }),
    }
}

/// What a writer puts in a header besides the sizes it derives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Written {
    pub version: AbiVersion,
    pub entry_size: u16,
    pub count: u32,
    pub capacity: u32,
    pub record_len: u32,
    pub generation: Generation,
    pub ro_compat: RoCompatFeatures,
    /// `Some` for a block of a chain (sets `CHAINED`).
    pub link: Option<Link>,
}

/// Writes the header `w` describes into `out[..HEADER_LEN]`, CRC zero.
pub(crate) fn write(out: &mut [u8], kind: RecordKind, w: &Written) {
    let link = w.link.unwrap_or(Link { next: 0, index: 0 });
    let incompat = if w.link.is_some() {
        IncompatFeatures::CHAINED
    } else {
        IncompatFeatures::empty()
    };
    let header = RecordHeader {
        magic: U32::new(kind.magic()),
        major: U16::new(MAJOR),
        minor: U16::new(w.version.minor()),
        header_len: U16::new(HEADER_LEN_U16),
        entry_size: U16::new(w.entry_size),
        entry_count: U32::new(w.count),
        entry_capacity: U32::new(w.capacity),
        record_len: U32::new(w.record_len),
        generation: U64::new(w.generation.get()),
        compat: U32::ZERO,
        ro_compat: U32::new(w.ro_compat.bits()),
        incompat: U32::new(incompat.bits()),
        crc: U32::ZERO,
        next_block: U64::new(link.next),
        block_index: U32::new(link.index),
        reserved: U32::ZERO,
    };
    // `out` holds at least HEADER_LEN bytes (checked by the caller); a shorter one is left alone.
    let _ = header.write_to_prefix(out);
}

/// Recomputes and stores the CRC-32C of a record that was edited in place.
///
/// Checks the header structurally first (magic of `kind`, major, sizes, `record_len` equal to
/// `record.len()`) and refuses a record with unknown read-only-compatible features. The entries
/// are not validated: decode the record afterwards to check them. Returns the new CRC.
///
/// # Errors
///
/// [`EncodeError::Malformed`] with the structural error of decoding, and
/// [`EncodeError::ReadOnly`].
pub fn seal(kind: RecordKind, record: &mut [u8]) -> Result<u32, EncodeError> {
    let layout = layout(record, kind, AbiVersion::NEWEST).map_err(EncodeError::Malformed)?;
    if let Access::ReadOnly { unknown } = layout
        .header
        .access_for(kind.known_features(layout.version))
    {
        return Err(EncodeError::ReadOnly { kind, unknown });
    }
    let crc = record_crc(layout.record);
    if let Some(field) = record.get_mut(CRC_OFFSET..CRC_OFFSET + 4) {
        field.copy_from_slice(&crc.to_le_bytes());
    }
    Ok(crc)
}
