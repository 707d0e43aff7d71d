//! loom models of the FLB state machine and of the PCI lookup gate: every interleaving of
//! `get`/put/`finish_file` (and of lookups against `finish`) within loom's bounds.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p liveupdate-core --test loom_flb --release`
//!
//! Under `cfg(loom)` the crate's locks and atomics are loom's (see `core/src/sync.rs`), and
//! memory the callbacks free is modelled with `loom::cell::UnsafeCell`, so loom reports any
//! access to it that is not ordered before the free.
#![cfg(loom)]

use liveupdate_abi::{Capacity, Encoding, Generation};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;

use liveupdate_abi::AbiVersion;
use liveupdate_abi::Table;
use liveupdate_abi::{FlbEntry, FlbFlags, FlbTable, PciAddress, PciEntry, PciTable};
use liveupdate_core::flb::{FlbError, FlbOps, FlbRegistry, OpsError, Preserved};
use liveupdate_core::pci::{PciError, PciIncoming};

const OBJECT: u64 = 0x0b1;

/// FLB callbacks that model the object as memory: guard holders read it, `finish` frees it.
struct Ops {
    object: UnsafeCell<u64>,
    retrieves: AtomicUsize,
    finishes: AtomicUsize,
    finish_begun: AtomicBool,
}

// SAFETY: the cell is only accessed through loom's checked `with`/`with_mut`; loom reports a
// race instead of letting one happen.
unsafe impl Sync for Ops {}

impl FlbOps for Ops {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        Err(OpsError(-1))
    }
    fn unpreserve(&self, _: Preserved) {}
    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        assert_eq!(data, 0xda7a);
        self.retrieves.fetch_add(1, SeqCst);
        Ok(OBJECT)
    }
    fn finish(&self, object: u64) {
        assert_eq!(object, OBJECT);
        self.finish_begun.store(true, SeqCst);
        self.finishes.fetch_add(1, SeqCst);
        // Free the object: loom fails the model if any guard holder's read is not ordered
        // before this.
        // SAFETY: loom checks this write against every other access to the cell.
        self.object.with_mut(|o| unsafe { *o = 0 });
    }
}

fn ops() -> &'static Ops {
    Box::leak(Box::new(Ops {
        object: UnsafeCell::new(OBJECT),
        retrieves: AtomicUsize::new(0),
        finishes: AtomicUsize::new(0),
        finish_begun: AtomicBool::new(false),
    }))
}

fn registry(files: u64, ops: &'static Ops) -> Arc<FlbRegistry<1>> {
    let reg = FlbRegistry::new();
    reg.register("a", ops).unwrap();
    let mut buf = [0u8; 64 + 72];
    let entry = FlbEntry::new("a", 0xda7a, files, FlbFlags::empty()).unwrap();
    let len = FlbTable::encode(
        &mut buf,
        Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
        [entry],
    )
    .unwrap();
    reg.load(&Table::try_from(FlbTable::decode(&buf[..len]).unwrap()).unwrap())
        .unwrap();
    Arc::new(reg)
}

/// A get and its put; checks, while the guard is held, that finish has not begun and that the
/// object is still there. Returns whether the get succeeded.
fn use_once(reg: &FlbRegistry<1>, ops: &Ops) -> bool {
    match reg.get("a") {
        Ok(guard) => {
            assert!(
                !ops.finish_begun.load(SeqCst),
                "a get succeeded after finish"
            );
            assert_eq!(guard.object(), OBJECT);
            // SAFETY: loom checks this read against the free in `finish`.
            ops.object.with(|o| assert_eq!(unsafe { *o }, OBJECT));
            drop(guard);
            true
        }
        Err(FlbError::Finished | FlbError::Busy) => false,
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[test]
fn get_put_against_the_last_two_finishes() {
    loom::model(|| {
        let ops = ops();
        let reg = registry(2, ops);
        let user = {
            let reg = reg.clone();
            thread::spawn(move || use_once(&reg, ops))
        };
        let finisher = {
            let reg = reg.clone();
            thread::spawn(move || reg.finish_file("a"))
        };
        let mine = reg.finish_file("a");
        user.join().unwrap();
        let theirs = finisher.join().unwrap();
        let mut counts = [mine.unwrap(), theirs.unwrap()];
        counts.sort_unstable();
        assert_eq!(counts, [0, 1]);
        assert_eq!(ops.finishes.load(SeqCst), 1, "finish exactly once");
        assert_eq!(ops.retrieves.load(SeqCst), 1, "retrieve exactly once");
        assert_eq!(reg.get("a").unwrap_err(), FlbError::Finished);
    });
}

#[test]
fn two_users_against_the_last_finish() {
    loom::model(|| {
        let ops = ops();
        let reg = registry(1, ops);
        let users: Vec<_> = (0..2)
            .map(|_| {
                let reg = reg.clone();
                thread::spawn(move || use_once(&reg, ops))
            })
            .collect();
        assert_eq!(reg.finish_file("a"), Ok(0));
        for user in users {
            user.join().unwrap();
        }
        assert_eq!(ops.finishes.load(SeqCst), 1, "finish exactly once");
        assert_eq!(ops.retrieves.load(SeqCst), 1, "retrieve exactly once");
        assert_eq!(reg.finish_file("a"), Err(FlbError::Finished));
    });
}

/// A PCI table holding one device, and its address. The table must outlive the threads: loom
/// runs many executions, each leaks 72 bytes.
fn one_device_table() -> (PciAddress, Table<'static, PciEntry>) {
    let present = PciAddress::new(0, 1, 0, 0).unwrap();
    let mut buf = [0u8; 64 + 8];
    let len = PciTable::encode(
        &mut buf,
        Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
        [PciEntry::new(present, 1)],
    )
    .unwrap();
    let bytes: &'static [u8] = Box::leak(buf[..len].to_vec().into_boxed_slice());
    let table = Table::try_from(PciTable::decode(bytes).unwrap()).unwrap();
    (present, table)
}

#[test]
fn lookups_against_pci_finish() {
    loom::model(|| {
        let (present, table) = one_device_table();
        let pci: &'static PciIncoming<'static> = Box::leak(Box::new(PciIncoming::new()));
        pci.load(table).unwrap();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                thread::spawn(move || match pci.is_preserved(present) {
                    Ok(true) | Err(PciError::Finished) => {}
                    other => panic!("unexpected {other:?}"),
                })
            })
            .collect();
        // `finish` "frees" the table (a loom write) after its wait: loom checks every
        // reader's lookup happened before.
        assert_eq!(pci.finish(), Ok(()));
        assert_eq!(pci.is_preserved(present), Err(PciError::Finished));
        for reader in readers {
            reader.join().unwrap();
        }
    });
}

#[test]
fn two_loads_against_a_lookup() {
    loom::model(|| {
        let (present, table) = one_device_table();
        // With a key index, so `load` writes the keys in place and loom checks the lookup's
        // reads of them against those writes.
        let pci: &'static PciIncoming<'static, 2> = Box::leak(Box::new(PciIncoming::new()));
        let loader = thread::spawn(move || pci.load(table));
        let reader = thread::spawn(move || match pci.is_preserved(present) {
            Ok(true) | Err(PciError::NoIncomingData) => {}
            other => panic!("unexpected {other:?}"),
        });
        let mine = pci.load(table);
        let theirs = loader.join().unwrap();
        let mut results = [mine, theirs];
        results.sort_by_key(Result::is_err);
        assert_eq!(results, [Ok(()), Err(PciError::AlreadyLoaded)]);
        reader.join().unwrap();
        assert_eq!(pci.is_preserved(present), Ok(true));
    });
}

// ------------------------------------------------------------------------------------------
// Deliberately broken variants, to show the models catch what the real code prevents.

/// A registry reduced to its counts, whose put and finish decide "last one" in a second lock
/// acquisition after updating the count in a first: check-then-act.
struct RacyFlb {
    state: loom::sync::Mutex<(u32, u32)>, // (guards, files)
    finishes: AtomicUsize,
}

impl RacyFlb {
    fn maybe_finish(&self) {
        let last = {
            let s = self.state.lock().unwrap();
            s.0 == 0 && s.1 == 0
        };
        if last {
            self.finishes.fetch_add(1, SeqCst);
        }
    }
    fn put(&self) {
        self.state.lock().unwrap().0 -= 1;
        self.maybe_finish();
    }
    fn finish_file(&self) {
        self.state.lock().unwrap().1 -= 1;
        self.maybe_finish();
    }
}

#[test]
#[should_panic(expected = "finish exactly once")]
fn racy_check_then_act_finishes_twice() {
    loom::model(|| {
        let flb = Arc::new(RacyFlb {
            state: loom::sync::Mutex::new((1, 1)), // one guard held, one file left
            finishes: AtomicUsize::new(0),
        });
        let putter = {
            let flb = flb.clone();
            thread::spawn(move || flb.put())
        };
        flb.finish_file();
        putter.join().unwrap();
        assert_eq!(flb.finishes.load(SeqCst), 1, "finish exactly once");
    });
}

/// A lookup gate whose finish marks the state but does not wait for readers inside.
struct RacyGate {
    gate: AtomicUsize,
    table: UnsafeCell<u64>,
}

// SAFETY: the cell is only accessed through loom's checked `with`/`with_mut`.
unsafe impl Sync for RacyGate {}

#[test]
#[should_panic(expected = "Causality violation")]
fn racy_finish_that_does_not_wait_frees_under_a_reader() {
    loom::model(|| {
        let g = Arc::new(RacyGate {
            gate: AtomicUsize::new(0),
            table: UnsafeCell::new(7),
        });
        let reader = {
            let g = g.clone();
            thread::spawn(move || {
                if g.gate.fetch_add(1, SeqCst) & 1 << 63 == 0 {
                    // SAFETY: loom checks this read; the model expects it to report the race.
                    g.table.with(|t| assert_eq!(unsafe { *t }, 7));
                }
                g.gate.fetch_sub(1, SeqCst);
            })
        };
        g.gate.fetch_or(1 << 63, SeqCst);
        // No wait for the reader: this races it, and loom must say so.
        // SAFETY: loom checks the write (and panics on the race it finds).
        g.table.with_mut(|t| unsafe { *t = 0 });
        reader.join().unwrap();
    });
}
