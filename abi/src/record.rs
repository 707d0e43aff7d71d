//! The generic record: one header, then a table of fixed-size entries.
//!
//! Parsing is separate from building: [`Record::decode`] borrows validated bytes and hands
//! out views; [`Record::encode`] writes a fresh record into a caller's buffer. Both run the
//! same per-entry checks ([`Entry::check`]), so whatever encodes also decodes.

use core::cmp::Ordering;
use core::iter::{FusedIterator, Peekable};
use core::marker::PhantomData;
use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::checksum::update;
use crate::error::{ChainFault, DecodeError, EncodeError, EntryFault, Field};
use crate::header::{
    self, Access, CRC_OFFSET, Capacity, Features, Generation, HEADER_LEN, Link, RecordHeader,
    RoCompatFeatures,
};
use crate::kind::RecordKind;
use crate::version::AbiVersion;

mod sealed {
    use crate::error::{EntryFault, Unfit};
    use crate::header::RoCompatFeatures;
    use crate::version::AbiVersion;

    /// The state of the one-pass entry check, carried from one chunk of slots to the next: the
    /// faults of every slot or-ed into two words, no branch per entry.
    #[derive(Clone, Copy, Debug)]
    pub struct Scan {
        /// The previous slot's key, or "minus one" (`u64::MAX`: below every key) before the first.
        pub(crate) prev: u64,
        /// A slot is bad when the sign bit is set.
        pub(crate) neg: u64,
        /// A slot is bad when non-zero.
        pub(crate) nz: u64,
        /// The read-only-compatible feature bits the slots imply.
        pub(crate) implied: u32,
    }

    /// What the generic record code needs of an entry type beyond its v1.0 fields: the fields
    /// later minors append to each slot (only PCI has any).
    pub trait Sealed: Sized {
        /// Bytes that `version` appends to the v1.0 entry.
        fn ext_len(_version: AbiVersion) -> usize {
            0
        }

        /// Checks the appended bytes of a decoded slot (`newer`: the record's minor is newer
        /// than the reader's). Returns the read-only-compatible features the entry requires.
        fn check_ext(_ext: &[u8], _newer: bool) -> Result<RoCompatFeatures, EntryFault> {
            Ok(RoCompatFeatures::empty())
        }

        /// The one-pass check, when the kind has one: checks the first `count` slots of
        /// `stride` bytes of `table`, of a record whose minor the reader knows, as the exact
        /// walk checks them, following those `state` has seen, without a branch per entry; a
        /// fault is recorded in `state`. `stride` is the slot size of a minor the reader
        /// knows (the decoder streams no other; the encoder writes no other). `None`
        /// (the default): the exact walk runs.
        const SCAN: Option<super::ScanFn> = None;

        /// What [`Sealed::SCAN`] carries from one entry to the next (its key).
        fn scan_key(&self) -> u64 {
            u64::MAX
        }

        /// Writes the appended bytes of `item` for `version` into `ext` and returns its v1.0
        /// fields, or says what `version` cannot express. `index` is the entry's.
        fn split(
            item: &<Self as super::Entry>::Item,
            index: u32,
            ext: &mut [u8],
            version: AbiVersion,
        ) -> Result<Self, Unfit>
        where
            Self: super::Entry;

        /// The item of a decoded entry and its appended bytes (`None` for minor 0).
        fn join(entry: &Self, ext: Option<&[u8]>) -> <Self as super::Entry>::Item
        where
            Self: super::Entry;
    }
}
pub(crate) use sealed::{Scan, Sealed};

/// A kind's one-pass check ([`Sealed::SCAN`]): `(state, table, count, stride)`.
pub(crate) type ScanFn = fn(&mut Scan, &[u8], usize, usize);

impl Scan {
    /// Before the first slot, which follows `prev` (a key from [`Sealed::scan_key`]).
    pub(crate) fn new(prev: u64) -> Scan {
        Scan {
            prev,
            neg: 0,
            nz: 0,
            implied: 0,
        }
    }

    /// `Some(features implied)` when every slot seen is valid.
    pub(crate) fn result(&self) -> Option<RoCompatFeatures> {
        ((self.neg >> 63) | self.nz == 0)
            .then_some(RoCompatFeatures::from_bits_retain(self.implied))
    }
}

/// Bytes of table the encoder writes, checksums and checks while they are in the L1 cache: a
/// multiple of every slot size streamed (8 and 24).
pub(crate) const CHUNK: usize = 24 * 512;

/// An entry type of a record kind: the fields every minor stores first in each slot.
/// Implemented by this crate's entry types only.
pub trait Entry:
    FromBytes + IntoBytes + KnownLayout + Immutable + Unaligned + Copy + Sealed
{
    /// The record kind whose table holds this entry type.
    const KIND: RecordKind;

    /// One entry with the fields of every minor: what a writer gives, and what a decoded
    /// record hands out whole. The entry type itself when no minor added fields to it; for
    /// PCI a [`PciDevice`](crate::pci::PciDevice).
    type Item: Copy + From<Self>;

    /// Bytes from one slot to the next that `version` defines for this kind: the entry type's
    /// own size, plus what that minor appends to each slot.
    fn entry_size(version: AbiVersion) -> u16;

    /// The feature bits `version` defines for this kind: a reader of that version knows them,
    /// and a record of that minor may set them.
    fn known_features(version: AbiVersion) -> Features;

    /// Checks the fields every minor stores, given the entry before it (`None` for the first).
    ///
    /// `newer` is true when the record has a newer minor than the reader: fields and flag
    /// bits that a newer minor may define are then not required to be zero.
    ///
    /// # Errors
    ///
    /// The first fault found.
    fn check(&self, prev: Option<&Self>, newer: bool) -> Result<(), EntryFault>;

    /// Whether every entry of a packed table passes [`Entry::check`]: a fast whole-table
    /// pass that may answer `false` for a valid table, but never `true` for an invalid one.
    /// No kind of this crate overrides it any more and the decoders no longer call it: their
    /// one-pass checks (any slot size) are internal to each kind.
    fn all_valid(entries: &[Self], newer: bool) -> bool {
        let _ = (entries, newer);
        false
    }
}

/// How to encode a record: the version to write, the live update it belongs to, and its number
/// of entry slots. Three distinct types, so that no two can be swapped.
///
/// ```
/// use liveupdate_abi::{AbiVersion, Capacity, Encoding, Generation, PciEntry, PciTable};
///
/// let encoding = Encoding::new(AbiVersion::V1_1, Generation::new(7), Capacity::new(4));
/// let mut buf = [0u8; 256];
/// let len = PciTable::encode(&mut buf, encoding, core::iter::empty::<PciEntry>()).unwrap();
/// assert_eq!(Some(len), PciTable::len_for(AbiVersion::V1_1, Capacity::new(4)));
/// ```
///
/// A generation and a capacity given the wrong way round do not compile:
///
/// ```compile_fail
/// use liveupdate_abi::{AbiVersion, Capacity, Encoding, Generation};
///
/// let encoding = Encoding::new(AbiVersion::V1_1, Capacity::new(4), Generation::new(7));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Encoding {
    /// The wire version to write: the one the next kernel reads.
    pub version: AbiVersion,
    /// The live update the record belongs to.
    pub generation: Generation,
    /// Entry slots of the record, in use or not.
    pub capacity: Capacity,
}

impl Encoding {
    /// Writing `version`, for the update `generation`, with room for `capacity` entries.
    pub const fn new(version: AbiVersion, generation: Generation, capacity: Capacity) -> Encoding {
        Encoding {
            version,
            generation,
            capacity,
        }
    }
}

/// The used entries of a decoded record: `len()` entries, `stride` bytes apart.
///
/// The stride is the recorded `entry_size`, which a newer minor may have grown; the bytes of
/// an entry beyond what this version knows are skipped.
pub struct Entries<'a, E> {
    bytes: &'a [u8],
    stride: usize,
    len: usize,
    _entry: PhantomData<&'a E>,
}

impl<E> Clone for Entries<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for Entries<'_, E> {}

impl<E> core::fmt::Debug for Entries<'_, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Entries")
            .field("len", &self.len)
            .field("stride", &self.stride)
            .finish_non_exhaustive()
    }
}

impl<'a, E: Entry> Entries<'a, E> {
    /// Number of entries in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry at `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<&'a E> {
        if index >= self.len {
            return None;
        }
        let start = index.checked_mul(self.stride)?;
        E::ref_from_prefix(self.bytes.get(start..)?)
            .ok()
            .map(|(e, _)| e)
    }

    /// The `len` bytes of slot `index` from its byte `from`, if they are inside it.
    fn slot(&self, index: usize, from: usize, len: usize) -> Option<&'a [u8]> {
        if index >= self.len || from.checked_add(len)? > self.stride {
            return None;
        }
        let start = index.checked_mul(self.stride)?.checked_add(from)?;
        self.bytes.get(start..start.checked_add(len)?)
    }

    /// The entries as a slice, when they are packed (`entry_size` is the size of `E`, as in
    /// minor 0 records of every kind, and in FLB tables and roots of minor 1). `None` for
    /// wider entries: use [`Entries::iter`] or [`Entries::get`] then.
    pub fn as_slice(&self) -> Option<&'a [E]> {
        if self.stride != size_of::<E>() {
            return None;
        }
        let bytes = self.bytes.get(..self.len.checked_mul(self.stride)?)?;
        <[E]>::ref_from_bytes(bytes).ok()
    }

    /// Binary search over entries sorted by `cmp`: the index of an entry for which `cmp`
    /// returns [`Ordering::Equal`], or `None` when there is none (or the entries are not sorted
    /// as `cmp` assumes; a decoded table always is). `cmp` says how an entry compares with the
    /// key sought, as for [`slice::binary_search_by`]. O(log n) for packed and wider entries
    /// alike: the one search of every table lookup.
    pub fn binary_search_by(&self, mut cmp: impl FnMut(&'a E) -> Ordering) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match cmp(self.get(mid)?) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The first index whose entry's 8-byte head (read as a little-endian `u64`, mapped by
    /// `key`) is not below `target`, or `len` when none is: a binary search with a fixed
    /// number of steps for a given length, each a load, a compare and a select hinted
    /// unpredictable (`core::hint::select_unpredictable`; where the compiler still emits a
    /// branch, the CPU loads the next probe ahead of the compare, which pays on tables beyond
    /// the first-level cache). The entries must be sorted by `key`. The slots are indexed as
    /// arrays of their size when it is a PCI one (8 or 24 bytes): one bounds check and no
    /// multiplication per step. Inlined, so that a crate built without LTO gets it whole.
    #[inline]
    pub(crate) fn lower_bound_by_head(&self, target: u64, key: impl Fn(u64) -> u64) -> usize {
        match self.stride {
            8 => lower_bound_in::<8>(self.bytes, self.len, target, key),
            24 => lower_bound_in::<24>(self.bytes, self.len, target, key),
            _ => {
                let head = |i: usize| -> u64 {
                    let at = i.saturating_mul(self.stride);
                    self.bytes
                        .get(at..)
                        .and_then(<[u8]>::first_chunk::<8>)
                        .map_or(u64::MAX, |b| key(u64::from_le_bytes(*b)))
                };
                lower_bound(self.len, target, head)
            }
        }
    }

    /// Iterates over the entries in order.
    pub fn iter(&self) -> Iter<'a, E> {
        Iter {
            entries: *self,
            front: 0,
            back: self.len,
        }
    }
}

impl<'a, E: Entry> IntoIterator for &Entries<'a, E> {
    type Item = &'a E;
    type IntoIter = Iter<'a, E>;
    fn into_iter(self) -> Iter<'a, E> {
        self.iter()
    }
}

impl<'a, E: Entry> IntoIterator for Entries<'a, E> {
    type Item = &'a E;
    type IntoIter = Iter<'a, E>;
    fn into_iter(self) -> Iter<'a, E> {
        self.iter()
    }
}

/// [`Entries::lower_bound_by_head`] over `len` slots of `S` bytes at the start of `bytes`.
#[inline]
fn lower_bound_in<const S: usize>(
    bytes: &[u8],
    len: usize,
    target: u64,
    key: impl Fn(u64) -> u64,
) -> usize {
    let (slots, _) = bytes.as_chunks::<S>();
    let head = |i: usize| -> u64 {
        slots
            .get(i)
            .and_then(|slot| slot.first_chunk::<8>())
            .map_or(u64::MAX, |b| key(u64::from_le_bytes(*b)))
    };
    lower_bound(len, target, head)
}

/// The first index `i < len` with `head(i) >= target`, or `len`, for `head` ascending: a fixed
/// number of halving steps for a given `len`, each a load, a compare and a select.
#[inline]
fn lower_bound(len: usize, target: u64, head: impl Fn(usize) -> u64) -> usize {
    let mut base = 0usize;
    let mut size = len;
    if size == 0 {
        return 0;
    }
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = core::hint::select_unpredictable(head(mid) < target, mid, base);
        size -= half;
    }
    base + usize::from(head(base) < target)
}

/// Iterator over [`Entries`].
pub struct Iter<'a, E> {
    entries: Entries<'a, E>,
    front: usize,
    back: usize,
}

impl<E> Clone for Iter<'_, E> {
    fn clone(&self) -> Self {
        Iter {
            entries: self.entries,
            front: self.front,
            back: self.back,
        }
    }
}

impl<E> core::fmt::Debug for Iter<'_, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Iter")
            .field("front", &self.front)
            .field("back", &self.back)
            .finish_non_exhaustive()
    }
}

impl<'a, E: Entry> Iterator for Iter<'a, E> {
    type Item = &'a E;
    fn next(&mut self) -> Option<&'a E> {
        if self.front >= self.back {
            return None;
        }
        let e = self.entries.get(self.front);
        self.front = self.front.saturating_add(1);
        e
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back.saturating_sub(self.front);
        (n, Some(n))
    }
}

impl<'a, E: Entry> DoubleEndedIterator for Iter<'a, E> {
    fn next_back(&mut self) -> Option<&'a E> {
        if self.front >= self.back {
            return None;
        }
        self.back = self.back.saturating_sub(1);
        self.entries.get(self.back)
    }
}

impl<E: Entry> ExactSizeIterator for Iter<'_, E> {}
impl<E: Entry> FusedIterator for Iter<'_, E> {}

/// A decoded, fully validated record of entries `E`.
///
/// Every check has passed when a `Record` exists: its accessors cannot fail.
pub struct Record<'a, E> {
    header: &'a RecordHeader,
    bytes: &'a [u8],
    entries: Entries<'a, E>,
    /// The version whose rules the record was read by: its minor's, or the reader's when the
    /// record is newer.
    version: AbiVersion,
    /// The version of the reader that decoded it.
    reader: AbiVersion,
}

impl<E> Clone for Record<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for Record<'_, E> {}

impl<E> core::fmt::Debug for Record<'_, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Record")
            .field("header", self.header)
            .field("entries", &self.entries)
            .field("version", &self.version)
            .finish()
    }
}

impl<'a, E: Entry> Record<'a, E> {
    /// Size in bytes of a record `version` writes with room for `capacity` entries, or `None`
    /// when it would not fit the `u32` length field.
    pub fn len_for(version: AbiVersion, capacity: Capacity) -> Option<usize> {
        let size = u64::from(E::entry_size(version));
        let len = u64::from(capacity.get()).checked_mul(size)?;
        let len = len.checked_add(HEADER_LEN as u64)?;
        // A record's length is a u32 field; a u32 fits the usize of every supported target.
        u32::try_from(len)
            .ok()
            .and_then(|l| usize::try_from(l).ok())
    }

    /// Validates `bytes`, which must be exactly one record holding a whole table, as the
    /// newest reader ([`AbiVersion::NEWEST`]), and returns a view of it.
    ///
    /// The input is only read, at any alignment. Nothing is copied. The checks run in the
    /// order SPEC.md gives; the first failure is returned. A block of a chained table is
    /// refused ([`ChainFault::NeedsMemory`]): decode it as a [`Table`](crate::table::Table).
    ///
    /// # Errors
    ///
    /// The first of these, in this order:
    /// - [`DecodeError::NoRecord`]: empty input or a zero magic; [`DecodeError::TooShort`]: the input ends
    ///   before the header or the record does; [`DecodeError::BadMagic`]: another kind's magic;
    /// - [`DecodeError::UnsupportedMajor`]; [`DecodeError::HeaderSize`] and [`DecodeError::EntrySize`]: sizes
    ///   the record's version does not define;
    /// - [`DecodeError::OverMaximum`] with [`Field::EntryCount`]: more entries in use than slots;
    /// - [`DecodeError::Inconsistent`] with [`Field::RecordLength`] (`record_len` against the
    ///   sizes) or [`Field::InputLength`] (the input is longer than `record_len`);
    /// - [`DecodeError::Checksum`]; [`DecodeError::UnsupportedFeatures`]: unknown incompatible bits;
    /// - [`DecodeError::Reserved`]: a non-zero reserved header byte or unused slot;
    /// - [`DecodeError::Entry`]: the first invalid entry, with its index and offset;
    /// - [`DecodeError::Inconsistent`] with [`Field::RoCompat`]: the read-only-compatible bits do not
    ///   match what the entries use;
    /// - [`DecodeError::Chain`] with [`ChainFault::NeedsMemory`]: a block of a chained table.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        Self::decode_as(bytes, AbiVersion::NEWEST)
    }

    /// [`Record::decode`] as a reader of `reader` would: with the sizes, fields and feature
    /// bits that version knows. A writer checks with it that a kernel of an older version
    /// will read what it wrote for it (rollback).
    ///
    /// # Errors
    ///
    /// As [`Record::decode`].
    pub fn decode_as(bytes: &'a [u8], reader: AbiVersion) -> Result<Self, DecodeError> {
        let record = Self::decode_block(bytes, reader)?;
        if record.header.link().is_some() {
            return Err(DecodeError::Chain {
                kind: E::KIND,
                fault: ChainFault::NeedsMemory,
            });
        }
        Ok(record)
    }

    /// Every check of [`Record::decode_as`], but a block of a chain is accepted.
    pub(crate) fn decode_block(bytes: &'a [u8], reader: AbiVersion) -> Result<Self, DecodeError> {
        let kind = E::KIND;
        let layout = header::check(bytes, kind, reader)?;
        let table = layout.record.get(layout.header_len..).unwrap_or(&[]);
        let entries: Entries<'a, E> = Entries {
            bytes: table,
            stride: layout.stride,
            len: layout.count,
            _entry: PhantomData,
        };
        // The entries: a one-pass check without a branch per entry, for a record whose minor
        // the reader knows (a newer minor's takes the exact walk); the exact walk then runs
        // only to name the first bad entry.
        let vouched = match E::SCAN {
            Some(check) if !layout.newer => {
                let mut state = Scan::new(u64::MAX);
                // `count` slots fit the record: `layout` checked its length.
                check(&mut state, table, layout.count, layout.stride);
                state.result()
            }
            _ => None,
        };
        let implied = match vouched {
            Some(implied) => implied,
            None => check_each(&entries, &layout, kind)?,
        };
        // The read-only-compatible bits this reader knows say exactly what the entries use.
        let known = E::known_features(layout.version).ro_compat;
        let stored = layout.header.features().ro_compat & known;
        if stored != implied {
            return Err(DecodeError::Inconsistent {
                kind,
                field: Field::RoCompat,
                expected: u64::from(implied.bits()),
                found: u64::from(stored.bits()),
            });
        }
        Ok(Record {
            header: layout.header,
            bytes: layout.record,
            entries,
            version: layout.version,
            reader,
        })
    }

    /// A record whose bytes were validated before (a block of a validated chain, read again):
    /// the structural checks only, O(1). Accessors stay in bounds whatever the bytes are.
    pub(crate) fn revisit(bytes: &'a [u8], reader: AbiVersion) -> Option<Self> {
        let layout = header::layout(bytes, E::KIND, reader).ok()?;
        Some(Record {
            header: layout.header,
            bytes: layout.record,
            entries: Entries {
                bytes: layout.record.get(layout.header_len..).unwrap_or(&[]),
                stride: layout.stride,
                len: layout.count,
                _entry: PhantomData,
            },
            version: layout.version,
            reader,
        })
    }

    /// Writes a record of `version` holding a whole table into `out`: the header, `entries`
    /// in the order given, and zeroes up to `capacity` slots; then the CRC. Returns the length
    /// written, which is [`Record::len_for`]`(version, capacity)`. O(number of entries +
    /// capacity).
    ///
    /// The version is always explicit: a kernel writes what the kernel it hands over to reads
    /// (an older one, on rollback), never silently the newest. A table that may not fit one
    /// record is written with [`Table::encode`](crate::table::Table::encode).
    ///
    /// Each entry is checked as the decoder would check it, so the output always decodes to
    /// the same entries. On error the contents of `out` are unspecified.
    ///
    /// # Errors
    ///
    /// [`EncodeError::BufferTooSmall`] naming the size needed, [`EncodeError::CapacityExceeded`],
    /// [`EncodeError::CapacityTooLarge`] for a capacity whose record would not fit a `u32`
    /// length, [`EncodeError::Entry`] for an invalid entry, and [`EncodeError::Unfit`] for an
    /// entry `version` cannot express.
    pub fn encode<I>(out: &mut [u8], encoding: Encoding, entries: I) -> Result<usize, EncodeError>
    where
        I: IntoIterator,
        I::Item: Into<E::Item>,
    {
        let mut items = entries.into_iter().map(Into::into).peekable();
        let block = Block {
            version: encoding.version,
            generation: encoding.generation,
            capacity: encoding.capacity.get(),
            link: None,
        };
        let written = block.write::<E, _>(out, &mut items, None)?;
        Ok(written.len)
    }

    /// The header.
    pub fn header(&self) -> &'a RecordHeader {
        self.header
    }

    /// The live-update sequence number this record belongs to.
    pub fn generation(&self) -> Generation {
        self.header.generation()
    }

    /// Whether the reader that decoded the record may rewrite it.
    pub fn access(&self) -> Access {
        self.header.access_for(E::known_features(self.version))
    }

    /// The version whose rules the record was read by: the one of its minor, or the reader's
    /// when the record is newer than the reader.
    pub fn version(&self) -> AbiVersion {
        self.version
    }

    /// The version of the reader that decoded the record.
    pub fn reader(&self) -> AbiVersion {
        self.reader
    }

    /// The entries in use.
    pub fn entries(&self) -> Entries<'a, E> {
        self.entries
    }

    /// Entry `index` with every field the record holds (for PCI, the identity and flags of
    /// minor 1; `None` for what a minor 0 record lacks).
    pub fn item(&self, index: usize) -> Option<E::Item> {
        let entry = self.entries.get(index)?;
        let ext = match E::ext_len(self.version) {
            0 => None,
            len => Some(self.entries.slot(index, size_of::<E>(), len)?),
        };
        Some(E::join(entry, ext))
    }

    /// The record's bytes, exactly `record_len` of them.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Checks every entry in order and returns the first fault, with its index and offset; returns
/// the read-only-compatible features the entries use.
fn check_each<E: Entry>(
    entries: &Entries<'_, E>,
    layout: &header::Layout<'_>,
    kind: RecordKind,
) -> Result<RoCompatFeatures, DecodeError> {
    let ext_len = E::ext_len(layout.version);
    let mut implied = RoCompatFeatures::empty();
    let mut prev: Option<&E> = None;
    let mut offset = layout.header_len;
    for (index, entry) in entries.iter().enumerate() {
        let fault = |fault| entry_error(kind, index, offset, fault);
        entry.check(prev, layout.newer).map_err(fault)?;
        if let Some(ext) = entries.slot(index, size_of::<E>(), ext_len) {
            implied |= E::check_ext(ext, layout.newer).map_err(fault)?;
        }
        prev = Some(entry);
        offset = offset.saturating_add(layout.stride);
    }
    Ok(implied)
}

/// How to write one record (block).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
    pub version: AbiVersion,
    pub generation: Generation,
    pub capacity: u32,
    /// For a block of a chain: its index, and the address of the next block, used when
    /// entries remain after this one is full (0: there is none).
    pub link: Option<Link>,
}

/// What [`Block::write`] wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockWritten<E> {
    /// The record's length.
    pub len: usize,
    /// Its CRC.
    pub crc: u32,
    /// Entries written.
    pub count: u32,
    /// Its last entry, to order the next block's first against.
    pub last: Option<E>,
    /// Whether entries remain (written by the next block).
    pub more: bool,
}

impl Block {
    /// Writes entries from `items` into a record in `out`, up to the capacity. A block of a
    /// chain links to `link.next` when entries remain; a lone record refuses them. `prev` is
    /// the last entry of the previous block.
    pub(crate) fn write<E: Entry, I: Iterator<Item = E::Item>>(
        &self,
        out: &mut [u8],
        items: &mut Peekable<I>,
        prev: Option<E>,
    ) -> Result<BlockWritten<E>, EncodeError> {
        let kind = E::KIND;
        let version = self.version;
        let size = usize::from(E::entry_size(version));
        let record_len = record_len::<E>(version, self.capacity)?;
        let found = out.len();
        let out = out
            .get_mut(..record_len)
            .ok_or(EncodeError::BufferTooSmall {
                kind,
                needed: record_len as u64,
                found: found as u64,
            })?;
        let (head, table) = out.split_at_mut(HEADER_LEN);
        head.fill(0);
        // One pass: a chunk of slots written from the items, then, while it is in the cache,
        // its CRC (of the table alone, from a zero register; the header's is combined with it
        // at the end, when the header is known) and the kind's one-pass check of its entries.
        // The exact walk, which names the first bad entry, runs only when that check finds one.
        let mut scan = Scan::new(prev.as_ref().map_or(u64::MAX, Sealed::scan_key));
        if E::SCAN.is_none() {
            scan.nz = 1;
        }
        let chunk_len = CHUNK
            .checked_div(size)
            .unwrap_or(1)
            .max(1)
            .saturating_mul(size);
        let Filled {
            crc_len,
            state,
            count,
            last,
            unfit,
        } = self.fill::<E, I>(table, items, prev, chunk_len, &mut scan);
        // The slots after the last chunk written: zero, and their CRC without reading them.
        if let Some(rest) = table.get_mut(crc_len..) {
            rest.fill(0);
        }
        // The zero slots after the last chunk written: their CRC without reading them.
        let state = crc_zeros(state, table.len().saturating_sub(crc_len));
        let used_len = (count as usize).saturating_mul(size);
        let used: &[u8] = table.get(..used_len).unwrap_or(&[]);
        // An entry's fault comes before a later item's refusal, as when each item was
        // checked as it was written.
        let ro_compat = match scan.result() {
            Some(implied) => implied,
            None => walk_written::<E>(used, size, prev.as_ref(), version)?,
        };
        if let Some(error) = unfit {
            return Err(error);
        }
        let prev = last;
        let more = items.peek().is_some();
        let link = match self.link {
            None if more => {
                return Err(EncodeError::CapacityExceeded {
                    kind,
                    capacity: self.capacity,
                });
            }
            None => None,
            Some(link) if !more => Some(Link { next: 0, ..link }),
            Some(link) => Some(link),
        };
        // A chain of one block is a plain record: readers of every version read it.
        let link = link.filter(|l| l.index > 0 || l.next != 0);
        // record_len <= u32::MAX was checked by len_for; sizes are far below u16::MAX.
        #[allow(clippy::cast_possible_truncation)]
        let written = header::Written {
            version,
            entry_size: size as u16,
            count,
            capacity: self.capacity,
            record_len: record_len as u32,
            generation: self.generation,
            ro_compat,
            link,
        };
        header::write(head, kind, &written);
        // CRC(header ++ table) from the header's register and the table's: the header's
        // advanced over as many zero bytes as the table has, xor the table's from zero.
        // The header's CRC field is still zero here.
        let crc = !(crc_zeros(update(!0, head), table.len()) ^ state);
        if let Some(field) = out.get_mut(CRC_OFFSET..CRC_OFFSET + 4) {
            field.copy_from_slice(&crc.to_le_bytes());
        }
        Ok(BlockWritten {
            len: record_len,
            crc,
            count,
            last: prev,
            more,
        })
    }
    /// [`Block::write`]'s one pass over `table`: slots written from `items`, chunk by chunk,
    /// each chunk then checksummed (the table's CRC register, from zero) and its entries
    /// checked (`scan`) while in the cache. Stops at the first item `version` cannot express,
    /// or when the items or the slots run out; the chunks not reached are left as they are.
    fn fill<E: Entry, I: Iterator<Item = E::Item>>(
        &self,
        table: &mut [u8],
        items: &mut Peekable<I>,
        prev: Option<E>,
        chunk_len: usize,
        scan: &mut Scan,
    ) -> Filled<E> {
        let (kind, version) = (E::KIND, self.version);
        let size = usize::from(E::entry_size(version));
        let mut state = 0u32;
        let mut crc_len = 0usize;
        let mut count: u32 = 0;
        let mut unfit = None;
        while crc_len < table.len() {
            let chunk_start = crc_len;
            let chunk_end = chunk_start.saturating_add(chunk_len).min(table.len());
            let Some(chunk) = table.get_mut(chunk_start..chunk_end) else {
                break;
            };
            let from = count as usize;
            let mut done = false;
            for slot in chunk.chunks_exact_mut(size.max(1)) {
                let Some(item) = items.next() else {
                    done = true;
                    break;
                };
                let (head_bytes, ext) = slot.split_at_mut(size_of::<E>().min(slot.len()));
                match E::split(&item, count, ext, version) {
                    Ok(entry) => head_bytes.copy_from_slice(entry.as_bytes()),
                    Err(what) => {
                        unfit = Some(EncodeError::Unfit {
                            kind,
                            version,
                            what,
                        });
                        done = true;
                        break;
                    }
                }
                count = count.saturating_add(1);
            }
            let filled = (count as usize).saturating_sub(from).saturating_mul(size);
            if let Some(unused) = chunk.get_mut(filled..) {
                unused.fill(0);
            }
            state = update(state, chunk);
            crc_len = crc_len.saturating_add(chunk.len());
            if let Some(check) = E::SCAN {
                let written = table.get(chunk_start..).unwrap_or(&[]);
                check(scan, written, (count as usize).saturating_sub(from), size);
            }
            if done {
                break;
            }
        }
        // The last entry written, read back (or the previous block's when none was).
        let last = (count as usize)
            .checked_sub(1)
            .and_then(|i| table.get(i.saturating_mul(size)..))
            .and_then(|slot| E::read_from_prefix(slot).ok())
            .map(|(entry, _)| entry)
            .or(prev);
        Filled {
            crc_len,
            state,
            count,
            last,
            unfit,
        }
    }
}

/// What [`Block::fill`] wrote.
struct Filled<E> {
    /// Bytes of table written (whole chunks) and checksummed.
    crc_len: usize,
    /// The CRC register over them, from zero.
    state: u32,
    /// Entries written.
    count: u32,
    /// The last entry written (or the previous block's).
    last: Option<E>,
    /// The refusal of the item after them, if that is why it stopped.
    unfit: Option<EncodeError>,
}

/// The exact walk over the slots of `size` bytes just written (`used`), the first of them
/// after `prev` (the previous block's last entry): the first invalid entry, named, or the
/// read-only-compatible features the entries use.
fn walk_written<E: Entry>(
    used: &[u8],
    size: usize,
    prev: Option<&E>,
    version: AbiVersion,
) -> Result<RoCompatFeatures, EncodeError> {
    let kind = E::KIND;
    let ext_len = E::ext_len(version);
    let mut implied = RoCompatFeatures::empty();
    let mut prev = prev.copied();
    for (index, slot) in used.chunks_exact(size).enumerate() {
        let offset = index.saturating_mul(size).saturating_add(HEADER_LEN);
        let fault = |fault| EncodeError::Entry {
            kind,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            offset: offset as u64,
            fault,
        };
        let Ok((entry, ext)) = E::read_from_prefix(slot) else {
            break;
        };
        entry.check(prev.as_ref(), false).map_err(fault)?;
        if ext_len > 0 {
            implied |= E::check_ext(ext, false).map_err(fault)?;
        }
        prev = Some(entry);
    }
    Ok(implied)
}

/// The length of a record of `version` with `capacity` slots, or the error of a capacity
/// whose record would not fit a `u32` length.
pub(crate) fn record_len<E: Entry>(
    version: AbiVersion,
    capacity: u32,
) -> Result<usize, EncodeError> {
    let size = E::entry_size(version);
    Record::<E>::len_for(version, Capacity::new(capacity)).ok_or(EncodeError::CapacityTooLarge {
        kind: E::KIND,
        max: (u64::from(u32::MAX) - HEADER_LEN as u64) / u64::from(size),
        found: u64::from(capacity),
    })
}

/// The reflected CRC-32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// `a * b` modulo the CRC polynomial, both in the reflected representation (bit 31 is the
/// coefficient of x^0), without a branch on the data.
const fn mul_mod(a: u32, b: u32) -> u32 {
    let (mut product, mut b, mut i) = (0u32, b, 0u32);
    while i < 32 {
        product ^= b & 0u32.wrapping_sub((a >> (31 - i)) & 1);
        b = (b >> 1) ^ (POLY & 0u32.wrapping_sub(b & 1));
        i += 1;
    }
    product
}

/// `x^(2^k)` modulo the polynomial, for every `k` a byte count's bit needs (`k` = 3 + bit).
// Evaluated at compile time: an index out of bounds would not compile.
#[allow(clippy::indexing_slicing)]
const X2N: [u32; 72] = {
    let mut table = [0u32; 72];
    // x^1.
    table[0] = 1 << 30;
    let mut k = 1;
    while k < table.len() {
        table[k] = mul_mod(table[k - 1], table[k - 1]);
        k += 1;
    }
    table
};

/// The raw CRC register `state` advanced over `len` zero bytes, without reading them: the
/// register times x^(8 len), O(log len). With it the CRC of `a ++ b` is
/// `crc_zeros(update(s, a), b.len()) ^ update(0, b)`, the register being linear.
fn crc_zeros(state: u32, len: usize) -> u32 {
    let (mut state, mut len, mut k) = (state, len, 3usize);
    while len != 0 {
        if len & 1 != 0 {
            state = mul_mod(X2N.get(k).copied().unwrap_or(0), state);
        }
        len >>= 1;
        k = k.saturating_add(1);
    }
    state
}

fn entry_error(kind: RecordKind, index: usize, offset: usize, fault: EntryFault) -> DecodeError {
    DecodeError::Entry {
        kind,
        index: u32::try_from(index).unwrap_or(u32::MAX),
        offset: offset as u64,
        fault,
    }
}

#[cfg(test)]
mod crc_tests {
    use super::*;

    /// Advancing the register over zero bytes without reading them is the engine's update over
    /// them, for every length up to a few KiB and a few larger ones, and the combination of a
    /// header's register with a table's (from zero) is the CRC of both.
    #[test]
    fn crc_zeros_is_update_over_zeros() {
        extern crate std;
        let zeros = std::vec![0u8; 70_000];
        for state in [!0u32, 0, 1, 0x1234_5678, 0x8000_0000] {
            for len in (0..=4100).chain([8191, 12_288, 65_535, 70_000]) {
                assert_eq!(
                    crc_zeros(state, len),
                    update(state, &zeros[..len]),
                    "{state:#x} {len}"
                );
            }
        }
        let bytes: std::vec::Vec<u8> = (0..5000u32)
            .map(|i| (i * 7 + i / 251).to_le_bytes()[0])
            .collect();
        for cut in [0, 1, 63, 64, 1000, 4999, 5000] {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(
                crc_zeros(update(!0, a), b.len()) ^ update(0, b),
                update(!0, &bytes)
            );
        }
    }
}
