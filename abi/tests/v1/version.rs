//! The version policy, as the v1.0 reader ([`AbiVersion::V1_0`]) applies it: a newer minor of
//! the same major reads (striding over wider headers and entries, ignoring what it does not
//! know), feature bits decide the rest, another major is refused. The records of a
//! "hypothetical v1.1" here predate the real one; `tests/v2/` has the newest reader's tests.

use liveupdate_abi::AbiVersion::V1_0;
use liveupdate_abi::Generation;
use liveupdate_abi::{
    Access, DecodeError, EncodeError, EntryFault, FlbEntry, FlbTable, PciAddress, PciEntry,
    PciTable, RecordKind, Root, seal,
};

use crate::common::{
    FLB_PHYS, GENERATION, HEADER, KINDS, PCI_PHYS, RawRecord, decode, flb_golden, flb_inputs,
    golden, pci_golden, pci_inputs, put_u16, raw_dir, raw_flb, raw_pci, spec_crc,
};
use crate::golden::{Aligned, assert_flb_inputs, assert_pci_inputs};

const ROOT: RecordKind = RecordKind::Root;
const FLB: RecordKind = RecordKind::FlbTable;
const PCI: RecordKind = RecordKind::PciTable;

/// `entry` widened to `size` bytes by a newer minor's fields (non-zero).
fn widen(mut entry: Vec<u8>, size: usize) -> Vec<u8> {
    entry.resize(size, 0xC5);
    entry
}

/// The golden PCI inputs as written by a hypothetical v1.1: 16 more header bytes, 8 more
/// bytes per entry, reserved bytes in use. Two unused slots.
fn pci_minor1() -> Vec<u8> {
    let entries = pci_inputs()
        .into_iter()
        .map(|(a, r)| widen(raw_pci(a.domain, a.bdf, r), 16))
        .collect();
    let mut raw = RawRecord::new(PCI, 5, entries);
    raw.minor = 1;
    raw.header_len = 80;
    raw.entry_size = 16;
    raw.header_ext = vec![0xEE; 16];
    raw.reserved = [0xAB; 16];
    raw.bytes()
}

/// The golden FLB inputs as written by a hypothetical v1.3: entries of 80 bytes, the
/// reserved field and an undefined flag in use. One unused slot.
fn flb_minor3() -> Vec<u8> {
    let entries = flb_inputs()
        .into_iter()
        .map(|(name, data, files, flags)| {
            let e = raw_flb(
                name.as_bytes(),
                data,
                files,
                flags.bits() | 0x8000_0000,
                0x77,
            );
            widen(e, 80)
        })
        .collect();
    let mut raw = RawRecord::new(FLB, 3, entries);
    raw.minor = 3;
    raw.header_len = 72;
    raw.entry_size = 80;
    raw.header_ext = vec![0x11; 8];
    raw.bytes()
}

/// A root of a hypothetical v1.1 with 32-byte directory entries referencing `flb` and `pci`.
fn root_minor1(flb: &[u8], pci: &[u8]) -> Vec<u8> {
    let dir = |kind: RecordKind, bytes: &[u8], phys| {
        let len = u32::try_from(bytes.len()).unwrap();
        widen(raw_dir(kind.magic(), spec_crc(bytes), phys, len, 0x99), 32)
    };
    let mut raw = RawRecord::new(
        ROOT,
        3,
        vec![dir(FLB, flb, FLB_PHYS), dir(PCI, pci, PCI_PHYS)],
    );
    raw.minor = 1;
    raw.entry_size = 32;
    raw.bytes()
}

fn check_newer_pci(bytes: &[u8]) {
    let table = PciTable::decode_as(bytes, V1_0).unwrap();
    assert_eq!(table.header().minor(), 1);
    assert_eq!(table.header().header_len(), 80);
    assert_eq!(table.header().entry_size(), 16);
    assert_eq!(table.access(), Access::ReadWrite);
    // Wider entries are not a packed slice; every other accessor strides.
    assert!(table.entries().as_slice().is_none());
    assert_pci_inputs(&table);
    let back: Vec<_> = table
        .entries()
        .iter()
        .rev()
        .map(PciEntry::address)
        .collect();
    let mut expected: Vec<_> = pci_inputs().into_iter().map(|(a, _)| a).collect();
    expected.reverse();
    assert_eq!(back, expected);
    assert!(table.entries().get(3).is_none());
}

#[test]
fn newer_minor_with_wider_header_and_entries_decodes_and_strides() {
    check_newer_pci(&pci_minor1());

    let flb = flb_minor3();
    let table = FlbTable::decode_as(&flb, V1_0).unwrap();
    assert_eq!(table.header().entry_size(), 80);
    assert_eq!(table.entries().len(), 2);
    for (e, (name, data, files, flags)) in table.entries().iter().zip(flb_inputs()) {
        assert_eq!((e.name(), e.data(), e.file_count()), (name, data, files));
        // Unknown flag bits of a newer minor are kept for the caller to see.
        assert_eq!(e.flags().bits(), flags.bits() | 0x8000_0000);
        assert!(e.flags().contains(flags));
    }
    for (name, data, ..) in flb_inputs() {
        assert_eq!(table.find(name).map(FlbEntry::data), Some(data));
    }

    let (flb, pci) = (flb_golden(), pci_golden());
    let root_bytes = root_minor1(&flb, &pci);
    let root = Root::decode_as(&root_bytes, V1_0).unwrap();
    assert_eq!(root.entries().len(), 2);
    assert_eq!(
        root.find(PCI).map(|e| (e.phys_addr().raw(), e.length())),
        Some((PCI_PHYS, 104))
    );
    assert_flb_inputs(&root.open::<FlbEntry>(&flb).unwrap());
    assert_pci_inputs(&root.open::<PciEntry>(&pci).unwrap());
}

#[test]
fn newer_minor_decodes_at_every_alignment() {
    let bytes = pci_minor1();
    let mut buf = Box::new(Aligned([0; 1024]));
    for shift in 0..8 {
        buf.0[shift..shift + bytes.len()].copy_from_slice(&bytes);
        check_newer_pci(&buf.0[shift..shift + bytes.len()]);
    }
}

#[test]
fn newer_minor_may_use_the_largest_sizes() {
    let mut raw = RawRecord::new(PCI, 2, vec![widen(raw_pci(0x1_0000, 0x100, 1), 0xFFF8)]);
    raw.minor = 0xFFFF;
    raw.header_len = 0xFFF8;
    raw.entry_size = 0xFFF8;
    let bytes = raw.bytes();
    assert_eq!(bytes.len(), 3 * 0xFFF8);
    let table = PciTable::decode_as(&bytes, V1_0).unwrap();
    assert!(table.is_preserved(PciAddress::new(0x1_0000, 1, 0, 0).unwrap()));
    assert!(!table.is_preserved(PciAddress::new(0, 1, 0, 0).unwrap()));
}

#[test]
fn newer_minor_still_checks_what_v1_0_defines() {
    // The CRC, unused slots, and every rule of the fields this version knows.
    let mut bytes = pci_minor1();
    let last = bytes.len() - 1;
    bytes[last] = 1;
    assert!(matches!(
        decode(PCI, &bytes),
        Err(DecodeError::Checksum { kind: PCI, .. })
    ));
    // Sealed by hand: `seal` is the newest writer's, and this is not the real minor 1.
    let crc = spec_crc(&bytes);
    bytes[44..48].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode(PCI, &bytes),
        Err(DecodeError::Reserved {
            kind: PCI,
            offset: last as u64
        })
    );

    let entries = vec![widen(raw_pci(0, 2, 1), 16), widen(raw_pci(0, 1, 1), 16)];
    let mut raw = RawRecord::new(PCI, 2, entries);
    raw.minor = 1;
    raw.entry_size = 16;
    assert_eq!(
        decode(PCI, &raw.bytes()),
        Err(DecodeError::Entry {
            kind: PCI,
            index: 1,
            offset: 64 + 16,
            fault: EntryFault::OutOfOrder
        })
    );

    let mut raw = RawRecord::new(FLB, 1, vec![widen(raw_flb(b"a", 1, 0, 0, 0), 80)]);
    raw.minor = 1;
    raw.header_len = 88;
    raw.entry_size = 80;
    assert_eq!(
        decode(FLB, &raw.bytes()),
        Err(DecodeError::Entry {
            kind: FLB,
            index: 0,
            offset: 88,
            fault: EntryFault::ZeroFileCount
        })
    );
}

#[test]
fn own_minor_is_checked_strictly() {
    // What a newer minor may use is refused at minor 0.
    let flags = raw_flb(b"a", 1, 1, 0x8000_0000, 0);
    let reserved = raw_flb(b"a", 1, 1, 0, 0x77);
    for (entry, fault) in [
        (flags, EntryFault::UnknownFlags { bits: 0x8000_0000 }),
        (reserved, EntryFault::Reserved),
    ] {
        let mut raw = RawRecord::new(FLB, 1, vec![entry]);
        let err = Err(DecodeError::Entry {
            kind: FLB,
            index: 0,
            offset: 64,
            fault,
        });
        assert_eq!(decode(FLB, &raw.bytes()), err);
        raw.minor = 1;
        assert_eq!(decode(FLB, &raw.bytes()), Ok(()));
    }
    let mut raw = RawRecord::new(ROOT, 1, vec![raw_dir(PCI.magic(), 0, 0, 64, 1)]);
    assert!(matches!(
        decode(ROOT, &raw.bytes()),
        Err(DecodeError::Entry {
            fault: EntryFault::Reserved,
            ..
        })
    ));
    raw.minor = 1;
    assert_eq!(decode(ROOT, &raw.bytes()), Ok(()));
    let mut raw = RawRecord::new(PCI, 1, vec![]);
    raw.reserved[15] = 1;
    assert_eq!(
        decode(PCI, &raw.bytes()),
        Err(DecodeError::Reserved {
            kind: PCI,
            offset: 63
        })
    );
    raw.minor = 1;
    assert_eq!(decode(PCI, &raw.bytes()), Ok(()));
}

#[test]
fn unknown_ro_compat_reads_but_refuses_to_seal() {
    for kind in KINDS {
        for unknown in [1, 0x8000_0000, u32::MAX] {
            let mut bytes = golden(kind);
            bytes[36..40].copy_from_slice(&unknown.to_le_bytes());
            let crc = spec_crc(&bytes);
            bytes[44..48].copy_from_slice(&crc.to_le_bytes());
            let check_read_only = |bytes: &[u8]| match kind {
                RecordKind::Root => Root::decode_as(bytes, V1_0).unwrap().access(),
                RecordKind::FlbTable => FlbTable::decode_as(bytes, V1_0).unwrap().access(),
                _ => PciTable::decode_as(bytes, V1_0).unwrap().access(),
            };
            assert_eq!(check_read_only(&bytes), Access::ReadOnly { unknown });
            if kind == PCI {
                assert_pci_inputs(&PciTable::decode_as(&bytes, V1_0).unwrap());
                let header = *PciTable::decode_as(&bytes, V1_0).unwrap().header();
                assert_eq!(header.features().ro_compat.bits(), unknown);
            }
            // A writer that does not know the bit must not rewrite the record.
            let before = bytes.clone();
            assert_eq!(
                seal(kind, &mut bytes),
                Err(EncodeError::ReadOnly { kind, unknown })
            );
            assert_eq!(bytes, before, "seal wrote to a read-only record");
        }
    }
}

#[test]
fn unknown_incompat_is_refused_at_any_minor() {
    for minor in [0, 1, u16::MAX] {
        let mut raw = RawRecord::new(PCI, 1, vec![raw_pci(0, 1, 1)]);
        raw.minor = minor;
        raw.incompat = 0x10;
        assert_eq!(
            decode(PCI, &raw.bytes()),
            Err(DecodeError::UnsupportedFeatures {
                kind: PCI,
                unknown: 0x10
            })
        );
    }
    // The bits are believed only once the CRC holds: a corrupt record is reported corrupt.
    let mut bytes = golden(PCI);
    bytes[40] = 1;
    assert!(matches!(
        decode(PCI, &bytes),
        Err(DecodeError::Checksum { .. })
    ));
}

#[test]
fn other_major_is_refused_with_the_version_found() {
    for major in [0, 2, 3, u16::MAX] {
        for kind in KINDS {
            let mut bytes = golden(kind);
            put_u16(&mut bytes, 4, major);
            seal(kind, &mut bytes).unwrap_err();
            assert_eq!(
                decode(kind, &bytes),
                Err(DecodeError::UnsupportedMajor {
                    kind,
                    found: major,
                    min: 1,
                    max: 1
                })
            );
        }
    }
}

#[test]
fn compat_bits_are_ignored() {
    for kind in KINDS {
        let mut bytes = golden(kind);
        bytes[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let crc = liveupdate_abi::seal(kind, &mut bytes).unwrap();
        assert_eq!(crc, spec_crc(&bytes));
        assert_eq!(decode(kind, &bytes), Ok(()));
    }
    let mut bytes = golden(PCI);
    bytes[32] = 0x5A;
    seal(PCI, &mut bytes).unwrap();
    let table = PciTable::decode_as(&bytes, V1_0).unwrap();
    assert_eq!(table.access(), Access::ReadWrite);
    assert_eq!(table.header().features().compat.bits(), 0x5A);
    assert_pci_inputs(&table);
}

#[test]
fn seal_recomputes_the_crc_after_an_edit() {
    // Raise the refcount of the golden VMD device in place, as a writer would.
    let mut bytes = pci_golden();
    let at = HEADER + 2 * 8 + 6;
    bytes[at] = 5;
    assert!(matches!(
        decode(PCI, &bytes),
        Err(DecodeError::Checksum { .. })
    ));
    let crc = seal(PCI, &mut bytes).unwrap();
    assert_eq!(crc, spec_crc(&bytes));
    let table = PciTable::decode_as(&bytes, V1_0).unwrap();
    assert_eq!(
        table
            .find(PciAddress::new(0x1_0000, 1, 0, 0).unwrap())
            .map(PciEntry::refcount),
        Some(5)
    );
    assert_eq!(table.generation(), Generation::new(GENERATION));
    // Seal checks the header first and leaves a broken one alone.
    let mut short = bytes[..bytes.len() - 1].to_vec();
    let copy = short.clone();
    assert!(matches!(
        seal(PCI, &mut short),
        Err(EncodeError::Malformed(DecodeError::TooShort { .. }))
    ));
    assert_eq!(short, copy);
    let mut flb = flb_golden();
    assert!(matches!(
        seal(PCI, &mut flb),
        Err(EncodeError::Malformed(DecodeError::BadMagic { .. }))
    ));
}
