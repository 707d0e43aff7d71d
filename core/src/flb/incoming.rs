//! The incoming side: the loaded FLB table, reference-counted `get`, per-file finish, the
//! early peek, and the list of entries nobody claims.

use core::fmt;

use liveupdate_abi::{FlbEntry, Table};

use super::{FlbError, FlbOps, FlbRegistry, IncomingFlb, State};

impl<const N: usize> FlbRegistry<N> {
    /// Loads the entries of a validated FLB table (from
    /// [`Handover::flb_table`](crate::graph::Handover::flb_table); one record or a chain of
    /// blocks). Each FLB starts not retrieved, with the table's file count. Runs no callback;
    /// FLBs may be registered before or after.
    ///
    /// Each entry is copied: the registry keeps no reference into the table (it has no
    /// lifetime parameter to keep one with), so the table's memory may be released as soon as
    /// this returns, whatever later happens to the FLBs.
    ///
    /// # Errors
    ///
    /// [`FlbError::AlreadyLoaded`]; [`FlbError::Full`] when the table has more than `N`
    /// entries (nothing is loaded then).
    pub fn load(&self, table: &Table<'_, FlbEntry>) -> Result<(), FlbError> {
        let full = FlbError::Full { capacity: N };
        if table.len() > N as u64 {
            return Err(full);
        }
        let mut inner = self.inner.lock();
        if inner.loaded {
            return Err(FlbError::AlreadyLoaded);
        }
        inner.incoming.clear();
        for entry in table.iter() {
            let flb = IncomingFlb {
                entry: *entry,
                files: entry.file_count(),
                state: State::Pending,
            };
            if inner.incoming.push(flb).is_err() {
                inner.incoming.clear();
                return Err(full);
            }
        }
        inner.loaded = true;
        Ok(())
    }

    /// Takes a reference to the incoming FLB `name`'s object: the guard keeps it alive (its
    /// `finish` cannot run) until dropped. The first successful call runs
    /// [`FlbOps::retrieve`] (without the lock); later calls count one more guard.
    ///
    /// # Errors
    ///
    /// In this order: [`FlbError::NoIncomingData`], [`FlbError::NotFound`],
    /// [`FlbError::NotRegistered`]; [`FlbError::RetrieveFailed`] with the callback's error,
    /// now and on every later call; [`FlbError::Finished`] once every file has finished;
    /// [`FlbError::Busy`] while another caller's `retrieve` runs; [`FlbError::CountOverflow`].
    pub fn get(&self, name: &str) -> Result<FlbGuard<'_, N>, FlbError> {
        let (index, ops, data) = {
            let mut inner = self.inner.lock();
            let index = inner.incoming_index(name)?;
            let ops = inner.ops(name)?;
            let flb = inner.incoming.get_mut(index).ok_or(FlbError::NotFound)?;
            match &mut flb.state {
                State::Failed(e) => return Err(FlbError::RetrieveFailed(*e)),
                _ if flb.files == 0 => return Err(FlbError::Finished),
                State::Finishing | State::Finished => return Err(FlbError::Finished),
                State::Retrieving => return Err(FlbError::Busy),
                State::Live { object, guards, .. } => {
                    *guards = guards.checked_add(1).ok_or(FlbError::CountOverflow)?;
                    return Ok(FlbGuard::new(self, index, *object));
                }
                State::Pending => {
                    flb.state = State::Retrieving;
                    (index, ops, flb.entry.data())
                }
            }
        };
        let result = ops.retrieve(data);
        let mut inner = self.inner.lock();
        let flb = inner.incoming.get_mut(index).ok_or(FlbError::NotFound)?;
        match result {
            Ok(object) => {
                flb.state = State::Live {
                    ops,
                    object,
                    guards: 1,
                };
                Ok(FlbGuard::new(self, index, object))
            }
            Err(e) => {
                flb.state = State::Failed(e);
                Err(FlbError::RetrieveFailed(e))
            }
        }
    }

    /// One file that depends on the incoming FLB `name` has finished: the count goes down by
    /// one. When it reaches 0 the FLB is marked finished (every later `get` fails) and, once
    /// no guard is held, [`FlbOps::finish`] runs (without the lock) — here, or in the drop of
    /// the last guard. An FLB nobody retrieved is retrieved first, as the previous kernel's
    /// state must be released. Returns the files still unfinished.
    ///
    /// `Ok(0)` means every file has finished and `finish` has run or will run when the last
    /// guard is dropped — unless a `retrieve` still running for a `get` fails, in which case
    /// `finish` never runs (there is no object to finish).
    ///
    /// # Errors
    ///
    /// [`FlbError::NoIncomingData`], [`FlbError::NotFound`], [`FlbError::NotRegistered`]
    /// (nothing counted); [`FlbError::Finished`] when every file had already finished;
    /// [`FlbError::RetrieveFailed`] when this was the last file and the FLB's retrieve failed,
    /// now or earlier (the file is counted, `finish` never runs).
    pub fn finish_file(&self, name: &str) -> Result<u64, FlbError> {
        let (index, ops, job) = {
            let mut inner = self.inner.lock();
            let index = inner.incoming_index(name)?;
            let ops = inner.ops(name)?;
            let flb = inner.incoming.get_mut(index).ok_or(FlbError::NotFound)?;
            if flb.files == 0 {
                return Err(FlbError::Finished);
            }
            flb.files = flb.files.saturating_sub(1);
            if flb.files > 0 {
                return Ok(flb.files);
            }
            match flb.state {
                State::Pending => {
                    flb.state = State::Retrieving;
                    (index, ops, Job::RetrieveThenFinish(flb.entry.data()))
                }
                State::Live {
                    ops,
                    object,
                    guards: 0,
                } => {
                    flb.state = State::Finishing;
                    (index, ops, Job::Finish(object))
                }
                // A guard's drop, or the `get` whose retrieve is running, finishes it.
                State::Live { .. } | State::Retrieving => return Ok(0),
                State::Failed(e) => return Err(FlbError::RetrieveFailed(e)),
                State::Finishing | State::Finished => return Err(FlbError::Finished),
            }
        };
        let object = match job {
            Job::Finish(object) => object,
            Job::RetrieveThenFinish(data) => {
                let result = ops.retrieve(data);
                let mut inner = self.inner.lock();
                let flb = inner.incoming.get_mut(index).ok_or(FlbError::NotFound)?;
                match result {
                    Ok(object) => {
                        flb.state = State::Finishing;
                        object
                    }
                    Err(e) => {
                        flb.state = State::Failed(e);
                        return Err(FlbError::RetrieveFailed(e));
                    }
                }
            }
        };
        self.run_finish(index, ops, object);
        Ok(0)
    }

    /// Runs `finish` of an FLB already marked [`State::Finishing`], then records it finished.
    fn run_finish(&self, index: usize, ops: &'static dyn FlbOps, object: u64) {
        ops.finish(object);
        let mut inner = self.inner.lock();
        if let Some(flb) = inner.incoming.get_mut(index) {
            flb.state = State::Finished;
        }
    }

    /// Drops one guard of the FLB at `index`, finishing it if it was the last guard after the
    /// last file.
    fn put(&self, index: usize) {
        let (ops, object) = {
            let mut inner = self.inner.lock();
            let Some(flb) = inner.incoming.get_mut(index) else {
                return;
            };
            let State::Live {
                ops,
                object,
                guards,
            } = &mut flb.state
            else {
                return;
            };
            *guards = guards.saturating_sub(1);
            if *guards > 0 || flb.files > 0 {
                return;
            }
            let job = (*ops, *object);
            flb.state = State::Finishing;
            job
        };
        self.run_finish(index, ops, object);
    }

    /// The raw entry of the incoming FLB `name`, as the previous kernel wrote it: data
    /// handle, file count and flags. For code that runs before FLBs are registered (early
    /// boot): no retrieve, no guard, no counting, no registration needed — the caller gets a
    /// handle, not an object, and must not free what it points to.
    ///
    /// # Errors
    ///
    /// [`FlbError::NoIncomingData`], [`FlbError::NotFound`]; [`FlbError::RetrieveFailed`]
    /// after a failed retrieve and [`FlbError::Finished`] once every file has finished (the
    /// handle may point at released memory by then).
    pub fn peek(&self, name: &str) -> Result<FlbEntry, FlbError> {
        let inner = self.inner.lock();
        let index = inner.incoming_index(name)?;
        let flb = inner.incoming.get(index).ok_or(FlbError::NotFound)?;
        match flb.state {
            State::Failed(e) => Err(FlbError::RetrieveFailed(e)),
            _ if flb.files == 0 => Err(FlbError::Finished),
            State::Finishing | State::Finished => Err(FlbError::Finished),
            State::Pending | State::Retrieving | State::Live { .. } => Ok(flb.entry),
        }
    }

    /// The loaded entries that no registered FLB claims (by name), in name order, for the
    /// caller to log or free (see [`FlbFlags::DATA_IS_PHYS`](liveupdate_abi::FlbFlags)). Each
    /// step takes the lock briefly; registrations made meanwhile are seen.
    pub fn unclaimed(&self) -> Unclaimed<'_, N> {
        Unclaimed {
            registry: self,
            next: 0,
        }
    }
}

/// What the last `finish_file` has to do once the lock is dropped.
enum Job {
    Finish(u64),
    RetrieveThenFinish(u64),
}

/// A reference to an incoming FLB's object, from [`FlbRegistry::get`]. While it lives the
/// FLB's `finish` cannot run; dropping it is the put. The drop of the last guard after the
/// last file's finish runs `finish` itself, on the dropping thread.
#[must_use = "dropping the guard releases the FLB at once"]
pub struct FlbGuard<'r, const N: usize> {
    registry: &'r FlbRegistry<N>,
    index: usize,
    object: u64,
}

impl<'r, const N: usize> FlbGuard<'r, N> {
    fn new(registry: &'r FlbRegistry<N>, index: usize, object: u64) -> Self {
        FlbGuard {
            registry,
            index,
            object,
        }
    }

    /// The object `retrieve` returned.
    pub fn object(&self) -> u64 {
        self.object
    }
}

impl<const N: usize> fmt::Debug for FlbGuard<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlbGuard")
            .field("object", &self.object)
            .finish_non_exhaustive()
    }
}

impl<const N: usize> Drop for FlbGuard<'_, N> {
    fn drop(&mut self) {
        self.registry.put(self.index);
    }
}

/// Iterator over the loaded FLB entries no registered FLB claims; see
/// [`FlbRegistry::unclaimed`].
pub struct Unclaimed<'r, const N: usize> {
    registry: &'r FlbRegistry<N>,
    next: usize,
}

impl<const N: usize> fmt::Debug for Unclaimed<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unclaimed")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<const N: usize> Iterator for Unclaimed<'_, N> {
    type Item = FlbEntry;

    fn next(&mut self) -> Option<FlbEntry> {
        let inner = self.registry.inner.lock();
        while let Some(flb) = inner.incoming.get(self.next) {
            self.next = self.next.saturating_add(1);
            let name = flb.entry.name();
            if inner
                .registered
                .binary_search_by(|r| r.name.cmp(name))
                .is_err()
            {
                return Some(flb.entry);
            }
        }
        None
    }
}
