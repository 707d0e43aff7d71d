//! The PCI tracker (outgoing) and the PCI lookup (incoming), one behaviour and one error path
//! at a time, plus a model-based property test of the tracker.
// loom's primitives only work inside `loom::model`: these tests are for normal builds.
#![cfg(not(loom))]

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::collections::BTreeMap;

use liveupdate_abi::AbiVersion;
use liveupdate_abi::PhysAddr;
use liveupdate_abi::Table;
use liveupdate_abi::{PciAddress, PciEntry, PciTable, RecordKind};
use liveupdate_core::mem::{MemError, MemFault, PhysMem, SliceMemory};
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};
use proptest::prelude::*;

fn dev(domain: u32, bus: u8, device: u8, function: u8) -> PciAddress {
    PciAddress::new(domain, bus, device, function).unwrap()
}

fn serialized<const N: usize>(tracker: &PciTracker<N>) -> Vec<(PciAddress, u16)> {
    let mut mem = SliceMemory::new(
        PhysAddr::new(0x9000),
        vec![0u8; PciTracker::<N>::record_len(AbiVersion::V1_0)],
    );
    let dir = tracker
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(0x9000),
            Generation::new(3),
        )
        .unwrap();
    assert_eq!(dir.kind(), Some(RecordKind::PciTable));
    assert_eq!(
        dir.length() as usize,
        PciTracker::<N>::record_len(AbiVersion::V1_0)
    );
    let table = PciTable::decode(
        mem.read(
            PhysAddr::new(0x9000),
            PciTracker::<N>::record_len(AbiVersion::V1_0),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(dir.crc(), table.header().crc());
    assert_eq!(table.header().entry_capacity() as usize, N);
    assert_eq!(table.generation(), Generation::new(3));
    table
        .entries()
        .iter()
        .map(|e| (e.address(), e.refcount()))
        .collect()
}

// ---------------------------------------------------------------- tracker

#[test]
fn preserve_counts_references_and_serialize_sorts() {
    let pci = PciTracker::<8>::new();
    let vmd = dev(0x1_0000, 1, 0, 0);
    let gpu = dev(0, 0x3b, 0, 0);
    let nic = dev(0, 0x3b, 0, 1);
    assert_eq!(pci.preserve(vmd), Ok(1));
    assert_eq!(pci.preserve(nic), Ok(1));
    assert_eq!(pci.preserve(gpu), Ok(1));
    assert_eq!(pci.preserve(gpu), Ok(2));
    assert_eq!(pci.refcount(gpu), 2);
    assert_eq!(pci.refcount(dev(0, 0, 0, 0)), 0);
    assert_eq!(serialized(&pci), [(gpu, 2), (nic, 1), (vmd, 1)]);
    assert_eq!(pci.unpreserve(gpu), Ok(1));
    assert_eq!(pci.unpreserve(nic), Ok(0));
    assert_eq!(
        pci.unpreserve(nic),
        Err(PciError::NotPreserved { address: nic })
    );
    assert_eq!(serialized(&pci), [(gpu, 1), (vmd, 1)]);
}

#[test]
fn a_full_tracker_names_its_capacity_and_the_device() {
    let pci = PciTracker::<2>::new();
    pci.preserve(dev(0, 1, 0, 0)).unwrap();
    pci.preserve(dev(0, 2, 0, 0)).unwrap();
    let hotplugged = dev(0x1_0000, 0x5e, 0x1f, 7);
    let err = pci.preserve(hotplugged).unwrap_err();
    assert_eq!(
        err,
        PciError::Full {
            capacity: 2,
            address: hotplugged
        }
    );
    assert_eq!(
        err.to_string(),
        "PCI tracker full: capacity of 2 devices reached, cannot preserve 10000:5e:1f.7"
    );
    // A device already tracked still takes more references.
    assert_eq!(pci.preserve(dev(0, 1, 0, 0)), Ok(2));
    // Room again after one leaves.
    pci.unpreserve(dev(0, 2, 0, 0)).unwrap();
    assert_eq!(pci.preserve(hotplugged), Ok(1));
}

#[test]
fn a_refcount_overflow_is_an_error_not_a_saturation() {
    let pci = PciTracker::<1>::new();
    let d = dev(0, 1, 2, 3);
    for expected in 1..=u16::MAX {
        assert_eq!(pci.preserve(d), Ok(expected));
    }
    assert_eq!(
        pci.preserve(d),
        Err(PciError::RefcountOverflow { address: d })
    );
    assert_eq!(pci.refcount(d), u16::MAX);
    assert_eq!(
        PciError::RefcountOverflow { address: d }.to_string(),
        "PCI device 0000:01:02.3: refcount overflow"
    );
    assert_eq!(pci.unpreserve(d), Ok(u16::MAX - 1));
}

#[test]
fn serialize_refuses_unmapped_memory() {
    let pci = PciTracker::<4>::new();
    let mut mem = SliceMemory::new(PhysAddr::new(0), vec![0u8; 64]);
    assert_eq!(
        pci.serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(0),
            Generation::new(1)
        ),
        Err(PciError::Memory(MemError {
            addr: PhysAddr::new(0),
            len: PciTracker::<4>::record_len(AbiVersion::V1_0),
            fault: MemFault::Unmapped {
                base: PhysAddr::new(0),
                size: 64
            }
        }))
    );
    assert_eq!(PciTracker::<4>::record_len(AbiVersion::V1_0), 64 + 4 * 8);
}

#[test]
fn an_empty_tracker_writes_an_empty_table() {
    assert_eq!(serialized(&PciTracker::<3>::new()), []);
}

// ---------------------------------------------------------------- incoming

fn table(entries: &[PciEntry]) -> Table<'static, PciEntry> {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; 64 + 8 * entries.len()].into_boxed_slice());
    let cap = u32::try_from(entries.len()).unwrap();
    let len = PciTable::encode(
        buf,
        Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(cap)),
        entries.iter().copied(),
    )
    .unwrap();
    Table::try_from(PciTable::decode(&buf[..len]).unwrap()).unwrap()
}

#[test]
fn incoming_lookups_through_the_lifecycle() {
    let gpu = dev(0, 0x3b, 0, 0);
    let pci: PciIncoming = PciIncoming::new();
    assert!(!pci.is_finished());
    assert_eq!(pci.is_preserved(gpu), Err(PciError::NoIncomingData));
    pci.load(table(&[PciEntry::new(gpu, 1)])).unwrap();
    assert_eq!(
        pci.load(table(&[PciEntry::new(gpu, 1)])),
        Err(PciError::AlreadyLoaded)
    );
    assert_eq!(pci.is_preserved(gpu), Ok(true));
    assert_eq!(pci.is_preserved(dev(0, 0x3b, 0, 1)), Ok(false));
    assert_eq!(pci.finish(), Ok(()));
    assert!(pci.is_finished());
    assert_eq!(pci.is_preserved(gpu), Err(PciError::Finished));
    assert_eq!(pci.finish(), Err(PciError::Finished));
}

#[test]
fn a_finished_state_takes_no_table() {
    let pci: PciIncoming<'_, 8> = PciIncoming::new();
    pci.finish().unwrap();
    assert_eq!(pci.load(table(&[])), Err(PciError::Finished));
    assert_eq!(pci.is_preserved(dev(0, 0, 0, 0)), Err(PciError::Finished));
}

#[test]
fn every_error_says_what_happened() {
    let d = dev(0, 0x3b, 0, 0);
    let cases = [
        (
            PciError::NotPreserved { address: d },
            "PCI device 0000:3b:00.0 is not preserved",
        ),
        (
            PciError::NoIncomingData,
            "no incoming PCI table was handed over",
        ),
        (
            PciError::AlreadyLoaded,
            "an incoming PCI table is already loaded",
        ),
        (PciError::Finished, "the incoming PCI state is finished"),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}

// ---------------------------------------------------------------- model

#[derive(Clone, Debug)]
enum Op {
    Preserve(PciAddress),
    Unpreserve(PciAddress),
}

fn op() -> impl Strategy<Value = Op> {
    // A small address space, so that operations hit the same devices often.
    let addr = (0u32..3, 0u8..4, 0u8..2).prop_map(|(d, b, f)| dev(d << 15, b, 0, f));
    prop_oneof![
        3 => addr.clone().prop_map(Op::Preserve),
        2 => addr.prop_map(Op::Unpreserve),
    ]
}

proptest! {
    /// Any sequence of preserves and unpreserves leaves the tracker, and the table it
    /// writes, equal to a map from device to refcount with capacity 6.
    #[test]
    fn the_tracker_matches_a_map(ops in prop::collection::vec(op(), 0..200)) {
        const N: usize = 6;
        let pci = PciTracker::<N>::new();
        let mut model: BTreeMap<PciAddress, u16> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Preserve(a) => {
                    let expected = match model.get(&a) {
                        Some(&n) => Ok(n + 1),
                        None if model.len() == N => Err(PciError::Full { capacity: N, address: a }),
                        None => Ok(1),
                    };
                    if let Ok(n) = expected {
                        model.insert(a, n);
                    }
                    prop_assert_eq!(pci.preserve(a), expected);
                }
                Op::Unpreserve(a) => {
                    let expected = match model.get(&a) {
                        None => Err(PciError::NotPreserved { address: a }),
                        Some(&1) => { model.remove(&a); Ok(0) }
                        Some(&n) => { model.insert(a, n - 1); Ok(n - 1) }
                    };
                    prop_assert_eq!(pci.unpreserve(a), expected);
                }
            }
        }
        let want: Vec<_> = model.into_iter().collect();
        prop_assert_eq!(serialized(&pci), want);
    }
}

/// Every answer of `is_preserved` with the key index (table fits `N`), with an index too
/// small for the table (falls back to the table), and without one, against a linear scan.
#[test]
fn indexed_and_unindexed_lookups_agree() {
    let addresses: std::collections::BTreeSet<PciAddress> = (0u32..300)
        .map(|i| dev(i / 7 * 0x3001, (i % 7) as u8 * 3, (i % 32) as u8, 1))
        .collect();
    let entries: Vec<PciEntry> = addresses.iter().map(|&a| PciEntry::new(a, 1)).collect();
    let t = table(&entries);
    let none: PciIncoming = PciIncoming::new();
    let small: PciIncoming<'_, 16> = PciIncoming::new();
    let index: PciIncoming<'_, 512> = PciIncoming::new();
    none.load(t).unwrap();
    small.load(t).unwrap();
    index.load(t).unwrap();
    let present: std::collections::BTreeSet<PciAddress> =
        entries.iter().map(PciEntry::address).collect();
    for domain in [0u32, 0x3001, 0x6002, 0x1_0000] {
        for bus in 0..=21u8 {
            for device in 0..32u8 {
                let a = dev(domain, bus, device, 1);
                let want = Ok(present.contains(&a));
                assert_eq!(none.is_preserved(a), want, "{a}");
                assert_eq!(small.is_preserved(a), want, "{a}");
                assert_eq!(index.is_preserved(a), want, "{a}");
            }
        }
    }
}

/// `is_preserved` and `device` on every shape of table a kernel may load: both minors, one
/// record and (1.1) chains of small blocks, from empty to a few hundred devices, through
/// `PciIncoming` with the key index, with one too small (the table searched in place) and
/// with none, and through the table itself: every answer, for every device present, its
/// neighbours on either side and the extreme addresses, against a linear scan.
#[test]
fn lookups_agree_with_a_linear_scan_on_every_shape() {
    use liveupdate_abi::{BlockPlace, PciDevice, PhysMemMut};
    // Keys a few apart, over several domains, so that misses fall between and around hits.
    let all: Vec<PciAddress> = (0u32..400)
        .map(|i| {
            let domain = [0, 1, 0x3001, 0xFFFF_FFFF][(i / 100) as usize];
            let bdf = (i % 100) as u16 * 613 + 5;
            PciAddress { domain, bdf }
        })
        .collect();
    let base = 0x10_0000u64;
    let mut checked = 0usize;
    for n in (0..=40).chain([97, 255, 400]) {
        let present = &all[..n];
        let devices: Vec<PciDevice> = present.iter().map(|&a| PciDevice::new(a, 1)).collect();
        let mut queries: Vec<PciAddress> = vec![
            PciAddress { domain: 0, bdf: 0 },
            PciAddress {
                domain: u32::MAX,
                bdf: u16::MAX,
            },
        ];
        for a in &all[..(n + 1).min(all.len())] {
            for key in [a.key().wrapping_sub(1), a.key(), a.key() + 1] {
                queries.push(PciAddress::from_key(key));
            }
        }
        // (version, entries per block): one record, then 1.1 chains of 1, 3 and 16 per block.
        let shapes = [
            (AbiVersion::V1_0, 0u32),
            (AbiVersion::V1_1, 0),
            (AbiVersion::V1_1, 1),
            (AbiVersion::V1_1, 3),
            (AbiVersion::V1_1, 16),
        ];
        for (version, per_block) in shapes {
            let slots = if per_block == 0 {
                u32::try_from(n.max(1)).unwrap()
            } else {
                per_block
            };
            let block_bytes = PciTable::len_for(version, Capacity::new(slots)).unwrap() + 64;
            let count = if per_block == 0 {
                1
            } else {
                n.div_ceil(per_block as usize).max(1)
            };
            let places: Vec<BlockPlace> = (0..count)
                .map(|i| BlockPlace {
                    phys: PhysAddr::new(base + (i * block_bytes) as u64),
                    capacity: slots,
                })
                .collect();
            let mut mem = SliceMemory::new(PhysAddr::new(base), vec![0u8; count * block_bytes]);
            let written = Table::<PciEntry>::encode(
                &mut mem as &mut dyn PhysMemMut,
                version,
                Generation::new(1),
                &places,
                devices.iter().copied(),
            )
            .unwrap();
            let mem: &'static SliceMemory<Vec<u8>> = Box::leak(Box::new(mem));
            let table =
                Table::<PciEntry>::decode(mem, PhysAddr::new(base), written.dir.length() as usize)
                    .unwrap();
            assert_eq!(table.len(), n as u64);
            let chained = table.block_count() > 1;
            assert_eq!(table.block_count() as usize, count);
            let none: PciIncoming = PciIncoming::new();
            let small: PciIncoming<'_, 8> = PciIncoming::new();
            let index: PciIncoming<'_, 512> = PciIncoming::new();
            none.load(table).unwrap();
            small.load(table).unwrap();
            index.load(table).unwrap();
            for &a in &queries {
                let found = present.iter().position(|&p| p == a);
                let want = Ok(found.is_some());
                let at = format!("{a} in {n} devices, {version:?}, chained: {chained}");
                assert_eq!(table.is_preserved(a), found.is_some(), "{at}");
                assert_eq!(none.is_preserved(a), want, "{at}");
                assert_eq!(small.is_preserved(a), want, "{at}");
                assert_eq!(index.is_preserved(a), want, "{at}");
                let device = none.device(a).unwrap();
                assert_eq!(device.map(|d| d.address), found.map(|i| present[i]), "{at}");
                assert_eq!(index.device(a).unwrap(), device, "{at}");
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}
