//! PCI table encode against its validation (decode), at 4096 and 65536 devices: the per-device
//! cost of both shows whether encoding is O(n), their ratio whether it stays within 2x.
#![allow(missing_docs, clippy::cast_possible_truncation)]

mod common;

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::PciTable;

use common::ThreadCpu;

fn encode(c: &mut Criterion<ThreadCpu>) {
    for n in [4096usize, 65536] {
        let devices = common::devices(n);
        let table = common::pci_table(n);
        let mut g = c.benchmark_group(format!("pci_encode/{n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("encode", |b| {
            let mut out = vec![0u8; table.len()];
            b.iter(|| {
                PciTable::encode(
                    black_box(&mut out),
                    Encoding::new(
                        AbiVersion::V1_0,
                        Generation::new(1),
                        Capacity::new(n as u32),
                    ),
                    black_box(&devices).iter().copied(),
                )
            });
            assert_eq!(out, table);
        });
        g.bench_function("validate", |b| {
            b.iter(|| PciTable::decode(black_box(&table)).map(|r| r.entries().len()));
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = encode
}
criterion_main!(benches);
