//! Array-form `pci_ser` (23 Mar 2026 `u64` header; Apr–May 2026 `u32` header): golden blobs,
//! refcount semantics per compatible, conversion to `PciEntry`, round trips, every refusal.

use crate::support::LE;
use crate::support::{Blob, devs};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer, Refcount};
use liveupdate_abi::linux::{CountField, LinuxError, ReprFault, SlotFault, Struct, Where};
use liveupdate_abi::{Capacity, Encoding, Generation};
use liveupdate_abi::{EntryFault, PciAddress, PciEntry, PciTable};
use proptest::prelude::*;

fn fmt(layout: PciLayout, compat: PciCompat) -> PciFormat {
    PciFormat::new(layout, compat).unwrap()
}

fn v2() -> PciFormat {
    fmt(PciLayout::Array, PciCompat::V2)
}

fn buf() -> Vec<PciEntry> {
    vec![PciEntry::new(PciAddress::new(0, 0, 0, 0).unwrap(), 1); 64]
}

fn addr(domain: u32, bdf: u16) -> PciAddress {
    PciAddress { domain, bdf }
}

/// pci-v2 (v4 02/11, v6 02/12): `{u32 max_nr_devices = 6; u32 nr_devices = 3}`, slots with
/// holes, unsorted; a VMD domain above 0xffff.
fn golden_v2() -> Vec<u8> {
    Blob::new()
        .u32(6)
        .u32(3)
        .bytes(&devs(&[
            (0x1_0000, 0x0100, 1),
            (0, 0, 0),
            (0, 0x3b00, 1),
            (0, 0, 0),
            (0, 0x0008, 1),
            (0, 0, 0),
        ]))
        .build()
}

#[test]
fn the_published_combinations_and_their_semantics() {
    use PciCompat::*;
    use PciLayout::*;
    let table = [
        (ArrayU64, V1, Some(Refcount::Padding)),
        (ArrayU64, V2, None),
        (ArrayU64, V3, None),
        (Array, V1, Some(Refcount::Padding)),
        (Array, V2, Some(Refcount::Slot)),
        (Array, V3, Some(Refcount::Hierarchical)),
        (Chain, V1, Some(Refcount::Slot)),
        (Chain, V2, Some(Refcount::Hierarchical)),
        (Chain, V3, None),
    ];
    for (layout, compat, semantics) in table {
        let got = PciFormat::new(layout, compat);
        match semantics {
            Some(s) => assert_eq!(got.unwrap().refcount(), Some(s), "{layout:?} {compat:?}"),
            None => assert_eq!(got, Err(LinuxError::Format { layout, compat })),
        }
    }
    assert_eq!(
        LinuxError::Format {
            layout: Chain,
            compat: V3
        }
        .to_string(),
        "pci_ser: the chain layout never carried compatible \"pci-v3\""
    );
    assert_eq!(PciCompat::from_name("pci-v3"), Some(V3));
    assert_eq!(PciCompat::from_name("pci-v4"), None);
}

#[test]
fn golden_pci_v2_array_with_holes_converts_sorted() {
    let blob = golden_v2();
    assert_eq!(blob.len(), 8 + 6 * 8);
    let ser = PciSer::decode(&blob, v2(), LE).unwrap();
    assert_eq!(
        (ser.nr_devices(), ser.max_nr_devices(), ser.slot_count()),
        (3, Some(6), 6)
    );
    assert_eq!(ser.devices_pa(), None);
    let slots: Vec<_> = ser.slots().collect();
    assert_eq!(slots.len(), 6);
    assert_eq!(slots[2].at, Where::Offset(8 + 16));
    assert_eq!(slots[2].entry, Some(PciEntry::new(addr(0, 0x3b00), 1)));
    assert_eq!(slots[3].entry, None);

    let mut out = buf();
    let entries = ser.to_entries(&mut out).unwrap();
    assert_eq!(
        entries,
        [
            PciEntry::new(PciAddress::new(0, 0, 1, 0).unwrap(), 1),
            PciEntry::new(PciAddress::new(0, 0x3b, 0, 0).unwrap(), 1),
            PciEntry::new(PciAddress::new(0x1_0000, 1, 0, 0).unwrap(), 1),
        ]
    );
    // Feeds this crate's table directly.
    let mut rec = [0u8; 64 + 8 * 4];
    let len = PciTable::encode(
        &mut rec,
        Encoding::new(AbiVersion::V1_0, Generation::new(3), Capacity::new(4)),
        entries.iter().copied(),
    )
    .unwrap();
    assert!(
        PciTable::decode(&rec[..len])
            .unwrap()
            .is_preserved(PciAddress::new(0x1_0000, 1, 0, 0).unwrap())
    );
}

#[test]
fn pci_v3_hierarchical_refcounts_are_kept() {
    // A bridge with two preserved devices below it, and those two devices.
    let blob = Blob::new()
        .u32(4)
        .u32(3)
        .bytes(&devs(&[
            (0, 0x0108, 1),
            (0, 0x0010, 2),
            (0, 0, 0),
            (0, 0x0100, 1),
        ]))
        .build();
    let ser = PciSer::decode(&blob, fmt(PciLayout::Array, PciCompat::V3), LE).unwrap();
    let mut out = buf();
    let refcounts: Vec<_> = ser
        .to_entries(&mut out)
        .unwrap()
        .iter()
        .map(|e| (e.address().bdf, e.refcount()))
        .collect();
    assert_eq!(refcounts, [(0x0010, 2), (0x0100, 1), (0x0108, 1)]);
    // The same bytes are not pci-v2: refcount 2 is not a slot state.
    assert_eq!(
        PciSer::decode(&blob, v2(), LE).unwrap_err(),
        LinuxError::Slot {
            index: 1,
            at: Where::Offset(16),
            fault: SlotFault::Refcount { value: 2 }
        }
    );
}

#[test]
fn pci_v1_dense_arrays_use_the_padding_field() {
    // 23 Mar 2026: u64 header, sorted, entries 0..nr in use, padding zero.
    let blob = Blob::new()
        .u64(3)
        .u64(2)
        .bytes(&devs(&[(0, 0x0010, 0), (0x1_0000, 0x0000, 0), (0, 0, 0)]))
        .build();
    let f = fmt(PciLayout::ArrayU64, PciCompat::V1);
    let ser = PciSer::decode(&blob, f, LE).unwrap();
    let mut out = buf();
    let entries = ser.to_entries(&mut out).unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.refcount() == 1));

    let mut bad = blob.clone();
    bad[16 + 6] = 1;
    assert_eq!(
        PciSer::decode(&bad, f, LE).unwrap_err(),
        LinuxError::Slot {
            index: 0,
            at: Where::Offset(16),
            fault: SlotFault::Padding { value: 1 }
        }
    );
    let mut unsorted = Blob::new()
        .u64(2)
        .u64(2)
        .bytes(&devs(&[(1, 0, 0), (0, 9, 0)]))
        .build();
    assert_eq!(
        PciSer::decode(&unsorted, f, LE).unwrap_err(),
        LinuxError::Slot {
            index: 1,
            at: Where::Offset(24),
            fault: SlotFault::OutOfOrder
        }
    );
    unsorted[24..28].copy_from_slice(&1u32.to_le_bytes());
    unsorted[28..30].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(
        PciSer::decode(&unsorted, f, LE).unwrap_err(),
        LinuxError::Duplicate {
            what: Struct::PciDevSer,
            first: 0,
            second: 1
        }
    );
    // Past nr_devices a dense array is zero.
    let stale = Blob::new()
        .u32(2)
        .u32(1)
        .bytes(&devs(&[(0, 8, 0), (0, 16, 0)]))
        .build();
    assert_eq!(
        PciSer::decode(&stale, fmt(PciLayout::Array, PciCompat::V1), LE).unwrap_err(),
        LinuxError::Slot {
            index: 1,
            at: Where::Offset(16),
            fault: SlotFault::FreeNotZero
        }
    );
}

#[test]
fn free_slots_must_be_zeroed_and_counted_slots_must_match() {
    let mut blob = golden_v2();
    blob[8 + 8] = 1; // slot 1: refcount 0 but domain 1
    assert_eq!(
        PciSer::decode(&blob, v2(), LE).unwrap_err(),
        LinuxError::Slot {
            index: 1,
            at: Where::Offset(16),
            fault: SlotFault::FreeNotZero
        }
    );
    let mut blob = golden_v2();
    blob[4..8].copy_from_slice(&2u32.to_le_bytes());
    let err = PciSer::decode(&blob, v2(), LE).unwrap_err();
    assert_eq!(
        err,
        LinuxError::DeviceCount {
            declared: 2,
            found: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "pci_ser: nr_devices is 2, but 3 slots are in use"
    );
}

#[test]
fn header_and_length_refusals() {
    assert_eq!(
        PciSer::decode(&[0; 7], v2(), LE).unwrap_err(),
        LinuxError::TooShort {
            what: Struct::PciSer,
            needed: 8,
            found: 7
        }
    );
    let f64 = fmt(PciLayout::ArrayU64, PciCompat::V1);
    assert_eq!(
        PciSer::decode(&[0; 15], f64, LE).unwrap_err(),
        LinuxError::TooShort {
            what: Struct::PciSer,
            needed: 16,
            found: 15
        }
    );
    let blob = golden_v2();
    assert_eq!(
        PciSer::decode(&blob[..blob.len() - 1], v2(), LE).unwrap_err(),
        LinuxError::TooShort {
            what: Struct::PciSer,
            needed: 56,
            found: 55
        }
    );
    let mut long = blob.clone();
    long.extend_from_slice(&[0; 8]);
    assert_eq!(
        PciSer::decode(&long, v2(), LE).unwrap_err(),
        LinuxError::TooLong {
            what: Struct::PciSer,
            max: 56,
            found: 64
        }
    );
    assert_eq!(
        PciSer::decode(&Blob::new().u32(1).u32(2).zeros(8).build(), v2(), LE).unwrap_err(),
        LinuxError::Count {
            what: Struct::PciSer,
            field: CountField::NrDevices,
            max: 1,
            found: 2
        }
    );
    let max_slots = (usize::MAX as u64 - 16) / 8;
    assert_eq!(
        PciSer::decode(&Blob::new().u64(u64::MAX).u64(0).build(), f64, LE).unwrap_err(),
        LinuxError::Count {
            what: Struct::PciSer,
            field: CountField::MaxNrDevices,
            max: max_slots,
            found: u64::MAX
        }
    );
    // An empty array is valid.
    let empty = Blob::new().u32(0).u32(0).build();
    assert_eq!(PciSer::decode(&empty, v2(), LE).unwrap().slot_count(), 0);
}

#[test]
fn duplicates_in_unsorted_arrays_name_both_slots() {
    let blob = Blob::new()
        .u32(5)
        .u32(3)
        .bytes(&devs(&[
            (0, 0x10, 1),
            (2, 0x08, 1),
            (0, 0, 0),
            (0, 0, 0),
            (2, 0x08, 1),
        ]))
        .build();
    let ser = PciSer::decode(&blob, v2(), LE).unwrap();
    let mut out = buf();
    let err = ser.to_entries(&mut out).unwrap_err();
    assert_eq!(
        err,
        LinuxError::Duplicate {
            what: Struct::PciDevSer,
            first: 1,
            second: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "pci_dev_ser: entries 1 and 4 have the same key"
    );
    let mut two = [PciEntry::new(addr(0, 0), 1); 2];
    assert_eq!(
        ser.to_entries(&mut two).unwrap_err(),
        LinuxError::BufferTooSmall {
            what: Struct::PciDevSer,
            needed: 3,
            found: 2
        }
    );
}

#[test]
fn encode_writes_the_golden_dense_form() {
    let entries = [
        PciEntry::new(addr(0, 0x0008), 1),
        PciEntry::new(addr(0, 0x3b00), 1),
        PciEntry::new(addr(0x1_0000, 0x0100), 1),
    ];
    let mut out = [0xAAu8; 64];
    let len = PciSer::encode(&mut out, v2(), 6, LE, &entries).unwrap();
    let expected = Blob::new()
        .u32(6)
        .u32(3)
        .bytes(&devs(&[(0, 8, 1), (0, 0x3b00, 1), (0x1_0000, 0x0100, 1)]))
        .zeros(24)
        .build();
    assert_eq!(&out[..len], &expected[..]);
    // pci-v1 stores padding, the 23 Mar 2026 form a u64 header.
    let len = PciSer::encode(
        &mut out,
        fmt(PciLayout::ArrayU64, PciCompat::V1),
        3,
        LE,
        &entries,
    )
    .unwrap();
    let expected = Blob::new()
        .u64(3)
        .u64(3)
        .bytes(&devs(&[(0, 8, 0), (0, 0x3b00, 0), (0x1_0000, 0x0100, 0)]))
        .build();
    assert_eq!(&out[..len], &expected[..]);
}

#[test]
fn encode_refusals() {
    let a = PciEntry::new(addr(0, 8), 1);
    let b = PciEntry::new(addr(0, 16), 2);
    let mut out = [0u8; 256];
    assert_eq!(
        PciSer::encode(&mut out, v2(), 4, LE, &[a, b]),
        Err(LinuxError::NotRepresentable {
            what: Struct::PciDevSer,
            index: 1,
            fault: ReprFault::Refcount { refcount: 2 }
        })
    );
    assert_eq!(
        PciSer::encode(
            &mut out,
            fmt(PciLayout::Array, PciCompat::V1),
            4,
            LE,
            &[a, b]
        )
        .unwrap_err(),
        LinuxError::NotRepresentable {
            what: Struct::PciDevSer,
            index: 1,
            fault: ReprFault::Refcount { refcount: 2 }
        }
    );
    let v3 = fmt(PciLayout::Array, PciCompat::V3);
    assert!(PciSer::encode(&mut out, v3, 4, LE, &[a, b]).is_ok());
    assert_eq!(
        PciSer::encode(&mut out, v3, 4, LE, &[b, a]),
        Err(LinuxError::Convert {
            what: Struct::PciDevSer,
            index: 1,
            fault: EntryFault::OutOfOrder
        })
    );
    assert_eq!(
        PciSer::encode(&mut out, v3, 4, LE, &[a, a]),
        Err(LinuxError::Convert {
            what: Struct::PciDevSer,
            index: 1,
            fault: EntryFault::Duplicate
        })
    );
    assert_eq!(
        PciSer::encode(&mut out, v3, 4, LE, &[PciEntry::new(addr(0, 1), 0)]),
        Err(LinuxError::Convert {
            what: Struct::PciDevSer,
            index: 0,
            fault: EntryFault::ZeroRefcount
        })
    );
    assert_eq!(
        PciSer::encode(&mut out, v3, 1, LE, &[a, b]),
        Err(LinuxError::Count {
            what: Struct::PciSer,
            field: CountField::NrDevices,
            max: 1,
            found: 2
        })
    );
    assert_eq!(
        PciSer::encode(&mut out, v3, 1 << 32, LE, &[a]),
        Err(LinuxError::Count {
            what: Struct::PciSer,
            field: CountField::MaxNrDevices,
            max: u64::from(u32::MAX),
            found: 1 << 32
        })
    );
    assert_eq!(
        PciSer::encode(&mut out[..23], v3, 2, LE, &[a]),
        Err(LinuxError::BufferTooSmall {
            what: Struct::PciSer,
            needed: 24,
            found: 23
        })
    );
    let chain = fmt(PciLayout::Chain, PciCompat::V1);
    assert_eq!(
        PciSer::encode(&mut out, chain, 2, LE, &[a]),
        Err(LinuxError::Format {
            layout: PciLayout::Chain,
            compat: PciCompat::V1
        })
    );
}

fn arb_entries() -> impl Strategy<Value = Vec<PciEntry>> {
    proptest::collection::btree_map((any::<u32>(), any::<u16>()), 1u16..=4, 0..40).prop_map(|m| {
        m.into_iter()
            .map(|((domain, bdf), r)| PciEntry::new(addr(domain, bdf), r))
            .collect()
    })
}

proptest! {
    #[test]
    fn tables_round_trip_through_every_array_format(entries in arb_entries(), spare in 0u64..8) {
        let max = entries.len() as u64 + spare;
        for (layout, compat) in [
            (PciLayout::ArrayU64, PciCompat::V1),
            (PciLayout::Array, PciCompat::V1),
            (PciLayout::Array, PciCompat::V2),
            (PciLayout::Array, PciCompat::V3),
        ] {
            let format = fmt(layout, compat);
            // Formats without room for a refcount take the entries at refcount 1.
            let input: Vec<_> = match format.refcount() {
                Some(Refcount::Hierarchical) => entries.clone(),
                _ => entries.iter().map(|e| PciEntry::new(e.address(), 1)).collect(),
            };
            let mut out = vec![0u8; 16 + 8 * usize::try_from(max).unwrap()];
            let len = PciSer::encode(&mut out, format, max, LE, &input).unwrap();
            let ser = PciSer::decode(&out[..len], format, LE).unwrap();
            let mut back = buf();
            prop_assert_eq!(ser.to_entries(&mut back).unwrap(), &input[..]);
        }
    }

    #[test]
    fn shuffled_slots_with_holes_convert_to_the_sorted_table(entries in arb_entries(), seed: u64) {
        // Place the entries at pseudo-random distinct slots of a pci-v3 array.
        let max = entries.len() * 2 + 1;
        let mut slots = vec![None; max];
        let mut x = seed | 1;
        for e in &entries {
            loop {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                let i = usize::try_from(x % max as u64).unwrap();
                if slots[i].is_none() { slots[i] = Some(*e); break; }
            }
        }
        let mut blob = Blob::new()
            .u32(u32::try_from(max).unwrap())
            .u32(u32::try_from(entries.len()).unwrap());
        for s in &slots {
            blob = match s {
                Some(e) => blob.dev(e.address().domain, e.address().bdf, e.refcount()),
                None => blob.dev(0, 0, 0),
            };
        }
        let blob = blob.build();
        let ser = PciSer::decode(&blob, fmt(PciLayout::Array, PciCompat::V3), LE).unwrap();
        let mut back = buf();
        prop_assert_eq!(ser.to_entries(&mut back).unwrap(), &entries[..]);
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), sel in 0usize..4) {
        let formats = [
            fmt(PciLayout::ArrayU64, PciCompat::V1),
            fmt(PciLayout::Array, PciCompat::V1),
            fmt(PciLayout::Array, PciCompat::V2),
            fmt(PciLayout::Array, PciCompat::V3),
        ];
        if let Ok(ser) = PciSer::decode(&bytes, formats[sel], LE) {
            let mut out = buf();
            let _ = ser.to_entries(&mut out);
        }
    }
}
