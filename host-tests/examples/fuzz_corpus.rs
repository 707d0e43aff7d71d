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

use std::fs;
use std::path::{Path, PathBuf};

use liveupdate_abi::checksum::crc32c;
use liveupdate_abi::header::{CRC_OFFSET, HEADER_LEN};
use liveupdate_abi::{
    DirEntry, Entry, FlbEntry, FlbFlags, PciAddress, PciEntry, Record, RecordKind, seal,
};

type Seeds = Vec<(String, Vec<u8>)>;

fn encode<E: Entry>(generation: u64, capacity: u32, entries: &[E]) -> Vec<u8> {
    let mut buf = vec![0u8; Record::<E>::len_for(capacity).expect("small capacity")];
    let n = Record::<E>::encode(&mut buf, generation, capacity, entries.iter().copied())
        .expect("seed contents are valid");
    buf.truncate(n);
    buf
}

/// Rewrites `record` as a newer minor would: header and entries 8 bytes wider (zero).
fn widen(kind: RecordKind, record: &[u8], entry_size: usize) -> Vec<u8> {
    let header_len = HEADER_LEN + 8;
    let capacity = u32::from_le_bytes(record[16..20].try_into().expect("header"));
    let mut out = record[..HEADER_LEN].to_vec();
    out.extend_from_slice(&[0; 8]);
    for entry in record[HEADER_LEN..].chunks_exact(entry_size) {
        out.extend_from_slice(entry);
        out.extend_from_slice(&[0; 8]);
    }
    let len = u32::try_from(out.len()).expect("small");
    out[6..8].copy_from_slice(&1u16.to_le_bytes());
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

fn golden(root: &Path, name: &str) -> Option<Vec<u8>> {
    let path = root.join("abi/tests/golden/v1").join(name);
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
    if let Some(bytes) = golden(root, golden_name) {
        seeds.push((format!("golden-{golden_name}"), bytes));
    }
    for (name, entries) in sets {
        let count = u32::try_from(entries.len()).expect("small");
        let packed = encode(7, count, entries);
        let spare = encode(7, count + 2, entries);
        seeds.push((format!("{name}.bin"), packed.clone()));
        seeds.push((format!("{name}-spare.bin"), spare));
        seeds.push((
            format!("{name}-minor1.bin"),
            widen(E::KIND, &packed, std::mem::size_of::<E>()),
        ));
        seeds.push((format!("{name}-ro.bin"), read_only(&packed)));
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
    let p =
        |domain, bus, dev, func, refs| PciEntry::new(PciAddress::new(domain, bus, dev, func), refs);
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
                DirEntry::new(RecordKind::FlbTable, 0x1_0000_1000, 280, 0x35b1_1b43),
                DirEntry::new(RecordKind::PciTable, 0x1_0000_2000, 104, 0x9729_1d2d),
            ],
        ),
    ]
}

fn open_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    let flb = encode(7, 4, &flb_sets()[2].1);
    let pci = encode(7, 4, &pci_sets()[2].1);
    let root = encode(7, 2, &root_sets()[1].1);
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
    let targets: Vec<(&str, Seeds)> = vec![
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
    ];
    for (target, seeds) in targets {
        let dir = out.join(target);
        fs::create_dir_all(&dir).expect("create corpus folder");
        for (name, bytes) in &seeds {
            fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        }
        println!("{target}: {} seeds in {}", seeds.len(), dir.display());
    }
}
