//! Validate+decode of what users run, each beside `copy_from_slice` of the same bytes in the
//! same run: PCI tables of both minors built from `PciDevice` (identities set at 1.1) as one
//! record and, at 1.1, chained over 4 KiB blocks as `luo write` lays them out, at 4096, 65536
//! and 262144 devices; FLB tables and a root record. With the hardware CRC engine, with the
//! table engine installed, and the bare `crc` `Table<16>` over the same bytes.
#![allow(missing_docs, clippy::cast_possible_truncation)]

mod common;

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::hint::black_box;

use crc::{CRC_32_ISCSI, Crc, Table};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use liveupdate_abi::{AbiVersion, PciEntry, PhysMem};
use liveupdate_abi::{
    DirEntry, Entry, FlbEntry, FlbFlags, FlbTable, PciTable, Record, Root, checksum,
};

use common::ThreadCpu;
use liveupdate_abi::PhysAddr;

/// memcpy of `bytes`, `decode` with each engine, and the bare table CRC over `bytes`.
fn group(
    g: &mut BenchmarkGroup<'_, ThreadCpu>,
    bytes: &[u8],
    decode: impl Fn() -> Option<u64> + Copy,
) {
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("memcpy", |b| {
        let mut dst = vec![0u8; bytes.len()];
        b.iter(|| {
            dst.copy_from_slice(black_box(bytes));
            black_box(&mut dst);
        });
    });
    if checksum::hardware().is_some() {
        g.bench_function("decode_hardware", |b| b.iter(decode));
    }
    if let Some(wide) = checksum::wide() {
        g.bench_function("decode_wide", |b| {
            checksum::install(Some(wide));
            b.iter(decode);
            checksum::install(None);
        });
    }
    g.bench_function("decode_table16", |b| {
        checksum::install(Some(checksum::table_update));
        b.iter(decode);
        checksum::install(None);
    });
    let table16 = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);
    g.bench_function("crc_table16", |b| {
        b.iter(|| table16.checksum(black_box(bytes)));
    });
}

/// A one-record table through `Record::decode`.
fn record<E: Entry>(g: &mut BenchmarkGroup<'_, ThreadCpu>, bytes: &[u8]) {
    group(g, bytes, || {
        Record::<E>::decode(black_box(bytes))
            .ok()
            .map(|r| r.entries().len() as u64)
    });
}

fn decode(c: &mut Criterion<ThreadCpu>) {
    for n in [4096, 65536, 262_144] {
        for (minor, version) in [("v10", AbiVersion::V1_0), ("v11", AbiVersion::V1_1)] {
            let table = common::pci_record(n, version);
            assert_eq!(PciTable::decode(&table).unwrap().entries().len(), n);
            record::<PciEntry>(
                &mut c.benchmark_group(format!("pci_decode/{minor}/{n}")),
                &table,
            );
        }
        // Chained: every block a record with its own header and CRC, found through memory.
        let (mem, first_len) = common::pci_chain(n);
        let at = PhysAddr::new(common::CHAIN_BASE);
        let table = liveupdate_abi::Table::<PciEntry>::decode(&mem, at, first_len).unwrap();
        assert_eq!(table.len(), n as u64);
        let bytes = mem.read(at, mem.bytes().len()).unwrap();
        group(
            &mut c.benchmark_group(format!("pci_decode/v11chain/{n}")),
            bytes,
            || {
                liveupdate_abi::Table::<PciEntry>::decode(black_box(&mem), at, first_len)
                    .ok()
                    .map(|t| t.len())
            },
        );
    }
    for n in [16u32, 256] {
        let entries = (0..n).map(|i| {
            FlbEntry::new(
                &format!("vendor,flb-{i:05}"),
                u64::from(i) << 12,
                1,
                FlbFlags::DATA_IS_PHYS,
            )
            .unwrap()
        });
        let mut flb = vec![0u8; FlbTable::len_for(AbiVersion::V1_0, Capacity::new(n)).unwrap()];
        FlbTable::encode(
            &mut flb,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(n)),
            entries,
        )
        .unwrap();
        assert_eq!(FlbTable::decode(&flb).unwrap().entries().len(), n as usize);
        record::<FlbEntry>(&mut c.benchmark_group(format!("flb_decode/{n}")), &flb);
    }
    let pci = common::pci_table(4096);
    let flb = {
        let mut out = vec![0u8; FlbTable::len_for(AbiVersion::V1_0, Capacity::new(16)).unwrap()];
        let e = FlbEntry::new("pci", 0x1000, 1, FlbFlags::empty()).unwrap();
        FlbTable::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(16)),
            [e],
        )
        .unwrap();
        out
    };
    let dir = [
        DirEntry::for_record(PhysAddr::new(0x10_0000), &FlbTable::decode(&flb).unwrap()),
        DirEntry::for_record(PhysAddr::new(0x20_0000), &PciTable::decode(&pci).unwrap()),
    ];
    let mut root = vec![0u8; Root::len_for(AbiVersion::V1_0, Capacity::new(4)).unwrap()];
    Root::encode(
        &mut root,
        Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(4)),
        dir,
    )
    .unwrap();
    record::<DirEntry>(&mut c.benchmark_group("root_decode/2"), &root);
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = decode
}
criterion_main!(benches);
