//! The CRC engine an embedder installs is the one every decoder, encoder and `seal` uses.
//!
//! A process of its own (an integration test binary) with one test, because installing an
//! engine is global: a deliberately wrong engine would break tests running beside it.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::sync::atomic::{AtomicUsize, Ordering};

use liveupdate_abi::AbiVersion;
use liveupdate_abi::PhysAddr;
use liveupdate_abi::checksum::{self, Engine};
use liveupdate_abi::{
    DecodeError, DirEntry, FlbEntry, FlbFlags, FlbTable, PciAddress, PciEntry, PciTable,
    RecordKind, Root, seal,
};

static CALLS: AtomicUsize = AtomicUsize::new(0);

/// A correct engine that counts its calls.
fn counting(state: u32, bytes: &[u8]) -> u32 {
    CALLS.fetch_add(1, Ordering::Relaxed);
    checksum::table_update(state, bytes)
}

/// A wrong engine: what a broken kernel hook would return.
fn wrong(state: u32, bytes: &[u8]) -> u32 {
    checksum::table_update(state, bytes) ^ 1
}

/// Encodes one record of each kind into fresh buffers.
fn records() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut pci = vec![0u8; PciTable::len_for(AbiVersion::V1_0, Capacity::new(4)).unwrap()];
    let devices = [
        PciEntry::new(PciAddress::new(0, 3, 0, 0).unwrap(), 1),
        PciEntry::new(PciAddress::new(0x10000, 1, 2, 3).unwrap(), 2),
    ];
    PciTable::encode(
        &mut pci,
        Encoding::new(AbiVersion::V1_0, Generation::new(9), Capacity::new(4)),
        devices,
    )
    .unwrap();
    let mut flb = vec![0u8; FlbTable::len_for(AbiVersion::V1_0, Capacity::new(2)).unwrap()];
    let flbs = [FlbEntry::new("iommu", 0x1000, 3, FlbFlags::DATA_IS_PHYS).unwrap()];
    FlbTable::encode(
        &mut flb,
        Encoding::new(AbiVersion::V1_0, Generation::new(9), Capacity::new(2)),
        flbs,
    )
    .unwrap();
    let dir = [
        DirEntry::for_record(PhysAddr::new(0x10_0000), &FlbTable::decode(&flb).unwrap()),
        DirEntry::for_record(PhysAddr::new(0x20_0000), &PciTable::decode(&pci).unwrap()),
    ];
    let mut root = vec![0u8; Root::len_for(AbiVersion::V1_0, Capacity::new(4)).unwrap()];
    Root::encode(
        &mut root,
        Encoding::new(AbiVersion::V1_0, Generation::new(9), Capacity::new(4)),
        dir,
    )
    .unwrap();
    (root, flb, pci)
}

#[test]
fn installed_engine_is_used_everywhere_and_can_be_removed() {
    let automatic = checksum::active();
    assert_ne!(automatic, Engine::Installed);
    assert_eq!(
        automatic == Engine::Table,
        checksum::hardware().is_none(),
        "the hardware engine is active exactly when the CPU has one"
    );
    let (root, flb, pci) = records();

    // A correct installed engine: same bytes, and every path calls it.
    checksum::install(Some(counting));
    assert_eq!(checksum::active(), Engine::Installed);
    let before = CALLS.load(Ordering::Relaxed);
    assert_eq!(records(), (root.clone(), flb.clone(), pci.clone()));
    let after_encode = CALLS.load(Ordering::Relaxed);
    assert!(after_encode > before, "encoders use the installed engine");
    let r = Root::decode(&root).unwrap();
    r.open::<FlbEntry>(&flb).unwrap();
    r.open::<PciEntry>(&pci).unwrap();
    let after_decode = CALLS.load(Ordering::Relaxed);
    assert!(
        after_decode > after_encode,
        "decoders use the installed engine"
    );
    let mut edited = pci.clone();
    seal(RecordKind::PciTable, &mut edited).unwrap();
    assert!(CALLS.load(Ordering::Relaxed) > after_decode, "seal uses it");
    assert_eq!(edited, pci);

    // A wrong one: every record fails its checksum, so the decoders really use it.
    checksum::install(Some(wrong));
    for (kind, result) in [
        (RecordKind::Root, Root::decode(&root).map(|_| ())),
        (RecordKind::FlbTable, FlbTable::decode(&flb).map(|_| ())),
        (RecordKind::PciTable, PciTable::decode(&pci).map(|_| ())),
    ] {
        match result {
            Err(DecodeError::Checksum {
                kind: k,
                stored,
                computed,
            }) => {
                assert_eq!(k, kind);
                assert_ne!(stored, computed);
            }
            other => panic!("{kind}: expected a checksum error, got {other:?}"),
        }
    }

    // Removed: the automatic choice is back and the records decode again.
    checksum::install(None);
    assert_eq!(checksum::active(), automatic);
    PciTable::decode(&pci).unwrap();
    assert_eq!(checksum::crc32c(b"123456789"), 0xE306_9283);
}
