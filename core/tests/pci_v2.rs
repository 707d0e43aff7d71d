//! The PCI accessors of ABI 1.1: preserving with an identity and flags, bridges holding
//! references for the devices below them (pci-v3), serializing for either version (v1
//! refusing what it cannot express), chained tables, and the incoming identity check.
#![cfg(not(loom))]

use liveupdate_abi::{
    AbiVersion, BlockPlace, EncodeError, IdentityMatch, PciAddress, PciDevice, PciEntry, PciFlags,
    PciIdentity, RecordKind, Table, TableError, Unfit,
};
use liveupdate_abi::{Generation, PhysAddr};
use liveupdate_core::mem::SliceMemory;
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};

const BASE: u64 = 0x4_0000;

fn id(vendor: u16, device: u16, class: u32) -> PciIdentity {
    PciIdentity::new(vendor, device, class).unwrap()
}

fn port() -> PciAddress {
    PciAddress::new(0, 0, 0x1c, 0).unwrap()
}

fn gpu() -> PciAddress {
    PciAddress::new(0, 0x3b, 0, 0).unwrap()
}

/// The tracker's table at v2, through a whole round of memory.
fn written<const N: usize>(
    tracker: &PciTracker<N>,
    version: AbiVersion,
    blocks: &[BlockPlace],
) -> Result<Vec<PciDevice>, PciError> {
    let mut mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; 0x4000]);
    let dir = tracker.serialize_blocks(&mut mem, version, blocks, Generation::new(1))?;
    let mem: &'static SliceMemory<Vec<u8>> = Box::leak(Box::new(mem));
    let table = Table::<PciEntry>::decode(mem, dir.phys_addr(), dir.length() as usize).unwrap();
    Ok(table.items().collect())
}

fn one(capacity: u32) -> [BlockPlace; 1] {
    [BlockPlace {
        phys: PhysAddr::new(BASE),
        capacity,
    }]
}

#[test]
fn a_bridge_counts_the_devices_below_it() {
    let tracker: PciTracker<4> = PciTracker::new();
    let nvidia = id(0x10de, 0x2330, 0x03_02_00);
    assert_eq!(
        tracker.preserve_device(gpu(), Some(nvidia), PciFlags::BUS_MASTER),
        Ok(1)
    );
    assert_eq!(tracker.preserve_descendant(port(), None), Ok(1));
    let vf = PciAddress::new(0, 0x3b, 0, 1).unwrap();
    assert_eq!(tracker.preserve(vf), Ok(1));
    assert_eq!(tracker.preserve_descendant(port(), None), Ok(2));
    // Directly preserved too: its own reference adds to those of the devices below.
    assert_eq!(
        tracker.preserve_device(port(), None, PciFlags::BRIDGE),
        Ok(3)
    );
    let expected = vec![
        PciDevice::new(port(), 3).with_flags(PciFlags::BRIDGE | PciFlags::DESCENDANT),
        PciDevice::new(gpu(), 1)
            .with_identity(nvidia)
            .with_flags(PciFlags::BUS_MASTER),
        PciDevice::new(vf, 1).with_flags(PciFlags::empty()),
    ];
    assert_eq!(written(&tracker, AbiVersion::V1_1, &one(4)), Ok(expected));
    assert_eq!(tracker.device(port()).map(|d| d.refcount), Some(3));

    // Unpreserving below: the bridge keeps its own reference, and loses DESCENDANT with the
    // last of the others.
    assert_eq!(tracker.unpreserve_descendant(port()), Ok(2));
    assert_eq!(tracker.unpreserve_descendant(port()), Ok(1));
    assert_eq!(
        tracker.unpreserve_descendant(port()),
        Err(PciError::NotPreserved { address: port() })
    );
    assert_eq!(
        tracker.device(port()).and_then(|d| d.flags),
        Some(PciFlags::BRIDGE)
    );
    assert_eq!(tracker.unpreserve(port()), Ok(0));
    assert_eq!(tracker.device(port()), None);
    assert_eq!(
        tracker.unpreserve(port()),
        Err(PciError::NotPreserved { address: port() })
    );
}

#[test]
fn identities_and_flags_are_checked_when_preserved() {
    let tracker: PciTracker<4> = PciTracker::new();
    let a = id(0x8086, 0x1572, 0x02_00_00);
    let b = id(0x8086, 0x1583, 0x02_00_00);
    assert_eq!(
        tracker.preserve_device(gpu(), Some(a), PciFlags::empty()),
        Ok(1)
    );
    // Unknown now, or the same: fine. Another device: refused, the first kept.
    assert_eq!(tracker.preserve(gpu()), Ok(2));
    assert_eq!(
        tracker.preserve_device(gpu(), Some(a), PciFlags::BUS_MASTER),
        Ok(3)
    );
    assert_eq!(
        tracker.preserve_device(gpu(), Some(b), PciFlags::empty()),
        Err(PciError::IdentityConflict {
            address: gpu(),
            recorded: a
        })
    );
    assert_eq!(tracker.device(gpu()).and_then(|d| d.identity), Some(a));
    for flags in [PciFlags::DESCENDANT, PciFlags::from_bits_retain(0x100)] {
        let err = tracker.preserve_device(port(), None, flags).unwrap_err();
        assert_eq!(
            err,
            PciError::Flags {
                address: port(),
                flags
            }
        );
        assert!(err.to_string().contains("0000:00:1c.0"), "{err}");
    }
    assert_eq!(tracker.refcount(port()), 0);
}

#[test]
fn v1_is_written_when_it_can_be_and_refused_when_not() {
    let tracker: PciTracker<4> = PciTracker::new();
    tracker.preserve(gpu()).unwrap();
    // No identity and no flag: v1 holds all of it.
    assert_eq!(
        written(&tracker, AbiVersion::V1_0, &one(4)),
        Ok(vec![PciDevice::new(gpu(), 1)])
    );
    let unfit = |what| {
        Err(PciError::Table(TableError {
            block: 0,
            phys: PhysAddr::new(BASE),
            error: EncodeError::Unfit {
                kind: RecordKind::PciTable,
                version: AbiVersion::V1_0,
                what,
            },
        }))
    };
    tracker.preserve_descendant(port(), None).unwrap();
    assert_eq!(
        written(&tracker, AbiVersion::V1_0, &one(4)),
        unfit(Unfit::Flags {
            index: 0,
            bits: (PciFlags::BRIDGE | PciFlags::DESCENDANT).bits()
        })
    );
    tracker.unpreserve_descendant(port()).unwrap();
    tracker
        .preserve_device(gpu(), Some(id(1, 2, 3)), PciFlags::empty())
        .unwrap();
    assert_eq!(
        written(&tracker, AbiVersion::V1_0, &one(4)),
        unfit(Unfit::Identity { index: 0 })
    );
    // The error names the device and the version, for the kernel log.
    let err = written(&tracker, AbiVersion::V1_0, &one(4)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PCI table: block 0 at 0x40000: pci table: ABI 1.0 cannot express it: entry 0 has a device identity, which it has no field for"
    );
}

#[test]
fn the_table_spans_blocks_when_the_first_is_full() {
    let tracker: PciTracker<16> = PciTracker::new();
    for bus in 1..=7 {
        tracker
            .preserve_device(
                PciAddress::new(0, bus, 0, 0).unwrap(),
                Some(id(0x1af4, 0x1041, 0x02_00_00)),
                PciFlags::empty(),
            )
            .unwrap();
    }
    let blocks: Vec<_> = (0..4)
        .map(|i| BlockPlace {
            phys: PhysAddr::new(BASE + i * 0x200),
            capacity: 2,
        })
        .collect();
    let devices = written(&tracker, AbiVersion::V1_1, &blocks).unwrap();
    assert_eq!(devices.len(), 7);
    assert!(devices.iter().all(|d| d.identity.is_some()));
    // Not enough room: the blocks' total capacity.
    assert!(matches!(
        written(&tracker, AbiVersion::V1_1, &blocks[..3]),
        Err(PciError::Table(TableError {
            error: EncodeError::CapacityExceeded { capacity: 6, .. },
            ..
        }))
    ));
    // Blocks the memory does not hold: the memory's error.
    let far = [BlockPlace {
        phys: PhysAddr::new(BASE + 0x10_0000),
        capacity: 16,
    }];
    assert!(matches!(
        written(&tracker, AbiVersion::V1_1, &far),
        Err(PciError::Memory(_))
    ));
    assert_eq!(
        PciTracker::<16>::record_len(AbiVersion::V1_0),
        64 + 16 * usize::from(PciEntry::SIZE_1_0)
    );
    assert_eq!(
        PciTracker::<16>::record_len(AbiVersion::V1_1),
        64 + 16 * usize::from(PciEntry::SIZE_1_1)
    );
}

#[test]
fn the_incoming_side_checks_identities() {
    let tracker: PciTracker<4> = PciTracker::new();
    let nvidia = id(0x10de, 0x2330, 0x03_02_00);
    tracker
        .preserve_device(gpu(), Some(nvidia), PciFlags::BUS_MASTER)
        .unwrap();
    tracker.preserve_descendant(port(), None).unwrap();
    let mut mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; 0x1000]);
    let dir = tracker
        .serialize(
            &mut mem,
            AbiVersion::V1_1,
            PhysAddr::new(BASE),
            Generation::new(1),
        )
        .unwrap();
    let mem: &'static SliceMemory<Vec<u8>> = Box::leak(Box::new(mem));
    let table = Table::decode(mem, dir.phys_addr(), dir.length() as usize).unwrap();
    let pci: PciIncoming<'static> = PciIncoming::new();
    assert_eq!(
        pci.check_identity(gpu(), nvidia),
        Err(PciError::NoIncomingData)
    );
    pci.load(table).unwrap();
    assert_eq!(pci.check_identity(gpu(), nvidia), Ok(IdentityMatch::Match));
    let amd = id(0x1002, 0x744c, 0x03_00_00);
    assert_eq!(
        pci.check_identity(gpu(), amd),
        Ok(IdentityMatch::Mismatch { recorded: nvidia })
    );
    assert_eq!(pci.check_identity(port(), amd), Ok(IdentityMatch::Unknown));
    let absent = PciAddress::new(0, 0x3c, 0, 0).unwrap();
    assert_eq!(
        pci.check_identity(absent, amd),
        Err(PciError::NotPreserved { address: absent })
    );
    assert_eq!(
        pci.device(port()).unwrap().and_then(|d| d.flags),
        Some(PciFlags::BRIDGE | PciFlags::DESCENDANT)
    );
    assert_eq!(pci.device(absent), Ok(None));
    pci.finish().unwrap();
    assert_eq!(pci.check_identity(gpu(), nvidia), Err(PciError::Finished));
    assert_eq!(pci.device(gpu()), Err(PciError::Finished));
}
