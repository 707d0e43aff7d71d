//! KHO block chains and the v7 chain-form `pci_ser`: golden layouts, cycle/length/overlap
//! detection, round trips, every refusal. (The image container's tests are in
//! `host-tests/tests/linux/image.rs`, beside the container.)

use crate::support::LE;
use crate::support::{Blob, Pages, devs};
use liveupdate_abi::linux::block::{Chain, block_capacity};
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer};
use liveupdate_abi::linux::{
    BlockBuf, BlockFault, CountField, KHO_MAX_BLOCKS, LinuxError, PageSize, ReprFault, SlotFault,
    Struct, Where,
};
use liveupdate_abi::{MemError, PciAddress, PciEntry, PhysAddr, PhysMem};

const PAGE: PageSize = PageSize::SIZE_4K;
const SER_PHYS: u64 = 0x9000;

/// v7 `pci_ser`: `{u32 nr_devices; u64 devices}`, 12 bytes, the u64 at offset 4.
fn ser(nr: u32, devices: u64) -> Vec<u8> {
    Blob::new().u32(nr).u64(devices).build()
}

fn addr(domain: u32, bdf: u16) -> PciAddress {
    PciAddress { domain, bdf }
}

fn buf() -> Vec<PciEntry> {
    vec![PciEntry::new(addr(0, 0), 1); 2048]
}

/// Two blocks: 0x20000 holds a device, a freed slot and a device; 0x5000 one device.
fn golden_mem() -> Pages {
    let mut mem = Pages::new(4096);
    mem.block(
        0x20000,
        0x5000,
        3,
        &devs(&[(0, 0x10, 1), (0, 0, 0), (1, 0x08, 1)]),
    );
    mem.block(0x5000, 0, 1, &devs(&[(0, 0x08, 1)]));
    mem
}

fn decode<'a>(blob: &'a [u8], mem: &'a Pages, compat: PciCompat) -> Result<PciSer<'a>, LinuxError> {
    PciSer::decode_chain(blob, Some(PhysAddr::new(SER_PHYS)), compat, mem, LE)
}

fn block_err(index: u32, phys: u64, fault: BlockFault) -> LinuxError {
    LinuxError::Block {
        index,
        phys: PhysAddr::new(phys),
        fault,
    }
}

#[test]
fn golden_v7_chain_decodes_with_its_misaligned_u64() {
    let blob = ser(3, 0x20000);
    assert_eq!(blob.len(), 12);
    assert_eq!(&blob[4..12], &0x20000u64.to_le_bytes());
    let mem = golden_mem();
    let pci = decode(&blob, &mem, PciCompat::V1).unwrap();
    assert_eq!(pci.devices_pa(), Some(PhysAddr::new(0x20000)));
    assert_eq!(pci.max_nr_devices(), None);
    assert_eq!((pci.nr_devices(), pci.slot_count()), (3, 4));
    let chain = pci.chain().unwrap();
    assert_eq!(
        (chain.head(), chain.blocks(), chain.entries()),
        (PhysAddr::new(0x20000), 2, 4)
    );
    let at: Vec<_> = pci.slots().map(|s| (s.index, s.at)).collect();
    assert_eq!(
        at,
        [
            (0, Where::Phys(PhysAddr::new(0x20010))),
            (1, Where::Phys(PhysAddr::new(0x20018))),
            (2, Where::Phys(PhysAddr::new(0x20020))),
            (3, Where::Phys(PhysAddr::new(0x5010))),
        ]
    );
    let mut out = buf();
    let entries = pci.to_entries(&mut out).unwrap();
    let got: Vec<_> = entries
        .iter()
        .map(|e| (e.address(), e.refcount()))
        .collect();
    assert_eq!(
        got,
        [(addr(0, 0x08), 1), (addr(0, 0x10), 1), (addr(1, 0x08), 1)]
    );
}

#[test]
fn an_empty_chain_needs_no_memory() {
    let blob = ser(0, 0);
    let pci = PciSer::decode(
        &blob,
        PciFormat::new(PciLayout::Chain, PciCompat::V2).unwrap(),
        LE,
    )
    .unwrap();
    assert_eq!(
        (pci.nr_devices(), pci.slot_count(), pci.devices_pa()),
        (0, 0, Some(PhysAddr::NULL))
    );
    // Without memory, a non-empty chain cannot be read.
    let blob = ser(1, 0x20000);
    assert_eq!(
        PciSer::decode(
            &blob,
            PciFormat::new(PciLayout::Chain, PciCompat::V2).unwrap(),
            LE,
        )
        .unwrap_err(),
        block_err(
            0,
            0x20000,
            BlockFault::Unmapped(MemError::unmapped(
                PhysAddr::new(0x20000),
                16,
                PhysAddr::NULL,
                0
            ))
        )
    );
}

#[test]
fn blob_length_is_exactly_twelve() {
    let mem = golden_mem();
    let blob = ser(3, 0x20000);
    assert_eq!(
        decode(&blob[..11], &mem, PciCompat::V1).unwrap_err(),
        LinuxError::TooShort {
            what: Struct::PciSer,
            needed: 12,
            found: 11
        }
    );
    let mut long = blob.clone();
    long.push(0);
    assert_eq!(
        decode(&long, &mem, PciCompat::V1).unwrap_err(),
        LinuxError::TooLong {
            what: Struct::PciSer,
            max: 12,
            found: 13
        }
    );
    assert_eq!(
        decode(&blob, &mem, PciCompat::V3).unwrap_err(),
        LinuxError::Format {
            layout: PciLayout::Chain,
            compat: PciCompat::V3
        }
    );
}

#[test]
fn block_faults_name_the_block() {
    let blob = |head| ser(1, head);
    let mut mem = golden_mem();
    assert_eq!(
        decode(&blob(0x20008), &mem, PciCompat::V2).unwrap_err(),
        block_err(0, 0x20008, BlockFault::Misaligned)
    );
    assert_eq!(
        decode(&blob(0x7000), &mem, PciCompat::V2).unwrap_err(),
        block_err(
            0,
            0x7000,
            BlockFault::Unmapped(mem.read(PhysAddr::new(0x7000), 16).unwrap_err())
        )
    );
    assert_eq!(
        PciSer::decode_chain(
            &blob(0x20000),
            Some(PhysAddr::new(0x20ff4)),
            PciCompat::V2,
            &mem,
            LE
        )
        .unwrap_err(),
        block_err(0, 0x20000, BlockFault::OverlapsBlob)
    );
    // The blob just below the block does not overlap it.
    assert!(matches!(
        PciSer::decode_chain(
            &blob(0x20000),
            Some(PhysAddr::new(0x20000 - 12)),
            PciCompat::V2,
            &mem,
            LE
        ),
        Err(LinuxError::DeviceCount { .. })
    ));
    mem.block(0x30000, 0, 0, &[]);
    assert_eq!(
        decode(&blob(0x30000), &mem, PciCompat::V2).unwrap_err(),
        block_err(0, 0x30000, BlockFault::ZeroCount)
    );
    mem.block(0x30000, 0, 511, &[]);
    let err = decode(&blob(0x30000), &mem, PciCompat::V2).unwrap_err();
    assert_eq!(
        err,
        block_err(
            0,
            0x30000,
            BlockFault::OverCapacity {
                count: 511,
                capacity: 510
            }
        )
    );
    assert_eq!(
        err.to_string(),
        "kho block 0 at 0x30000: count 511 exceeds the block capacity 510"
    );
    // The second block's entries run past the memory available.
    mem.block(0x30000, 0x40000, 1, &devs(&[(0, 1, 1)]));
    mem.raw(0x40000, Blob::new().u64(0).u64(2).dev(0, 2, 1).build());
    assert_eq!(
        decode(&blob(0x30000), &mem, PciCompat::V2).unwrap_err(),
        block_err(
            1,
            0x40000,
            BlockFault::Unmapped(mem.read(PhysAddr::new(0x40000), 32).unwrap_err())
        )
    );
}

#[test]
fn cycles_are_found_whatever_their_shape() {
    let mut mem = Pages::new(4096);
    mem.block(0x1000, 0x1000, 1, &devs(&[(0, 1, 1)]));
    assert_eq!(
        Chain::validate(&mem, PhysAddr::new(0x1000), 8, LE, None),
        Err(LinuxError::ChainCycle {
            phys: PhysAddr::new(0x1000)
        })
    );
    // A -> B -> C -> B.
    mem.block(0x1000, 0x2000, 1, &devs(&[(0, 1, 1)]));
    mem.block(0x2000, 0x3000, 1, &devs(&[(0, 2, 1)]));
    mem.block(0x3000, 0x2000, 1, &devs(&[(0, 3, 1)]));
    let err = Chain::validate(&mem, PhysAddr::new(0x1000), 8, LE, None).unwrap_err();
    assert!(
        matches!(
            err,
            LinuxError::ChainCycle { phys }
                if phys == PhysAddr::new(0x2000) || phys == PhysAddr::new(0x3000)
        ),
        "{err:?}"
    );
    // Through the pci decoder, a cycle is refused before any slot is looked at.
    let blob = ser(3, 0x1000);
    assert!(matches!(
        decode(&blob, &mem, PciCompat::V2),
        Err(LinuxError::ChainCycle { .. })
    ));
}

/// A chain of `n` blocks at 0x1000 * (i + 1), the last pointing at `last_next`. Only the
/// used 24 bytes of each page are stored.
fn long_chain(n: u64, last_next: u64) -> Pages {
    let mut mem = Pages::new(4096);
    for i in 0..n {
        let phys = 0x1000 * (i + 1);
        let next = if i + 1 == n { last_next } else { phys + 0x1000 };
        mem.raw(phys, Blob::new().u64(next).u64(1).dev(0, 1, 0).build());
    }
    mem
}

#[test]
fn chains_are_bounded_by_kho_max_blocks() {
    let max = u64::from(KHO_MAX_BLOCKS);
    let ok = long_chain(max, 0);
    let chain = Chain::validate(&ok, PhysAddr::new(0x1000), 8, LE, None).unwrap();
    assert_eq!((chain.blocks(), chain.entries()), (KHO_MAX_BLOCKS, max));
    assert_eq!(chain.iter(&ok).count(), KHO_MAX_BLOCKS as usize);

    let too_long = long_chain(max + 1, 0);
    assert_eq!(
        Chain::validate(&too_long, PhysAddr::new(0x1000), 8, LE, None),
        Err(LinuxError::ChainTooLong {
            max: KHO_MAX_BLOCKS
        })
    );
    // A cycle longer than what the validating walk covers is still called a cycle: 100
    // blocks, then a loop over the remaining 9900.
    let big_cycle = long_chain(max, 0x1000 * 101);
    assert_eq!(
        Chain::validate(&big_cycle, PhysAddr::new(0x1000), 8, LE, None)
            .map_err(|e| matches!(e, LinuxError::ChainCycle { .. })),
        Err(true)
    );
}

#[test]
fn pci_slot_rules_hold_across_blocks() {
    let mut mem = golden_mem();
    // pci-v1 chain: refcount is 0 or 1.
    mem.block(0x5000, 0, 1, &devs(&[(0, 0x08, 2)]));
    let blob = ser(3, 0x20000);
    assert_eq!(
        decode(&blob, &mem, PciCompat::V1).unwrap_err(),
        LinuxError::Slot {
            index: 3,
            at: Where::Phys(PhysAddr::new(0x5010)),
            fault: SlotFault::Refcount { value: 2 }
        }
    );
    // pci-v2 chain: hierarchical, so the same bytes are fine.
    let pci = decode(&blob, &mem, PciCompat::V2).unwrap();
    let mut out = buf();
    assert_eq!(pci.to_entries(&mut out).unwrap()[0].refcount(), 2);
    // Free slot not zeroed.
    mem.block(0x5000, 0, 1, &devs(&[(7, 0, 0)]));
    assert_eq!(
        decode(&blob, &mem, PciCompat::V2).unwrap_err(),
        LinuxError::Slot {
            index: 3,
            at: Where::Phys(PhysAddr::new(0x5010)),
            fault: SlotFault::FreeNotZero
        }
    );
    // nr_devices against the slots in use.
    let mem = golden_mem();
    assert_eq!(
        decode(&ser(4, 0x20000), &mem, PciCompat::V1).unwrap_err(),
        LinuxError::DeviceCount {
            declared: 4,
            found: 3
        }
    );
    // A duplicate across blocks names the global slot indices.
    let mut mem = golden_mem();
    mem.block(0x5000, 0, 1, &devs(&[(1, 0x08, 1)]));
    let pci = decode(&blob, &mem, PciCompat::V1).unwrap();
    assert_eq!(
        pci.to_entries(&mut out).unwrap_err(),
        LinuxError::Duplicate {
            what: Struct::PciDevSer,
            first: 2,
            second: 3
        }
    );
}

fn pages<const N: usize>() -> Vec<[u8; 4096]> {
    vec![[0u8; 4096]; N]
}

fn bufs(pages: &mut [[u8; 4096]], base: u64) -> Vec<BlockBuf<'_>> {
    pages
        .iter_mut()
        .enumerate()
        .map(|(i, p)| BlockBuf {
            phys: PhysAddr::new(base + 0x1000 * i as u64),
            buf: p,
        })
        .collect()
}

#[test]
fn encode_chain_writes_the_kernel_layout() {
    let entries = [
        PciEntry::new(addr(0, 0x08), 1),
        PciEntry::new(addr(0, 0x10), 3),
    ];
    let mut p = pages::<2>();
    let mut blocks = bufs(&mut p, 0x40000);
    let mut blob = [0u8; 12];
    let w = PciSer::encode_chain(
        &mut blob,
        PhysAddr::new(SER_PHYS),
        &mut blocks,
        PciCompat::V2,
        LE,
        &entries,
    )
    .unwrap();
    assert_eq!((w.len, w.head, w.blocks), (12, PhysAddr::new(0x40000), 1));
    assert_eq!(blob.to_vec(), ser(2, 0x40000));
    let mut expected = Blob::new()
        .u64(0)
        .u64(2)
        .bytes(&devs(&[(0, 0x08, 1), (0, 0x10, 3)]))
        .build();
    expected.resize(4096, 0);
    assert_eq!(p[0].to_vec(), expected);
    assert!(p[1].iter().all(|&b| b == 0), "unused block untouched");
}

#[test]
fn encode_chain_spills_into_the_next_block() {
    let entries: Vec<_> = (0..511u32).map(|i| PciEntry::new(addr(i, 0), 1)).collect();
    let mut p = pages::<3>();
    let mut blocks = bufs(&mut p, 0x40000);
    let mut blob = [0u8; 12];
    let w = PciSer::encode_chain(
        &mut blob,
        PhysAddr::new(SER_PHYS),
        &mut blocks,
        PciCompat::V1,
        LE,
        &entries,
    )
    .unwrap();
    assert_eq!((w.head, w.blocks), (PhysAddr::new(0x40000), 2));
    assert_eq!(&p[0][..16], &Blob::new().u64(0x41000).u64(510).build()[..]);
    assert_eq!(&p[1][..16], &Blob::new().u64(0).u64(1).build()[..]);
    let mut mem = Pages::new(4096);
    mem.raw(0x40000, p[0].to_vec());
    mem.raw(0x41000, p[1].to_vec());
    let pci = decode(&blob, &mem, PciCompat::V1).unwrap();
    let mut out = buf();
    assert_eq!(pci.to_entries(&mut out).unwrap(), &entries[..]);
}

#[test]
fn encode_chain_refusals() {
    let one = [PciEntry::new(addr(0, 8), 1)];
    let mut blob = [0u8; 12];
    let mut p = pages::<2>();
    let mut blocks = bufs(&mut p, 0x40000);
    assert_eq!(
        PciSer::encode_chain(
            &mut blob,
            PhysAddr::new(SER_PHYS),
            &mut blocks,
            PciCompat::V3,
            LE,
            &one
        ),
        Err(LinuxError::Format {
            layout: PciLayout::Chain,
            compat: PciCompat::V3
        })
    );
    assert_eq!(
        PciSer::encode_chain(
            &mut blob[..11],
            PhysAddr::new(SER_PHYS),
            &mut blocks,
            PciCompat::V1,
            LE,
            &one
        ),
        Err(LinuxError::BufferTooSmall {
            what: Struct::PciSer,
            needed: 12,
            found: 11
        })
    );
    assert_eq!(
        PciSer::encode_chain(
            &mut blob,
            PhysAddr::new(SER_PHYS),
            &mut blocks[..0],
            PciCompat::V1,
            LE,
            &one
        ),
        Err(LinuxError::Count {
            what: Struct::BlockHeader,
            field: CountField::Blocks,
            max: 0,
            found: 1
        })
    );
    assert_eq!(
        PciSer::encode_chain(
            &mut blob,
            PhysAddr::new(0x40004),
            &mut blocks,
            PciCompat::V1,
            LE,
            &one
        ),
        Err(block_err(0, 0x40000, BlockFault::OverlapsBlob))
    );
    let two_refs = [PciEntry::new(addr(0, 8), 2)];
    assert_eq!(
        PciSer::encode_chain(
            &mut blob,
            PhysAddr::new(SER_PHYS),
            &mut blocks,
            PciCompat::V1,
            LE,
            &two_refs
        ),
        Err(LinuxError::NotRepresentable {
            what: Struct::PciDevSer,
            index: 0,
            fault: ReprFault::Refcount { refcount: 2 }
        })
    );
    let huge = std::iter::repeat_n(&one[0], u32::MAX as usize + 1);
    assert_eq!(
        PciSer::encode_chain(
            &mut blob,
            PhysAddr::new(SER_PHYS),
            &mut blocks,
            PciCompat::V1,
            LE,
            huge
        ),
        Err(LinuxError::Count {
            what: Struct::PciSer,
            field: CountField::NrDevices,
            max: u64::from(u32::MAX),
            found: u64::from(u32::MAX) + 1
        })
    );
}

#[test]
fn encode_chain_refuses_bad_block_buffers() {
    let one = [PciEntry::new(addr(0, 8), 1)];
    let mut blob = [0u8; 12];
    // Block addresses: 0, misaligned, repeated; and a short buffer.
    let many: Vec<_> = (0..600u32).map(|i| PciEntry::new(addr(i, 0), 1)).collect();
    for (phys, fault) in [
        ([0x0, 0x1000], block_err(0, 0, BlockFault::Null)),
        (
            [0x1000, 0x2008],
            block_err(1, 0x2008, BlockFault::Misaligned),
        ),
        ([0x1000, 0x1000], block_err(1, 0x1000, BlockFault::Repeated)),
    ] {
        let mut p = pages::<2>();
        let [a, b] = &mut p[..] else { unreachable!() };
        let mut blocks = [
            BlockBuf {
                phys: PhysAddr::new(phys[0]),
                buf: a,
            },
            BlockBuf {
                phys: PhysAddr::new(phys[1]),
                buf: b,
            },
        ];
        assert_eq!(
            PciSer::encode_chain(
                &mut blob,
                PhysAddr::new(SER_PHYS),
                &mut blocks,
                PciCompat::V1,
                LE,
                &many
            ),
            Err(fault)
        );
    }
    let mut short = [0u8; 4095];
    let mut blocks = [BlockBuf {
        phys: PhysAddr::new(0x1000),
        buf: &mut short,
    }];
    assert_eq!(
        PciSer::encode_chain(
            &mut blob,
            PhysAddr::new(SER_PHYS),
            &mut blocks,
            PciCompat::V1,
            LE,
            &one
        ),
        Err(LinuxError::BufferTooSmall {
            what: Struct::BlockHeader,
            needed: 4096,
            found: 4095
        })
    );
}

#[test]
fn block_capacity_follows_the_page_size() {
    assert_eq!(block_capacity(PAGE, 8), 510);
    assert_eq!(block_capacity(PageSize::new(65536).unwrap(), 8), 8190);
    assert_eq!(block_capacity(PAGE, 0), 0);
    for bad in [0, 1, 2048, 4097, 131_072] {
        assert_eq!(PageSize::new(bad), None, "{bad}");
    }
    assert_eq!(PageSize::new(16384).map(PageSize::bytes), Some(16384));
    assert_eq!(PageSize::default(), PAGE);
}
