//! The released v1 layouts, guarded by `tests/golden/v1/*.bin`.
//!
//! The files were written once by the encoder from the fixed inputs in `common.rs` and never
//! change. `LIVEUPDATE_GOLDEN=new` creates a missing file (an existing one is only compared);
//! `LIVEUPDATE_GOLDEN=overwrite` rewrites them all, which is only ever right for a layout that
//! has not been released. See `tests/golden/README.md`.

use liveupdate_abi::Generation;
use liveupdate_abi::{
    Access, DecodeError, Field, FlbEntry, FlbTable, PciEntry, PciTable, Record, RecordKind, Root,
};

use crate::common::{
    FLB_CAPACITY, FLB_PHYS, GENERATION, HEADER, KINDS, PCI_CAPACITY, PCI_PHYS, ROOT_CAPACITY,
    RawRecord, check_golden, decode, entry_size, flb_inputs, golden, golden_path, pci_inputs,
    raw_dir, raw_flb, raw_pci, read_golden, spec_crc,
};

/// The bytes of `kind`'s golden vector as committed.
pub fn golden_file(kind: RecordKind) -> Vec<u8> {
    read_golden(&golden_path(kind), "v1")
}

#[test]
fn encoder_reproduces_golden_vectors() {
    for kind in KINDS {
        check_golden(&golden_path(kind), &golden(kind), "v1");
    }
}

#[test]
fn golden_vectors_follow_the_spec_byte_by_byte() {
    // An independent writer (SPEC.md, no crate code) yields the same bytes.
    let pci = pci_inputs()
        .into_iter()
        .map(|(a, refcount)| raw_pci(a.domain, a.bdf, refcount))
        .collect();
    let pci = RawRecord::new(RecordKind::PciTable, PCI_CAPACITY, pci).bytes();
    assert_eq!(pci, golden_file(RecordKind::PciTable));

    let flb = flb_inputs()
        .into_iter()
        .map(|(name, data, files, flags)| raw_flb(name.as_bytes(), data, files, flags.bits(), 0))
        .collect();
    let flb = RawRecord::new(RecordKind::FlbTable, FLB_CAPACITY, flb).bytes();
    assert_eq!(flb, golden_file(RecordKind::FlbTable));

    let dir = vec![
        raw_dir(
            u32::from_le_bytes(*b"LUOF"),
            spec_crc(&flb),
            FLB_PHYS,
            u32::try_from(flb.len()).unwrap(),
            0,
        ),
        raw_dir(
            u32::from_le_bytes(*b"LUOP"),
            spec_crc(&pci),
            PCI_PHYS,
            u32::try_from(pci.len()).unwrap(),
            0,
        ),
    ];
    let root = RawRecord::new(RecordKind::Root, ROOT_CAPACITY, dir).bytes();
    assert_eq!(root, golden_file(RecordKind::Root));
}

#[test]
fn golden_sizes() {
    assert_eq!(golden_file(RecordKind::Root).len(), 64 + 3 * 24);
    assert_eq!(golden_file(RecordKind::FlbTable).len(), 64 + 3 * 72);
    assert_eq!(golden_file(RecordKind::PciTable).len(), 64 + 5 * 8);
}

fn check_header<E: liveupdate_abi::Entry>(record: &Record<'_, E>, count: u32, capacity: u32) {
    let h = record.header();
    assert_eq!(h.magic(), E::KIND.magic());
    assert_eq!((h.major(), h.minor()), (1, 0));
    assert_eq!(usize::from(h.header_len()), HEADER);
    assert_eq!(usize::from(h.entry_size()), entry_size(E::KIND));
    assert_eq!((h.entry_count(), h.entry_capacity()), (count, capacity));
    assert_eq!(h.record_len() as usize, record.as_bytes().len());
    assert_eq!(h.generation(), Generation::new(GENERATION));
    assert_eq!(record.generation(), Generation::new(GENERATION));
    assert_eq!(h.features(), liveupdate_abi::Features::NONE);
    assert_eq!(h.crc(), spec_crc(record.as_bytes()));
    assert_eq!(record.access(), Access::ReadWrite);
}

/// Checks that `table` holds exactly the golden PCI inputs.
pub fn assert_pci_inputs(table: &PciTable<'_>) {
    let inputs = pci_inputs();
    let entries = table.entries();
    assert_eq!(entries.len(), inputs.len());
    let found: Vec<_> = entries
        .iter()
        .map(|e| (e.address(), e.refcount()))
        .collect();
    assert_eq!(found, inputs);
    for (addr, refcount) in inputs {
        assert_eq!(table.find(addr).map(PciEntry::refcount), Some(refcount));
    }
    assert!(!table.is_preserved(liveupdate_abi::PciAddress::new(0, 0x3b, 0, 1).unwrap()));
    assert!(!table.is_preserved(liveupdate_abi::PciAddress::new(1, 0x01, 0, 0).unwrap()));
}

/// Checks that `table` holds exactly the golden FLB inputs.
pub fn assert_flb_inputs(table: &FlbTable<'_>) {
    let inputs = flb_inputs();
    let found: Vec<_> = table
        .entries()
        .iter()
        .map(|e| (e.name(), e.data(), e.file_count(), e.flags()))
        .collect();
    assert_eq!(found, inputs);
    for (name, data, ..) in inputs {
        assert_eq!(table.find(name).map(FlbEntry::data), Some(data));
    }
    assert!(table.find("pci-v2").is_none());
    assert!(table.find("").is_none());
    // A trailing NUL makes another name, not "pci-v1" (found by the roundtrip_flb fuzz target).
    assert!(table.find("pci-v1\0").is_none());
}

#[test]
fn decoding_golden_vectors_yields_the_inputs() {
    let pci_bytes = golden_file(RecordKind::PciTable);
    let pci = PciTable::decode(&pci_bytes).unwrap();
    check_header(&pci, 3, PCI_CAPACITY);
    assert_pci_inputs(&pci);
    assert_eq!(pci.entries().as_slice().map(<[_]>::len), Some(3));

    let flb_bytes = golden_file(RecordKind::FlbTable);
    let flb = FlbTable::decode(&flb_bytes).unwrap();
    check_header(&flb, 2, FLB_CAPACITY);
    assert_flb_inputs(&flb);

    let root_bytes = golden_file(RecordKind::Root);
    let root = Root::decode(&root_bytes).unwrap();
    check_header(&root, 2, ROOT_CAPACITY);
    let dir: Vec<_> = root
        .entries()
        .iter()
        .map(|e| (e.kind(), e.phys_addr().raw(), e.length(), e.crc()))
        .collect();
    assert_eq!(
        dir,
        [
            (
                Some(RecordKind::FlbTable),
                FLB_PHYS,
                u32::try_from(flb_bytes.len()).unwrap(),
                flb.header().crc()
            ),
            (
                Some(RecordKind::PciTable),
                PCI_PHYS,
                u32::try_from(pci_bytes.len()).unwrap(),
                pci.header().crc()
            ),
        ]
    );
    assert_flb_inputs(&root.open::<FlbEntry>(&flb_bytes).unwrap());
    assert_pci_inputs(&root.open::<PciEntry>(&pci_bytes).unwrap());
}

#[test]
fn every_single_bit_flip_is_rejected() {
    for kind in KINDS {
        let good = golden_file(kind);
        for byte in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[byte] ^= 1 << bit;
                let err = decode(kind, &bad).expect_err("a flipped bit was accepted");
                // Corruption is never mistaken for "nothing handed over" or for a newer
                // record; only the major field itself reads as another version.
                match (byte, err) {
                    (0..4, DecodeError::BadMagic { kind: k, .. })
                    | (4..6, DecodeError::UnsupportedMajor { kind: k, .. }) => assert_eq!(k, kind),
                    (
                        6..,
                        DecodeError::NoRecord { .. }
                        | DecodeError::BadMagic { .. }
                        | DecodeError::UnsupportedMajor { .. }
                        | DecodeError::UnsupportedFeatures { .. },
                    ) => panic!("{kind}: bit {bit} of byte {byte} reported as {err}"),
                    (6.., _) => {}
                    (_, err) => panic!("{kind}: bit {bit} of byte {byte}: {err}"),
                }
            }
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    for kind in KINDS {
        let good = golden_file(kind);
        let len = good.len() as u64;
        for cut in 0..good.len() {
            let found = cut as u64;
            let expected = match cut {
                0 => DecodeError::NoRecord { kind },
                1..4 => DecodeError::TooShort {
                    kind,
                    needed: 4,
                    found,
                },
                4..6 => DecodeError::TooShort {
                    kind,
                    needed: 6,
                    found,
                },
                6..64 => DecodeError::TooShort {
                    kind,
                    needed: 64,
                    found,
                },
                _ => DecodeError::TooShort {
                    kind,
                    needed: len,
                    found,
                },
            };
            assert_eq!(
                decode(kind, &good[..cut]),
                Err(expected),
                "{kind} cut at {cut}"
            );
        }
        // One byte too many is as wrong as one too few.
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            decode(kind, &long),
            Err(DecodeError::Inconsistent {
                kind,
                field: Field::InputLength,
                expected: len,
                found: len + 1,
            })
        );
    }
}

/// A buffer whose start is 8-byte aligned, so `&buf.0[k..]` starts at `k` mod 8.
#[repr(C, align(8))]
pub struct Aligned(pub [u8; 1024]);

#[test]
fn golden_vectors_decode_at_every_alignment() {
    let mut buf = Box::new(Aligned([0; 1024]));
    let root_bytes = golden_file(RecordKind::Root);
    let flb_bytes = golden_file(RecordKind::FlbTable);
    let pci_bytes = golden_file(RecordKind::PciTable);
    for shift in 0..8 {
        for (kind, bytes) in [
            (RecordKind::Root, &root_bytes),
            (RecordKind::FlbTable, &flb_bytes),
            (RecordKind::PciTable, &pci_bytes),
        ] {
            let at = &mut buf.0[shift..shift + bytes.len()];
            at.copy_from_slice(bytes);
            assert_eq!(at.as_ptr().addr() % 8, shift);
            let at = &buf.0[shift..shift + bytes.len()];
            match kind {
                RecordKind::Root => {
                    let root = Root::decode(at).unwrap();
                    assert_flb_inputs(&root.open::<FlbEntry>(&flb_bytes).unwrap());
                    assert_pci_inputs(&root.open::<PciEntry>(&pci_bytes).unwrap());
                }
                RecordKind::FlbTable => assert_flb_inputs(&FlbTable::decode(at).unwrap()),
                _ => {
                    let table = PciTable::decode(at).unwrap();
                    assert_pci_inputs(&table);
                    assert_eq!(table.entries().as_slice().map(<[_]>::len), Some(3));
                }
            }
            // Errors do not depend on alignment either.
            let mut bad = bytes.clone();
            bad[HEADER] ^= 0x40;
            buf.0[shift..shift + bad.len()].copy_from_slice(&bad);
            let err = decode(kind, &buf.0[shift..shift + bad.len()]).unwrap_err();
            assert_eq!(Some(err), decode(kind, &bad).err());
            assert!(matches!(err, DecodeError::Checksum { .. }));
        }
    }
}
