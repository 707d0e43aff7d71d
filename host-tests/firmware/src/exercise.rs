//! What the image does: decode, encode and validate every record, write and load a whole
//! handover, and drive the incoming accessors, all on input the optimiser cannot see through
//! (`black_box`). Returns 0, or the number of the first check that failed.

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};

use liveupdate_abi::checksum;
use liveupdate_abi::{
    DecodeError, DirEntry, FlbEntry, FlbFlags, PciAddress, PciEntry, RecordKind, header::HEADER_LEN,
};
use liveupdate_core::flb::{FlbError, FlbOps, FlbRegistry, OpsError, Preserved};
use liveupdate_core::mem::{PhysAddr, SliceMemory};
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};

use crate::probes::{self as p, DEVICES, FLBS};

/// The golden vectors of ABI 1.0, decoded as the bytes they are.
const GOLDEN_ROOT: &[u8] = include_bytes!("../../../abi/tests/golden/v1/root.bin");
const GOLDEN_FLB: &[u8] = include_bytes!("../../../abi/tests/golden/v1/flb.bin");
const GOLDEN_PCI: &[u8] = include_bytes!("../../../abi/tests/golden/v1/pci.bin");

/// Runs every check.
pub fn run() -> u8 {
    match golden()
        .and(records())
        .and(handover())
        .and(crc())
        .and(planted())
    {
        Ok(()) => 0,
        Err(code) => code,
    }
}

fn check(ok: bool, code: u8) -> Result<(), u8> {
    if ok { Ok(()) } else { Err(code) }
}

/// The address `domain:bus:device.function`; check 90 fails when `PciAddress::new` refuses it.
fn addr(domain: u32, bus: u8, device: u8, function: u8) -> Result<PciAddress, u8> {
    PciAddress::new(black_box(domain), bus, device, function).map_err(|_| 90)
}

/// The golden vectors decode, and the root's directory vouches for the other two.
fn golden() -> Result<(), u8> {
    let root = p::luo_decode_root(black_box(GOLDEN_ROOT)).map_err(|_| 10)?;
    let flb = p::luo_decode_flb(black_box(GOLDEN_FLB)).map_err(|_| 11)?;
    let pci = p::luo_decode_pci(black_box(GOLDEN_PCI)).map_err(|_| 12)?;
    check(
        root.entries().len() == 2 && root.generation().get() == 42,
        13,
    )?;
    check(!flb.entries().is_empty() && !pci.entries().is_empty(), 14)?;
    let opened = p::luo_open_pci(&root, black_box(GOLDEN_PCI)).map_err(|_| 15)?;
    check(opened.entries().len() == pci.entries().len(), 16)?;
    check(root.open::<FlbEntry>(black_box(GOLDEN_FLB)).is_ok(), 17)
}

/// Each record kind encodes, decodes to the same entries, rejects a flipped bit, and
/// decodes again after an in-place edit and `seal`.
fn records() -> Result<(), u8> {
    let devices = black_box([
        PciEntry::new(addr(0, 0x00, 0x1f, 3)?, 1),
        PciEntry::new(addr(0, 0x3b, 0, 0)?, 2),
        PciEntry::new(addr(0x1_0000, 0x01, 0, 0)?, 1),
    ]);
    let mut pci = [0u8; HEADER_LEN + 8 * 8];
    let len = p::luo_encode_pci(&mut pci, 5, &devices).map_err(|_| 20)?;
    let table = p::luo_decode_pci(pci.get(..len).ok_or(21)?).map_err(|_| 21)?;
    check(table.entries().iter().eq(devices.iter()), 22)?;
    for d in &devices {
        check(p::luo_pci_find(&table, d.address()) == Some(d), 23)?;
    }
    check(p::luo_pci_find(&table, addr(0, 0x3b, 0, 1)?).is_none(), 24)?;

    // One flipped bit anywhere is caught by the CRC.
    let at = black_box(HEADER_LEN + 7);
    *pci.get_mut(at).ok_or(25)? ^= 1;
    check(
        matches!(p::luo_decode_pci(&pci), Err(DecodeError::Checksum { .. })),
        25,
    )?;
    // Editing on purpose (refcount 1 -> 0x101) and sealing makes it valid again.
    p::luo_seal(RecordKind::PciTable, &mut pci).map_err(|_| 26)?;
    let edited = p::luo_decode_pci(&pci).map_err(|_| 26)?;
    check(
        edited.entries().get(0).map(PciEntry::refcount) == Some(0x101),
        26,
    )?;

    let names = black_box(["iommu-v1", "pci-v1"]);
    let mut flbs = [FlbEntry::new("x", 0, 1, FlbFlags::empty()).map_err(|_| 27)?; 2];
    for (slot, (i, name)) in flbs.iter_mut().zip((0u64..).zip(names)) {
        *slot = FlbEntry::new(name, i << 12, i + 1, FlbFlags::DATA_IS_PHYS).map_err(|_| 27)?;
    }
    let mut flb = [0u8; HEADER_LEN + 2 * 72];
    let len = p::luo_encode_flb(&mut flb, 5, &flbs).map_err(|_| 28)?;
    let flb_table = p::luo_decode_flb(flb.get(..len).ok_or(28)?).map_err(|_| 28)?;
    check(
        p::luo_flb_find(&flb_table, "pci-v1").map(FlbEntry::file_count) == Some(2),
        29,
    )?;
    check(p::luo_flb_find(&flb_table, "pci-v2").is_none(), 29)?;

    let records = [
        DirEntry::for_record(PhysAddr::new(0x10_0000), &flb_table),
        DirEntry::for_record(PhysAddr::new(0x20_0000), &edited),
    ];
    let mut root = [0u8; HEADER_LEN + 2 * DirEntry::SIZE as usize];
    let len = p::luo_encode_root(&mut root, 5, &records).map_err(|_| 30)?;
    let root = p::luo_decode_root(root.get(..len).ok_or(30)?).map_err(|_| 30)?;
    check(p::luo_open_pci(&root, &pci).is_ok(), 31)?;
    check(root.open::<FlbEntry>(&flb).is_ok(), 31)
}

/// An FLB whose callbacks count their calls.
struct Ops {
    data: u64,
    retrieved: AtomicU32,
    finished: AtomicU32,
}

impl Ops {
    const fn new(data: u64) -> Ops {
        Ops {
            data,
            retrieved: AtomicU32::new(0),
            finished: AtomicU32::new(0),
        }
    }
}

impl FlbOps for Ops {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        Ok(Preserved {
            data: self.data,
            object: self.data,
            flags: FlbFlags::DATA_IS_PHYS,
        })
    }
    fn unpreserve(&self, _: Preserved) {}
    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        self.retrieved.fetch_add(1, Ordering::Relaxed);
        Ok(data | 1)
    }
    fn finish(&self, _: u64) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }
}

static IOMMU: Ops = Ops::new(0x8000_0000);
static PCI_FLB: Ops = Ops::new(0x4000);
static OUTGOING: FlbRegistry<FLBS> = FlbRegistry::new();
static INCOMING: FlbRegistry<FLBS> = FlbRegistry::new();
static TRACKER: PciTracker<DEVICES> = PciTracker::new();

/// Where the handover sits in the simulated physical memory.
const BASE: u64 = 0x1_0000_0000;

/// The outgoing kernel writes a handover, the incoming one loads it and uses the accessors.
fn handover() -> Result<(), u8> {
    // Outgoing.
    OUTGOING.register("iommu-v1", &IOMMU).map_err(|_| 40)?;
    OUTGOING.register("pci-v1", &PCI_FLB).map_err(|_| 40)?;
    for name in black_box(["iommu-v1", "iommu-v1", "pci-v1"]) {
        p::luo_flb_preserve_file(&OUTGOING, name).map_err(|_| 41)?;
    }
    let devices = black_box([
        addr(0, 0x3b, 0, 0)?,
        addr(0x1_0000, 0x01, 0, 0)?,
        addr(0, 0x00, 0x1f, 3)?,
        addr(0, 0x3b, 0, 0)?,
        addr(2, 0x80, 3, 1)?,
    ]);
    for d in devices {
        p::luo_pci_preserve(&TRACKER, d).map_err(|_| 42)?;
    }
    let gone = devices.last().copied().ok_or(42)?;
    check(p::luo_pci_unpreserve(&TRACKER, gone) == Ok(0), 42)?;

    let mut kho = [0u8; 0x1000];
    let mut out = SliceMemory::new(PhysAddr::new(BASE), &mut kho[..]);
    let generation = black_box(7);
    let flb = p::luo_flb_serialize(&OUTGOING, &mut out, BASE, generation).map_err(|_| 43)?;
    let pci = p::luo_pci_serialize(&TRACKER, &mut out, BASE + 0x400, generation).map_err(|_| 43)?;
    let root_len =
        p::luo_write_root(&mut out, BASE + 0xe00, generation, &[pci, flb]).map_err(|_| 44)?;

    // Incoming.
    let mem = SliceMemory::new(PhysAddr::new(BASE), &kho[..]);
    let handover = p::luo_handover_load(&mem, black_box(BASE + 0xe00), root_len).map_err(|_| 45)?;
    check(handover.generation().get() == 7, 45)?;
    let flb_table = handover.flb_table().ok_or(46)?;
    p::luo_flb_load(&INCOMING, &flb_table).map_err(|_| 46)?;
    let raw = p::luo_flb_peek(&INCOMING, "iommu-v1").map_err(|_| 47)?;
    check(raw.data() == 0x8000_0000 && raw.file_count() == 2, 47)?;
    INCOMING.register("pci-v1", &PCI_FLB).map_err(|_| 48)?;
    check(p::luo_flb_unclaimed(&INCOMING) == 1, 48)?;
    check(p::luo_flb_get_put(&INCOMING, "pci-v1") == Ok(0x4001), 49)?;
    check(p::luo_flb_get_put(&INCOMING, "pci-v1") == Ok(0x4001), 49)?;
    check(PCI_FLB.retrieved.load(Ordering::Relaxed) == 1, 49)?;
    check(p::luo_flb_finish_file(&INCOMING, "pci-v1") == Ok(0), 50)?;
    check(PCI_FLB.finished.load(Ordering::Relaxed) == 1, 50)?;
    check(
        p::luo_flb_get_put(&INCOMING, "pci-v1") == Err(FlbError::Finished),
        50,
    )?;

    let incoming = PciIncoming::new();
    let table = handover.pci_table().ok_or(51)?;
    check(
        p::luo_pci_is_preserved(&incoming, gone) == Err(PciError::NoIncomingData),
        51,
    )?;
    p::luo_pci_load(&incoming, table).map_err(|_| 51)?;
    check(
        p::luo_pci_load(&incoming, table) == Err(PciError::AlreadyLoaded),
        51,
    )?;
    let indexed: PciIncoming<'_, 16> = PciIncoming::new();
    p::luo_pci_load_indexed(&indexed, table).map_err(|_| 51)?;
    for d in devices.iter().take(3) {
        check(p::luo_pci_is_preserved(&incoming, *d) == Ok(true), 52)?;
        check(
            p::luo_pci_is_preserved_indexed(&indexed, *d) == Ok(true),
            52,
        )?;
    }
    check(p::luo_pci_is_preserved(&incoming, gone) == Ok(false), 53)?;
    check(
        p::luo_pci_is_preserved_indexed(&indexed, gone) == Ok(false),
        53,
    )?;
    p::luo_pci_finish(&incoming).map_err(|_| 54)?;
    check(
        p::luo_pci_is_preserved(&incoming, devices[0]) == Err(PciError::Finished),
        54,
    )
}

/// The CRC engines agree with the catalogue and with each other.
fn crc() -> Result<(), u8> {
    check(p::luo_crc32c(black_box(b"123456789")) == 0xE306_9283, 60)?;
    let bytes = black_box(GOLDEN_FLB);
    let table = !checksum::table_update(!0, bytes);
    check(p::luo_crc32c(bytes) == table, 61)?;
    if let Some(hardware) = checksum::hardware() {
        check(!hardware(!0, bytes) == table, 62)?;
    }
    Ok(())
}

/// With `planted-panic`: an index the optimiser cannot bound, so a panic path survives and the
/// proof build must fail to link. In range at run time, so the image still runs.
#[cfg(feature = "planted-panic")]
fn planted() -> Result<(), u8> {
    let table = [1u8, 2, 3, 4];
    check(table[black_box(2usize)] == 3, 90)
}

#[cfg(not(feature = "planted-panic"))]
#[allow(clippy::unnecessary_wraps)]
fn planted() -> Result<(), u8> {
    Ok(())
}
