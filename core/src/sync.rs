//! The synchronisation primitives of the crate: spin's and `core`'s in a normal build, loom's
//! under `cfg(loom)` so that the model checker sees every lock and atomic operation.
//!
//! loom's constructors are not `const`, so every `const fn new` built on these is split in
//! two by `cfg(loom)`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};

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
