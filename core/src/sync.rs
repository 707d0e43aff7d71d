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

/// A value filled in place at most once, then shared read-only and read without a lock.
///
/// What `spin::Once` offers, minus two things a boot path cannot have: its `call_once` keeps
/// a panic (an earlier initializer that panicked "poisons" it, which no compiler can rule
/// out, so the link-time panic proof could not cover `PciIncoming::load`), and it moves the
/// value into place, through the stack, where this cell fills a value that already sits in
/// its static (a `PciIncoming<4096>`'s 32 KiB key index never touches a kernel stack).
///
/// A reader that comes while the value is being filled sees `None`, as before: it never
/// waits.
pub(crate) struct FillOnce<T> {
    /// [`FillOnce::EMPTY`] -> [`FillOnce::FILLING`] (one caller won) -> [`FillOnce::READY`].
    state: AtomicUsize,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is written only by the one caller whose compare-exchange moved `state`
// from EMPTY to FILLING, and read only after an Acquire load has seen READY, which that
// caller stores with Release after its last write; from then on it is only shared. So the
// cell is shared soundly between threads when `T` may be (`Sync`), and the filling thread
// may write a value another thread created and will read (`Send`).
unsafe impl<T: Send + Sync> Sync for FillOnce<T> {}

impl<T> FillOnce<T> {
    const EMPTY: usize = 0;
    const FILLING: usize = 1;
    const READY: usize = 2;

    /// A cell holding `initial`, not yet filled: [`FillOnce::get`] returns `None`.
    #[cfg(not(loom))]
    pub(crate) const fn new(initial: T) -> Self {
        FillOnce {
            state: AtomicUsize::new(Self::EMPTY),
            value: UnsafeCell::new(initial),
        }
    }

    /// A cell holding `initial`, not yet filled: [`FillOnce::get`] returns `None`.
    #[cfg(loom)]
    pub(crate) fn new(initial: T) -> Self {
        FillOnce {
            state: AtomicUsize::new(Self::EMPTY),
            value: UnsafeCell::new(initial),
        }
    }

    /// Runs `fill` on the value in place and publishes it, unless an earlier call did (or is
    /// doing) so. Returns whether this call filled it. Wait-free: a loser returns at once.
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
        // no reader looks at the value before READY is stored below, so this is the one
        // reference to it while it lives.
        fill(unsafe { &mut *self.value.get() });
        #[cfg(loom)]
        // SAFETY: as above; loom also checks that no read overlaps this write.
        self.value.with_mut(|value| fill(unsafe { &mut *value }));
        // Release: the writes above happen before any reader that sees READY.
        self.state.store(Self::READY, Ordering::Release);
        true
    }

    /// The value, once [`FillOnce::fill`] has published it.
    pub(crate) fn get(&self) -> Option<&T> {
        // Acquire: pairs with the Release store in `fill`.
        if self.state.load(Ordering::Acquire) != Self::READY {
            return None;
        }
        #[cfg(not(loom))]
        // SAFETY: READY means the one write has ended and none will follow (no path leaves
        // READY), so shared references for as long as `self` is borrowed are sound.
        let value = unsafe { &*self.value.get() };
        #[cfg(loom)]
        // SAFETY: as above; loom checks the read against the write in `fill`.
        let value = self.value.with(|value| unsafe { &*value });
        Some(value)
    }

    /// Whether the value has been published.
    pub(crate) fn is_filled(&self) -> bool {
        self.state.load(Ordering::Acquire) == Self::READY
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;

    use super::FillOnce;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::vec::Vec;

    #[test]
    fn fills_once_in_place_and_then_reads() {
        let cell = FillOnce::new([0u64; 4]);
        assert_eq!(cell.get(), None);
        assert!(!cell.is_filled());
        assert!(cell.fill(|v| v[2] = 7));
        assert_eq!(cell.get(), Some(&[0, 0, 7, 0]));
        assert!(!cell.fill(|v| v[2] = 8), "a second fill must not run");
        assert_eq!(cell.get(), Some(&[0, 0, 7, 0]));
        assert!(cell.is_filled());
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
                    if let Some(v) = CELL.get() {
                        assert!(v.iter().all(|&x| x == v[0] && x != 0));
                    }
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
        assert!(CELL.get().is_some());
    }
}
