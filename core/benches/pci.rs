//! The PCI accessors. Incoming: `PciIncoming::is_preserved` (reader count + binary search) with
//! the key index (`N` >= devices, as the README recommends) and with the default `N = 0`,
//! against a bare `binary_search` over packed `u64` keys, at 4096 and 65536 devices, for hits
//! and misses in random order, on 1.0 and 1.1 one-record tables and 1.1 tables chained over
//! 4 KiB blocks (as `luo write` makes them). Outgoing:
//! `PciTracker::preserve`/`unpreserve` of a new device (an insert and a remove in the sorted
//! array) and of one already preserved (a refcount up and down).
#![allow(missing_docs, clippy::cast_possible_truncation)]

#[path = "../../abi/benches/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use liveupdate_abi::{AbiVersion, PciAddress, PciEntry, PciTable, PhysAddr, Table};
use liveupdate_core::pci::{PciIncoming, PciTracker};

use common::ThreadCpu;

/// Lookups per measured iteration.
const QUERIES: usize = 256;

/// `QUERIES` addresses in random order: present ones (`hit`) or ones between two present keys.
fn queries(devices: &[PciAddress], hit: bool) -> Vec<PciAddress> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..QUERIES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = devices[(x % devices.len() as u64) as usize];
            // Keys are 3 apart: key + 1 is never present.
            let key = d.key() + u64::from(!hit);
            PciAddress {
                domain: (key >> 16) as u32,
                bdf: key as u16,
            }
        })
        .collect()
}

/// The lookups of one table: `is_preserved` through `PciIncoming` with the key index
/// (`N = 65536` >= devices, the configuration the README recommends) and with the default
/// `N = 0` (search in the table), the table's own search, and a bare `binary_search` over packed
/// `u64` keys, for hits and misses.
fn lookups(c: &mut Criterion<ThreadCpu>, group: &str, table: Table<'_, PciEntry>) {
    let indexed: Box<PciIncoming<'_, 65536>> = Box::new(PciIncoming::new());
    indexed.load(table).unwrap();
    let default: Box<PciIncoming<'_>> = Box::new(PciIncoming::new());
    default.load(table).unwrap();
    let addresses: Vec<PciAddress> = table.iter().map(PciEntry::address).collect();
    let keys: Vec<u64> = addresses.iter().map(|a| a.key()).collect();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(QUERIES as u64));
    for (name, hit) in [("hit", true), ("miss", false)] {
        let qs = queries(&addresses, hit);
        let expected = qs
            .iter()
            .filter(|a| keys.binary_search(&a.key()).is_ok())
            .count();
        assert_eq!(expected, if hit { QUERIES } else { 0 });
        g.bench_function(format!("is_preserved_{name}"), |b| {
            b.iter(|| {
                black_box(&qs)
                    .iter()
                    .filter(|a| indexed.is_preserved(**a) == Ok(true))
                    .count()
            });
        });
        g.bench_function(format!("is_preserved_default_{name}"), |b| {
            b.iter(|| {
                black_box(&qs)
                    .iter()
                    .filter(|a| default.is_preserved(**a) == Ok(true))
                    .count()
            });
        });
        // The same search without the reader count: where `is_preserved`'s time goes.
        g.bench_function(format!("table_is_preserved_{name}"), |b| {
            b.iter(|| {
                let table = black_box(&table);
                black_box(&qs)
                    .iter()
                    .filter(|a| table.is_preserved(**a))
                    .count()
            });
        });
        g.bench_function(format!("binary_search_{name}"), |b| {
            b.iter(|| {
                let keys = black_box(&keys);
                black_box(&qs)
                    .iter()
                    .filter(|a| keys.binary_search(&a.key()).is_ok())
                    .count()
            });
        });
    }
    g.finish();
}

fn lookup(c: &mut Criterion<ThreadCpu>) {
    for n in [4096usize, 65536] {
        for (minor, version) in [("v10", AbiVersion::V1_0), ("v11", AbiVersion::V1_1)] {
            let bytes = common::pci_record(n, version);
            let table = Table::try_from(PciTable::decode(&bytes).unwrap()).unwrap();
            lookups(c, &format!("pci_lookup/{minor}/{n}"), table);
        }
        let (mem, first_len) = common::pci_chain(n);
        let table =
            Table::<PciEntry>::decode(&mem, PhysAddr::new(common::CHAIN_BASE), first_len).unwrap();
        lookups(c, &format!("pci_lookup/v11chain/{n}"), table);
    }
}

/// `PciTracker` with room for 65536 devices, filled with the first `n` of `common::devices`.
fn tracker(n: usize) -> Box<PciTracker<65536>> {
    let tracker = Box::new(PciTracker::<65536>::new());
    for d in common::devices(n) {
        tracker.preserve(d.address()).unwrap();
    }
    tracker
}

fn outgoing(c: &mut Criterion<ThreadCpu>) {
    for n in [256usize, 4096, 65535] {
        let tracker = tracker(n);
        let devices = common::devices(n);
        // Between the two middle devices: an insert and a remove that move half the array.
        let middle = devices[n / 2].address();
        let new = PciAddress {
            domain: middle.domain,
            bdf: middle.bdf + 1,
        };
        let mut g = c.benchmark_group(format!("pci_tracker/{n}"));
        g.bench_function("preserve_unpreserve_new", |b| {
            b.iter(|| {
                tracker.preserve(black_box(new)).unwrap();
                tracker.unpreserve(black_box(new)).unwrap()
            });
        });
        g.bench_function("preserve_unpreserve_existing", |b| {
            b.iter(|| {
                tracker.preserve(black_box(middle)).unwrap();
                tracker.unpreserve(black_box(middle)).unwrap()
            });
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = lookup, outgoing
}
criterion_main!(benches);
