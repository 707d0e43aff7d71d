//! The newtypes of the public API: a generation and a capacity are not bare integers.

use liveupdate_abi::{
    AbiVersion, Capacity, Encoding, Error, FlbTable, Generation, PciAddress, PciEntry, PciTable,
    RecordKind, Root,
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
    assert!(!matches!(err, Error::BufferTooSmall { .. }), "{err}");
}
