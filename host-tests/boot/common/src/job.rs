//! The stub's job, step by step (see the crate docs), and the state each pass keeps in statics.

use core::cell::UnsafeCell;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};

use heapless::Vec;
use liveupdate_abi::{
    AbiVersion, DirEntry, FlbEntry, FlbFlags, FlbTable, Generation, IdentityMatch, PciAddress,
    PciEntry, PciFlags, PciIdentity, PciTable, RecordKind, Root, Table,
};
use liveupdate_core::flb::{FlbError, FlbOps, FlbRegistry, OpsError, Preserved};
use liveupdate_core::graph::{GraphError, Handover, write_root};
use liveupdate_core::mem::{DirectMap, DirectMapMut, MemError, PhysAddr, PhysMem};
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};

use crate::locator::{self, LocatorError};
use crate::smp::{self, Smp};
use crate::stack::{HighWater, measure};
use crate::{Arch, Image, MAX_DEVICES, MAX_FLBS, PASSES, Status, say};

/// Devices the other CPUs cycle through, and absent devices asked about.
const SAMPLE: usize = 256;
/// Calls of one accessor measured (the largest mark is reported).
const MEASURED_CALLS: usize = 64;
/// Files the outgoing side preserves per FLB at most.
const MAX_FILES: u64 = 1 << 16;

/// Bytes of the scratch area the outgoing side serializes into.
const SCRATCH_LEN: usize = 64 * 1024;
/// Where the outgoing PCI table starts in the scratch area (the FLB table is at 0).
const PCI_AT: usize = 8 * 1024;

/// RAM for the outgoing records: written once per pass, by the boot CPU only.
#[repr(C, align(4096))]
struct Scratch(UnsafeCell<[u8; SCRATCH_LEN]>);

// SAFETY: the bytes are only reached through the one `DirectMapMut` (then `DirectMap`) that
// `outgoing` makes after winning `Session::scratch_taken`, on one CPU.
unsafe impl Sync for Scratch {}

/// One incoming FLB's callbacks and what they observed.
pub(crate) struct StubFlb {
    pass: AtomicUsize,
    is_pci: AtomicBool,
    /// The data handle the table holds: `retrieve` must get it, guards must hold it.
    pub(crate) expected: AtomicU64,
    /// Files the boot CPU has not finished yet (decremented before each `finish_file`).
    files_left: AtomicU64,
    retrieves: AtomicU32,
    finishes: AtomicU32,
    /// Set first thing in `finish`.
    pub(crate) finish_began: AtomicBool,
    /// Guards the other CPUs hold (counted after `get`, uncounted before the drop).
    pub(crate) live_guards: AtomicU32,
    /// `finish` calls that came with files left or guards live.
    early: AtomicU32,
}

impl StubFlb {
    const fn new() -> StubFlb {
        StubFlb {
            pass: AtomicUsize::new(0),
            is_pci: AtomicBool::new(false),
            expected: AtomicU64::new(0),
            files_left: AtomicU64::new(0),
            retrieves: AtomicU32::new(0),
            finishes: AtomicU32::new(0),
            finish_began: AtomicBool::new(false),
            live_guards: AtomicU32::new(0),
            early: AtomicU32::new(0),
        }
    }
}

impl FlbOps for StubFlb {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        Err(OpsError(-95)) // incoming only
    }

    fn unpreserve(&self, _preserved: Preserved) {}

    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        self.retrieves.fetch_add(1, SeqCst);
        if data == self.expected.load(SeqCst) {
            Ok(data)
        } else {
            Err(OpsError(-22))
        }
    }

    fn finish(&self, _object: u64) {
        self.finish_began.store(true, SeqCst);
        self.finishes.fetch_add(1, SeqCst);
        if self.live_guards.load(SeqCst) != 0 || self.files_left.load(SeqCst) != 0 {
            self.early.fetch_add(1, SeqCst);
        }
        if self.is_pci.load(SeqCst)
            && let Some(s) = SESSIONS.get(self.pass.load(SeqCst))
        {
            // The PCI FLB's object is the PCI table: nothing may read it after this.
            let _ = s.pci.finish();
            s.smp.pci_closed.store(true, SeqCst);
        }
    }
}

/// One outgoing FLB: `preserve` hands out the data the next kernel gets.
struct OutFlb {
    data: AtomicU64,
    flags: AtomicU32,
}

impl OutFlb {
    const fn new() -> OutFlb {
        OutFlb {
            data: AtomicU64::new(0),
            flags: AtomicU32::new(0),
        }
    }
}

impl FlbOps for OutFlb {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        let data = self.data.load(SeqCst);
        Ok(Preserved {
            data,
            object: data,
            flags: FlbFlags::from_bits_retain(self.flags.load(SeqCst)),
        })
    }

    fn unpreserve(&self, _preserved: Preserved) {}

    fn retrieve(&self, _data: u64) -> Result<u64, OpsError> {
        Err(OpsError(-95)) // outgoing only
    }

    fn finish(&self, _object: u64) {}
}

/// What the other CPUs read: the FLB names (index = `Session::ops` index) and some devices.
pub(crate) struct Shared {
    pub(crate) names: Vec<&'static str, MAX_FLBS>,
    pub(crate) devices: Vec<PciAddress, SAMPLE>,
}

/// Everything one pass keeps, in a static, as a kernel keeps it.
pub(crate) struct Session {
    started: AtomicBool,
    map: spin::Once<DirectMap<'static>>,
    pub(crate) pci: PciIncoming<'static, MAX_DEVICES>,
    pub(crate) flbs: FlbRegistry<MAX_FLBS>,
    pub(crate) ops: [StubFlb; MAX_FLBS],
    pub(crate) shared: spin::Once<Shared>,
    pub(crate) smp: Smp,
    out_flbs: FlbRegistry<MAX_FLBS>,
    out_ops: [OutFlb; MAX_FLBS],
    tracker: PciTracker<MAX_DEVICES>,
    scratch_taken: AtomicBool,
    scratch: Scratch,
}

impl Session {
    // Only ever evaluated at compile time, for the statics: nothing is built on a stack.
    #[allow(clippy::large_stack_arrays)]
    const fn new() -> Session {
        Session {
            started: AtomicBool::new(false),
            map: spin::Once::new(),
            pci: PciIncoming::new(),
            flbs: FlbRegistry::new(),
            ops: [const { StubFlb::new() }; MAX_FLBS],
            shared: spin::Once::new(),
            smp: Smp::new(),
            out_flbs: FlbRegistry::new(),
            out_ops: [const { OutFlb::new() }; MAX_FLBS],
            tracker: PciTracker::new(),
            scratch_taken: AtomicBool::new(false),
            scratch: Scratch(UnsafeCell::new([0; SCRATCH_LEN])),
        }
    }
}

pub(crate) static SESSIONS: [Session; PASSES] = [const { Session::new() }; PASSES];
/// The pass [`run`] is in, for the other CPUs.
pub(crate) static CURRENT: AtomicUsize = AtomicUsize::new(0);

/// Why the job stopped.
#[derive(Clone, Copy, Debug)]
enum StubError {
    /// The locator was refused.
    Locator(LocatorError),
    /// The file does not fit the address space as a `DirectMap`.
    Memory(MemError),
    /// `Handover::load` refused the handover.
    Graph(GraphError),
    /// The PCI accessors refused an operation.
    Pci(PciError),
    /// The FLB registry refused an operation.
    Flb { name: &'static str, error: FlbError },
    /// The handover written again was refused when read back.
    Outgoing(GraphError),
    /// More than the stub's static capacity.
    Limit {
        what: &'static str,
        count: u64,
        max: u64,
    },
    /// `run` called twice for a pass, or for a pass that does not exist.
    Pass(usize),
}

impl StubError {
    fn status(self) -> Status {
        match self {
            StubError::Locator(_) | StubError::Memory(_) | StubError::Graph(_) => Status::Refused,
            _ => Status::Mismatch,
        }
    }
}

impl fmt::Display for StubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StubError::Locator(e) => fmt::Display::fmt(e, f),
            StubError::Memory(e) => write!(f, "flat file: {e}"),
            StubError::Graph(e) => fmt::Display::fmt(e, f),
            StubError::Pci(e) => write!(f, "PCI: {e}"),
            StubError::Flb { name, error } => write!(f, "FLB {name}: {error}"),
            StubError::Outgoing(e) => write!(f, "outgoing handover read back: {e}"),
            StubError::Limit { what, count, max } => {
                write!(f, "stub limit: {count} {what}, this stub handles {max}")
            }
            StubError::Pass(pass) => write!(f, "pass {pass}: run already or no such pass"),
        }
    }
}

impl From<PciError> for StubError {
    fn from(e: PciError) -> Self {
        StubError::Pci(e)
    }
}

fn flb_err(name: &'static str) -> impl FnOnce(FlbError) -> StubError {
    move |error| StubError::Flb { name, error }
}

/// The console, and the count of mismatches reported on it.
struct Out<'c> {
    con: &'c mut dyn Write,
    mismatches: u32,
}

impl Out<'_> {
    fn mismatch(&mut self, what: fmt::Arguments<'_>) {
        self.mismatches += 1;
        say!(self.con, "mismatch {what}");
    }
}

/// The high-water marks of each entry point, largest of its measured calls.
struct Marks<A: 'static + ?Sized> {
    arch: &'static A,
    list: Vec<(&'static str, HighWater), 24>,
}

impl<A: Arch + ?Sized> Marks<A> {
    /// Runs `f` as entry point `name`, keeping its high-water mark.
    fn run<R>(&mut self, name: &'static str, f: impl FnOnce() -> R) -> R {
        let (result, mark) = measure(self.arch, f);
        if let Some(mark) = mark {
            match self.list.iter_mut().find(|(n, _)| *n == name) {
                Some((_, m)) => *m = m.max(mark),
                None => {
                    let _ = self.list.push((name, mark));
                }
            }
        }
        result
    }
}

/// Runs the stub's job once (pass `pass`, 0 to [`PASSES`] - 1, each at most once) on the
/// flat handover `image`, printing the report on `con`.
///
/// The other CPUs, if [`Arch::start_secondaries`] starts any, call [`crate::secondary`].
pub fn run<A: Arch + ?Sized>(
    con: &mut dyn Write,
    image: Image,
    arch: &'static A,
    pass: usize,
) -> Status {
    let mut start = heapless::String::<96>::new();
    let _ = arch.describe(&mut start);
    say!(
        con,
        "start arch={} cpus={}{start}",
        arch.name(),
        arch.cpus()
    );
    let mut out = Out { con, mismatches: 0 };
    let mut marks = Marks {
        arch,
        list: Vec::new(),
    };
    let result = match SESSIONS.get(pass) {
        Some(s) if !s.started.swap(true, SeqCst) => {
            CURRENT.store(pass, SeqCst);
            job(&mut out, image, arch, s, &mut marks)
        }
        _ => Err(StubError::Pass(pass)),
    };
    for (name, mark) in &marks.list {
        say!(
            out.con,
            "stack entry={name} bytes={}{}",
            mark.bytes,
            if mark.saturated { " saturated=1" } else { "" }
        );
    }
    if let Some(s) = SESSIONS.get(pass) {
        for cpu in 1..crate::MAX_CPUS {
            if let Some(mark) = smp::mark(s, cpu) {
                say!(
                    out.con,
                    "stack entry=smp-worker cpu={cpu} bytes={}{}",
                    mark.bytes,
                    if mark.saturated { " saturated=1" } else { "" }
                );
            }
        }
    }
    match result {
        Ok(()) if out.mismatches == 0 => {
            say!(out.con, "result=ok");
            Status::Ok
        }
        Ok(()) => {
            say!(out.con, "result=mismatch mismatches={}", out.mismatches);
            Status::Mismatch
        }
        Err(e) => {
            say!(out.con, "result=error error=\"{e}\"");
            e.status()
        }
    }
}

fn kind_name(magic: u32) -> heapless::String<24> {
    let mut s = heapless::String::new();
    let _ = match RecordKind::from_magic(magic) {
        Some(RecordKind::Root) => s.write_str("root"),
        Some(RecordKind::FlbTable) => s.write_str("flb-table"),
        Some(RecordKind::PciTable) => s.write_str("pci-table"),
        _ => write!(s, "unknown-{magic:#010x}"),
    };
    s
}

fn job<A: Arch + ?Sized>(
    out: &mut Out<'_>,
    image: Image,
    arch: &'static A,
    s: &'static Session,
    marks: &mut Marks<A>,
) -> Result<(), StubError> {
    // 1. The locator, read through a map of everything available from the base.
    let offset = image
        .virt
        .wrapping_sub(usize::try_from(image.base).unwrap_or(usize::MAX));
    let available = image.available as u64;
    if image.available < locator::LEN {
        return Err(StubError::Locator(LocatorError::TooShort { available }));
    }
    // SAFETY: `Image::new`'s contract: [virt, virt + available) is mapped, readable, exposed,
    // and no longer written; physical `base` is at `virt`, so the offset is `virt - base`.
    let probe = unsafe { DirectMap::new(offset, PhysAddr::new(image.base), image.available) }
        .map_err(StubError::Memory)?;
    let head = probe
        .read(PhysAddr::new(image.base), locator::LEN)
        .map_err(StubError::Memory)?;
    let mut copy = [0u8; locator::LEN];
    copy.copy_from_slice(head);
    let loc = locator::parse(&copy, image.base, available).map_err(StubError::Locator)?;
    say!(
        out.con,
        "locator base={} len={} root={} root_len={}",
        loc.base,
        loc.len,
        loc.root,
        loc.root_len
    );
    let len = usize::try_from(loc.len).unwrap_or(usize::MAX);
    let map: &'static DirectMap<'static> = s
        .map
        // SAFETY: as above; the locator's length is within what is available.
        .try_call_once(|| unsafe { DirectMap::new(offset, loc.base, len) })
        .map_err(StubError::Memory)?;

    // 2. The whole graph, validated once.
    let root_len = usize::try_from(loc.root_len).unwrap_or(usize::MAX);
    let handover = marks
        .run("Handover::load", || Handover::load(map, loc.root, root_len))
        .map_err(StubError::Graph)?;
    report_records(out, &handover, loc.root);
    measure_decoders(out, map, &handover, marks);
    say!(out.con, "generation={}", handover.generation().get());

    // 3. The incoming side.
    let shared_devices = pci_checks(out, s, &handover, marks)?;
    let names = flb_load(out, s, &handover, marks)?;
    s.shared.call_once(|| Shared {
        names: names.clone(),
        devices: shared_devices,
    });
    flb_finish(out, arch, s, &names, &handover, marks)?;

    // 4. The outgoing side.
    outgoing(out, s, &handover, marks)
}

fn report_records(out: &mut Out<'_>, handover: &Handover<'static>, root: PhysAddr) {
    let r = handover.root();
    say!(
        out.con,
        "record kind=root phys={root} len={} crc={:#010x} blocks=1",
        r.as_bytes().len(),
        r.header().crc()
    );
    for e in r.entries() {
        let blocks = match e.kind() {
            Some(RecordKind::FlbTable) => handover.flb_table().map_or(1, |t| t.block_count()),
            Some(RecordKind::PciTable) => handover.pci_table().map_or(1, |t| t.block_count()),
            _ => 1,
        };
        say!(
            out.con,
            "record kind={} phys={} len={} crc={:#010x} blocks={blocks}",
            kind_name(e.magic()),
            e.phys_addr(),
            e.length(),
            e.crc()
        );
    }
}

/// The decoders alone, on the bytes `Handover::load` already validated: the record decoder
/// of each kind (a table's first block, when it is not chained) and `Table::decode` (every
/// block of the chain).
fn measure_decoders<A: Arch + ?Sized>(
    out: &mut Out<'_>,
    map: &'static DirectMap<'static>,
    handover: &Handover<'static>,
    marks: &mut Marks<A>,
) {
    let root = handover.root();
    if marks
        .run("Root::decode", || Root::decode(root.as_bytes()))
        .is_err()
    {
        out.mismatch(format_args!("what=decode kind=root"));
    }
    for e in root.entries() {
        let (phys, len) = (e.phys_addr(), e.length() as usize);
        let Ok(bytes) = map.read(phys, len) else {
            out.mismatch(format_args!("what=read-record phys={phys}"));
            continue;
        };
        let (record, table) = match e.kind() {
            Some(RecordKind::FlbTable) => {
                let chained = handover.flb_table().is_some_and(|t| t.block_count() > 1);
                let record = (!chained).then(|| {
                    marks
                        .run("FlbTable::decode", || FlbTable::decode(bytes))
                        .is_ok()
                });
                let table = marks
                    .run("Table::decode<flb>", || {
                        Table::<FlbEntry>::decode(map, phys, len)
                    })
                    .is_ok();
                (record, table)
            }
            Some(RecordKind::PciTable) => {
                let chained = handover.pci_table().is_some_and(|t| t.block_count() > 1);
                let record = (!chained).then(|| {
                    marks
                        .run("PciTable::decode", || PciTable::decode(bytes))
                        .is_ok()
                });
                let table = marks
                    .run("Table::decode<pci>", || {
                        Table::<PciEntry>::decode(map, phys, len)
                    })
                    .is_ok();
                (record, table)
            }
            _ => (None, true),
        };
        if record == Some(false) || !table {
            out.mismatch(format_args!("what=decode kind={}", kind_name(e.magic())));
        }
    }
}

/// An address near `a` that `table` does not hold (linear search: the oracle is not the code
/// under test).
fn absent_near(table: &Table<'static, PciEntry>, a: PciAddress) -> Option<PciAddress> {
    (0..16).find_map(|bit| {
        let candidate = PciAddress::from_parts(a.domain, a.bdf ^ (1 << bit));
        (!table.iter().any(|e| e.address() == candidate)).then_some(candidate)
    })
}

/// Loads the PCI table and asks about every preserved device and as many absent ones.
/// Returns the devices the other CPUs will ask about.
fn pci_checks<A: Arch + ?Sized>(
    out: &mut Out<'_>,
    s: &'static Session,
    handover: &Handover<'static>,
    marks: &mut Marks<A>,
) -> Result<Vec<PciAddress, SAMPLE>, StubError> {
    let mut sample = Vec::new();
    let Some(table) = handover.pci_table() else {
        if s.pci.is_preserved(PciAddress::from_key(0)) != Err(PciError::NoIncomingData) {
            out.mismatch(format_args!("what=pci-without-table"));
        }
        say!(
            out.con,
            "pci devices=0 preserved=0/0 absent_denied=0/0 identities=0"
        );
        return Ok(sample);
    };
    if table.len() > MAX_DEVICES as u64 {
        return Err(StubError::Limit {
            what: "PCI devices",
            count: table.len(),
            max: MAX_DEVICES as u64,
        });
    }
    marks.run("PciIncoming::load", || s.pci.load(table))?;
    let (mut preserved, mut identities, mut devices) = (0u64, 0u64, 0u64);
    for (i, d) in table.items().enumerate() {
        devices += 1;
        let _ = sample.push(d.address);
        let answer = if i < MEASURED_CALLS {
            marks.run("is_preserved", || s.pci.is_preserved(d.address))
        } else {
            s.pci.is_preserved(d.address)
        };
        if answer == Ok(true) {
            preserved += 1;
        } else {
            out.mismatch(format_args!(
                "what=is_preserved device={} answer={answer:?}",
                d.address
            ));
        }
        match s.pci.device(d.address) {
            Ok(Some(found)) if found == d => {}
            other => out.mismatch(format_args!(
                "what=device device={} answer={other:?}",
                d.address
            )),
        }
        let expected = if d.identity.is_some() {
            IdentityMatch::Match
        } else {
            IdentityMatch::Unknown
        };
        let probed = d
            .identity
            .or(PciIdentity::new(0x1af4, 0x1000, 0x02_00_00).ok());
        if let Some(probed) = probed {
            let answer = if i < MEASURED_CALLS {
                marks.run("check_identity", || s.pci.check_identity(d.address, probed))
            } else {
                s.pci.check_identity(d.address, probed)
            };
            if answer == Ok(expected) {
                identities += u64::from(expected == IdentityMatch::Match);
            } else {
                out.mismatch(format_args!(
                    "what=check_identity device={} answer={answer:?}",
                    d.address
                ));
            }
        }
    }
    // Another device (same vendor, another device id) at a preserved address is refused.
    if let Some(d) = table.items().find(|d| d.identity.is_some())
        && let Some(id) = d.identity
        && let Ok(other) = PciIdentity::new(id.vendor_id(), id.device_id() ^ 1, id.class_code())
        && !matches!(
            s.pci.check_identity(d.address, other),
            Ok(IdentityMatch::Mismatch { .. })
        )
    {
        out.mismatch(format_args!("what=swapped-device device={}", d.address));
    }
    let (mut absent, mut denied) = (0u64, 0u64);
    for d in table.items().take(SAMPLE) {
        let Some(a) = absent_near(&table, d.address) else {
            continue;
        };
        absent += 1;
        match s.pci.is_preserved(a) {
            Ok(false) => denied += 1,
            answer => out.mismatch(format_args!("what=absent device={a} answer={answer:?}")),
        }
        let probed = d.identity.or(PciIdentity::new(0x1af4, 0x1000, 0).ok());
        if let Some(probed) = probed
            && s.pci.check_identity(a, probed) != Err(PciError::NotPreserved { address: a })
        {
            out.mismatch(format_args!("what=absent-identity device={a}"));
        }
    }
    say!(
        out.con,
        "pci devices={devices} preserved={preserved}/{devices} absent_denied={denied}/{absent} identities={identities} version={}",
        table.version()
    );
    Ok(sample)
}

/// Registers one FLB per name of the FLB table, loads the table, checks each entry and
/// retrieves each FLB once. Returns the names, in table order.
fn flb_load<A: Arch + ?Sized>(
    out: &mut Out<'_>,
    s: &'static Session,
    handover: &Handover<'static>,
    marks: &mut Marks<A>,
) -> Result<Vec<&'static str, MAX_FLBS>, StubError> {
    let mut names = Vec::new();
    let Some(table) = handover.flb_table() else {
        return Ok(names);
    };
    if table.len() > MAX_FLBS as u64 {
        return Err(StubError::Limit {
            what: "FLBs",
            count: table.len(),
            max: MAX_FLBS as u64,
        });
    }
    let pci_phys = handover
        .root()
        .find(RecordKind::PciTable)
        .map(DirEntry::phys_addr);
    let pass = CURRENT.load(SeqCst);
    for (e, op) in table.iter().zip(&s.ops) {
        let name: &'static str = e.name();
        op.pass.store(pass, SeqCst);
        op.is_pci.store(name == "pci", SeqCst);
        op.expected.store(e.data(), SeqCst);
        op.files_left.store(e.file_count(), SeqCst);
        if name == "pci"
            && e.flags().contains(FlbFlags::DATA_IS_PHYS)
            && pci_phys.is_some_and(|p| p.raw() != e.data())
        {
            out.mismatch(format_args!(
                "what=pci-flb-data data={:#x} table={pci_phys:?}",
                e.data()
            ));
        }
        s.flbs.register(name, op).map_err(flb_err(name))?;
        let _ = names.push(name);
    }
    marks
        .run("FlbRegistry::load", || s.flbs.load(&table))
        .map_err(flb_err("(table)"))?;
    let unclaimed = s.flbs.unclaimed().count();
    if unclaimed != 0 {
        out.mismatch(format_args!("what=unclaimed-flbs count={unclaimed}"));
    }
    for ((e, name), op) in table.iter().zip(&names).zip(&s.ops) {
        match s.flbs.peek(name) {
            Ok(p) if p == *e => {}
            other => out.mismatch(format_args!("what=peek flb={name} answer={other:?}")),
        }
        let object = marks
            .run("FlbRegistry::get", || s.flbs.get(name).map(|g| g.object()))
            .map_err(flb_err(name))?;
        if object != op.expected.load(SeqCst) {
            out.mismatch(format_args!(
                "what=flb-object flb={name} object={object:#x}"
            ));
        }
    }
    Ok(names)
}

/// One file of FLB `name` finished, the expectation counted down first.
fn finish_one<A: Arch + ?Sized>(
    marks: &mut Marks<A>,
    s: &'static Session,
    op: &StubFlb,
    name: &'static str,
) -> Result<u64, StubError> {
    op.files_left.fetch_sub(1, SeqCst);
    marks
        .run("finish_file", || s.flbs.finish_file(name))
        .map_err(flb_err(name))
}

/// Finishes every file of every FLB; with other CPUs, the last file of each while they
/// hammer. Then checks each `finish` ran once, after its last file and guard.
fn flb_finish<A: Arch + ?Sized>(
    out: &mut Out<'_>,
    arch: &'static A,
    s: &'static Session,
    names: &[&'static str],
    handover: &Handover<'static>,
    marks: &mut Marks<A>,
) -> Result<(), StubError> {
    for (&name, op) in names.iter().zip(&s.ops) {
        while op.files_left.load(SeqCst) > 1 {
            finish_one(marks, s, op, name)?;
        }
    }
    let others = if arch.cpus() > 1 && !names.is_empty() {
        arch.start_secondaries()
    } else {
        0
    };
    if others > 0 && !smp::warm_up(s, others) {
        out.mismatch(format_args!(
            "what=smp-start started={}/{others}",
            s.smp.started.load(SeqCst)
        ));
    }
    for (&name, op) in names.iter().zip(&s.ops) {
        if op.files_left.load(SeqCst) == 1 {
            let left = finish_one(marks, s, op, name)?;
            if left != 0 {
                out.mismatch(format_args!("what=finish_file flb={name} left={left}"));
            }
        }
        if others > 0 && !smp::between(s, others) {
            out.mismatch(format_args!("what=smp-progress"));
        }
    }
    if others > 0 {
        if !smp::wait_refused(s, others) {
            out.mismatch(format_args!("what=smp-refusals"));
        }
        s.smp.stop.store(true, SeqCst);
        if !smp::wait(|| s.smp.done.load(SeqCst) >= others) {
            out.mismatch(format_args!(
                "what=smp-stop done={}/{others}",
                s.smp.done.load(SeqCst)
            ));
        }
    }
    let mut finish_runs = 0u32;
    for (&name, op) in names.iter().zip(&s.ops) {
        let (retrieves, finishes) = (op.retrieves.load(SeqCst), op.finishes.load(SeqCst));
        let early = op.early.load(SeqCst);
        let files = handover
            .flb_table()
            .and_then(|t| {
                t.iter()
                    .find(|e| e.name() == name)
                    .map(FlbEntry::file_count)
            })
            .unwrap_or(0);
        say!(
            out.con,
            "flb name={name} files={files} retrieved={retrieves} finished={finishes}"
        );
        if retrieves != 1 || finishes != 1 || early != 0 {
            out.mismatch(format_args!(
                "what=flb-lifecycle flb={name} retrieves={retrieves} finishes={finishes} early={early}"
            ));
        }
        if !matches!(s.flbs.get(name), Err(FlbError::Finished)) {
            out.mismatch(format_args!("what=get-after-finish flb={name}"));
        }
        if op.is_pci.load(SeqCst) || finish_runs == 0 {
            finish_runs = finishes;
        }
    }
    if handover.pci_table().is_some() && names.contains(&"pci") {
        let answer = s.pci.is_preserved(PciAddress::from_key(0));
        if answer != Err(PciError::Finished) {
            out.mismatch(format_args!("what=pci-after-finish answer={answer:?}"));
        }
    }
    if others > 0 {
        let smp = &s.smp;
        let after = smp.after_finish.load(SeqCst);
        let (wrong, errors) = (smp.wrong.load(SeqCst), smp.errors.load(SeqCst));
        let early: u32 = s.ops.iter().map(|op| op.early.load(SeqCst)).sum();
        say!(
            out.con,
            "smp cpus={} lookups={} gets={} after_finish={after} finish_runs={finish_runs} early_finish={early} busy={} wrong={wrong} errors={errors}",
            others + 1,
            smp.lookups.load(SeqCst),
            smp.gets.load(SeqCst),
            smp.busy.load(SeqCst),
        );
        if after != 0 || wrong != 0 || errors != 0 {
            out.mismatch(format_args!(
                "what=smp after_finish={after} wrong={wrong} errors={errors}"
            ));
        }
    }
    Ok(())
}

/// The next kernel's handover: what came in, preserved again through an outgoing registry and
/// tracker, serialized into scratch RAM (its virtual addresses standing for physical ones),
/// the root written, and read back with `Handover::load`.
fn outgoing<A: Arch + ?Sized>(
    out: &mut Out<'_>,
    s: &'static Session,
    incoming: &Handover<'static>,
    marks: &mut Marks<A>,
) -> Result<(), StubError> {
    let version = AbiVersion::V1_1;
    let generation = Generation::new(incoming.generation().get().wrapping_add(1));
    if s.scratch_taken.swap(true, SeqCst) {
        return Err(StubError::Pass(CURRENT.load(SeqCst)));
    }
    let base = s.scratch.0.get().cast::<u8>().expose_provenance();
    let at = |offset: usize| PhysAddr::new((base + offset) as u64);
    let pci_len = PciTracker::<MAX_DEVICES>::record_len(version);
    let root_at = (PCI_AT + pci_len).next_multiple_of(4096);
    let flbs = incoming.flb_table();
    let pci = incoming.pci_table();

    for (e, op) in flbs.iter().flat_map(Table::iter).zip(&s.out_ops) {
        let name: &'static str = e.name();
        let is_pci = name == "pci";
        let data = if is_pci { at(PCI_AT).raw() } else { e.data() };
        op.data.store(data, SeqCst);
        op.flags.store(e.flags().bits(), SeqCst);
        s.out_flbs.register(name, op).map_err(flb_err(name))?;
        if e.file_count() > MAX_FILES {
            return Err(StubError::Limit {
                what: "files of one FLB",
                count: e.file_count(),
                max: MAX_FILES,
            });
        }
        for _ in 0..e.file_count() {
            s.out_flbs.preserve_file(name).map_err(flb_err(name))?;
        }
    }
    for d in pci.iter().flat_map(Table::items) {
        let flags =
            d.flags.unwrap_or(PciFlags::empty()) & (PciFlags::BRIDGE | PciFlags::BUS_MASTER);
        for _ in 0..d.refcount {
            s.tracker.preserve_device(d.address, d.identity, flags)?;
        }
    }

    let root_len = write_all(
        s,
        at,
        root_at,
        generation,
        (flbs.is_some(), pci.is_some()),
        marks,
    )?;
    // SAFETY: the scratch area is this pass's alone (`scratch_taken`), its address exposed
    // above; `write_all`'s writable map is gone and nothing writes the area any more.
    let back = unsafe { DirectMap::new(0, at(0), SCRATCH_LEN) }.map_err(StubError::Memory)?;
    let next = Handover::load(&back, at(root_at), root_len).map_err(StubError::Outgoing)?;
    if next.generation() != generation {
        out.mismatch(format_args!("what=outgoing-generation"));
    }
    let same_flbs = match (flbs, next.flb_table()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter().zip(b.iter()).all(|(x, y)| {
                    x.name() == y.name()
                        && x.file_count() == y.file_count()
                        && (x.data() == y.data() || x.name() == "pci")
                })
        }
        (None, None) => true,
        _ => false,
    };
    let same_devices = match (pci, next.pci_table()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.items().zip(b.items()).all(|(x, y)| {
                    x.address == y.address && x.refcount == y.refcount && x.identity == y.identity
                })
        }
        (None, None) => true,
        _ => false,
    };
    if !same_flbs || !same_devices {
        out.mismatch(format_args!(
            "what=outgoing flbs_same={same_flbs} devices_same={same_devices}"
        ));
    }
    say!(
        out.con,
        "outgoing records={} flbs={} devices={} generation={} root={} reloaded={}",
        next.root().entries().len() + 1,
        next.flb_table().map_or(0, |t| t.len()),
        next.pci_table().map_or(0, |t| t.len()),
        next.generation().get(),
        at(root_at),
        if same_flbs && same_devices {
            "same"
        } else {
            "different"
        }
    );
    Ok(())
}

/// Serializes the outgoing registry and tracker into the scratch area and writes the root:
/// returns the root's length and the directory.
fn write_all<A: Arch + ?Sized>(
    s: &'static Session,
    at: impl Fn(usize) -> PhysAddr,
    root_at: usize,
    generation: Generation,
    (has_flbs, has_pci): (bool, bool),
    marks: &mut Marks<A>,
) -> Result<usize, StubError> {
    let version = AbiVersion::V1_1;
    // SAFETY: the scratch area is this pass's alone (`scratch_taken`), reached only through
    // this map while it lives; its address was exposed by the caller and it is
    // identity-addressed (`at`).
    let mut mem = unsafe { DirectMapMut::new(0, at(0), SCRATCH_LEN) }.map_err(StubError::Memory)?;
    let mut directory: Vec<DirEntry, 2> = Vec::new();
    if has_flbs {
        let dir = marks
            .run("FlbRegistry::serialize", || {
                s.out_flbs.serialize(&mut mem, version, at(0), generation)
            })
            .map_err(flb_err("(table)"))?;
        let _ = directory.push(dir);
    }
    if has_pci {
        let dir = marks.run("PciTracker::serialize", || {
            s.tracker
                .serialize(&mut mem, version, at(PCI_AT), generation)
        })?;
        let _ = directory.push(dir);
    }
    marks
        .run("write_root", || {
            write_root(&mut mem, version, at(root_at), generation, &directory)
        })
        .map_err(StubError::Outgoing)
}
