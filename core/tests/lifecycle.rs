//! One live update end to end, over slice memory: the outgoing kernel's registry and PCI
//! tracker write their records and the root; the incoming kernel loads and validates them,
//! hands the FLBs back through `get`, answers `is_preserved`, finishes every file; then it
//! writes the next generation, which loads again.
// loom's primitives only work inside `loom::model`: these tests are for normal builds.
#![cfg(not(loom))]

mod common;

use liveupdate_abi::Generation;
use std::sync::atomic::{AtomicU32, Ordering};

use common::{Recorder, Registry};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::PhysAddr;
use liveupdate_abi::{FlbFlags, PciAddress};
use liveupdate_core::flb::{FlbError, FlbOps, OpsError, Preserved};
use liveupdate_core::graph::{Handover, write_root};
use liveupdate_core::mem::SliceMemory;
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};

const BASE: u64 = 0x2_0000_0000;
const FLB_AT: u64 = BASE + 0x1000;
const PCI_AT: u64 = BASE + 0x2000;
const ROOT_AT: u64 = BASE;

const GPU: PciAddress = pci(0, 0x3b, 0, 0);
const NIC: PciAddress = pci(0x1_0000, 0x01, 0, 1);
const OTHER: PciAddress = pci(0, 0x3b, 0, 1);

/// [`PciAddress::new`] for constants: an address it refuses does not compile.
const fn pci(domain: u32, bus: u8, device: u8, function: u8) -> PciAddress {
    match PciAddress::new(domain, bus, device, function) {
        Ok(address) => address,
        Err(_) => panic!("not a PCI address"),
    }
}

/// The incoming PCI core's FLB: its `finish` ends the PCI lookups.
struct PciFlb {
    pci: &'static PciIncoming<'static>,
    retrieves: AtomicU32,
    finishes: AtomicU32,
}

impl FlbOps for PciFlb {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        Ok(Preserved {
            data: 0,
            object: 0,
            flags: FlbFlags::empty(),
        })
    }
    fn unpreserve(&self, _: Preserved) {}
    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        assert_eq!(data, 0xda7a);

        self.retrieves.fetch_add(1, Ordering::SeqCst);
        Ok(0x0b1)
    }
    fn finish(&self, object: u64) {
        assert_eq!(object, 0x0b1);
        self.finishes.fetch_add(1, Ordering::SeqCst);
        self.pci.finish().unwrap();
    }
}

/// Kernel A, before kexec. Returns the memory and the root's length.
fn outgoing() -> (Vec<u8>, usize) {
    let flbs = Registry::new();
    let pci_ops = Recorder::leak("pci-v1", 0xda7a, 0xa0);
    let iommu_ops = Recorder::leak("iommu-v1", 0x1_0000_0000, 0xa1);
    let legacy_ops = Recorder::leak("legacy-v0", 0xdead, 0xa2);
    flbs.register("pci-v1", pci_ops).unwrap();
    flbs.register("iommu-v1", iommu_ops).unwrap();
    flbs.register("legacy-v0", legacy_ops).unwrap();
    let pci = PciTracker::<32>::new();

    // Three VFIO files over two devices; one more is preserved then cancelled.
    for device in [GPU, GPU, NIC, OTHER] {
        flbs.preserve_file("pci-v1").unwrap();
        flbs.preserve_file("iommu-v1").unwrap();
        pci.preserve(device).unwrap();
    }
    flbs.unpreserve_file("pci-v1").unwrap();
    flbs.unpreserve_file("iommu-v1").unwrap();
    pci.unpreserve(OTHER).unwrap();
    // A subsystem this kernel has and the next one lacks.
    flbs.preserve_file("legacy-v0").unwrap();
    assert_eq!(
        pci_ops.counts(),
        [1, 0, 0, 0],
        "preserve on the first file only"
    );

    let mut mem = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; 0x3000]);
    let flb = flbs
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(FLB_AT),
            Generation::new(1),
        )
        .unwrap();
    let pci = pci
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(PCI_AT),
            Generation::new(1),
        )
        .unwrap();
    let root_len = write_root(
        &mut mem,
        AbiVersion::V1_0,
        PhysAddr::new(ROOT_AT),
        Generation::new(1),
        &[flb, pci],
    )
    .unwrap();
    (mem.into_inner(), root_len)
}

#[test]
fn a_live_update_end_to_end() {
    let (image, root_len) = outgoing();

    // Kernel B, after kexec. Its handover memory lives as long as the kernel.
    let mem: &'static SliceMemory<Vec<u8>> =
        Box::leak(Box::new(SliceMemory::new(PhysAddr::new(BASE), image)));
    let flbs: &'static Registry = Box::leak(Box::new(Registry::new()));
    let pci: &'static PciIncoming<'static> = Box::leak(Box::new(PciIncoming::new()));

    let handover = Handover::load(mem, PhysAddr::new(ROOT_AT), root_len).unwrap();
    assert_eq!(handover.generation(), Generation::new(1));
    flbs.load(&handover.flb_table().unwrap()).unwrap();
    pci.load(handover.pci_table().unwrap()).unwrap();

    // Early boot: raw handles, nothing registered yet.
    let iommu = flbs.peek("iommu-v1").unwrap();
    assert_eq!((iommu.data(), iommu.file_count()), (0x1_0000_0000, 3));
    assert_eq!(iommu.flags(), FlbFlags::DATA_IS_PHYS);
    assert_eq!(pci.is_preserved(GPU), Ok(true));
    assert_eq!(pci.is_preserved(NIC), Ok(true));
    assert_eq!(pci.is_preserved(OTHER), Ok(false), "cancelled before kexec");

    // Subsystems come up.
    let pci_flb: &'static PciFlb = Box::leak(Box::new(PciFlb {
        pci,
        retrieves: AtomicU32::new(0),
        finishes: AtomicU32::new(0),
    }));
    let iommu_ops = Recorder::leak("iommu-v1", 0, 0x1011);
    flbs.register("pci-v1", pci_flb).unwrap();
    flbs.register("iommu-v1", iommu_ops).unwrap();
    let unclaimed: Vec<_> = flbs
        .unclaimed()
        .map(|e| (e.name().to_owned(), e.data(), e.file_count()))
        .collect();
    assert_eq!(unclaimed, [("legacy-v0".to_owned(), 0xdead, 1)]);

    // Files are restored: each takes its FLBs, uses them, and finishes.
    for file in 0..3 {
        let p = flbs.get("pci-v1").unwrap();
        let i = flbs.get("iommu-v1").unwrap();
        assert_eq!((p.object(), i.object()), (0x0b1, 0x1011));
        assert_eq!(pci.is_preserved(GPU), Ok(true));
        drop((p, i));
        let left = 2 - file;
        assert_eq!(flbs.finish_file("pci-v1"), Ok(left));
        assert_eq!(flbs.finish_file("iommu-v1"), Ok(left));
    }
    assert_eq!(pci_flb.retrieves.load(Ordering::SeqCst), 1);
    assert_eq!(pci_flb.finishes.load(Ordering::SeqCst), 1);
    assert_eq!(iommu_ops.counts(), [0, 0, 1, 1]);
    assert_eq!(
        iommu_ops.log(),
        ["retrieve data=0x100000000", "finish object=0x1011"]
    );
    assert_eq!(flbs.get("pci-v1").unwrap_err(), FlbError::Finished);
    assert_eq!(pci.is_preserved(GPU), Err(PciError::Finished));

    // Kernel B prepares the next update: generation 2, in fresh memory.
    let next = Registry::new();
    next.register("pci-v1", Recorder::leak("pci-v1", 0xb, 0))
        .unwrap();
    next.preserve_file("pci-v1").unwrap();
    let tracker = PciTracker::<32>::new();
    tracker.preserve(NIC).unwrap();
    let generation = Generation::new(handover.generation().get() + 1);
    let mut out = SliceMemory::new(PhysAddr::new(BASE), vec![0u8; 0x3000]);
    let flb = next
        .serialize(
            &mut out,
            AbiVersion::V1_0,
            PhysAddr::new(FLB_AT),
            generation,
        )
        .unwrap();
    let pci_dir = tracker
        .serialize(
            &mut out,
            AbiVersion::V1_0,
            PhysAddr::new(PCI_AT),
            generation,
        )
        .unwrap();
    let len = write_root(
        &mut out,
        AbiVersion::V1_0,
        PhysAddr::new(ROOT_AT),
        generation,
        &[flb, pci_dir],
    )
    .unwrap();
    let handover = Handover::load(&out, PhysAddr::new(ROOT_AT), len).unwrap();
    assert_eq!(handover.generation(), Generation::new(2));
    let table = handover.pci_table().unwrap();
    assert!(table.is_preserved(NIC) && !table.is_preserved(GPU));
}
