//! The handover graph: the root record and every record its directory references, read from
//! physical memory and validated as a whole before anything is handed out.
//!
//! The checks run in this order (abi/SPEC.md section 2.3, steps G1 to G8), and the first
//! failure is returned:
//!
//! 1. the root: mapped, then decoded (magic, version, sizes, CRC, entries);
//! 2. the layout: no two of the root and the records it references share a byte
//!    (`check_layout`, the one placement check);
//! 3. each table of a kind this version knows: its first block mapped, decoded, and matched
//!    against its directory entry (length, stored CRC, generation equal to the root's), then
//!    the rest of its chain, if it is chained (`liveupdate_abi::Table`);
//! 4. the layout again, with every block of every chain: still no byte shared (the same
//!    check, fed the chains' blocks too).
//!
//! Directory entries of kinds this version does not know are kept in the layout check but not
//! read: [`Handover::unknown`] lists them for the caller to log or free.
//!
//! Nothing is consumed before everything is checked: upstream cannot retry a failed retrieve,
//! because the previous kernel's state is freed by then.
//!
//! [`Handover::load`] is the one validation of a graph: [`write_root`] checks the placement of
//! what it references (the same check) and writes, without reading the graph back, and the
//! FLB and PCI serializers write their tables through one routine.

use core::fmt;
use liveupdate_abi::{Capacity, Encoding, Generation};

use liveupdate_abi::kind::Magic;
use liveupdate_abi::table::Blocks;
use liveupdate_abi::{
    AbiVersion, BlockPlace, ChainFault, DecodeError, DirEntry, EncodeError, Entries, Entry,
    FlbEntry, PciEntry, RecordKind, Root, Table, TableError,
};

use crate::mem::{MemError, PhysAddr, PhysMem, PhysMemMut};

/// Most records one root directory may reference. The reader refuses more, so that the layout
/// check stays a small sort on the stack (of one byte per record).
pub const MAX_RECORDS: usize = 16;

/// A record's place in physical memory, named by its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The record's magic (its kind).
    pub magic: u32,
    /// Physical address of its first byte.
    pub addr: PhysAddr,
    /// Its length in bytes.
    pub len: u64,
}

impl Span {
    /// The record's kind, if this version knows it.
    pub fn kind(&self) -> Option<RecordKind> {
        RecordKind::from_magic(self.magic)
    }

    /// One past the last byte (saturated at `u64::MAX`; the decoders refuse wrapping ranges).
    pub fn end(&self) -> PhysAddr {
        self.addr.saturating_add(self.len)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Some(kind) => write!(f, "{kind}")?,
            None => write!(f, "record {}", Magic(self.magic))?,
        }
        write!(f, " at [{}, {})", self.addr, self.end())
    }
}

/// Why a handover could not be loaded or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphError {
    /// Nothing was handed over: the root's length is zero or its magic is zero. A fresh boot,
    /// not a corruption.
    NoHandover,
    /// A record's bytes are not (wholly) in mapped memory.
    Memory {
        /// The record being read or written.
        kind: RecordKind,
        /// The range and why.
        error: MemError,
    },
    /// The root record failed validation; the error says where.
    Record(DecodeError),
    /// The root record could not be written ([`write_root`]); the error says why.
    Encode(EncodeError),
    /// A table failed validation; the error names its kind, the block and where in it.
    Table(TableError),
    /// Two records share bytes.
    Overlap {
        /// The record at the lower address.
        first: Span,
        /// The record that starts inside it.
        second: Span,
    },
    /// The root directory references more records than [`MAX_RECORDS`].
    TooManyRecords {
        /// Records referenced.
        count: u64,
        /// Most this reader accepts.
        max: u64,
    },
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::NoHandover => {
                f.write_str("no handover: the root record has zero length or zero magic")
            }
            GraphError::Memory { kind, error } => write!(f, "{kind}: {error}"),
            GraphError::Record(e) => fmt::Display::fmt(e, f),
            GraphError::Encode(e) => fmt::Display::fmt(e, f),
            GraphError::Table(e) => write!(f, "{}: {e}", e.error.kind()),
            GraphError::Overlap { first, second } => write!(f, "{first} overlaps {second}"),
            GraphError::TooManyRecords { count, max } => write!(
                f,
                "root: the directory references {count} records, this reader accepts at most {max}"
            ),
        }
    }
}

/// Its `Display` prints every inner error, so `source()` is `None`: an error-chain reporter
/// prints every message once.
impl core::error::Error for GraphError {}

/// A validated handover: the root and every table of a known kind it references, all checked.
///
/// The views borrow the memory the handover was loaded from; nothing is copied.
#[derive(Clone, Copy, Debug)]
pub struct Handover<'m> {
    root: Root<'m>,
    root_addr: PhysAddr,
    flb: Option<Table<'m, FlbEntry>>,
    pci: Option<Table<'m, PciEntry>>,
}

impl<'m> Handover<'m> {
    /// Reads and validates the root record at `root_addr` (`root_len` bytes, as KHO gave
    /// them) and every table it references, following chained tables through `mem`.
    ///
    /// # Errors
    ///
    /// [`GraphError::NoHandover`] for a zero length or a root whose magic is zero; otherwise
    /// the first failure in the order of the [module docs](self).
    pub fn load<M: PhysMem + Sync>(
        mem: &'m M,
        root_addr: PhysAddr,
        root_len: usize,
    ) -> Result<Self, GraphError> {
        if root_len == 0 {
            return Err(GraphError::NoHandover);
        }
        let bytes = mem
            .read(root_addr, root_len)
            .map_err(|error| GraphError::Memory {
                kind: RecordKind::Root,
                error,
            })?;
        let root = Root::decode(bytes).map_err(|e| match e {
            DecodeError::NoRecord { .. } => GraphError::NoHandover,
            e => GraphError::Record(e),
        })?;
        check_count(root.entries().len())?;
        let fixed = Fixed::new(
            root_addr,
            root.as_bytes().len(),
            Directory::Read(root.entries()),
        );
        check_layout(&fixed, None, None)?;
        let mut handover = Handover {
            root,
            root_addr,
            flb: None,
            pci: None,
        };
        for entry in root.entries() {
            match entry.kind() {
                Some(RecordKind::FlbTable) => open(mem, &handover.root, &mut handover.flb)?,
                Some(RecordKind::PciTable) => open(mem, &handover.root, &mut handover.pci)?,
                _ => {}
            }
        }
        check_layout(&fixed, handover.flb.as_ref(), handover.pci.as_ref())?;
        Ok(handover)
    }

    /// The root record.
    pub fn root(&self) -> Root<'m> {
        self.root
    }

    /// Where the root record lies.
    pub fn root_span(&self) -> Span {
        Span {
            magic: RecordKind::Root.magic(),
            addr: self.root_addr,
            len: self.root.as_bytes().len() as u64,
        }
    }

    /// The live update's generation, which every record shares.
    pub fn generation(&self) -> Generation {
        self.root.generation()
    }

    /// The FLB table, if the previous kernel wrote one.
    pub fn flb_table(&self) -> Option<Table<'m, FlbEntry>> {
        self.flb
    }

    /// The PCI table, if the previous kernel wrote one.
    pub fn pci_table(&self) -> Option<Table<'m, PciEntry>> {
        self.pci
    }

    /// Directory entries of kinds this version does not read (a newer kernel's records):
    /// checked for overlap, never read. Log them, or free them if the kernel knows how.
    pub fn unknown(&self) -> impl Iterator<Item = &'m DirEntry> + 'm {
        self.root
            .entries()
            .iter()
            .filter(|e| !matches!(e.kind(), Some(RecordKind::FlbTable | RecordKind::PciTable)))
    }
}

/// The blocks of a table after its first (the first is in the directory), as spans, in
/// ascending order: the blocks iterator alone, not an adapter chain holding the table too.
struct Chained<'m, E> {
    blocks: Option<Blocks<'m, E>>,
}

impl<'m, E: Entry> Chained<'m, E> {
    fn new(table: Option<&Table<'m, E>>) -> Self {
        let mut blocks = table.map(Table::blocks);
        if let Some(blocks) = blocks.as_mut() {
            // The first block is the directory's record, a span of `Fixed`.
            let _ = blocks.next();
        }
        Chained { blocks }
    }
}

impl<E: Entry> Iterator for Chained<'_, E> {
    type Item = Span;

    fn next(&mut self) -> Option<Span> {
        let block = self.blocks.as_mut()?.next()?;
        Some(Span {
            magic: E::KIND.magic(),
            addr: block.phys,
            len: block.record.as_bytes().len() as u64,
        })
    }
}

/// The directory of the root: as read (a decoded root's entries), or as about to be written.
#[derive(Clone, Copy)]
enum Directory<'a> {
    Read(Entries<'a, DirEntry>),
    Written(&'a [DirEntry]),
}

impl<'a> Directory<'a> {
    fn len(self) -> usize {
        match self {
            Directory::Read(entries) => entries.len(),
            Directory::Written(entries) => entries.len(),
        }
    }

    fn get(self, index: usize) -> Option<&'a DirEntry> {
        match self {
            Directory::Read(entries) => entries.get(index),
            Directory::Written(entries) => entries.get(index),
        }
    }
}

/// The root and the records its directory references, in address order (and magic: magics
/// are unique, so the order is total and the first overlap found is deterministic). Only the
/// order is stored, one byte per span; the spans are made from the directory when needed.
struct Fixed<'a> {
    root: Span,
    directory: Directory<'a>,
    /// Indices of the spans in address order: 0 the root, `i` the directory's entry `i - 1`.
    order: [u8; MAX_RECORDS + 1],
    len: usize,
}

/// [`GraphError::TooManyRecords`] for a directory of more than [`MAX_RECORDS`] entries.
fn check_count(count: usize) -> Result<(), GraphError> {
    if count > MAX_RECORDS {
        return Err(GraphError::TooManyRecords {
            count: count as u64,
            max: MAX_RECORDS as u64,
        });
    }
    Ok(())
}

impl<'a> Fixed<'a> {
    /// The spans of the root at `root_addr` (`root_len` bytes) and of `directory`, which
    /// [`check_count`] accepted (entries past [`MAX_RECORDS`] would be left out). Infallible,
    /// so that the caller's frame holds it once, not also inside a `Result`.
    fn new(root_addr: PhysAddr, root_len: usize, directory: Directory<'a>) -> Fixed<'a> {
        let count = directory.len().min(MAX_RECORDS);
        let mut fixed = Fixed {
            root: Span {
                magic: RecordKind::Root.magic(),
                addr: root_addr,
                len: root_len as u64,
            },
            directory,
            order: [0; MAX_RECORDS + 1],
            len: count + 1,
        };
        for (slot, index) in fixed.order.iter_mut().zip(0u8..) {
            *slot = index;
        }
        let key = |index: &u8| fixed.span(*index).map(|s| (s.addr, s.magic));
        let mut order = fixed.order;
        sort_by_key(order.get_mut(..fixed.len).unwrap_or(&mut []), key);
        fixed.order = order;
        fixed
    }

    /// Span `index`: 0 the root, `i` the directory's entry `i - 1`.
    fn span(&self, index: u8) -> Option<Span> {
        let Some(entry) = usize::from(index).checked_sub(1) else {
            return Some(self.root);
        };
        let e = self.directory.get(entry)?;
        Some(Span {
            magic: e.magic(),
            addr: e.phys_addr(),
            len: u64::from(e.length()),
        })
    }

    /// The spans in address order.
    fn spans(&self) -> impl Iterator<Item = Span> + '_ {
        self.order
            .get(..self.len)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&index| self.span(index))
    }
}

/// Sorts the at most [`MAX_RECORDS`] + 1 `items` by `key`, in place: an insertion sort, which
/// needs no scratch. (`slice::sort_unstable` sorts short slices through a scratch array of
/// 48 elements on the stack, over a kilobyte for spans.) Stable: equal keys keep their order.
fn sort_by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 {
            let (Some(before), Some(item)) = (items.get(j - 1), items.get(j)) else {
                break;
            };
            if key(before) <= key(item) {
                break;
            }
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The one placement check: no two of the root, the records of the directory (`fixed`) and
/// the blocks after the first of the tables `flb` and `pci` share a byte ([`merge_check`]).
///
/// One function for every caller (before the tables are read, `None`), never inlined: the
/// chains' iterators and the merge's locals are not added to the callers' frames.
#[inline(never)]
fn check_layout(
    fixed: &Fixed<'_>,
    flb: Option<&Table<'_, FlbEntry>>,
    pci: Option<&Table<'_, PciEntry>>,
) -> Result<(), GraphError> {
    merge_check(fixed, Chained::new(flb), Chained::new(pci))
}

/// No two of the spans of `fixed` and of the chains `a` and `b` (each ascending, as a decoded
/// [`Table`] guarantees) share a byte.
///
/// Merges the three ascending sequences by `(address, magic)` and compares each span with the
/// one reaching furthest so far: O(k log k) for the k <= [`MAX_RECORDS`] + 1 fixed spans (the
/// sort), then O(k + blocks), in constant memory. The overlap reported is the first in address
/// order, the span reaching over the other first.
fn merge_check(
    fixed: &Fixed<'_>,
    a: impl Iterator<Item = Span>,
    b: impl Iterator<Item = Span>,
) -> Result<(), GraphError> {
    let key = |s: &Span| (s.addr, s.magic);
    let (mut f, mut a, mut b) = (fixed.spans().peekable(), a.peekable(), b.peekable());
    let mut furthest: Option<Span> = None;
    loop {
        let next = [f.peek().map(key), a.peek().map(key), b.peek().map(key)];
        let Some((which, _)) = next
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.map(|k| (i, k)))
            .min_by_key(|&(_, k)| k)
        else {
            return Ok(());
        };
        let span = match which {
            0 => f.next(),
            1 => a.next(),
            _ => b.next(),
        };
        let Some(span) = span else {
            return Ok(());
        };
        if let Some(first) = furthest
            && first.end() > span.addr
        {
            return Err(GraphError::Overlap {
                first,
                second: span,
            });
        }
        if furthest.is_none_or(|f| span.end() > f.end()) {
            furthest = Some(span);
        }
    }
}

/// Reads the table of kind `E` the root references into `table` and opens it against the
/// root, following its chain: the first block is read once, and a range not in `mem` is
/// [`GraphError::Memory`] naming it.
///
/// Never inlined, and writes the table in place: the chain walk's locals get a frame of their
/// own, one table at a time, instead of both tables' in the caller's frame.
#[inline(never)]
fn open<'m, E: Entry, M: PhysMem + Sync>(
    mem: &'m M,
    root: &Root<'_>,
    table: &mut Option<Table<'m, E>>,
) -> Result<(), GraphError> {
    match root.open_table::<E>(mem) {
        Ok(opened) => {
            *table = Some(opened);
            Ok(())
        }
        Err(TableError {
            block: 0,
            error:
                DecodeError::Chain {
                    kind,
                    fault: ChainFault::Unmapped(error),
                },
            ..
        }) => Err(GraphError::Memory { kind, error }),
        Err(e) => Err(GraphError::Table(e)),
    }
}

/// Writes the root record at `root_addr`, referencing `records` (in any order; one per kind),
/// after checking that none of them and the root share a byte, and returns the root's length.
///
/// `records` are the directory entries the serializers returned
/// ([`FlbRegistry::serialize`](crate::flb::FlbRegistry::serialize),
/// [`PciTracker::serialize`](crate::pci::PciTracker::serialize)); each must already be in
/// `mem` with the same `generation`. Nothing is read back: the next kernel's
/// [`Handover::load`] is the one validation of the whole graph (chains included).
///
/// # Errors
///
/// [`GraphError::TooManyRecords`], [`GraphError::Overlap`], [`GraphError::Memory`] when the
/// root does not fit the memory, [`GraphError::Encode`] for a duplicate kind.
pub fn write_root<M: PhysMemMut + ?Sized>(
    mem: &mut M,
    version: AbiVersion,
    root_addr: PhysAddr,
    generation: Generation,
    records: &[DirEntry],
) -> Result<usize, GraphError> {
    let too_many = GraphError::TooManyRecords {
        count: records.len() as u64,
        max: MAX_RECORDS as u64,
    };
    check_count(records.len())?;
    // The directory in magic order, as indices into `records` (not a copy of them).
    let mut order = [0u8; MAX_RECORDS];
    for (slot, index) in order.iter_mut().zip(0u8..) {
        *slot = index;
    }
    let order = order.get_mut(..records.len()).unwrap_or(&mut []);
    sort_by_key(order, |&i| records.get(usize::from(i)).map(DirEntry::magic));
    let directory = order.iter().filter_map(|&i| records.get(usize::from(i)));
    let capacity = u32::try_from(records.len()).map_err(|_| too_many)?;
    let root_len = Root::len_for(version, Capacity::new(capacity)).ok_or(too_many)?;
    let fixed = Fixed::new(root_addr, root_len, Directory::Written(records));
    check_layout(&fixed, None, None)?;
    let out = mem
        .write(root_addr, root_len)
        .map_err(|error| GraphError::Memory {
            kind: RecordKind::Root,
            error,
        })?;
    Root::encode(
        out,
        Encoding::new(version, generation, Capacity::new(capacity)),
        directory.copied(),
    )
    .map_err(GraphError::Encode)?;
    Ok(root_len)
}

/// What writing a table refused: a block not in memory, or the table itself.
pub(crate) enum TableWriteError {
    /// A block's range is not in the memory given.
    Memory(MemError),
    /// The entries or the blocks (the error names the block).
    Table(TableError<EncodeError>),
}

/// Writes `entries` as the table of kind `E` over `blocks`, through `mem`: the one
/// serialization routine of the FLB registry and the PCI tracker (one record, or a chain),
/// which only yield their entries. Returns the directory entry of the first block.
pub(crate) fn write_table<E: Entry, M: PhysMemMut + ?Sized>(
    mut mem: &mut M,
    version: AbiVersion,
    blocks: &[BlockPlace],
    generation: Generation,
    entries: impl IntoIterator<Item = E::Item>,
) -> Result<DirEntry, TableWriteError> {
    match Table::<E>::encode(&mut mem, version, generation, blocks, entries) {
        Ok(written) => Ok(written.dir),
        Err(TableError {
            error:
                EncodeError::Chain {
                    fault: ChainFault::Unmapped(error),
                    ..
                },
            ..
        }) => Err(TableWriteError::Memory(error)),
        Err(e) => Err(TableWriteError::Table(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(magic: u32, addr: u64, len: u64) -> Span {
        Span {
            magic,
            addr: PhysAddr::new(addr),
            len,
        }
    }

    const ROOT: u32 = RecordKind::Root.magic();
    const FLB: u32 = RecordKind::FlbTable.magic();
    const PCI: u32 = RecordKind::PciTable.magic();

    /// The root at 0x3000 (0x100 bytes), the FLB table at 0x1000, the PCI table at 0x2000,
    /// and the blocks of the chains `flb` and `pci`.
    fn check(flb: &[Span], pci: &[Span]) -> Result<(), GraphError> {
        let directory = [
            DirEntry::new(RecordKind::FlbTable, PhysAddr::new(0x1000), 0x100, 0),
            DirEntry::new(RecordKind::PciTable, PhysAddr::new(0x2000), 0x100, 0),
        ];
        let fixed = Fixed::new(PhysAddr::new(0x3000), 0x100, Directory::Written(&directory));
        merge_check(&fixed, flb.iter().copied(), pci.iter().copied())
    }

    fn overlap(first: Span, second: Span) -> Result<(), GraphError> {
        Err(GraphError::Overlap { first, second })
    }

    #[test]
    fn one_check_covers_root_records_and_chain_blocks() {
        // Disjoint: the chains' blocks interleave with the records and each other.
        let flb = [span(FLB, 0x1100, 0x80), span(FLB, 0x4000, 0x100)];
        let pci = [span(PCI, 0x2100, 0x80), span(PCI, 0x3100, 0x100)];
        assert_eq!(check(&flb, &pci), Ok(()));
        assert_eq!(check(&[], &[]), Ok(()));
        // Touching is not overlapping.
        assert_eq!(check(&[span(FLB, 0x2f00, 0x100)], &[]), Ok(()));

        // A chain block inside the root.
        assert_eq!(
            check(&[span(FLB, 0x30f0, 0x20)], &[]),
            overlap(span(ROOT, 0x3000, 0x100), span(FLB, 0x30f0, 0x20))
        );
        // A chain block reaching into a record.
        assert_eq!(
            check(&[], &[span(PCI, 0x0f80, 0x81)]),
            overlap(span(PCI, 0x0f80, 0x81), span(FLB, 0x1000, 0x100))
        );
        // Blocks of the two chains over each other.
        assert_eq!(
            check(&[span(FLB, 0x5000, 0x100)], &[span(PCI, 0x50ff, 0x10)]),
            overlap(span(FLB, 0x5000, 0x100), span(PCI, 0x50ff, 0x10))
        );
        // A long block covering several later spans: reported against the first it covers.
        assert_eq!(
            check(&[span(FLB, 0x0800, 0x4000)], &[]),
            overlap(span(FLB, 0x0800, 0x4000), span(FLB, 0x1000, 0x100))
        );
        // A block at the very top of the address space ends there (saturated).
        assert_eq!(check(&[span(FLB, u64::MAX - 0x10, 0x10)], &[]), Ok(()));
    }

    #[test]
    fn records_against_the_root_and_each_other() {
        let root = PhysAddr::new(0x3000);
        let a = DirEntry::new(RecordKind::FlbTable, PhysAddr::new(0x1000), 0x100, 0);
        let b = DirEntry::new(RecordKind::PciTable, PhysAddr::new(0x10f0), 0x100, 0);
        let directory = [a, b];
        let fixed = Fixed::new(root, 0x100, Directory::Written(&directory));
        assert_eq!(
            check_layout(&fixed, None, None),
            overlap(span(FLB, 0x1000, 0x100), span(PCI, 0x10f0, 0x100))
        );
        let c = DirEntry::new(RecordKind::PciTable, PhysAddr::new(0x2f80), 0x100, 0);
        let directory = [a, c];
        let fixed = Fixed::new(root, 0x100, Directory::Written(&directory));
        assert_eq!(
            check_layout(&fixed, None, None),
            overlap(span(PCI, 0x2f80, 0x100), span(ROOT, 0x3000, 0x100))
        );
        let many = [a; MAX_RECORDS + 1];
        assert!(matches!(
            check_count(many.len()),
            Err(GraphError::TooManyRecords { count: 17, max: 16 })
        ));
    }
}
