//! One exported, never-inlined function per code path: what the image runs, what the
//! panic-freedom proof covers, and what `size-report.sh` measures (each symbol's size, plus
//! every function it calls). Names start with `luo_` so the report finds them.

use core::mem::size_of;
use liveupdate_abi::{Capacity, Encoding, Generation};

use liveupdate_abi::AbiVersion;
use liveupdate_abi::{
    DecodeError, DirEntry, EncodeError, FlbEntry, FlbTable, PciAddress, PciEntry, PciTable,
    RecordKind, Root, Table, checksum, seal,
};
use liveupdate_core::flb::{FlbError, FlbRegistry};
use liveupdate_core::graph::{self, GraphError, Handover};
use liveupdate_core::mem::{PhysAddr, SliceMemory};
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};

/// FLB registries in the image hold this many FLBs.
pub const FLBS: usize = 8;
/// The PCI tracker holds this many devices.
pub const DEVICES: usize = 64;
/// Physical memory as the incoming kernel sees it.
pub type Memory<'a> = SliceMemory<&'a [u8]>;
/// Physical memory as the outgoing kernel writes it.
pub type MemoryMut<'a> = SliceMemory<&'a mut [u8]>;

// Decoders: header, CRC, every entry.

/// `Root::decode`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_decode_root(bytes: &[u8]) -> Result<Root<'_>, DecodeError> {
    Root::decode(bytes)
}

/// `FlbTable::decode`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_decode_flb(bytes: &[u8]) -> Result<FlbTable<'_>, DecodeError> {
    FlbTable::decode(bytes)
}

/// `PciTable::decode`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_decode_pci(bytes: &[u8]) -> Result<PciTable<'_>, DecodeError> {
    PciTable::decode(bytes)
}

/// `Root::open` of a PCI table: its decode plus the directory checks.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_open_pci<'b>(
    root: &Root<'_>,
    bytes: &'b [u8],
) -> Result<PciTable<'b>, DecodeError> {
    root.open::<PciEntry>(bytes)
}

// Graph validation.

/// `Handover::load`: the root and every record, bounds, overlap, CRCs, generations.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_handover_load<'m>(
    mem: &'m Memory<'_>,
    root_addr: u64,
    root_len: usize,
) -> Result<Handover<'m>, GraphError> {
    Handover::load(mem, PhysAddr::new(root_addr), root_len)
}

// Incoming accessors.

/// `PciTable::find` on a decoded table.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_find<'a>(
    table: &PciTable<'a>,
    address: PciAddress,
) -> Option<&'a PciEntry> {
    table.find(address)
}

/// `FlbTable::find` on a decoded table.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_find<'a>(table: &FlbTable<'a>, name: &str) -> Option<&'a FlbEntry> {
    table.find(name)
}

/// `PciIncoming::load`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_load<'m>(
    pci: &PciIncoming<'m>,
    table: Table<'m, PciEntry>,
) -> Result<(), PciError> {
    pci.load(table)
}

/// `PciIncoming::is_preserved`, with its reader count.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_is_preserved(
    pci: &PciIncoming<'_>,
    address: PciAddress,
) -> Result<bool, PciError> {
    pci.is_preserved(address)
}

/// `PciIncoming::load` with a key index of up to 16 devices, copied at load.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_load_indexed<'m>(
    pci: &PciIncoming<'m, 16>,
    table: Table<'m, PciEntry>,
) -> Result<(), PciError> {
    pci.load(table)
}

/// `PciIncoming::is_preserved` searching the key index.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_is_preserved_indexed(
    pci: &PciIncoming<'_, 16>,
    address: PciAddress,
) -> Result<bool, PciError> {
    pci.is_preserved(address)
}

/// `PciIncoming::finish`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_finish(pci: &PciIncoming<'_>) -> Result<(), PciError> {
    pci.finish()
}

/// `FlbRegistry::load`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_load(
    flbs: &FlbRegistry<FLBS>,
    table: &Table<'_, FlbEntry>,
) -> Result<(), FlbError> {
    flbs.load(table)
}

/// `FlbRegistry::get` and the put of dropping its guard; returns the object.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_get_put(
    flbs: &FlbRegistry<FLBS>,
    name: &str,
) -> Result<u64, FlbError> {
    flbs.get(name).map(|guard| guard.object())
}

/// `FlbRegistry::finish_file`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_finish_file(
    flbs: &FlbRegistry<FLBS>,
    name: &str,
) -> Result<u64, FlbError> {
    flbs.finish_file(name)
}

/// `FlbRegistry::peek`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_peek(
    flbs: &FlbRegistry<FLBS>,
    name: &str,
) -> Result<FlbEntry, FlbError> {
    flbs.peek(name)
}

/// `FlbRegistry::unclaimed`, counted.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_unclaimed(flbs: &FlbRegistry<FLBS>) -> usize {
    flbs.unclaimed().count()
}

// Encoders and the outgoing side.

/// `PciTable::encode`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_encode_pci(
    out: &mut [u8],
    generation: u64,
    devices: &[PciEntry],
) -> Result<usize, EncodeError> {
    let capacity = u32::try_from(
        out.len().saturating_sub(liveupdate_abi::header::HEADER_LEN) / size_of::<PciEntry>(),
    )
    .unwrap_or(0);
    PciTable::encode(
        out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        devices.iter().copied(),
    )
}

/// `FlbTable::encode`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_encode_flb(
    out: &mut [u8],
    generation: u64,
    flbs: &[FlbEntry],
) -> Result<usize, EncodeError> {
    let capacity = u32::try_from(flbs.len()).unwrap_or(u32::MAX);
    FlbTable::encode(
        out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        flbs.iter().copied(),
    )
}

/// `Root::encode`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_encode_root(
    out: &mut [u8],
    generation: u64,
    records: &[DirEntry],
) -> Result<usize, EncodeError> {
    let capacity = u32::try_from(records.len()).unwrap_or(u32::MAX);
    Root::encode(
        out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        records.iter().copied(),
    )
}

/// `seal`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_seal(kind: RecordKind, record: &mut [u8]) -> Result<u32, EncodeError> {
    seal(kind, record)
}

/// `checksum::crc32c`, through the selected engine.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_crc32c(bytes: &[u8]) -> u32 {
    checksum::crc32c(bytes)
}

/// `PciTracker::preserve`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_preserve(
    pci: &PciTracker<DEVICES>,
    address: PciAddress,
) -> Result<u16, PciError> {
    pci.preserve(address)
}

/// `PciTracker::unpreserve`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_unpreserve(
    pci: &PciTracker<DEVICES>,
    address: PciAddress,
) -> Result<u16, PciError> {
    pci.unpreserve(address)
}

/// `FlbRegistry::preserve_file`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_preserve_file(
    flbs: &FlbRegistry<FLBS>,
    name: &str,
) -> Result<u64, FlbError> {
    flbs.preserve_file(name)
}

/// `PciTracker::serialize`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_pci_serialize(
    pci: &PciTracker<DEVICES>,
    mem: &mut MemoryMut<'_>,
    addr: u64,
    generation: u64,
) -> Result<DirEntry, PciError> {
    pci.serialize(
        mem,
        AbiVersion::V1_0,
        PhysAddr::new(addr),
        Generation::new(generation),
    )
}

/// `FlbRegistry::serialize`.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_flb_serialize(
    flbs: &FlbRegistry<FLBS>,
    mem: &mut MemoryMut<'_>,
    addr: u64,
    generation: u64,
) -> Result<DirEntry, FlbError> {
    flbs.serialize(
        mem,
        AbiVersion::V1_0,
        PhysAddr::new(addr),
        Generation::new(generation),
    )
}

/// `graph::write_root`, which checks placement and writes the root.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "Rust" fn luo_write_root(
    mem: &mut MemoryMut<'_>,
    root_addr: u64,
    generation: u64,
    records: &[DirEntry],
) -> Result<usize, GraphError> {
    graph::write_root(
        mem,
        AbiVersion::V1_0,
        PhysAddr::new(root_addr),
        Generation::new(generation),
        records,
    )
}
