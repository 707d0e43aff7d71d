//! `Root::open`: a referenced record must be the one the directory describes, of the same
//! live update.

use liveupdate_abi::Generation;
use liveupdate_abi::{
    DecodeError, DirEntry, DirectoryField, FlbEntry, FlbTable, PciAddress, PciEntry, PciTable,
    RecordKind, Root,
};

use crate::common::{
    FLB_PHYS, GENERATION, PCI_CAPACITY, PCI_PHYS, encode, flb_golden, pci_entries, pci_golden,
    root_golden, spec_crc,
};
use crate::golden::{assert_flb_inputs, assert_pci_inputs};
use liveupdate_abi::PhysAddr;

const PCI: RecordKind = RecordKind::PciTable;

/// A root of `generation` referencing the PCI record `pci` at `PCI_PHYS`.
fn root_for(generation: u64, pci: &[u8]) -> Vec<u8> {
    let entry = DirEntry::for_record(PhysAddr::new(PCI_PHYS), &PciTable::decode(pci).unwrap());
    encode(generation, 1, &[entry])
}

#[test]
fn opens_the_records_it_references() {
    let root_bytes = root_golden();
    let root = Root::decode(&root_bytes).unwrap();
    let flb = flb_golden();
    let pci = pci_golden();
    assert_flb_inputs(&root.open::<FlbEntry>(&flb).unwrap());
    assert_pci_inputs(&root.open::<PciEntry>(&pci).unwrap());
    assert_eq!(
        root.find(RecordKind::FlbTable).map(DirEntry::phys_addr),
        Some(PhysAddr::new(FLB_PHYS))
    );
    assert_eq!(
        root.find(PCI).map(|e| (e.length(), e.crc())),
        Some((104, spec_crc(&pci)))
    );
}

#[test]
fn absent_kind_is_no_record() {
    let root_bytes = root_for(GENERATION, &pci_golden());
    let root = Root::decode(&root_bytes).unwrap();
    assert_eq!(root.find(RecordKind::FlbTable), None);
    assert_eq!(
        root.open::<FlbEntry>(&flb_golden()).map(drop),
        Err(DecodeError::NoRecord {
            kind: RecordKind::FlbTable
        })
    );
    // A root never references a root.
    assert_eq!(
        root.open::<DirEntry>(&root_bytes).map(drop),
        Err(DecodeError::NoRecord {
            kind: RecordKind::Root
        })
    );
    // An empty directory is a valid root with nothing handed over.
    let empty = encode::<DirEntry>(GENERATION, 2, &[]);
    let empty = Root::decode(&empty).unwrap();
    assert_eq!(
        empty.open::<PciEntry>(&pci_golden()).map(drop),
        Err(DecodeError::NoRecord { kind: PCI })
    );
}

#[test]
fn length_must_match_the_directory() {
    let pci = pci_golden();
    let root_bytes = root_golden();
    let root = Root::decode(&root_bytes).unwrap();
    for found in [0, 64, pci.len() - 1, pci.len() + 1] {
        let mut bytes = pci.clone();
        bytes.resize(found, 0);
        assert_eq!(
            root.open::<PciEntry>(&bytes).map(drop),
            Err(DecodeError::Directory {
                kind: PCI,
                field: DirectoryField::Length,
                expected: 104,
                found: found as u64
            })
        );
    }
}

#[test]
fn crc_must_match_the_directory() {
    // A valid record of the right length and generation, but not the one referenced.
    let other = {
        let mut entries = pci_entries();
        entries[0] = PciEntry::new(entries[0].address(), 3);
        encode(GENERATION, PCI_CAPACITY, &entries)
    };
    assert_eq!(other.len(), pci_golden().len());
    let root_bytes = root_golden();
    let root = Root::decode(&root_bytes).unwrap();
    assert_eq!(
        root.open::<PciEntry>(&other).map(drop),
        Err(DecodeError::Directory {
            kind: PCI,
            field: DirectoryField::Crc,
            expected: u64::from(spec_crc(&pci_golden())),
            found: u64::from(spec_crc(&other))
        })
    );
}

#[test]
fn generation_must_match_the_root() {
    // Left over from the previous update: valid, referenced correctly, but one generation old.
    let stale = encode(GENERATION - 1, PCI_CAPACITY, &pci_entries());
    let root_bytes = root_for(GENERATION, &stale);
    let root = Root::decode(&root_bytes).unwrap();
    assert_eq!(
        root.open::<PciEntry>(&stale).map(drop),
        Err(DecodeError::Generation {
            kind: PCI,
            expected: Generation::new(GENERATION),
            found: Generation::new(GENERATION - 1)
        })
    );
    let fresh = encode(GENERATION + 1, PCI_CAPACITY, &pci_entries());
    let root_bytes = root_for(GENERATION, &fresh);
    let root = Root::decode(&root_bytes).unwrap();
    assert_eq!(
        root.open::<PciEntry>(&fresh).map(drop),
        Err(DecodeError::Generation {
            kind: PCI,
            expected: Generation::new(GENERATION),
            found: Generation::new(GENERATION + 1)
        })
    );
}

#[test]
fn a_corrupt_record_reports_its_own_error() {
    let mut pci = pci_golden();
    pci[64 + 8] ^= 1;
    let root_bytes = root_golden();
    let root = Root::decode(&root_bytes).unwrap();
    assert_eq!(
        root.open::<PciEntry>(&pci).map(drop),
        Err(DecodeError::Checksum {
            kind: PCI,
            stored: spec_crc(&pci_golden()),
            computed: spec_crc(&pci)
        })
    );
    // Bytes of another kind with the referenced length.
    let flb = flb_golden();
    let fake = root_for(GENERATION, &pci_golden());
    let mut fake = fake;
    let at = 64 + 16;
    fake[at..at + 4].copy_from_slice(&u32::try_from(flb.len()).unwrap().to_le_bytes());
    crate::common::reseal(RecordKind::Root, &mut fake);
    let root = Root::decode(&fake).unwrap();
    assert_eq!(
        root.open::<PciEntry>(&flb).map(drop),
        Err(DecodeError::BadMagic {
            kind: PCI,
            found: RecordKind::FlbTable.magic()
        })
    );
}

#[test]
fn unknown_kinds_in_the_directory_are_skipped() {
    // A kind this reader does not know (a newer minor's) sorts between the known ones.
    let luoq = u32::from_le_bytes(*b"LUOQ");
    let pci = pci_golden();
    let flb = flb_golden();
    let raw = crate::common::RawRecord::new(
        RecordKind::Root,
        3,
        vec![
            crate::common::raw_dir(
                RecordKind::FlbTable.magic(),
                spec_crc(&flb),
                FLB_PHYS,
                280,
                0,
            ),
            crate::common::raw_dir(PCI.magic(), spec_crc(&pci), PCI_PHYS, 104, 0),
            crate::common::raw_dir(luoq, 0xDEAD_BEEF, 0x1_0000_3000, 4096, 0),
        ],
    )
    .bytes();
    let root = Root::decode(&raw).unwrap();
    assert_eq!(root.entries().len(), 3);
    let unknown = root.entries().get(2).unwrap();
    assert_eq!((unknown.kind(), unknown.magic()), (None, luoq));
    assert_flb_inputs(&root.open::<FlbEntry>(&flb).unwrap());
    assert_pci_inputs(&root.open::<PciEntry>(&pci).unwrap());
    assert!(FlbTable::decode(&flb).is_ok());
    assert!(
        root.open::<PciEntry>(&pci)
            .unwrap()
            .is_preserved(PciAddress::new(0x1_0000, 1, 0, 0).unwrap())
    );
}
