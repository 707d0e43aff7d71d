//! The FLB area (`luo_flb_header_ser` + `luo_flb_ser[]`): golden blobs, conversion to
//! `FlbEntry`, round trips, every refusal.

use crate::support::Blob;
use crate::support::LE;
use liveupdate_abi::AbiVersion;
use liveupdate_abi::linux::flb::{FLB_SER_LEN, FlbArea, FlbSer, LUO_FLB_PGCNT, capacity};
use liveupdate_abi::linux::{
    CountField, LinuxError, NameFault, PageSize, ReprFault, Struct, Where,
};
use liveupdate_abi::{Capacity, Encoding, Generation};
use liveupdate_abi::{EntryFault, FlbEntry, FlbFlags, FlbTable};
use proptest::prelude::*;

const PAGE: PageSize = PageSize::SIZE_4K;

/// One page holding three FLBs, unsorted, as `luo_flb_serialize()` leaves them.
fn golden() -> Vec<u8> {
    Blob::new()
        .u64(1)
        .u64(3)
        .flb("pci-v2", 0x1_0000_0000, 4)
        .flb("iommu-v1", 0x2000, 1)
        .flb("liveupdate-test-flb-v1", 7, 2)
        .build()
}

fn zeroed<const N: usize>() -> [FlbEntry; N] {
    [FlbEntry::new("x", 0, 1, FlbFlags::empty()).unwrap(); N]
}

#[test]
fn golden_area_decodes_and_converts_sorted() {
    let blob = golden();
    assert_eq!(blob.len(), 16 + 3 * 64);
    let area = FlbArea::decode(&blob, LE).unwrap();
    assert_eq!(
        (area.pgcnt(), area.capacity(), area.entries().len()),
        (1, 63, 3)
    );
    let e = area.entry(0).unwrap();
    assert_eq!(
        (e.name(), e.data(), e.count()),
        (Some("pci-v2"), 0x1_0000_0000, 4)
    );
    assert_eq!(area.find("iommu-v1").map(FlbSer::data), Some(0x2000));
    assert_eq!(area.find("iommu"), None);

    let mut buf = zeroed::<8>();
    let entries = area.to_entries(&mut buf).unwrap();
    let names: Vec<_> = entries.iter().map(FlbEntry::name).collect();
    assert_eq!(names, ["iommu-v1", "liveupdate-test-flb-v1", "pci-v2"]);
    assert_eq!(entries[2].data(), 0x1_0000_0000);
    assert_eq!(entries[2].file_count(), 4);
    assert_eq!(entries[2].flags(), FlbFlags::empty());

    // The converted entries make a valid table of this crate's ABI.
    let mut rec = [0u8; 64 + 72 * 3];
    let len = FlbTable::encode(
        &mut rec,
        Encoding::new(AbiVersion::V1_0, Generation::new(9), Capacity::new(3)),
        entries.iter().copied(),
    )
    .unwrap();
    assert_eq!(
        FlbTable::decode(&rec[..len])
            .unwrap()
            .find("pci-v2")
            .unwrap()
            .file_count(),
        4
    );
}

#[test]
fn a_whole_page_dump_decodes_too() {
    let mut page = golden();
    page.resize(4096, 0);
    assert_eq!(FlbArea::decode(&page, LE).unwrap().entries().len(), 3);
    page.push(0);
    assert_eq!(
        FlbArea::decode(&page, LE),
        Err(LinuxError::TooLong {
            what: Struct::FlbHeader,
            max: 4096,
            found: 4097
        })
    );
}

#[test]
fn one_page_holds_luo_flb_max_entries() {
    assert_eq!(capacity(LUO_FLB_PGCNT, PAGE), Some(63));
    assert_eq!(capacity(1, PageSize::new(16384).unwrap()), Some(255));
    let mut full = Blob::new().u64(1).u64(63);
    for i in 0..63 {
        full = full.flb(&format!("flb-{i:02}"), i, 1);
    }
    let blob = full.build();
    assert_eq!(blob.len(), 4048);
    let area = FlbArea::decode(&blob, LE).unwrap();
    let mut buf = zeroed::<63>();
    assert_eq!(area.to_entries(&mut buf).unwrap().len(), 63);

    let mut over = blob.clone();
    over[8..16].copy_from_slice(&64u64.to_le_bytes());
    assert_eq!(
        FlbArea::decode(&over, LE),
        Err(LinuxError::Count {
            what: Struct::FlbHeader,
            field: CountField::FlbCount,
            max: 63,
            found: 64
        })
    );
}

#[test]
fn header_refusals() {
    assert_eq!(
        FlbArea::decode(&[0; 15], LE),
        Err(LinuxError::TooShort {
            what: Struct::FlbHeader,
            needed: 16,
            found: 15
        })
    );
    assert_eq!(
        FlbArea::decode(&Blob::new().u64(0).u64(0).build(), LE),
        Err(LinuxError::Zero {
            what: Struct::FlbHeader,
            field: CountField::Pgcnt,
            index: 0,
            at: Where::Offset(0)
        })
    );
    assert_eq!(
        FlbArea::decode(&Blob::new().u64(u64::MAX).u64(0).build(), LE),
        Err(LinuxError::Count {
            what: Struct::FlbHeader,
            field: CountField::Pgcnt,
            max: u64::MAX / 4096,
            found: u64::MAX
        })
    );
    // The header promises two entries; one is there.
    assert_eq!(
        FlbArea::decode(&Blob::new().u64(1).u64(2).flb("a", 1, 1).build(), LE),
        Err(LinuxError::TooShort {
            what: Struct::FlbSer,
            needed: 144,
            found: 80
        })
    );
    // An empty area is valid.
    let empty = Blob::new().u64(1).u64(0).build();
    assert!(FlbArea::decode(&empty, LE).unwrap().is_empty());
}

#[test]
fn entry_refusals_name_the_entry_and_its_offset() {
    let unterminated = Blob::new()
        .u64(1)
        .u64(2)
        .flb("ok", 1, 1)
        .bytes(&[b'n'; 48])
        .u64(0)
        .u64(1)
        .build();
    assert_eq!(
        FlbArea::decode(&unterminated, LE),
        Err(LinuxError::Name {
            what: Struct::FlbSer,
            index: 1,
            at: Where::Offset(80),
            fault: NameFault::Unterminated
        })
    );
    let empty = Blob::new().u64(1).u64(1).flb("", 1, 1).build();
    assert_eq!(
        FlbArea::decode(&empty, LE),
        Err(LinuxError::Name {
            what: Struct::FlbSer,
            index: 0,
            at: Where::Offset(16),
            fault: NameFault::Empty
        })
    );
    let zero = Blob::new()
        .u64(1)
        .u64(2)
        .flb("a", 1, 1)
        .flb("b", 1, 0)
        .build();
    let err = FlbArea::decode(&zero, LE).unwrap_err();
    assert_eq!(
        err,
        LinuxError::Zero {
            what: Struct::FlbSer,
            field: CountField::FlbFileCount,
            index: 1,
            at: Where::Offset(80)
        }
    );
    assert_eq!(err.to_string(), "luo_flb_ser 1 at offset 80: count is zero");
}

#[test]
fn bytes_after_a_name_are_ignored_as_the_kernel_does() {
    // strscpy() leaves whatever followed a longer previous name.
    let mut field = [0u8; 48];
    field[..6].copy_from_slice(b"pci-v2");
    field[7..12].copy_from_slice(b"stale");
    let blob = Blob::new()
        .u64(1)
        .u64(1)
        .bytes(&field)
        .u64(5)
        .u64(1)
        .build();
    let area = FlbArea::decode(&blob, LE).unwrap();
    assert_eq!(area.entry(0).unwrap().name(), Some("pci-v2"));
    let mut buf = zeroed::<1>();
    assert_eq!(area.to_entries(&mut buf).unwrap()[0].name(), "pci-v2");
}

#[test]
fn conversion_refusals() {
    let area_bytes = golden();
    let area = FlbArea::decode(&area_bytes, LE).unwrap();
    let mut small = zeroed::<2>();
    assert_eq!(
        area.to_entries(&mut small),
        Err(LinuxError::BufferTooSmall {
            what: Struct::FlbSer,
            needed: 3,
            found: 2
        })
    );

    let dup = Blob::new()
        .u64(1)
        .u64(4)
        .flb("b", 1, 1)
        .flb("a", 1, 1)
        .flb("c", 1, 1)
        .flb("a", 2, 1)
        .build();
    let area = FlbArea::decode(&dup, LE).unwrap();
    let mut buf = zeroed::<4>();
    assert_eq!(
        area.to_entries(&mut buf),
        Err(LinuxError::Duplicate {
            what: Struct::FlbSer,
            first: 1,
            second: 3
        })
    );

    let unprintable = Blob::new().u64(1).u64(1).flb("a\tb", 1, 1).build();
    let area = FlbArea::decode(&unprintable, LE).unwrap();
    assert_eq!(
        area.to_entries(&mut buf),
        Err(LinuxError::Convert {
            what: Struct::FlbSer,
            index: 0,
            fault: EntryFault::NameNotPrintable { at: 1 }
        })
    );
}

#[test]
fn encode_matches_the_golden_bytes() {
    let entries = [
        FlbEntry::new("pci-v2", 0x1_0000_0000, 4, FlbFlags::empty()).unwrap(),
        FlbEntry::new("iommu-v1", 0x2000, 1, FlbFlags::empty()).unwrap(),
        FlbEntry::new("liveupdate-test-flb-v1", 7, 2, FlbFlags::empty()).unwrap(),
    ];
    let mut out = [0u8; 16 + 3 * 64];
    let len = FlbArea::encode(&mut out, 1, LE, &entries).unwrap();
    assert_eq!(&out[..len], &golden()[..]);
}

#[test]
fn encode_refusals() {
    let plain = FlbEntry::new("a", 1, 1, FlbFlags::empty()).unwrap();
    let flagged = FlbEntry::new("b", 1, 1, FlbFlags::DATA_IS_PHYS).unwrap();
    let mut out = [0u8; 4096];
    assert_eq!(
        FlbArea::encode(&mut out, 1, LE, &[plain, flagged]),
        Err(LinuxError::NotRepresentable {
            what: Struct::FlbSer,
            index: 1,
            fault: ReprFault::Flags { bits: 1 }
        })
    );
    assert_eq!(
        FlbArea::encode(&mut out, 0, LE, &[plain]),
        Err(LinuxError::Zero {
            what: Struct::FlbHeader,
            field: CountField::Pgcnt,
            index: 0,
            at: Where::Offset(0)
        })
    );
    let many = vec![plain; 64];
    assert_eq!(
        FlbArea::encode(&mut out, 1, LE, &many),
        Err(LinuxError::Count {
            what: Struct::FlbHeader,
            field: CountField::FlbCount,
            max: 63,
            found: 64
        })
    );
    assert_eq!(
        FlbArea::encode(&mut out, u64::MAX, LE, &many),
        Err(LinuxError::Count {
            what: Struct::FlbHeader,
            field: CountField::Pgcnt,
            max: u64::MAX / 4096,
            found: u64::MAX
        })
    );
    assert_eq!(
        FlbArea::encode(&mut out[..79], 1, LE, &[plain]),
        Err(LinuxError::BufferTooSmall {
            what: Struct::FlbHeader,
            needed: 80,
            found: 79
        })
    );
}

proptest! {
    #[test]
    fn this_crates_tables_round_trip_through_the_upstream_area(
        names in proptest::collection::btree_set("[a-z0-9][a-z0-9.-]{0,46}", 0..63),
        data: u64,
        pgcnt in 1u64..3,
    ) {
        let entries: Vec<FlbEntry> = names
            .iter()
            .enumerate()
            .map(|(i, n)| FlbEntry::new(n, data ^ i as u64, 1 + i as u64, FlbFlags::empty()).unwrap())
            .collect();
        let mut out = vec![0u8; 16 + FLB_SER_LEN * entries.len()];
        let len = FlbArea::encode(&mut out, pgcnt, LE, &entries).unwrap();
        let area = FlbArea::decode(&out[..len], LE).unwrap();
        prop_assert_eq!(area.pgcnt(), pgcnt);
        let mut buf = vec![FlbEntry::new("x", 0, 1, FlbFlags::empty()).unwrap(); entries.len()];
        prop_assert_eq!(area.to_entries(&mut buf).unwrap(), &entries[..]);
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Err(e) = FlbArea::decode(&bytes, LE) {
            let _ = e.to_string();
        }
    }
}

#[test]
fn lenient_decoding_warns_where_the_kernel_accepts() {
    let mut blob = Blob::new()
        .u64(1)
        .u64(3)
        .flb("pci", 0x1000, 0)
        .flb("", 7, 1)
        .flb("iommu-v1", 0x2000, 1)
        .build();
    // Entry 2's name fills its 48 bytes with no NUL.
    blob[16 + 128..16 + 128 + 48].fill(b'a');
    assert_eq!(
        FlbArea::decode(&blob, LE).unwrap_err(),
        LinuxError::Zero {
            what: Struct::FlbSer,
            field: CountField::FlbFileCount,
            index: 0,
            at: Where::Offset(16)
        }
    );
    let mut warnings = Vec::new();
    let area = FlbArea::decode_lenient(&blob, LE, &mut |e| warnings.push(e)).unwrap();
    assert_eq!(area.entries().len(), 3);
    assert_eq!(area.entry(2).unwrap().name_bytes(), &[b'a'; 48][..]);
    let name = |index: u64, fault| LinuxError::Name {
        what: Struct::FlbSer,
        index,
        at: Where::Offset(16 + 64 * index),
        fault,
    };
    assert_eq!(
        warnings,
        [
            LinuxError::Zero {
                what: Struct::FlbSer,
                field: CountField::FlbFileCount,
                index: 0,
                at: Where::Offset(16)
            },
            name(1, NameFault::Empty),
            name(2, NameFault::Unterminated),
        ]
    );
    // A count beyond the page is still refused.
    blob[8] = 64;
    assert!(FlbArea::decode_lenient(&blob, LE, &mut |_| {}).is_err());
}
