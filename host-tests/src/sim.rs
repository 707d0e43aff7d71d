//! The two kernels of a live update, over simulated KHO memory.
//!
//! [`outgoing`] is the kernel before kexec: it registers the FLBs, preserves files against them
//! and PCI devices in the tracker, and serializes everything through `liveupdate-core` into
//! [`KhoMemory`]. [`incoming`] is the kernel after kexec: given nothing but that memory (loaded
//! from an image file) and the scenario's seed, it validates the handover graph, retrieves every
//! FLB, answers `is_preserved` for every preserved and some absent devices, finishes every file,
//! and checks that what came in is what went out.

use liveupdate_abi::Capacity;
use liveupdate_abi::Generation;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use liveupdate_abi::AbiVersion;
use liveupdate_abi::root::KHO_NAME;
use liveupdate_abi::{
    BlockPlace, Entry, FlbFlags, IdentityMatch, PciAddress, PciIdentity, PciTable, RecordKind,
    Root, Table,
};
use liveupdate_core::flb::{FlbError, FlbOps, FlbRegistry, OpsError, Preserved};
use liveupdate_core::graph::{GraphError, Handover, write_root};
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};

use crate::kho::{KhoError, KhoMemory};
use crate::scenario::{PCI_FLB, Scenario};
use liveupdate_abi::PhysAddr;

/// FLBs a registry holds: upstream's one-page table holds 63.
pub const MAX_FLBS: usize = 64;
/// Where the simulated kernel's KHO allocations start: above 4 GiB, so addresses need 64 bits.
pub const KHO_BASE: u64 = 0x1_0000_0000;
/// Largest number of devices the simulation preserves.
pub const MAX_DEVICES: usize = 65536;

/// Why a simulation step failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Simulated memory refused an allocation or a name.
    #[error("KHO memory: {0}")]
    Kho(KhoError),
    /// The FLB registry refused an operation.
    #[error("FLB {name}: {error}")]
    Flb {
        /// The FLB.
        name: String,
        /// What the registry said.
        error: FlbError,
    },
    /// The PCI accessors refused an operation.
    #[error("PCI: {0}")]
    Pci(PciError),
    /// The handover graph is invalid.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// No root record is registered under the KHO name.
    #[error("no handover: nothing is registered under the KHO name {KHO_NAME:?}")]
    NoHandover,
    /// The scenario asks for more than the simulation supports.
    #[error("{0}")]
    Limit(String),
}

// Written out rather than `#[from]`, which would also make the inner error the `source()` of
// one that already prints it: an error-chain reporter would print it twice.
impl From<KhoError> for SimError {
    fn from(e: KhoError) -> Self {
        SimError::Kho(e)
    }
}

impl From<PciError> for SimError {
    fn from(e: PciError) -> Self {
        SimError::Pci(e)
    }
}

fn flb_err(name: &str) -> impl FnOnce(FlbError) -> SimError + '_ {
    move |error| SimError::Flb {
        name: name.to_owned(),
        error,
    }
}

/// An FLB of the outgoing kernel: `preserve` hands out the scenario's handle, or for the PCI
/// FLB allocates the PCI table's memory (as the PCI core allocates `pci_ser` on first preserve)
/// and hands out its physical address.
struct OutgoingFlb {
    handle: Option<u64>,
    /// Where KHO allocations start.
    base: u64,
    pci_table_len: usize,
    mem: Arc<Mutex<KhoMemory>>,
    /// The data handle of the last successful `preserve`, 0 before.
    data: AtomicU64,
}

impl FlbOps for OutgoingFlb {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        if let Some(handle) = self.handle {
            self.data.store(handle, Ordering::Relaxed);
            return Ok(Preserved {
                data: handle,
                object: handle,
                flags: FlbFlags::empty(),
            });
        }
        let mut mem = self.mem.lock().unwrap_or_else(PoisonError::into_inner);
        let phys = mem
            .alloc(self.base, self.pci_table_len)
            .map_err(|_| OpsError(-12))?;
        self.data.store(phys, Ordering::Relaxed);
        Ok(Preserved {
            data: phys,
            object: phys,
            flags: FlbFlags::DATA_IS_PHYS,
        })
    }

    fn unpreserve(&self, _preserved: Preserved) {}

    fn retrieve(&self, _data: u64) -> Result<u64, OpsError> {
        Err(OpsError(-95)) // outgoing only
    }

    fn finish(&self, _object: u64) {}
}

/// The outgoing kernel: preserves the scenario's state and serializes it into fresh KHO memory,
/// allocating from [`KHO_BASE`].
///
/// # Errors
///
/// Any refusal of the registry, the tracker, the graph writer or the memory.
pub fn outgoing(scenario: &Scenario, version: AbiVersion) -> Result<KhoMemory, SimError> {
    outgoing_at(scenario, version, KHO_BASE)
}

/// [`outgoing`], with the KHO allocations starting at the first page boundary at or above
/// `base` instead of [`KHO_BASE`] (`luo write --base`: records placed inside a guest's RAM).
///
/// # Errors
///
/// As [`outgoing`].
pub fn outgoing_at(
    scenario: &Scenario,
    version: AbiVersion,
    base: u64,
) -> Result<KhoMemory, SimError> {
    // Capacities are compile-time, as in a kernel; pick the smallest class that fits, which
    // leaves headroom for hot-plugged devices as a kernel sizing at boot would.
    if scenario.flbs.len() <= 8 {
        outgoing_flbs::<8>(scenario, version, base)
    } else if scenario.flbs.len() <= MAX_FLBS {
        outgoing_flbs::<MAX_FLBS>(scenario, version, base)
    } else {
        Err(SimError::Limit(format!(
            "{} FLBs: the registry holds at most {MAX_FLBS}",
            scenario.flbs.len()
        )))
    }
}

fn outgoing_flbs<const F: usize>(
    scenario: &Scenario,
    version: AbiVersion,
    base: u64,
) -> Result<KhoMemory, SimError> {
    match scenario.devices.len() {
        0..=16 => outgoing_with::<F, 16>(scenario, version, base),
        17..=256 => outgoing_with::<F, 256>(scenario, version, base),
        257..=4096 => outgoing_with::<F, 4096>(scenario, version, base),
        4097..=MAX_DEVICES => outgoing_with::<F, MAX_DEVICES>(scenario, version, base),
        n => Err(SimError::Limit(format!(
            "{n} devices: the simulation preserves at most {MAX_DEVICES}"
        ))),
    }
}

/// Bytes of one block of a chained PCI table (ABI 1.1): a page, as KHO allocates.
pub const PCI_BLOCK_BYTES: usize = 4096;

/// Entry slots in one page-sized block of an ABI 1.1 PCI table.
fn pci_block_capacity() -> u32 {
    let header = PciTable::len_for(AbiVersion::V1_1, Capacity::new(0)).unwrap_or(0);
    let entry = PciTable::len_for(AbiVersion::V1_1, Capacity::new(1))
        .unwrap_or(0)
        .saturating_sub(header);
    u32::try_from(PCI_BLOCK_BYTES.saturating_sub(header) / entry.max(1)).unwrap_or(0)
}

fn outgoing_with<const F: usize, const N: usize>(
    scenario: &Scenario,
    version: AbiVersion,
    base: u64,
) -> Result<KhoMemory, SimError> {
    // ABI 1.0: one table sized for the tracker's capacity, allocated at the first preserve.
    // ABI 1.1: a page-sized first block then, and more pages at kexec as the devices need
    // them: capacity grows without reallocating (hot-plug, upstream's pain point 12).
    let first_block_len = match version {
        AbiVersion::V1_0 => PciTracker::<N>::record_len(AbiVersion::V1_0),
        AbiVersion::V1_1 => PCI_BLOCK_BYTES,
    };
    let mem = Arc::new(Mutex::new(KhoMemory::new()));
    let flbs: FlbRegistry<F> = FlbRegistry::new();
    let tracker: Box<PciTracker<N>> = Box::new(const { PciTracker::new() });
    let mut pci_ops: Option<&'static OutgoingFlb> = None;
    for spec in &scenario.flbs {
        // The registry wants 'static names and callbacks, as a kernel's would be.
        let name: &'static str = Box::leak(spec.name.clone().into_boxed_str());
        let ops: &'static OutgoingFlb = Box::leak(Box::new(OutgoingFlb {
            handle: spec.handle,
            base,
            pci_table_len: first_block_len,
            mem: Arc::clone(&mem),
            data: AtomicU64::new(0),
        }));
        if spec.handle.is_none() {
            pci_ops = Some(ops);
        }
        flbs.register(name, ops).map_err(flb_err(name))?;
        if spec.name != PCI_FLB {
            for _ in 0..spec.files {
                flbs.preserve_file(name).map_err(flb_err(name))?;
            }
        }
    }
    // Each preserve of a device is one preserved VFIO device file of the PCI FLB.
    for (&address, &refcount) in &scenario.devices {
        for _ in 0..refcount {
            flbs.preserve_file(PCI_FLB).map_err(flb_err(PCI_FLB))?;
            match (version, scenario.identities.get(&address)) {
                (AbiVersion::V1_0, _) | (_, None) => tracker.preserve(address)?,
                (_, Some(&(identity, flags))) => {
                    tracker.preserve_device(address, Some(identity), flags)?
                }
            };
        }
    }

    let generation = scenario.generation;
    // The callbacks keep their handle on the memory; serialization runs with none of them.
    let mut mem = mem.lock().unwrap_or_else(PoisonError::into_inner);
    let mem = &mut *mem;
    let mut directory = Vec::new();
    let flb_addr = mem.alloc(base, FlbRegistry::<F>::record_len(version))?;
    directory.push(
        flbs.serialize(
            mem,
            version,
            PhysAddr::new(flb_addr),
            Generation::new(generation),
        )
        .map_err(flb_err("(table)"))?,
    );
    if let Some(ops) = pci_ops.filter(|_| !scenario.devices.is_empty()) {
        // The PCI FLB's data is the table's address: the PCI core writes the table there.
        let pci_addr = ops.data.load(Ordering::Relaxed);
        let entry = match version {
            AbiVersion::V1_0 => tracker.serialize(
                mem,
                version,
                PhysAddr::new(pci_addr),
                Generation::new(generation),
            )?,
            AbiVersion::V1_1 => {
                let blocks = pci_blocks(mem, pci_addr, scenario.devices.len())?;
                tracker.serialize_blocks(mem, version, &blocks, Generation::new(generation))?
            }
        };
        directory.push(entry);
    }
    let capacity = u32::try_from(directory.len()).unwrap_or(u32::MAX);
    let root_len = Root::len_for(version, Capacity::new(capacity)).unwrap_or(0);
    let root_addr = mem.alloc(base, root_len)?;
    let root_len = write_root(
        mem,
        version,
        PhysAddr::new(root_addr),
        Generation::new(generation),
        &directory,
    )?;
    mem.add_name(KHO_NAME, root_addr, root_len as u64)?;
    Ok(mem.clone())
}

/// The blocks of a chained PCI table for `devices` devices: the page allocated at the first
/// preserve, then as many more as needed, each above the one before (a chain is ascending).
fn pci_blocks(
    mem: &mut KhoMemory,
    first: u64,
    devices: usize,
) -> Result<Vec<BlockPlace>, SimError> {
    let capacity = pci_block_capacity();
    let mut blocks = vec![BlockPlace {
        phys: PhysAddr::new(first),
        capacity,
    }];
    let mut room = capacity as usize;
    while room < devices {
        let after = blocks.last().map_or(first, |b| b.phys.raw()) + PCI_BLOCK_BYTES as u64;
        blocks.push(BlockPlace {
            phys: PhysAddr::new(mem.alloc(after, PCI_BLOCK_BYTES)?),
            capacity,
        });
        room += capacity as usize;
    }
    Ok(blocks)
}

/// Serializes a wire version as its `major.minor` string.
#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)] // the signature serde asks for
fn serialize_version<S: serde::Serializer>(
    version: &Option<AbiVersion>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match version {
        Some(v) => serializer.collect_str(v),
        None => serializer.serialize_none(),
    }
}

/// What the incoming kernel saw and did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Incoming {
    /// The handover's generation.
    pub generation: u64,
    /// Every record: kind, physical address, length, stored CRC.
    pub records: Vec<RecordInfo>,
    /// Wall time of `Handover::load` (decode and validate every record).
    pub validation: Duration,
    /// Devices found in the PCI table.
    pub devices_found: usize,
    /// Preserved devices `is_preserved` confirmed.
    pub devices_confirmed: usize,
    /// Absent devices `is_preserved` denied.
    pub absent_denied: usize,
    /// Wire version of the PCI table, when there is one (JSON: `"1.0"` or `"1.1"`).
    #[serde(serialize_with = "serialize_version")]
    pub abi: Option<AbiVersion>,
    /// Preserved devices whose recorded identity matched the probed one (ABI 1.1).
    pub identities_matched: usize,
    /// FLBs whose `retrieve` ran and returned the expected object.
    pub flbs_retrieved: usize,
    /// FLBs whose `finish` ran exactly once, after their last file.
    pub flbs_finished: usize,
    /// Incoming FLB entries no registered FLB claimed.
    pub unclaimed: Vec<String>,
    /// Every difference between what came in and what went out; empty on success.
    pub mismatches: Vec<String>,
}

/// One record of the handover.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecordInfo {
    /// Record kind.
    pub kind: String,
    /// Physical address.
    pub phys: u64,
    /// Length in bytes (of the first block, for a chained table).
    pub len: u64,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Blocks of a chained table (1 for a record in one piece).
    pub blocks: u32,
    /// Bytes of every block together (`len` for a record in one piece).
    pub total_len: u64,
}

/// A table's blocks, and the bytes they hold together.
fn extent<E: Entry>(table: Table<'_, E>) -> (u32, u64) {
    let bytes = table
        .blocks()
        .map(|b| u64::from(b.record.header().record_len()));
    (table.block_count(), bytes.sum())
}

/// An FLB of the incoming kernel: `retrieve` checks the data handle against the expectation
/// and `finish` counts itself; the PCI FLB's `finish` finishes the incoming PCI state.
struct IncomingFlb {
    expected: u64,
    pci: Option<&'static PciIncoming<'static>>,
    retrieves: AtomicU64,
    finishes: AtomicU64,
}

impl FlbOps for IncomingFlb {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        Err(OpsError(-95)) // incoming only
    }

    fn unpreserve(&self, _preserved: Preserved) {}

    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        self.retrieves.fetch_add(1, Ordering::SeqCst);
        if data == self.expected {
            Ok(data)
        } else {
            Err(OpsError(-22))
        }
    }

    fn finish(&self, _object: u64) {
        self.finishes.fetch_add(1, Ordering::SeqCst);
        if let Some(pci) = self.pci {
            // The PCI FLB's object is the PCI table: nothing may read it after this.
            let _ = pci.finish();
        }
    }
}

/// The incoming kernel, started from `mem` alone (it checks against the scenario regenerated
/// from the seed, which is all the two processes share besides the image).
///
/// `mem` is `'static` because FLB callbacks and the PCI state live as long as a kernel's do.
///
/// # Errors
///
/// [`SimError::NoHandover`] when nothing is registered under the KHO name; a graph error when
/// any record is invalid; registry errors. Differences in content are not errors: they are
/// listed in [`Incoming::mismatches`].
pub fn incoming(mem: &'static KhoMemory, scenario: &Scenario) -> Result<Incoming, SimError> {
    let blob = mem.lookup(KHO_NAME).ok_or(SimError::NoHandover)?;
    let root_len = usize::try_from(blob.len).map_err(|_| SimError::NoHandover)?;
    let start = Instant::now();
    let handover = Handover::load(mem, PhysAddr::new(blob.phys), root_len)?;
    let validation = start.elapsed();

    let mut records = vec![RecordInfo {
        kind: RecordKind::Root.to_string(),
        phys: blob.phys,
        len: blob.len,
        crc: handover.root().header().crc(),
        blocks: 1,
        total_len: blob.len,
    }];
    for entry in handover.root().entries() {
        let len = u64::from(entry.length());
        let (blocks, total_len) = match entry.kind() {
            Some(RecordKind::PciTable) => handover.pci_table().map_or((1, len), extent),
            Some(RecordKind::FlbTable) => handover.flb_table().map_or((1, len), extent),
            _ => (1, len),
        };
        records.push(RecordInfo {
            blocks,
            total_len,
            kind: entry.kind().map_or_else(
                || format!("unknown {:#010x}", entry.magic()),
                |k| k.to_string(),
            ),
            phys: entry.phys_addr().raw(),
            len,
            crc: entry.crc(),
        });
    }
    let mut mismatches = Vec::new();
    if handover.generation().get() != scenario.generation {
        mismatches.push(format!(
            "generation: came in {}, went out {}",
            handover.generation(),
            scenario.generation
        ));
    }

    let (pci, pci_addr, pci_report) = check_pci(&handover, scenario, &mut mismatches)?;
    let flb_report = check_flbs(&handover, scenario, pci, pci_addr, &mut mismatches)?;
    if !scenario.devices.is_empty()
        && pci.is_preserved(PciAddress::from_key(0)) != Err(PciError::Finished)
    {
        mismatches.push("PCI state still answers after the PCI FLB finished".into());
    }
    if !flb_report.unclaimed.is_empty() {
        mismatches.push(format!(
            "unclaimed FLBs: {}",
            flb_report.unclaimed.join(", ")
        ));
    }
    Ok(Incoming {
        generation: handover.generation().get(),
        records,
        validation,
        devices_found: pci_report.found,
        devices_confirmed: pci_report.confirmed,
        absent_denied: pci_report.denied,
        abi: pci_report.version,
        identities_matched: pci_report.identities,
        flbs_retrieved: flb_report.retrieved,
        flbs_finished: flb_report.finished,
        unclaimed: flb_report.unclaimed,
        mismatches,
    })
}

struct PciReport {
    version: Option<AbiVersion>,
    found: usize,
    confirmed: usize,
    denied: usize,
    identities: usize,
}

/// Loads the PCI table into the incoming PCI state and asks it about every device.
fn check_pci(
    handover: &Handover<'static>,
    scenario: &Scenario,
    mismatches: &mut Vec<String>,
) -> Result<(&'static PciIncoming<'static>, u64, PciReport), SimError> {
    // PCI: every preserved device is preserved, with its refcount; absent ones are not.
    let pci: &'static PciIncoming<'static> = Box::leak(Box::new(PciIncoming::new()));
    let mut pci_addr = 0;
    let mut found = BTreeMap::new();
    if let Some(table) = handover.pci_table() {
        pci_addr = handover
            .root()
            .find(RecordKind::PciTable)
            .map_or(0, |e| e.phys_addr().raw());
        for e in table.iter() {
            found.insert(e.address(), e.refcount());
        }
        pci.load(table)?;
    }
    if found != scenario.devices {
        mismatches.push(format!(
            "PCI devices: {} came in, {} went out, contents differ",
            found.len(),
            scenario.devices.len()
        ));
    }
    let version = handover.pci_table().map(|t| t.version());
    let ask = |a: PciAddress| pci.is_preserved(a).unwrap_or(false);
    let confirmed = scenario.devices.keys().filter(|&&a| ask(a)).count();
    let identities = check_identities(pci, scenario, version, mismatches);
    let denied = scenario.absent.iter().filter(|&&a| !ask(a)).count();
    if confirmed != scenario.devices.len() || denied != scenario.absent.len() {
        mismatches.push(format!(
            "is_preserved: {confirmed}/{} preserved confirmed, {denied}/{} absent denied",
            scenario.devices.len(),
            scenario.absent.len()
        ));
    }

    Ok((
        pci,
        pci_addr,
        PciReport {
            version,
            found: found.len(),
            confirmed,
            denied,
            identities,
        },
    ))
}

/// Probes every preserved device as the incoming kernel's PCI core would: with the identity
/// found at its address now. From ABI 1.1 on each must match what was recorded, and a device
/// swapped for another must be refused; an ABI 1.0 table records none, so each is unknown.
/// Returns the matches.
fn check_identities(
    pci: &PciIncoming<'_>,
    scenario: &Scenario,
    version: Option<AbiVersion>,
    mismatches: &mut Vec<String>,
) -> usize {
    let mut matched = 0;
    for (&address, &(identity, _)) in &scenario.identities {
        let expected_match = version != Some(AbiVersion::V1_0);
        match pci.check_identity(address, identity) {
            Ok(IdentityMatch::Match) if expected_match => matched += 1,
            Ok(IdentityMatch::Unknown) if !expected_match => {}
            other => mismatches.push(format!("identity of {address}: {other:?}")),
        }
    }
    // A different device (the same vendor, another device id) now at the first address.
    if let (Some(AbiVersion::V1_1), Some((&address, &(identity, _)))) =
        (version, scenario.identities.iter().next())
    {
        let other = PciIdentity::new(
            identity.vendor_id(),
            identity.device_id() ^ 1,
            identity.class_code(),
        );
        let caught = other.map(|other| pci.check_identity(address, other));
        if !matches!(caught, Ok(Ok(IdentityMatch::Mismatch { .. }))) {
            mismatches.push(format!(
                "a swapped device at {address} was not refused: {caught:?}"
            ));
        }
    }
    matched
}

struct FlbReport {
    retrieved: usize,
    finished: usize,
    unclaimed: Vec<String>,
}

/// Registers the scenario's FLBs, loads the FLB table, retrieves each FLB and finishes each of
/// its files, checking that the callbacks ran exactly once.
fn check_flbs(
    handover: &Handover<'static>,
    scenario: &Scenario,
    pci: &'static PciIncoming<'static>,
    pci_addr: u64,
    mismatches: &mut Vec<String>,
) -> Result<FlbReport, SimError> {
    // FLBs: register what this kernel knows, load the table, retrieve each, finish each file.
    let flbs: &'static FlbRegistry<MAX_FLBS> = Box::leak(Box::new(FlbRegistry::new()));
    let mut ops = Vec::new();
    for spec in &scenario.flbs {
        let name: &'static str = Box::leak(spec.name.clone().into_boxed_str());
        let op: &'static IncomingFlb = Box::leak(Box::new(IncomingFlb {
            expected: spec.handle.unwrap_or(pci_addr),
            pci: spec.handle.is_none().then_some(pci),
            retrieves: AtomicU64::new(0),
            finishes: AtomicU64::new(0),
        }));
        flbs.register(name, op).map_err(flb_err(name))?;
        ops.push((spec, op));
    }
    if let Some(table) = handover.flb_table() {
        flbs.load(&table).map_err(flb_err("(table)"))?;
    }
    let unclaimed: Vec<String> = flbs.unclaimed().map(|e| e.name().to_owned()).collect();
    let mut flbs_retrieved = 0;
    let mut flbs_finished = 0;
    for (spec, op) in &ops {
        match flbs.peek(&spec.name) {
            Ok(entry) if entry.file_count() == spec.files => {}
            Ok(entry) => mismatches.push(format!(
                "FLB {}: {} files came in, {} went out",
                spec.name,
                entry.file_count(),
                spec.files
            )),
            Err(e) => mismatches.push(format!("FLB {}: {e}", spec.name)),
        }
        match flbs.get(&spec.name) {
            Ok(guard) if guard.object() == op.expected => flbs_retrieved += 1,
            Ok(guard) => mismatches.push(format!(
                "FLB {}: object {:#x}, expected {:#x}",
                spec.name,
                guard.object(),
                op.expected
            )),
            Err(e) => mismatches.push(format!("FLB {}: get: {e}", spec.name)),
        }
        for _ in 0..spec.files {
            if let Err(e) = flbs.finish_file(&spec.name) {
                mismatches.push(format!("FLB {}: finish_file: {e}", spec.name));
                break;
            }
        }
        let finished_once = op.finishes.load(Ordering::SeqCst) == 1
            && op.retrieves.load(Ordering::SeqCst) == 1
            && matches!(flbs.get(&spec.name), Err(FlbError::Finished));
        if finished_once {
            flbs_finished += 1;
        } else {
            mismatches.push(format!(
                "FLB {}: retrieve ran {} times, finish {} times",
                spec.name,
                op.retrieves.load(Ordering::SeqCst),
                op.finishes.load(Ordering::SeqCst)
            ));
        }
    }
    Ok(FlbReport {
        retrieved: flbs_retrieved,
        finished: flbs_finished,
        unclaimed,
    })
}
