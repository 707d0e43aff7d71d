//! The chained-table fuzz bodies (`liveupdate_abi::table::fuzz`), run over the golden chain and
//! every one-byte change of it, so that `cargo test` exercises what the fuzzer runs.

use liveupdate_abi::Generation;
use liveupdate_abi::table::fuzz::{self, BASE};

use liveupdate_abi::{AbiVersion, BlockPlace, PciEntry, Table};

use crate::common::{CHAIN_CAPACITY, GENERATION, Memory, block_len, chain_devices};

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
    let mut mem = Memory::new(BASE, 0x300);
    let places: Vec<_> = (0..3)
        .map(|i| BlockPlace {
            phys: BASE + i * 0x100,
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
    (input(&mem.bytes, BASE, block_len()), 4)
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
