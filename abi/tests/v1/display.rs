//! Every message names the record kind and where the fault is (offset, entry, field or size),
//! with the values found and expected, so one kernel log line is enough to act on.

use liveupdate_abi::Generation;
use liveupdate_abi::{DecodeError, DirectoryField, EncodeError, EntryFault, Field, RecordKind};

const ROOT: RecordKind = RecordKind::Root;
const FLB: RecordKind = RecordKind::FlbTable;
const PCI: RecordKind = RecordKind::PciTable;

fn says(err: impl std::fmt::Display + std::fmt::Debug, parts: &[&str]) {
    let msg = err.to_string();
    for part in parts {
        assert!(msg.contains(part), "{err:?}: {msg:?} does not say {part:?}");
    }
}

#[test]
fn kind_names() {
    assert_eq!(ROOT.to_string(), "root");
    assert_eq!(FLB.to_string(), "flb table");
    assert_eq!(PCI.to_string(), "pci table");
}

#[test]
fn header_errors_say_kind_and_where() {
    says(
        DecodeError::NoRecord { kind: PCI },
        &["pci table", "no record", "root directory"],
    );
    says(
        DecodeError::TooShort {
            kind: FLB,
            needed: 280,
            found: 17,
        },
        &["flb table", "280", "17"],
    );
    says(
        DecodeError::BadMagic {
            kind: FLB,
            found: u32::from_le_bytes(*b"LU\x01P"),
        },
        &["flb table", "offset 0", "\"LUOF\"", "\"LU\\x01P\""],
    );
    says(
        DecodeError::UnsupportedMajor {
            kind: ROOT,
            found: 2,
            min: 1,
            max: 1,
        },
        &["root", "offset 4", "major version 2", "1..=1"],
    );
    says(
        DecodeError::UnsupportedFeatures {
            kind: PCI,
            unknown: 0x10,
        },
        &["pci table", "offset 40", "0x00000010"],
    );
    says(
        DecodeError::HeaderSize {
            kind: PCI,
            found: 72,
            min: 64,
            max: 64,
        },
        &["pci table", "offset 8", "72", "64..=64"],
    );
    says(
        DecodeError::EntrySize {
            kind: FLB,
            found: 76,
            min: 72,
            max: 65528,
        },
        &["flb table", "offset 10", "76", "72..=65528"],
    );
    says(
        DecodeError::Checksum {
            kind: ROOT,
            stored: 0x1234_5678,
            computed: 0x9ABC_DEF0,
        },
        &["root", "CRC-32C", "0x12345678", "0x9abcdef0"],
    );
    says(
        DecodeError::Reserved {
            kind: PCI,
            offset: 98,
        },
        &["pci table", "offset 98"],
    );
    says(
        EncodeError::ReadOnly {
            kind: FLB,
            unknown: 0x8000_0000,
        },
        &["flb table", "read-only-compatible features", "0x80000000"],
    );
}

#[test]
fn inconsistencies_name_the_field() {
    let cases = [
        (Field::RecordLength, "record_len is 105, expected 104"),
        (Field::InputLength, "input length is 105, expected 104"),
    ];
    for (field, says_what) in cases {
        says(
            DecodeError::Inconsistent {
                kind: PCI,
                field,
                expected: 104,
                found: 105,
            },
            &["pci table", says_what],
        );
    }
    // A count above its maximum is its own variant: "maximum", never "expected".
    says(
        DecodeError::OverMaximum {
            kind: PCI,
            field: Field::EntryCount,
            max: 104,
            found: 105,
        },
        &["pci table", "entry_count is 105, more than the maximum 104"],
    );
    says(
        EncodeError::CapacityTooLarge {
            kind: PCI,
            max: 104,
            found: 105,
        },
        &[
            "pci table",
            "entry_capacity is 105, more than the maximum 104",
        ],
    );
}

#[test]
fn entry_errors_say_index_offset_and_fault() {
    let faults = [
        (EntryFault::NameEmpty, "empty"),
        (EntryFault::NameUnterminated, "NUL"),
        (EntryFault::NameNotPrintable { at: 3 }, "byte 3"),
        (EntryFault::NamePadding, "after its NUL"),
        (EntryFault::DuplicateName, "name repeats"),
        (EntryFault::OutOfOrder, "not strictly after"),
        (EntryFault::Duplicate, "repeats the previous entry's key"),
        (EntryFault::ZeroFileCount, "file count is zero"),
        (EntryFault::ZeroRefcount, "refcount is zero"),
        (EntryFault::UnknownFlags { bits: 0x10 }, "0x10"),
        (EntryFault::Reserved, "reserved"),
        (EntryFault::RecordTooSmall { length: 63 }, "63"),
        (EntryFault::NestedRoot, "root record"),
        (EntryFault::AddressOverflow, "overflows"),
    ];
    for (fault, what) in faults {
        says(
            DecodeError::Entry {
                kind: FLB,
                index: 2,
                offset: 208,
                fault,
            },
            &["flb table", "entry 2", "offset 208", what],
        );
    }
}

#[test]
fn root_and_encoder_errors_say_kind_and_where() {
    says(
        DecodeError::Generation {
            kind: PCI,
            expected: Generation::new(42),
            found: Generation::new(41),
        },
        &["pci table", "offset 24", "generation 41", "42"],
    );
    says(
        DecodeError::Directory {
            kind: PCI,
            field: DirectoryField::Length,
            expected: 104,
            found: 105,
        },
        &[
            "root directory entry",
            "pci table",
            "length",
            "0x68",
            "0x69",
        ],
    );
    says(
        DecodeError::Directory {
            kind: FLB,
            field: DirectoryField::Crc,
            expected: 0x35b1_1b43,
            found: 1,
        },
        &[
            "root directory entry",
            "flb table",
            "crc",
            "0x35b11b43",
            "0x1",
        ],
    );
    says(
        EncodeError::BufferTooSmall {
            kind: ROOT,
            needed: 136,
            found: 100,
        },
        &["root", "136", "100"],
    );
    says(
        EncodeError::CapacityExceeded {
            kind: PCI,
            capacity: 5,
        },
        &["pci table", "capacity of 5"],
    );
}
