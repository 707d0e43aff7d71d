//! Full handover validation, `Handover::load` (the root, an FLB table of 64 entries and a PCI
//! table of 4096 or 65536 devices: bounds, overlap, every CRC and entry, directory matches),
//! at 1.0 (one PCI record) and as `luo write --devices N` writes it at 1.1 (identities, the
//! PCI table chained over 4 KiB blocks),
//! beside `copy_from_slice` of the same bytes, with the hardware and the table CRC engine.
#![allow(missing_docs, clippy::cast_possible_truncation)]

#[path = "../../abi/benches/common/mod.rs"]
mod common;

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::{FlbEntry, FlbFlags, FlbTable, PciTable, checksum};
use liveupdate_core::graph::{self, Handover};
use liveupdate_core::mem::{PhysMemMut, SliceMemory};

use common::ThreadCpu;
use liveupdate_abi::PhysAddr;

const BASE: u64 = 0x1_0000_0000;
const FLBS: u32 = 64;

/// Memory holding a whole handover at `version`, the root's address and length, and the bytes
/// the three records take: an FLB table of [`FLBS`] entries, then the PCI table of `n` devices
/// (1.0: one record; 1.1: as `luo write --devices n` writes it, identities set and chained
/// over 4 KiB blocks from the next block boundary), then the root.
fn handover(version: AbiVersion, n: usize) -> (SliceMemory<Vec<u8>>, u64, usize, usize) {
    let flb_len = FlbTable::len_for(version, Capacity::new(FLBS)).unwrap();
    let (pci_at, pci_len) = if version == AbiVersion::V1_0 {
        let len = PciTable::len_for(version, Capacity::new(n as u32)).unwrap();
        (BASE + flb_len as u64, len)
    } else {
        let at = BASE + flb_len.next_multiple_of(common::BLOCK_BYTES) as u64;
        (at, common::chain_blocks(n, at).len() * common::BLOCK_BYTES)
    };
    let root_at = pci_at + pci_len as u64;
    let mut mem = SliceMemory::new(
        PhysAddr::new(BASE),
        vec![0u8; (root_at - BASE) as usize + 4096],
    );
    let flbs = (0..FLBS).map(|i| {
        FlbEntry::new(
            &format!("vendor,flb-{i:03}"),
            u64::from(i),
            1,
            FlbFlags::empty(),
        )
        .unwrap()
    });
    let out = mem.write(PhysAddr::new(BASE), flb_len).unwrap();
    FlbTable::encode(
        out,
        Encoding::new(version, Generation::new(1), Capacity::new(FLBS)),
        flbs,
    )
    .unwrap();
    let flb =
        liveupdate_abi::DirEntry::for_record(PhysAddr::new(BASE), &FlbTable::decode(out).unwrap());
    let pci = if version == AbiVersion::V1_0 {
        let out = mem.write(PhysAddr::new(pci_at), pci_len).unwrap();
        out.copy_from_slice(&common::pci_table(n));
        liveupdate_abi::DirEntry::for_record(PhysAddr::new(pci_at), &PciTable::decode(out).unwrap())
    } else {
        common::pci_chain_at(&mut mem, pci_at, n)
    };
    let root_len = graph::write_root(
        &mut mem,
        version,
        PhysAddr::new(root_at),
        Generation::new(1),
        &[flb, pci],
    )
    .unwrap();
    (mem, root_at, root_len, flb_len + pci_len + root_len)
}

fn load(c: &mut Criterion<ThreadCpu>) {
    for (layout, n) in [
        ("v10", 4096usize),
        ("v10", 65536),
        ("v11chain", 4096),
        ("v11chain", 65536),
    ] {
        let version = if layout == "v10" {
            AbiVersion::V1_0
        } else {
            AbiVersion::V1_1
        };
        let (mem, root_at, root_len, total) = handover(version, n);
        let handover_ok = Handover::load(&mem, PhysAddr::new(root_at), root_len).unwrap();
        assert_eq!(handover_ok.pci_table().unwrap().len(), n as u64);
        let mut g = c.benchmark_group(format!("handover_load/{layout}/{n}"));
        g.throughput(Throughput::Bytes(total as u64));
        let src = mem.clone().into_inner();
        g.bench_function("memcpy", |b| {
            let mut dst = vec![0u8; total];
            b.iter(|| {
                dst.copy_from_slice(&black_box(&src)[..total]);
                black_box(&mut dst);
            });
        });
        if checksum::hardware().is_some() {
            g.bench_function("load_hardware", |b| {
                b.iter(|| {
                    Handover::load(black_box(&mem), PhysAddr::new(root_at), root_len)
                        .map(|h| h.generation())
                });
            });
        }
        if let Some(wide) = checksum::wide() {
            g.bench_function("load_wide", |b| {
                checksum::install(Some(wide));
                b.iter(|| {
                    Handover::load(black_box(&mem), PhysAddr::new(root_at), root_len)
                        .map(|h| h.generation())
                });
                checksum::install(None);
            });
        }
        g.bench_function("load_table16", |b| {
            checksum::install(Some(checksum::table_update));
            b.iter(|| {
                Handover::load(black_box(&mem), PhysAddr::new(root_at), root_len)
                    .map(|h| h.generation())
            });
            checksum::install(None);
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = load
}
criterion_main!(benches);
