//! The root record: the one blob registered under a KHO name, with the live update's
//! generation and a directory of every other record.

use core::mem::{offset_of, size_of};

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::{ChainFault, DecodeError, DirectoryField, EntryFault, Unfit};
use crate::header::{Features, HEADER_LEN};
use crate::kind::RecordKind;
use crate::mem::{PhysAddr, PhysMem};
use crate::record::{Entry, Record, Sealed};
use crate::table::{Table, TableError};
use crate::version::AbiVersion;

/// A decoded root record.
pub type Root<'a> = Record<'a, DirEntry>;

/// The KHO name under which a kernel registers the root record.
pub const KHO_NAME: &str = "liveupdate";

/// A directory entry: where one record lives and what it must hash to. 24 bytes.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | `kind` — the referenced record's magic |
/// | 4 | 4 | `crc` — the referenced record's stored CRC-32C |
/// | 8 | 8 | `phys_addr` — physical address of its first byte |
/// | 16 | 4 | `length` — its `record_len` |
/// | 20 | 4 | reserved, zero |
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct DirEntry {
    kind: U32,
    crc: U32,
    phys_addr: U64,
    length: U32,
    reserved: U32,
}

const _: () = {
    assert!(size_of::<DirEntry>() == 24);
    assert!(offset_of!(DirEntry, kind) == 0);
    assert!(offset_of!(DirEntry, crc) == 4);
    assert!(offset_of!(DirEntry, phys_addr) == 8);
    assert!(offset_of!(DirEntry, length) == 16);
    assert!(offset_of!(DirEntry, reserved) == 20);
};

impl DirEntry {
    /// Size of a directory entry, the same at every minor (24).
    // 24: far below u16::MAX.
    #[allow(clippy::cast_possible_truncation)]
    pub const SIZE: u16 = size_of::<DirEntry>() as u16;

    /// An entry referencing a record of `kind` at `phys_addr`, `length` bytes long, whose
    /// stored CRC is `crc`.
    pub const fn new(kind: RecordKind, phys_addr: PhysAddr, length: u32, crc: u32) -> DirEntry {
        DirEntry {
            kind: U32::new(kind.magic()),
            crc: U32::new(crc),
            phys_addr: U64::new(phys_addr.raw()),
            length: U32::new(length),
            reserved: U32::ZERO,
        }
    }

    /// An entry referencing `record`, placed at `phys_addr`.
    pub fn for_record<E: Entry>(phys_addr: PhysAddr, record: &Record<'_, E>) -> DirEntry {
        DirEntry::new(
            E::KIND,
            phys_addr,
            record.header().record_len(),
            record.header().crc(),
        )
    }

    /// The referenced record's magic.
    pub fn magic(&self) -> u32 {
        self.kind.get()
    }

    /// The referenced record's kind, if this version knows it.
    pub fn kind(&self) -> Option<RecordKind> {
        RecordKind::from_magic(self.kind.get())
    }

    /// The referenced record's stored CRC-32C.
    pub fn crc(&self) -> u32 {
        self.crc.get()
    }

    /// Physical address of the referenced record.
    pub fn phys_addr(&self) -> PhysAddr {
        PhysAddr::new(self.phys_addr.get())
    }

    /// Length of the referenced record in bytes.
    pub fn length(&self) -> u32 {
        self.length.get()
    }
}

impl Sealed for DirEntry {
    fn split(item: &DirEntry, _: u32, _: &mut [u8], _: AbiVersion) -> Result<DirEntry, Unfit> {
        Ok(*item)
    }

    fn join(entry: &DirEntry, _: Option<&[u8]>) -> DirEntry {
        *entry
    }
}

impl Entry for DirEntry {
    type Item = DirEntry;
    const KIND: RecordKind = RecordKind::Root;

    fn entry_size(_version: AbiVersion) -> u16 {
        DirEntry::SIZE
    }

    /// No feature bits at any minor.
    fn known_features(_version: AbiVersion) -> Features {
        Features::NONE
    }

    fn check(&self, prev: Option<&Self>, newer: bool) -> Result<(), EntryFault> {
        if self.magic() == RecordKind::Root.magic() {
            return Err(EntryFault::NestedRoot);
        }
        if (self.length() as usize) < HEADER_LEN {
            return Err(EntryFault::RecordTooSmall {
                length: self.length(),
            });
        }
        if self
            .phys_addr()
            .checked_add(u64::from(self.length()))
            .is_none()
        {
            return Err(EntryFault::AddressOverflow);
        }
        if !newer && self.reserved.get() != 0 {
            return Err(EntryFault::Reserved);
        }
        // Kinds strictly ascending: at most one record of each kind (`find` scans them).
        match prev.map(|p| p.magic().cmp(&self.magic())) {
            Some(core::cmp::Ordering::Equal) => Err(EntryFault::Duplicate),
            Some(core::cmp::Ordering::Greater) => Err(EntryFault::OutOfOrder),
            _ => Ok(()),
        }
    }
}

impl<'a> Record<'a, DirEntry> {
    /// The directory entry for `kind`, if the root references a record of that kind: a linear
    /// scan of the directory, which holds at most one entry per kind (a handful).
    pub fn find(&self, kind: RecordKind) -> Option<&'a DirEntry> {
        self.entries().iter().find(|e| e.magic() == kind.magic())
    }

    /// Decodes `bytes` as the record of kind `E::KIND` that this root references, and checks
    /// it against its directory entry: same length, same stored CRC, same generation. The
    /// record is read as this root was (by the same reader version); a chained table's first
    /// block is refused ([`ChainFault::NeedsMemory`](crate::error::ChainFault)): open it with
    /// [`Record::open_table`].
    ///
    /// # Errors
    ///
    /// [`DecodeError::NoRecord`] when the root references no record of that kind; the decoder's
    /// errors; [`DecodeError::Directory`] naming the field that disagrees; [`DecodeError::Generation`].
    pub fn open<'b, E: Entry>(&self, bytes: &'b [u8]) -> Result<Record<'b, E>, DecodeError> {
        self.check_referenced(bytes, false)
    }

    /// [`Record::open`], accepting the first block of a chain when `chained` is true.
    pub(crate) fn check_referenced<'b, E: Entry>(
        &self,
        bytes: &'b [u8],
        chained: bool,
    ) -> Result<Record<'b, E>, DecodeError> {
        let kind = E::KIND;
        let entry = self.find(kind).ok_or(DecodeError::NoRecord { kind })?;
        if bytes.len() as u64 != u64::from(entry.length()) {
            return Err(DecodeError::Directory {
                kind,
                field: DirectoryField::Length,
                expected: u64::from(entry.length()),
                found: bytes.len() as u64,
            });
        }
        let record = if chained {
            Record::<E>::decode_block(bytes, self.reader())?
        } else {
            Record::<E>::decode_as(bytes, self.reader())?
        };
        if record.header().crc() != entry.crc() {
            return Err(DecodeError::Directory {
                kind,
                field: DirectoryField::Crc,
                expected: u64::from(entry.crc()),
                found: u64::from(record.header().crc()),
            });
        }
        if record.generation() != self.generation() {
            return Err(DecodeError::Generation {
                kind,
                expected: self.generation(),
                found: record.generation(),
            });
        }
        Ok(record)
    }
}

impl Record<'_, DirEntry> {
    /// Opens the table of kind `E::KIND` this root references, reading it through `mem` and
    /// following its chain: the first block is checked against the directory entry (length,
    /// stored CRC, generation), as [`Record::open`] does, and every block is read as this
    /// root was (by the same reader version).
    ///
    /// # Errors
    ///
    /// [`DecodeError::NoRecord`] (block 0, address 0) when the root references no table of that
    /// kind; otherwise as [`Record::open`] and [`Table::decode`].
    pub fn open_table<'m, E: Entry>(
        &self,
        mem: &'m (dyn PhysMem + Sync),
    ) -> Result<Table<'m, E>, TableError> {
        let kind = E::KIND;
        let entry = self
            .find(kind)
            .ok_or(DecodeError::NoRecord { kind })
            .map_err(TableError::at(0, PhysAddr::NULL))?;
        let phys = entry.phys_addr();
        let at0 = TableError::at(0, phys);
        let len = usize::try_from(entry.length()).unwrap_or(usize::MAX);
        let bytes = mem
            .read(phys, len)
            .map_err(|error| DecodeError::Chain {
                kind,
                fault: ChainFault::Unmapped(error),
            })
            .map_err(at0)?;
        let first = self
            .check_referenced::<E>(bytes, true)
            .map_err(TableError::at(0, phys))?;
        Table::follow(mem, phys, first, self.reader())
    }
}
