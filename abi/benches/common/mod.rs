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
use liveupdate_abi::{
    BlockPlace, DirEntry, PciAddress, PciDevice, PciEntry, PciFlags, PciIdentity, PciTable,
    PhysAddr, PhysMemMut, SliceMemory, Table,
};

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

/// The `n` devices of [`devices`] as a writer gives them: at 1.1 each with an identity (and
/// bus mastering on every other one), as the outgoing kernel records them; at 1.0 address and
/// refcount only.
pub fn pci_devices(n: usize, version: AbiVersion) -> Vec<PciDevice> {
    devices(n)
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let device = PciDevice::from(e);
            if version == AbiVersion::V1_0 {
                return device;
            }
            let identity =
                PciIdentity::new(0x8086 + (i % 7) as u16, (i * 31) as u16, 0x02_00_00).unwrap();
            let flags = if i % 2 == 0 {
                PciFlags::BUS_MASTER
            } else {
                PciFlags::empty()
            };
            device.with_identity(identity).with_flags(flags)
        })
        .collect()
}

/// A one-record PCI table (capacity = count) of [`pci_devices`]`(n, version)`.
pub fn pci_record(n: usize, version: AbiVersion) -> Vec<u8> {
    let capacity = Capacity::new(n as u32);
    let mut out = vec![0u8; PciTable::len_for(version, capacity).unwrap()];
    PciTable::encode(
        &mut out,
        Encoding::new(version, Generation::new(1), capacity),
        pci_devices(n, version),
    )
    .unwrap();
    out
}

/// Bytes of one block of a chained table, as `luo write` (and a kernel allocating pages) makes.
pub const BLOCK_BYTES: usize = 4096;

/// Where a chained table's blocks start in [`pci_chain`]'s memory.
pub const CHAIN_BASE: u64 = 0x1_0000_0000;

/// The blocks [`pci_chain_at`] writes `n` devices into: page-sized, back to back from `at`.
pub fn chain_blocks(n: usize, at: u64) -> Vec<BlockPlace> {
    let header = PciTable::len_for(AbiVersion::V1_1, Capacity::new(0)).unwrap();
    let per = ((BLOCK_BYTES - header) / usize::from(PciEntry::SIZE_1_1)) as u32;
    (0..n.div_ceil(per as usize).max(1))
        .map(|i| BlockPlace {
            phys: PhysAddr::new(at + (i * BLOCK_BYTES) as u64),
            capacity: per,
        })
        .collect()
}

/// Writes a 1.1 PCI table of [`pci_devices`]`(n, V1_1)` chained over page-sized blocks, back
/// to back from `at` as `luo write` lays them out; its directory entry.
pub fn pci_chain_at(mem: &mut dyn PhysMemMut, at: u64, n: usize) -> DirEntry {
    let version = AbiVersion::V1_1;
    let written = Table::<PciEntry>::encode(
        mem,
        version,
        Generation::new(1),
        &chain_blocks(n, at),
        pci_devices(n, version),
    )
    .unwrap();
    assert_eq!(written.entries, n as u64);
    written.dir
}

/// [`pci_chain_at`] [`CHAIN_BASE`] in memory of its own: the memory, and the first block's
/// length.
pub fn pci_chain(n: usize) -> (SliceMemory<Vec<u8>>, usize) {
    let bytes = chain_blocks(n, 0).len() * BLOCK_BYTES;
    let mut mem = SliceMemory::new(PhysAddr::new(CHAIN_BASE), vec![0u8; bytes]);
    let dir = pci_chain_at(&mut mem, CHAIN_BASE, n);
    (mem, dir.length() as usize)
}
