//! The handover graph: loading validates everything, every failure is named, and writing
//! produces what loading accepts.
// loom's primitives only work inside `loom::model`: these tests are for normal builds.
#![cfg(not(loom))]

mod common;

use common::{Recorder, Registry};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::PhysAddr;
use liveupdate_abi::header::HEADER_LEN;
use liveupdate_abi::{
    BlockPlace, ChainFault, DecodeError, DirEntry, DirectoryField, EncodeError, EntryFault,
    FlbEntry, PciAddress, RecordKind, Root, TableError, Unfit, seal,
};
use liveupdate_abi::{Capacity, Encoding, Generation};
use liveupdate_core::flb::FlbRegistry;
use liveupdate_core::graph::{GraphError, Handover, MAX_RECORDS, Span, write_root};
use liveupdate_core::mem::{DirectMap, MemError, MemFault, PhysMemMut, SliceMemory};
use liveupdate_core::pci::{PciError, PciTracker};
use proptest::prelude::*;

const BASE: u64 = 0x10_0000;
const SIZE: usize = 0x3000;
const FLB_AT: u64 = BASE;
const PCI_AT: u64 = BASE + 0x1000;
const ROOT_AT: u64 = BASE + 0x2000;
const LUOX: u32 = u32::from_le_bytes(*b"LUOX");

type Pci = PciTracker<16>;

/// A valid handover in `SIZE` bytes at `BASE`: an FLB table, a PCI table, a root.
fn image(generation: u64) -> (Vec<u8>, usize, [DirEntry; 2]) {
    let reg = Registry::new();
    reg.register("pci-v1", Recorder::leak("pci-v1", 0x55, 0))
        .unwrap();
    reg.preserve_file("pci-v1").unwrap();
    let pci = Pci::new();
    pci.preserve(PciAddress::new(0, 0x3b, 0, 0).unwrap())
        .unwrap();
    let mut mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; SIZE]);
    let flb = reg
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(FLB_AT),
            Generation::new(generation),
        )
        .unwrap();
    let pci = pci
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(PCI_AT),
            Generation::new(generation),
        )
        .unwrap();
    let root_len = write_root(
        &mut mem,
        AbiVersion::V1_0,
        PhysAddr::new(ROOT_AT),
        Generation::new(generation),
        &[pci, flb],
    )
    .unwrap();
    (mem.into_inner(), root_len, [flb, pci])
}

/// A root record whose directory holds exactly `entries` (magic, addr, len, crc), which may
/// be of kinds this version does not know (the encoder only takes known kinds).
fn raw_root(generation: u64, entries: &[(u32, u64, u32, u32)]) -> Vec<u8> {
    let cap = u32::try_from(entries.len()).unwrap();
    let mut bytes = vec![0u8; Root::len_for(AbiVersion::V1_0, Capacity::new(cap)).unwrap()];
    Root::encode(
        &mut bytes,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(generation),
            Capacity::new(cap),
        ),
        std::iter::empty::<DirEntry>(),
    )
    .unwrap();
    for (i, &(magic, addr, len, crc)) in entries.iter().enumerate() {
        let at = HEADER_LEN + usize::from(DirEntry::SIZE) * i;
        bytes[at..at + 4].copy_from_slice(&magic.to_le_bytes());
        bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        bytes[at + 8..at + 16].copy_from_slice(&addr.to_le_bytes());
        bytes[at + 16..at + 20].copy_from_slice(&len.to_le_bytes());
    }
    bytes[12..16].copy_from_slice(&cap.to_le_bytes()); // entry_count
    seal(RecordKind::Root, &mut bytes).unwrap();
    bytes
}

fn put(mem: &mut [u8], addr: u64, bytes: &[u8]) {
    let at = usize::try_from(addr - BASE).unwrap();
    mem[at..at + bytes.len()].copy_from_slice(bytes);
}

// ---------------------------------------------------------------- loading

#[test]
fn load_returns_every_record_validated() {
    let (bytes, root_len, _) = image(4);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    let handover = Handover::load(&mem, PhysAddr::new(ROOT_AT), root_len).unwrap();
    assert_eq!(handover.generation(), Generation::new(4));
    assert_eq!(
        handover.root_span(),
        Span {
            magic: RecordKind::Root.magic(),
            addr: PhysAddr::new(ROOT_AT),
            len: root_len as u64
        }
    );
    let flb = handover.flb_table().unwrap();
    assert_eq!(flb.find("pci-v1").map(FlbEntry::data), Some(0x55));
    let pci = handover.pci_table().unwrap();
    assert!(pci.is_preserved(PciAddress::new(0, 0x3b, 0, 0).unwrap()));
    assert_eq!(handover.unknown().count(), 0);
    assert_eq!(handover.root().entries().len(), 2);
}

#[test]
fn load_works_through_a_direct_map() {
    let (bytes, root_len, _) = image(1);
    let virt = bytes.as_ptr().expose_provenance();
    let offset = virt - usize::try_from(BASE).unwrap();
    // SAFETY: `bytes` outlives `map` and the handover, is not written while they live, and
    // its address was exposed above.
    let map = unsafe { DirectMap::new(offset, PhysAddr::new(BASE), bytes.len()) }.unwrap();
    let handover = Handover::load(&map, PhysAddr::new(ROOT_AT), root_len).unwrap();
    assert_eq!(handover.pci_table().unwrap().len(), 1);
    assert!(matches!(
        Handover::load(&map, PhysAddr::new(ROOT_AT + 0x1000), root_len),
        Err(GraphError::Memory {
            kind: RecordKind::Root,
            ..
        })
    ));
}

#[test]
fn no_handover_is_its_own_case() {
    let mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; SIZE]);
    assert_eq!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), 0).unwrap_err(),
        GraphError::NoHandover
    );
    assert_eq!(
        Handover::load(&mem, PhysAddr::new(0), 0).unwrap_err(),
        GraphError::NoHandover
    );
    // Zeroed memory: a zero magic.
    assert_eq!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), 112).unwrap_err(),
        GraphError::NoHandover
    );
    assert_eq!(
        GraphError::NoHandover.to_string(),
        "no handover: the root record has zero length or zero magic"
    );
}

#[test]
fn an_unmapped_root_is_a_memory_error() {
    let (bytes, root_len, _) = image(1);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    let err = Handover::load(&mem, PhysAddr::new(BASE + SIZE as u64 - 8), root_len).unwrap_err();
    assert_eq!(
        err,
        GraphError::Memory {
            kind: RecordKind::Root,
            error: MemError {
                addr: PhysAddr::new(BASE + SIZE as u64 - 8),
                len: root_len,
                fault: MemFault::Unmapped {
                    base: PhysAddr::new(BASE),
                    size: SIZE as u64
                }
            }
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "root: physical range at 0x102ff8 of {root_len} bytes is outside mapped memory at 0x100000 of 12288 bytes"
        )
    );
    assert!(matches!(
        Handover::load(&mem, PhysAddr::new(u64::MAX), 2),
        Err(GraphError::Memory {
            error: MemError {
                fault: MemFault::Overflow,
                ..
            },
            ..
        })
    ));
}

#[test]
fn a_corrupt_root_is_a_record_error() {
    let (mut bytes, root_len, _) = image(1);
    put(&mut bytes, ROOT_AT + 70, &[0xee]);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    assert!(matches!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), root_len),
        Err(GraphError::Record(DecodeError::Checksum {
            kind: RecordKind::Root,
            ..
        }))
    ));
    // A length that is not the root's.
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    assert!(matches!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), root_len - 8),
        Err(GraphError::Record(_))
    ));
}

#[test]
fn a_record_outside_memory_is_a_memory_error_naming_it() {
    let (mut bytes, _, [flb, pci]) = image(1);
    let outside = BASE + SIZE as u64;
    let root = raw_root(
        1,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), outside, pci.length(), pci.crc()),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    assert_eq!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err(),
        GraphError::Memory {
            kind: RecordKind::PciTable,
            error: MemError {
                addr: PhysAddr::new(outside),
                len: pci.length() as usize,
                fault: MemFault::Unmapped {
                    base: PhysAddr::new(BASE),
                    size: SIZE as u64
                }
            }
        }
    );
}

#[test]
fn a_corrupt_record_is_caught_by_its_checksum() {
    let (mut bytes, root_len, _) = image(1);
    put(&mut bytes, PCI_AT + 64, &[0x01]);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    assert!(matches!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), root_len),
        Err(GraphError::Table(TableError {
            block: 0,
            error: DecodeError::Checksum {
                kind: RecordKind::PciTable,
                ..
            },
            ..
        }))
    ));
}

#[test]
fn a_record_the_directory_does_not_describe_is_refused() {
    let (mut bytes, _, [flb, pci]) = image(1);
    // Stale CRC in the directory: a valid record, but not the one the root was written for.
    let root = raw_root(
        1,
        &[
            (
                flb.magic(),
                flb.phys_addr().raw(),
                flb.length(),
                flb.crc() ^ 1,
            ),
            (pci.magic(), pci.phys_addr().raw(), pci.length(), pci.crc()),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    assert!(matches!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()),
        Err(GraphError::Table(TableError {
            block: 0,
            error: DecodeError::Directory {
                kind: RecordKind::FlbTable,
                field: DirectoryField::Crc,
                ..
            },
            ..
        }))
    ));
}

#[test]
fn a_record_of_another_generation_is_refused() {
    let (mut bytes, _, [flb, pci]) = image(1);
    let root = raw_root(
        2,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), pci.phys_addr().raw(), pci.length(), pci.crc()),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    assert_eq!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err(),
        GraphError::Table(TableError {
            block: 0,
            phys: PhysAddr::new(FLB_AT),
            error: DecodeError::Generation {
                kind: RecordKind::FlbTable,
                expected: Generation::new(2),
                found: Generation::new(1)
            }
        })
    );
}

#[test]
fn overlapping_records_are_refused_naming_both() {
    let (mut bytes, _, [flb, pci]) = image(1);
    // The PCI table's directory entry claims to start inside the FLB table.
    let root = raw_root(
        1,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), FLB_AT + 0x100, pci.length(), pci.crc()),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    let err = Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err();
    let first = Span {
        magic: flb.magic(),
        addr: PhysAddr::new(FLB_AT),
        len: u64::from(flb.length()),
    };
    let second = Span {
        magic: pci.magic(),
        addr: PhysAddr::new(FLB_AT + 0x100),
        len: u64::from(pci.length()),
    };
    assert_eq!(err, GraphError::Overlap { first, second });
    assert_eq!(
        err.to_string(),
        format!(
            "flb table at [0x100000, {:#x}) overlaps pci table at [0x100100, {:#x})",
            FLB_AT + u64::from(flb.length()),
            FLB_AT + 0x100 + u64::from(pci.length())
        )
    );
}

#[test]
fn a_record_overlapping_the_root_is_refused() {
    let (mut bytes, _, [flb, pci]) = image(1);
    let root = raw_root(
        1,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), ROOT_AT - 8, pci.length(), pci.crc()),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    match Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err() {
        GraphError::Overlap { first, second } => {
            assert_eq!(first.kind(), Some(RecordKind::PciTable));
            assert_eq!(second.kind(), Some(RecordKind::Root));
            assert_eq!(second.addr, PhysAddr::new(ROOT_AT));
        }
        other => panic!("expected an overlap, got {other:?}"),
    }
}

#[test]
fn unknown_kinds_are_listed_not_read_but_checked_for_overlap() {
    let (mut bytes, _, [flb, pci]) = image(1);
    // A newer kernel's record, placed outside the mapped memory: never read.
    let far = 0x7000_0000;
    let root = raw_root(
        1,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), pci.phys_addr().raw(), pci.length(), pci.crc()),
            (LUOX, far, 4096, 0x1234),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    let handover = Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap();
    let unknown: Vec<_> = handover
        .unknown()
        .map(|e| (e.magic(), e.phys_addr().raw(), e.length()))
        .collect();
    assert_eq!(unknown, [(LUOX, far, 4096)]);
    assert!(handover.flb_table().is_some() && handover.pci_table().is_some());

    // The same record placed over the PCI table is an overlap.
    let root = raw_root(
        1,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), pci.phys_addr().raw(), pci.length(), pci.crc()),
            (LUOX, PCI_AT + 8, 64, 0x1234),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    let err = Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "pci table at [0x101000, {:#x}) overlaps record 0x584f554c \"LUOX\" at [0x101008, 0x101048)",
            PCI_AT + u64::from(pci.length())
        )
    );
}

#[test]
fn a_directory_over_the_limit_is_refused() {
    let entries: Vec<_> = (0..=u32::try_from(MAX_RECORDS).unwrap())
        .map(|i| (LUOX + i, 0x1000_0000 + u64::from(i) * 0x1000, 64, 0))
        .collect();
    let root = raw_root(1, &entries);
    let mem = SliceMemory::new(PhysAddr::new(0), &root[..]);
    let err = Handover::load(&mem, PhysAddr::new(0), root.len()).unwrap_err();
    assert_eq!(err, GraphError::TooManyRecords { count: 17, max: 16 });
    assert_eq!(
        err.to_string(),
        "root: the directory references 17 records, this reader accepts at most 16"
    );
    // Exactly the limit is fine.
    let root = raw_root(1, &entries[..MAX_RECORDS]);
    let mem = SliceMemory::new(PhysAddr::new(0), &root[..]);
    assert_eq!(
        Handover::load(&mem, PhysAddr::new(0), root.len())
            .unwrap()
            .unknown()
            .count(),
        16
    );
}

#[test]
fn a_root_without_records_is_a_handover_without_tables() {
    let root = raw_root(7, &[]);
    let mem = SliceMemory::new(PhysAddr::new(0x5000), &root[..]);
    let handover = Handover::load(&mem, PhysAddr::new(0x5000), root.len()).unwrap();
    assert!(handover.flb_table().is_none() && handover.pci_table().is_none());
    assert_eq!(handover.generation(), Generation::new(7));
}

// ---------------------------------------------------------------- writing

#[test]
fn write_root_checks_before_writing() {
    let (bytes, _, [flb, pci]) = image(1);
    let fresh = || SliceMemory::new(PhysAddr::new(BASE), bytes.clone());

    let too_many = vec![flb; MAX_RECORDS + 1];
    assert_eq!(
        write_root(
            &mut fresh(),
            AbiVersion::V1_0,
            PhysAddr::new(ROOT_AT),
            Generation::new(1),
            &too_many
        ),
        Err(GraphError::TooManyRecords { count: 17, max: 16 })
    );
    // Two FLB tables (at different places: at the same place they would overlap).
    let second_flb = DirEntry::new(
        RecordKind::FlbTable,
        PhysAddr::new(PCI_AT),
        pci.length(),
        pci.crc(),
    );
    assert!(matches!(
        write_root(
            &mut fresh(),
            AbiVersion::V1_0,
            PhysAddr::new(ROOT_AT),
            Generation::new(1),
            &[flb, second_flb]
        ),
        Err(GraphError::Encode(EncodeError::Entry {
            kind: RecordKind::Root,
            fault: EntryFault::Duplicate,
            ..
        }))
    ));
    // The root would cover the PCI table.
    let mut mem = fresh();
    assert!(matches!(
        write_root(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(PCI_AT + 16),
            Generation::new(1),
            &[flb, pci]
        ),
        Err(GraphError::Overlap { .. })
    ));
    assert_eq!(mem.into_inner(), bytes, "nothing written");
    assert!(matches!(
        write_root(
            &mut fresh(),
            AbiVersion::V1_0,
            PhysAddr::new(BASE + SIZE as u64 - 16),
            Generation::new(1),
            &[flb, pci]
        ),
        Err(GraphError::Memory {
            kind: RecordKind::Root,
            ..
        })
    ));
}

#[test]
fn what_write_root_wrote_is_validated_once_by_the_next_kernel() {
    // write_root checks placement and writes; it does not read the graph back. The one
    // validation is the next kernel's Handover::load, which refuses what does not hold.
    let (bytes, _, [flb, pci]) = image(1);
    // The records are generation 1: a root of generation 2 does not describe them.
    let mut mem = SliceMemory::new(PhysAddr::new(BASE), bytes.clone());
    let len = write_root(
        &mut mem,
        AbiVersion::V1_0,
        PhysAddr::new(ROOT_AT),
        Generation::new(2),
        &[flb, pci],
    )
    .expect("placement holds");
    assert_eq!(
        Handover::load(&mem, PhysAddr::new(ROOT_AT), len).map(drop),
        Err(GraphError::Table(TableError {
            block: 0,
            phys: PhysAddr::new(FLB_AT),
            error: DecodeError::Generation {
                kind: RecordKind::FlbTable,
                expected: Generation::new(2),
                found: Generation::new(1)
            }
        }))
    );
    // A record that is not in memory.
    let mut empty = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; SIZE]);
    let len = write_root(
        &mut empty,
        AbiVersion::V1_0,
        PhysAddr::new(ROOT_AT),
        Generation::new(1),
        &[flb],
    )
    .expect("placement holds");
    assert!(matches!(
        Handover::load(&empty, PhysAddr::new(ROOT_AT), len),
        Err(GraphError::Table(TableError {
            block: 0,
            error: DecodeError::NoRecord {
                kind: RecordKind::FlbTable
            },
            ..
        }))
    ));
}

#[test]
fn chained_tables_are_written_followed_and_placed() {
    // v2: the PCI table over three blocks, the FLB table over two, placed between and after
    // the other records; the next kernel follows everything through the chains.
    let mut mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; SIZE]);
    let tracker: PciTracker<8> = PciTracker::new();
    for bus in 1..=5 {
        tracker
            .preserve(PciAddress::new(0, bus, 0, 0).unwrap())
            .unwrap();
    }
    let block = |phys, capacity| BlockPlace { phys, capacity };
    let pci_blocks = [
        block(PhysAddr::new(PCI_AT), 2),
        block(PhysAddr::new(PCI_AT + 0x100), 2),
        block(PhysAddr::new(ROOT_AT + 0x400), 2),
    ];
    let pci = tracker
        .serialize_blocks(&mut mem, AbiVersion::V1_1, &pci_blocks, Generation::new(4))
        .unwrap();
    let reg: FlbRegistry<4> = FlbRegistry::new();
    for name in ["a", "b", "c"] {
        reg.register(name, Recorder::leak(name, 1, 2)).unwrap();
        reg.preserve_file(name).unwrap();
    }
    let flb_blocks = [
        block(PhysAddr::new(FLB_AT), 2),
        block(PhysAddr::new(FLB_AT + 0x200), 2),
    ];
    let flb = reg
        .serialize_blocks(&mut mem, AbiVersion::V1_1, &flb_blocks, Generation::new(4))
        .unwrap();
    let len = write_root(
        &mut mem,
        AbiVersion::V1_1,
        PhysAddr::new(ROOT_AT),
        Generation::new(4),
        &[flb, pci],
    )
    .unwrap();
    let handover = Handover::load(&mem, PhysAddr::new(ROOT_AT), len).unwrap();
    let pci_table = handover.pci_table().unwrap();
    assert_eq!((pci_table.block_count(), pci_table.len()), (3, 5));
    assert!(pci_table.is_preserved(PciAddress::new(0, 5, 0, 0).unwrap()));
    let flb_table = handover.flb_table().unwrap();
    assert_eq!((flb_table.block_count(), flb_table.len()), (2, 3));
    assert!(flb_table.find("c").is_some());

    // A v1 writer has no chain to put five devices in.
    let err = tracker
        .serialize_blocks(&mut mem, AbiVersion::V1_0, &pci_blocks, Generation::new(4))
        .unwrap_err();
    assert_eq!(
        err,
        PciError::Table(TableError {
            block: 0,
            phys: PhysAddr::new(PCI_AT),
            error: EncodeError::Unfit {
                kind: RecordKind::PciTable,
                version: AbiVersion::V1_0,
                what: Unfit::Chain { capacity: 2 }
            }
        })
    );

    // A chain's second block inside a record of a kind this version does not read: the
    // chain is well formed, and the overlap is still found.
    let pci = tracker
        .serialize_blocks(&mut mem, AbiVersion::V1_1, &pci_blocks, Generation::new(4))
        .unwrap();
    let root = raw_root(
        4,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), pci.phys_addr().raw(), pci.length(), pci.crc()),
            (LUOX, PCI_AT + 0x100, 0x80, 0),
        ],
    );
    mem.write(PhysAddr::new(ROOT_AT), root.len())
        .unwrap()
        .copy_from_slice(&root);
    let err = Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err();
    let span = |magic, addr, len| Span { magic, addr, len };
    assert_eq!(
        err,
        GraphError::Overlap {
            first: span(
                RecordKind::PciTable.magic(),
                PhysAddr::new(PCI_AT + 0x100),
                112
            ),
            second: span(LUOX, PhysAddr::new(PCI_AT + 0x100), 0x80),
        }
    );
}

#[test]
fn a_chain_block_outside_memory_names_its_range() {
    // The PCI table over three blocks, the last above the memory the next kernel maps.
    let mut mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; SIZE]);
    let tracker: PciTracker<8> = PciTracker::new();
    for bus in 1..=5 {
        tracker
            .preserve(PciAddress::new(0, bus, 0, 0).unwrap())
            .unwrap();
    }
    let last = ROOT_AT + 0x400;
    let blocks = [PCI_AT, PCI_AT + 0x100, last].map(|at| BlockPlace {
        phys: PhysAddr::new(at),
        capacity: 2,
    });
    let pci = tracker
        .serialize_blocks(&mut mem, AbiVersion::V1_1, &blocks, Generation::new(4))
        .unwrap();
    let len = write_root(
        &mut mem,
        AbiVersion::V1_1,
        PhysAddr::new(ROOT_AT),
        Generation::new(4),
        &[pci],
    )
    .unwrap();
    let bytes = mem.into_inner();
    let mapped = usize::try_from(last - BASE).unwrap();
    let short = SliceMemory::new(PhysAddr::new(BASE), &bytes[..mapped]);
    let error = MemError {
        addr: PhysAddr::new(last),
        len: HEADER_LEN,
        fault: MemFault::Unmapped {
            base: PhysAddr::new(BASE),
            size: mapped as u64,
        },
    };
    let err = Handover::load(&short, PhysAddr::new(ROOT_AT), len).unwrap_err();
    assert_eq!(
        err,
        GraphError::Table(TableError {
            block: 2,
            phys: PhysAddr::new(last),
            error: DecodeError::Chain {
                kind: RecordKind::PciTable,
                fault: ChainFault::Unmapped(error),
            },
        })
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("{last:#x} of {HEADER_LEN} bytes")),
        "{text}"
    );

    // A first block out of memory is the record's own memory error, with its range
    // (a_record_outside_memory_is_a_memory_error_naming_it).
}

// ---------------------------------------------------------------- every byte

proptest! {
    /// Changing any one byte of the image fails the load exactly when the byte belongs to the
    /// root or to a record it references; bytes between records do not matter.
    #[test]
    fn one_changed_byte_fails_the_load_iff_it_is_in_a_record(
        offset in 0..SIZE,
        xor in 1u8..=255,
    ) {
        let (mut bytes, root_len, [flb, pci]) = image(1);
        bytes[offset] ^= xor;
        let addr = BASE + offset as u64;
        let within = |at: u64, len: u64| (at..at + len).contains(&addr);
        let in_record = within(ROOT_AT, root_len as u64)
            || within(flb.phys_addr().raw(), u64::from(flb.length()))
            || within(pci.phys_addr().raw(), u64::from(pci.length()));
        let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
        let result = Handover::load(&mem, PhysAddr::new(ROOT_AT), root_len);
        prop_assert_eq!(result.is_err(), in_record, "{:?}", result.err());
    }
}

/// SPEC.md 2.3: placement (G6) is checked before any referenced record is read (G7), so a
/// record that overlaps another is reported as the overlap even when it is also unmapped or
/// holds no record of its kind; an unknown kind over the root's own bytes is refused too.
#[test]
fn placement_is_checked_before_any_record_is_read() {
    let (mut bytes, _, [flb, pci]) = image(1);
    let far = 0x7000_0000;
    // The PCI table's entry points outside memory, onto the unknown record's bytes.
    let root = raw_root(
        1,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), far + 8, pci.length(), pci.crc()),
            (LUOX, far, 4096, 0x1234),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    match Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err() {
        GraphError::Overlap { first, second } => {
            assert_eq!((first.magic, second.magic), (LUOX, pci.magic()));
        }
        other => panic!("expected an overlap, got {other:?}"),
    }
    // An unknown kind covering the root's own bytes.
    let root = raw_root(
        1,
        &[
            (flb.magic(), flb.phys_addr().raw(), flb.length(), flb.crc()),
            (pci.magic(), pci.phys_addr().raw(), pci.length(), pci.crc()),
            (LUOX, ROOT_AT, 64, 0),
        ],
    );
    put(&mut bytes, ROOT_AT, &root);
    let mem = SliceMemory::new(PhysAddr::new(BASE), &bytes[..]);
    match Handover::load(&mem, PhysAddr::new(ROOT_AT), root.len()).unwrap_err() {
        GraphError::Overlap { first, second } => {
            assert_eq!(first.kind(), Some(RecordKind::Root));
            assert_eq!(second.magic, LUOX);
        }
        other => panic!("expected an overlap, got {other:?}"),
    }
}
