//! Fuzz bodies for chained tables: plain functions over bytes that a cargo-fuzz target (or a
//! corpus replay test) wraps, panicking on `Err`.
//!
//! Input: a little-endian `u16` offset of the first block and a `u16` length of it, then the
//! memory, placed at physical address [`BASE`]. The `_sealed` bodies first re-seal every
//! record they find along the links (following at most [`MAX_SEALED`] of them), so the checks
//! behind the CRCs (links, cycles, overlaps, order across blocks) are reached.
//!
//! A table that decodes is checked whole (counts, order, lookups, block placement) and, when
//! it is what the encoder writes (minor 1, no feature bit unknown to it), re-encoded from its
//! items into the same blocks: the bytes must be the same. Nothing allocates.
#![allow(
    clippy::missing_errors_doc,
    reason = "a body's Err is a broken invariant, which its message names"
)]

use core::fmt::{self, Write};

use zerocopy::FromBytes;

use liveupdate_abi::flb::FlbEntry;
use liveupdate_abi::header::{CRC_OFFSET, HEADER_LEN, RecordHeader};
use liveupdate_abi::mem::{PhysAddr, SliceMemory};
use liveupdate_abi::pci::PciEntry;
use liveupdate_abi::record::Entry;
use liveupdate_abi::table::{BlockPlace, MAX_BLOCKS, Table};
use liveupdate_abi::version::AbiVersion;

/// The outcome of a body: `Err` names a broken invariant.
pub type Verdict = Result<(), &'static str>;

/// Physical address of the first byte of the memory in the input.
pub const BASE: u64 = 0x1_0000;
/// Most records a `_sealed` body re-seals.
pub const MAX_SEALED: usize = 64;
/// Largest memory re-encoded for comparison; larger inputs are only decoded and checked.
const MAX_MEMORY: usize = 4096;
/// Most blocks re-encoded for comparison.
const MAX_PLACES: usize = 64;

/// PCI table over the memory as given.
pub fn table_pci(data: &[u8]) -> Verdict {
    body::<PciEntry>(data, false)
}

/// PCI table over the memory with every record along the links re-sealed.
pub fn table_pci_sealed(data: &[u8]) -> Verdict {
    body::<PciEntry>(data, true)
}

/// FLB table over the memory as given.
pub fn table_flb(data: &[u8]) -> Verdict {
    body::<FlbEntry>(data, false)
}

/// FLB table over the memory with every record along the links re-sealed.
pub fn table_flb_sealed(data: &[u8]) -> Verdict {
    body::<FlbEntry>(data, true)
}

fn body<E: Entry + PartialEq>(data: &[u8], sealed: bool) -> Verdict
where
    E::Item: PartialEq,
{
    let (Some(head), Some(len), Some(memory)) = (
        data.get(..2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes),
        data.get(2..4)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes),
        data.get(4..),
    ) else {
        return Ok(());
    };
    let head = BASE + u64::from(head);
    let len = usize::from(len);
    if !sealed {
        return check::<E>(memory, head, len);
    }
    let mut copy = [0u8; MAX_MEMORY];
    let Some(copy) = copy.get_mut(..memory.len()) else {
        return Ok(());
    };
    copy.copy_from_slice(memory);
    reseal_along_links(copy, head);
    check::<E>(copy, head, len)
}

/// Re-seals the record at `head` and those its links lead to, as far as they stay inside.
fn reseal_along_links(memory: &mut [u8], head: u64) {
    let mut phys = head;
    for _ in 0..MAX_SEALED {
        let Some(start) = phys.checked_sub(BASE).and_then(|o| usize::try_from(o).ok()) else {
            return;
        };
        let Some(header) = memory
            .get(start..)
            .and_then(|m| RecordHeader::read_from_prefix(m).ok())
            .map(|(h, _)| h)
        else {
            return;
        };
        let len = usize::try_from(header.record_len()).unwrap_or(usize::MAX);
        let Some(record) = start
            .checked_add(len)
            .filter(|_| len >= HEADER_LEN)
            .and_then(|end| memory.get_mut(start..end))
        else {
            return;
        };
        let crc = record_crc(record);
        if let Some(field) = record.get_mut(CRC_OFFSET..CRC_OFFSET + 4) {
            field.copy_from_slice(&crc.to_le_bytes());
        }
        match header.link() {
            Some(link) if link.next != 0 => phys = link.next,
            _ => return,
        }
    }
}

fn check<E: Entry + PartialEq>(memory: &[u8], head: u64, len: usize) -> Verdict
where
    E::Item: PartialEq,
{
    let mem = SliceMemory::new(PhysAddr::new(BASE), memory);
    for reader in AbiVersion::ALL {
        let table = match Table::<E>::decode_as(&mem, PhysAddr::new(head), len, reader) {
            Ok(table) => table,
            Err(e) => {
                exercise(&e);
                continue;
            }
        };
        check_table(&table)?;
        if reader == AbiVersion::NEWEST {
            check_reencode(memory, &table)?;
        }
    }
    Ok(())
}

/// Counts, order and placement of a decoded table.
fn check_table<E: Entry>(table: &Table<'_, E>) -> Verdict {
    let (mut blocks, mut entries) = (0u32, 0u64);
    let mut prev_end = PhysAddr::NULL;
    for block in table.blocks() {
        if block.index != blocks {
            return Err("blocks out of sequence");
        }
        if block.index > 0 && block.phys < prev_end {
            return Err("blocks overlap or descend");
        }
        prev_end = block
            .phys
            .saturating_add(block.record.as_bytes().len() as u64);
        blocks = blocks.saturating_add(1);
        entries = entries.saturating_add(block.record.entries().len() as u64);
        if block.index > 0 && block.record.entries().is_empty() {
            return Err("an empty block in a chain accepted");
        }
        if block.record.generation() != table.generation() {
            return Err("a block of another generation accepted");
        }
    }
    if blocks != table.block_count() || blocks > MAX_BLOCKS || blocks == 0 {
        return Err("block count differs from the blocks walked");
    }
    if entries != table.len() || table.iter().count() as u64 != entries {
        return Err("entry count differs from the entries walked");
    }
    let mut last: Option<&E> = None;
    for entry in table.iter() {
        if entry.check(last, true).is_err() {
            return Err("entries not in strict order across blocks");
        }
        last = Some(entry);
    }
    Ok(())
}

/// A decoded table that the encoder would write re-encodes from its items into the same blocks
/// to the same bytes.
fn check_reencode<E: Entry + PartialEq>(memory: &[u8], table: &Table<'_, E>) -> Verdict
where
    E::Item: PartialEq,
{
    let canonical = table.blocks().all(|b| {
        let h = b.record.header();
        h.minor() == AbiVersion::V1_1.minor() && h.features().compat.is_empty()
    });
    if !canonical {
        return Ok(());
    }
    if table.access() != liveupdate_abi::header::Access::ReadWrite || memory.len() > MAX_MEMORY {
        return Ok(());
    }
    let mut places = [BlockPlace {
        phys: PhysAddr::NULL,
        capacity: 0,
    }; MAX_PLACES];
    let mut count = 0;
    for (slot, block) in places.iter_mut().zip(table.blocks()) {
        *slot = BlockPlace {
            phys: block.phys,
            capacity: block.record.header().entry_capacity(),
        };
        count += 1;
    }
    if count as u64 != u64::from(table.block_count()) {
        return Ok(());
    }
    let mut out = [0u8; MAX_MEMORY];
    let Some(out) = out.get_mut(..memory.len()) else {
        return Ok(());
    };
    let mut sink = SliceMemory::new(PhysAddr::new(BASE), out);
    let places = places.get(..count).unwrap_or(&[]);
    let written = Table::<E>::encode(
        &mut sink,
        AbiVersion::V1_1,
        table.generation(),
        places,
        table.items(),
    )
    .map_err(|_| "a decoded table does not re-encode")?;
    if written.blocks != table.block_count() || written.entries != table.len() {
        return Err("re-encoding used other blocks");
    }
    for block in table.blocks() {
        let start = usize::try_from(block.phys.raw() - BASE).unwrap_or(usize::MAX);
        let bytes = block.record.as_bytes();
        let again = start
            .checked_add(bytes.len())
            .and_then(|end| sink.bytes().get(start..end));
        if again != Some(bytes) {
            return Err("re-encoding differs");
        }
    }
    Ok(())
}

/// CRC-32C of a record with its CRC field taken as zero (SPEC section 5), through the
/// public CRC primitive: what `liveupdate_abi::seal` stores, without `seal`'s checks, so that
/// records `seal` refuses to touch are re-sealed too.
fn record_crc(record: &[u8]) -> u32 {
    use liveupdate_abi::checksum::update;
    let (head, tail) = record.split_at_checked(CRC_OFFSET).unwrap_or((record, &[]));
    let state = update(!0, head);
    let state = match tail.split_at_checked(4) {
        Some((_, rest)) => update(update(state, &[0; 4]), rest),
        None => update(state, tail),
    };
    !state
}

/// Formats `value` into nothing: errors' `Display` must not panic on any input.
fn exercise(value: &dyn fmt::Display) {
    struct Nowhere;
    impl Write for Nowhere {
        fn write_str(&mut self, _: &str) -> fmt::Result {
            Ok(())
        }
    }
    let _ = write!(Nowhere, "{value}");
}
