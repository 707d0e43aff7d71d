//! The PCI entry of minor 1: identity, flags, the checks on them, the `HIERARCHY` feature,
//! the identity match, and a newer minor's leniency.

use liveupdate_abi::{
    AbiVersion, Access, DecodeError, EncodeError, EntryFault, Field, IdentityMatch, PciAddress,
    PciDevice, PciEntry, PciFlags, PciIdentity, PciTable, RecordKind,
};
use liveupdate_abi::{Capacity, Encoding, Generation};

use crate::common::{PCI2_SIZE, identity, pci_devices, pci_golden, raw_pci2};
use crate::v1::RawRecord;

const PCI: RecordKind = RecordKind::PciTable;

/// A minor 1 PCI table of raw entries, with `ro_compat`.
fn table(entries: Vec<Vec<u8>>, ro_compat: u32) -> Vec<u8> {
    let mut raw = RawRecord::new(PCI, 4, entries);
    raw.minor = 1;
    raw.entry_size = u16::try_from(PCI2_SIZE).unwrap();
    raw.ro_compat = ro_compat;
    raw.bytes()
}

fn entry_fault(index: u32, fault: EntryFault) -> DecodeError {
    DecodeError::Entry {
        kind: PCI,
        index,
        offset: 64 + u64::from(index) * 24,
        fault,
    }
}

#[test]
fn identity_is_checked_when_made() {
    assert_eq!(
        PciIdentity::new(0, 1, 2),
        Err(EntryFault::Vendor { vendor_id: 0 })
    );
    assert_eq!(
        PciIdentity::new(0xffff, 1, 2),
        Err(EntryFault::Vendor { vendor_id: 0xffff })
    );
    assert_eq!(
        PciIdentity::new(0x8086, 1, 0x0100_0000),
        Err(EntryFault::ClassCode {
            class_code: 0x0100_0000
        })
    );
    let id = identity(0x8086, 0x1572, 0x02_00_00);
    assert_eq!(
        (id.vendor_id(), id.device_id(), id.class_code()),
        (0x8086, 0x1572, 0x02_00_00)
    );
    assert_eq!(id.to_string(), "8086:1572 class 020000");
}

#[test]
fn identity_match_compares_vendor_device_and_class() {
    let recorded = identity(0x8086, 0x1572, 0x01_01_8a);
    let device = PciDevice::new(PciAddress::new(0, 1, 0, 0).unwrap(), 1).with_identity(recorded);
    assert_eq!(device.check_identity(recorded), IdentityMatch::Match);
    // The programming interface may change (IDE legacy/native): still the same device.
    assert_eq!(
        device.check_identity(identity(0x8086, 0x1572, 0x01_01_85)),
        IdentityMatch::Match
    );
    for other in [
        identity(0x8087, 0x1572, 0x01_01_8a),
        identity(0x8086, 0x1573, 0x01_01_8a),
        identity(0x8086, 0x1572, 0x01_06_01),
        identity(0x8086, 0x1572, 0x02_01_8a),
    ] {
        assert_eq!(
            device.check_identity(other),
            IdentityMatch::Mismatch { recorded },
            "{other}"
        );
    }
    let unknown = PciDevice::new(PciAddress::new(0, 1, 0, 0).unwrap(), 1);
    assert_eq!(unknown.check_identity(recorded), IdentityMatch::Unknown);

    // The same through a decoded table, which also says when a device was not preserved.
    let bytes = pci_golden();
    let table = PciTable::decode(&bytes).unwrap();
    let gpu = PciAddress::new(0, 0x3b, 0, 0).unwrap();
    assert_eq!(
        table.check_identity(gpu, identity(0x10de, 0x2330, 0x03_02_00)),
        Some(IdentityMatch::Match)
    );
    assert_eq!(
        table.check_identity(gpu, identity(0x1002, 0x744c, 0x03_00_00)),
        Some(IdentityMatch::Mismatch {
            recorded: identity(0x10de, 0x2330, 0x03_02_00)
        })
    );
    assert_eq!(
        table.check_identity(PciAddress::new(0, 0x3c, 0, 0).unwrap(), identity(1, 2, 3)),
        Some(IdentityMatch::Unknown)
    );
    assert_eq!(
        table.check_identity(PciAddress::new(0, 0x3d, 0, 0).unwrap(), identity(1, 2, 3)),
        None
    );
    for device in pci_devices() {
        assert_eq!(table.device(device.address), Some(device));
    }
    assert_eq!(table.device(PciAddress::new(0, 0x3d, 0, 0).unwrap()), None);
}

#[test]
fn minor_1_fields_are_checked_in_order() {
    let first = || raw_pci2(0, 0x100, 1, 0x8086, 0x1572, 0x02_00_00, 0, 0);
    assert!(PciTable::decode(&table(vec![first()], 0)).is_ok());
    let e = |refcount, vendor, device, class, flags, reserved| {
        raw_pci2(0, 0x200, refcount, vendor, device, class, flags, reserved)
    };
    let cases = [
        // The v1.0 fields first.
        (e(0, 0xffff, 0, 0, 0, 0), EntryFault::ZeroRefcount),
        (e(1, 0, 0x1572, 0, 0, 0), EntryFault::IdentityIncomplete),
        (e(1, 0, 0, 0x02_00_00, 0, 0), EntryFault::IdentityIncomplete),
        (
            e(1, 0xffff, 0, 0, 0, 0),
            EntryFault::Vendor { vendor_id: 0xffff },
        ),
        (
            e(1, 0x8086, 0, 0x0102_0000, 0, 0),
            EntryFault::ClassCode {
                class_code: 0x0102_0000,
            },
        ),
        (
            e(1, 0x8086, 0, 0, 0x18, 0),
            EntryFault::UnknownFlags { bits: 0x18 },
        ),
        (e(1, 0x8086, 0, 0, 0, 5), EntryFault::Reserved),
        (
            e(1, 0, 0, 0, PciFlags::DESCENDANT.bits(), 0),
            EntryFault::DescendantNotBridge,
        ),
    ];
    for (entry, fault) in cases {
        assert_eq!(
            PciTable::decode(&table(vec![first(), entry], 0)).map(drop),
            Err(entry_fault(1, fault)),
            "{fault:?}"
        );
    }
}

#[test]
fn hierarchy_is_set_exactly_when_an_entry_uses_descendant() {
    let bridge = raw_pci2(0, 0x08, 2, 0, 0, 0, 0b011, 0);
    let plain = raw_pci2(0, 0x100, 1, 0, 0, 0, 0b001, 0);
    let inconsistent = |expected, found| {
        Err(DecodeError::Inconsistent {
            kind: PCI,
            field: Field::RoCompat,
            expected,
            found,
        })
    };
    assert_eq!(
        PciTable::decode(&table(vec![bridge.clone()], 1)).map(|t| t.access()),
        Ok(Access::ReadWrite)
    );
    assert_eq!(
        PciTable::decode(&table(vec![bridge.clone()], 0)).map(drop),
        inconsistent(1, 0)
    );
    assert_eq!(
        PciTable::decode(&table(vec![plain.clone()], 1)).map(drop),
        inconsistent(0, 1)
    );
    // Bits the reader does not know are its read-only-compatible unknowns, not counted here.
    assert_eq!(
        PciTable::decode(&table(vec![plain.clone()], 0x8000_0000)).map(|t| t.access()),
        Ok(Access::ReadOnly {
            unknown: 0x8000_0000
        })
    );
    // The v1.0 reader knows neither DESCENDANT nor HIERARCHY: read-only.
    assert_eq!(
        PciTable::decode_as(&table(vec![bridge], 1), AbiVersion::V1_0).map(|t| t.access()),
        Ok(Access::ReadOnly { unknown: 1 })
    );
    // HIERARCHY in a minor 0 record means nothing to any reader (defined at minor 1).
    let mut raw = RawRecord::new(PCI, 1, vec![crate::v1::raw_pci(0, 1, 1)]);
    raw.ro_compat = 1;
    for reader in AbiVersion::ALL {
        assert_eq!(
            PciTable::decode_as(&raw.bytes(), reader).map(|t| t.access()),
            Ok(Access::ReadOnly { unknown: 1 })
        );
    }
    // Nor in another kind's record.
    let mut raw = RawRecord::new(RecordKind::FlbTable, 0, vec![]);
    raw.minor = 1;
    raw.ro_compat = 1;
    assert_eq!(
        liveupdate_abi::FlbTable::decode(&raw.bytes()).map(|t| t.access()),
        Ok(Access::ReadOnly { unknown: 1 })
    );
}

#[test]
fn the_encoder_derives_hierarchy_and_checks_flags() {
    let address = PciAddress::new(0, 1, 0, 0).unwrap();
    let encode = |device: PciDevice| {
        let mut out = vec![0u8; 64 + 24];
        liveupdate_abi::Record::<PciEntry>::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_1, Generation::new(1), Capacity::new(1)),
            [device],
        )
        .map(|_| out[36])
    };
    let bridge = PciFlags::BRIDGE | PciFlags::DESCENDANT;
    assert_eq!(encode(PciDevice::new(address, 1).with_flags(bridge)), Ok(1));
    assert_eq!(
        encode(PciDevice::new(address, 1).with_flags(PciFlags::BRIDGE)),
        Ok(0)
    );
    let fault = |fault| {
        Err(EncodeError::Entry {
            kind: PCI,
            index: 0,
            offset: 64,
            fault,
        })
    };
    assert_eq!(
        encode(PciDevice::new(address, 1).with_flags(PciFlags::DESCENDANT)),
        fault(EntryFault::DescendantNotBridge)
    );
    assert_eq!(
        encode(PciDevice::new(address, 1).with_flags(PciFlags::from_bits_retain(0x40))),
        fault(EntryFault::UnknownFlags { bits: 0x40 })
    );
    assert_eq!(
        encode(PciDevice::new(address, 0)),
        fault(EntryFault::ZeroRefcount)
    );
}

#[test]
fn a_newer_minor_may_use_what_minor_1_reserves() {
    // Minor 2 with 32-byte entries: the class's top byte, unknown flags, the reserved field
    // and the 8 new bytes are the newer minor's; what minor 1 defines is still checked.
    let mut entry = raw_pci2(0, 0x100, 1, 0x8086, 0x1572, 0x7702_0000, 0x8000_0004, 9);
    entry.extend_from_slice(&[0xEE; 8]);
    let mut raw = RawRecord::new(PCI, 2, vec![entry]);
    raw.minor = 2;
    raw.entry_size = 32;
    raw.reserved = [0xAB; 16];
    let bytes = raw.bytes();
    let table = PciTable::decode(&bytes).unwrap();
    assert_eq!(table.version(), AbiVersion::V1_1);
    let device = table.devices().next().unwrap();
    assert_eq!(device.identity, Some(identity(0x8086, 0x1572, 0x02_0000)));
    assert_eq!(device.flags.map(|f| f.bits()), Some(0x8000_0004));

    let mut entry = raw_pci2(0, 0x100, 1, 0x8086, 0, 0, PciFlags::DESCENDANT.bits(), 0);
    entry.extend_from_slice(&[0; 8]);
    let mut raw = RawRecord::new(PCI, 1, vec![entry]);
    raw.minor = 2;
    raw.entry_size = 32;
    raw.ro_compat = 1;
    assert_eq!(
        PciTable::decode(&raw.bytes()).map(drop),
        Err(DecodeError::Entry {
            kind: PCI,
            index: 0,
            offset: 64,
            fault: EntryFault::DescendantNotBridge
        })
    );
    // Minor 1's own sizes are exact: a minor 1 PCI entry is 24 bytes, a minor 0 one 8.
    for (minor, found, size) in [(1, 16, 24), (1, 32, 24), (0, 24, 8)] {
        let mut raw = RawRecord::new(PCI, 0, vec![]);
        raw.minor = minor;
        raw.entry_size = found;
        assert_eq!(
            PciTable::decode(&raw.bytes()).map(drop),
            Err(DecodeError::EntrySize {
                kind: PCI,
                found,
                min: size,
                max: size
            }),
            "minor {minor}"
        );
    }
    let mut raw = RawRecord::new(PCI, 0, vec![]);
    raw.minor = 2;
    raw.entry_size = 16;
    assert_eq!(
        PciTable::decode(&raw.bytes()).map(drop),
        Err(DecodeError::EntrySize {
            kind: PCI,
            found: 16,
            min: 24,
            max: 0xFFF8
        })
    );
}

#[test]
fn minor_1_reserves_the_header_bytes_chained_does_not_use() {
    for (incompat, reserved_at, expected) in [(0u32, 48, 48u64), (0, 63, 63), (1, 60, 60)] {
        let mut raw = RawRecord::new(PCI, 1, vec![raw_pci2(0, 1, 1, 0, 0, 0, 0, 0)]);
        raw.minor = 1;
        raw.entry_size = 24;
        raw.incompat = incompat;
        if incompat != 0 {
            // A first block linking somewhere.
            raw.reserved[0] = 0x40;
        }
        raw.reserved[reserved_at - 48] = 1;
        let bytes = raw.bytes();
        let got = liveupdate_abi::Record::<PciEntry>::decode(&bytes).map(drop);
        assert_eq!(
            got,
            Err(DecodeError::Reserved {
                kind: PCI,
                offset: expected
            })
        );
    }
}
