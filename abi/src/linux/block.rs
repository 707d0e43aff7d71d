//! `struct kho_block_header_ser` chains: fixed-size entries spread over linked pages.
//!
//! Each block is one page (`KHO_BLOCK_SIZE = PAGE_SIZE`), page-aligned, and starts with
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | `next` — physical address of the next block, 0 at the end |
//! | 8 | 8 | `count` — entries that follow in this block, `1..=(PAGE_SIZE - 16) / entry_size` |
//!
//! followed by `count` entries. The entry size is not recorded: the consumer knows it.
//! Source: "[PATCH v4 07/13] kho: add support for linked-block serialization" (Pasha Tatashin,
//! 30 May 2026) and its later revisions (`kho_block_set_restore()`: Floyd cycle check, at most
//! `KHO_MAX_BLOCKS` blocks, `count == 0 || count > count_per_block` refused).
//!
//! Blocks live outside the blob that points to them, so walking a chain reads physical memory
//! through the crate's [`PhysMem`]. Validation runs before any entry is looked at: at most
//! [`KHO_MAX_BLOCKS`] blocks, no cycle (Brent's algorithm, constant memory), every block
//! readable, page-aligned (so two distinct blocks cannot overlap, and a repeated block is a
//! cycle) and disjoint from the blob, every `count` within `1..=capacity`.

use core::fmt;
use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::linux::error::{BlockFault, CountField, LinuxError, Struct};
use crate::linux::order::F64;
use crate::linux::{ByteOrder, Kernel, PageSize};
use crate::mem::{MemError, PhysAddr, PhysMem};

/// Most blocks a chain may have (`KHO_MAX_BLOCKS` in the kernel): about 40 MiB of 4 KiB pages.
pub const KHO_MAX_BLOCKS: u32 = 10_000;

/// Size of `kho_block_header_ser`.
pub const BLOCK_HEADER_LEN: usize = size_of::<BlockHeaderSer>();

/// `struct kho_block_header_ser`. 16 bytes, packed, in the writer's byte order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct BlockHeaderSer {
    pub(crate) next: F64,
    pub(crate) count: F64,
}

const _: () = {
    assert!(size_of::<BlockHeaderSer>() == 16);
    assert!(offset_of!(BlockHeaderSer, next) == 0);
    assert!(offset_of!(BlockHeaderSer, count) == 8);
};

/// Entries of `entry_size` bytes one block of `page` holds: `(PAGE_SIZE - 16) / entry_size`
/// (0 for an entry size of 0).
pub const fn block_capacity(page: PageSize, entry_size: usize) -> u64 {
    if entry_size == 0 {
        return 0;
    }
    ((page.bytes() - BLOCK_HEADER_LEN) / entry_size) as u64
}

/// A validated chain: acyclic, bounded, every block readable and well-formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    head: PhysAddr,
    blocks: u32,
    entries: u64,
    entry_size: usize,
    kernel: Kernel,
}

/// One block of a validated chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainBlock<'m> {
    /// Position in the chain, from 0.
    pub index: u32,
    /// Physical address of the block.
    pub phys: PhysAddr,
    /// The block's `count` entries, `count * entry_size` bytes.
    pub entries: &'m [u8],
}

impl Chain {
    /// Validates the chain starting at `head` (0: an empty chain) of entries of `entry_size`
    /// bytes, in blocks of the page size of `kernel`, in its byte order. `blob` is the physical range `(address, length)` of
    /// the structure holding `head`, which no block may overlap, when known.
    ///
    /// Memory is read only through `mem`; at most [`KHO_MAX_BLOCKS`] blocks are validated
    /// (and, to tell a cycle from a long chain, up to 3 × [`KHO_MAX_BLOCKS`] more headers
    /// are followed).
    ///
    /// # Errors
    ///
    /// [`LinuxError::Block`] naming the block and its fault, [`LinuxError::ChainCycle`],
    /// [`LinuxError::ChainTooLong`].
    pub fn validate(
        mem: &dyn PhysMem,
        head: PhysAddr,
        entry_size: usize,
        kernel: Kernel,
        blob: Option<(PhysAddr, u64)>,
    ) -> Result<Chain, LinuxError> {
        let mut chain = Chain {
            head,
            blocks: 0,
            entries: 0,
            entry_size,
            kernel,
        };
        if head.is_null() {
            return Ok(chain);
        }
        let capacity = block_capacity(kernel.page(), entry_size);
        let mut walk = Brent::new(head);
        let mut index: u32 = 0;
        loop {
            let (next, count) =
                check_block(mem, walk.current, index, entry_size, kernel, capacity, blob)?;
            chain.entries = chain.entries.saturating_add(count);
            chain.blocks = index.saturating_add(1);
            if next.is_null() {
                return Ok(chain);
            }
            if chain.blocks >= KHO_MAX_BLOCKS {
                return Err(cycle_or_too_long(mem, kernel.order(), walk, next));
            }
            if let Some(phys) = walk.step(next) {
                return Err(LinuxError::ChainCycle { phys });
            }
            index = chain.blocks;
        }
    }

    /// Physical address of the first block, [`PhysAddr::NULL`] for an empty chain.
    pub fn head(&self) -> PhysAddr {
        self.head
    }

    /// Number of blocks.
    pub fn blocks(&self) -> u32 {
        self.blocks
    }

    /// Total entries over all blocks (the sum of the `count`s).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The blocks in chain order, read again through `mem` (which should be the memory the
    /// chain was validated with; iteration stops early where it no longer reads).
    pub fn iter<'m>(&self, mem: &'m dyn PhysMem) -> Blocks<'m> {
        Blocks {
            mem,
            next: self.head,
            index: 0,
            remaining: self.blocks,
            entry_size: self.entry_size,
            order: self.kernel.order(),
        }
    }
}

/// Iterator over the blocks of a validated [`Chain`].
pub struct Blocks<'m> {
    mem: &'m dyn PhysMem,
    next: PhysAddr,
    index: u32,
    remaining: u32,
    entry_size: usize,
    order: ByteOrder,
}

impl fmt::Debug for Blocks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocks")
            .field("next", &self.next)
            .field("index", &self.index)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl<'m> Iterator for Blocks<'m> {
    type Item = ChainBlock<'m>;

    fn next(&mut self) -> Option<ChainBlock<'m>> {
        if self.remaining == 0 || self.next.is_null() {
            return None;
        }
        let phys = self.next;
        let header = read_header(self.mem, phys)?;
        let count = usize::try_from(header.count.get(self.order)).ok()?;
        let used = count.checked_mul(self.entry_size)?;
        let block = self
            .mem
            .read(phys, BLOCK_HEADER_LEN.checked_add(used)?)
            .ok()?;
        let entries = block.get(BLOCK_HEADER_LEN..)?;
        let item = ChainBlock {
            index: self.index,
            phys,
            entries,
        };
        self.next = PhysAddr::new(header.next.get(self.order));
        self.index = self.index.saturating_add(1);
        self.remaining -= 1;
        Some(item)
    }
}

/// Brent's cycle detection over the chain: constant memory, the walk itself is the hare.
#[derive(Clone, Copy)]
struct Brent {
    current: PhysAddr,
    tortoise: PhysAddr,
    power: u32,
    lam: u32,
}

impl Brent {
    fn new(head: PhysAddr) -> Brent {
        Brent {
            current: head,
            tortoise: head,
            power: 1,
            lam: 0,
        }
    }

    /// Moves to `next`; returns it when it closes a cycle.
    fn step(&mut self, next: PhysAddr) -> Option<PhysAddr> {
        if self.lam == self.power {
            self.tortoise = self.current;
            self.power = self.power.saturating_mul(2);
            self.lam = 0;
        }
        self.current = next;
        self.lam = self.lam.saturating_add(1);
        (self.current == self.tortoise).then_some(next)
    }
}

/// After [`KHO_MAX_BLOCKS`] valid blocks: keeps following `next` pointers to report a cycle
/// rather than a long chain when there is one. A cycle through at most `KHO_MAX_BLOCKS`
/// distinct blocks is found within 3 × `KHO_MAX_BLOCKS` steps.
fn cycle_or_too_long(
    mem: &dyn PhysMem,
    order: ByteOrder,
    mut walk: Brent,
    mut next: PhysAddr,
) -> LinuxError {
    let too_long = LinuxError::ChainTooLong {
        max: KHO_MAX_BLOCKS,
    };
    for _ in 0..KHO_MAX_BLOCKS.saturating_mul(3) {
        if let Some(phys) = walk.step(next) {
            return LinuxError::ChainCycle { phys };
        }
        match read_header(mem, next).map(|h| h.next.get(order)) {
            Some(0) | None => return too_long,
            Some(n) => next = PhysAddr::new(n),
        }
    }
    too_long
}

fn read_header(mem: &dyn PhysMem, phys: PhysAddr) -> Option<&BlockHeaderSer> {
    mem.read(phys, BLOCK_HEADER_LEN)
        .ok()
        .and_then(|b| BlockHeaderSer::ref_from_bytes(b.get(..BLOCK_HEADER_LEN)?).ok())
}

/// Whether `[a, a + a_len)` and `[b, b + b_len)` intersect (ranges saturate at the top).
fn overlaps(a: PhysAddr, a_len: u64, b: PhysAddr, b_len: u64) -> bool {
    a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
}

/// Checks one block; returns its `next` and `count`.
fn check_block(
    mem: &dyn PhysMem,
    phys: PhysAddr,
    index: u32,
    entry_size: usize,
    kernel: Kernel,
    capacity: u64,
    blob: Option<(PhysAddr, u64)>,
) -> Result<(PhysAddr, u64), LinuxError> {
    let page = kernel.page();
    let fault = |fault| LinuxError::Block { index, phys, fault };
    if !phys.is_aligned(page.get()) {
        return Err(fault(BlockFault::Misaligned));
    }
    if blob.is_some_and(|(at, len)| overlaps(at, len, phys, page.get())) {
        return Err(fault(BlockFault::OverlapsBlob));
    }
    let bytes = mem
        .read(phys, BLOCK_HEADER_LEN)
        .map_err(|e| fault(BlockFault::Unmapped(e)))?;
    // A memory gives exactly the bytes asked for; one that gave fewer has mapped only those.
    let (header, _) = BlockHeaderSer::ref_from_prefix(bytes).map_err(|_| {
        let got = bytes.len() as u64;
        fault(BlockFault::Unmapped(MemError::unmapped(
            phys,
            BLOCK_HEADER_LEN,
            phys,
            got,
        )))
    })?;
    let count = header.count.get(kernel.order());
    if count == 0 {
        return Err(fault(BlockFault::ZeroCount));
    }
    if count > capacity {
        return Err(fault(BlockFault::OverCapacity { count, capacity }));
    }
    // count <= capacity < PAGE_SIZE, so this fits.
    let used = usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(entry_size))
        .and_then(|u| u.checked_add(BLOCK_HEADER_LEN))
        .ok_or(fault(BlockFault::OverCapacity { count, capacity }))?;
    mem.read(phys, used)
        .map_err(|e| fault(BlockFault::Unmapped(e)))?;
    Ok((PhysAddr::new(header.next.get(kernel.order())), count))
}

/// A page-sized buffer an encoder may use as one block, and the physical address it will
/// have.
#[derive(Debug)]
pub struct BlockBuf<'b> {
    /// Physical address of the block: page-aligned, not 0.
    pub phys: PhysAddr,
    /// The block's bytes; at least one page.
    pub buf: &'b mut [u8],
}

/// Writes `count` entries of `entry_size` bytes as a chain over the first blocks of
/// `blocks` (in order), in the page size and byte order of `kernel`, each filled up to its
/// capacity; `fill(i, slot)` writes entry `i`.
/// Every used block is one page: header, entries, zeroes. Returns the head (0 when `count`
/// is 0) and the number of blocks used.
pub(crate) fn write_chain(
    blocks: &mut [BlockBuf<'_>],
    kernel: Kernel,
    entry_size: usize,
    blob: Option<(PhysAddr, u64)>,
    count: u64,
    mut fill: impl FnMut(u64, &mut [u8]) -> Result<(), LinuxError>,
) -> Result<(PhysAddr, u32), LinuxError> {
    let page = kernel.page();
    let capacity = block_capacity(page, entry_size);
    let needed = if capacity == 0 {
        u64::MAX
    } else {
        count.div_ceil(capacity)
    };
    let max = u64::from(KHO_MAX_BLOCKS).min(blocks.len() as u64);
    if needed > max {
        return Err(LinuxError::Count {
            what: Struct::BlockHeader,
            field: CountField::Blocks,
            max,
            found: needed,
        });
    }
    // needed <= KHO_MAX_BLOCKS.
    let used = usize::try_from(needed).unwrap_or(0);
    let (used_blocks, _) = blocks.split_at_mut(used.min(blocks.len()));
    for (i, block) in used_blocks.iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let fault = |fault| LinuxError::Block {
            index,
            phys: block.phys,
            fault,
        };
        if block.phys.is_null() {
            return Err(fault(BlockFault::Null));
        }
        if !block.phys.is_aligned(page.get()) {
            return Err(fault(BlockFault::Misaligned));
        }
        if blob.is_some_and(|(at, len)| overlaps(at, len, block.phys, page.get())) {
            return Err(fault(BlockFault::OverlapsBlob));
        }
        if block.buf.len() < page.bytes() {
            return Err(LinuxError::BufferTooSmall {
                what: Struct::BlockHeader,
                needed: page.get(),
                found: block.buf.len() as u64,
            });
        }
    }
    // Distinct addresses: a repeated block would make a cycle. O(n^2) over at most
    // KHO_MAX_BLOCKS blocks, on the writer's side only.
    for (i, block) in used_blocks.iter().enumerate() {
        if used_blocks.iter().take(i).any(|b| b.phys == block.phys) {
            return Err(LinuxError::Block {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                phys: block.phys,
                fault: BlockFault::Repeated,
            });
        }
    }
    let mut written: u64 = 0;
    for i in 0..used {
        let next = used_blocks.get(i + 1).map_or(PhysAddr::NULL, |b| b.phys);
        let Some(block) = used_blocks.get_mut(i) else {
            break;
        };
        let page_buf = block.buf.get_mut(..page.bytes()).unwrap_or(&mut []);
        page_buf.fill(0);
        let in_block = capacity.min(count - written);
        let (head, body) = page_buf.split_at_mut(BLOCK_HEADER_LEN.min(page_buf.len()));
        let header = BlockHeaderSer {
            next: F64::new(next.raw(), kernel.order()),
            count: F64::new(in_block, kernel.order()),
        };
        head.copy_from_slice(header.as_bytes());
        for (slot, n) in body.chunks_exact_mut(entry_size).zip(0..in_block) {
            fill(written + n, slot)?;
        }
        written += in_block;
    }
    let head = used_blocks.first().map_or(PhysAddr::NULL, |b| b.phys);
    Ok((head, u32::try_from(used).unwrap_or(u32::MAX)))
}
