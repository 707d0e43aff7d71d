//! A table: one record, or (minor 1) a chain of records, its blocks.
//!
//! A table that outgrows one record continues in further blocks, each a complete record (own
//! header, sizes, generation and CRC) with `CHAINED` set, `next_block` pointing to the next
//! block and `block_index` giving its position. The root directory references the first
//! block. Entries are in ascending order across the whole chain, so a lookup walks the blocks
//! and searches one. A table that fits one block is written without `CHAINED`, as a plain
//! record every reader reads.
//!
//! Blocks lie at ascending, disjoint addresses. That one rule lets a reader prove, in
//! constant memory and one pass, that no two blocks overlap and that the chain has no cycle;
//! a writer, which knows all its blocks when it writes the table, only has to link them in
//! address order. The walk also stops at [`MAX_BLOCKS`]. Memory is read through
//! [`PhysMem`], the crate's one memory model ([`crate::mem`]); a block that cannot be read is
//! an error naming its address and length ([`ChainFault::Unmapped`]).

use core::fmt;

use crate::error::{ChainFault, DecodeError, EncodeError, Unfit};
use crate::header::{Access, Capacity, Generation, HEADER_LEN, Link, RecordHeader};
use crate::mem::{MemError, PhysAddr, PhysMem, PhysMemMut};
use crate::record::{Block, Entry, Record, record_len};
use crate::root::DirEntry;
use crate::version::AbiVersion;

/// Most blocks a chain may have. With 4 KiB blocks: 688 128 PCI devices or 229 376 FLBs.
pub const MAX_BLOCKS: u32 = 4096;

/// An error in a table, with the block it is in (0: the record the directory references):
/// `TableError` (a [`DecodeError`]) from a reader, `TableError<EncodeError>` from
/// [`Table::encode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableError<E = DecodeError> {
    /// Position of the block in the chain.
    pub block: u32,
    /// Its physical address.
    pub phys: PhysAddr,
    /// What is wrong; offsets are from the start of that block.
    pub error: E,
}

impl<E> TableError<E> {
    pub(crate) fn at(block: u32, phys: PhysAddr) -> impl Fn(E) -> TableError<E> + Copy {
        move |error| TableError { block, phys, error }
    }
}

impl<E: fmt::Display> fmt::Display for TableError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {} at {}: {}", self.block, self.phys, self.error)
    }
}

/// Its `Display` prints the inner error after the block, so `source()` is `None`: an
/// error-chain reporter prints every message once.
impl<E: fmt::Debug + fmt::Display> core::error::Error for TableError<E> {}

/// A validated table: one record, or a chain of blocks read through memory.
///
/// Blocks after the first are read again from the memory when the table is used; they were
/// validated when it was decoded, and the memory must not change while the table is alive
/// (if it did, lookups would see the new bytes, still without reading out of bounds).
pub struct Table<'m, E> {
    first: Record<'m, E>,
    phys: PhysAddr,
    mem: Option<&'m (dyn PhysMem + Sync)>,
    reader: AbiVersion,
    blocks: u32,
    len: u64,
    access: Access,
}

impl<E> Clone for Table<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for Table<'_, E> {}

impl<E> fmt::Debug for Table<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("first", &self.first)
            .field("phys", &self.phys)
            .field("blocks", &self.blocks)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<'m, E: Entry> TryFrom<Record<'m, E>> for Table<'m, E> {
    type Error = DecodeError;

    /// The table of one record (as [`Record::decode`] gives). A block of a chain is refused
    /// ([`ChainFault::NeedsMemory`]): it is only part of its table.
    fn try_from(record: Record<'m, E>) -> Result<Self, DecodeError> {
        if record.header().link().is_some() {
            return Err(DecodeError::Chain {
                kind: E::KIND,
                fault: ChainFault::NeedsMemory,
            });
        }
        Ok(Table {
            first: record,
            phys: PhysAddr::NULL,
            mem: None,
            reader: record.reader(),
            blocks: 1,
            len: record.entries().len() as u64,
            access: record.access(),
        })
    }
}

impl<'m, E: Entry> Table<'m, E> {
    /// Decodes the table whose first block is the `len` bytes at `phys`, following its chain
    /// through `mem`, as the newest reader.
    ///
    /// # Errors
    ///
    /// The first failure, with the block it is in: [`Record::decode`]'s errors for each
    /// block; [`DecodeError::Chain`] for a broken chain; [`DecodeError::Generation`] for a block of another
    /// update than the first; [`DecodeError::Entry`] for a block whose first entry does not sort
    /// after the previous block's last.
    pub fn decode(
        mem: &'m (dyn PhysMem + Sync),
        phys: PhysAddr,
        len: usize,
    ) -> Result<Self, TableError> {
        Self::decode_as(mem, phys, len, AbiVersion::NEWEST)
    }

    /// [`Table::decode`] as a reader of `reader` would.
    ///
    /// # Errors
    ///
    /// As [`Table::decode`].
    pub fn decode_as(
        mem: &'m (dyn PhysMem + Sync),
        phys: PhysAddr,
        len: usize,
        reader: AbiVersion,
    ) -> Result<Self, TableError> {
        let bytes = mem
            .read(phys, len)
            .map_err(unmapped::<E>)
            .map_err(TableError::at(0, phys))?;
        let first = Record::<E>::decode_block(bytes, reader).map_err(TableError::at(0, phys))?;
        Self::follow(mem, phys, first, reader)
    }

    /// The table whose first block, at `phys`, is the decoded `first`: validates the rest of
    /// the chain. Never inlined: the walk's locals get a frame of their own, not added to the
    /// caller's (which holds the first block's checks).
    #[inline(never)]
    pub(crate) fn follow(
        mem: &'m (dyn PhysMem + Sync),
        phys: PhysAddr,
        first: Record<'m, E>,
        reader: AbiVersion,
    ) -> Result<Self, TableError> {
        let kind = E::KIND;
        let mut table = Table {
            first,
            phys,
            mem: Some(mem),
            reader,
            blocks: 1,
            len: first.entries().len() as u64,
            access: first.access(),
        };
        let Some(link) = first.header().link() else {
            return Ok(table);
        };
        let chain = |fault| DecodeError::Chain { kind, fault };
        let at0 = TableError::at(0, phys);
        if link.index != 0 {
            return Err(at0(chain(ChainFault::Index { found: link.index })));
        }
        if link.next == 0 {
            return Err(at0(chain(ChainFault::Single)));
        }
        if first.entries().is_empty() {
            return Err(at0(chain(ChainFault::EmptyBlock)));
        }
        let mut prev = (phys, first);
        let mut next = PhysAddr::new(link.next);
        let mut index: u32 = 1;
        while !next.is_null() {
            let at = TableError::at(index, next);
            if index >= MAX_BLOCKS {
                return Err(at(chain(ChainFault::TooLong { max: MAX_BLOCKS })));
            }
            let prev_end = prev.0.saturating_add(prev.1.as_bytes().len() as u64);
            if next < prev_end {
                return Err(at(chain(table.misplaced(next, prev_end))));
            }
            let record = read_block::<E>(mem, next)
                .and_then(|bytes| Record::<E>::decode_block(bytes, reader))
                .map_err(at)?;
            let header = record.header();
            let link = header
                .link()
                .ok_or(chain(ChainFault::NotChained))
                .map_err(at)?;
            if link.index != index {
                return Err(at(chain(ChainFault::Index { found: link.index })));
            }
            if header.generation() != first.generation() {
                return Err(at(DecodeError::Generation {
                    kind,
                    expected: first.generation(),
                    found: header.generation(),
                }));
            }
            let Some(head) = record.entries().get(0) else {
                return Err(at(chain(ChainFault::EmptyBlock)));
            };
            let last = prev.1.entries().iter().next_back();
            head.check(last, header.minor() > reader.minor())
                .map_err(|fault| DecodeError::Entry {
                    kind,
                    index: 0,
                    offset: u64::from(header.header_len()),
                    fault,
                })
                .map_err(at)?;
            table.blocks = index.saturating_add(1);
            table.len = table.len.saturating_add(record.entries().len() as u64);
            if let Access::ReadOnly { unknown } = record.access() {
                let before = match table.access {
                    Access::ReadOnly { unknown } => unknown,
                    Access::ReadWrite => 0,
                };
                table.access = Access::ReadOnly {
                    unknown: before | unknown,
                };
            }
            prev = (next, record);
            next = PhysAddr::new(link.next);
            index = table.blocks;
        }
        Ok(table)
    }

    /// Why a block at `next`, below `prev_end`, is misplaced: a link back to an earlier block,
    /// a block inside one, or merely out of address order. O(blocks so far), on this error
    /// path only.
    fn misplaced(&self, next: PhysAddr, prev_end: PhysAddr) -> ChainFault {
        for block in self.blocks() {
            let end = block
                .phys
                .saturating_add(block.record.as_bytes().len() as u64);
            if next == block.phys {
                return ChainFault::Cycle {
                    to_block: block.index,
                };
            }
            if (block.phys..end).contains(&next) {
                return ChainFault::Overlap {
                    with_block: block.index,
                };
            }
        }
        ChainFault::OutOfOrder { after: prev_end }
    }

    /// Entries in use, over every block.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no entry is in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of blocks: 1 for a table that is one record.
    pub fn block_count(&self) -> u32 {
        self.blocks
    }

    /// The first block: the record the root directory references.
    pub fn first(&self) -> Record<'m, E> {
        self.first
    }

    /// The live-update sequence number every block carries.
    pub fn generation(&self) -> Generation {
        self.first.generation()
    }

    /// Whether the reader may rewrite the table: read-only when any block has read-only-
    /// compatible features it does not know (their union).
    pub fn access(&self) -> Access {
        self.access
    }

    /// The version whose rules the table was read by.
    pub fn version(&self) -> AbiVersion {
        self.first.version()
    }

    /// The blocks, in chain order.
    pub fn blocks(&self) -> Blocks<'m, E> {
        Blocks {
            mem: self.mem,
            reader: self.reader,
            next: Some((self.phys, Some(self.first))),
            index: 0,
            remaining: self.blocks,
        }
    }

    /// Every entry, in order, over every block.
    pub fn iter(&self) -> impl Iterator<Item = &'m E> + 'm {
        self.blocks().flat_map(|b| b.record.entries().iter())
    }

    /// Every entry with every field its block holds ([`Record::item`]), in order.
    pub fn items(&self) -> impl Iterator<Item = E::Item> + 'm {
        self.blocks().flat_map(|b| {
            let record = b.record;
            (0..record.entries().len()).filter_map(move |i| record.item(i))
        })
    }

    /// The first block whose last entry is not before the key `before` says: `before(e)` is
    /// true for entries that sort before the key. O(blocks).
    pub(crate) fn block_for(&self, before: impl Fn(&E) -> bool) -> Option<Record<'m, E>> {
        self.blocks()
            .map(|b| b.record)
            .find(|r| r.entries().iter().next_back().is_some_and(|e| !before(e)))
    }
}

/// One block of a [`Table`].
#[derive(Clone, Copy, Debug)]
pub struct ChainBlock<'m, E> {
    /// Position in the chain, from 0.
    pub index: u32,
    /// Physical address ([`PhysAddr::NULL`] for a table made from a record alone).
    pub phys: PhysAddr,
    /// The block.
    pub record: Record<'m, E>,
}

/// Iterator over the blocks of a [`Table`].
#[derive(Clone)]
pub struct Blocks<'m, E> {
    mem: Option<&'m (dyn PhysMem + Sync)>,
    reader: AbiVersion,
    /// The next block's address, and the block itself when already at hand.
    next: Option<(PhysAddr, Option<Record<'m, E>>)>,
    index: u32,
    remaining: u32,
}

impl<E> fmt::Debug for Blocks<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocks")
            .field("index", &self.index)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl<'m, E: Entry> Iterator for Blocks<'m, E> {
    type Item = ChainBlock<'m, E>;

    fn next(&mut self) -> Option<ChainBlock<'m, E>> {
        if self.remaining == 0 {
            return None;
        }
        let (phys, known) = self.next.take()?;
        let record = match known {
            Some(record) => record,
            None => revisit_block(self.mem?, phys, self.reader)?,
        };
        let block = ChainBlock {
            index: self.index,
            phys,
            record,
        };
        self.remaining -= 1;
        self.index = self.index.saturating_add(1);
        self.next = record
            .header()
            .link()
            .map(|l| PhysAddr::new(l.next))
            .filter(|n| !n.is_null())
            .map(|n| (n, None));
        Some(block)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining as usize))
    }
}

/// The block at `phys` of a table validated before, read again. Never inlined: the read and
/// the decode get a frame of their own instead of growing every caller that iterates blocks.
#[inline(never)]
fn revisit_block<E: Entry>(
    mem: &(dyn PhysMem + Sync),
    phys: PhysAddr,
    reader: AbiVersion,
) -> Option<Record<'_, E>> {
    let bytes = read_block::<E>(mem, phys).ok()?;
    Record::<E>::revisit(bytes, reader)
}

/// [`ChainFault::Unmapped`] for a block of `E`'s table.
fn unmapped<E: Entry>(error: MemError) -> DecodeError {
    DecodeError::Chain {
        kind: E::KIND,
        fault: ChainFault::Unmapped(error),
    }
}

/// The block at `phys`: its header first, for its length, then all of it.
fn read_block<E: Entry>(mem: &(dyn PhysMem + Sync), phys: PhysAddr) -> Result<&[u8], DecodeError> {
    let head = mem.read(phys, HEADER_LEN).map_err(unmapped::<E>)?;
    let len = zerocopy::FromBytes::ref_from_bytes(head)
        .ok()
        .map(RecordHeader::record_len)
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(HEADER_LEN)
        .max(HEADER_LEN);
    mem.read(phys, len).map_err(unmapped::<E>)
}

/// Where one block of a table goes: its physical address and its number of entry slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPlace {
    /// Physical address of the block's first byte.
    pub phys: PhysAddr,
    /// Entry slots of the block.
    pub capacity: u32,
}

/// What [`Table::encode`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableWritten {
    /// The root directory entry for the table: its first block.
    pub dir: DirEntry,
    /// Blocks written (the first of `blocks` given, in order).
    pub blocks: u32,
    /// Entries written.
    pub entries: u64,
}

impl<E: Entry> Table<'_, E> {
    /// Writes `entries` as a table of `version` into the blocks `blocks` (at ascending,
    /// disjoint addresses), filling each to its capacity before the next, through `mem`.
    /// A table that fits the first block is one plain record; otherwise every block used sets
    /// `CHAINED` and links to the next. Blocks left over are not written. Each block is
    /// checked as the decoder would check it.
    ///
    /// [`AbiVersion::V1_0`] has no chains: entries beyond the first block's capacity are refused
    /// ([`Unfit::Chain`]), never dropped.
    ///
    /// # Errors
    ///
    /// A [`TableError`] naming the block: [`Record::encode`]'s errors; [`EncodeError::Chain`]
    /// with [`ChainFault::Unmapped`] when `mem` does not hold a block,
    /// [`ChainFault::TooLong`], or (for blocks not in ascending order)
    /// [`ChainFault::Cycle`], [`ChainFault::Overlap`], [`ChainFault::OutOfOrder`];
    /// [`EncodeError::CapacityExceeded`] with the blocks' total capacity; [`EncodeError::Unfit`].
    pub fn encode<I>(
        mem: &mut dyn PhysMemMut,
        version: AbiVersion,
        generation: Generation,
        blocks: &[BlockPlace],
        entries: I,
    ) -> Result<TableWritten, TableError<EncodeError>>
    where
        I: IntoIterator,
        I::Item: Into<E::Item>,
    {
        let kind = E::KIND;
        let mut items = entries.into_iter().map(Into::into).peekable();
        let mut prev = None;
        let mut dir = DirEntry::new(kind, PhysAddr::NULL, 0, 0);
        let mut written: u64 = 0;
        let mut index: u32 = 0;
        for (i, place) in blocks.iter().enumerate() {
            let at = TableError::at(index, place.phys);
            if index >= MAX_BLOCKS {
                return Err(at(EncodeError::Chain {
                    kind,
                    fault: ChainFault::TooLong { max: MAX_BLOCKS },
                }));
            }
            if let Some(fault) = placement::<E>(blocks, i, version) {
                return Err(at(EncodeError::Chain { kind, fault }));
            }
            let next = blocks.get(i + 1).map_or(PhysAddr::NULL, |b| b.phys);
            let block = Block {
                version,
                generation,
                capacity: place.capacity,
                link: (version >= AbiVersion::V1_1).then_some(Link {
                    next: next.raw(),
                    index,
                }),
            };
            let len = record_len::<E>(version, place.capacity).map_err(at)?;
            let out = mem
                .write(place.phys, len)
                .map_err(|error| EncodeError::Chain {
                    kind,
                    fault: ChainFault::Unmapped(error),
                })
                .map_err(at)?;
            let done = match block.write::<E, _>(out, &mut items, prev) {
                Err(EncodeError::CapacityExceeded { capacity, .. })
                    if version == AbiVersion::V1_0 =>
                {
                    return Err(at(EncodeError::Unfit {
                        kind,
                        version,
                        what: Unfit::Chain { capacity },
                    }));
                }
                other => other.map_err(at)?,
            };
            written = written.saturating_add(u64::from(done.count));
            if index == 0 {
                // done.len <= u32::MAX: record_len checked it.
                let len = u32::try_from(done.len).unwrap_or(u32::MAX);
                dir = DirEntry::new(kind, place.phys, len, done.crc);
            }
            prev = done.last;
            index = index.saturating_add(1);
            if !done.more {
                return Ok(TableWritten {
                    dir,
                    blocks: index,
                    entries: written,
                });
            }
        }
        let capacity = blocks
            .iter()
            .fold(0u32, |sum, b| sum.saturating_add(b.capacity));
        Err(TableError {
            block: index.saturating_sub(1),
            phys: blocks.last().map_or(PhysAddr::NULL, |b| b.phys),
            error: EncodeError::CapacityExceeded { kind, capacity },
        })
    }
}

/// Whether block `i` of `blocks` is misplaced: it must start at or after the end of block
/// `i - 1`.
fn placement<E: Entry>(blocks: &[BlockPlace], i: usize, version: AbiVersion) -> Option<ChainFault> {
    let end = |b: &BlockPlace| {
        let len = Record::<E>::len_for(version, Capacity::new(b.capacity)).unwrap_or(usize::MAX);
        b.phys.saturating_add(len as u64)
    };
    let place = blocks.get(i)?;
    let prev_end = end(blocks.get(i.checked_sub(1)?)?);
    if place.phys >= prev_end {
        return None;
    }
    let earlier = blocks.get(..i)?;
    for (j, b) in earlier.iter().enumerate() {
        let j = u32::try_from(j).unwrap_or(u32::MAX);
        if b.phys == place.phys {
            return Some(ChainFault::Cycle { to_block: j });
        }
        if (b.phys..end(b)).contains(&place.phys) {
            return Some(ChainFault::Overlap { with_block: j });
        }
    }
    Some(ChainFault::OutOfOrder { after: prev_end })
}
