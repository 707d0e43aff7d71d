//! The upstream structures declared in C (`c/linux_upstream.c`, as the kernel headers declare
//! them) against `liveupdate_abi::linux`: the sizes and offsets the C compiler prints equal the
//! layout table located through the module's encoders (`liveupdate_host_tests::linux::layout`); blobs written by the C kernel-like writers (slot reuse, block chains
//! grown a page at a time) decode to what was preserved, and equal the Rust encoders' bytes;
//! the sample files of the `luo --linux` conventions decode.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CString, c_char, c_int};
use std::path::{Path, PathBuf};

use liveupdate_abi::PhysAddr;
use liveupdate_abi::linux::flb::FlbArea;
use liveupdate_abi::linux::luo::{LuoAbi, LuoSer};
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer, PciVersion};
use liveupdate_abi::linux::{BlockBuf, ByteOrder, Kernel, PageSize};
use liveupdate_abi::{FlbEntry, FlbFlags, PciAddress, PciEntry};
use liveupdate_host_tests::linux::file::{self, LinuxBlob, LinuxFile, LinuxKind};
use liveupdate_host_tests::linux::image::PhysImage;
use liveupdate_host_tests::linux::layout;
use proptest::prelude::*;

#[repr(C)]
struct LxItem {
    kind: *const c_char,
    name: *const c_char,
    field: *const c_char,
    value: u64,
}

#[repr(C)]
struct LxSegment {
    phys: u64,
    bytes: *const u8,
    len: usize,
}

// The library `build.rs` compiles from `c/` (its directory is on the link search path).
#[link(name = "liveupdate_c", kind = "static")]
unsafe extern "C" {
    fn lx_layout(out: *mut *const LxItem) -> usize;
    fn lx_luo_ser(which: c_int, out: *mut u8, num: u64, sessions: u64, flbs: u64) -> usize;
    fn lx_flb_area(
        page: *mut u8,
        names: *const *const c_char,
        data: *const u64,
        counts: *const u64,
        n: usize,
    ) -> usize;
    fn lx_pci_array_init(buf: *mut u8, max: u32) -> usize;
    fn lx_pci_array_get(buf: *mut u8, domain: u32, bdf: u16, hierarchical: c_int) -> c_int;
    fn lx_pci_array_put(buf: *mut u8, domain: u32, bdf: u16) -> c_int;
    fn lx_pci_chain_get(
        ser: *mut u8,
        pages: *mut u8,
        phys: *const u64,
        npages: usize,
        domain: u32,
        bdf: u16,
        hierarchical: c_int,
    ) -> c_int;
    fn lx_pci_chain_put(ser: *mut u8, pages: *mut u8, domain: u32, bdf: u16) -> c_int;
    fn lx_pci_chain_blocks(ser: *const u8, pages: *mut u8) -> usize;
    fn lx_pci_ver_init(ser: *mut u8, version: u32) -> usize;
    fn lx_pci_ver_get(
        ser: *mut u8,
        pages: *mut u8,
        phys: *const u64,
        npages: usize,
        domain: u32,
        bdf: u16,
    ) -> c_int;
    fn lx_pci_ver_put(ser: *mut u8, pages: *mut u8, domain: u32, bdf: u16) -> c_int;
    fn lx_pci_ver_blocks(ser: *const u8, pages: *mut u8) -> usize;
    fn lx_image(
        out: *mut u8,
        out_len: usize,
        blob_phys: u64,
        compatible: *const c_char,
        segs: *const LxSegment,
        n: usize,
    ) -> usize;
}

const PAGE: usize = 4096;
/// The C writer's kernel: 4 KiB pages, this host's byte order (its structs are native).
const NATIVE: Kernel = Kernel::new(PageSize::SIZE_4K, ByteOrder::NATIVE);
const LX_ENOSPC: c_int = -28;

fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the C side hands out NULL (handled above) or pointers to static
    // NUL-terminated literals.
    let s = unsafe { std::ffi::CStr::from_ptr(p) };
    Some(s.to_str().unwrap().to_owned())
}

fn rust_items() -> BTreeSet<String> {
    layout::items()
        .iter()
        .map(|i| match i.field {
            Some(f) => format!("{} {} {f} {}", i.kind, i.name, i.value),
            None => format!("{} {} {}", i.kind, i.name, i.value),
        })
        .collect()
}

#[test]
fn the_program_prints_the_layout_the_module_decodes() {
    let out = common::command(env!("LINUX_UPSTREAM_BIN"))
        .arg("layout")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(printed, rust_items());
}

#[test]
fn the_linked_layout_is_the_printed_one() {
    let mut items = std::ptr::null();
    // SAFETY: `items` is a valid out-pointer; the C side stores a pointer to a static array
    // and returns its length.
    let n = unsafe { lx_layout(&raw mut items) };
    // SAFETY: `items` points to `n` initialised, static `LxItem`s.
    let items = unsafe { std::slice::from_raw_parts(items, n) };
    let linked: BTreeSet<String> = items
        .iter()
        .map(|i| {
            let (kind, name) = (text(i.kind).unwrap(), text(i.name).unwrap());
            match text(i.field) {
                Some(f) => format!("{kind} {name} {f} {}", i.value),
                None => format!("{kind} {name} {}", i.value),
            }
        })
        .collect();
    assert_eq!(linked, rust_items());
}

fn luo(which: c_int) -> Vec<u8> {
    let mut out = vec![0u8; 64];
    // SAFETY: `out` holds 64 bytes, more than the largest luo_ser (48).
    let len = unsafe { lx_luo_ser(which, out.as_mut_ptr(), 3, 0x4000, 0x8000) };
    out.truncate(len);
    out
}

#[test]
fn luo_ser_written_in_c_decodes_and_is_what_rust_writes() {
    for (which, abi) in [
        (0, LuoAbi::V3),
        (1, LuoAbi::V4KhoBlockV1),
        (2, LuoAbi::V5BlockV1),
    ] {
        let c = luo(which);
        let ser = LuoSer::decode(&c, NATIVE).unwrap();
        assert_eq!(ser.abi(), Some(abi));
        assert_eq!(
            (ser.liveupdate_num(), ser.sessions_pa(), ser.flbs_pa()),
            (3, PhysAddr::new(0x4000), PhysAddr::new(0x8000))
        );
        let mut rust = vec![0u8; abi.blob_len()];
        LuoSer::encode(
            &mut rust,
            abi.compatible(),
            NATIVE,
            3,
            PhysAddr::new(0x4000),
            PhysAddr::new(0x8000),
        )
        .unwrap();
        assert_eq!(rust, c, "{abi:?}");
    }
}

fn flb_page(entries: &[(&str, u64, u64)]) -> (Vec<u8>, usize) {
    let names: Vec<CString> = entries.iter().map(|e| CString::new(e.0).unwrap()).collect();
    let ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let data: Vec<u64> = entries.iter().map(|e| e.1).collect();
    let counts: Vec<u64> = entries.iter().map(|e| e.2).collect();
    let mut page = vec![0u8; PAGE];
    // SAFETY: `page` is one 4 KiB page; the three arrays hold `entries.len()` elements and the
    // names stay alive (in `names`) for the call.
    let used = unsafe {
        lx_flb_area(
            page.as_mut_ptr(),
            ptrs.as_ptr(),
            data.as_ptr(),
            counts.as_ptr(),
            entries.len(),
        )
    };
    (page, used)
}

#[test]
fn flb_areas_written_in_c_decode_and_are_what_rust_writes() {
    let list = [
        ("vfio-v1", 9, 1),
        ("pci-v2", 0x1000, 4),
        ("iommu-v1", 0x2000, 2),
    ];
    let (page, used) = flb_page(&list);
    assert_eq!(used, 16 + 3 * 64);
    let area = FlbArea::decode(&page, NATIVE).unwrap();
    let mut out = [FlbEntry::new("x", 0, 1, FlbFlags::empty()).unwrap(); 3];
    let names: Vec<_> = area
        .to_entries(&mut out)
        .unwrap()
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    assert_eq!(names, ["iommu-v1", "pci-v2", "vfio-v1"]);
    let entries: Vec<_> = list
        .iter()
        .map(|&(n, d, c)| FlbEntry::new(n, d, c, FlbFlags::empty()).unwrap())
        .collect();
    let mut rust = vec![0u8; used];
    FlbArea::encode(&mut rust, 1, NATIVE, &entries).unwrap();
    assert_eq!(rust, page[..used]);
    // 63 fit one page, 64 do not (LUO_FLB_MAX).
    let many: Vec<(String, u64, u64)> = (0..64).map(|i| (format!("f{i}"), i, 1)).collect();
    let refs: Vec<_> = many.iter().map(|(n, d, c)| (n.as_str(), *d, *c)).collect();
    assert_eq!(flb_page(&refs[..63]).1, 16 + 63 * 64);
    assert_eq!(flb_page(&refs).1, 0);
}

/// A preserve (`Get`, with its bridge flag for hierarchical formats) or unpreserve (`Put`).
#[derive(Clone, Debug)]
enum Op {
    Get(u32, u16),
    Put(u32, u16),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // A small address space so that gets repeat and puts hit.
    let addr = (0u32..3, 0u16..24);
    proptest::collection::vec(
        prop_oneof![
            3 => addr.clone().prop_map(|(d, b)| Op::Get(d, b)),
            1 => addr.prop_map(|(d, b)| Op::Put(d, b)),
        ],
        0..120,
    )
}

/// What the kernel's bookkeeping should leave: address -> refcount. `hierarchical` lets a
/// second preserve count (bridges); otherwise it is refused.
fn model_step(model: &mut BTreeMap<(u32, u16), u16>, op: &Op, hierarchical: bool, rc: c_int) {
    match *op {
        Op::Get(d, b) => match model.get_mut(&(d, b)) {
            Some(r) if hierarchical => *r += 1,
            Some(_) => assert_eq!(rc, -16, "second preserve of an endpoint is EBUSY"),
            None if rc == LX_ENOSPC => {}
            None => {
                assert!(rc >= 0, "preserve failed: {rc}");
                model.insert((d, b), 1);
            }
        },
        Op::Put(d, b) => match model.get_mut(&(d, b)) {
            Some(r) if *r > 1 => *r -= 1,
            Some(_) => {
                model.remove(&(d, b));
            }
            None => assert_eq!(rc, -2, "unpreserve of a device not preserved is ENOENT"),
        },
    }
}

fn expected(model: &BTreeMap<(u32, u16), u16>) -> Vec<PciEntry> {
    model
        .iter()
        .map(|(&(domain, bdf), &r)| PciEntry::new(PciAddress { domain, bdf }, r))
        .collect()
}

fn buf() -> Vec<PciEntry> {
    vec![PciEntry::new(PciAddress { domain: 0, bdf: 0 }, 1); 2048]
}

/// Runs `ops` on a C array of `max` slots; returns the blob and the model.
fn run_array(ops: &[Op], max: u32, hierarchical: bool) -> (Vec<u8>, BTreeMap<(u32, u16), u16>) {
    let mut blob = vec![0u8; 8 + 8 * max as usize];
    // SAFETY: `blob` holds the header and `max` slots.
    let len = unsafe { lx_pci_array_init(blob.as_mut_ptr(), max) };
    assert_eq!(len, blob.len());
    let mut model = BTreeMap::new();
    for op in ops {
        let rc = match *op {
            // SAFETY: `blob` is an initialised array of `max` slots, as the C side expects.
            Op::Get(d, b) => unsafe {
                lx_pci_array_get(blob.as_mut_ptr(), d, b, c_int::from(hierarchical))
            },
            // SAFETY: as above.
            Op::Put(d, b) => unsafe { lx_pci_array_put(blob.as_mut_ptr(), d, b) },
        };
        model_step(&mut model, op, hierarchical, rc);
    }
    (blob, model)
}

/// Runs `ops` on a C chain with `npages` pages at descending addresses; returns the image.
fn run_chain(
    ops: &[Op],
    npages: usize,
    hierarchical: bool,
    compat: &str,
) -> (Vec<u8>, BTreeMap<(u32, u16), u16>) {
    let mut ser = [0u8; 12];
    let mut pages = vec![0u8; PAGE * npages];
    let phys: Vec<u64> = (0..npages as u64).map(|i| 0x80_0000 - 0x1000 * i).collect();
    let mut model = BTreeMap::new();
    for op in ops {
        let rc = match *op {
            // SAFETY: `ser` is 12 bytes, `pages` holds `npages` pages and `phys` as many
            // addresses; the C side writes only inside them.
            Op::Get(d, b) => unsafe {
                lx_pci_chain_get(
                    ser.as_mut_ptr(),
                    pages.as_mut_ptr(),
                    phys.as_ptr(),
                    npages,
                    d,
                    b,
                    c_int::from(hierarchical),
                )
            },
            // SAFETY: as above.
            Op::Put(d, b) => unsafe {
                lx_pci_chain_put(ser.as_mut_ptr(), pages.as_mut_ptr(), d, b)
            },
        };
        model_step(&mut model, op, hierarchical, rc);
    }
    // SAFETY: as above.
    let used = unsafe { lx_pci_chain_blocks(ser.as_ptr(), pages.as_mut_ptr()) };
    let mut segs = vec![LxSegment {
        phys: 0x1000,
        bytes: ser.as_ptr(),
        len: 12,
    }];
    segs.extend((0..used).map(|i| LxSegment {
        phys: phys[i],
        bytes: pages[i * PAGE..].as_ptr(),
        len: PAGE,
    }));
    let mut img = vec![0u8; 80 + 32 + (16 + PAGE) * used];
    let compat = CString::new(compat).unwrap();
    // SAFETY: every segment points into `ser` or `pages` for its length; `img` is writable
    // for its length; `compat` is NUL-terminated.
    let len = unsafe {
        lx_image(
            img.as_mut_ptr(),
            img.len(),
            0x1000,
            compat.as_ptr(),
            segs.as_ptr(),
            segs.len(),
        )
    };
    assert_eq!(len, img.len());
    (img, model)
}

/// Runs `ops` on a C FLB "pci" blob of `version` with `npages` pages at descending
/// addresses; returns the image (recording compatible "pci") and the model.
fn run_versioned(ops: &[Op], npages: usize, version: u32) -> (Vec<u8>, BTreeMap<(u32, u16), u16>) {
    let mut ser = [0u8; 16];
    // SAFETY: `ser` holds the 16-byte header.
    assert_eq!(unsafe { lx_pci_ver_init(ser.as_mut_ptr(), version) }, 16);
    let mut pages = vec![0u8; PAGE * npages];
    let phys: Vec<u64> = (0..npages as u64).map(|i| 0x80_0000 - 0x1000 * i).collect();
    let mut model = BTreeMap::new();
    for op in ops {
        let rc = match *op {
            // SAFETY: `ser` is 16 bytes, `pages` holds `npages` pages and `phys` as many
            // addresses; the C side writes only inside them.
            Op::Get(d, b) => unsafe {
                lx_pci_ver_get(
                    ser.as_mut_ptr(),
                    pages.as_mut_ptr(),
                    phys.as_ptr(),
                    npages,
                    d,
                    b,
                )
            },
            // SAFETY: as above.
            Op::Put(d, b) => unsafe { lx_pci_ver_put(ser.as_mut_ptr(), pages.as_mut_ptr(), d, b) },
        };
        model_step(&mut model, op, version == 2, rc);
    }
    // SAFETY: as above.
    let used = unsafe { lx_pci_ver_blocks(ser.as_ptr(), pages.as_mut_ptr()) };
    let mut segs = vec![LxSegment {
        phys: 0x1000,
        bytes: ser.as_ptr(),
        len: 16,
    }];
    segs.extend((0..used).map(|i| LxSegment {
        phys: phys[i],
        bytes: pages[i * PAGE..].as_ptr(),
        len: PAGE,
    }));
    let mut img = vec![0u8; 80 + 32 + (16 + PAGE) * used];
    let compat = CString::new("pci").unwrap();
    // SAFETY: every segment points into `ser` or `pages` for its length; `img` is writable
    // for its length; `compat` is NUL-terminated.
    let len = unsafe {
        lx_image(
            img.as_mut_ptr(),
            img.len(),
            0x1000,
            compat.as_ptr(),
            segs.as_ptr(),
            segs.len(),
        )
    };
    assert_eq!(len, img.len());
    (img, model)
}

proptest! {
    #[test]
    fn c_pci_versioned_blobs_decode_to_what_was_preserved(ops in ops(), hierarchical: bool) {
        let version = if hierarchical { 2 } else { 1 };
        let (img, model) = run_versioned(&ops, 2, version);
        let contents = LinuxFile::new(&img);
        let kind = LinuxKind::from_name("pci").unwrap();
        let LinuxBlob::Pci(pci) = file::decode(kind, &contents, NATIVE).unwrap() else {
            panic!("not a pci blob")
        };
        prop_assert_eq!(pci.version().map(PciVersion::number), Some(version));
        let mut out = buf();
        prop_assert_eq!(pci.to_entries(&mut out).unwrap(), &expected(&model)[..]);
    }

    #[test]
    fn c_pci_arrays_decode_to_what_was_preserved(ops in ops(), max in 1u32..24, hierarchical: bool) {
        let (blob, model) = run_array(&ops, max, hierarchical);
        let compat = if hierarchical { PciCompat::V3 } else { PciCompat::V2 };
        let pci = PciSer::decode(&blob, PciFormat::new(PciLayout::Array, compat).unwrap(), NATIVE).unwrap();
        let mut out = buf();
        prop_assert_eq!(pci.to_entries(&mut out).unwrap(), &expected(&model)[..]);
    }

    #[test]
    fn c_pci_chains_decode_to_what_was_preserved(ops in ops(), hierarchical: bool) {
        let compat = if hierarchical { "pci-v2" } else { "pci-v1" };
        let (img, model) = run_chain(&ops, 2, hierarchical, compat);
        let contents = LinuxFile::new(&img);
        let kind = LinuxKind::from_name(&format!("{compat}-chain")).unwrap();
        let LinuxBlob::Pci(pci) = file::decode(kind, &contents, NATIVE).unwrap() else {
            panic!("not a pci blob")
        };
        let mut out = buf();
        prop_assert_eq!(pci.to_entries(&mut out).unwrap(), &expected(&model)[..]);
    }
}

#[test]
fn chains_grow_a_page_at_a_time_and_match_the_rust_encoder() {
    // 511 devices: one full block of 510 and one more, preserved in order.
    let ops: Vec<Op> = (0..511u32).map(|i| Op::Get(i, 8)).collect();
    let (img, model) = run_chain(&ops, 3, false, "pci-v1");
    let image = PhysImage::parse(&img).unwrap();
    assert_eq!(image.segment_count(), 3);
    let pci = image
        .decode_pci(
            PciFormat::new(PciLayout::Chain, PciCompat::V1).unwrap(),
            ByteOrder::NATIVE,
        )
        .unwrap();
    assert_eq!(pci.chain().unwrap().blocks(), 2);
    assert_eq!(pci.devices_pa(), Some(PhysAddr::new(0x80_0000)));

    // The Rust encoder, given the same pages in the same order, writes the same bytes.
    let entries = expected(&model);
    let mut pages = vec![[0u8; PAGE]; 2];
    let mut blocks: Vec<BlockBuf<'_>> = pages
        .iter_mut()
        .enumerate()
        .map(|(i, p)| BlockBuf {
            phys: PhysAddr::new(0x80_0000 - 0x1000 * i as u64),
            buf: p,
        })
        .collect();
    let mut ser = [0u8; 12];
    PciSer::encode_chain(
        &mut ser,
        PhysAddr::new(0x1000),
        &mut blocks,
        PciCompat::V1,
        NATIVE,
        &entries,
    )
    .unwrap();
    drop(blocks);
    let image = PhysImage::parse(&img).unwrap();
    assert_eq!(image.blob(), &ser[..]);
    assert_eq!(image.get(0x80_0000, PAGE).unwrap(), &pages[0][..]);
    assert_eq!(image.get(0x7F_F000, PAGE).unwrap(), &pages[1][..]);
}

#[test]
fn versioned_chains_grow_a_page_at_a_time_and_match_the_rust_encoder() {
    // 511 devices, preserved in order: a full block of 510 and one more.
    let ops: Vec<Op> = (0..511u32).map(|i| Op::Get(i, 8)).collect();
    for version in [PciVersion::V1, PciVersion::V2] {
        let (img, model) = run_versioned(&ops, 3, version.number());
        let image = PhysImage::parse(&img).unwrap();
        assert_eq!(image.segment_count(), 3);
        let entries = expected(&model);
        let mut pages = vec![[0u8; PAGE]; 2];
        let mut blocks: Vec<BlockBuf<'_>> = pages
            .iter_mut()
            .enumerate()
            .map(|(i, p)| BlockBuf {
                phys: PhysAddr::new(0x80_0000 - 0x1000 * i as u64),
                buf: p,
            })
            .collect();
        let mut ser = [0u8; 16];
        PciSer::encode_versioned(
            &mut ser,
            PhysAddr::new(0x1000),
            &mut blocks,
            version,
            NATIVE,
            &entries,
        )
        .unwrap();
        drop(blocks);
        assert_eq!(image.blob(), &ser[..], "{version:?}");
        assert_eq!(image.get(0x80_0000, PAGE).unwrap(), &pages[0][..]);
        assert_eq!(image.get(0x7F_F000, PAGE).unwrap(), &pages[1][..]);
    }
}

#[test]
fn dense_arrays_match_the_rust_encoder() {
    let ops: Vec<Op> = [(0, 8), (0, 0x3b00), (0x1_0000, 0x100)]
        .iter()
        .map(|&(d, b)| Op::Get(d, b))
        .collect();
    let (blob, model) = run_array(&ops, 6, false);
    let mut rust = vec![0u8; blob.len()];
    let format = PciFormat::new(PciLayout::Array, PciCompat::V2).unwrap();
    PciSer::encode(&mut rust, format, 6, NATIVE, &expected(&model)).unwrap();
    assert_eq!(rust, blob);
}

/// The sample files `linux_upstream samples DIR` writes, one per `luo --linux` KIND.
fn samples() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_linux_samples");
    std::fs::create_dir_all(&dir).unwrap();
    let status = common::command(env!("LINUX_UPSTREAM_BIN"))
        .arg("samples")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn decode_file<'a>(kind: &str, contents: &'a LinuxFile<'_>) -> LinuxBlob<'a> {
    file::decode(LinuxKind::from_name(kind).unwrap(), contents, NATIVE).unwrap()
}

fn devices(pci: &PciSer<'_>) -> Vec<(u32, u16, u16)> {
    let mut out = buf();
    pci.to_entries(&mut out)
        .unwrap()
        .iter()
        .map(|e| (e.address().domain, e.address().bdf, e.refcount()))
        .collect()
}

#[test]
fn sample_files_decode_as_documented() {
    let dir = samples();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();

    let bytes = read("luo-v3.bin");
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Luo(ser) = decode_file("luo", &contents) else {
        panic!()
    };
    assert_eq!(
        (ser.abi(), ser.liveupdate_num(), ser.flbs_pa(), bytes.len()),
        (Some(LuoAbi::V3), 7, PhysAddr::new(0x20_0000), 32)
    );
    let bytes = read("luo-v5-block-v1.bin");
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Luo(ser) = decode_file("luo", &contents) else {
        panic!()
    };
    assert_eq!(
        (ser.abi(), ser.liveupdate_num(), bytes.len()),
        (Some(LuoAbi::V5BlockV1), 8, 40)
    );

    let bytes = read("flb.bin");
    assert_eq!(bytes.len(), PAGE);
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Flb(area) = decode_file("flb", &contents) else {
        panic!()
    };
    let found = area.find("pci-v2").unwrap();
    assert_eq!(
        (found.data(), found.count(), area.entries().len()),
        (0x30_0000, 2, 3)
    );

    // Four preserved, 0000:3b:00.0 unpreserved (its slot stays a hole), one more preserved.
    let bytes = read("pci-v2.bin");
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Pci(pci) = decode_file("pci-v2-array", &contents) else {
        panic!()
    };
    assert_eq!(
        devices(&pci),
        [
            (0, 0x0008, 1),
            (0, 0x0018, 1),
            (0, 0x0200, 1),
            (0x1_0000, 0x0100, 1)
        ]
    );
    assert_eq!(pci.slots().nth(1).unwrap().entry, None);

    let bytes = read("pci-v1-u64.bin");
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Pci(pci) = decode_file("pci-v1-u64", &contents) else {
        panic!()
    };
    assert_eq!(devices(&pci), [(0, 0x0018, 1), (0x1_0000, 0x0100, 1)]);

    // 600 preserved over two blocks, every 7th from the 4th unpreserved, 0000:00:01.0 a
    // bridge preserved three times.
    let bytes = read("pci-chain.img");
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Pci(pci) = decode_file("pci-v2-chain", &contents) else {
        panic!()
    };
    assert_eq!(pci.format().compat(), PciCompat::V2);
    assert_eq!(pci.chain().unwrap().blocks(), 2);
    let want: Vec<_> = (0..600u32)
        .filter(|i| i % 7 != 3)
        .map(|i| {
            (
                0,
                u16::try_from(i << 3).unwrap(),
                if i == 1 { 3 } else { 1 },
            )
        })
        .collect();
    assert_eq!(devices(&pci), want);

    // The same history under the FLB "pci", version 2.
    let bytes = read("pci.img");
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Pci(pci) = decode_file("pci", &contents) else {
        panic!()
    };
    assert_eq!(pci.version(), Some(PciVersion::V2));
    assert_eq!(pci.chain().unwrap().blocks(), 2);
    assert_eq!(devices(&pci), want);
    let bytes = read("pci-empty.bin");
    let contents = LinuxFile::new(&bytes);
    let LinuxBlob::Pci(pci) = decode_file("pci", &contents) else {
        panic!()
    };
    assert_eq!(
        (pci.version(), pci.nr_devices(), bytes.len()),
        (Some(PciVersion::V1), 0, 16)
    );
}
