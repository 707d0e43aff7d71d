//! The image container (`liveupdate_host_tests::linux::image`): its layout, a chain read back
//! as memory, every refusal of the parser and the writer, round trips of chains through images.

use crate::support::{Blob, LE, devs};
use liveupdate_abi::linux::ByteOrder;
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer};
use liveupdate_abi::linux::{BlockBuf, NameFault, PageSize};
use liveupdate_abi::mem::{PhysAddr, PhysMem};
use liveupdate_abi::{PciAddress, PciEntry};
use liveupdate_host_tests::linux::image::{
    COMPAT_LEN, HEADER_LEN, ImageError, ImageFault, PhysImage,
};
use proptest::prelude::*;

const PAGE: PageSize = PageSize::SIZE_4K;
const SER_PHYS: u64 = 0x9000;

/// v7 `pci_ser`: `{u32 nr_devices; u64 devices}`, 12 bytes, the u64 at offset 4.
fn ser(nr: u32, devices: u64) -> Vec<u8> {
    Blob::new().u32(nr).u64(devices).build()
}

/// A 4 KiB block `{next, count}` + `entries`.
fn block(next: u64, count: u64, entries: &[u8]) -> Vec<u8> {
    let mut page = Blob::new().u64(next).u64(count).bytes(entries).build();
    page.resize(4096, 0);
    page
}

fn addr(domain: u32, bdf: u16) -> PciAddress {
    PciAddress { domain, bdf }
}

fn buf() -> Vec<PciEntry> {
    vec![PciEntry::new(addr(0, 0), 1); 2048]
}

fn pages<const N: usize>() -> Vec<[u8; 4096]> {
    vec![[0u8; 4096]; N]
}

fn image_of(blob_phys: u64, compat: Option<&str>, segments: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = vec![0u8; PhysImage::len_for(segments)];
    let len = PhysImage::write(&mut out, blob_phys, PAGE, compat, segments).unwrap();
    assert_eq!(len, out.len());
    out
}

/// The golden chain of `abi/tests/linux/chain.rs` as an image: blob at `SER_PHYS`, two blocks.
fn golden_image() -> Vec<u8> {
    let first = block(0x5000, 3, &devs(&[(0, 0x10, 1), (0, 0, 0), (1, 0x08, 1)]));
    let second = block(0, 1, &devs(&[(0, 0x08, 1)]));
    let blob = ser(3, 0x20000);
    image_of(
        SER_PHYS,
        Some("pci-v1"),
        &[(0x5000, &second), (SER_PHYS, &blob), (0x20000, &first)],
    )
}

#[test]
fn image_layout_is_as_documented() {
    let img = image_of(0x10, None, &[(0x10, b"abc")]);
    let expected = Blob::new()
        .bytes(b"KHOIMAGE")
        .u32(1)
        .u32(1)
        .u64(0x10)
        .u64(4096)
        .zeros(COMPAT_LEN)
        .u64(0x10)
        .u64(3)
        .bytes(b"abc")
        .zeros(5)
        .build();
    assert_eq!(img, expected);
    assert_eq!(HEADER_LEN, 80);
    let parsed = PhysImage::parse(&img).unwrap();
    assert_eq!(
        (parsed.blob(), parsed.blob_phys(), parsed.compatible()),
        (&b"abc"[..], 0x10, None)
    );
    assert_eq!(parsed.page_size(), PAGE);
}

#[test]
fn image_holds_a_chain_and_reads_as_memory() {
    let img = golden_image();
    let image = PhysImage::parse(&img).unwrap();
    assert_eq!(
        (image.segment_count(), image.compatible()),
        (3, Some("pci-v1"))
    );
    assert_eq!(
        image.read(PhysAddr::new(0x20010), 8).ok(),
        Some(&devs(&[(0, 0x10, 1)])[..])
    );
    assert_eq!(
        image.read(PhysAddr::new(0x20ffc), 8).ok(),
        None,
        "reads do not cross segments"
    );
    assert_eq!(image.read(PhysAddr::new(0x4fff), 2).ok(), None);
    assert_eq!(
        image.segments().map(|s| s.phys).collect::<Vec<_>>(),
        [0x5000, SER_PHYS, 0x20000]
    );
    let pci = image
        .decode_pci(
            PciFormat::new(PciLayout::Chain, PciCompat::V1).unwrap(),
            ByteOrder::Little,
        )
        .unwrap();
    assert_eq!(pci.nr_devices(), 3);
    // An image can hold an array-form blob too.
    let array = Blob::new().u32(1).u32(1).dev(0, 8, 1).build();
    let img = image_of(0x1000, Some("pci-v2"), &[(0x1000, &array)]);
    let image = PhysImage::parse(&img).unwrap();
    let pci = image
        .decode_pci(
            PciFormat::new(PciLayout::Array, PciCompat::V2).unwrap(),
            ByteOrder::Little,
        )
        .unwrap();
    assert_eq!(pci.max_nr_devices(), Some(1));
}

fn image_err(offset: u64, fault: ImageFault) -> ImageError {
    ImageError::Malformed { offset, fault }
}

#[test]
fn image_refusals() {
    let good = image_of(
        0x1000,
        Some("pci-v2"),
        &[(0x1000, &[1, 2, 3]), (0x2000, &[4; 8])],
    );
    let patch = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    assert_eq!(
        PhysImage::parse(&good[..79]),
        Err(ImageError::TooShort {
            needed: 80,
            found: 79
        })
    );
    assert_eq!(
        PhysImage::parse(&patch(0, b"X")),
        Err(image_err(0, ImageFault::Magic))
    );
    assert_eq!(
        PhysImage::parse(&patch(8, &[2])),
        Err(image_err(8, ImageFault::Version { found: 2 }))
    );
    assert_eq!(
        PhysImage::parse(&patch(24, &3u64.to_le_bytes())),
        Err(image_err(24, ImageFault::PageSize { found: 3 }))
    );
    assert_eq!(
        PhysImage::parse(&patch(32, b"pci v2")),
        Err(image_err(
            32,
            ImageFault::Compatible(NameFault::NotPrintable { at: 3 })
        ))
    );
    assert_eq!(
        PhysImage::parse(&patch(16, &0x3000u64.to_le_bytes())),
        Err(image_err(16, ImageFault::NoBlob))
    );
    // Segment 0 at 80: phys, len, 3 bytes, 5 padding; segment 1 at 104.
    assert_eq!(
        PhysImage::parse(&patch(88, &0u64.to_le_bytes())),
        Err(image_err(80, ImageFault::EmptySegment))
    );
    assert_eq!(
        PhysImage::parse(&patch(99, &[9])),
        Err(image_err(99, ImageFault::Padding))
    );
    assert_eq!(
        PhysImage::parse(&patch(104, &0x1002u64.to_le_bytes())),
        Err(image_err(104, ImageFault::SegmentOrder))
    );
    assert_eq!(
        PhysImage::parse(&patch(104, &(u64::MAX - 3).to_le_bytes())),
        Err(image_err(104, ImageFault::AddressOverflow))
    );
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0; 8]);
    assert_eq!(good.len(), 128);
    assert_eq!(
        PhysImage::parse(&trailing),
        Err(image_err(128, ImageFault::Trailing))
    );
    assert_eq!(
        PhysImage::parse(&good[..127]),
        Err(ImageError::TooShort {
            needed: 128,
            found: 127
        })
    );
    assert_eq!(
        PhysImage::parse(&patch(12, &3u32.to_le_bytes())),
        Err(ImageError::TooShort {
            needed: 144,
            found: 128
        })
    );
}

#[test]
fn image_writer_refuses_what_the_parser_would() {
    let mut out = vec![0u8; 256];
    assert_eq!(
        PhysImage::write(
            &mut out,
            0x2000,
            PAGE,
            None,
            &[(0x2000, &[1]), (0x1000, &[2])]
        ),
        Err(image_err(104, ImageFault::SegmentOrder))
    );
    assert_eq!(
        PhysImage::write(&mut out[..100], 0x2000, PAGE, None, &[(0x2000, &[1; 8])]),
        Err(ImageError::BufferTooSmall {
            needed: 104,
            found: 100
        })
    );
    assert_eq!(
        PhysImage::write(
            &mut out,
            0x2000,
            PAGE,
            Some(&"x".repeat(48)),
            &[(0x2000, &[1])]
        ),
        Err(image_err(
            32,
            ImageFault::Compatible(NameFault::TooLong { max: 47 })
        ))
    );
}

proptest! {
    #[test]
    fn chains_round_trip_through_images(
        set in proptest::collection::btree_map((any::<u32>(), any::<u16>()), 1u16..=3, 0..1200),
        base in 1u64..64,
    ) {
        let entries: Vec<_> = set.into_iter().map(|((d, b), r)| PciEntry::new(addr(d, b), r)).collect();
        let mut p = pages::<3>();
        // Blocks in descending addresses: the chain need not be sorted.
        let mut blocks: Vec<_> = p
            .iter_mut()
            .enumerate()
            .map(|(i, buf)| BlockBuf { phys: PhysAddr::new((base + 10 - i as u64) * 0x1000), buf })
            .collect();
        let mut blob = [0u8; 12];
        let w = PciSer::encode_chain(&mut blob, PhysAddr::new(0x100), &mut blocks, PciCompat::V2, LE, &entries).unwrap();
        let used = w.blocks as usize;
        let mut segments: Vec<(u64, &[u8])> = vec![(0x100, &blob[..])];
        segments.extend(blocks.iter().take(used).map(|b| (b.phys.raw(), &*b.buf)));
        segments.sort_by_key(|s| s.0);
        let img = image_of(0x100, Some("pci-v2"), &segments);
        let image = PhysImage::parse(&img).unwrap();
        let pci = image.decode_pci(PciFormat::new(PciLayout::Chain, PciCompat::V2).unwrap(), ByteOrder::Little).unwrap();
        prop_assert_eq!(pci.chain().unwrap().blocks() as usize, used);
        let mut out = buf();
        prop_assert_eq!(pci.to_entries(&mut out).unwrap(), &entries[..]);
    }

    #[test]
    fn image_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut b = bytes;
        if b.len() >= 8 { b[..8].copy_from_slice(b"KHOIMAGE"); }
        if let Ok(image) = PhysImage::parse(&b) {
            prop_assert_eq!(image.segments().count(), image.segment_count() as usize);
        }
    }
}
