//! Property tests of v2: round trips of records and chained tables over arbitrary devices and
//! block layouts, what a v1 writer accepts, and decoding that never panics nor loops over
//! arbitrary memory, including chains with forged links (cycles, overlaps) re-sealed so that
//! every check behind the CRC is reached.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::collections::BTreeMap;

use liveupdate_abi::{
    AbiVersion, BlockPlace, EncodeError, PciAddress, PciDevice, PciEntry, PciFlags, PciIdentity,
    PhysMem, Record, Table, Unfit,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use crate::common::{Memory, reseal_raw};
use liveupdate_abi::PhysAddr;

fn identity() -> impl Strategy<Value = Option<PciIdentity>> {
    prop_oneof![
        Just(None),
        (1u16..0xffff, any::<u16>(), 0u32..0x100_0000)
            .prop_map(|(v, d, c)| Some(PciIdentity::new(v, d, c).unwrap())),
    ]
}

fn flags() -> impl Strategy<Value = Option<PciFlags>> {
    prop_oneof![
        Just(None),
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(bridge, desc, bm)| {
            let mut f = PciFlags::empty();
            f.set(PciFlags::BRIDGE, bridge || desc);
            f.set(PciFlags::DESCENDANT, desc);
            f.set(PciFlags::BUS_MASTER, bm);
            Some(f)
        }),
    ]
}

/// A device's fields but its address.
type Fields = (u16, Option<PciIdentity>, Option<PciFlags>);

fn devices(max: usize) -> impl Strategy<Value = Vec<PciDevice>> {
    let domain = prop_oneof![0u32..3, 0x1_0000u32..0x1_0003, any::<u32>()];
    btree_map(
        (domain, any::<u16>()),
        (1u16.., identity(), flags()),
        0..max,
    )
    .prop_map(|m: BTreeMap<(u32, u16), Fields>| {
        m.into_iter()
            .map(|((domain, bdf), (refcount, identity, flags))| PciDevice {
                address: PciAddress { domain, bdf },
                refcount,
                identity,
                flags,
            })
            .collect()
    })
}

/// What a record of `version` gives back for `device`: v1.1 records have flags (none set when
/// none were given); v1.0 records have neither flags nor identity.
fn as_read(device: &PciDevice, version: AbiVersion) -> PciDevice {
    match version {
        AbiVersion::V1_0 => PciDevice::from(device.entry()),
        AbiVersion::V1_1 => PciDevice {
            flags: Some(device.flags.unwrap_or_default()),
            ..*device
        },
    }
}

/// The first entry v1 cannot express, as the writer must name it.
fn v1_unfit(devices: &[PciDevice]) -> Option<Unfit> {
    devices.iter().enumerate().find_map(|(i, d)| {
        let index = u32::try_from(i).unwrap();
        let bits = d.flags.unwrap_or_default().bits();
        if d.identity.is_some() {
            Some(Unfit::Identity { index })
        } else if bits != 0 {
            Some(Unfit::Flags { index, bits })
        } else {
            None
        }
    })
}

const BASE: u64 = 0x8000;

/// Blocks of the given capacities, `gap` bytes apart.
fn places(capacities: &[u32], gap: u64) -> Vec<BlockPlace> {
    let mut phys = BASE;
    capacities
        .iter()
        .map(|&capacity| {
            let place = BlockPlace {
                phys: PhysAddr::new(phys),
                capacity,
            };
            let len =
                Record::<PciEntry>::len_for(AbiVersion::V1_1, Capacity::new(capacity)).unwrap();
            phys += len as u64 + gap;
            place
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn record_round_trip(devices in devices(40), spare in 0u32..4, generation: u64) {
        let capacity = u32::try_from(devices.len()).unwrap() + spare;
        for version in AbiVersion::ALL {
            let len = Record::<PciEntry>::len_for(version, Capacity::new(capacity)).unwrap();
            let mut out = vec![0xA5u8; len + 8];
            let written = Record::<PciEntry>::encode(&mut out, Encoding::new(version, Generation::new(generation), Capacity::new(capacity)), devices.iter().copied());
            if version == AbiVersion::V1_0 && let Some(what) = v1_unfit(&devices) {
                prop_assert_eq!(written, Err(EncodeError::Unfit {
                    kind: liveupdate_abi::RecordKind::PciTable, version, what }));
                continue;
            }
            prop_assert_eq!(written, Ok(len));
            prop_assert!(out[len..].iter().all(|&b| b == 0xA5));
            for reader in AbiVersion::ALL {
                let table = Record::<PciEntry>::decode_as(&out[..len], reader).unwrap();
                let seen = version.min(reader);
                let want: Vec<_> = devices.iter().map(|d| as_read(d, seen)).collect();
                prop_assert_eq!(table.devices().collect::<Vec<_>>(), want);
                for d in &devices {
                    prop_assert_eq!(table.device(d.address), Some(as_read(d, seen)));
                }
            }
        }
    }

    #[test]
    fn table_round_trip(
        devices in devices(30),
        capacities in vec(1u32..5, 1..12),
        gap in prop_oneof![Just(0u64), 1u64..64],
        generation: u64,
    ) {
        let places = places(&capacities, gap);
        let total: u32 = capacities.iter().sum();
        let mut mem = Memory::new(BASE, 0x4000);
        for version in AbiVersion::ALL {
            let result = Table::<PciEntry>::encode(&mut mem, version, Generation::new(generation), &places, devices.iter().copied());
            let n = devices.len() as u64;
            if version == AbiVersion::V1_0 {
                // The first entry that does not fit: one v1 cannot express, or one past the
                // only block v1 has.
                let first = capacities[0] as usize;
                let what = v1_unfit(&devices[..devices.len().min(first)])
                    .or((devices.len() > first).then_some(Unfit::Chain { capacity: capacities[0] }));
                if let Some(what) = what {
                    prop_assert_eq!(result.unwrap_err().error, EncodeError::Unfit {
                        kind: liveupdate_abi::RecordKind::PciTable, version, what });
                    continue;
                }
            }
            let fits = if version == AbiVersion::V1_0 { u64::from(capacities[0]) } else { u64::from(total) };
            let written = match result {
                Ok(w) => w,
                Err(e) => {
                    prop_assert!(n > fits, "{e}");
                    continue;
                }
            };
            prop_assert!(n <= fits);
            prop_assert_eq!(written.entries, n);
            // As few blocks as the capacities allow, in order.
            let mut sum = 0u64;
            let needed = capacities
                .iter()
                .take_while(|&&c| { let before = sum; sum += u64::from(c); before < n || before == 0 })
                .count();
            prop_assert_eq!(written.blocks as usize, needed.max(1));
            let dir = written.dir;
            for reader in AbiVersion::ALL {
                let table = Table::<PciEntry>::decode_as(
                    &mem, dir.phys_addr(), dir.length() as usize, reader);
                if reader < version && written.blocks > 1 {
                    prop_assert!(table.is_err());
                    continue;
                }
                let table = table.unwrap();
                prop_assert_eq!(table.len(), n);
                prop_assert_eq!(table.block_count(), written.blocks);
                let seen = version.min(reader);
                let want: Vec<_> = devices.iter().map(|d| as_read(d, seen)).collect();
                prop_assert_eq!(table.items().collect::<Vec<_>>(), want.clone());
                for d in &want {
                    prop_assert_eq!(table.device(d.address), Some(*d));
                }
            }
        }
    }

    #[test]
    fn table_decode_never_panics_on_arbitrary_memory(
        bytes in vec(any::<u8>(), 0..2048),
        head in 0u64..2048,
        len in 0usize..2048,
    ) {
        let mem = Memory::with(BASE, &bytes);
        exercise(&mem, BASE + head, len);
    }

    #[test]
    fn table_decode_never_panics_on_forged_links(
        devices in devices(24),
        capacities in vec(1u32..4, 2..10),
        forgeries in vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..6, any::<u32>()), 1..4),
    ) {
        let places = places(&capacities, 8);
        let mut mem = Memory::new(BASE, 0x2000);
        let devices: Vec<_> = devices.iter().map(|d| PciDevice { flags: Some(PciFlags::empty()), ..*d }).collect();
        let Ok(written) = Table::<PciEntry>::encode(&mut mem, AbiVersion::V1_1, Generation::new(1), &places, devices.iter().copied()) else {
            return Ok(());
        };
        let used = &places[..written.blocks as usize];
        for (block, target, what, value) in forgeries {
            let place = used[block.index(used.len())];
            let len = Record::<PciEntry>::len_for(AbiVersion::V1_1, Capacity::new(place.capacity)).unwrap();
            let record = mem.at(place.phys.raw(), len);
            let other = used[target.index(used.len())].phys.raw();
            match what {
                // A link to another block (a cycle when backwards), into one, or anywhere.
                0 => record[48..56].copy_from_slice(&other.to_le_bytes()),
                1 => record[48..56].copy_from_slice(&(other + u64::from(value % 128)).to_le_bytes()),
                2 => record[48..56].copy_from_slice(&u64::from(value).rotate_left(value).to_le_bytes()),
                3 => record[56..60].copy_from_slice(&(value % 8).to_le_bytes()),
                // Entry count, generation.
                4 => record[12..16].copy_from_slice(&(value % 5).to_le_bytes()),
                _ => record[24] ^= value.to_le_bytes()[0] | 1,
            }
            reseal_raw(record);
        }
        exercise(&mem, written.dir.phys_addr().raw(), written.dir.length() as usize);
    }
}

/// Decodes the table at `head` as both readers; a table that decodes is checked whole.
fn exercise(mem: &Memory, head: u64, len: usize) {
    for reader in AbiVersion::ALL {
        match Table::<PciEntry>::decode_as(mem, PhysAddr::new(head), len, reader) {
            Ok(table) => {
                let entries: Vec<_> = table.iter().collect();
                assert_eq!(entries.len() as u64, table.len());
                assert_eq!(table.blocks().count(), table.block_count() as usize);
                assert!(table.block_count() <= liveupdate_abi::table::MAX_BLOCKS);
                assert!(entries.windows(2).all(|w| w[0].address() < w[1].address()));
                for e in entries {
                    assert_eq!(table.find(e.address()), Some(e));
                }
                // Blocks ascend and do not overlap.
                let spans: Vec<_> = table
                    .blocks()
                    .map(|b| {
                        (
                            b.phys,
                            b.phys.saturating_add(b.record.as_bytes().len() as u64),
                        )
                    })
                    .collect();
                assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0));
                for (phys, end) in spans {
                    assert!(
                        mem.read(
                            phys,
                            usize::try_from(end.offset_from(phys).unwrap()).unwrap()
                        )
                        .is_ok()
                    );
                }
            }
            Err(e) => {
                assert!(e.to_string().starts_with("block "));
            }
        }
    }
}
