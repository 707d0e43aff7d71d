//! The synchronisation primitives of the crate: spin's and `core`'s in a normal build, loom's
//! under `cfg(loom)` so that the model checker sees every lock and atomic operation.
//!
//! loom's constructors are not `const`, so every `const fn new` built on these is split in
//! two by `cfg(loom)`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(loom))]
use core::cell::UnsafeCell;
#[cfg(loom)]
use loom::cell::UnsafeCell;

/// A mutual-exclusion lock: `spin::Mutex` (busy-waiting, no OS), or loom's model of a mutex.
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: spin::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

/// The guard of a locked [`Mutex`].
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = spin::MutexGuard<'a, T>;
/// The guard of a locked [`Mutex`].
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    #[cfg(not(loom))]
    pub(crate) const fn new(value: T) -> Self {
        Mutex {
            inner: spin::Mutex::new(value),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            inner: loom::sync::Mutex::new(value),
        }
    }

    /// Locks, spinning while another CPU holds the lock. Every critical section of this crate
    /// is short and bounded and runs no callback, so the wait is bounded too.
    #[cfg(not(loom))]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock()
    }

    #[cfg(loom)]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        // Poisoning needs a panic while locked, which this crate never does.
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// One step of a busy-wait loop: a CPU hint, or a yield to loom's scheduler (a model that
/// spins without yielding never ends).
pub(crate) fn spin_hint() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// A cell that loom checks for data races: under `cfg(loom)` a read or write through it that
/// is not ordered by happens-before against a write fails the model. Outside loom it is
/// nothing. Used to model "the caller frees memory after `finish`".
pub(crate) struct RaceProbe {
    #[cfg(loom)]
    cell: loom::cell::UnsafeCell<()>,
}

impl RaceProbe {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        RaceProbe {}
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        RaceProbe {
            cell: loom::cell::UnsafeCell::new(()),
        }
    }

    /// Records a read of the guarded memory.
    #[allow(clippy::unused_self)] // does something under loom only
    pub(crate) fn read(&self) {
        #[cfg(loom)]
        self.cell.with(|_| ());
    }

    /// Records a write (a free) of the guarded memory.
    #[allow(clippy::unused_self)]
    pub(crate) fn write(&self) {
        #[cfg(loom)]
        self.cell.with_mut(|_| ());
    }
}

/// A value filled in place at most once, then read without a lock by counted readers, until
/// it is closed: the value is cleared in place, and from then on nothing reads it.
///
/// What `spin::Once` offers, minus two things a boot path cannot have: its `call_once` keeps
/// a panic (an earlier initializer that panicked "poisons" it, which no compiler can rule
/// out, so the link-time panic proof could not cover `PciIncoming::load`), and it moves the
/// value into place, through the stack, where this cell fills a value that already sits in
/// its static (a `PciIncoming<4096>`'s 32 KiB key index never touches a kernel stack). Plus
/// what `spin::Once` has not: [`FillOnce::close`], whose `clear` step drops, in place, what
/// the value refers to (for `PciIncoming`, the previous kernel's memory) once no reader is
/// left.
///
/// A reader that comes while the value is being filled sees `Ok(None)`, as before: it never
/// waits. A reader that comes once closing has begun sees `Err(Closed)`. Readers only see the
/// value inside [`FillOnce::read`]'s closure, whose result cannot borrow it, so "no reader
/// inside" means "no reference to the value anywhere".
pub(crate) struct FillOnce<T> {
    /// [`FillOnce::EMPTY`] -> [`FillOnce::FILLING`] (one caller won) -> [`FillOnce::READY`]
    /// -> [`FillOnce::CLOSED`] (by [`FillOnce::close`]); or `EMPTY` -> `CLOSED`.
    state: AtomicUsize,
    /// [`FillOnce::CLOSING`] | the number of readers inside [`FillOnce::read`].
    gate: AtomicUsize,
    value: UnsafeCell<T>,
}

/// [`FillOnce::read`] after [`FillOnce::close`] has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Closed;

// SAFETY: `value` is written only (a) by the one caller whose compare-exchange moved `state`
// from EMPTY to FILLING, before it stores READY with Release, and (b) by the one caller of
// `close` that set CLOSING in `gate`, after it has seen (Acquire) READY and every reader
// leave `gate`; it is read only inside `read`, by a reader counted in `gate` before CLOSING was
// set that has seen (Acquire) READY. So no read overlaps a write. The cell is therefore shared
// soundly between threads when `T` may be (`Sync`), and the filling or closing thread may
// write a value another thread created and will read (`Send`).
unsafe impl<T: Send + Sync> Sync for FillOnce<T> {}

impl<T> FillOnce<T> {
    const EMPTY: usize = 0;
    const FILLING: usize = 1;
    const READY: usize = 2;
    const CLOSED: usize = 3;
    /// The `gate` bit that marks the cell closing (or closed); the bits below count readers.
    const CLOSING: usize = 1 << (usize::BITS - 1);

    /// A cell holding `initial`, not yet filled: [`FillOnce::read`] returns `Ok(None)`.
    #[cfg(not(loom))]
    pub(crate) const fn new(initial: T) -> Self {
        FillOnce {
            state: AtomicUsize::new(Self::EMPTY),
            gate: AtomicUsize::new(0),
            value: UnsafeCell::new(initial),
        }
    }

    /// A cell holding `initial`, not yet filled: [`FillOnce::read`] returns `Ok(None)`.
    #[cfg(loom)]
    pub(crate) fn new(initial: T) -> Self {
        FillOnce {
            state: AtomicUsize::new(Self::EMPTY),
            gate: AtomicUsize::new(0),
            value: UnsafeCell::new(initial),
        }
    }

    /// Runs `fill` on the value in place and publishes it, unless an earlier call did (or is
    /// doing) so, or the cell was closed first. Returns whether this call filled it.
    /// Wait-free: a loser returns at once.
    pub(crate) fn fill(&self, fill: impl FnOnce(&mut T)) -> bool {
        if self
            .state
            .compare_exchange(
                Self::EMPTY,
                Self::FILLING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return false;
        }
        #[cfg(not(loom))]
        // SAFETY: the compare-exchange above makes this the only caller ever to get here, and
        // nobody looks at the value before READY is stored below (readers check READY; `close`
        // waits for READY), so this is the one reference to it while it lives.
        fill(unsafe { &mut *self.value.get() });
        #[cfg(loom)]
        // SAFETY: as above; loom also checks that no read overlaps this write.
        self.value.with_mut(|value| fill(unsafe { &mut *value }));
        // Release: the writes above happen before any reader that sees READY.
        self.state.store(Self::READY, Ordering::Release);
        true
    }

    /// Runs `f` on the value as a counted reader: `Ok(Some(_))` once [`FillOnce::fill`] has
    /// published it, `Ok(None)` before, `Err(Closed)` once [`FillOnce::close`] has begun.
    /// Lock-free: a relaxed load, an acquire increment and a release decrement of `gate`.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&T) -> R) -> Result<Option<R>, Closed> {
        // Cheap early exit; it also keeps late readers out of the count `close` waits on.
        if self.gate.load(Ordering::Relaxed) & Self::CLOSING != 0 {
            return Err(Closed);
        }
        // Acquire: the value is read only after this reader is counted.
        let before = self.gate.fetch_add(1, Ordering::Acquire);
        let answer = if before & Self::CLOSING != 0 {
            Err(Closed)
        } else if self.state.load(Ordering::Acquire) == Self::READY {
            #[cfg(not(loom))]
            // SAFETY: READY (Acquire, pairing with `fill`'s Release) means the fill has ended
            // and no other fill follows; this reader was counted before CLOSING was set, so
            // `close` does not write until it leaves; `f` cannot keep the reference (`R` is
            // chosen before its lifetime). So only shared references exist meanwhile.
            let value = unsafe { &*self.value.get() };
            #[cfg(loom)]
            // SAFETY: as above; loom checks the read against the writes in `fill`, `close`.
            let value = self.value.with(|value| unsafe { &*value });
            Ok(Some(f(value)))
        } else {
            Ok(None)
        };
        // Release: the reads above happen before `close` sees this reader leave.
        self.gate.fetch_sub(1, Ordering::Release);
        answer
    }

    /// Closes the cell: every later [`FillOnce::read`] returns `Err(Closed)`, the readers
    /// already inside are waited for, a fill in progress is waited for, and `clear` runs on the
    /// value in place (if it was filled); a later `fill` is refused. Returns `false`, doing
    /// nothing, when the cell was already closing (by this or another caller).
    ///
    /// The waits spin, bounded by the readers already inside (new ones leave at once) and by
    /// one `fill`.
    pub(crate) fn close(&self, clear: impl FnOnce(&mut T)) -> bool {
        let before = self.gate.fetch_or(Self::CLOSING, Ordering::AcqRel);
        if before & Self::CLOSING != 0 {
            return false;
        }
        // Acquire: pairs with each reader's Release decrement, so their reads happen before.
        while self.gate.load(Ordering::Acquire) & !Self::CLOSING != 0 {
            spin_hint();
        }
        loop {
            match self.state.compare_exchange(
                Self::EMPTY,
                Self::CLOSED,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Err(Self::READY) => break,
                // A fill is running (it runs no callback of ours and cannot fail): wait.
                Err(Self::FILLING) => spin_hint(),
                // Ok: never filled, and now never will be. (CLOSED cannot be seen: only the
                // one caller that set CLOSING moves `state` there.)
                Ok(_) | Err(_) => return true,
            }
        }
        #[cfg(not(loom))]
        // SAFETY: READY was seen with Acquire (the fill's writes happen before); CLOSING is
        // set and every reader counted before it has left (Acquire above), and readers counted
        // after it do not touch the value; `fill` never runs again; only this caller got past
        // the CLOSING bit. So this is the one reference to the value.
        clear(unsafe { &mut *self.value.get() });
        #[cfg(loom)]
        // SAFETY: as above; loom also checks that no read overlaps this write.
        self.value.with_mut(|value| clear(unsafe { &mut *value }));
        self.state.store(Self::CLOSED, Ordering::Release);
        true
    }

    /// Whether the value has been published and not closed.
    pub(crate) fn is_filled(&self) -> bool {
        self.state.load(Ordering::Acquire) == Self::READY
            && self.gate.load(Ordering::Acquire) & Self::CLOSING == 0
    }

    /// Whether [`FillOnce::close`] has begun.
    pub(crate) fn is_closed(&self) -> bool {
        self.gate.load(Ordering::Acquire) & Self::CLOSING != 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;

    use super::{Closed, FillOnce};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::vec::Vec;

    #[test]
    fn fills_once_in_place_and_then_reads() {
        let cell = FillOnce::new([0u64; 4]);
        assert_eq!(cell.read(|v| *v), Ok(None));
        assert!(!cell.is_filled());
        assert!(cell.fill(|v| v[2] = 7));
        assert_eq!(cell.read(|v| *v), Ok(Some([0, 0, 7, 0])));
        assert!(!cell.fill(|v| v[2] = 8), "a second fill must not run");
        assert_eq!(cell.read(|v| *v), Ok(Some([0, 0, 7, 0])));
        assert!(cell.is_filled());
    }

    #[test]
    fn close_clears_in_place_once_and_refuses_later_reads_and_fills() {
        let cell = FillOnce::new([0u64; 4]);
        assert!(cell.fill(|v| v[1] = 5));
        assert!(cell.close(|v| *v = [9; 4]));
        assert!(cell.is_closed() && !cell.is_filled());
        assert_eq!(cell.read(|v| *v), Err(Closed));
        assert!(!cell.close(|_| panic!("a second close must not run")));
        assert!(!cell.fill(|_| panic!("no fill after close")));
        // What `clear` left (nothing reads it, but it is what stays in memory).
        assert_eq!(cell.value.into_inner(), [9; 4]);
    }

    #[test]
    fn closing_an_empty_cell_keeps_it_empty_for_good() {
        let cell = FillOnce::new(0u8);
        assert!(cell.close(|_| panic!("nothing to clear")));
        assert!(!cell.fill(|v| *v = 1));
        assert_eq!(cell.read(|v| *v), Err(Closed));
    }

    #[test]
    fn racing_fills_run_exactly_one_and_readers_see_all_or_nothing() {
        static CELL: FillOnce<[u64; 64]> = FillOnce::new([0; 64]);
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (1..=4u64)
            .map(|id| {
                std::thread::spawn(move || {
                    let won = CELL.fill(|v| {
                        RUNS.fetch_add(1, Ordering::Relaxed);
                        v.fill(id);
                    });
                    // Whatever is seen is complete: every word holds the winner's id.
                    let seen = CELL.read(|v| v.iter().all(|&x| x == v[0] && x != 0));
                    assert_ne!(seen, Ok(Some(false)));
                    won
                })
            })
            .collect();
        let winners = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&won| won)
            .count();
        assert_eq!(winners, 1);
        assert_eq!(RUNS.load(Ordering::Relaxed), 1);
        assert!(matches!(CELL.read(|_| ()), Ok(Some(()))));
    }
}
