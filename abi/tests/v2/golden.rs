//! The released v2 (wire 1.1) layouts, guarded by `tests/golden/v2/*.bin`.
//!
//! Written once by the encoder from the fixed inputs in `common.rs`; never changed afterwards.
//! `LIVEUPDATE_GOLDEN=new` creates a missing file (see `tests/golden/README.md`).

use liveupdate_abi::Generation;
use liveupdate_abi::{
    AbiVersion, Access, FlbEntry, FlbTable, PciEntry, PciTable, Record, RecordKind, Root, Table,
};

use crate::common::{
    CHAIN_PHYS, FLB_PHYS, GENERATION, Memory, PCI_PHYS, PCI2_SIZE, chain_devices, chain_golden,
    flb_entries, flb_golden, golden_path, pci_devices, pci_golden, raw_pci2, reseal_raw,
    root_golden,
};
use crate::v1::{RawRecord, check_golden, raw_flb, read_golden};
use liveupdate_abi::PhysAddr;

/// The golden vectors: file name and the encoder's output.
pub fn goldens() -> [(&'static str, Vec<u8>); 4] {
    [
        ("root.bin", root_golden()),
        ("flb.bin", flb_golden()),
        ("pci.bin", pci_golden()),
        ("pci-chain.bin", chain_golden()),
    ]
}

/// The bytes of golden vector `name` as committed.
pub fn golden_file(name: &str) -> Vec<u8> {
    read_golden(&golden_path(name), "v2")
}

#[test]
fn encoder_reproduces_golden_vectors() {
    for (name, encoded) in goldens() {
        check_golden(&golden_path(name), &encoded, "v2");
    }
}

#[test]
fn golden_vectors_follow_the_spec_byte_by_byte() {
    // PCI: the v1.0 fields, then identity, class, flags, reserved; HIERARCHY (ro_compat bit 0)
    // because the root port carries DESCENDANT.
    let entries = vec![
        raw_pci2(0, 0x00e0, 1, 0x8086, 0xa33c, 0x06_04_00, 0b011, 0),
        raw_pci2(0, 0x3b00, 1, 0x10de, 0x2330, 0x03_02_00, 0b100, 0),
        raw_pci2(0, 0x3c00, 2, 0, 0, 0, 0, 0),
        raw_pci2(0x1_0000, 0x0100, 1, 0x144d, 0xa80a, 0x01_08_02, 0b100, 0),
    ];
    let mut raw = RawRecord::new(RecordKind::PciTable, 6, entries);
    raw.minor = 1;
    raw.entry_size = 24;
    raw.ro_compat = 1;
    assert_eq!(raw.bytes(), golden_file("pci.bin"));

    // FLB: the v1.0 layout at minor 1.
    let entries = crate::v1::flb_inputs()
        .into_iter()
        .map(|(name, data, files, flags)| raw_flb(name.as_bytes(), data, files, flags.bits(), 0))
        .collect();
    let mut raw = RawRecord::new(RecordKind::FlbTable, 3, entries);
    raw.minor = 1;
    assert_eq!(raw.bytes(), golden_file("flb.bin"));

    // The chain: three blocks of two slots, CHAINED (incompat bit 0), linked by next_block
    // (offset 48) and numbered by block_index (offset 56), at ascending addresses.
    let chain = golden_file("pci-chain.bin");
    let devices = [
        raw_pci2(0, 0x00e0, 1, 0x8086, 0xa33c, 0x06_04_00, 0b011, 0),
        raw_pci2(0, 0x3b00, 1, 0x10de, 0x2330, 0x03_02_00, 0b100, 0),
        raw_pci2(0, 0x3c00, 2, 0, 0, 0, 0, 0),
        raw_pci2(0x1_0000, 0x0100, 1, 0x144d, 0xa80a, 0x01_08_02, 0b100, 0),
        raw_pci2(0x1_0000, 0x0200, 1, 0x8086, 0x0b60, 0x01_08_02, 0b100, 0),
    ];
    let mut expected = vec![0u8; chain.len()];
    for (index, block) in devices.chunks(2).enumerate() {
        let mut raw = RawRecord::new(RecordKind::PciTable, 2, block.to_vec());
        raw.minor = 1;
        raw.entry_size = u16::try_from(PCI2_SIZE).unwrap();
        raw.incompat = 1;
        raw.ro_compat = u32::from(index == 0);
        let next = CHAIN_PHYS.get(index + 1).copied().unwrap_or(0);
        raw.reserved[..8].copy_from_slice(&next.to_le_bytes());
        raw.reserved[8..12].copy_from_slice(&u32::try_from(index).unwrap().to_le_bytes());
        let at = usize::try_from(CHAIN_PHYS[index] - CHAIN_PHYS[0]).unwrap();
        let bytes = raw.bytes();
        expected[at..at + bytes.len()].copy_from_slice(&bytes);
    }
    assert_eq!(expected, chain);
}

#[test]
fn golden_vectors_decode_to_their_inputs() {
    let pci = golden_file("pci.bin");
    let table = PciTable::decode(&pci).unwrap();
    assert_eq!(table.header().minor(), 1);
    assert_eq!(table.version(), AbiVersion::V1_1);
    assert_eq!(table.access(), Access::ReadWrite);
    assert_eq!(table.devices().collect::<Vec<_>>(), pci_devices());

    let flb = golden_file("flb.bin");
    let table = FlbTable::decode(&flb).unwrap();
    assert_eq!(
        table.entries().iter().copied().collect::<Vec<_>>(),
        flb_entries()
    );

    let root_bytes = golden_file("root.bin");
    let root = Root::decode(&root_bytes).unwrap();
    assert_eq!(root.generation(), Generation::new(GENERATION));
    assert_eq!(
        root.find(RecordKind::FlbTable).unwrap().phys_addr(),
        PhysAddr::new(FLB_PHYS)
    );
    assert_eq!(
        root.find(RecordKind::PciTable).unwrap().phys_addr(),
        PhysAddr::new(PCI_PHYS)
    );
    let opened = root.open::<PciEntry>(&pci).unwrap();
    assert_eq!(opened.devices().collect::<Vec<_>>(), pci_devices());
    root.open::<FlbEntry>(&flb).unwrap();

    let mem = Memory::with(CHAIN_PHYS[0], &golden_file("pci-chain.bin"));
    let len = usize::try_from(crate::common::block_len()).unwrap();
    let table = Table::<PciEntry>::decode(&mem, PhysAddr::new(CHAIN_PHYS[0]), len).unwrap();
    assert_eq!(table.block_count(), 3);
    assert_eq!(table.len(), 5);
    assert_eq!(table.items().collect::<Vec<_>>(), chain_devices());
    assert_eq!(
        table.blocks().map(|b| b.phys.raw()).collect::<Vec<_>>(),
        CHAIN_PHYS
    );
}

#[test]
fn golden_vectors_refuse_every_bit_flip() {
    for (name, bytes) in goldens().into_iter().take(3) {
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[at] ^= 1 << bit;
                let ok = match name {
                    "root.bin" => Root::decode(&bad).is_ok(),
                    "flb.bin" => FlbTable::decode(&bad).is_ok(),
                    _ => PciTable::decode(&bad).is_ok(),
                };
                assert!(
                    !ok,
                    "{name}: flipping bit {bit} of byte {at} went unnoticed"
                );
            }
        }
    }
    let chain = chain_golden();
    let len = usize::try_from(crate::common::block_len()).unwrap();
    for at in 0..chain.len() {
        let mut bad = chain.clone();
        bad[at] ^= 0x10;
        let mem = Memory::with(CHAIN_PHYS[0], &bad);
        let result = Table::<PciEntry>::decode(&mem, PhysAddr::new(CHAIN_PHYS[0]), len);
        // Bytes between the blocks belong to no record.
        let in_block = CHAIN_PHYS
            .iter()
            .any(|&p| (p..p + len as u64).contains(&(CHAIN_PHYS[0] + at as u64)));
        assert_eq!(result.is_ok(), !in_block, "chain byte {at}");
    }
}

#[test]
fn golden_vectors_decode_at_every_alignment() {
    for (name, bytes) in goldens().into_iter().take(3) {
        let mut buf = vec![0u8; bytes.len() + 8];
        for shift in 0..8 {
            buf[shift..shift + bytes.len()].copy_from_slice(&bytes);
            let slice = &buf[shift..shift + bytes.len()];
            let ok = match name {
                "root.bin" => Root::decode(slice).is_ok(),
                "flb.bin" => FlbTable::decode(slice).is_ok(),
                _ => {
                    PciTable::decode(slice).map(|t| t.devices().collect::<Vec<_>>())
                        == Ok(pci_devices())
                }
            };
            assert!(ok, "{name} at offset {shift}");
        }
    }
}

#[test]
fn a_spec_written_chain_decodes() {
    // A chain written without the crate (from SPEC.md), with a gap and a spare slot, decodes.
    let base = 0x2000u64;
    let blocks = [(base, 0x2100u64), (0x2100, 0)];
    let mut mem = Memory::new(base, 0x200);
    for (index, &(phys, next)) in blocks.iter().enumerate() {
        let dev = u16::try_from(index).unwrap();
        let mut raw = RawRecord::new(
            RecordKind::PciTable,
            2,
            vec![raw_pci2(0, dev << 8, 1, 0x1af4, 0x1041, 0x02_00_00, 0, 0)],
        );
        raw.minor = 1;
        raw.entry_size = 24;
        raw.incompat = 1;
        raw.reserved[..8].copy_from_slice(&next.to_le_bytes());
        raw.reserved[8] = u8::try_from(index).unwrap();
        let mut bytes = raw.bytes();
        reseal_raw(&mut bytes);
        mem.put(phys, &bytes);
    }
    let table = Table::<PciEntry>::decode(&mem, PhysAddr::new(base), 64 + 48).unwrap();
    assert_eq!(table.len(), 2);
    assert!(Record::<PciEntry>::decode(mem.at(base, 112)).is_err());
}
