//! Several CPUs at once: the other CPUs hammer `is_preserved` and FLB `get`/drop while the
//! boot CPU finishes the last file of every FLB; each finish must run exactly once, after the
//! last guard, and no lookup that starts after the PCI state closed (or after an FLB's
//! `finish` began) may succeed.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};

use liveupdate_core::flb::FlbError;
use liveupdate_core::pci::PciError;

use crate::job::{CURRENT, SESSIONS, Session, Shared};
use crate::stack::{HighWater, measure};
use crate::{Arch, MAX_CPUS};

/// Spins of a bounded wait before the stub calls it a hang (several seconds under TCG).
const SPIN_LIMIT: u64 = 400_000_000;
/// Rounds each other CPU runs before the boot CPU starts finishing, and between finishes.
const WARMUP: u64 = 64;
/// Refusals (`Finished`) each other CPU must see after the last finish before it stops.
const AFTER: u64 = 64;

/// The SMP counters of one pass.
pub(crate) struct Smp {
    pub(crate) stop: AtomicBool,
    pub(crate) started: AtomicUsize,
    pub(crate) done: AtomicUsize,
    /// Rounds run, per CPU.
    pub(crate) progress: [AtomicU64; MAX_CPUS],
    /// `Finished` refusals seen, per CPU.
    pub(crate) refused: [AtomicU64; MAX_CPUS],
    /// Successful `is_preserved` lookups.
    pub(crate) lookups: AtomicU64,
    /// Successful FLB `get`s.
    pub(crate) gets: AtomicU64,
    /// Lookups or gets that succeeded although they started after the PCI state closed or
    /// the FLB's `finish` began: must stay 0.
    pub(crate) after_finish: AtomicU64,
    /// Wrong answers (`Ok(false)` for a preserved device, a guard with the wrong object).
    pub(crate) wrong: AtomicU64,
    /// Errors other than `Finished` and `Busy`.
    pub(crate) errors: AtomicU64,
    /// `Busy` answers (a callback running), expected now and then.
    pub(crate) busy: AtomicU64,
    /// Set once the PCI FLB's `finish` returned from `PciIncoming::finish`.
    pub(crate) pci_closed: AtomicBool,
    /// Stack high-water mark of each CPU's whole hammering (bytes; 0 = not measured).
    pub(crate) stack: [AtomicUsize; MAX_CPUS],
    pub(crate) saturated: [AtomicBool; MAX_CPUS],
}

impl Smp {
    pub(crate) const fn new() -> Smp {
        Smp {
            stop: AtomicBool::new(false),
            started: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            progress: [const { AtomicU64::new(0) }; MAX_CPUS],
            refused: [const { AtomicU64::new(0) }; MAX_CPUS],
            lookups: AtomicU64::new(0),
            gets: AtomicU64::new(0),
            after_finish: AtomicU64::new(0),
            wrong: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            pci_closed: AtomicBool::new(false),
            stack: [const { AtomicUsize::new(0) }; MAX_CPUS],
            saturated: [const { AtomicBool::new(false) }; MAX_CPUS],
        }
    }
}

/// The entry of every CPU but the boot CPU, on its own stack, once the stub started it
/// ([`Arch::start_secondaries`]): hammers the accessors of the pass [`run`](crate::run) is in
/// until the boot CPU says stop, then returns (the stub parks the CPU).
pub fn secondary<A: Arch + ?Sized>(arch: &A, cpu: usize) {
    let Some(s) = SESSIONS.get(CURRENT.load(SeqCst)) else {
        return;
    };
    let Some(shared) = s.shared.get() else {
        return;
    };
    if cpu == 0 || cpu >= MAX_CPUS {
        return;
    }
    s.smp.started.fetch_add(1, SeqCst);
    let ((), mark) = measure(arch, || hammer(s, shared, cpu));
    if let Some(mark) = mark
        && let (Some(bytes), Some(sat)) = (s.smp.stack.get(cpu), s.smp.saturated.get(cpu))
    {
        bytes.store(mark.bytes, SeqCst);
        sat.store(mark.saturated, SeqCst);
    }
    s.smp.done.fetch_add(1, SeqCst);
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, SeqCst);
}

/// One CPU's rounds: one `is_preserved` and one FLB `get`/drop each, over the shared lists.
fn hammer(s: &'static Session, shared: &Shared, cpu: usize) {
    let smp = &s.smp;
    let (Some(progress), Some(refused)) = (smp.progress.get(cpu), smp.refused.get(cpu)) else {
        return;
    };
    let mut round: usize = cpu;
    while !smp.stop.load(SeqCst) {
        if let Some(&address) = shared.devices.get(round % shared.devices.len().max(1)) {
            let closed = smp.pci_closed.load(SeqCst) || s.pci.is_finished();
            match s.pci.is_preserved(address) {
                Ok(true) => {
                    bump(&smp.lookups);
                    if closed {
                        bump(&smp.after_finish);
                    }
                }
                Ok(false) => bump(&smp.wrong),
                Err(PciError::Finished) => bump(refused),
                Err(_) => bump(&smp.errors),
            }
        }
        let which = round % shared.names.len().max(1);
        if let (Some(&name), Some(op)) = (shared.names.get(which), s.ops.get(which)) {
            let began = op.finish_began.load(SeqCst);
            match s.flbs.get(name) {
                Ok(guard) => {
                    op.live_guards.fetch_add(1, SeqCst);
                    bump(&smp.gets);
                    if began {
                        bump(&smp.after_finish);
                    }
                    if guard.object() != op.expected.load(SeqCst) {
                        bump(&smp.wrong);
                    }
                    op.live_guards.fetch_sub(1, SeqCst);
                    drop(guard);
                }
                Err(FlbError::Finished) => bump(refused),
                Err(FlbError::Busy) => bump(&smp.busy),
                Err(_) => bump(&smp.errors),
            }
        }
        round = round.wrapping_add(1);
        progress.fetch_add(1, SeqCst);
    }
}

/// Spins until `done()` or the bound; whether it came true.
pub(crate) fn wait(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..SPIN_LIMIT {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

/// Waits until every started CPU (1..=n) has run `rounds` more rounds than `from` says.
pub(crate) fn wait_rounds(s: &Session, n: usize, rounds: u64) -> bool {
    let mut from = [0u64; MAX_CPUS];
    for (f, p) in from.iter_mut().zip(&s.smp.progress) {
        *f = p.load(SeqCst);
    }
    wait(|| {
        (1..=n).all(|cpu| match (s.smp.progress.get(cpu), from.get(cpu)) {
            (Some(p), Some(&f)) => p.load(SeqCst) >= f + rounds,
            _ => true,
        })
    })
}

/// Waits until every started CPU has seen `AFTER` refusals.
pub(crate) fn wait_refused(s: &Session, n: usize) -> bool {
    wait(|| {
        (1..=n).all(|cpu| {
            s.smp
                .refused
                .get(cpu)
                .is_none_or(|r| r.load(SeqCst) >= AFTER)
        })
    })
}

/// The warm-up rounds before the boot CPU finishes anything.
pub(crate) fn warm_up(s: &Session, n: usize) -> bool {
    wait(|| s.smp.started.load(SeqCst) >= n) && wait_rounds(s, n, WARMUP)
}

/// Rounds between two finishes.
pub(crate) fn between(s: &Session, n: usize) -> bool {
    wait_rounds(s, n, WARMUP / 4)
}

/// The high-water mark of CPU `cpu`'s hammering, when measured.
pub(crate) fn mark(s: &Session, cpu: usize) -> Option<HighWater> {
    let bytes = s.smp.stack.get(cpu)?.load(SeqCst);
    let saturated = s.smp.saturated.get(cpu)?.load(SeqCst);
    (bytes > 0).then_some(HighWater { bytes, saturated })
}
