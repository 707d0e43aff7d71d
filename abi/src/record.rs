//! The generic record: one header, then a table of fixed-size entries.
//!
//! Parsing is separate from building: [`Record::decode`] borrows validated bytes and hands
//! out views; [`Record::encode`] writes a fresh record into a caller's buffer. Both run the
//! same per-entry checks ([`Entry::check`]), so whatever encodes also decodes.

use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::checksum::record_crc;
use crate::error::{EntryFault, Error, Field};
use crate::header::{self, Access, CRC_OFFSET, HEADER_LEN, RecordHeader};
use crate::kind::RecordKind;

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// An entry type of a record kind. Implemented by this crate's entry types only.
pub trait Entry:
    FromBytes + IntoBytes + KnownLayout + Immutable + Unaligned + Copy + Sealed
{
    /// The record kind whose table holds this entry type.
    const KIND: RecordKind;

    /// Checks one entry, given the entry before it (`None` for the first).
    ///
    /// `newer` is true when the record has a newer minor than this crate: fields and flag bits
    /// that a newer minor may define are then not required to be zero.
    ///
    /// # Errors
    ///
    /// The first fault found.
    fn check(&self, prev: Option<&Self>, newer: bool) -> Result<(), EntryFault>;

    /// Whether every entry of a packed table passes [`Entry::check`]: a fast whole-table
    /// pass that may answer `false` for a valid table (then the decoder checks entry by entry,
    /// which also names the first fault), but never `true` for an invalid one.
    fn all_valid(entries: &[Self], newer: bool) -> bool {
        let _ = (entries, newer);
        false
    }
}

/// Entry size this version defines for `kind`.
pub(crate) const fn known_entry_size(kind: RecordKind) -> u16 {
    // Every entry type is asserted, at compile time, to be far below u16::MAX.
    #[allow(clippy::cast_possible_truncation)]
    match kind {
        RecordKind::Root => size_of::<crate::root::DirEntry>() as u16,
        RecordKind::FlbTable => size_of::<crate::flb::FlbEntry>() as u16,
        RecordKind::PciTable => size_of::<crate::pci::PciEntry>() as u16,
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

    /// The entries as a slice, when they are packed (`entry_size` is the size this version
    /// defines, as in every record this version writes). `None` for a newer minor's wider
    /// entries: use [`Entries::iter`] or [`Entries::get`] then.
    pub fn as_slice(&self) -> Option<&'a [E]> {
        if self.stride != size_of::<E>() {
            return None;
        }
        let bytes = self.bytes.get(..self.len.checked_mul(self.stride)?)?;
        <[E]>::ref_from_bytes(bytes).ok()
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

/// Iterator over [`Entries`].
pub struct Iter<'a, E> {
    entries: Entries<'a, E>,
    front: usize,
    back: usize,
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
            .finish()
    }
}

impl<'a, E: Entry> Record<'a, E> {
    /// Size in bytes of a record written by this version with room for `capacity` entries, or
    /// `None` when it would not fit the `u32` length field.
    pub fn len_for(capacity: u32) -> Option<usize> {
        let len = u64::from(capacity)
            .checked_mul(size_of::<E>() as u64)?
            .checked_add(HEADER_LEN as u64)?;
        if len > u64::from(u32::MAX) {
            return None;
        }
        usize::try_from(len).ok()
    }

    /// Validates `bytes`, which must be exactly one record, and returns a view of it.
    ///
    /// The input is only read, at any alignment. Nothing is copied. The checks run in the
    /// order SPEC.md gives; the first failure is returned.
    ///
    /// # Errors
    ///
    /// Any [`Error`] but [`Error::Generation`], [`Error::Directory`], [`Error::ReadOnly`],
    /// [`Error::BufferTooSmall`] and [`Error::CapacityExceeded`].
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        let kind = E::KIND;
        let layout = header::check(bytes, kind, known_entry_size(kind))?;
        let table = layout.record.get(layout.header_len..).unwrap_or(&[]);
        let entries: Entries<'a, E> = Entries {
            bytes: table,
            stride: layout.stride,
            len: layout.count,
            _entry: PhantomData,
        };
        // Packed entries (every record this version writes): a whole-table check first, which
        // vectorises; the exact walk below then runs only to name the first bad entry.
        let vouched = entries
            .as_slice()
            .is_some_and(|slice| E::all_valid(slice, layout.newer));
        if !vouched {
            check_each(&entries, table, &layout, kind)?;
        }
        Ok(Record {
            header: layout.header,
            bytes: layout.record,
            entries,
        })
    }

    /// Writes a record of this version into `out`: the header, `entries` in the order given,
    /// and zeroes up to `capacity` slots; then the CRC. Returns the length written, which is
    /// [`Record::len_for`]`(capacity)`. O(number of entries + capacity).
    ///
    /// Each entry is checked as the decoder would check it, so the output always decodes to
    /// the same entries. On error the contents of `out` are unspecified.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] naming the size needed, [`Error::CapacityExceeded`],
    /// [`Error::Inconsistent`] with [`Field::Capacity`] for a capacity whose record would not
    /// fit a `u32` length, and [`Error::Entry`] for an invalid entry.
    pub fn encode<I>(
        out: &mut [u8],
        generation: u64,
        capacity: u32,
        entries: I,
    ) -> Result<usize, Error>
    where
        I: IntoIterator<Item = E>,
    {
        let kind = E::KIND;
        let size = size_of::<E>();
        let record_len = Self::len_for(capacity).ok_or(Error::Inconsistent {
            kind,
            field: Field::Capacity,
            expected: (u64::from(u32::MAX) - HEADER_LEN as u64) / size as u64,
            found: u64::from(capacity),
        })?;
        let found = out.len();
        let out = out.get_mut(..record_len).ok_or(Error::BufferTooSmall {
            kind,
            needed: record_len as u64,
            found: found as u64,
        })?;
        out.fill(0);
        let (head, table) = out.split_at_mut(HEADER_LEN);
        let mut slots = table.chunks_exact_mut(size);
        let mut count: u32 = 0;
        let mut prev: Option<E> = None;
        for entry in entries {
            let index = count as usize;
            let offset = index.saturating_mul(size).saturating_add(HEADER_LEN);
            let slot = slots
                .next()
                .ok_or(Error::CapacityExceeded { kind, capacity })?;
            entry
                .check(prev.as_ref(), false)
                .map_err(|fault| entry_error(kind, index, offset, fault))?;
            slot.copy_from_slice(entry.as_bytes());
            prev = Some(entry);
            count = count.saturating_add(1);
        }
        // record_len <= u32::MAX was checked by len_for; size is asserted < u16::MAX.
        #[allow(clippy::cast_possible_truncation)]
        header::write(
            head,
            kind,
            size as u16,
            count,
            capacity,
            record_len as u32,
            generation,
        );
        let crc = record_crc(out);
        if let Some(field) = out.get_mut(CRC_OFFSET..CRC_OFFSET + 4) {
            field.copy_from_slice(&crc.to_le_bytes());
        }
        Ok(record_len)
    }

    /// The header.
    pub fn header(&self) -> &'a RecordHeader {
        self.header
    }

    /// The live-update sequence number this record belongs to.
    pub fn generation(&self) -> u64 {
        self.header.generation()
    }

    /// Whether this reader may rewrite the record.
    pub fn access(&self) -> Access {
        self.header.access()
    }

    /// The entries in use.
    pub fn entries(&self) -> Entries<'a, E> {
        self.entries
    }

    /// The record's bytes, exactly `record_len` of them.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Checks every entry in order and returns the first fault, with its index and offset; and,
/// for a record of this version or older, that no entry has bytes beyond what it defines.
fn check_each<E: Entry>(
    entries: &Entries<'_, E>,
    table: &[u8],
    layout: &header::Layout<'_>,
    kind: RecordKind,
) -> Result<(), Error> {
    let mut prev: Option<&E> = None;
    let mut offset = layout.header_len;
    for (index, entry) in entries.iter().enumerate() {
        entry
            .check(prev, layout.newer)
            .map_err(|fault| entry_error(kind, index, offset, fault))?;
        if !layout.newer {
            // Bytes of a wider entry than this version knows belong to a newer minor.
            let tail = table
                .get(offset.saturating_sub(layout.header_len)..)
                .and_then(|t| t.get(size_of::<E>()..layout.stride))
                .unwrap_or(&[]);
            header::first_nonzero(tail, offset.saturating_add(size_of::<E>()), kind)?;
        }
        prev = Some(entry);
        offset = offset.saturating_add(layout.stride);
    }
    Ok(())
}

fn entry_error(kind: RecordKind, index: usize, offset: usize, fault: EntryFault) -> Error {
    Error::Entry {
        kind,
        index: u32::try_from(index).unwrap_or(u32::MAX),
        offset: offset as u64,
        fault,
    }
}
