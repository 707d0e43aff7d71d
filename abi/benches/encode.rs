//! PCI table encode against its validation (decode) at both minors, at 4096, 65536 and 262144
//! devices: from `PciDevice` (identities set at 1.1, what a kernel's tracker gives) and from
//! `PciEntry` (address and refcount only). The per-device cost shows whether encoding is O(n),
//! the ratio to `validate` whether it stays within 2x, and `device` against `entry` whether
//! the richer input costs more per device.
#![allow(missing_docs, clippy::cast_possible_truncation)]

mod common;

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::PciTable;

use common::ThreadCpu;

fn encode(c: &mut Criterion<ThreadCpu>) {
    for n in [4096usize, 65536, 262_144] {
        for (minor, version) in [("v10", AbiVersion::V1_0), ("v11", AbiVersion::V1_1)] {
            let devices = common::pci_devices(n, version);
            let entries = common::devices(n);
            let table = common::pci_record(n, version);
            let encoding = Encoding::new(version, Generation::new(1), Capacity::new(n as u32));
            let mut g = c.benchmark_group(format!("pci_encode/{minor}/{n}"));
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function("encode_device", |b| {
                let mut out = vec![0u8; table.len()];
                b.iter(|| {
                    PciTable::encode(
                        black_box(&mut out),
                        encoding,
                        black_box(&devices).iter().copied(),
                    )
                });
                assert_eq!(out, table);
            });
            g.bench_function("encode_entry", |b| {
                let mut out = vec![0u8; table.len()];
                b.iter(|| {
                    PciTable::encode(
                        black_box(&mut out),
                        encoding,
                        black_box(&entries).iter().copied(),
                    )
                });
                assert_eq!(
                    PciTable::decode(&out).unwrap().entries().len(),
                    n,
                    "{minor} {n}"
                );
            });
            g.bench_function("validate", |b| {
                b.iter(|| PciTable::decode(black_box(&table)).map(|r| r.entries().len()));
            });
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = encode
}
criterion_main!(benches);
