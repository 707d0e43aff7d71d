//! Byte order: upstream blobs are in the writing kernel's native order. What a big-endian
//! kernel writes is, field by field, the byte-swap of what a little-endian one writes; it
//! decodes to the same values when the decoder is told `ByteOrder::Big`, and is refused (or,
//! where no check can tell, misread) when read as little-endian. Deterministic on any host:
//! the big-endian blobs are built by swapping the fields of little-endian ones.

use crate::support::{BE, LE, Pages};
use liveupdate_abi::linux::flb::FlbArea;
use liveupdate_abi::linux::luo::LuoSer;
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer, PciVersion};
use liveupdate_abi::linux::{BlockBuf, ByteOrder, Kernel, LinuxError, PageSize};
use liveupdate_abi::{FlbEntry, FlbFlags, PciAddress, PciEntry, PhysAddr};

/// Reverses, in place, the bytes of each integer field of `widths` (0: a byte string of the
/// given length, left alone, written as `-n`), starting at `at`.
fn swap(bytes: &mut [u8], mut at: usize, widths: &[isize]) {
    for &w in widths {
        let n = w.unsigned_abs();
        if w > 0 {
            bytes[at..at + n].reverse();
        }
        at += n;
    }
}

fn devices() -> Vec<PciEntry> {
    [(0, 0x08, 2), (0, 0x100, 1), (0x10000, 0x0300, 1)]
        .iter()
        .map(|&(domain, bdf, r)| PciEntry::new(PciAddress { domain, bdf }, r))
        .collect()
}

fn entries_of(pci: &PciSer<'_>) -> Vec<PciEntry> {
    let mut out = vec![PciEntry::new(PciAddress { domain: 0, bdf: 0 }, 1); 8];
    pci.to_entries(&mut out).unwrap().to_vec()
}

#[test]
fn the_default_is_little_endian_and_native_is_the_hosts() {
    assert_eq!(Kernel::default().order(), ByteOrder::Little);
    assert_eq!(Kernel::default().page(), PageSize::SIZE_4K);
    assert_eq!(
        ByteOrder::NATIVE == ByteOrder::Big,
        cfg!(target_endian = "big")
    );
    assert_eq!(BE.with_order(ByteOrder::Little), LE);
}

#[test]
fn luo_ser_big_endian_is_the_byte_swap_and_reads_back_only_as_big() {
    let (sessions, flbs) = (PhysAddr::new(0x1_0000_2000), PhysAddr::new(0x3000));
    let mut le = [0u8; 40];
    let mut be = [0u8; 40];
    let n = LuoSer::encode(&mut le, "luo-v5;block-v1", LE, 9, sessions, flbs).unwrap();
    assert_eq!(
        LuoSer::encode(&mut be, "luo-v5;block-v1", BE, 9, sessions, flbs).unwrap(),
        n
    );
    let mut swapped = le;
    swap(&mut swapped, 0, &[-16, 8, 8, 8]);
    assert_eq!(be, swapped);
    assert_eq!(&be[16..24], &[0, 0, 0, 0, 0, 0, 0, 9]);

    let ser = LuoSer::decode(&be, BE).unwrap();
    assert_eq!(
        (ser.liveupdate_num(), ser.sessions_pa(), ser.flbs_pa()),
        (9, sessions, flbs)
    );
    // Nothing in a luo_ser tells the order: read as little-endian it is misread, not refused.
    let misread = LuoSer::decode(&be, LE).unwrap();
    assert_eq!(misread.liveupdate_num(), 9u64.swap_bytes());
    assert_eq!(misread.flbs_pa().raw(), 0x3000u64.swap_bytes());
}

#[test]
fn flb_area_big_endian_is_the_byte_swap_and_is_refused_as_little() {
    let flbs = [
        FlbEntry::new("pci", 0x1000, 3, FlbFlags::empty()).unwrap(),
        FlbEntry::new("iommu-v1", 0x2000, 1, FlbFlags::empty()).unwrap(),
    ];
    let mut le = vec![0u8; 4096];
    let mut be = vec![0u8; 4096];
    let n = FlbArea::encode(&mut le, 1, LE, &flbs).unwrap();
    assert_eq!(FlbArea::encode(&mut be, 1, BE, &flbs).unwrap(), n);
    let mut swapped = le.clone();
    swap(&mut swapped, 0, &[8, 8, -48, 8, 8, -48, 8, 8]);
    assert_eq!(be, swapped);

    let area = FlbArea::decode(&be[..n], BE).unwrap();
    assert_eq!((area.pgcnt(), area.len()), (1, 2));
    let e = area.find("pci").unwrap();
    assert_eq!((e.data(), e.count()), (0x1000, 3));
    // pgcnt 1 read as little-endian is 2^56 pages: an area whose size overflows.
    assert!(matches!(
        FlbArea::decode(&be[..n], LE),
        Err(LinuxError::Count { found, .. }) if found == 1 << 56
    ));
    // And the other way round.
    assert!(FlbArea::decode(&le[..n], BE).is_err());
}

#[test]
fn pci_arrays_big_endian_are_the_byte_swap_and_are_refused_as_little() {
    let hier = [(PciLayout::Array, PciCompat::V3)];
    for (layout, compat) in hier {
        let format = PciFormat::new(layout, compat).unwrap();
        let mut le = vec![0u8; 8 + 8 * 4];
        let mut be = le.clone();
        PciSer::encode(&mut le, format, 4, LE, &devices()).unwrap();
        PciSer::encode(&mut be, format, 4, BE, &devices()).unwrap();
        let mut swapped = le.clone();
        swap(&mut swapped, 0, &[4, 4]);
        for slot in 0..4 {
            swap(&mut swapped, 8 + 8 * slot, &[4, 2, 2]);
        }
        assert_eq!(be, swapped);
        let pci = PciSer::decode(&be, format, BE).unwrap();
        assert_eq!(pci.max_nr_devices(), Some(4));
        assert_eq!(entries_of(&pci), devices());
        // max_nr_devices 4 read as little-endian is 2^26: the length does not match.
        assert!(matches!(
            PciSer::decode(&be, format, LE),
            Err(LinuxError::TooShort { .. })
        ));
    }
    // The 23 Mar 2026 u64 form: refcounts are padding (1 each).
    let format = PciFormat::new(PciLayout::ArrayU64, PciCompat::V1).unwrap();
    let ones: Vec<PciEntry> = devices()
        .iter()
        .map(|e| PciEntry::new(e.address(), 1))
        .collect();
    let mut le = vec![0u8; 16 + 8 * 3];
    let mut be = le.clone();
    PciSer::encode(&mut le, format, 3, LE, &ones).unwrap();
    PciSer::encode(&mut be, format, 3, BE, &ones).unwrap();
    let mut swapped = le.clone();
    swap(&mut swapped, 0, &[8, 8]);
    for slot in 0..3 {
        swap(&mut swapped, 16 + 8 * slot, &[4, 2, 2]);
    }
    assert_eq!(be, swapped);
    assert_eq!(entries_of(&PciSer::decode(&be, format, BE).unwrap()), ones);
    assert!(PciSer::decode(&be, format, LE).is_err());
}

/// Encodes the devices as a chain (`version` `None`) or versioned `pci_ser` at 0x9000 with
/// blocks at 0x20000 and 0x21000, in `kernel`'s order; returns the blob and the memory.
fn chain(kernel: Kernel, version: Option<PciVersion>) -> (Vec<u8>, Pages) {
    let (mut p0, mut p1) = (vec![0u8; 4096], vec![0u8; 4096]);
    let mut blocks = [
        BlockBuf {
            phys: PhysAddr::new(0x20000),
            buf: &mut p0,
        },
        BlockBuf {
            phys: PhysAddr::new(0x21000),
            buf: &mut p1,
        },
    ];
    let mut ser = vec![0u8; 16];
    let written = match version {
        Some(v) => PciSer::encode_versioned(
            &mut ser,
            PhysAddr::new(0x9000),
            &mut blocks,
            v,
            kernel,
            &devices(),
        ),
        None => PciSer::encode_chain(
            &mut ser,
            PhysAddr::new(0x9000),
            &mut blocks,
            PciCompat::V2,
            kernel,
            &devices(),
        ),
    }
    .unwrap();
    ser.truncate(written.len);
    let mut mem = Pages::new(4096);
    mem.raw(0x20000, p0);
    (ser, mem)
}

#[test]
fn pci_chains_big_endian_are_the_byte_swap_and_are_refused_as_little() {
    for version in [None, Some(PciVersion::V2)] {
        let (le, le_mem) = chain(LE, version);
        let (be, be_mem) = chain(BE, version);
        let header: &[isize] = match version {
            None => &[4, 8],
            Some(_) => &[4, 4, 8],
        };
        let mut swapped = le.clone();
        swap(&mut swapped, 0, header);
        assert_eq!(be, swapped, "{version:?}");
        // The block: header {next, count}, then three slots.
        let mut block = le_mem.pages[&0x20000].clone();
        swap(&mut block, 0, &[8, 8]);
        for slot in 0..3 {
            swap(&mut block, 16 + 8 * slot, &[4, 2, 2]);
        }
        assert_eq!(be_mem.pages[&0x20000], block, "{version:?}");

        let decode = |blob: &[u8], mem: &Pages, kernel| -> Result<Vec<PciEntry>, LinuxError> {
            let pci = match version {
                None => PciSer::decode_chain(
                    blob,
                    Some(PhysAddr::new(0x9000)),
                    PciCompat::V2,
                    mem,
                    kernel,
                )?,
                Some(_) => {
                    PciSer::decode_versioned(blob, Some(PhysAddr::new(0x9000)), mem, kernel)?
                }
            };
            Ok(entries_of(&pci))
        };
        assert_eq!(decode(&be, &be_mem, BE).unwrap(), devices(), "{version:?}");
        assert_eq!(decode(&le, &le_mem, LE).unwrap(), devices(), "{version:?}");
        let refused = decode(&be, &be_mem, LE).unwrap_err();
        match version {
            // version 2 read as little-endian is 2^25: refused as a version, first.
            Some(_) => assert_eq!(
                refused,
                LinuxError::Version {
                    what: liveupdate_abi::linux::Struct::PciSer,
                    found: 2 << 24,
                }
            ),
            // devices 0x20000 read as little-endian is an address no block is at.
            None => assert!(matches!(refused, LinuxError::Block { .. }), "{refused:?}"),
        }
    }
}
