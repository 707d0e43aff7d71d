//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/seed-*`.
//!
//! Seeds are the golden vectors (`abi/tests/golden/v1/*.bin`) and small records made by the
//! encoder, including a newer minor's wider layout and unknown read-only features, so the
//! fuzzer starts past the magic, the sizes and the CRC. Structured targets (round trips,
//! `root_open`) get short byte strings that decode to small inputs.
//!
//! ```text
//! cargo run -p liveupdate-host-tests --example fuzz_corpus [OUT_DIR]   # default: fuzz/corpus
//! ```
//! Then minimise with `cargo +nightly fuzz cmin <target>` before committing.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::fs;
use std::path::{Path, PathBuf};

use liveupdate_abi::PhysAddr;
use liveupdate_abi::checksum::crc32c;
use liveupdate_abi::header::{CRC_OFFSET, HEADER_LEN};
use liveupdate_abi::linux::flb::FlbArea;
use liveupdate_abi::linux::luo::{LuoAbi, LuoSer};
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer, PciVersion};
use liveupdate_abi::linux::{BlockBuf, Kernel, PageSize};
use liveupdate_abi::root::KHO_NAME;
use liveupdate_abi::{AbiVersion, BlockPlace, PciDevice, PciFlags, PciIdentity, Table};
use liveupdate_abi::{
    DirEntry, Entry, FlbEntry, FlbFlags, PciAddress, PciEntry, Record, RecordKind, seal,
};
use liveupdate_core::flb::{FlbOps, FlbRegistry, OpsError, Preserved};
use liveupdate_core::graph::write_root;
use liveupdate_core::mem::SliceMemory;
use liveupdate_core::pci::PciTracker;
use liveupdate_host_tests::fuzz::table::bodies::BASE as TABLE_BASE;
use liveupdate_host_tests::linux::image::PhysImage;
use liveupdate_host_tests::{image, kho::KhoMemory};

type Seeds = Vec<(String, Vec<u8>)>;

fn encode<E: Entry>(version: AbiVersion, generation: u64, capacity: u32, entries: &[E]) -> Vec<u8> {
    let mut buf =
        vec![0u8; Record::<E>::len_for(version, Capacity::new(capacity)).expect("small capacity")];
    let n = Record::<E>::encode(
        &mut buf,
        Encoding::new(
            version,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        entries.iter().copied(),
    )
    .expect("seed contents are valid");
    buf.truncate(n);
    buf
}

/// Rewrites a v2 (minor 1) `record` as a newer minor (2) would: header and entries 8 bytes
/// wider (zero).
fn widen(kind: RecordKind, record: &[u8]) -> Vec<u8> {
    let header_len = HEADER_LEN + 8;
    let entry_size = usize::from(u16::from_le_bytes(
        record[10..12].try_into().expect("header"),
    ));
    let capacity = u32::from_le_bytes(record[16..20].try_into().expect("header"));
    let mut out = record[..HEADER_LEN].to_vec();
    out.extend_from_slice(&[0; 8]);
    for entry in record[HEADER_LEN..].chunks_exact(entry_size) {
        out.extend_from_slice(entry);
        out.extend_from_slice(&[0; 8]);
    }
    let len = u32::try_from(out.len()).expect("small");
    out[6..8].copy_from_slice(&2u16.to_le_bytes());
    out[8..10].copy_from_slice(&u16::try_from(header_len).expect("small").to_le_bytes());
    out[10..12].copy_from_slice(&u16::try_from(entry_size + 8).expect("small").to_le_bytes());
    assert_eq!(
        u64::from(len),
        header_len as u64 + u64::from(capacity) * (entry_size as u64 + 8)
    );
    out[20..24].copy_from_slice(&len.to_le_bytes());
    seal(kind, &mut out).expect("a newer minor's record seals");
    out
}

/// Sets an unknown read-only-compatible feature and recomputes the CRC by hand (`seal`
/// refuses to rewrite such a record, as a writer should).
fn read_only(record: &[u8]) -> Vec<u8> {
    let mut out = record.to_vec();
    out[36..40].copy_from_slice(&1u32.to_le_bytes());
    out[CRC_OFFSET..CRC_OFFSET + 4].fill(0);
    let crc = crc32c(&out);
    out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
    out
}

/// `abi/tests/golden/<name>` (`v1/root.bin`, ...), if present.
fn golden(root: &Path, name: &str) -> Option<Vec<u8>> {
    let path = root.join("abi/tests/golden").join(name);
    match fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(err) => {
            eprintln!("skipping {}: {err}", path.display());
            None
        }
    }
}

fn record_seeds<E: Entry>(root: &Path, golden_name: &str, sets: &[(&str, Vec<E>)]) -> Seeds {
    let mut seeds = Seeds::new();
    for version in ["v1", "v2"] {
        if let Some(bytes) = golden(root, &format!("{version}/{golden_name}")) {
            seeds.push((format!("golden-{version}-{golden_name}"), bytes));
        }
    }
    for (name, entries) in sets {
        let count = u32::try_from(entries.len()).expect("small");
        let v1 = encode(AbiVersion::V1_0, 7, count, entries);
        let v2 = encode(AbiVersion::V1_1, 7, count, entries);
        seeds.push((format!("{name}-v1.bin"), v1.clone()));
        seeds.push((format!("{name}-v2.bin"), v2.clone()));
        seeds.push((
            format!("{name}-v1-spare.bin"),
            encode(AbiVersion::V1_0, 7, count + 2, entries),
        ));
        seeds.push((format!("{name}-minor2.bin"), widen(E::KIND, &v2)));
        seeds.push((format!("{name}-v1-ro.bin"), read_only(&v1)));
    }
    seeds
}

/// Deterministic pseudo-random bytes (xorshift64), for structured targets.
fn noise(seed: u64, len: usize, ascii: bool) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes()[3];
            if ascii { b'!' + b % 94 } else { b }
        })
        .collect()
}

fn structured_seeds(ascii: bool) -> Seeds {
    [16usize, 64, 200, 600]
        .iter()
        .enumerate()
        .map(|(i, &len)| (format!("noise-{len}.bin"), noise(i as u64 + 1, len, ascii)))
        .collect()
}

fn flb_sets() -> Vec<(&'static str, Vec<FlbEntry>)> {
    let e = |name, data, count| {
        FlbEntry::new(name, data, count, FlbFlags::DATA_IS_PHYS).expect("valid name")
    };
    vec![
        ("flb-empty", vec![]),
        ("flb-one", vec![e("iommu-v1", 0x1_0000_3000, 2)]),
        (
            "flb-three",
            vec![
                e("hugetlb-v1", 0x4000, 1),
                e("iommu-v1", 0x5000, 3),
                e("pci-v1", 0x6000, 8),
            ],
        ),
    ]
}

fn pci_sets() -> Vec<(&'static str, Vec<PciEntry>)> {
    let p = |domain, bus, dev, func, refs| {
        PciEntry::new(PciAddress::new(domain, bus, dev, func).unwrap(), refs)
    };
    vec![
        ("pci-empty", vec![]),
        ("pci-one", vec![p(0, 0x3b, 0, 0, 1)]),
        (
            "pci-four",
            vec![
                p(0, 0x00, 0x1f, 3, 1),
                p(0, 0x3b, 0, 0, 2),
                p(0, 0x3b, 0, 1, 1),
                p(0x10000, 0x01, 0, 0, 4),
            ],
        ),
    ]
}

fn root_sets() -> Vec<(&'static str, Vec<DirEntry>)> {
    vec![
        ("root-empty", vec![]),
        (
            "root-both",
            vec![
                DirEntry::new(
                    RecordKind::FlbTable,
                    PhysAddr::new(0x1_0000_1000),
                    280,
                    0x35b1_1b43,
                ),
                DirEntry::new(
                    RecordKind::PciTable,
                    PhysAddr::new(0x1_0000_2000),
                    104,
                    0x9729_1d2d,
                ),
            ],
        ),
    ]
}

fn open_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    let flb = encode(AbiVersion::V1_0, 7, 4, &flb_sets()[2].1);
    let pci = encode(AbiVersion::V1_1, 7, 4, &pci_sets()[2].1);
    let root = encode(AbiVersion::V1_0, 7, 2, &root_sets()[1].1);
    for (kind_bits, name, child) in [(0u8, "flb", flb), (1, "pci", pci), (2, "root", root)] {
        for (mode, what) in [
            (0u8, "match"),
            (1 << 3, "omitted"),
            (1 << 4, "length"),
            (1 << 5, "crc"),
            (1 << 6, "generation"),
        ] {
            let mut input = vec![kind_bits | mode];
            input.extend_from_slice(&child);
            seeds.push((format!("{name}-{what}.bin"), input));
        }
    }
    seeds
}

/// Callbacks of the FLBs in the seed handover.
struct SeedOps;

impl FlbOps for SeedOps {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        Ok(Preserved {
            data: 0x1_2345_6000,
            object: 1,
            flags: FlbFlags::DATA_IS_PHYS,
        })
    }
    fn unpreserve(&self, _: Preserved) {}
    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        Ok(data)
    }
    fn finish(&self, _: u64) {}
}

/// A `graph` input: base address, root offset from it, root length, image.
fn graph_input(base: u64, root_offset: u32, root_len: usize, image: &[u8]) -> Vec<u8> {
    let mut input = base.to_le_bytes().to_vec();
    input.extend_from_slice(&root_offset.to_le_bytes());
    input.extend_from_slice(&u16::try_from(root_len).expect("small root").to_le_bytes());
    input.extend_from_slice(image);
    input
}

fn graph_seeds(root: &Path) -> Seeds {
    static OPS: SeedOps = SeedOps;
    let mut seeds = Seeds::new();
    // A handover written by the core serializers: FLB table, PCI table, root, in 1.5 KiB at
    // 1 MiB.
    let flbs = FlbRegistry::<2>::new();
    let pci = PciTracker::<4>::new();
    for name in ["iommu-v1", "pci-v1"] {
        flbs.register(name, &OPS).expect("register");
        flbs.preserve_file(name).expect("preserve");
    }
    pci.preserve(PciAddress::new(0, 0x3b, 0, 0).unwrap())
        .expect("preserve");
    pci.preserve(PciAddress::new(0x1_0000, 1, 0, 0).unwrap())
        .expect("preserve");
    let base = 0x10_0000u64;
    let mut image = vec![0u8; 0x600];
    let mut mem = SliceMemory::new(PhysAddr::new(base), image.as_mut_slice());
    let flb = flbs
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(base),
            Generation::new(3),
        )
        .expect("serialize");
    let dev = pci
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(base + 0x100),
            Generation::new(3),
        )
        .expect("serialize");
    let root_len = write_root(
        &mut mem,
        AbiVersion::V1_0,
        PhysAddr::new(base + 0x200),
        Generation::new(3),
        &[flb, dev],
    )
    .expect("root");
    let handover = graph_input(base, 0x200, root_len, mem.into_inner());
    seeds.push(("core-handover.bin".into(), handover));
    let mut mem = SliceMemory::new(PhysAddr::new(base), image.as_mut_slice());
    let root_len = write_root(
        &mut mem,
        AbiVersion::V1_0,
        PhysAddr::new(base + 0x300),
        Generation::new(4),
        &[],
    )
    .expect("root");
    let empty = graph_input(base, 0x300, root_len, mem.into_inner());
    seeds.push(("core-empty-root.bin".into(), empty));
    // The same at v2, the PCI table chained over two blocks of one device.
    let mut image = vec![0u8; 0x600];
    let mut mem = SliceMemory::new(PhysAddr::new(base), image.as_mut_slice());
    let flb = flbs
        .serialize(
            &mut mem,
            AbiVersion::V1_1,
            PhysAddr::new(base),
            Generation::new(5),
        )
        .expect("serialize");
    let places = [0x100, 0x180].map(|at| BlockPlace {
        phys: PhysAddr::new(base + at),
        capacity: 1,
    });
    let dev = pci
        .serialize_blocks(&mut mem, AbiVersion::V1_1, &places, Generation::new(5))
        .expect("serialize");
    let root_len = write_root(
        &mut mem,
        AbiVersion::V1_1,
        PhysAddr::new(base + 0x200),
        Generation::new(5),
        &[flb, dev],
    )
    .expect("root");
    let chained = graph_input(base, 0x200, root_len, mem.into_inner());
    seeds.push(("core-handover-v2-chain.bin".into(), chained));

    // The golden vectors where the golden root says they are.
    let golden = ["v1/flb.bin", "v1/pci.bin", "v1/root.bin"].map(|n| golden(root, n));
    if let [Some(flb), Some(pci), Some(root)] = golden {
        let base = 0x1_0000_1000u64;
        let mut image = vec![0u8; 0x1100 + root.len()];
        image[..flb.len()].copy_from_slice(&flb);
        image[0x1000..0x1000 + pci.len()].copy_from_slice(&pci);
        image[0x1100..].copy_from_slice(&root);
        seeds.push((
            "golden-handover.bin".into(),
            graph_input(base, 0x1100, root.len(), &image),
        ));
    }
    seeds
}

/// `luo` image files: the golden one, and the seed handover in a simulated KHO memory.
fn luo_image_seeds(root: &Path, handover: &[u8]) -> Seeds {
    let mut seeds = Seeds::new();
    for name in ["v1.img", "v2.img"] {
        let golden = root.join("host-tests/golden").join(name);
        match fs::read(&golden) {
            Ok(bytes) => seeds.push((format!("golden-{name}"), bytes)),
            Err(err) => eprintln!("skipping {}: {err}", golden.display()),
        }
    }
    // `handover` is a `graph` input: base, root offset, root length, image.
    let base = u64::from_le_bytes(handover[..8].try_into().expect("base"));
    let offset = u32::from_le_bytes(handover[8..12].try_into().expect("offset"));
    let root_len = u16::from_le_bytes(handover[12..14].try_into().expect("length"));
    let mut mem = KhoMemory::new();
    mem.insert(base, handover[14..].to_vec()).expect("insert");
    mem.add_name(KHO_NAME, base + u64::from(offset), u64::from(root_len))
        .expect("name");
    seeds.push(("handover.img".into(), image::save(&mem)));
    seeds.push(("empty.img".into(), image::save(&KhoMemory::new())));
    seeds
}

/// The FLB "pci": a version-2 chain of one block in an image, raw empty blobs of both
/// versions, and a version this reader does not know.
fn versioned_seeds(devices: &[PciEntry]) -> Seeds {
    let mut versioned = Seeds::new();
    let mut page = vec![0u8; 4096];
    let mut blocks = [BlockBuf {
        phys: PhysAddr::new(0x1000),
        buf: &mut page,
    }];
    let mut ser = [0u8; 16];
    let hierarchical: Vec<PciEntry> = devices
        .iter()
        .enumerate()
        .map(|(i, e)| PciEntry::new(e.address(), 1 + u16::try_from(i % 3).expect("small")))
        .collect();
    PciSer::encode_versioned(
        &mut ser,
        PhysAddr::new(0x8000),
        &mut blocks,
        PciVersion::V2,
        Kernel::default(),
        hierarchical.iter(),
    )
    .expect("versioned form encodes");
    let segments: [(u64, &[u8]); 2] = [(0x1000, &page), (0x8000, &ser)];
    let mut file = vec![0u8; PhysImage::len_for(&segments)];
    let len = PhysImage::write(&mut file, 0x8000, PageSize::SIZE_4K, Some("pci"), &segments)
        .expect("image writes");
    versioned.push(("v2-chain.img".to_owned(), file[..len].to_vec()));
    for version in [1u32, 2, 3] {
        let mut raw = version.to_le_bytes().to_vec();
        raw.extend_from_slice(&[0; 12]);
        versioned.push((format!("v{version}-empty.bin"), raw));
    }
    versioned
}

/// The upstream Linux formats, written by the crate's encoders.
fn linux_seeds() -> Vec<(&'static str, Seeds)> {
    let mut luo = Seeds::new();
    for abi in LuoAbi::ALL {
        let mut out = [0u8; 128];
        let n = LuoSer::encode(
            &mut out,
            abi.compatible(),
            Kernel::default(),
            3,
            PhysAddr::new(0x10_0000),
            PhysAddr::new(0x20_0000),
        )
        .expect("luo_ser encodes");
        luo.push((
            format!("{}.bin", abi.compatible().replace(';', "_")),
            out[..n].to_vec(),
        ));
    }

    let flbs: Vec<FlbEntry> = [("iommu-v1", 0x3000, 2), ("pci-v1", 0, 5)]
        .iter()
        .map(|&(name, data, count)| {
            FlbEntry::new(name, data, count, FlbFlags::empty()).expect("valid")
        })
        .collect();
    let mut flb = Seeds::new();
    for n in [0, 1, 2] {
        let mut out = vec![0u8; 16 + 64 * 2];
        let len = FlbArea::encode(&mut out, 1, Kernel::default(), flbs[..n].iter())
            .expect("FLB area encodes");
        flb.push((format!("flb-{n}.bin"), out[..len].to_vec()));
    }

    let devices: Vec<PciEntry> = pci_sets()[2]
        .1
        .iter()
        .map(|e| PciEntry::new(e.address(), 1))
        .collect();
    let mut array = Seeds::new();
    let formats = [
        (PciLayout::ArrayU64, PciCompat::V1),
        (PciLayout::Array, PciCompat::V1),
        (PciLayout::Array, PciCompat::V2),
        (PciLayout::Array, PciCompat::V3),
    ];
    for (selector, (layout, compat)) in formats.into_iter().enumerate() {
        let format = PciFormat::new(layout, compat).expect("format");
        let mut out = vec![0u8; 16 + 8 * 8];
        let len = PciSer::encode(&mut out, format, 6, Kernel::default(), devices.iter())
            .expect("pci_ser encodes");
        let mut input = vec![u8::try_from(selector).expect("small")];
        input.extend_from_slice(&out[..len]);
        array.push((format!("array-{selector}.bin"), input));
    }

    // A chain of one 4 KiB block in an image, as `pci_image` re-encodes them.
    let mut page = vec![0u8; 4096];
    let mut blocks = [BlockBuf {
        phys: PhysAddr::new(0x1000),
        buf: &mut page,
    }];
    let mut ser = [0u8; 12];
    let written = PciSer::encode_chain(
        &mut ser,
        PhysAddr::new(0x8000),
        &mut blocks,
        PciCompat::V2,
        Kernel::default(),
        devices.iter(),
    )
    .expect("chain encodes");
    let segments: [(u64, &[u8]); 2] = [(0x1000, &page), (0x8000, &ser[..written.len])];
    let mut file = vec![0u8; PhysImage::len_for(&segments)];
    let len = PhysImage::write(
        &mut file,
        0x8000,
        PageSize::SIZE_4K,
        Some("pci-v2"),
        &segments,
    )
    .expect("image writes");
    let chain = vec![("chain.img".to_owned(), file[..len].to_vec())];

    let versioned = versioned_seeds(&devices);

    // What the kernel accepts and the strict decoders flag.
    let mut luo_lenient = luo.clone();
    let mut long = luo[0].1.clone();
    long[7] = b'x';
    long.extend_from_slice(&[0xAA; 8]);
    luo_lenient.push(("padded-long.bin".to_owned(), long));
    let mut flb_lenient = flb.clone();
    let mut area = flb[2].1.clone();
    area[72..80].fill(0); // entry 0's count
    area[80..128].fill(b'n'); // entry 1's name, no NUL
    flb_lenient.push(("zero-count-unterminated.bin".to_owned(), area));

    vec![
        ("linux_pci_versioned", versioned),
        ("linux_luo_lenient", luo_lenient),
        ("linux_flb_lenient", flb_lenient),
        ("linux_luo_ser", luo),
        ("linux_flb", flb),
        ("linux_pci_array", array),
        ("linux_pci_image", chain.clone()),
        ("linux_phys_image", chain),
    ]
}

/// A `table_*` input: the first block's offset and length, then the memory at `TABLE_BASE`.
fn table_input<E: Entry>(blocks: u64, capacity: u32, items: &[E::Item]) -> Vec<u8> {
    let block = Record::<E>::len_for(AbiVersion::V1_1, Capacity::new(capacity)).expect("small");
    let stride = u64::try_from(block).expect("small").next_multiple_of(64);
    let mut mem = SliceMemory::new(
        PhysAddr::new(TABLE_BASE),
        vec![0; usize::try_from(stride * blocks).expect("small")],
    );
    let places: Vec<BlockPlace> = (0..blocks)
        .map(|i| BlockPlace {
            phys: PhysAddr::new(TABLE_BASE + i * stride),
            capacity,
        })
        .collect();
    Table::<E>::encode(
        &mut mem,
        AbiVersion::V1_1,
        Generation::new(9),
        &places,
        items.iter().copied(),
    )
    .expect("table encodes");
    let mut input = 0u16.to_le_bytes().to_vec();
    input.extend_from_slice(&u16::try_from(block).expect("small").to_le_bytes());
    input.extend_from_slice(mem.bytes());
    input
}

/// Chained tables: three blocks of two entries, and one record.
fn table_seeds() -> Vec<(&'static str, Seeds)> {
    let gpu = PciIdentity::new(0x10de, 0x2330, 0x03_02_00).expect("valid");
    let mut devices: Vec<PciDevice> = pci_sets()[2]
        .1
        .iter()
        .map(|e| PciDevice::from(*e).with_flags(PciFlags::BUS_MASTER))
        .collect();
    devices[1] = devices[1].with_identity(gpu);
    devices[0] = devices[0].with_flags(PciFlags::BRIDGE | PciFlags::DESCENDANT);
    let pci = vec![
        (
            "chain.bin".to_owned(),
            table_input::<PciEntry>(3, 2, &devices),
        ),
        (
            "single.bin".to_owned(),
            table_input::<PciEntry>(1, 4, &devices),
        ),
    ];
    let flbs = flb_sets()[2].1.clone();
    let flb = vec![
        ("chain.bin".to_owned(), table_input::<FlbEntry>(2, 2, &flbs)),
        (
            "single.bin".to_owned(),
            table_input::<FlbEntry>(1, 3, &flbs),
        ),
    ];
    vec![
        ("table_pci", pci.clone()),
        ("table_pci_sealed", pci),
        ("table_flb", flb.clone()),
        ("table_flb_sealed", flb),
    ]
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host-tests is inside the repository")
        .to_path_buf();
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| root.join("fuzz/corpus"), PathBuf::from);

    let roots = record_seeds(&root, "root.bin", &root_sets());
    let flbs = record_seeds(&root, "flb.bin", &flb_sets());
    let pcis = record_seeds(&root, "pci.bin", &pci_sets());
    // The differential C target: a selector byte (the kind; bit 7: re-seal), then the record.
    let c_verify: Seeds = [(0u8, &roots), (1, &flbs), (2, &pcis)]
        .into_iter()
        .flat_map(|(kind, seeds)| {
            seeds.iter().map(move |(name, bytes)| {
                let mut input = vec![kind | 0x80];
                input.extend_from_slice(bytes);
                (name.clone(), input)
            })
        })
        .collect();
    let mut targets: Vec<(&str, Seeds)> = vec![
        ("c_verify", c_verify),
        ("root", roots.clone()),
        ("root_sealed", roots),
        ("flb", flbs.clone()),
        ("flb_sealed", flbs),
        ("pci", pcis.clone()),
        ("pci_sealed", pcis),
        ("roundtrip_root", structured_seeds(false)),
        ("roundtrip_flb", structured_seeds(true)),
        ("roundtrip_pci", structured_seeds(false)),
        ("root_open", open_seeds()),
        ("graph", graph_seeds(&root)),
        ("graph_sealed", graph_seeds(&root)),
        ("lifecycle", structured_seeds(false)),
    ];
    let handover = graph_seeds(&root).swap_remove(0).1;
    let images = luo_image_seeds(&root, &handover);
    targets.push(("luo_image", images.clone()));
    targets.push(("luo_image_sealed", images));
    targets.extend(linux_seeds());
    targets.extend(table_seeds());
    for (target, seeds) in targets {
        let dir = out.join(target);
        fs::create_dir_all(&dir).expect("create corpus folder");
        for (name, bytes) in &seeds {
            fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        }
        println!("{target}: {} seeds in {}", seeds.len(), dir.display());
    }
}
