//! Validate+decode of PCI tables (16, 256, 4096, 65536 devices), FLB tables and a root record,
//! each beside `copy_from_slice` of the same bytes in the same run; with the hardware CRC
//! engine, with the table engine installed, and the bare `crc` `Table<16>` over the same bytes.
#![allow(missing_docs, clippy::cast_possible_truncation)]

mod common;

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::hint::black_box;

use crc::{CRC_32_ISCSI, Crc, Table};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::{
    DirEntry, Entry, FlbEntry, FlbFlags, FlbTable, PciTable, Record, Root, checksum,
};

use common::ThreadCpu;
use liveupdate_abi::PhysAddr;

/// memcpy, decode with each engine, and the bare table CRC, of one record's bytes.
fn group<E: Entry>(g: &mut BenchmarkGroup<'_, ThreadCpu>, bytes: &[u8]) {
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("memcpy", |b| {
        let mut dst = vec![0u8; bytes.len()];
        b.iter(|| {
            dst.copy_from_slice(black_box(bytes));
            black_box(&mut dst);
        });
    });
    if checksum::hardware().is_some() {
        g.bench_function("decode_hardware", |b| {
            b.iter(|| Record::<E>::decode(black_box(bytes)).map(|r| r.entries().len()));
        });
    }
    g.bench_function("decode_table16", |b| {
        checksum::install(Some(checksum::table_update));
        b.iter(|| Record::<E>::decode(black_box(bytes)).map(|r| r.entries().len()));
        checksum::install(None);
    });
    let table16 = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);
    g.bench_function("crc_table16", |b| {
        b.iter(|| table16.checksum(black_box(bytes)));
    });
}

fn decode(c: &mut Criterion<ThreadCpu>) {
    for n in [16, 256, 4096, 65536] {
        let table = common::pci_table(n);
        assert_eq!(PciTable::decode(&table).unwrap().entries().len(), n);
        group::<liveupdate_abi::PciEntry>(
            &mut c.benchmark_group(format!("pci_decode/{n}")),
            &table,
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
        group::<FlbEntry>(&mut c.benchmark_group(format!("flb_decode/{n}")), &flb);
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
    group::<DirEntry>(&mut c.benchmark_group("root_decode/2"), &root);
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = decode
}
criterion_main!(benches);
