//! The file entry points behind `luo --linux KIND FILE`, and the fuzz bodies on real inputs.

use crate::support::{Blob, LE, devs};
use liveupdate_abi::PhysAddr;
use liveupdate_abi::linux::flb::FlbSer;
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciVersion};
use liveupdate_abi::linux::{LinuxError, PageSize, SlotFault, Where};
use liveupdate_host_tests::fuzz::linux::bodies as fuzz;
use liveupdate_host_tests::linux::file::{self, FileError, LinuxBlob, LinuxFile, LinuxKind};
use liveupdate_host_tests::linux::image::PhysImage;

const PAGE: PageSize = PageSize::SIZE_4K;

fn image(compat: Option<&str>, blob: &[u8], blocks: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut segments: Vec<(u64, &[u8])> = vec![(0x100, blob)];
    segments.extend(blocks.iter().map(|(p, b)| (*p, &b[..])));
    segments.sort_by_key(|s| s.0);
    let mut out = vec![0u8; PhysImage::len_for(&segments)];
    PhysImage::write(&mut out, 0x100, PAGE, compat, &segments).unwrap();
    out
}

fn block(next: u64, list: &[(u32, u16, u16)]) -> Vec<u8> {
    Blob::new()
        .u64(next)
        .u64(list.len() as u64)
        .bytes(&devs(list))
        .build()
}

#[test]
fn kind_names_round_trip() {
    for name in LinuxKind::NAMES {
        assert_eq!(LinuxKind::from_name(name).map(LinuxKind::name), Some(name));
    }
    assert_eq!(LinuxKind::from_name("pci-v4"), None);
    assert_eq!(LinuxKind::from_name("root"), None);
    // A compatible published with several layouts names no form.
    assert_eq!(LinuxKind::from_name("pci-v2"), None);
    assert_eq!(
        LinuxKind::forms_of("pci-v2"),
        ["pci-v2-array", "pci-v2-chain"]
    );
    assert_eq!(
        LinuxKind::forms_of("pci-v1"),
        ["pci-v1-u64", "pci-v1-array", "pci-v1-chain"]
    );
    assert!(LinuxKind::forms_of("pci").is_empty());
    // pci-v3 had one layout.
    assert_eq!(
        LinuxKind::from_name("pci-v3"),
        LinuxKind::from_name("pci-v3-array")
    );
    assert_eq!(
        LinuxKind::from_name("pci"),
        Some(pci_kind(PciLayout::Versioned, PciCompat::Pci))
    );
}

fn pci_kind(layout: PciLayout, compat: PciCompat) -> LinuxKind {
    LinuxKind::Pci(PciFormat::new(layout, compat).unwrap())
}

#[test]
fn the_form_is_what_kind_names_never_the_length() {
    // 16 bytes: an empty "pci" blob of version 1, and a one-slot u32 array.
    let blob = Blob::new().u32(1).u32(0).u64(0).build();
    let contents = LinuxFile::new(&blob);
    let LinuxBlob::Pci(ser) =
        file::decode(LinuxKind::from_name("pci").unwrap(), &contents, LE).unwrap()
    else {
        panic!()
    };
    assert_eq!(ser.version(), Some(PciVersion::V1));
    assert_eq!(ser.format().layout(), PciLayout::Versioned);
    // Told it is an array, the reader reads an array (and refuses it: max is 1, nr is 0, yet
    // the slot is not zero... here it is zero, so it is an empty one-slot array).
    let LinuxBlob::Pci(ser) =
        file::decode(pci_kind(PciLayout::Array, PciCompat::V2), &contents, LE).unwrap()
    else {
        panic!()
    };
    assert_eq!(ser.max_nr_devices(), Some(1));
    // A "pci" blob with devices needs its chain: a raw blob has none to read.
    let blob = Blob::new().u32(2).u32(1).u64(0x2000).build();
    assert!(matches!(
        file::decode(
            LinuxKind::from_name("pci").unwrap(),
            &LinuxFile::new(&blob),
            LE
        ),
        Err(FileError::Linux(LinuxError::Block { .. }))
    ));
    // The 12-byte chain form told as "pci": both lengths named.
    let chain = Blob::new().u32(1).u64(0).build();
    let e = file::decode(
        LinuxKind::from_name("pci").unwrap(),
        &LinuxFile::new(&chain),
        LE,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "pci_ser: too short: need 16 bytes, found 12");
    // An unknown version is named.
    let v3 = Blob::new().u32(3).u32(0).u64(0).build();
    let e = file::decode(
        LinuxKind::from_name("pci").unwrap(),
        &LinuxFile::new(&v3),
        LE,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "pci_ser: version 3 is not one this reader knows (1, 2)"
    );
}

#[test]
fn versioned_images_decode_with_their_chain() {
    let blob = Blob::new().u32(2).u32(2).u64(0x2000).build();
    let blocks = [(0x2000, block(0, &[(0, 8, 3), (0, 0, 0), (0, 0x10, 1)]))];
    for compat in [Some("pci"), None] {
        let img = image(compat, &blob, &blocks);
        let contents = LinuxFile::new(&img);
        let LinuxBlob::Pci(ser) =
            file::decode(LinuxKind::from_name("pci").unwrap(), &contents, LE).unwrap()
        else {
            panic!()
        };
        assert_eq!((ser.version(), ser.nr_devices()), (Some(PciVersion::V2), 2));
    }
    let img = image(Some("pci-v2"), &blob, &blocks);
    assert_eq!(
        file::decode(
            LinuxKind::from_name("pci").unwrap(),
            &LinuxFile::new(&img),
            LE
        )
        .unwrap_err(),
        FileError::Mismatch {
            expected: PciCompat::Pci
        }
    );
}

#[test]
fn luo_and_flb_files() {
    let luo = Blob::new()
        .str_field("luo-v3", 8)
        .u64(1)
        .u64(2)
        .u64(3)
        .build();
    let contents = LinuxFile::new(&luo);
    match file::decode(LinuxKind::Luo, &contents, LE).unwrap() {
        LinuxBlob::Luo(ser) => assert_eq!(ser.flbs_pa(), PhysAddr::new(3)),
        other => panic!("{other:?}"),
    }
    let flb = Blob::new().u64(1).u64(1).flb("pci-v2", 0x100, 1).build();
    let contents = LinuxFile::new(&flb);
    match file::decode(LinuxKind::Flb, &contents, LE).unwrap() {
        LinuxBlob::Flb(area) => assert_eq!(area.find("pci-v2").map(FlbSer::data), Some(0x100)),
        other => panic!("{other:?}"),
    }
    // A luo file is not an FLB area.
    assert!(file::decode(LinuxKind::Flb, &LinuxFile::new(&luo), LE).is_err());
}

#[test]
fn raw_pci_arrays_take_the_kinds_compatible() {
    let blob = Blob::new().u32(2).u32(1).dev(0, 0, 0).dev(0, 16, 1).build();
    let contents = LinuxFile::new(&blob);
    let LinuxBlob::Pci(pci) =
        file::decode(pci_kind(PciLayout::Array, PciCompat::V2), &contents, LE).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (pci.format().layout(), pci.format().compat()),
        (PciLayout::Array, PciCompat::V2)
    );
    // Under pci-v1 the same bytes are a dense array whose second slot should be free.
    assert_eq!(
        file::decode(
            pci_kind(PciLayout::Array, PciCompat::V1),
            &LinuxFile::new(&blob),
            LE
        )
        .unwrap_err(),
        FileError::Linux(LinuxError::Slot {
            index: 1,
            at: Where::Offset(16),
            fault: SlotFault::FreeNotZero
        })
    );
    let old = Blob::new().u64(1).u64(1).dev(3, 8, 0).build();
    let contents = LinuxFile::new(&old);
    let LinuxBlob::Pci(pci) =
        file::decode(pci_kind(PciLayout::ArrayU64, PciCompat::V1), &contents, LE).unwrap()
    else {
        panic!()
    };
    assert_eq!(pci.format().layout(), PciLayout::ArrayU64);
}

#[test]
fn chain_images_must_record_the_kinds_compatible() {
    let blob = Blob::new().u32(1).u64(0x2000).build();
    let blocks = [(0x2000, block(0, &[(0, 8, 2)]))];
    let v1 = pci_kind(PciLayout::Chain, PciCompat::V1);
    let v2 = pci_kind(PciLayout::Chain, PciCompat::V2);
    // pci-v2 (hierarchical): refcount 2 is valid.
    let img = image(Some("pci-v2"), &blob, &blocks);
    let contents = LinuxFile::new(&img);
    let LinuxBlob::Pci(ser) = file::decode(v2, &contents, LE).unwrap() else {
        panic!()
    };
    assert_eq!(
        (ser.format().layout(), ser.format().compat()),
        (PciLayout::Chain, PciCompat::V2)
    );
    // KIND must agree with the image.
    let mismatch = FileError::Mismatch {
        expected: PciCompat::V1,
    };
    assert_eq!(
        file::decode(v1, &LinuxFile::new(&img), LE).unwrap_err(),
        mismatch
    );
    assert_eq!(
        mismatch.to_string(),
        "kho image: compatible at offset 32: not \"pci-v1\", the compatible KIND names"
    );
    // pci-v1 (slot semantics): refcount 2 is refused.
    let img = image(Some("pci-v1"), &blob, &blocks);
    assert!(matches!(
        file::decode(v1, &LinuxFile::new(&img), LE),
        Err(FileError::Linux(LinuxError::Slot {
            fault: SlotFault::Refcount { value: 2 },
            ..
        }))
    ));
    // No recorded compatible: KIND's.
    let img = image(None, &blob, &blocks);
    assert!(file::decode(v1, &LinuxFile::new(&img), LE).is_err());
    assert!(file::decode(v2, &LinuxFile::new(&img), LE).is_ok());
    // An image recording a compatible that is no PCI one.
    let img = image(Some("iommu-v1"), &blob, &blocks);
    assert_eq!(
        file::decode(v2, &LinuxFile::new(&img), LE).unwrap_err(),
        FileError::Mismatch {
            expected: PciCompat::V2
        }
    );
}

#[test]
fn fuzz_bodies_accept_valid_inputs_and_refusals() {
    let luo = Blob::new()
        .str_field("luo-v5;block-v1", 16)
        .u64(1)
        .u64(2)
        .u64(3)
        .build();
    let flb = Blob::new()
        .u64(1)
        .u64(2)
        .flb("b", 1, 1)
        .flb("a", 2, 3)
        .build();
    let pci = Blob::new()
        .u32(3)
        .u32(2)
        .dev(0, 16, 1)
        .dev(0, 0, 0)
        .dev(5, 8, 1)
        .build();
    let chain_blob = Blob::new().u32(2).u64(0x2000).build();
    let img = image(
        Some("pci-v1"),
        &chain_blob,
        &[
            (0x2000, block(0x3000, &[(0, 8, 1)])),
            (0x3000, block(0, &[(0, 9, 1)])),
        ],
    );
    // The valid inputs are valid, so the bodies run their round trips on them.
    assert!(file::decode(LinuxKind::Luo, &LinuxFile::new(&luo), LE).is_ok());
    assert!(file::decode(LinuxKind::Flb, &LinuxFile::new(&flb), LE).is_ok());
    assert!(
        file::decode(
            LinuxKind::from_name("pci-v2-array").unwrap(),
            &LinuxFile::new(&pci),
            LE
        )
        .is_ok()
    );
    assert!(
        file::decode(
            LinuxKind::from_name("pci-v1-chain").unwrap(),
            &LinuxFile::new(&img),
            LE
        )
        .is_ok()
    );
    for input in [&luo[..], &flb, &pci, &img, &[], &[0xFF; 33]] {
        assert_eq!(fuzz::luo_ser(input), Ok(()));
        assert_eq!(fuzz::flb(input), Ok(()));
        assert_eq!(fuzz::pci_image(input), Ok(()));
        assert_eq!(fuzz::phys_image(input), Ok(()));
        for selector in 0..4u8 {
            let mut data = vec![selector];
            data.extend_from_slice(input);
            assert_eq!(fuzz::pci_array(&data), Ok(()));
        }
    }
}
