//! The chained-table fuzz bodies (`liveupdate_host_tests::fuzz::table::bodies`), run over the
//! golden chain's devices (`abi/tests/v2`) and every one-byte change of it, so that
//! `cargo test` exercises what the fuzzer runs.

use liveupdate_abi::mem::PhysAddr;
use liveupdate_abi::{
    AbiVersion, BlockPlace, PciAddress, PciDevice, PciEntry, PciFlags, PciIdentity, Record,
    SliceMemory, Table,
};
use liveupdate_abi::{Capacity, Generation};
use liveupdate_host_tests::fuzz::table::bodies::{self as fuzz, BASE};

/// The golden vectors' generation.
const GENERATION: u64 = 42;
/// Entry slots of each block of the golden chain.
const CHAIN_CAPACITY: u32 = 2;

fn identity(vendor: u16, device: u16, class: u32) -> PciIdentity {
    PciIdentity::new(vendor, device, class).unwrap()
}

/// The devices of the golden chained PCI table (`abi/tests/v2/common.rs`).
fn chain_devices() -> Vec<PciDevice> {
    vec![
        PciDevice::new(PciAddress::new(0, 0x00, 0x1c, 0).unwrap(), 1)
            .with_identity(identity(0x8086, 0xa33c, 0x06_04_00))
            .with_flags(PciFlags::BRIDGE | PciFlags::DESCENDANT),
        PciDevice::new(PciAddress::new(0, 0x3b, 0x00, 0).unwrap(), 1)
            .with_identity(identity(0x10de, 0x2330, 0x03_02_00))
            .with_flags(PciFlags::BUS_MASTER),
        PciDevice::new(PciAddress::new(0, 0x3c, 0x00, 0).unwrap(), 2).with_flags(PciFlags::empty()),
        PciDevice::new(PciAddress::new(0x1_0000, 0x01, 0x00, 0).unwrap(), 1)
            .with_identity(identity(0x144d, 0xa80a, 0x01_08_02))
            .with_flags(PciFlags::BUS_MASTER),
        PciDevice::new(PciAddress::new(0x1_0000, 0x02, 0x00, 0).unwrap(), 1)
            .with_identity(identity(0x8086, 0x0b60, 0x01_08_02))
            .with_flags(PciFlags::BUS_MASTER),
    ]
}

/// Length of one block of the golden chain.
fn block_len() -> u32 {
    let len = Record::<PciEntry>::len_for(AbiVersion::V1_1, Capacity::new(CHAIN_CAPACITY));
    u32::try_from(len.unwrap()).unwrap()
}

/// The bodies' input: head offset, head length, then the memory from `BASE`.
fn input(memory: &[u8], head: u64, len: u32) -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(&u16::try_from(head - BASE).unwrap().to_le_bytes());
    data.extend_from_slice(&u16::try_from(len).unwrap().to_le_bytes());
    data.extend_from_slice(memory);
    data
}

/// The golden chain's devices written at `BASE`, `BASE + 0x100`, `BASE + 0x200`, and the
/// offset of the memory in the input.
fn chain_input() -> (Vec<u8>, usize) {
    let mut mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; 0x300]);
    let places: Vec<_> = (0..3)
        .map(|i| BlockPlace {
            phys: PhysAddr::new(BASE + i * 0x100),
            capacity: CHAIN_CAPACITY,
        })
        .collect();
    Table::<PciEntry>::encode(
        &mut mem,
        AbiVersion::V1_1,
        Generation::new(GENERATION),
        &places,
        chain_devices(),
    )
    .unwrap();
    (input(&mem.into_inner(), BASE, block_len()), 4)
}

#[test]
fn bodies_accept_the_golden_chain_and_every_change_of_it() {
    let (data, start) = chain_input();
    for body in [fuzz::table_pci, fuzz::table_pci_sealed] {
        body(&data).unwrap();
    }
    for at in (0..4).chain(start..data.len()) {
        for bit in [0x01, 0x80] {
            let mut bad = data.clone();
            bad[at] ^= bit;
            for body in [
                fuzz::table_pci,
                fuzz::table_pci_sealed,
                fuzz::table_flb,
                fuzz::table_flb_sealed,
            ] {
                assert_eq!(body(&bad), Ok(()), "byte {at} bit {bit:#x}");
            }
        }
    }
    for body in [fuzz::table_pci, fuzz::table_flb_sealed] {
        assert_eq!(body(&[]), Ok(()));
        assert_eq!(body(&[1, 2, 3]), Ok(()));
    }
}
