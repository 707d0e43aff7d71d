//! The newtypes of the public API: a generation and a capacity are not bare integers.

use liveupdate_abi::{
    AbiVersion, Capacity, EncodeError, Encoding, FlbTable, Generation, PciAddress, PciEntry,
    PciTable, RecordKind, Root,
};

#[test]
fn generation_and_capacity_hold_their_number_and_print_it() {
    for n in [0u64, 1, 42, u64::MAX] {
        let g = Generation::new(n);
        assert_eq!(g.get(), n);
        assert_eq!(g.to_string(), n.to_string());
    }
    for n in [0u32, 1, 4096, u32::MAX] {
        let c = Capacity::new(n);
        assert_eq!(c.get(), n);
        assert_eq!(c.to_string(), n.to_string());
    }
    assert!(Generation::new(1) < Generation::new(2));
    assert!(Capacity::new(1) < Capacity::new(2));
}

#[test]
fn an_encoding_is_the_three_values_it_was_made_of() {
    let e = Encoding::new(AbiVersion::V1_0, Generation::new(9), Capacity::new(3));
    assert_eq!(e.version, AbiVersion::V1_0);
    assert_eq!(e.generation, Generation::new(9));
    assert_eq!(e.capacity, Capacity::new(3));
}

#[test]
fn the_record_carries_the_generation_and_capacity_encoded() {
    let devices = [PciEntry::new(
        PciAddress {
            domain: 1,
            bdf: 0x100,
        },
        1,
    )];
    for version in AbiVersion::ALL {
        let mut buf = [0u8; 512];
        let encoding = Encoding::new(version, Generation::new(0xfeed), Capacity::new(5));
        let len = PciTable::encode(&mut buf, encoding, devices).unwrap();
        assert_eq!(Some(len), PciTable::len_for(version, Capacity::new(5)));
        let table = PciTable::decode(&buf[..len]).unwrap();
        assert_eq!(table.generation(), Generation::new(0xfeed));
        assert_eq!(table.header().generation(), Generation::new(0xfeed));
        assert_eq!(table.header().entry_capacity(), 5);
    }
}

#[test]
fn len_for_refuses_a_capacity_whose_record_exceeds_u32() {
    assert_eq!(Root::len_for(AbiVersion::V1_0, Capacity::new(0)), Some(64));
    assert_eq!(
        FlbTable::len_for(AbiVersion::V1_0, Capacity::new(u32::MAX)),
        None
    );
    let mut buf = [0u8; 64];
    let encoding = Encoding::new(
        AbiVersion::V1_0,
        Generation::new(1),
        Capacity::new(u32::MAX),
    );
    let err = FlbTable::encode(
        &mut buf,
        encoding,
        core::iter::empty::<liveupdate_abi::FlbEntry>(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), RecordKind::FlbTable);
    assert!(!matches!(err, EncodeError::BufferTooSmall { .. }), "{err}");
}

#[test]
fn pci_address_new_refuses_a_device_or_function_out_of_range() {
    use liveupdate_abi::PciAddressError;
    for device in 32..=u8::MAX {
        assert_eq!(
            PciAddress::new(0, 0, device, 0),
            Err(PciAddressError::Device { device })
        );
    }
    for function in 8..=u8::MAX {
        assert_eq!(
            PciAddress::new(0, 0, 0, function),
            Err(PciAddressError::Function { function })
        );
    }
    // The device is checked first.
    assert_eq!(
        PciAddress::new(0, 0, 32, 8),
        Err(PciAddressError::Device { device: 32 })
    );
    assert_eq!(
        PciAddress::new(0, 0, 32, 0).unwrap_err().to_string(),
        "PCI device number 32 is out of range (0..=31)"
    );
    assert_eq!(
        PciAddress::new(0, 0, 0, 9).unwrap_err().to_string(),
        "PCI function number 9 is out of range (0..=7)"
    );
    let a = PciAddress::new(0x1_0000, 0x3b, 31, 7).unwrap();
    assert_eq!(
        (a.domain, a.bus(), a.device(), a.function()),
        (0x1_0000, 0x3b, 31, 7)
    );
    assert_eq!(a.to_string(), "10000:3b:1f.7");
}

#[test]
fn pci_address_from_key_and_from_parts_are_total_and_agree_with_new() {
    for key in [0u64, 1, 0xffff, 0x1_0000, 0xffff_ffff_ffff, u64::MAX] {
        let a = PciAddress::from_key(key);
        assert_eq!(a.key(), key & 0xffff_ffff_ffff);
        assert_eq!(PciAddress::from_parts(a.domain, a.bdf), a);
        assert_eq!(
            PciAddress::new(a.domain, a.bus(), a.device(), a.function()),
            Ok(a)
        );
    }
}

#[test]
fn pci_addresses_are_ordered_by_their_key() {
    let keys = [
        0u64,
        7,
        8,
        0xff,
        0x100,
        0xffff,
        0x1_0000,
        0x1_0001,
        0xffff_ffff_ffff,
    ];
    for &x in &keys {
        for &y in &keys {
            let (a, b) = (PciAddress::from_key(x), PciAddress::from_key(y));
            assert_eq!(a.cmp(&b), x.cmp(&y), "{a} vs {b}");
            assert_eq!(
                PciEntry::new(a, 1)
                    .address()
                    .cmp(&PciEntry::new(b, 1).address()),
                x.cmp(&y)
            );
        }
    }
}
