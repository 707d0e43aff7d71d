//! Every error variant and every entry fault, each triggered by its own input and compared
//! with the exact value (kind, place, expected and found). `root_open.rs` has the errors of
//! `Root::open` and `version.rs` those of the version policy.

use liveupdate_abi::AbiVersion;
use liveupdate_abi::{Capacity, Encoding, Generation};
use liveupdate_abi::{
    DecodeError, DirEntry, EncodeError, EntryFault, Field, FlbEntry, FlbFlags, FlbTable,
    PciAddress, PciEntry, PciTable, Record, RecordKind, Root,
};
use zerocopy::FromBytes;

use crate::common::{
    HEADER, KINDS, RawRecord, decode, entry_size, golden, put_u16, put_u32, raw_dir, raw_flb,
    raw_pci, reseal, spec_crc,
};
use liveupdate_abi::PhysAddr;

const ROOT: RecordKind = RecordKind::Root;
const FLB: RecordKind = RecordKind::FlbTable;
const PCI: RecordKind = RecordKind::PciTable;
const LUOF: u32 = u32::from_le_bytes(*b"LUOF");
const LUOP: u32 = u32::from_le_bytes(*b"LUOP");
const LUOR: u32 = u32::from_le_bytes(*b"LUOR");

/// The error for entry `index` of a v1.0 record of `kind`.
fn entry_err(kind: RecordKind, index: u32, fault: EntryFault) -> DecodeError {
    let offset = HEADER as u64 + u64::from(index) * entry_size(kind) as u64;
    DecodeError::Entry {
        kind,
        index,
        offset,
        fault,
    }
}

/// The encoder's error for entry `index` of a v1.0 record of `kind`: the decoder's fault.
fn encode_err(kind: RecordKind, index: u32, fault: EntryFault) -> EncodeError {
    let offset = HEADER as u64 + u64::from(index) * entry_size(kind) as u64;
    EncodeError::Entry {
        kind,
        index,
        offset,
        fault,
    }
}

/// Decodes a v1.0 record of `kind` holding `entries` (capacity: their number + 1).
fn decode_entries(kind: RecordKind, entries: Vec<Vec<u8>>) -> Result<(), DecodeError> {
    let capacity = u32::try_from(entries.len()).unwrap() + 1;
    decode(kind, &RawRecord::new(kind, capacity, entries).bytes())
}

fn flb(name: &[u8]) -> Vec<u8> {
    raw_flb(name, 0x1000, 1, 0, 0)
}

fn flb_entry(bytes: &[u8]) -> FlbEntry {
    FlbEntry::read_from_bytes(bytes).unwrap()
}

// ---------------------------------------------------------------------------------------
// DecodeError::NoRecord

#[test]
fn no_record_for_empty_input() {
    for kind in KINDS {
        assert_eq!(decode(kind, &[]), Err(DecodeError::NoRecord { kind }));
    }
}

#[test]
fn no_record_for_zero_magic() {
    for kind in KINDS {
        assert_eq!(decode(kind, &[0; 4]), Err(DecodeError::NoRecord { kind }));
        // Zero magic means "nothing here" whatever follows it.
        let mut bytes = golden(kind);
        bytes[..4].fill(0);
        assert_eq!(decode(kind, &bytes), Err(DecodeError::NoRecord { kind }));
    }
}

// ---------------------------------------------------------------------------------------
// DecodeError::TooShort

#[test]
fn too_short_names_the_bytes_needed() {
    let pci = golden(PCI);
    let cases: [(&[u8], u64); 5] = [
        (b"L", 4),
        (b"LUOP", 6),
        (b"LUOP\x01\x00", 64),
        (&pci[..63], 64),
        (&pci[..100], 104),
    ];
    for (bytes, needed) in cases {
        assert_eq!(
            decode(PCI, bytes),
            Err(DecodeError::TooShort {
                kind: PCI,
                needed,
                found: bytes.len() as u64
            })
        );
    }
}

// ---------------------------------------------------------------------------------------
// DecodeError::BadMagic

#[test]
fn bad_magic_names_the_magic_found() {
    assert_eq!(
        decode(FLB, &golden(PCI)),
        Err(DecodeError::BadMagic {
            kind: FLB,
            found: LUOP
        })
    );
    // A record written big-endian shows its magic reversed.
    let mut swapped = golden(ROOT);
    swapped[..4].copy_from_slice(b"ROUL");
    assert_eq!(
        decode(ROOT, &swapped),
        Err(DecodeError::BadMagic {
            kind: ROOT,
            found: u32::from_le_bytes(*b"ROUL")
        })
    );
}

// ---------------------------------------------------------------------------------------
// DecodeError::UnsupportedMajor

#[test]
fn unsupported_major_is_told_from_six_bytes() {
    for major in [0u16, 2, 0x0100, u16::MAX] {
        // Six bytes are enough: nothing else of another major's layout is assumed.
        let mut bytes = b"LUOP\0\0".to_vec();
        put_u16(&mut bytes, 4, major);
        let expected = Err(DecodeError::UnsupportedMajor {
            kind: PCI,
            found: major,
            min: 1,
            max: 1,
        });
        assert_eq!(decode(PCI, &bytes), expected);
        // Nor is its checksum, lengths or size checked.
        let mut record = golden(PCI);
        put_u16(&mut record, 4, major);
        record.extend_from_slice(&[0xFF; 9]);
        assert_eq!(decode(PCI, &record), expected);
    }
}

// ---------------------------------------------------------------------------------------
// DecodeError::UnsupportedFeatures

#[test]
fn unknown_incompatible_features_are_refused() {
    for (kind, bits) in [(PCI, 1), (FLB, 0x8000_0000), (ROOT, 0x0001_0100)] {
        let mut raw = RawRecord::new(kind, 1, vec![]);
        raw.incompat = bits;
        assert_eq!(
            decode(kind, &raw.bytes()),
            Err(DecodeError::UnsupportedFeatures {
                kind,
                unknown: bits
            })
        );
    }
}

// ---------------------------------------------------------------------------------------
// DecodeError::HeaderSize and DecodeError::EntrySize

#[test]
fn header_len_of_this_minor_is_exactly_64() {
    for found in [0u16, 8, 56, 63, 65, 72, 0xFFF8] {
        let mut raw = RawRecord::new(PCI, 0, vec![]);
        raw.header_len = found;
        assert_eq!(
            decode(PCI, &raw.bytes()),
            Err(DecodeError::HeaderSize {
                kind: PCI,
                found,
                min: 64,
                max: 64
            }),
            "header_len {found}"
        );
    }
}

#[test]
fn header_len_of_a_newer_minor_is_a_multiple_of_8_from_64() {
    for found in [0u16, 56, 60, 68, 71, 0xFFF9, 0xFFFF] {
        let mut raw = RawRecord::new(FLB, 0, vec![]);
        raw.minor = 1;
        raw.header_len = found;
        assert_eq!(
            decode(FLB, &raw.bytes()),
            Err(DecodeError::HeaderSize {
                kind: FLB,
                found,
                min: 64,
                max: 0xFFF8
            }),
            "header_len {found}"
        );
    }
}

#[test]
fn entry_size_of_this_minor_is_exact() {
    for kind in KINDS {
        let known = u16::try_from(entry_size(kind)).unwrap();
        for found in [0, 4, known - 8, known - 1, known + 1, known + 8, 0xFFF8] {
            let mut raw = RawRecord::new(kind, 0, vec![]);
            raw.entry_size = found;
            assert_eq!(
                decode(kind, &raw.bytes()),
                Err(DecodeError::EntrySize {
                    kind,
                    found,
                    min: known,
                    max: known
                }),
                "{kind} entry_size {found}"
            );
        }
    }
}

#[test]
fn entry_size_of_a_newer_minor_is_a_multiple_of_8_from_the_known_size() {
    for kind in KINDS {
        let known = u16::try_from(entry_size(kind)).unwrap();
        for found in [0, known - 8, known + 4, 0xFFFC, 0xFFFF] {
            let mut raw = RawRecord::new(kind, 0, vec![]);
            raw.minor = 2;
            raw.entry_size = found;
            assert_eq!(
                decode(kind, &raw.bytes()),
                Err(DecodeError::EntrySize {
                    kind,
                    found,
                    min: known,
                    max: 0xFFF8
                }),
                "{kind} entry_size {found}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// DecodeError::Inconsistent

#[test]
fn entry_count_above_capacity() {
    let mut raw = RawRecord::new(PCI, 2, vec![raw_pci(0, 1, 1), raw_pci(0, 2, 1)]);
    raw.entry_count = Some(3);
    assert_eq!(
        decode(PCI, &raw.bytes()),
        Err(DecodeError::OverMaximum {
            kind: PCI,
            field: Field::EntryCount,
            max: 2,
            found: 3
        })
    );
}

#[test]
fn record_len_must_match_header_len_plus_capacity_slots() {
    let raw = RawRecord::new(FLB, 2, vec![flb(b"a")]);
    let len = 64 + 2 * 72;
    for found in [0, 64, len - 8, len - 1, len + 8, u32::MAX] {
        let mut bad = raw.clone();
        bad.record_len = Some(found);
        assert_eq!(
            decode(FLB, &bad.bytes()),
            Err(DecodeError::Inconsistent {
                kind: FLB,
                field: Field::RecordLength,
                expected: u64::from(len),
                found: u64::from(found)
            })
        );
    }
}

#[test]
fn record_len_arithmetic_never_wraps() {
    // 0xFFF8 + 0xFFFF_FFFF * 0xFFF8 is 0 modulo 2^32: a reader computing in u32 would accept
    // record_len 0. Only the 64-byte header is needed to tell.
    let mut header = [0u8; 64];
    header[..4].copy_from_slice(b"LUOP");
    put_u16(&mut header, 4, 1);
    put_u16(&mut header, 6, 1);
    put_u16(&mut header, 8, 0xFFF8);
    put_u16(&mut header, 10, 0xFFF8);
    put_u32(&mut header, 16, u32::MAX);
    assert_eq!(
        decode(PCI, &header),
        Err(DecodeError::Inconsistent {
            kind: PCI,
            field: Field::RecordLength,
            expected: 0xFFF8 + u64::from(u32::MAX) * 0xFFF8,
            found: 0
        })
    );
}

#[test]
fn input_longer_than_the_record() {
    for kind in KINDS {
        let mut bytes = golden(kind);
        let len = bytes.len() as u64;
        bytes.extend_from_slice(&[0; 8]);
        assert_eq!(
            decode(kind, &bytes),
            Err(DecodeError::Inconsistent {
                kind,
                field: Field::InputLength,
                expected: len,
                found: len + 8
            })
        );
    }
}

#[test]
fn capacity_whose_record_exceeds_u32_cannot_be_encoded() {
    fn check<E: liveupdate_abi::Entry>(size: u64) {
        let max = (u64::from(u32::MAX) - 64) / size;
        let max32 = u32::try_from(max).unwrap();
        assert_eq!(
            Record::<E>::len_for(AbiVersion::V1_0, Capacity::new(max32)),
            Some(usize::try_from(64 + max * size).unwrap())
        );
        assert_eq!(
            Record::<E>::len_for(AbiVersion::V1_0, Capacity::new(max32 + 1)),
            None
        );
        let mut out = [0u8; 64];
        assert_eq!(
            Record::<E>::encode(
                &mut out,
                Encoding::new(
                    AbiVersion::V1_0,
                    Generation::new(1),
                    Capacity::new(max32 + 1)
                ),
                std::iter::empty::<E::Item>()
            ),
            Err(EncodeError::CapacityTooLarge {
                kind: E::KIND,
                max,
                found: max + 1
            })
        );
        // The largest capacity is fine, and only the buffer is too small.
        assert_eq!(
            Record::<E>::encode(
                &mut out,
                Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(max32)),
                std::iter::empty::<E::Item>()
            ),
            Err(EncodeError::BufferTooSmall {
                kind: E::KIND,
                needed: 64 + max * size,
                found: 64
            })
        );
    }
    check::<DirEntry>(24);
    check::<FlbEntry>(72);
    check::<PciEntry>(8);
}

// ---------------------------------------------------------------------------------------
// DecodeError::Checksum

#[test]
fn checksum_names_stored_and_computed() {
    for kind in KINDS {
        let good = golden(kind);
        let stored = spec_crc(&good);
        // A bit in the last (unused, zero) byte: only the CRC can tell.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0x80;
        assert_eq!(
            decode(kind, &bad),
            Err(DecodeError::Checksum {
                kind,
                stored,
                computed: spec_crc(&bad)
            })
        );
        // The CRC field itself.
        let mut bad = good.clone();
        put_u32(&mut bad, 44, stored ^ 1);
        assert_eq!(
            decode(kind, &bad),
            Err(DecodeError::Checksum {
                kind,
                stored: stored ^ 1,
                computed: stored
            })
        );
    }
}

// ---------------------------------------------------------------------------------------
// DecodeError::Reserved

#[test]
fn reserved_header_bytes_must_be_zero() {
    for kind in KINDS {
        for offset in 48..64 {
            let mut bytes = golden(kind);
            bytes[offset] = 0x01;
            reseal(kind, &mut bytes);
            assert_eq!(
                decode(kind, &bytes),
                Err(DecodeError::Reserved {
                    kind,
                    offset: offset as u64
                })
            );
        }
    }
}

#[test]
fn unused_slots_must_be_zero() {
    for kind in KINDS {
        let good = golden(kind);
        let used = usize::try_from(crate::common::get_u32(&good, 12)).unwrap();
        assert!(used > 0 && HEADER + used * entry_size(kind) < good.len());
        let used_end = HEADER + used * entry_size(kind);
        for offset in used_end..good.len() {
            let mut bytes = good.clone();
            bytes[offset] = 0xFF;
            reseal(kind, &mut bytes);
            assert_eq!(
                decode(kind, &bytes),
                Err(DecodeError::Reserved {
                    kind,
                    offset: offset as u64
                })
            );
        }
    }
}

#[test]
fn a_removed_entry_must_be_zeroed() {
    // Lowering entry_count without clearing the slot leaves a stale entry behind.
    let mut raw = RawRecord::new(PCI, 4, vec![raw_pci(0, 0x100, 1), raw_pci(0, 0x200, 1)]);
    raw.entry_count = Some(1);
    assert_eq!(
        decode(PCI, &raw.bytes()),
        Err(DecodeError::Reserved {
            kind: PCI,
            offset: 64 + 8 + 5 // the first non-zero byte: bdf 0x0200 is stored 00 02
        })
    );
}

// ---------------------------------------------------------------------------------------
// DecodeError::Entry: FLB table

#[test]
fn flb_name_empty() {
    assert_eq!(
        decode_entries(FLB, vec![flb(b"a"), flb(b"")]),
        Err(entry_err(FLB, 1, EntryFault::NameEmpty))
    );
    assert_eq!(
        FlbEntry::new("", 1, 1, FlbFlags::empty()),
        Err(EntryFault::NameEmpty)
    );
}

#[test]
fn flb_name_unterminated() {
    assert_eq!(
        decode_entries(FLB, vec![flb(&[b'x'; 48])]),
        Err(entry_err(FLB, 0, EntryFault::NameUnterminated))
    );
    assert_eq!(
        FlbEntry::new(&"x".repeat(48), 1, 1, FlbFlags::empty()),
        Err(EntryFault::NameUnterminated)
    );
    // 47 characters and the NUL fill the field exactly.
    let longest = "x".repeat(47);
    let entry = FlbEntry::new(&longest, 1, 1, FlbFlags::empty()).unwrap();
    assert_eq!(entry.name(), longest);
    assert_eq!(decode_entries(FLB, vec![flb(longest.as_bytes())]), Ok(()));
}

#[test]
fn flb_name_not_printable() {
    for (name, at) in [
        (&b"pci v1"[..], 3u8),
        (b"\x7f", 0),
        (b"caf\xc3\xa9", 3),
        (b"tab\t", 3),
        (&[b'y'; 47], 255), // valid: the control case
    ] {
        let expected = if at == 255 {
            Ok(())
        } else {
            Err(entry_err(FLB, 0, EntryFault::NameNotPrintable { at }))
        };
        assert_eq!(decode_entries(FLB, vec![flb(name)]), expected);
    }
    assert_eq!(
        FlbEntry::new("a b", 1, 1, FlbFlags::empty()),
        Err(EntryFault::NameNotPrintable { at: 1 })
    );
}

#[test]
fn flb_name_padding() {
    assert_eq!(
        decode_entries(FLB, vec![flb(b"pci\0x")]),
        Err(entry_err(FLB, 0, EntryFault::NamePadding))
    );
    let mut last = [0u8; 48];
    last[0] = b'a';
    last[47] = 1;
    assert_eq!(
        decode_entries(FLB, vec![flb(&last)]),
        Err(entry_err(FLB, 0, EntryFault::NamePadding))
    );
    // A NUL in a name given to `new` is a non-printable byte, wherever it is.
    assert_eq!(
        FlbEntry::new("a\0b", 1, 1, FlbFlags::empty()),
        Err(EntryFault::NameNotPrintable { at: 1 })
    );
    assert_eq!(
        FlbEntry::new("a\0", 1, 1, FlbFlags::empty()),
        Err(EntryFault::NameNotPrintable { at: 1 })
    );
}

#[test]
fn flb_duplicate_name() {
    assert_eq!(
        decode_entries(FLB, vec![flb(b"a"), flb(b"pci-v1"), flb(b"pci-v1")]),
        Err(entry_err(FLB, 2, EntryFault::DuplicateName))
    );
    let e = FlbEntry::new("pci-v1", 1, 1, FlbFlags::empty()).unwrap();
    let mut out = [0u8; 64 + 2 * 72];
    assert_eq!(
        FlbTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
            [e, e]
        ),
        Err(encode_err(FLB, 1, EntryFault::DuplicateName))
    );
}

#[test]
fn flb_out_of_order() {
    // Names sort as their 48-byte zero-padded fields (memcmp): a prefix sorts first.
    assert_eq!(
        decode_entries(FLB, vec![flb(b"pci-v1"), flb(b"iommu-v1")]),
        Err(entry_err(FLB, 1, EntryFault::OutOfOrder))
    );
    assert_eq!(
        decode_entries(FLB, vec![flb(b"abc"), flb(b"ab")]),
        Err(entry_err(FLB, 1, EntryFault::OutOfOrder))
    );
    assert_eq!(
        decode_entries(FLB, vec![flb(b"B"), flb(b"a")]),
        Ok(()),
        "byte order, upper case first"
    );
    let a = FlbEntry::new("a", 1, 1, FlbFlags::empty()).unwrap();
    let b = FlbEntry::new("b", 1, 1, FlbFlags::empty()).unwrap();
    let mut out = [0u8; 64 + 2 * 72];
    assert_eq!(
        FlbTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
            [b, a]
        ),
        Err(encode_err(FLB, 1, EntryFault::OutOfOrder))
    );
}

#[test]
fn flb_zero_file_count() {
    assert_eq!(
        decode_entries(FLB, vec![raw_flb(b"a", 0x1000, 0, 0, 0)]),
        Err(entry_err(FLB, 0, EntryFault::ZeroFileCount))
    );
    let e = FlbEntry::new("a", 1, 0, FlbFlags::empty()).unwrap();
    let mut out = [0u8; 64 + 72];
    assert_eq!(
        FlbTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [e]
        ),
        Err(encode_err(FLB, 0, EntryFault::ZeroFileCount))
    );
}

#[test]
fn flb_unknown_flags() {
    for (flags, bits) in [(2, 2), (0x8000_0003, 0x8000_0002)] {
        assert_eq!(
            decode_entries(FLB, vec![raw_flb(b"a", 1, 1, flags, 0)]),
            Err(entry_err(FLB, 0, EntryFault::UnknownFlags { bits }))
        );
    }
    assert_eq!(decode_entries(FLB, vec![raw_flb(b"a", 1, 1, 1, 0)]), Ok(()));
    let e = FlbEntry::new("a", 1, 1, FlbFlags::from_bits_retain(0x11)).unwrap();
    let mut out = [0u8; 64 + 72];
    assert_eq!(
        FlbTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [e]
        ),
        Err(encode_err(FLB, 0, EntryFault::UnknownFlags { bits: 0x10 }))
    );
}

#[test]
fn flb_reserved_field() {
    assert_eq!(
        decode_entries(FLB, vec![flb(b"a"), raw_flb(b"b", 1, 1, 0, 1 << 24)]),
        Err(entry_err(FLB, 1, EntryFault::Reserved))
    );
    let e = flb_entry(&raw_flb(b"a", 1, 1, 0, 7));
    let mut out = [0u8; 64 + 72];
    assert_eq!(
        FlbTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [e]
        ),
        Err(encode_err(FLB, 0, EntryFault::Reserved))
    );
}

#[test]
fn flb_faults_are_reported_in_spec_order() {
    // name, then file_count, then flags, then reserved, then order.
    let cases = [
        (raw_flb(b"", 1, 0, 2, 1), EntryFault::NameEmpty),
        (raw_flb(b"a", 1, 0, 2, 1), EntryFault::ZeroFileCount),
        (
            raw_flb(b"a", 1, 1, 2, 1),
            EntryFault::UnknownFlags { bits: 2 },
        ),
        (raw_flb(b"a", 1, 1, 0, 1), EntryFault::Reserved),
        (raw_flb(b"a", 1, 1, 0, 0), EntryFault::OutOfOrder),
    ];
    for (entry, fault) in cases {
        assert_eq!(
            decode_entries(FLB, vec![flb(b"z"), entry]),
            Err(entry_err(FLB, 1, fault))
        );
    }
}

// ---------------------------------------------------------------------------------------
// DecodeError::Entry: PCI table

#[test]
fn pci_zero_refcount() {
    assert_eq!(
        decode_entries(PCI, vec![raw_pci(0, 0x100, 1), raw_pci(0, 0x200, 0)]),
        Err(entry_err(PCI, 1, EntryFault::ZeroRefcount))
    );
    let mut out = [0u8; 64 + 8];
    assert_eq!(
        PciTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [PciEntry::new(PciAddress::new(0, 1, 0, 0).unwrap(), 0)]
        ),
        Err(encode_err(PCI, 0, EntryFault::ZeroRefcount))
    );
}

#[test]
fn pci_out_of_order() {
    // The key is domain << 16 | bdf: the domain decides first.
    assert_eq!(
        decode_entries(PCI, vec![raw_pci(1, 0x0000, 1), raw_pci(0, 0xFFFF, 1)]),
        Err(entry_err(PCI, 1, EntryFault::OutOfOrder))
    );
    assert_eq!(
        decode_entries(
            PCI,
            vec![
                raw_pci(0, 0x0100, 1),
                raw_pci(0, 0x3B00, 1),
                raw_pci(0, 0x1C00, 1)
            ]
        ),
        Err(entry_err(PCI, 2, EntryFault::OutOfOrder))
    );
    let mut out = [0u8; 64 + 16];
    let a = PciEntry::new(PciAddress::new(0x1_0000, 0, 0, 0).unwrap(), 1);
    let b = PciEntry::new(PciAddress::new(0, 0xFF, 0x1F, 7).unwrap(), 1);
    assert_eq!(
        PciTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
            [a, b]
        ),
        Err(encode_err(PCI, 1, EntryFault::OutOfOrder))
    );
    // In the right order both decode, and stay distinct: no 16-bit domain truncation.
    let len = PciTable::encode(
        &mut out,
        Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
        [b, a],
    )
    .unwrap();
    let table = PciTable::decode(&out[..len]).unwrap();
    assert!(table.is_preserved(a.address()) && table.is_preserved(b.address()));
    assert!(!table.is_preserved(PciAddress::new(0, 0, 0, 0).unwrap()));
}

#[test]
fn pci_duplicate() {
    assert_eq!(
        decode_entries(
            PCI,
            vec![raw_pci(0x1_0000, 0x100, 1), raw_pci(0x1_0000, 0x100, 2)]
        ),
        Err(entry_err(PCI, 1, EntryFault::Duplicate))
    );
    let e = PciEntry::new(PciAddress::new(0, 0x3b, 0, 0).unwrap(), 1);
    let mut out = [0u8; 64 + 16];
    assert_eq!(
        PciTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
            [e, e]
        ),
        Err(encode_err(PCI, 1, EntryFault::Duplicate))
    );
}

#[test]
fn pci_zero_refcount_is_found_before_the_order() {
    assert_eq!(
        decode_entries(PCI, vec![raw_pci(0, 0x200, 1), raw_pci(0, 0x100, 0)]),
        Err(entry_err(PCI, 1, EntryFault::ZeroRefcount))
    );
}

// ---------------------------------------------------------------------------------------
// DecodeError::Entry: root directory

fn dir(magic: u32) -> Vec<u8> {
    raw_dir(magic, 0x1234_5678, 0x1_0000_0000, 104, 0)
}

#[test]
fn dir_nested_root() {
    assert_eq!(
        decode_entries(ROOT, vec![dir(LUOF), dir(LUOR)]),
        Err(entry_err(ROOT, 1, EntryFault::NestedRoot))
    );
    let mut out = [0u8; 64 + 24];
    assert_eq!(
        Root::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [DirEntry::new(ROOT, PhysAddr::new(0x1000), 136, 0)]
        ),
        Err(encode_err(ROOT, 0, EntryFault::NestedRoot))
    );
}

#[test]
fn dir_record_too_small() {
    for length in [0, 1, 63] {
        assert_eq!(
            decode_entries(ROOT, vec![raw_dir(LUOP, 0, 0x1000, length, 0)]),
            Err(entry_err(ROOT, 0, EntryFault::RecordTooSmall { length }))
        );
    }
    assert_eq!(
        decode_entries(ROOT, vec![raw_dir(LUOP, 0, 0x1000, 64, 0)]),
        Ok(())
    );
    let mut out = [0u8; 64 + 24];
    assert_eq!(
        Root::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [DirEntry::new(PCI, PhysAddr::new(0x1000), 63, 0)]
        ),
        Err(encode_err(
            ROOT,
            0,
            EntryFault::RecordTooSmall { length: 63 }
        ))
    );
}

#[test]
fn dir_address_overflow() {
    // The last byte may be at u64::MAX - 1; one more wraps.
    assert_eq!(
        decode_entries(ROOT, vec![raw_dir(LUOP, 0, u64::MAX - 64, 64, 0)]),
        Ok(())
    );
    assert_eq!(
        decode_entries(ROOT, vec![raw_dir(LUOP, 0, u64::MAX - 63, 64, 0)]),
        Err(entry_err(ROOT, 0, EntryFault::AddressOverflow))
    );
    let mut out = [0u8; 64 + 24];
    assert_eq!(
        Root::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [DirEntry::new(FLB, PhysAddr::new(u64::MAX), u32::MAX, 0)]
        ),
        Err(encode_err(ROOT, 0, EntryFault::AddressOverflow))
    );
}

#[test]
fn dir_reserved_field() {
    assert_eq!(
        decode_entries(ROOT, vec![raw_dir(LUOF, 0, 0x1000, 64, 0x100)]),
        Err(entry_err(ROOT, 0, EntryFault::Reserved))
    );
    let e = DirEntry::read_from_bytes(&raw_dir(LUOF, 0, 0x1000, 64, 1)).unwrap();
    let mut out = [0u8; 64 + 24];
    assert_eq!(
        Root::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [e]
        ),
        Err(encode_err(ROOT, 0, EntryFault::Reserved))
    );
}

#[test]
fn dir_one_record_per_kind() {
    assert_eq!(
        decode_entries(ROOT, vec![dir(LUOF), dir(LUOF)]),
        Err(entry_err(ROOT, 1, EntryFault::Duplicate))
    );
    let e = DirEntry::new(PCI, PhysAddr::new(0x1000), 104, 0);
    let mut out = [0u8; 64 + 48];
    assert_eq!(
        Root::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
            [e, e]
        ),
        Err(encode_err(ROOT, 1, EntryFault::Duplicate))
    );
}

#[test]
fn dir_sorted_by_kind_magic() {
    assert_eq!(
        decode_entries(ROOT, vec![dir(LUOP), dir(LUOF)]),
        Err(entry_err(ROOT, 1, EntryFault::OutOfOrder))
    );
    let mut out = [0u8; 64 + 48];
    assert_eq!(
        Root::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
            [
                DirEntry::new(PCI, PhysAddr::new(0x2000), 104, 0),
                DirEntry::new(FLB, PhysAddr::new(0x1000), 280, 0)
            ]
        ),
        Err(encode_err(ROOT, 1, EntryFault::OutOfOrder))
    );
}

#[test]
fn dir_faults_are_reported_in_spec_order() {
    let cases = [
        (raw_dir(LUOR, 0, u64::MAX, 0, 1), EntryFault::NestedRoot),
        (
            raw_dir(LUOF, 0, u64::MAX, 0, 1),
            EntryFault::RecordTooSmall { length: 0 },
        ),
        (
            raw_dir(LUOF, 0, u64::MAX, 64, 1),
            EntryFault::AddressOverflow,
        ),
        (raw_dir(LUOF, 0, 0, 64, 1), EntryFault::Reserved),
        (raw_dir(LUOF, 0, 0, 64, 0), EntryFault::OutOfOrder),
    ];
    for (entry, fault) in cases {
        assert_eq!(
            decode_entries(ROOT, vec![dir(LUOP), entry]),
            Err(entry_err(ROOT, 1, fault))
        );
    }
}

#[test]
fn the_first_bad_entry_is_reported() {
    assert_eq!(
        decode_entries(
            PCI,
            vec![raw_pci(0, 1, 1), raw_pci(0, 2, 0), raw_pci(0, 0, 0)]
        ),
        Err(entry_err(PCI, 1, EntryFault::ZeroRefcount))
    );
}

// ---------------------------------------------------------------------------------------
// EncodeError::BufferTooSmall and EncodeError::CapacityExceeded

#[test]
fn buffer_too_small_names_the_size_needed() {
    let entries = [PciEntry::new(PciAddress::new(0, 1, 0, 0).unwrap(), 1)];
    for found in [0usize, 63, 64, 103] {
        let mut out = vec![0u8; found];
        assert_eq!(
            PciTable::encode(
                &mut out,
                Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(5)),
                entries
            ),
            Err(EncodeError::BufferTooSmall {
                kind: PCI,
                needed: 104,
                found: found as u64
            })
        );
    }
}

#[test]
fn more_entries_than_capacity() {
    let entries = [
        PciEntry::new(PciAddress::new(0, 1, 0, 0).unwrap(), 1),
        PciEntry::new(PciAddress::new(0, 2, 0, 0).unwrap(), 1),
        PciEntry::new(PciAddress::new(0, 3, 0, 0).unwrap(), 1),
    ];
    let mut out = [0u8; 256];
    assert_eq!(
        PciTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(2)),
            entries
        ),
        Err(EncodeError::CapacityExceeded {
            kind: PCI,
            capacity: 2
        })
    );
    assert_eq!(
        PciTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(0)),
            entries
        ),
        Err(EncodeError::CapacityExceeded {
            kind: PCI,
            capacity: 0
        })
    );
    assert_eq!(
        PciTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(3)),
            entries
        ),
        Ok(64 + 24)
    );
}

// ---------------------------------------------------------------------------------------
// The order of the checks

/// Starts from a record that breaks every rule and repairs one rule at a time; each step
/// must report the next check in SPEC.md's order.
#[test]
#[allow(clippy::too_many_lines)] // one step per check
fn checks_run_in_spec_order() {
    let mut b = vec![0u8; 64];
    let expect = |b: &[u8], e: DecodeError| assert_eq!(PciTable::decode(b).map(drop), Err(e));
    // Everything wrong: zero magic reads as nothing handed over.
    put_u16(&mut b, 4, 9); // major
    put_u16(&mut b, 8, 8); // header_len
    put_u16(&mut b, 10, 1); // entry_size
    put_u32(&mut b, 12, 9); // entry_count
    put_u32(&mut b, 16, 1); // entry_capacity
    put_u32(&mut b, 40, 4); // incompat
    b[50] = 1; // reserved
    expect(&b, DecodeError::NoRecord { kind: PCI });
    b[..4].copy_from_slice(b"LUOF");
    expect(
        &b,
        DecodeError::BadMagic {
            kind: PCI,
            found: LUOF,
        },
    );
    b[..4].copy_from_slice(b"LUOP");
    expect(
        &b,
        DecodeError::UnsupportedMajor {
            kind: PCI,
            found: 9,
            min: 1,
            max: 1,
        },
    );
    put_u16(&mut b, 4, 1);
    expect(
        &b,
        DecodeError::HeaderSize {
            kind: PCI,
            found: 8,
            min: 64,
            max: 64,
        },
    );
    put_u16(&mut b, 8, 64);
    expect(
        &b,
        DecodeError::EntrySize {
            kind: PCI,
            found: 1,
            min: 8,
            max: 8,
        },
    );
    put_u16(&mut b, 10, 8);
    let inconsistent = |field, expected, found| DecodeError::Inconsistent {
        kind: PCI,
        field,
        expected,
        found,
    };
    expect(
        &b,
        DecodeError::OverMaximum {
            kind: PCI,
            field: Field::EntryCount,
            max: 1,
            found: 9,
        },
    );
    put_u32(&mut b, 12, 1);
    expect(&b, inconsistent(Field::RecordLength, 72, 0));
    put_u32(&mut b, 20, 72);
    expect(
        &b,
        DecodeError::TooShort {
            kind: PCI,
            needed: 72,
            found: 64,
        },
    );
    b.extend_from_slice(&[0; 9]);
    expect(&b, inconsistent(Field::InputLength, 72, 73));
    b.pop();
    expect(
        &b,
        DecodeError::Checksum {
            kind: PCI,
            stored: 0,
            computed: spec_crc(&b),
        },
    );
    reseal(PCI, &mut b);
    expect(
        &b,
        DecodeError::UnsupportedFeatures {
            kind: PCI,
            unknown: 4,
        },
    );
    put_u32(&mut b, 40, 0);
    reseal(PCI, &mut b);
    expect(
        &b,
        DecodeError::Reserved {
            kind: PCI,
            offset: 50,
        },
    );
    b[50] = 0;
    reseal(PCI, &mut b);
    expect(&b, entry_err(PCI, 0, EntryFault::ZeroRefcount));
    put_u32(&mut b, 12, 0);
    b[64 + 6] = 1; // a refcount in the now unused slot
    reseal(PCI, &mut b);
    expect(
        &b,
        DecodeError::Reserved {
            kind: PCI,
            offset: 70,
        },
    );
    put_u32(&mut b, 12, 1);
    reseal(PCI, &mut b);
    let table = PciTable::decode(&b).unwrap();
    assert_eq!(table.entries().len(), 1);
    assert_eq!(table.generation(), Generation::new(0));
}
