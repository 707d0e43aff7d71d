//! Property tests: encode/decode round trips over arbitrary valid contents of each kind, and
//! decoding that never panics on arbitrary bytes, including bytes carrying a valid CRC so
//! the checks behind it are reached.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::collections::BTreeMap;
use std::fmt::Debug;

use liveupdate_abi::AbiVersion;
use liveupdate_abi::{
    DirEntry, Entry, FlbEntry, FlbFlags, FlbTable, PciAddress, PciEntry, PciTable, Record,
    RecordKind, Root, seal,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;
use zerocopy::FromBytes;

use crate::common::{RawRecord, entry_size, raw_dir};

const LUOR: u32 = u32::from_le_bytes(*b"LUOR");

fn pci_entries() -> impl Strategy<Value = Vec<PciEntry>> {
    let domain = prop_oneof![0u32..3, 0x1_0000u32..0x1_0003, any::<u32>()];
    btree_map((domain, any::<u16>()), 1u16.., 0..40).prop_map(|m: BTreeMap<(u32, u16), u16>| {
        m.into_iter()
            .map(|((domain, bdf), refcount)| PciEntry::new(PciAddress { domain, bdf }, refcount))
            .collect()
    })
}

fn flb_entries() -> impl Strategy<Value = Vec<FlbEntry>> {
    btree_map("[!-~]{1,47}", (any::<u64>(), 1u64.., any::<bool>()), 0..16).prop_map(|m| {
        m.into_iter()
            .map(|(name, (data, files, phys))| {
                let flags = if phys {
                    FlbFlags::DATA_IS_PHYS
                } else {
                    FlbFlags::empty()
                };
                FlbEntry::new(&name, data, files, flags).unwrap()
            })
            .collect()
    })
}

/// Directory entries of any kind but the root's, known or not.
fn dir_entries() -> impl Strategy<Value = Vec<DirEntry>> {
    let magic = prop_oneof![
        Just(RecordKind::FlbTable.magic()),
        Just(RecordKind::PciTable.magic()),
        any::<u32>().prop_filter("a root never lists a root", |m| *m != LUOR),
    ];
    btree_map(magic, (any::<u64>(), 64u32.., any::<u32>()), 0..8).prop_map(|m| {
        m.into_iter()
            .map(|(magic, (phys, length, crc))| {
                let phys = phys.min(u64::MAX - u64::from(length));
                DirEntry::read_from_bytes(&raw_dir(magic, crc, phys, length, 0)).unwrap()
            })
            .collect()
    })
}

/// Encodes into a buffer larger than needed, checking that nothing past the record is
/// written, and returns the record.
fn encode_checked<E: Entry>(generation: u64, capacity: u32, entries: &[E]) -> Vec<u8> {
    let len = Record::<E>::len_for(AbiVersion::V1_0, Capacity::new(capacity)).unwrap();
    let mut out = vec![0xA5u8; len + 16];
    let written = Record::<E>::encode(
        &mut out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        entries.iter().copied(),
    );
    assert_eq!(written, Ok(len));
    assert!(
        out[len..].iter().all(|&b| b == 0xA5),
        "wrote past the record"
    );
    out.truncate(len);
    out
}

/// What every decoded record of any kind must satisfy.
fn check_record<E: Entry + Debug + PartialEq>(record: &Record<'_, E>, bytes: &[u8]) {
    let h = record.header();
    let entries = record.entries();
    assert_eq!(record.as_bytes(), bytes);
    assert_eq!(h.record_len() as usize, bytes.len());
    assert_eq!(entries.len(), h.entry_count() as usize);
    assert!(h.entry_count() <= h.entry_capacity());
    assert_eq!(entries.iter().count(), entries.len());
    assert_eq!(entries.iter().rev().count(), entries.len());
    assert!(entries.get(entries.len()).is_none());
    if let Some(slice) = entries.as_slice() {
        assert!(slice.iter().eq(entries.iter()));
    }
    // An accepted record of this minor without feature bits is canonical: the encoder writes
    // exactly its bytes back.
    let f = h.features();
    if h.minor() == 0 && f.compat.is_empty() && f.ro_compat.is_empty() {
        let again = encode_checked(
            h.generation().get(),
            h.entry_capacity(),
            &entries.iter().copied().collect::<Vec<_>>(),
        );
        assert_eq!(again, bytes);
    }
}

/// Runs every decoder on `bytes` and, where one accepts, every accessor.
fn exercise(bytes: &[u8]) {
    if let Ok(root) = Root::decode(bytes) {
        check_record(&root, bytes);
        for e in root.entries() {
            if let Some(kind) = e.kind() {
                assert!(std::ptr::eq(root.find(kind).unwrap(), e));
            }
        }
        let _ = root.open::<PciEntry>(bytes);
        let _ = root.open::<FlbEntry>(bytes);
    }
    if let Ok(table) = FlbTable::decode(bytes) {
        check_record(&table, bytes);
        for e in table.entries() {
            assert!(!e.name().is_empty());
            assert!(std::ptr::eq(table.find(e.name()).unwrap(), e));
        }
    }
    if let Ok(table) = PciTable::decode(bytes) {
        check_record(&table, bytes);
        for e in table.entries() {
            assert!(e.refcount() > 0);
            assert!(std::ptr::eq(table.find(e.address()).unwrap(), e));
        }
    }
}

/// A valid record of any kind.
fn valid_record() -> impl Strategy<Value = (RecordKind, Vec<u8>)> {
    let spare = 0u32..4;
    prop_oneof![
        (any::<u64>(), spare.clone(), dir_entries()).prop_map(|(g, s, e)| {
            let cap = u32::try_from(e.len()).unwrap() + s;
            (RecordKind::Root, encode_checked(g, cap, &e))
        }),
        (any::<u64>(), spare.clone(), flb_entries()).prop_map(|(g, s, e)| {
            let cap = u32::try_from(e.len()).unwrap() + s;
            (RecordKind::FlbTable, encode_checked(g, cap, &e))
        }),
        (any::<u64>(), spare, pci_entries()).prop_map(|(g, s, e)| {
            let cap = u32::try_from(e.len()).unwrap() + s;
            (RecordKind::PciTable, encode_checked(g, cap, &e))
        }),
    ]
}

/// A record built field by field with arbitrary values, of plausible sizes, CRC valid.
fn sealed_raw_record() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![
        Just(RecordKind::Root),
        Just(RecordKind::FlbTable),
        Just(RecordKind::PciTable)
    ];
    let minor = prop_oneof![Just(0u16), Just(1), any::<u16>()];
    let grow = prop_oneof![3 => Just(0u16), 1 => 0u16..4, 1 => any::<u16>()];
    let features = prop_oneof![3 => Just(0u32), 1 => any::<u32>()];
    (
        kind,
        minor,
        (grow.clone(), grow),
        (
            0u32..5,
            prop_oneof![3 => Just(None), 1 => (0u32..7).prop_map(Some)],
        ),
        (features.clone(), features.clone(), features),
        any::<[u8; 16]>(),
        vec(
            vec(prop_oneof![3 => Just(0u8), 1 => any::<u8>()], 0..96),
            0..6,
        ),
        any::<Option<u32>>(),
    )
        .prop_map(
            |(
                kind,
                minor,
                (hgrow, egrow),
                (capacity, count),
                (c, r, i),
                reserved,
                entries,
                len,
            )| {
                let known = u16::try_from(entry_size(kind)).unwrap();
                let mut raw = RawRecord::new(kind, capacity, vec![]);
                raw.minor = minor;
                raw.header_len = 64u16.saturating_add(hgrow.saturating_mul(8)).min(0x200);
                raw.entry_size = known.saturating_add(egrow.saturating_mul(8)).min(0x100);
                raw.header_ext = vec![0x3C; usize::from(raw.header_len) - 64];
                raw.entry_count = count;
                raw.record_len = len.filter(|l| l % 3 == 0);
                (raw.compat, raw.ro_compat, raw.incompat) = (c, r, i);
                if minor > 0 || reserved[0] < 32 {
                    raw.reserved = reserved;
                }
                let stride = usize::from(raw.entry_size);
                raw.entries = entries
                    .into_iter()
                    .take(usize::try_from(capacity).unwrap())
                    .map(|mut e| {
                        e.truncate(stride);
                        e
                    })
                    .collect();
                raw.bytes()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pci_round_trip(entries in pci_entries(), spare in 0u32..5, generation: u64) {
        let capacity = u32::try_from(entries.len()).unwrap() + spare;
        let bytes = encode_checked(generation, capacity, &entries);
        let table = PciTable::decode(&bytes).unwrap();
        prop_assert_eq!(table.generation(), Generation::new(generation));
        prop_assert_eq!(table.header().entry_capacity(), capacity);
        prop_assert_eq!(table.entries().as_slice().unwrap(), &entries[..]);
        for e in &entries {
            prop_assert_eq!(table.find(e.address()), Some(e));
        }
        check_record(&table, &bytes);
    }

    #[test]
    fn flb_round_trip(entries in flb_entries(), spare in 0u32..4, generation: u64) {
        let capacity = u32::try_from(entries.len()).unwrap() + spare;
        let bytes = encode_checked(generation, capacity, &entries);
        let table = FlbTable::decode(&bytes).unwrap();
        prop_assert_eq!(table.generation(), Generation::new(generation));
        prop_assert_eq!(table.entries().as_slice().unwrap(), &entries[..]);
        for e in &entries {
            prop_assert_eq!(table.find(e.name()), Some(e));
        }
        check_record(&table, &bytes);
    }

    #[test]
    fn root_round_trip(entries in dir_entries(), spare in 0u32..4, generation: u64) {
        let capacity = u32::try_from(entries.len()).unwrap() + spare;
        let bytes = encode_checked(generation, capacity, &entries);
        let root = Root::decode(&bytes).unwrap();
        prop_assert_eq!(root.generation(), Generation::new(generation));
        prop_assert_eq!(root.entries().as_slice().unwrap(), &entries[..]);
        check_record(&root, &bytes);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..400),
            // A known magic and major, so the header checks are reached.
            (prop_oneof![Just(*b"LUOR"), Just(*b"LUOF"), Just(*b"LUOP")], vec(any::<u8>(), 0..400))
                .prop_map(|(magic, rest)| {
                    let mut b = magic.to_vec();
                    b.extend_from_slice(&[1, 0]);
                    b.extend(rest);
                    b
                }),
        ]
    ) {
        exercise(&bytes);
    }

    #[test]
    fn decode_never_panics_on_sealed_arbitrary_records(bytes in sealed_raw_record()) {
        exercise(&bytes);
    }

    #[test]
    fn decode_never_panics_on_mutated_valid_records(
        (kind, mut bytes) in valid_record(),
        edits in vec((any::<Index>(), any::<u8>()), 1..4),
        reseal: bool,
    ) {
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if reseal {
            let _ = seal(kind, &mut bytes);
        }
        exercise(&bytes);
        // Every cut of the result is handled too.
        for cut in [0, 3, 5, 63, bytes.len() / 2, bytes.len().saturating_sub(1)] {
            exercise(&bytes[..cut.min(bytes.len())]);
        }
    }

    #[test]
    fn root_open_never_panics(
        (generation, dir) in (any::<u64>(), dir_entries()),
        (_, other) in valid_record(),
        edit in any::<(Index, u8)>(),
    ) {
        let root = encode_checked(generation, u32::try_from(dir.len()).unwrap(), &dir);
        let root = Root::decode(&root).unwrap();
        let mut other = other;
        let i = edit.0.index(other.len());
        other[i] = edit.1;
        let _ = root.open::<PciEntry>(&other);
        let _ = root.open::<FlbEntry>(&other);
        let _ = root.open::<DirEntry>(&other);
    }
}
