//! Threads hammer `get`/put and `is_preserved` while another thread finishes the last files of
//! the PCI FLB, whose `finish` ends the PCI lookups. Checked in every round:
//!
//! - `finish` ran exactly once, and `retrieve` exactly once;
//! - `finish` ran after the last put: no guard was held (by the test's own count) when it ran;
//! - no `get` succeeded after it: every successful `get` finds `finish` not yet begun while it
//!   holds its guard;
//! - no lookup answered from freed data: once the table is "freed" (after
//!   `PciIncoming::finish` returned), every lookup reports `Finished`;
//! - every other answer is one of the documented ones.
//!
//! Bounded: a fixed number of rounds and iterations; it ends by itself.
// loom's primitives only work inside `loom::model`: these tests are for normal builds.
#![cfg(not(loom))]

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use liveupdate_abi::AbiVersion;
use liveupdate_abi::Table;
use liveupdate_abi::{FlbFlags, PciAddress, PciEntry, PciTable};
use liveupdate_core::flb::{FlbError, FlbOps, FlbRegistry, OpsError, Preserved};
use liveupdate_core::pci::{PciError, PciIncoming};

const HAMMERS: usize = 3;
const ROUNDS: usize = 150;
const ITERATIONS: usize = 2_000;
const FILES: u64 = 4;
const DEVICES: u8 = 64;
const OBJECT: u64 = 0x0b1;

/// Counters shared by one round's threads. Violations are counted, never panicked on inside
/// a thread, so a failure cannot leave another thread waiting.
#[derive(Default)]
struct Round {
    /// The test's own count of guards held.
    live: AtomicUsize,
    /// Set first thing in `finish`.
    finish_begun: AtomicBool,
    /// Set after `PciIncoming::finish` returned: the table's memory counts as freed.
    freed: AtomicBool,
    retrieves: AtomicU32,
    finishes: AtomicU32,
    finish_in_a_put: AtomicU32,
    progress: AtomicUsize,
    gets_ok: AtomicU64,
    gets_finished: AtomicU64,
    gets_busy: AtomicU64,
    lookups_ok: AtomicU64,
    lookups_finished: AtomicU64,
    violations: AtomicU32,
    first_violation: std::sync::Mutex<Option<String>>,
}

impl Round {
    fn violation(&self, what: String) {
        self.violations.fetch_add(1, SeqCst);
        self.first_violation.lock().unwrap().get_or_insert(what);
    }
}

struct PciFlb {
    round: &'static Round,
    pci: &'static PciIncoming<'static>,
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
    fn retrieve(&self, _data: u64) -> Result<u64, OpsError> {
        self.round.retrieves.fetch_add(1, SeqCst);
        Ok(OBJECT)
    }
    fn finish(&self, object: u64) {
        let round = self.round;
        round.finish_begun.store(true, SeqCst);
        round.finishes.fetch_add(1, SeqCst);
        if object != OBJECT {
            round.violation(format!("finish got object {object:#x}"));
        }
        let live = round.live.load(SeqCst);
        if live != 0 {
            round.violation(format!("finish ran with {live} guards held"));
        }
        if thread::current().name() != Some("finisher") {
            round.finish_in_a_put.fetch_add(1, SeqCst);
        }
        if let Err(e) = self.pci.finish() {
            round.violation(format!("PciIncoming::finish: {e}"));
        }
        round.freed.store(true, SeqCst);
    }
}

fn table() -> Table<'static, PciEntry> {
    let entries: Vec<_> = (0..DEVICES)
        .map(|bus| PciEntry::new(PciAddress::new(0, bus, 0, 0).unwrap(), 1))
        .collect();
    let cap = u32::from(DEVICES);
    let buf: &'static mut [u8] =
        Box::leak(vec![0u8; 64 + 8 * usize::from(DEVICES)].into_boxed_slice());
    let len = PciTable::encode(
        buf,
        Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(cap)),
        entries,
    )
    .unwrap();
    Table::try_from(PciTable::decode(&buf[..len]).unwrap()).unwrap()
}

/// One hammer thread. With `linger`, it yields while holding every fourth guard, so the last
/// file usually finishes while a guard is held and `finish` runs in a put; without, the
/// finisher's own call usually runs it.
fn hammer(
    reg: &'static FlbRegistry<2>,
    pci: &'static PciIncoming<'static>,
    round: &'static Round,
    seed: usize,
    linger: bool,
) {
    for i in 0..ITERATIONS {
        round.progress.fetch_add(1, SeqCst);
        // Even buses are preserved devices; function 1 never is.
        let bus = u8::try_from((i.wrapping_mul(7) + seed) % usize::from(DEVICES)).unwrap();
        let function = u8::from(i % 3 == 0);
        let freed_before = round.freed.load(SeqCst);
        match pci.is_preserved(PciAddress::new(0, bus, 0, function).unwrap()) {
            Ok(answer) if !freed_before && answer == (function == 0) => {
                round.lookups_ok.fetch_add(1, SeqCst);
            }
            Err(PciError::Finished) => {
                round.lookups_finished.fetch_add(1, SeqCst);
            }
            other => round.violation(format!(
                "is_preserved(bus {bus}, fn {function}) = {other:?}, freed before: {freed_before}"
            )),
        }
        match reg.get("pci-v1") {
            Ok(guard) => {
                round.live.fetch_add(1, SeqCst);
                if round.finish_begun.load(SeqCst) {
                    round.violation("a get succeeded after finish began".into());
                }
                if guard.object() != OBJECT {
                    round.violation(format!("object {:#x}", guard.object()));
                }
                round.gets_ok.fetch_add(1, SeqCst);
                if linger && i % 4 == 0 {
                    thread::yield_now();
                }
                round.live.fetch_sub(1, SeqCst);
                drop(guard);
            }
            Err(FlbError::Finished) => {
                round.gets_finished.fetch_add(1, SeqCst);
            }
            Err(FlbError::Busy) => {
                round.gets_busy.fetch_add(1, SeqCst);
            }
            Err(e) => round.violation(format!("get: {e}")),
        }
    }
}

fn finisher(reg: &'static FlbRegistry<2>, round: &'static Round) {
    // Start once the hammers are well under way; give up waiting after 10 s (a hammer would
    // have to be stuck), and finish anyway.
    let deadline = Instant::now() + Duration::from_secs(10);
    while round.progress.load(SeqCst) < HAMMERS * ITERATIONS / 4 && Instant::now() < deadline {
        thread::yield_now();
    }
    for left in (0..FILES).rev() {
        match reg.finish_file("pci-v1") {
            Ok(n) if n == left => {}
            other => round.violation(format!("finish_file: {other:?}, expected Ok({left})")),
        }
        thread::yield_now();
    }
}

#[test]
fn gets_puts_and_lookups_race_the_last_finish() {
    let start = Instant::now();
    let mut totals = [0u64; 6];
    for r in 0..ROUNDS {
        let round: &'static Round = Box::leak(Box::default());
        let pci: &'static PciIncoming<'static> = Box::leak(Box::new(PciIncoming::new()));
        pci.load(table()).unwrap();
        let reg: &'static FlbRegistry<2> = Box::leak(Box::new(FlbRegistry::new()));
        reg.register("pci-v1", Box::leak(Box::new(PciFlb { round, pci })))
            .unwrap();
        let mut buf = vec![0u8; 64 + 72];
        let len = liveupdate_abi::FlbTable::encode(
            &mut buf,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(1)),
            [liveupdate_abi::FlbEntry::new("pci-v1", 0xda7a, FILES, FlbFlags::empty()).unwrap()],
        )
        .unwrap();
        let table = liveupdate_abi::FlbTable::decode(&buf[..len]).unwrap();
        reg.load(&Table::try_from(table).unwrap()).unwrap();

        let hammers: Vec<_> = (0..HAMMERS)
            .map(|h| {
                thread::Builder::new()
                    .name(format!("hammer-{h}"))
                    .spawn(move || hammer(reg, pci, round, h * 13 + r, r % 2 == 0))
                    .unwrap()
            })
            .collect();
        let fin = thread::Builder::new()
            .name("finisher".into())
            .spawn(move || finisher(reg, round))
            .unwrap();
        for h in hammers {
            h.join().unwrap();
        }
        fin.join().unwrap();

        assert_eq!(
            round.violations.load(SeqCst),
            0,
            "round {r}: {:?}",
            round.first_violation.lock().unwrap()
        );
        assert_eq!(
            round.finishes.load(SeqCst),
            1,
            "round {r}: finish exactly once"
        );
        assert_eq!(
            round.retrieves.load(SeqCst),
            1,
            "round {r}: retrieve exactly once"
        );
        assert_eq!(round.live.load(SeqCst), 0);
        assert_eq!(reg.get("pci-v1").unwrap_err(), FlbError::Finished);
        assert_eq!(
            pci.is_preserved(PciAddress::new(0, 0, 0, 0).unwrap()),
            Err(PciError::Finished)
        );
        for (total, counter) in totals.iter_mut().zip([
            &round.gets_ok,
            &round.gets_finished,
            &round.gets_busy,
            &round.lookups_ok,
            &round.lookups_finished,
        ]) {
            *total += counter.load(SeqCst);
        }
        totals[5] += u64::from(round.finish_in_a_put.load(SeqCst));
    }
    let [ok, finished, busy, lookups, lookups_finished, in_put] = totals;
    println!(
        "stress: {HAMMERS} hammer threads + 1 finisher, {ROUNDS} rounds x {ITERATIONS} iterations \
         per hammer ({} get/put + {} is_preserved), {:.2?} wall",
        HAMMERS * ROUNDS * ITERATIONS,
        HAMMERS * ROUNDS * ITERATIONS,
        start.elapsed()
    );
    println!(
        "stress: gets ok {ok}, finished {finished}, busy {busy}; lookups answered {lookups}, \
         finished {lookups_finished}; finish ran in a guard's drop in {in_put} of {ROUNDS} rounds"
    );
    assert_eq!(ok + finished + busy, (HAMMERS * ROUNDS * ITERATIONS) as u64);
    assert!(
        finished > 0 && ok > 0,
        "both sides of the finish were exercised"
    );
}
