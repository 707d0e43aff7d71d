//! The handover graph: the root record and every record its directory references, read from
//! physical memory and validated as a whole before anything is handed out.
//!
//! The checks run in this order, and the first failure is returned:
//!
//! 1. the root: mapped, then decoded (magic, version, sizes, CRC, entries);
//! 2. the layout: no two of the root and the records it references share a byte;
//! 3. each table of a kind this version knows: its first block mapped, decoded, and matched
//!    against its directory entry (length, stored CRC, generation equal to the root's), then
//!    the rest of its chain, if it is chained (`liveupdate_abi::Table`);
//! 4. the layout again, with every block of every chain: still no byte shared.
//!
//! Directory entries of kinds this version does not know are kept in the layout check but not
//! read: [`Handover::unknown`] lists them for the caller to log or free.
//!
//! Nothing is consumed before everything is checked: upstream cannot retry a failed retrieve,
//! because the previous kernel's state is freed by then.

use core::fmt;
use liveupdate_abi::{Capacity, Encoding, Generation};

use heapless::Vec;
use liveupdate_abi::kind::Magic;
use liveupdate_abi::{
    AbiVersion, DecodeError, DirEntry, EncodeError, Entry, FlbEntry, PciEntry, PhysMem, RecordKind,
    Root, Table, TableError,
};

use crate::mem::{MemError, MemFault, PhysMemory, PhysMemoryMut};

/// Most records one root directory may reference. The reader refuses more, so that the layout
/// check stays a small sort on the stack.
pub const MAX_RECORDS: usize = 16;

/// A record's place in physical memory, named by its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The record's magic (its kind).
    pub magic: u32,
    /// Physical address of its first byte.
    pub addr: u64,
    /// Its length in bytes.
    pub len: u64,
}

impl Span {
    /// The record's kind, if this version knows it.
    pub fn kind(&self) -> Option<RecordKind> {
        RecordKind::from_magic(self.magic)
    }

    /// One past the last byte (saturated at `u64::MAX`; the decoders refuse wrapping ranges).
    pub fn end(&self) -> u64 {
        self.addr.saturating_add(self.len)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Some(kind) => write!(f, "{kind}")?,
            None => write!(f, "record {}", Magic(self.magic))?,
        }
        write!(f, " at [{:#x}, {:#x})", self.addr, self.end())
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
    root_addr: u64,
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
    pub fn load<M: PhysMemory + PhysMem + Sync>(
        mem: &'m M,
        root_addr: u64,
        root_len: usize,
    ) -> Result<Self, GraphError> {
        if root_len == 0 {
            return Err(GraphError::NoHandover);
        }
        let bytes =
            PhysMemory::read(mem, root_addr, root_len).map_err(|error| GraphError::Memory {
                kind: RecordKind::Root,
                error,
            })?;
        let root = Root::decode(bytes).map_err(|e| match e {
            DecodeError::NoRecord { .. } => GraphError::NoHandover,
            e => GraphError::Record(e),
        })?;
        check_layout(root_addr, root.as_bytes().len(), root.entries().iter())?;
        let mut flb = None;
        let mut pci = None;
        for entry in root.entries() {
            match entry.kind() {
                Some(RecordKind::FlbTable) => flb = Some(open(mem, &root, entry)?),
                Some(RecordKind::PciTable) => pci = Some(open(mem, &root, entry)?),
                _ => {}
            }
        }
        let handover = Handover {
            root,
            root_addr,
            flb,
            pci,
        };
        handover.check_chains()?;
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

    /// Checks that the blocks of chained tables after their first share no byte with the root,
    /// any record of the directory, or the other table's blocks. The blocks of one chain are
    /// disjoint already (ascending), and so are the root and the directory's records
    /// ([`check_layout`]). O(blocks × records) against those, O(blocks) between the chains.
    fn check_chains(&self) -> Result<(), GraphError> {
        let fixed =
            core::iter::once(self.root_span()).chain(self.root.entries().iter().map(|e| Span {
                magic: e.magic(),
                addr: e.phys_addr(),
                len: u64::from(e.length()),
            }));
        let flb = self.flb.map(chained);
        let pci = self.pci.map(chained);
        let all = flb.clone().into_iter().flatten();
        for span in all.chain(pci.clone().into_iter().flatten()) {
            for other in fixed.clone() {
                overlap(span, other)?;
            }
        }
        // Both chains ascend: walk them together.
        let (mut a, mut b) = (
            flb.into_iter().flatten().peekable(),
            pci.into_iter().flatten().peekable(),
        );
        while let (Some(&x), Some(&y)) = (a.peek(), b.peek()) {
            overlap(x, y)?;
            if x.end() <= y.end() {
                a.next();
            } else {
                b.next();
            }
        }
        Ok(())
    }
}

/// The blocks of `table` after its first, as spans, in ascending order.
fn chained<E: Entry>(table: Table<'_, E>) -> impl Iterator<Item = Span> + Clone {
    table.blocks().skip(1).map(|block| Span {
        magic: E::KIND.magic(),
        addr: block.phys,
        len: block.record.as_bytes().len() as u64,
    })
}

/// [`GraphError::Overlap`] when `a` and `b` share a byte, the lower one first.
fn overlap(a: Span, b: Span) -> Result<(), GraphError> {
    if a.addr < b.end() && b.addr < a.end() {
        let (first, second) = if (a.addr, a.magic) <= (b.addr, b.magic) {
            (a, b)
        } else {
            (b, a)
        };
        return Err(GraphError::Overlap { first, second });
    }
    Ok(())
}

/// Reads the table `entry` references and opens it against the root, following its chain.
fn open<'m, E: Entry, M: PhysMemory + PhysMem + Sync>(
    mem: &'m M,
    root: &Root<'_>,
    entry: &DirEntry,
) -> Result<Table<'m, E>, GraphError> {
    let memory = |error| GraphError::Memory {
        kind: E::KIND,
        error,
    };
    let len = usize::try_from(entry.length()).map_err(|_| {
        memory(MemError {
            addr: entry.phys_addr(),
            len: usize::MAX,
            fault: MemFault::Overflow,
        })
    })?;
    // The first block through this crate's memory, for its precise error.
    PhysMemory::read(mem, entry.phys_addr(), len).map_err(memory)?;
    root.open_table::<E>(mem).map_err(GraphError::Table)
}

/// Checks that the root and the records of `directory` share no byte: sorts their spans by
/// address and compares neighbours, O(k log k) for k <= [`MAX_RECORDS`].
fn check_layout<'a>(
    root_addr: u64,
    root_len: usize,
    directory: impl ExactSizeIterator<Item = &'a DirEntry>,
) -> Result<(), GraphError> {
    let count = directory.len();
    let too_many = GraphError::TooManyRecords {
        count: count as u64,
        max: MAX_RECORDS as u64,
    };
    if count > MAX_RECORDS {
        return Err(too_many);
    }
    let mut spans: Vec<Span, { MAX_RECORDS + 1 }> = Vec::new();
    let root = Span {
        magic: RecordKind::Root.magic(),
        addr: root_addr,
        len: root_len as u64,
    };
    spans.push(root).map_err(|_| too_many)?;
    for e in directory {
        let span = Span {
            magic: e.magic(),
            addr: e.phys_addr(),
            len: u64::from(e.length()),
        };
        spans.push(span).map_err(|_| too_many)?;
    }
    // Magics are unique (the root's differs from every directory entry's, which are strictly
    // ascending), so the order is total and the first overlap reported is deterministic.
    spans.sort_unstable_by_key(|s| (s.addr, s.magic));
    for pair in spans.windows(2) {
        if let [first, second] = pair
            && first.end() > second.addr
        {
            return Err(GraphError::Overlap {
                first: *first,
                second: *second,
            });
        }
    }
    Ok(())
}

/// Writes the root record at `root_addr`, referencing `records` (in any order; one per kind),
/// after checking that none of them and the root share a byte; then loads the whole handover
/// back from `mem`, exactly as the next kernel will, and returns the root's length.
///
/// `records` are the directory entries the serializers returned
/// ([`FlbRegistry::serialize`](crate::flb::FlbRegistry::serialize),
/// [`PciTracker::serialize`](crate::pci::PciTracker::serialize)); each must already be in
/// `mem` with the same `generation`.
///
/// # Errors
///
/// [`GraphError::TooManyRecords`], [`GraphError::Overlap`], [`GraphError::Memory`] when the
/// root does not fit the memory, [`GraphError::Encode`] for a duplicate kind, and any error of
/// [`Handover::load`] from the read-back.
pub fn write_root<M: PhysMemoryMut + PhysMem + Sync>(
    mem: &mut M,
    version: AbiVersion,
    root_addr: u64,
    generation: Generation,
    records: &[DirEntry],
) -> Result<usize, GraphError> {
    let too_many = GraphError::TooManyRecords {
        count: records.len() as u64,
        max: MAX_RECORDS as u64,
    };
    let mut directory: Vec<DirEntry, MAX_RECORDS> = Vec::new();
    directory.extend_from_slice(records).map_err(|_| too_many)?;
    directory.sort_unstable_by_key(DirEntry::magic);
    let capacity = u32::try_from(directory.len()).map_err(|_| too_many)?;
    let root_len = Root::len_for(version, Capacity::new(capacity)).ok_or(too_many)?;
    check_layout(root_addr, root_len, directory.iter())?;
    let out = mem
        .slice_mut(root_addr, root_len)
        .map_err(|error| GraphError::Memory {
            kind: RecordKind::Root,
            error,
        })?;
    Root::encode(
        out,
        Encoding::new(version, generation, Capacity::new(capacity)),
        directory.iter().copied(),
    )
    .map_err(GraphError::Encode)?;
    Handover::load(&*mem, root_addr, root_len)?;
    Ok(root_len)
}
