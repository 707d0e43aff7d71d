//! Tables spanning a chain of blocks: the walk, every way a chain can be broken and the error
//! for each (with the block it names), and the writer's errors.

use liveupdate_abi::Generation;
use liveupdate_abi::{
    AbiVersion, BlockPlace, ChainFault, DecodeError, EncodeError, EntryFault, FlbEntry, FlbFlags,
    PciAddress, PciDevice, PciEntry, RecordKind, Table, TableError,
};

use crate::common::{Memory, PCI2_SIZE, raw_pci2};
use crate::v1::RawRecord;
use liveupdate_abi::PhysAddr;

const PCI: RecordKind = RecordKind::PciTable;
const BASE: u64 = 0x4000_0000;

/// A v1.1 PCI block written from SPEC.md: devices `0:bus:00.0` with refcount 1, `capacity`
/// slots, the link (`None`: `CHAINED` clear).
fn raw_block(buses: &[u8], capacity: u32, link: Option<(u64, u32)>, generation: u64) -> Vec<u8> {
    let entries = buses
        .iter()
        .map(|&bus| raw_pci2(0, u16::from(bus) << 8, 1, 0, 0, 0, 0, 0))
        .collect();
    let mut raw = RawRecord::new(PCI, capacity, entries);
    raw.minor = 1;
    raw.entry_size = u16::try_from(PCI2_SIZE).unwrap();
    raw.generation = generation;
    if let Some((next, index)) = link {
        raw.incompat = 1;
        raw.reserved[..8].copy_from_slice(&next.to_le_bytes());
        raw.reserved[8..12].copy_from_slice(&index.to_le_bytes());
    }
    raw.bytes()
}

/// Length of a block of `capacity` slots.
fn len(capacity: u32) -> usize {
    64 + PCI2_SIZE * capacity as usize
}

/// Blocks (address, buses, link) in a fresh memory.
/// A block to write: address, buses of its devices, link (`next`, `index`).
type Spec<'a> = (u64, &'a [u8], Option<(u64, u32)>);

fn memory(blocks: &[Spec<'_>]) -> Memory {
    let mut mem = Memory::new(BASE, 0x10000);
    for &(phys, buses, link) in blocks {
        mem.put(phys, &raw_block(buses, 2, link, 7));
    }
    mem
}

fn decode(mem: &Memory) -> Result<Table<'_, PciEntry>, TableError> {
    Table::<PciEntry>::decode(mem, PhysAddr::new(BASE), len(2))
}

fn fault(block: u32, phys: u64, fault: ChainFault) -> TableError {
    TableError {
        block,
        phys: PhysAddr::new(phys),
        error: DecodeError::Chain { kind: PCI, fault },
    }
}

fn write_fault(block: u32, phys: u64, fault: ChainFault) -> TableError<EncodeError> {
    TableError {
        block,
        phys: PhysAddr::new(phys),
        error: EncodeError::Chain { kind: PCI, fault },
    }
}

const B0: u64 = BASE;
const B1: u64 = BASE + 0x400;
const B2: u64 = BASE + 0x800;

#[test]
fn a_chain_is_walked_in_order() {
    let mem = memory(&[
        (B0, &[1, 2], Some((B1, 0))),
        (B1, &[3, 4], Some((B2, 1))),
        (B2, &[5], Some((0, 2))),
    ]);
    let table = decode(&mem).unwrap();
    assert_eq!((table.block_count(), table.len()), (3, 5));
    let buses: Vec<u8> = table.iter().map(|e| e.address().bus()).collect();
    assert_eq!(buses, [1, 2, 3, 4, 5]);
    for bus in 1..=5 {
        let address = PciAddress::new(0, bus, 0, 0).unwrap();
        assert!(table.is_preserved(address), "bus {bus}");
        assert_eq!(table.device(address).map(|d| d.refcount), Some(1));
    }
    for bus in [0, 6, 0xff] {
        assert!(!table.is_preserved(PciAddress::new(0, bus, 0, 0).unwrap()));
    }
    let blocks: Vec<_> = table
        .blocks()
        .map(|b| (b.index, b.phys.raw(), b.record.entries().len()))
        .collect();
    assert_eq!(blocks, [(0, B0, 2), (1, B1, 2), (2, B2, 1)]);
}

#[test]
fn broken_links_name_the_block() {
    let cases: Vec<(Vec<Spec<'_>>, TableError)> = vec![
        // The first block must be block 0 and link somewhere.
        (
            vec![(B0, &[1], Some((B1, 3)))],
            fault(0, B0, ChainFault::Index { found: 3 }),
        ),
        (
            vec![(B0, &[1], Some((0, 0)))],
            fault(0, B0, ChainFault::Single),
        ),
        (
            vec![(B0, &[], Some((B1, 0))), (B1, &[2], Some((0, 1)))],
            fault(0, B0, ChainFault::EmptyBlock),
        ),
        // Block 1 must know it is block 1, set CHAINED and hold an entry.
        (
            vec![(B0, &[1], Some((B1, 0))), (B1, &[2], Some((0, 2)))],
            fault(1, B1, ChainFault::Index { found: 2 }),
        ),
        (
            vec![(B0, &[1], Some((B1, 0))), (B1, &[2], None)],
            fault(1, B1, ChainFault::NotChained),
        ),
        (
            vec![(B0, &[1], Some((B1, 0))), (B1, &[], Some((0, 1)))],
            fault(1, B1, ChainFault::EmptyBlock),
        ),
        // Links back to a block, into one, or below the previous block.
        (
            vec![(B0, &[1], Some((B1, 0))), (B1, &[2], Some((B0, 1)))],
            fault(2, B0, ChainFault::Cycle { to_block: 0 }),
        ),
        (
            vec![(B0, &[1], Some((B1, 0))), (B1, &[2], Some((B1, 1)))],
            fault(2, B1, ChainFault::Cycle { to_block: 1 }),
        ),
        (
            vec![(B0, &[1], Some((B2, 0))), (B2, &[2], Some((B0 + 8, 1)))],
            fault(2, B0 + 8, ChainFault::Overlap { with_block: 0 }),
        ),
        (
            vec![(B0, &[1], Some((B0 + 16, 0)))],
            fault(1, B0 + 16, ChainFault::Overlap { with_block: 0 }),
        ),
        (
            vec![(B1, &[1], Some((B0, 0)))],
            fault(
                1,
                B0,
                ChainFault::OutOfOrder {
                    after: PhysAddr::new(B1 + len(2) as u64),
                },
            ),
        ),
        // A link out of memory.
        (
            vec![(B0, &[1], Some((BASE + 0x1_0000, 0)))],
            fault(
                1,
                BASE + 0x1_0000,
                ChainFault::Unmapped(Memory::new(BASE, 0x10000).unmapped(BASE + 0x1_0000, 64)),
            ),
        ),
    ];
    for (i, (blocks, expected)) in cases.into_iter().enumerate() {
        let head = blocks[0].0;
        let mem = memory(&blocks);
        let got = Table::<PciEntry>::decode(&mem, PhysAddr::new(head), len(2)).map(|t| t.len());
        assert_eq!(got, Err(expected), "case {i}");
        // Every error formats with the block and the kind.
        let text = got.unwrap_err().to_string();
        assert!(
            text.starts_with("block ") && text.contains("pci table"),
            "{text}"
        );
    }
}

#[test]
fn a_block_truncated_by_the_end_of_memory_is_unmapped() {
    let mut mem = memory(&[(B0, &[1], Some((B1, 0))), (B1, &[2], Some((0, 1)))]);
    mem.bytes
        .truncate(usize::try_from(B1 - BASE).unwrap() + 100);
    assert_eq!(
        decode(&mem).map(drop),
        Err(fault(1, B1, ChainFault::Unmapped(mem.unmapped(B1, len(2)))))
    );
}

#[test]
fn every_block_is_a_checked_record_of_the_same_update() {
    let good = [
        (B0, &[1u8][..], Some((B1, 0))),
        (B1, &[2][..], Some((0, 1))),
    ];
    // A damaged block is reported as its own record's error.
    let mut mem = memory(&good);
    mem.at(B1 + 70, 1)[0] ^= 1;
    let err = decode(&mem).unwrap_err();
    assert_eq!((err.block, err.phys), (1, PhysAddr::new(B1)));
    assert!(matches!(err.error, DecodeError::Checksum { kind: PCI, .. }));
    // A block of another update (generation) is stale.
    let mut mem = memory(&good);
    mem.put(B1, &raw_block(&[2], 2, Some((0, 1)), 6));
    assert_eq!(
        decode(&mem).map(drop),
        Err(TableError {
            block: 1,
            phys: PhysAddr::new(B1),
            error: DecodeError::Generation {
                kind: PCI,
                expected: Generation::new(7),
                found: Generation::new(6)
            }
        })
    );
    // Entries ascend across blocks: block 1's first is checked against block 0's last.
    for (bus, fault) in [(1u8, EntryFault::Duplicate), (0, EntryFault::OutOfOrder)] {
        let mem = memory(&[(B0, &[1], Some((B1, 0))), (B1, &[bus], Some((0, 1)))]);
        assert_eq!(
            decode(&mem).map(drop),
            Err(TableError {
                block: 1,
                phys: PhysAddr::new(B1),
                error: DecodeError::Entry {
                    kind: PCI,
                    index: 0,
                    offset: 64,
                    fault
                }
            })
        );
    }
}

#[test]
fn chains_longer_than_max_blocks_are_refused() {
    let max = liveupdate_abi::table::MAX_BLOCKS;
    let count = u64::from(max) + 1;
    let stride = len(1) as u64;
    let mut mem = Memory::new(BASE, usize::try_from(count * stride).unwrap());
    let devices = (0..count).map(|i| {
        let i = u32::try_from(i).unwrap();
        PciDevice::new(
            PciAddress {
                domain: i >> 16,
                bdf: (i & 0xffff) as u16,
            },
            1,
        )
    });
    let places: Vec<_> = (0..count)
        .map(|i| BlockPlace {
            phys: PhysAddr::new(BASE + i * stride),
            capacity: 1,
        })
        .collect();
    // The writer refuses to write more than MAX_BLOCKS blocks...
    let err = Table::<PciEntry>::encode(
        &mut mem,
        AbiVersion::V1_1,
        Generation::new(7),
        &places,
        devices.clone(),
    )
    .unwrap_err();
    let last = BASE + u64::from(max) * stride;
    assert_eq!(err, write_fault(max, last, ChainFault::TooLong { max }));
    // ... writes exactly MAX_BLOCKS ...
    let written = Table::<PciEntry>::encode(
        &mut mem,
        AbiVersion::V1_1,
        Generation::new(7),
        &places[..max as usize],
        devices.clone().take(max as usize),
    )
    .unwrap();
    assert_eq!(written.blocks, max);
    let table = Table::<PciEntry>::decode(&mem, PhysAddr::new(BASE), len(1)).unwrap();
    assert_eq!(table.block_count(), max);
    // ... and a reader refuses one more, linked from the last.
    let extra = raw_block(&[0], 1, Some((0, max)), 7);
    mem.put(last, &extra);
    let mut tail = mem.at(last - stride, len(1)).to_vec();
    tail[48..56].copy_from_slice(&last.to_le_bytes());
    crate::common::reseal_raw(&mut tail);
    mem.put(last - stride, &tail);
    assert_eq!(
        Table::<PciEntry>::decode(&mem, PhysAddr::new(BASE), len(1)).map(drop),
        Err(fault(max, last, ChainFault::TooLong { max }))
    );
}

#[test]
fn the_writer_checks_its_blocks() {
    let mut mem = Memory::new(BASE, 0x10000);
    let devices: Vec<_> = (1..=3u8)
        .map(|bus| PciDevice::new(PciAddress::new(0, bus, 0, 0).unwrap(), 1))
        .collect();
    let place = |phys, capacity| BlockPlace { phys, capacity };
    let write = |mem: &mut Memory, places: &[BlockPlace]| {
        Table::<PciEntry>::encode(
            mem,
            AbiVersion::V1_1,
            Generation::new(7),
            places,
            devices.clone(),
        )
        .map(|w| (w.blocks, w.entries))
    };
    assert_eq!(
        write(
            &mut mem,
            &[place(PhysAddr::new(B0), 2), place(PhysAddr::new(B1), 2)]
        ),
        Ok((2, 3))
    );
    // Blocks left over are not written.
    assert_eq!(
        write(
            &mut mem,
            &[place(PhysAddr::new(B0), 3), place(PhysAddr::new(B1), 2)]
        ),
        Ok((1, 3))
    );
    // Not enough room: the blocks' total capacity.
    assert_eq!(
        write(
            &mut mem,
            &[place(PhysAddr::new(B0), 1), place(PhysAddr::new(B1), 1)]
        ),
        Err(TableError {
            block: 1,
            phys: PhysAddr::new(B1),
            error: EncodeError::CapacityExceeded {
                kind: PCI,
                capacity: 2
            }
        })
    );
    assert_eq!(
        write(
            &mut mem,
            &[place(PhysAddr::new(B0), 1), place(PhysAddr::new(B0), 2)]
        ),
        Err(write_fault(1, B0, ChainFault::Cycle { to_block: 0 }))
    );
    assert_eq!(
        write(
            &mut mem,
            &[place(PhysAddr::new(B0), 1), place(PhysAddr::new(B0 + 8), 2)]
        ),
        Err(write_fault(
            1,
            B0 + 8,
            ChainFault::Overlap { with_block: 0 }
        ))
    );
    assert_eq!(
        write(
            &mut mem,
            &[place(PhysAddr::new(B1), 1), place(PhysAddr::new(B0), 2)]
        ),
        Err(write_fault(
            1,
            B0,
            ChainFault::OutOfOrder {
                after: PhysAddr::new(B1 + len(1) as u64)
            }
        ))
    );
    assert_eq!(
        write(
            &mut mem,
            &[
                place(PhysAddr::new(B0), 1),
                place(PhysAddr::new(BASE + 0x1_0000), 2)
            ]
        ),
        Err(write_fault(
            1,
            BASE + 0x1_0000,
            ChainFault::Unmapped(mem.unmapped(BASE + 0x1_0000, len(2)))
        ))
    );
    assert_eq!(
        write(&mut mem, &[]),
        Err(TableError {
            block: 0,
            phys: PhysAddr::new(0),
            error: EncodeError::CapacityExceeded {
                kind: PCI,
                capacity: 0
            }
        })
    );
}

#[test]
fn flb_tables_chain_too() {
    let mut mem = Memory::new(BASE, 0x10000);
    let names = ["a", "b", "c", "d", "e"];
    let entries: Vec<_> = names
        .iter()
        .map(|n| FlbEntry::new(n, 1, 1, FlbFlags::empty()).unwrap())
        .collect();
    let places: Vec<_> = (0..3)
        .map(|i| BlockPlace {
            phys: PhysAddr::new(BASE + i * 0x200),
            capacity: 2,
        })
        .collect();
    let written = Table::<FlbEntry>::encode(
        &mut mem,
        AbiVersion::V1_1,
        Generation::new(1),
        &places,
        entries.clone(),
    )
    .unwrap();
    assert_eq!(written.blocks, 3);
    let table = Table::<FlbEntry>::decode(&mem, PhysAddr::new(BASE), written.dir.length() as usize)
        .unwrap();
    assert_eq!(table.iter().copied().collect::<Vec<_>>(), entries);
    for name in names {
        assert_eq!(table.find(name).map(FlbEntry::name), Some(name));
    }
    for name in ["", "0", "aa", "f", "e\0"] {
        assert!(table.find(name).is_none(), "{name:?}");
    }
}

/// SPEC.md 11.1.7, K3: a block whose `record_len` is below 64 is read as its 64 header bytes
/// (`max(64, record_len)` bytes go to the decoder), so it fails step 11 with
/// `Inconsistent(record_len)`, never `NoRecord` or `TooShort`.
#[test]
fn a_block_shorter_than_a_header_is_inconsistent() {
    for record_len in [0u32, 1, 4, 32, 63] {
        let mut mem = memory(&[(B0, &[1], Some((B1, 0))), (B1, &[2], Some((0, 1)))]);
        mem.at(B1 + 20, 4)
            .copy_from_slice(&record_len.to_le_bytes());
        let mut block = mem.at(B1, len(2)).to_vec();
        crate::common::reseal_raw(&mut block[..64]);
        mem.put(B1, &block[..64]);
        assert_eq!(
            decode(&mem).map(drop),
            Err(TableError {
                block: 1,
                phys: PhysAddr::new(B1),
                error: DecodeError::Inconsistent {
                    kind: PCI,
                    field: liveupdate_abi::Field::RecordLength,
                    expected: len(2) as u64,
                    found: u64::from(record_len),
                }
            }),
            "record_len {record_len}"
        );
    }
}

/// SPEC.md 11.1.7: an unknown `ro_compat` bit in any block makes the whole table read-only
/// (the union of every block's unknown bits), though block 0 alone is read-write.
#[test]
fn an_unknown_ro_compat_bit_in_any_block_makes_the_table_read_only() {
    let mut mem = memory(&[
        (B0, &[1], Some((B1, 0))),
        (B1, &[2], Some((B2, 1))),
        (B2, &[3], Some((0, 2))),
    ]);
    let mut block = mem.at(B2, len(2)).to_vec();
    block[36..40].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    crate::common::reseal_raw(&mut block);
    mem.put(B2, &block);
    let table = decode(&mem).unwrap();
    assert_eq!(table.first().access(), liveupdate_abi::Access::ReadWrite);
    assert_eq!(
        table.access(),
        liveupdate_abi::Access::ReadOnly {
            unknown: 0x4000_0000
        }
    );
}

/// A chain of two blocks whose block 1 is `raw` (its link set to the end of the chain).
fn with_block1(mut raw: RawRecord) -> Memory {
    raw.incompat |= 1;
    raw.reserved = [0; 16];
    raw.reserved[8..12].copy_from_slice(&1u32.to_le_bytes());
    raw.generation = 7;
    let mut mem = memory(&[(B0, &[1], Some((B1, 0)))]);
    mem.put(B1, &raw.bytes());
    mem
}

fn block1(minor: u16) -> RawRecord {
    let mut raw = RawRecord::new(PCI, 2, vec![raw_pci2(0, 2 << 8, 1, 0, 0, 0, 0, 0)]);
    raw.minor = minor;
    raw.entry_size = u16::try_from(PCI2_SIZE).unwrap();
    raw
}

/// SPEC.md 11.1.6 step 16: "only when not newer" governs both clauses. A chained block of the
/// reader's minor must have bytes 60..63 zero; a newer one's bytes 48..63 are not checked
/// beyond the link.
#[test]
fn step_16_checks_header_reserved_bytes_only_when_not_newer() {
    let mut mem = with_block1(block1(1));
    mem.at(B1 + 60, 1)[0] = 0xaa;
    let mut block = mem.at(B1, len(2)).to_vec();
    crate::common::reseal_raw(&mut block);
    mem.put(B1, &block);
    assert_eq!(
        decode(&mem).map(drop).map_err(|e| (e.block, e.error)),
        Err((
            1,
            DecodeError::Reserved {
                kind: PCI,
                offset: 60
            }
        ))
    );
    let mut raw = block1(2);
    raw.ro_compat = 0;
    let mut mem = with_block1(raw);
    mem.at(B1 + 60, 1)[0] = 0xaa;
    let mut block = mem.at(B1, len(2)).to_vec();
    crate::common::reseal_raw(&mut block);
    mem.put(B1, &block);
    assert_eq!(decode(&mem).map(|t| t.len()), Ok(2));
}

/// SPEC.md 11.1.6 step 19 for a newer minor: the bits known at the reader's minor are compared
/// with what the entries use (HIERARCHY without a DESCENDANT entry is inconsistent); bits the
/// reader does not know are not compared and make the record, and the table, read-only.
#[test]
fn step_19_at_a_newer_minor_compares_the_readers_known_bits() {
    let mut raw = block1(2);
    raw.ro_compat = 0x1;
    assert_eq!(
        decode(&with_block1(raw))
            .map(drop)
            .map_err(|e| (e.block, e.error)),
        Err((
            1,
            DecodeError::Inconsistent {
                kind: PCI,
                field: liveupdate_abi::Field::RoCompat,
                expected: 0,
                found: 1
            }
        ))
    );
    let mut raw = block1(2);
    raw.ro_compat = 0x2;
    assert_eq!(
        decode(&with_block1(raw)).map(|t| t.access()),
        Ok(liveupdate_abi::Access::ReadOnly { unknown: 0x2 })
    );
}

/// SPEC.md section 5: checks marked *(not newer)* apply at every minor up to the reader's, not
/// only minor 0: a minor-1 entry with an unknown flag is refused by a 1.1 reader, a minor-2 one
/// is accepted.
#[test]
fn not_newer_checks_apply_at_every_minor_up_to_the_readers() {
    let entry = || vec![raw_pci2(0, 2 << 8, 1, 0, 0, 0, 0x8, 0)];
    let mut raw = block1(1);
    raw.entries = entry();
    let err = decode(&with_block1(raw)).unwrap_err();
    assert_eq!(err.block, 1);
    assert!(
        matches!(
            err.error,
            DecodeError::Entry {
                fault: EntryFault::UnknownFlags { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let mut raw = block1(2);
    raw.entries = entry();
    assert_eq!(decode(&with_block1(raw)).map(|t| t.len()), Ok(2));
}
