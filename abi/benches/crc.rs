//! CRC-32C throughput of each engine at 4 KiB, 64 KiB and 1 MiB, beside `copy_from_slice` of
//! the same bytes: the narrow hardware engine (`hardware`), the vector folding engine this CPU
//! has (`wide_<Engine>`: AVX2 or AVX-512 VPCLMULQDQ, aarch64 PMULL), the automatic choice
//! (`update`), this crate's table engine, and the bare `crc` crate (`Table<16>`, and
//! `Table<1>`, its default).
#![allow(missing_docs, clippy::cast_possible_truncation)]

mod common;

use std::hint::black_box;

use crc::{CRC_32_ISCSI, Crc, Table};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use liveupdate_abi::checksum;

use common::ThreadCpu;

fn crc(c: &mut Criterion<ThreadCpu>) {
    let data: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let table16 = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);
    let table1 = Crc::<u32, Table<1>>::new(&CRC_32_ISCSI);
    for (name, size) in [("4KiB", 4096), ("64KiB", 65536), ("1MiB", 1 << 20)] {
        let bytes = &data[..size];
        let mut g = c.benchmark_group(format!("crc32c/{name}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function("memcpy", |b| {
            let mut dst = vec![0u8; size];
            b.iter(|| {
                dst.copy_from_slice(black_box(bytes));
                black_box(&mut dst);
            });
        });
        if let Some(hardware) = checksum::hardware() {
            g.bench_function("hardware", |b| b.iter(|| hardware(!0, black_box(bytes))));
        }
        if let Some(wide) = checksum::wide() {
            let name = format!("wide_{:?}", checksum::active());
            g.bench_function(name, |b| b.iter(|| wide(!0, black_box(bytes))));
        }
        g.bench_function("update", |b| {
            b.iter(|| checksum::update(!0, black_box(bytes)));
        });
        g.bench_function("table16", |b| {
            b.iter(|| checksum::table_update(!0, black_box(bytes)));
        });
        g.bench_function("crc_table16", |b| {
            b.iter(|| table16.checksum(black_box(bytes)));
        });
        g.bench_function("crc_table1", |b| {
            b.iter(|| table1.checksum(black_box(bytes)));
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = crc
}
criterion_main!(benches);
