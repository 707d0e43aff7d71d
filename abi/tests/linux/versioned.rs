//! The `pci_ser` of the FLB `"pci"` (linux-next, Sep–Oct 2026): `{u32 version; u32
//! nr_devices; u64 devices}`, 16 bytes, devices in a KHO block chain. Golden blobs of both
//! versions, the version read first, the length refused with both figures, round trips.

use crate::support::LE;
use crate::support::{Blob, Pages, devs};
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer, PciVersion, Refcount};
use liveupdate_abi::linux::{BlockBuf, LinuxError, ReprFault, SlotFault, Struct, Where};
use liveupdate_abi::{PciAddress, PciEntry, PhysAddr};

const SER_PHYS: u64 = 0x9000;

fn ser(version: u32, nr: u32, devices: u64) -> Vec<u8> {
    Blob::new().u32(version).u32(nr).u64(devices).build()
}

fn addr(domain: u32, bdf: u16) -> PciAddress {
    PciAddress { domain, bdf }
}

fn decode<'a>(blob: &'a [u8], mem: &'a Pages) -> Result<PciSer<'a>, LinuxError> {
    PciSer::decode_versioned(blob, Some(PhysAddr::new(SER_PHYS)), mem, LE)
}

/// One block at 0x20000: a bridge, a freed slot, an endpoint below it.
fn golden_mem(bridge_refcount: u16) -> Pages {
    let mut mem = Pages::new(4096);
    mem.block(
        0x20000,
        0,
        3,
        &devs(&[(0, 0x08, bridge_refcount), (0, 0, 0), (0, 0x100, 1)]),
    );
    mem
}

fn entries(pci: &PciSer<'_>) -> Vec<(PciAddress, u16)> {
    let mut out = vec![PciEntry::new(addr(0, 0), 1); 64];
    pci.to_entries(&mut out)
        .unwrap()
        .iter()
        .map(|e| (e.address(), e.refcount()))
        .collect()
}

#[test]
fn golden_version_1_and_2_decode() {
    let blob = ser(1, 2, 0x20000);
    assert_eq!(blob.len(), 16);
    let mem = golden_mem(1);
    let pci = decode(&blob, &mem).unwrap();
    assert_eq!(pci.version(), Some(PciVersion::V1));
    assert_eq!(pci.refcount(), Refcount::Slot);
    assert_eq!(
        pci.format(),
        PciFormat::new(PciLayout::Versioned, PciCompat::Pci).unwrap()
    );
    assert_eq!(pci.devices_pa(), Some(PhysAddr::new(0x20000)));
    assert_eq!(entries(&pci), [(addr(0, 0x08), 1), (addr(0, 0x100), 1)]);

    let blob = ser(2, 2, 0x20000);
    let mem = golden_mem(2);
    let pci = decode(&blob, &mem).unwrap();
    assert_eq!(pci.version(), Some(PciVersion::V2));
    assert_eq!(pci.refcount(), Refcount::Hierarchical);
    assert_eq!(entries(&pci), [(addr(0, 0x08), 2), (addr(0, 0x100), 1)]);

    // Version 1 keeps only 0/1.
    let blob = ser(1, 2, 0x20000);
    assert_eq!(
        decode(&blob, &mem).unwrap_err(),
        LinuxError::Slot {
            index: 0,
            at: Where::Phys(PhysAddr::new(0x20010)),
            fault: SlotFault::Refcount { value: 2 }
        }
    );
}

#[test]
fn an_empty_blob_has_no_chain() {
    for version in [1, 2] {
        let blob = ser(version, 0, 0);
        let format = PciFormat::new(PciLayout::Versioned, PciCompat::Pci).unwrap();
        let pci = PciSer::decode(&blob, format, LE).unwrap();
        assert_eq!((pci.nr_devices(), pci.slot_count()), (0, 0));
        assert_eq!(pci.version().map(PciVersion::number), Some(version));
    }
    // nr_devices without a chain is refused.
    assert_eq!(
        decode(&ser(1, 1, 0), &Pages::new(4096)).unwrap_err(),
        LinuxError::DeviceCount {
            declared: 1,
            found: 0
        }
    );
}

#[test]
fn an_unknown_version_is_refused_naming_it_whatever_the_length() {
    let mem = golden_mem(1);
    for (version, len) in [
        (0, 16),
        (3, 16),
        (0xffff_ffff, 16),
        (3, 12),
        (7, 24),
        (3, 4),
    ] {
        let mut blob = ser(version, 2, 0x20000);
        blob.resize(len, 0);
        let e = decode(&blob, &mem).unwrap_err();
        assert_eq!(
            e,
            LinuxError::Version {
                what: Struct::PciSer,
                found: version
            }
        );
        assert!(
            e.to_string().contains(&format!("version {version} ")),
            "{e}"
        );
    }
    assert_eq!(PciVersion::from_number(3), None);
}

#[test]
fn the_length_is_refused_with_both_figures() {
    let mem = golden_mem(1);
    let blob = ser(1, 2, 0x20000);
    assert_eq!(
        decode(&blob[..12], &mem).unwrap_err(),
        LinuxError::TooShort {
            what: Struct::PciSer,
            needed: 16,
            found: 12
        }
    );
    assert_eq!(
        decode(&blob[..3], &mem).unwrap_err(),
        LinuxError::TooShort {
            what: Struct::PciSer,
            needed: 16,
            found: 3
        }
    );
    let mut long = blob.clone();
    long.extend_from_slice(&[0; 4]);
    let e = decode(&long, &mem).unwrap_err();
    assert_eq!(
        e,
        LinuxError::TooLong {
            what: Struct::PciSer,
            max: 16,
            found: 20
        }
    );
    assert_eq!(
        e.to_string(),
        "pci_ser: too long: at most 16 bytes, found 20"
    );
}

#[test]
fn only_pci_carries_the_versioned_layout() {
    for compat in [PciCompat::V1, PciCompat::V2, PciCompat::V3] {
        assert_eq!(
            PciFormat::new(PciLayout::Versioned, compat),
            Err(LinuxError::Format {
                layout: PciLayout::Versioned,
                compat
            })
        );
    }
    for layout in [PciLayout::ArrayU64, PciLayout::Array, PciLayout::Chain] {
        assert!(PciFormat::new(layout, PciCompat::Pci).is_err());
    }
    assert_eq!(PciCompat::from_name("pci"), Some(PciCompat::Pci));
    assert_eq!(PciCompat::Pci.layouts(), [PciLayout::Versioned]);
    assert_eq!(
        PciCompat::V2.layouts(),
        [PciLayout::Array, PciLayout::Chain]
    );
    assert_eq!(PciLayout::Versioned.header_len(), 16);
}

fn encode(version: PciVersion, list: &[PciEntry], pages: &mut [[u8; 4096]]) -> (Vec<u8>, u32) {
    let mut blocks: Vec<BlockBuf<'_>> = pages
        .iter_mut()
        .enumerate()
        .map(|(i, p)| BlockBuf {
            phys: PhysAddr::new(0x40000 + 0x1000 * i as u64),
            buf: p,
        })
        .collect();
    let mut blob = [0u8; 16];
    let w = PciSer::encode_versioned(
        &mut blob,
        PhysAddr::new(SER_PHYS),
        &mut blocks,
        version,
        LE,
        list,
    )
    .unwrap();
    assert_eq!(w.len, 16);
    (blob.to_vec(), w.blocks)
}

#[test]
fn both_versions_round_trip_over_blocks() {
    let list: Vec<PciEntry> = (0..600u32)
        .map(|i| {
            PciEntry::new(
                addr(i / 256, u16::try_from(i % 256).unwrap() << 3),
                1 + u16::try_from(i % 3).unwrap(),
            )
        })
        .collect();
    let mut pages = vec![[0u8; 4096]; 2];
    let (blob, used) = encode(PciVersion::V2, &list, &mut pages);
    assert_eq!(used, 2);
    assert_eq!(&blob[..4], &2u32.to_le_bytes());
    let mut mem = Pages::new(4096);
    for (i, p) in pages.iter().enumerate() {
        mem.raw(0x40000 + 0x1000 * i as u64, p.to_vec());
    }
    let pci = decode(&blob, &mem).unwrap();
    let mut out = vec![PciEntry::new(addr(0, 0), 1); 600];
    assert_eq!(pci.to_entries(&mut out).unwrap(), &list[..]);

    // Version 1 holds refcount 1 only.
    let ones: Vec<PciEntry> = list.iter().map(|e| PciEntry::new(e.address(), 1)).collect();
    let mut pages = vec![[0u8; 4096]; 2];
    let (blob, _) = encode(PciVersion::V1, &ones, &mut pages);
    assert_eq!(&blob[..8], &[1, 0, 0, 0, 0x58, 2, 0, 0]);
    let mut blocks = [BlockBuf {
        phys: PhysAddr::new(0x40000),
        buf: &mut pages[0],
    }];
    assert_eq!(
        PciSer::encode_versioned(
            &mut [0u8; 16],
            PhysAddr::new(SER_PHYS),
            &mut blocks,
            PciVersion::V1,
            LE,
            &[PciEntry::new(addr(0, 8), 2)],
        )
        .unwrap_err(),
        LinuxError::NotRepresentable {
            what: Struct::PciDevSer,
            index: 0,
            fault: ReprFault::Refcount { refcount: 2 }
        }
    );
}
