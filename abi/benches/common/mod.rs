//! Shared by the benchmarks: the clock and the inputs.
//!
//! The clock is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: on
//! a shared, noisy 2-vCPU machine its medians reproduce to about 1% where wall-clock medians
//! move 20-30% (`perf-baselines.md`). Time spent descheduled is not counted.

#![allow(
    dead_code,
    missing_docs,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::{PciAddress, PciEntry, PciTable};

/// Thread CPU time as a criterion measurement.
pub struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = ThreadTime;
    type Value = Duration;
    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

/// The criterion configuration every benchmark here uses.
pub fn criterion() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .sample_size(60)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// `n` devices with strictly ascending keys, spread over several domains (VMD-style domains
/// from `0x10000` up included), refcounts 1 to 4.
pub fn devices(n: usize) -> Vec<PciEntry> {
    (0..n as u64)
        .map(|i| {
            let key = i * 3 + 0x0_0100 + (i / 1000) * 0x1_0000;
            let address = PciAddress {
                domain: (key >> 16) as u32,
                bdf: key as u16,
            };
            PciEntry::new(address, (i % 4 + 1) as u16)
        })
        .collect()
}

/// A full PCI table (capacity = count) of `n` devices.
pub fn pci_table(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; PciTable::len_for(AbiVersion::V1_0, Capacity::new(n as u32)).unwrap()];
    PciTable::encode(
        &mut out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(1),
            Capacity::new(n as u32),
        ),
        devices(n),
    )
    .unwrap();
    out
}
