//! The FLB and PCI lifecycle: an arbitrary sequence of operations on the outgoing side (a
//! kernel before kexec) and the incoming side (the kernel after it), each checked against a
//! model of the documented behaviour, with invariants checked after every step:
//!
//! - `finish` runs at most once per FLB, and never before its last file has finished and its
//!   last guard is dropped; no `get` succeeds after that;
//! - `retrieve` runs at most once; a failed one stays failed, with the same error;
//! - file counts, guard counts and PCI refcounts are exactly what the model says, so never
//!   wrap (reaching the limits themselves takes 2^16 to 2^64 calls: core's unit tests do);
//! - serialized tables always decode, load as a whole handover, and say what the accessors
//!   hold;
//! - callbacks run with no registry lock held: each calls the registry back and must get
//!   `Busy` or `Finished`, not a deadlock (a deadlock is a fuzzer timeout).

use liveupdate_abi::Generation;
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arbitrary::{Arbitrary, Unstructured};
use liveupdate_abi::{AbiVersion, BlockPlace};
use liveupdate_abi::{FlbEntry, FlbFlags, PciAddress};
use liveupdate_core::flb::{FlbError, FlbGuard, FlbOps, FlbRegistry, OpsError, Preserved};
use liveupdate_core::graph::{Handover, write_root};
use liveupdate_core::mem::{MemError, MemFault, SliceMemory};
use liveupdate_core::pci::{PciError, PciIncoming, PciTracker};

use super::records::check_record;
use super::roundtrip::name_fault;
use liveupdate_abi::PhysAddr;

/// Names the FLBs may be registered under: five valid ones (one more than the outgoing
/// registry holds), and three invalid.
const NAMES: [&str; 8] = [
    "hugetlb-v1",
    "iommu-v1",
    "kvm-v1",
    "pci-v1",
    "vfio-v1",
    "",
    "bad name",
    "0123456789abcdef0123456789abcdef0123456789abcdef",
];
/// The FLB whose `finish` finishes the incoming PCI state, as the PCI core's would.
const PCI_FLB: usize = 3;
/// Outgoing and incoming registry capacities: the incoming one is smaller, so that a table
/// can be too large for it.
const OUT_CAP: usize = 4;
const IN_CAP: usize = 3;
const PCI_CAP: usize = 4;
/// The incoming PCI state indexes tables of at most this many devices (more are searched in
/// place): smaller than the tracker, so both ways are taken.
const PCI_INDEX: usize = 3;
const DEVICES: [PciAddress; 6] = [
    pci(0, 0x00, 0x1f, 3),
    pci(0, 0x3b, 0, 0),
    pci(0, 0x3b, 0, 1),
    pci(0x1_0000, 0x01, 0, 0),
    pci(u32::MAX, 0xff, 0x1f, 7),
    pci(0, 0, 0, 0),
];

/// [`PciAddress::new`] for constants: an address it refuses does not compile.
const fn pci(domain: u32, bus: u8, device: u8, function: u8) -> PciAddress {
    match PciAddress::new(domain, bus, device, function) {
        Ok(address) => address,
        Err(_) => panic!("not a PCI address"),
    }
}
/// Where the outgoing kernel writes its records: a 4 KiB image at 1 MiB.
const BASE: u64 = 0x10_0000;
const IMAGE_LEN: usize = 0x1000;
const FLB_AT: u64 = BASE;
const PCI_AT: u64 = BASE + 0x200;
const ROOT_AT: u64 = BASE + 0x300;
/// Most operations run per input.
const MAX_OPS: usize = 256;
/// More files than an input can preserve.
const MAX_FILES: usize = 4 * MAX_OPS;

type Out = FlbRegistry<OUT_CAP>;
type In = FlbRegistry<IN_CAP>;

#[derive(Arbitrary, Debug)]
enum Name {
    /// One of [`NAMES`].
    Pool(u8),
    /// Any string, for lookups.
    Raw(String),
}

impl Name {
    fn resolve(&self) -> &str {
        match self {
            Name::Pool(i) => NAMES[usize::from(*i) % NAMES.len()],
            Name::Raw(s) => s,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Outgoing kernel: register `NAMES[i]`.
    RegisterOut(u8),
    PreserveFile(Name),
    UnpreserveFile(Name),
    /// Make `NAMES[i]`'s next `preserve` fail with this code (or succeed).
    FailPreserve(u8, Option<i32>),
    PciPreserve(u8),
    PciUnpreserve(u8),
    /// Write the FLB table, the PCI table and the root: the kexec handover; as ABI 1.1 (wire
    /// 1.1) when true, else v1.
    Serialize(bool),
    /// Serialize to an address outside the memory.
    SerializeOutside,
    /// Incoming kernel: register `NAMES[i]`.
    RegisterIn(u8),
    /// Load the last serialized handover into the incoming registry and PCI state.
    Load,
    FailRetrieve(u8, Option<i32>),
    /// Make `NAMES[i]`'s next `retrieve` for a `get` finish every file of its FLB meanwhile,
    /// as another CPU could.
    FinishInRetrieve(u8, bool),
    Get(Name),
    /// Drop the `i`-th guard held.
    Put(u8),
    FinishFile(Name),
    Peek(Name),
    Unclaimed,
    IsPreserved(u8),
    PciFinish,
}

// ------------------------------------------------------------------ callbacks

/// Test callbacks of `NAMES[index]`: count calls, fail on request, and call the registry
/// back from inside (through [`CONTEXT`]) to check that no lock is held.
struct Callbacks {
    index: usize,
    preserve_calls: AtomicU64,
    unpreserve_calls: AtomicU64,
    retrieve_calls: AtomicU64,
    finish_calls: AtomicU64,
    fail_preserve: AtomicBool,
    preserve_code: AtomicI32,
    fail_retrieve: AtomicBool,
    retrieve_code: AtomicI32,
    finish_in_retrieve: AtomicBool,
    last_unpreserved: AtomicU64,
    last_retrieve_data: AtomicU64,
    last_finished: AtomicU64,
}

impl Callbacks {
    const fn new(index: usize) -> Self {
        Callbacks {
            index,
            preserve_calls: AtomicU64::new(0),
            unpreserve_calls: AtomicU64::new(0),
            retrieve_calls: AtomicU64::new(0),
            finish_calls: AtomicU64::new(0),
            fail_preserve: AtomicBool::new(false),
            preserve_code: AtomicI32::new(0),
            fail_retrieve: AtomicBool::new(false),
            retrieve_code: AtomicI32::new(0),
            finish_in_retrieve: AtomicBool::new(false),
            last_unpreserved: AtomicU64::new(0),
            last_retrieve_data: AtomicU64::new(0),
            last_finished: AtomicU64::new(0),
        }
    }

    fn reset(&self) {
        for counter in [
            &self.preserve_calls,
            &self.unpreserve_calls,
            &self.retrieve_calls,
            &self.finish_calls,
            &self.last_unpreserved,
            &self.last_retrieve_data,
            &self.last_finished,
        ] {
            counter.store(0, SeqCst);
        }
        self.fail_preserve.store(false, SeqCst);
        self.fail_retrieve.store(false, SeqCst);
        self.finish_in_retrieve.store(false, SeqCst);
    }

    fn counts(&self) -> [u64; 4] {
        [
            self.preserve_calls.load(SeqCst),
            self.unpreserve_calls.load(SeqCst),
            self.retrieve_calls.load(SeqCst),
            self.finish_calls.load(SeqCst),
        ]
    }

    fn name(&self) -> &'static str {
        NAMES[self.index]
    }
}

/// What `preserve` of FLB `index` returns on its `call`-th call: distinct every time.
fn preserved_for(index: usize, call: u64) -> Preserved {
    let data = ((index as u64 + 1) << 40) | call;
    Preserved {
        data,
        object: !data,
        flags: if index.is_multiple_of(2) {
            FlbFlags::DATA_IS_PHYS
        } else {
            FlbFlags::empty()
        },
    }
}

/// What `retrieve` of FLB `index` makes of `data`.
fn object_for(index: usize, data: u64) -> u64 {
    data.rotate_left(7) ^ index as u64
}

static CALLBACKS: [Callbacks; NAMES.len()] = [
    Callbacks::new(0),
    Callbacks::new(1),
    Callbacks::new(2),
    Callbacks::new(3),
    Callbacks::new(4),
    Callbacks::new(5),
    Callbacks::new(6),
    Callbacks::new(7),
];

/// Which incoming operation is running, for what a `retrieve` called back may expect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Running {
    Other,
    Get,
    LastFinishFile,
}

/// The registries of the input being run, for the callbacks to call back.
struct Context {
    out: Weak<Out>,
    inc: Weak<In>,
    running: Running,
    /// Set by the PCI FLB's `finish`: the incoming PCI state must be finished now.
    pci_finish_requested: bool,
    /// What `finish_file` returned when called from a `retrieve`.
    finished_in_retrieve: Vec<Result<u64, FlbError>>,
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

fn context<T>(f: impl FnOnce(&mut Context) -> T) -> T {
    CONTEXT.with(|c| {
        f(c.borrow_mut()
            .as_mut()
            .expect("callback outside a lifecycle run"))
    })
}

/// The outgoing registry, called back from `preserve` or `unpreserve` of `name`: its FLB is
/// in a callback, so everything on it is `Busy`, and nothing deadlocks.
fn outgoing_is_busy(name: &str) {
    let out = context(|c| c.out.upgrade()).expect("outgoing registry alive");
    assert_eq!(out.preserve_file(name), Err(FlbError::Busy), "{name}");
    assert_eq!(out.unpreserve_file(name), Err(FlbError::Busy), "{name}");
    let mut scratch = vec![0u8; Out::record_len(AbiVersion::V1_0)];
    let mut mem = SliceMemory::new(PhysAddr::new(0), scratch.as_mut_slice());
    assert_eq!(
        out.serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(0),
            Generation::new(1)
        ),
        Err(FlbError::Busy),
        "{name}"
    );
}

impl FlbOps for Callbacks {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        let call = self.preserve_calls.fetch_add(1, SeqCst) + 1;
        outgoing_is_busy(self.name());
        if self.fail_preserve.load(SeqCst) {
            return Err(OpsError(self.preserve_code.load(SeqCst)));
        }
        Ok(preserved_for(self.index, call))
    }

    fn unpreserve(&self, preserved: Preserved) {
        self.unpreserve_calls.fetch_add(1, SeqCst);
        self.last_unpreserved.store(preserved.object, SeqCst);
        outgoing_is_busy(self.name());
    }

    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        self.retrieve_calls.fetch_add(1, SeqCst);
        self.last_retrieve_data.store(data, SeqCst);
        let (inc, running) = context(|c| (c.inc.upgrade(), c.running));
        let inc = inc.expect("incoming registry alive");
        let name = self.name();
        match running {
            // A `get` is retrieving: other callers wait for it.
            Running::Get => {
                assert_eq!(inc.get(name).map(|g| g.object()), Err(FlbError::Busy));
                assert_eq!(inc.peek(name).map(|e| e.data()), Ok(data));
                if self.finish_in_retrieve.load(SeqCst) {
                    let mut results = Vec::new();
                    loop {
                        let result = inc.finish_file(name);
                        results.push(result);
                        if !matches!(result, Ok(n) if n > 0) || results.len() > MAX_FILES {
                            break;
                        }
                    }
                    // Every file has finished: nothing new may get the FLB.
                    assert_eq!(inc.get(name).map(|g| g.object()), Err(FlbError::Finished));
                    context(|c| c.finished_in_retrieve = results);
                }
            }
            // The last file's finish is retrieving, to finish: nothing may get it any more.
            Running::LastFinishFile => {
                assert_eq!(inc.get(name).map(|g| g.object()), Err(FlbError::Finished));
                assert_eq!(inc.peek(name), Err(FlbError::Finished));
            }
            Running::Other => panic!("retrieve of {name} outside get and finish_file"),
        }
        if self.fail_retrieve.load(SeqCst) {
            return Err(OpsError(self.retrieve_code.load(SeqCst)));
        }
        Ok(object_for(self.index, data))
    }

    fn finish(&self, object: u64) {
        self.finish_calls.fetch_add(1, SeqCst);
        self.last_finished.store(object, SeqCst);
        let inc = context(|c| c.inc.upgrade()).expect("incoming registry alive");
        let name = self.name();
        // Marked finished before `finish` runs.
        assert_eq!(inc.get(name).map(|g| g.object()), Err(FlbError::Finished));
        assert_eq!(inc.peek(name), Err(FlbError::Finished));
        assert_eq!(inc.finish_file(name), Err(FlbError::Finished));
        if self.index == PCI_FLB {
            context(|c| c.pci_finish_requested = true);
        }
    }
}

// ------------------------------------------------------------------ the model

/// The outgoing side of one registered FLB.
#[derive(Clone, Copy, Default)]
struct OutFlb {
    files: u64,
    preserved: Option<Preserved>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Live { object: u64, guards: u32 },
    Failed(OpsError),
    Finished,
}

/// The incoming side of one loaded FLB.
struct InFlb {
    index: usize,
    entry: FlbEntry,
    files: u64,
    state: State,
}

/// A serialized handover and what its tables must hold.
struct Serialized {
    image: Vec<u8>,
    root_len: usize,
    flbs: Vec<FlbEntry>,
    devices: BTreeMap<PciAddress, u16>,
}

#[derive(Default)]
struct Model {
    out: BTreeMap<&'static str, OutFlb>,
    devices: BTreeMap<PciAddress, u16>,
    generation: u64,
    /// The last serialized handover.
    image: Option<Serialized>,
    registered_in: BTreeSet<&'static str>,
    /// The loaded FLB table, by name; `None` until loaded.
    incoming: Option<BTreeMap<String, InFlb>>,
    pci_loaded: Option<BTreeMap<PciAddress, u16>>,
    pci_finished: bool,
    /// Expected callback counts per FLB: preserve, unpreserve, retrieve, finish.
    calls: [[u64; 4]; NAMES.len()],
    /// What `finish_file` must return when called from the `retrieve` of the last `get`.
    finished_in_retrieve: Vec<Result<u64, FlbError>>,
}

fn index_of(name: &str) -> usize {
    NAMES
        .iter()
        .position(|n| *n == name)
        .expect("table names come from the pool")
}

/// Expected result of `register` on a registry holding `registered` with room for `cap`.
fn register_model(
    registered: usize,
    duplicate: bool,
    name: &str,
    cap: usize,
) -> Result<(), FlbError> {
    if let Some(fault) = name_fault(name) {
        return Err(FlbError::InvalidName(fault));
    }
    if duplicate {
        return Err(FlbError::Duplicate);
    }
    if registered >= cap {
        return Err(FlbError::Full { capacity: cap });
    }
    Ok(())
}

impl Model {
    /// The incoming FLB `name`, after the lookups every incoming operation starts with.
    fn lookup(&mut self, name: &str, registered: bool) -> Result<&mut InFlb, FlbError> {
        let incoming = self.incoming.as_mut().ok_or(FlbError::NoIncomingData)?;
        let flb = incoming.get_mut(name).ok_or(FlbError::NotFound)?;
        if registered && !self.registered_in.contains(name) {
            return Err(FlbError::NotRegistered);
        }
        Ok(flb)
    }

    /// `retrieve` runs for `flb`; the result it gives.
    fn retrieve(calls: &mut [[u64; 4]; NAMES.len()], flb: &InFlb) -> Result<u64, OpsError> {
        calls[flb.index][2] += 1;
        let cb = &CALLBACKS[flb.index];
        if cb.fail_retrieve.load(SeqCst) {
            Err(OpsError(cb.retrieve_code.load(SeqCst)))
        } else {
            Ok(object_for(flb.index, flb.entry.data()))
        }
    }

    fn get(&mut self, name: &str) -> Result<u64, FlbError> {
        let mut calls = self.calls;
        let mut finished = Vec::new();
        let flb = self.lookup(name, true)?;
        let result = match flb.state {
            State::Failed(e) => Err(FlbError::RetrieveFailed(e)),
            _ if flb.files == 0 => Err(FlbError::Finished),
            State::Finished => Err(FlbError::Finished),
            State::Live { object, guards } => {
                let guards = guards.checked_add(1).ok_or(FlbError::CountOverflow)?;
                flb.state = State::Live { object, guards };
                Ok(object)
            }
            State::Pending => {
                if CALLBACKS[flb.index].finish_in_retrieve.load(SeqCst) {
                    // Every file finishes while `retrieve` runs; the last sees it running.
                    while flb.files > 0 {
                        flb.files -= 1;
                        finished.push(Ok(flb.files));
                    }
                }
                Self::get_retrieve(&mut calls, flb)
            }
        };
        self.calls = calls;
        self.finished_in_retrieve = finished;
        result
    }

    /// The first `get` of `flb` runs `retrieve`: a guard (even if every file finished
    /// meanwhile: the `get` came first), or the final failure.
    fn get_retrieve(calls: &mut [[u64; 4]; NAMES.len()], flb: &mut InFlb) -> Result<u64, FlbError> {
        match Self::retrieve(calls, flb) {
            Ok(object) => {
                flb.state = State::Live { object, guards: 1 };
                Ok(object)
            }
            Err(e) => {
                flb.state = State::Failed(e);
                Err(FlbError::RetrieveFailed(e))
            }
        }
    }

    /// Whether the last file is about to finish (for what `retrieve` may expect).
    fn is_last_file(&mut self, name: &str) -> bool {
        self.lookup(name, true).is_ok_and(|f| f.files == 1)
    }

    fn finish_file(&mut self, name: &str) -> Result<u64, FlbError> {
        let mut calls = self.calls;
        let flb = self.lookup(name, true)?;
        if flb.files == 0 {
            return Err(FlbError::Finished);
        }
        flb.files -= 1;
        if flb.files > 0 {
            return Ok(flb.files);
        }
        let result = match flb.state {
            State::Pending => match Self::retrieve(&mut calls, flb) {
                Ok(object) => {
                    let _ = object; // `finish` gets it: checked with the invariants
                    calls[flb.index][3] += 1;
                    flb.state = State::Finished;
                    Ok(0)
                }
                Err(e) => {
                    flb.state = State::Failed(e);
                    Err(FlbError::RetrieveFailed(e))
                }
            },
            State::Live { guards: 0, .. } => {
                calls[flb.index][3] += 1;
                flb.state = State::Finished;
                Ok(0)
            }
            State::Live { .. } => Ok(0),
            State::Failed(e) => Err(FlbError::RetrieveFailed(e)),
            State::Finished => Err(FlbError::Finished),
        };
        self.calls = calls;
        result
    }

    /// The guard of `name` is dropped.
    fn put(&mut self, name: &str) {
        let mut calls = self.calls;
        let flb = self.lookup(name, true).expect("a guard's FLB is loaded");
        let State::Live { object, guards } = flb.state else {
            panic!("a guard is held on {name}, whose state is {:?}", flb.state);
        };
        let guards = guards.checked_sub(1).expect("guards counted");
        flb.state = State::Live { object, guards };
        if guards == 0 && flb.files == 0 {
            calls[flb.index][3] += 1;
            flb.state = State::Finished;
        }
        self.calls = calls;
    }

    fn peek(&mut self, name: &str) -> Result<FlbEntry, FlbError> {
        let flb = self.lookup(name, false)?;
        match flb.state {
            State::Failed(e) => Err(FlbError::RetrieveFailed(e)),
            _ if flb.files == 0 => Err(FlbError::Finished),
            State::Finished => Err(FlbError::Finished),
            State::Pending | State::Live { .. } => Ok(flb.entry),
        }
    }
}

// ------------------------------------------------------------------ the run

/// Serializes every execution: the callbacks are statics.
static RUNNING: Mutex<()> = Mutex::new(());

/// The target body: see the module docs.
pub fn lifecycle(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    let _serial = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    for cb in &CALLBACKS {
        cb.reset();
    }
    let out = Arc::new(Out::new());
    let inc = Arc::new(In::new());
    CONTEXT.with(|c| {
        *c.borrow_mut() = Some(Context {
            out: Arc::downgrade(&out),
            inc: Arc::downgrade(&inc),
            running: Running::Other,
            pci_finish_requested: false,
            finished_in_retrieve: Vec::new(),
        });
    });
    Run {
        out: &out,
        inc: &inc,
        tracker: PciTracker::new(),
        model: Model::default(),
    }
    .run(&ops);
    CONTEXT.with(|c| c.borrow_mut().take());
}

struct Run<'r> {
    out: &'r Out,
    inc: &'r In,
    tracker: PciTracker<PCI_CAP>,
    model: Model,
}

impl<'r> Run<'r> {
    fn run(&mut self, ops: &[Op]) {
        // The handover the incoming kernel loads, fixed at its first load.
        let incoming_mem = OnceCell::new();
        let pci_in: PciIncoming<'_, PCI_INDEX> = PciIncoming::new();
        let mut guards: Vec<(String, FlbGuard<'r, IN_CAP>)> = Vec::new();
        for op in ops {
            self.step(op, &incoming_mem, &pci_in, &mut guards);
            self.check_invariants(&guards);
        }
        // Drop what is still held, one guard at a time, as the model says.
        while let Some((name, guard)) = guards.pop() {
            drop(guard);
            self.model.put(&name);
            self.after_callbacks(&pci_in);
            self.check_invariants(&guards);
        }
    }

    #[allow(clippy::too_many_lines)] // one arm per operation
    fn step<'m>(
        &mut self,
        op: &Op,
        incoming_mem: &'m OnceCell<SliceMemory<Vec<u8>>>,
        pci_in: &PciIncoming<'m, PCI_INDEX>,
        guards: &mut Vec<(String, FlbGuard<'r, IN_CAP>)>,
    ) {
        let model = &mut self.model;
        match op {
            Op::RegisterOut(i) => {
                let name = NAMES[usize::from(*i) % NAMES.len()];
                let expected =
                    register_model(model.out.len(), model.out.contains_key(name), name, OUT_CAP);
                assert_eq!(
                    self.out.register(name, &CALLBACKS[index_of(name)]),
                    expected,
                    "register {name:?}"
                );
                if expected.is_ok() {
                    model.out.insert(name, OutFlb::default());
                }
            }
            Op::RegisterIn(i) => {
                let name = NAMES[usize::from(*i) % NAMES.len()];
                let expected = register_model(
                    model.registered_in.len(),
                    model.registered_in.contains(name),
                    name,
                    IN_CAP,
                );
                assert_eq!(
                    self.inc.register(name, &CALLBACKS[index_of(name)]),
                    expected,
                    "register {name:?}"
                );
                if expected.is_ok() {
                    model.registered_in.insert(name);
                }
            }
            Op::FailPreserve(i, code) => {
                let cb = &CALLBACKS[usize::from(*i) % NAMES.len()];
                cb.fail_preserve.store(code.is_some(), SeqCst);
                cb.preserve_code.store(code.unwrap_or(0), SeqCst);
            }
            Op::FinishInRetrieve(i, on) => {
                CALLBACKS[usize::from(*i) % NAMES.len()]
                    .finish_in_retrieve
                    .store(*on, SeqCst);
            }
            Op::FailRetrieve(i, code) => {
                let cb = &CALLBACKS[usize::from(*i) % NAMES.len()];
                cb.fail_retrieve.store(code.is_some(), SeqCst);
                cb.retrieve_code.store(code.unwrap_or(0), SeqCst);
            }
            Op::PreserveFile(name) => {
                let name = name.resolve();
                let got = self.out.preserve_file(name);
                let expected = match model.out.get_mut(name) {
                    None => Err(FlbError::NotRegistered),
                    Some(flb) if flb.files > 0 => {
                        flb.files = flb.files.checked_add(1).expect("no wrap in a fuzz run");
                        Ok(flb.files)
                    }
                    Some(flb) => {
                        let index = index_of(name);
                        model.calls[index][0] += 1;
                        let cb = &CALLBACKS[index];
                        if cb.fail_preserve.load(SeqCst) {
                            Err(FlbError::PreserveFailed(OpsError(
                                cb.preserve_code.load(SeqCst),
                            )))
                        } else {
                            flb.files = 1;
                            flb.preserved = Some(preserved_for(index, model.calls[index][0]));
                            Ok(1)
                        }
                    }
                };
                assert_eq!(got, expected, "preserve_file({name:?})");
            }
            Op::UnpreserveFile(name) => {
                let name = name.resolve();
                let got = self.out.unpreserve_file(name);
                let expected = match model.out.get_mut(name) {
                    None => Err(FlbError::NotRegistered),
                    Some(flb) if flb.files == 0 => Err(FlbError::NotPreserved),
                    Some(flb) => {
                        flb.files -= 1;
                        if flb.files == 0 {
                            let index = index_of(name);
                            model.calls[index][1] += 1;
                            let preserved = flb.preserved.take().expect("preserved");
                            assert_eq!(
                                CALLBACKS[index].last_unpreserved.load(SeqCst),
                                preserved.object,
                                "unpreserve got another object"
                            );
                        }
                        Ok(flb.files)
                    }
                };
                assert_eq!(got, expected, "unpreserve_file({name:?})");
            }
            Op::PciPreserve(i) => {
                let address = DEVICES[usize::from(*i) % DEVICES.len()];
                let expected = pci_preserve_model(&mut model.devices, address);
                assert_eq!(
                    self.tracker.preserve(address),
                    expected,
                    "preserve {address}"
                );
            }
            Op::PciUnpreserve(i) => {
                let address = DEVICES[usize::from(*i) % DEVICES.len()];
                let expected = match model.devices.get_mut(&address) {
                    None => Err(PciError::NotPreserved { address }),
                    Some(1) => {
                        model.devices.remove(&address);
                        Ok(0)
                    }
                    Some(n) => {
                        *n -= 1;
                        Ok(*n)
                    }
                };
                assert_eq!(
                    self.tracker.unpreserve(address),
                    expected,
                    "unpreserve {address}"
                );
            }
            Op::Serialize(v2) => self.serialize(if *v2 {
                AbiVersion::V1_1
            } else {
                AbiVersion::V1_0
            }),
            Op::SerializeOutside => {
                let mut image = vec![0u8; IMAGE_LEN];
                let mut mem = SliceMemory::new(PhysAddr::new(BASE), image.as_mut_slice());
                let at = BASE + IMAGE_LEN as u64 - 8;
                let unmapped = |len| MemError {
                    addr: PhysAddr::new(at),
                    len,
                    fault: MemFault::Unmapped {
                        base: PhysAddr::new(BASE),
                        size: IMAGE_LEN as u64,
                    },
                };
                assert_eq!(
                    self.out.serialize(
                        &mut mem,
                        AbiVersion::V1_0,
                        PhysAddr::new(at),
                        Generation::new(1)
                    ),
                    Err(FlbError::Memory(unmapped(Out::record_len(
                        AbiVersion::V1_0
                    ))))
                );
                assert_eq!(
                    self.tracker.serialize(
                        &mut mem,
                        AbiVersion::V1_0,
                        PhysAddr::new(at),
                        Generation::new(1)
                    ),
                    Err(PciError::Memory(unmapped(
                        PciTracker::<PCI_CAP>::record_len(AbiVersion::V1_0)
                    )))
                );
            }
            Op::Load => Self::load(model, self.inc, incoming_mem, pci_in),
            Op::Get(name) => {
                let name = name.resolve();
                context(|c| c.running = Running::Get);
                let got = self.inc.get(name);
                context(|c| c.running = Running::Other);
                let expected = model.get(name);
                assert_eq!(
                    context(|c| std::mem::take(&mut c.finished_in_retrieve)),
                    std::mem::take(&mut model.finished_in_retrieve),
                    "finish_file({name:?}) called from retrieve"
                );
                match got {
                    Ok(guard) => {
                        assert_eq!(Ok(guard.object()), expected, "get({name:?})");
                        let data = model.lookup(name, true).expect("got it").entry.data();
                        assert_eq!(
                            CALLBACKS[index_of(name)].last_retrieve_data.load(SeqCst),
                            data,
                            "retrieve got another data handle"
                        );
                        guards.push((name.to_owned(), guard));
                    }
                    Err(e) => assert_eq!(Err(e), expected, "get({name:?})"),
                }
            }
            Op::Put(i) => {
                if !guards.is_empty() {
                    let (name, guard) = guards.remove(usize::from(*i) % guards.len());
                    drop(guard);
                    model.put(&name);
                }
            }
            Op::FinishFile(name) => {
                let name = name.resolve();
                let last = model.is_last_file(name);
                context(|c| {
                    c.running = if last {
                        Running::LastFinishFile
                    } else {
                        Running::Other
                    }
                });
                let got = self.inc.finish_file(name);
                context(|c| c.running = Running::Other);
                assert_eq!(got, model.finish_file(name), "finish_file({name:?})");
            }
            Op::Peek(name) => {
                let name = name.resolve();
                assert_eq!(self.inc.peek(name), model.peek(name), "peek({name:?})");
            }
            Op::Unclaimed => {
                let got: Vec<FlbEntry> = self.inc.unclaimed().collect();
                let expected: Vec<FlbEntry> = model
                    .incoming
                    .iter()
                    .flat_map(BTreeMap::iter)
                    .filter(|(name, _)| !model.registered_in.contains(name.as_str()))
                    .map(|(_, flb)| flb.entry)
                    .collect();
                assert_eq!(got, expected, "unclaimed");
            }
            Op::IsPreserved(i) => {
                let address = DEVICES[usize::from(*i) % DEVICES.len()];
                let expected = if model.pci_finished {
                    Err(PciError::Finished)
                } else {
                    model
                        .pci_loaded
                        .as_ref()
                        .map(|d| d.contains_key(&address))
                        .ok_or(PciError::NoIncomingData)
                };
                assert_eq!(
                    pci_in.is_preserved(address),
                    expected,
                    "is_preserved({address})"
                );
                let device = pci_in.device(address);
                assert_eq!(
                    device.map(|d| d.map(|d| (d.address, d.refcount))),
                    expected.map(|_| {
                        model
                            .pci_loaded
                            .as_ref()
                            .and_then(|d| d.get(&address))
                            .map(|&r| (address, r))
                    }),
                    "device({address})"
                );
            }
            Op::PciFinish => pci_finish(model, pci_in),
        }
        self.after_callbacks(pci_in);
    }

    /// The PCI FLB's `finish` asks for the incoming PCI state to be finished.
    fn after_callbacks(&mut self, pci_in: &PciIncoming<'_, PCI_INDEX>) {
        if context(|c| std::mem::take(&mut c.pci_finish_requested)) {
            pci_finish(&mut self.model, pci_in);
        }
    }

    fn serialize(&mut self, version: AbiVersion) {
        let model = &mut self.model;
        model.generation += 1;
        let generation = model.generation;
        let mut image = vec![0u8; IMAGE_LEN];
        let mut mem = SliceMemory::new(PhysAddr::new(BASE), image.as_mut_slice());
        // v2 tables go in chains of two blocks of two entries (one record while they fit).
        let halves = |at: u64, stride: u64| {
            [at, at + stride].map(|phys| BlockPlace {
                phys: PhysAddr::new(phys),
                capacity: 2,
            })
        };
        let (flb, pci) = match version {
            AbiVersion::V1_0 => (
                self.out.serialize(
                    &mut mem,
                    version,
                    PhysAddr::new(FLB_AT),
                    Generation::new(generation),
                ),
                self.tracker.serialize(
                    &mut mem,
                    version,
                    PhysAddr::new(PCI_AT),
                    Generation::new(generation),
                ),
            ),
            AbiVersion::V1_1 => (
                self.out.serialize_blocks(
                    &mut mem,
                    version,
                    &halves(FLB_AT, 0x100),
                    Generation::new(generation),
                ),
                self.tracker.serialize_blocks(
                    &mut mem,
                    version,
                    &halves(PCI_AT, 0x80),
                    Generation::new(generation),
                ),
            ),
        };
        let (flb, pci) = (flb.expect("serialize FLBs"), pci.expect("serialize PCI"));
        let root_len = write_root(
            &mut mem,
            version,
            PhysAddr::new(ROOT_AT),
            Generation::new(generation),
            &[pci, flb],
        )
        .expect("write root");
        // What the accessors hold, as the tables must say.
        let flbs: Vec<FlbEntry> = model
            .out
            .iter()
            .filter_map(|(name, flb)| {
                let p = flb.preserved.filter(|_| flb.files > 0)?;
                Some(FlbEntry::new(name, p.data, flb.files, p.flags).expect("valid name"))
            })
            .collect();
        let handover = Handover::load(&mem, PhysAddr::new(ROOT_AT), root_len)
            .expect("a serialized handover loads");
        assert_eq!(handover.generation(), Generation::new(generation));
        assert_eq!(handover.root().version(), version);
        let table = handover.flb_table().expect("an FLB table");
        assert_eq!(table.version(), version);
        // A chain's blocks are not tables on their own (the table targets check chains).
        if table.block_count() == 1 {
            check_record(table.first().as_bytes(), &table.first());
        }
        assert!(
            table.iter().eq(flbs.iter()),
            "FLB table differs from the registry"
        );
        let devices = handover.pci_table().expect("a PCI table");
        assert_eq!(devices.version(), version);
        if devices.block_count() == 1 {
            check_record(devices.first().as_bytes(), &devices.first());
        }
        assert_eq!(devices.len(), model.devices.len() as u64);
        assert!(
            devices
                .iter()
                .map(|e| (e.address(), e.refcount()))
                .eq(model.devices.iter().map(|(a, r)| (*a, *r))),
            "PCI table differs from the tracker"
        );
        for (address, refcount) in &model.devices {
            assert_eq!(self.tracker.refcount(*address), *refcount);
        }
        model.image = Some(Serialized {
            image,
            root_len,
            flbs,
            devices: model.devices.clone(),
        });
    }

    fn load<'m>(
        model: &mut Model,
        inc: &In,
        incoming_mem: &'m OnceCell<SliceMemory<Vec<u8>>>,
        pci_in: &PciIncoming<'m, PCI_INDEX>,
    ) {
        let Some(Serialized {
            image,
            root_len,
            flbs,
            devices,
        }) = &model.image
        else {
            return;
        };
        // The incoming kernel sees the first handover loaded; later loads find it loaded.
        let first = incoming_mem.get().is_none();
        let mem = incoming_mem.get_or_init(|| SliceMemory::new(PhysAddr::new(BASE), image.clone()));
        let handover =
            Handover::load(mem, PhysAddr::new(ROOT_AT), *root_len).expect("the handover loads");
        let table = handover.flb_table().expect("an FLB table");
        let expected = if model.incoming.is_some() {
            Err(FlbError::AlreadyLoaded)
        } else if table.len() > IN_CAP as u64 {
            Err(FlbError::Full { capacity: IN_CAP })
        } else {
            Ok(())
        };
        assert_eq!(inc.load(&table), expected, "load");
        if first {
            assert!(table.iter().eq(flbs.iter()), "loaded FLB table differs");
        }
        if expected.is_ok() {
            model.incoming = Some(
                table
                    .iter()
                    .map(|e| {
                        (
                            e.name().to_owned(),
                            InFlb {
                                index: index_of(e.name()),
                                entry: *e,
                                files: e.file_count(),
                                state: State::Pending,
                            },
                        )
                    })
                    .collect(),
            );
        }
        let pci = handover.pci_table().expect("a PCI table");
        let expected = if model.pci_finished {
            Err(PciError::Finished)
        } else if model.pci_loaded.is_some() {
            Err(PciError::AlreadyLoaded)
        } else {
            Ok(())
        };
        assert_eq!(pci_in.load(pci), expected, "PCI load");
        if expected.is_ok() {
            let loaded: BTreeMap<PciAddress, u16> =
                pci.iter().map(|e| (e.address(), e.refcount())).collect();
            if first {
                assert_eq!(&loaded, devices);
            }
            model.pci_loaded = Some(loaded);
        }
    }

    fn check_invariants(&self, guards: &[(String, FlbGuard<'r, IN_CAP>)]) {
        let model = &self.model;
        for (index, cb) in CALLBACKS.iter().enumerate() {
            let counts = cb.counts();
            assert_eq!(
                counts, model.calls[index],
                "callback counts of {:?}",
                NAMES[index]
            );
            // retrieve at most once, finish at most once and only after a retrieve.
            assert!(counts[2] <= 1 && counts[3] <= counts[2], "{counts:?}");
        }
        for (name, flb) in model.incoming.iter().flat_map(BTreeMap::iter) {
            let held = guards.iter().filter(|(n, _)| n == name).count();
            match flb.state {
                State::Live { guards: g, object } => {
                    assert_eq!(g as usize, held, "{name}: guards");
                    assert!(
                        guards
                            .iter()
                            .filter(|(n, _)| n == name)
                            .all(|(_, g)| g.object() == object)
                    );
                }
                _ => assert_eq!(held, 0, "{name}: guards held in state {:?}", flb.state),
            }
            if flb.state == State::Finished {
                assert_eq!(flb.files, 0);
                assert_eq!(model.calls[flb.index][3], 1, "{name}: finish ran once");
                let object = object_for(flb.index, flb.entry.data());
                assert_eq!(CALLBACKS[flb.index].last_finished.load(SeqCst), object);
            } else {
                assert_eq!(model.calls[flb.index][3], 0, "{name}: finish ran early");
            }
        }
        for (name, flb) in &model.out {
            assert_eq!(flb.files > 0, flb.preserved.is_some(), "{name}");
        }
    }
}

/// Expected result of `PciTracker::preserve`, applied to the model.
fn pci_preserve_model(
    devices: &mut BTreeMap<PciAddress, u16>,
    address: PciAddress,
) -> Result<u16, PciError> {
    if let Some(n) = devices.get_mut(&address) {
        *n = n
            .checked_add(1)
            .ok_or(PciError::RefcountOverflow { address })?;
        return Ok(*n);
    }
    if devices.len() >= PCI_CAP {
        return Err(PciError::Full {
            capacity: PCI_CAP,
            address,
        });
    }
    devices.insert(address, 1);
    Ok(1)
}

fn pci_finish(model: &mut Model, pci_in: &PciIncoming<'_, PCI_INDEX>) {
    let expected = if model.pci_finished {
        Err(PciError::Finished)
    } else {
        Ok(())
    };
    assert_eq!(pci_in.finish(), expected, "PCI finish");
    model.pci_finished = true;
    assert!(pci_in.is_finished());
}
