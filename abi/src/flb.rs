//! The FLB table: one entry per File-Lifecycle-Bound global object, sorted by name.

use core::mem::{offset_of, size_of};

use bitflags::bitflags;
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::{EntryFault, Unfit};
use crate::header::{Features, IncompatFeatures};
use crate::kind::RecordKind;
use crate::record::{Entry, Record, Sealed};
use crate::table::Table;
use crate::version::AbiVersion;

/// A decoded FLB table.
pub type FlbTable<'a> = Record<'a, FlbEntry>;

/// Bytes of the name field, NUL terminator included; names hold at most 47 characters.
pub const NAME_LEN: usize = 48;

bitflags! {
    /// Flags of an FLB entry.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct FlbFlags: u32 {
        /// `data` is the physical address of KHO-preserved memory that the FLB owns, so a
        /// kernel that finds the entry unclaimed may free it.
        const DATA_IS_PHYS = 1 << 0;
    }
}

/// One FLB. 72 bytes, little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 48 | `name` — compatible string: printable ASCII, NUL-terminated, zero-padded |
/// | 48 | 8 | `data` — the handle `preserve` returned |
/// | 56 | 8 | `file_count` — preserved files depending on it, at least 1 |
/// | 64 | 4 | `flags` ([`FlbFlags`]) |
/// | 68 | 4 | reserved, zero |
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct FlbEntry {
    name: [u8; NAME_LEN],
    data: U64,
    file_count: U64,
    flags: U32,
    reserved: U32,
}

const _: () = {
    assert!(size_of::<FlbEntry>() == 72);
    assert!(offset_of!(FlbEntry, name) == 0);
    assert!(offset_of!(FlbEntry, data) == 48);
    assert!(offset_of!(FlbEntry, file_count) == 56);
    assert!(offset_of!(FlbEntry, flags) == 64);
    assert!(offset_of!(FlbEntry, reserved) == 68);
};

/// Checks a name field: printable ASCII, non-empty, NUL-terminated, zero after the NUL.
/// Returns the name's length.
///
/// One pass builds two bit masks (bit `i` for byte `i`): the NULs and the bytes that are not
/// printable. The faults are read off the masks in the order a byte-by-byte walk finds them
/// (unterminated, empty, not printable, padding). Compact, branch-free code: this sits in every
/// FLB decoder's code-size budget, where three early-exit scans took three times the bytes.
pub(crate) fn check_name(name: &[u8; NAME_LEN]) -> Result<usize, EntryFault> {
    let (mut nul, mut unprintable) = (0u64, 0u64);
    for (i, &b) in name.iter().enumerate() {
        nul |= u64::from(b == 0) << i;
        unprintable |= u64::from(!b.is_ascii_graphic()) << i;
    }
    // The first NUL; 64 when there is none (only the low 48 bits can be set).
    let len = nul.trailing_zeros();
    if len >= 64 {
        return Err(EntryFault::NameUnterminated);
    }
    if len == 0 {
        return Err(EntryFault::NameEmpty);
    }
    // The bytes before the first NUL (len < 48: the shift does not overflow).
    let text = (1u64 << len) - 1;
    let bad = unprintable & text;
    if bad != 0 {
        // at < len < NAME_LEN = 48.
        #[allow(clippy::cast_possible_truncation)]
        return Err(EntryFault::NameNotPrintable {
            at: bad.trailing_zeros() as u8,
        });
    }
    // After the first NUL, every byte is a NUL.
    let field = (1u64 << NAME_LEN) - 1;
    if !nul & field & !text != 0 {
        return Err(EntryFault::NamePadding);
    }
    Ok(len as usize)
}

impl FlbEntry {
    /// Size of an FLB entry, the same at every minor (72).
    // 72: far below u16::MAX.
    #[allow(clippy::cast_possible_truncation)]
    pub const SIZE: u16 = size_of::<FlbEntry>() as u16;

    /// An entry for the FLB `name` (printable ASCII, 1 to 47 bytes).
    ///
    /// # Errors
    ///
    /// The name's fault: [`EntryFault::NameEmpty`], [`EntryFault::NameUnterminated`] (too
    /// long) or [`EntryFault::NameNotPrintable`].
    pub fn new(
        name: &str,
        data: u64,
        file_count: u64,
        flags: FlbFlags,
    ) -> Result<FlbEntry, EntryFault> {
        let mut field = [0u8; NAME_LEN];
        let bytes = name.as_bytes();
        field
            .get_mut(..bytes.len())
            .filter(|_| bytes.len() < NAME_LEN)
            .ok_or(EntryFault::NameUnterminated)?
            .copy_from_slice(bytes);
        // Every byte of `name`, a NUL included, must be printable: "a\0" is not the name "a".
        if let Some(at) = bytes.iter().position(|b| !b.is_ascii_graphic()) {
            return Err(EntryFault::NameNotPrintable {
                at: u8::try_from(at).unwrap_or(u8::MAX),
            });
        }
        check_name(&field)?;
        Ok(FlbEntry {
            name: field,
            data: U64::new(data),
            file_count: U64::new(file_count),
            flags: U32::new(flags.bits()),
            reserved: U32::ZERO,
        })
    }

    /// The compatible name. Entries of a decoded table always have a valid one; for bytes that
    /// were never validated this is `""`.
    pub fn name(&self) -> &str {
        check_name(&self.name)
            .ok()
            .and_then(|len| self.name.get(..len))
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The raw name field.
    pub fn name_field(&self) -> &[u8; NAME_LEN] {
        &self.name
    }

    /// The data handle `preserve` returned.
    pub fn data(&self) -> u64 {
        self.data.get()
    }

    /// Preserved files depending on this FLB when the table was written.
    pub fn file_count(&self) -> u64 {
        self.file_count.get()
    }

    /// The flags; bits unknown to this version are kept (a newer minor may define them).
    pub fn flags(&self) -> FlbFlags {
        FlbFlags::from_bits_retain(self.flags.get())
    }
}

impl Sealed for FlbEntry {
    fn split(item: &FlbEntry, _: u32, _: &mut [u8], _: AbiVersion) -> Result<FlbEntry, Unfit> {
        Ok(*item)
    }

    fn join(entry: &FlbEntry, _: Option<&[u8]>) -> FlbEntry {
        *entry
    }
}

impl Entry for FlbEntry {
    type Item = FlbEntry;
    const KIND: RecordKind = RecordKind::FlbTable;

    fn entry_size(_version: AbiVersion) -> u16 {
        FlbEntry::SIZE
    }

    /// Minor 1 defines `CHAINED`.
    fn known_features(version: AbiVersion) -> Features {
        match version {
            AbiVersion::V1_0 => Features::NONE,
            AbiVersion::V1_1 => Features {
                incompat: IncompatFeatures::CHAINED,
                ..Features::NONE
            },
        }
    }

    fn check(&self, prev: Option<&Self>, newer: bool) -> Result<(), EntryFault> {
        check_name(&self.name)?;
        if self.file_count() == 0 {
            return Err(EntryFault::ZeroFileCount);
        }
        if !newer {
            let unknown = self.flags.get() & !FlbFlags::all().bits();
            if unknown != 0 {
                return Err(EntryFault::UnknownFlags { bits: unknown });
            }
            if self.reserved.get() != 0 {
                return Err(EntryFault::Reserved);
            }
        }
        match prev.map(|p| p.name.cmp(&self.name)) {
            Some(core::cmp::Ordering::Equal) => Err(EntryFault::DuplicateName),
            Some(core::cmp::Ordering::Greater) => Err(EntryFault::OutOfOrder),
            _ => Ok(()),
        }
    }
}

impl<'a> Record<'a, FlbEntry> {
    /// The entry named `name`, by binary search: O(log n).
    pub fn find(&self, name: &str) -> Option<&'a FlbEntry> {
        let mut key = [0u8; NAME_LEN];
        key.get_mut(..name.len())
            .filter(|_| name.len() < NAME_LEN)?
            .copy_from_slice(name.as_bytes());
        // Only a valid name can match: "a\0" must not find the entry "a".
        if check_name(&key).ok()? != name.len() {
            return None;
        }
        let entries = self.entries();
        entries.get(entries.binary_search_by(|e| e.name.cmp(&key))?)
    }
}

impl<'m> Table<'m, FlbEntry> {
    /// The entry named `name`: O(blocks + log n).
    pub fn find(&self, name: &str) -> Option<&'m FlbEntry> {
        // Zero-padded fields in `memcmp` order sort as the names do.
        self.block_for(|e| e.name().as_bytes() < name.as_bytes())?
            .find(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `check_name` as a byte walk: the definition the bit-mask version must agree with.
    fn walk(name: &[u8; NAME_LEN]) -> Result<usize, EntryFault> {
        let len = name
            .iter()
            .position(|&b| b == 0)
            .ok_or(EntryFault::NameUnterminated)?;
        if len == 0 {
            return Err(EntryFault::NameEmpty);
        }
        let (text, pad) = name.split_at(len);
        if let Some(at) = text.iter().position(|b| !b.is_ascii_graphic()) {
            return Err(EntryFault::NameNotPrintable {
                at: u8::try_from(at).unwrap(),
            });
        }
        if pad.iter().any(|&b| b != 0) {
            return Err(EntryFault::NamePadding);
        }
        Ok(len)
    }

    /// Bytes on each side of every class boundary: NUL, controls, space, printable, DEL, high.
    const EDGES: [u8; 10] = [0, 1, 0x1F, b' ', b'!', b'a', b'~', 0x7F, 0x80, 0xFF];

    #[test]
    fn check_name_agrees_with_the_byte_walk_on_every_edge() {
        // A valid name of every length, then one edge byte at every position of it.
        for len in 0..=NAME_LEN {
            let mut name = [0u8; NAME_LEN];
            name[..len].fill(b'n');
            assert_eq!(check_name(&name), walk(&name), "len {len}");
            for at in 0..NAME_LEN {
                for b in EDGES {
                    let mut bad = name;
                    bad[at] = b;
                    assert_eq!(check_name(&bad), walk(&bad), "len {len} byte {b} at {at}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn check_name_agrees_with_the_byte_walk(
            picks in proptest::collection::vec(0..EDGES.len(), NAME_LEN),
            nul in 0..=NAME_LEN,
        ) {
            let mut name = [0u8; NAME_LEN];
            for (b, &i) in name.iter_mut().zip(&picks) {
                *b = EDGES[i];
            }
            if let Some(b) = name.get_mut(nul) {
                *b = 0;
            }
            prop_assert_eq!(check_name(&name), walk(&name));
        }
    }
}
