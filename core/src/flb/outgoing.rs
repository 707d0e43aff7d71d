//! The outgoing side: registration, file counts, and the FLB table written before kexec.

use core::num::NonZeroU64;

use liveupdate_abi::{AbiVersion, BlockPlace, DirEntry, FlbEntry, FlbFlags, Generation};

use super::{FlbError, FlbOps, FlbRegistry, Outgoing, Registered};
use crate::graph::{TableWriteError, write_table};
use crate::mem::{PhysAddr, PhysMemMut};

impl<const N: usize> FlbRegistry<N> {
    /// Registers the FLB `name` (its compatible string: 1 to 47 printable ASCII bytes, unique)
    /// with its callbacks. Registration is for good: there is no unregister, so a name once
    /// found stays found.
    ///
    /// # Errors
    ///
    /// [`FlbError::InvalidName`], [`FlbError::Duplicate`], [`FlbError::Full`].
    pub fn register(&self, name: &'static str, ops: &'static dyn FlbOps) -> Result<(), FlbError> {
        FlbEntry::new(name, 0, 1, FlbFlags::empty()).map_err(FlbError::InvalidName)?;
        let mut inner = self.inner.lock();
        let Err(index) = inner.registered.binary_search_by(|r| r.name.cmp(name)) else {
            return Err(FlbError::Duplicate);
        };
        let full = FlbError::Full { capacity: N };
        if inner.registered.is_full() {
            return Err(full);
        }
        let flb = Registered {
            name,
            ops,
            outgoing: Outgoing::Idle,
        };
        // index <= len (binary search) and len < N (checked): insert cannot fail or panic.
        inner.registered.insert(index, flb).map_err(|_| full)
    }

    /// A file that depends on the FLB `name` is being preserved: the file count goes up by
    /// one, and on 0 -> 1 the FLB's [`FlbOps::preserve`] runs (without the lock). Returns the
    /// new count.
    ///
    /// # Errors
    ///
    /// [`FlbError::NotRegistered`]; [`FlbError::PreserveFailed`] (the count stays 0);
    /// [`FlbError::Busy`] while `preserve` or `unpreserve` of this FLB runs;
    /// [`FlbError::CountOverflow`].
    pub fn preserve_file(&self, name: &str) -> Result<u64, FlbError> {
        let ops = {
            let mut inner = self.inner.lock();
            let flb = inner.registered(name)?;
            match flb.outgoing {
                Outgoing::Preserving | Outgoing::Unpreserving => return Err(FlbError::Busy),
                Outgoing::Preserved { files, preserved } => {
                    let files = files.checked_add(1).ok_or(FlbError::CountOverflow)?;
                    flb.outgoing = Outgoing::Preserved { files, preserved };
                    return Ok(files.get());
                }
                Outgoing::Idle => {
                    flb.outgoing = Outgoing::Preserving;
                    flb.ops
                }
            }
        };
        let result = ops.preserve();
        let mut inner = self.inner.lock();
        let flb = inner.registered(name)?;
        match result {
            Ok(preserved) => {
                flb.outgoing = Outgoing::Preserved {
                    files: NonZeroU64::MIN,
                    preserved,
                };
                Ok(1)
            }
            Err(e) => {
                flb.outgoing = Outgoing::Idle;
                Err(FlbError::PreserveFailed(e))
            }
        }
    }

    /// A file that depends on the FLB `name` is no longer preserved (cancelled before kexec):
    /// the file count goes down by one, and on 1 -> 0 the FLB's [`FlbOps::unpreserve`] runs
    /// (without the lock). Returns the new count.
    ///
    /// # Errors
    ///
    /// [`FlbError::NotRegistered`]; [`FlbError::NotPreserved`] when the count is 0;
    /// [`FlbError::Busy`] while `preserve` or `unpreserve` of this FLB runs.
    pub fn unpreserve_file(&self, name: &str) -> Result<u64, FlbError> {
        let (ops, preserved) = {
            let mut inner = self.inner.lock();
            let flb = inner.registered(name)?;
            match flb.outgoing {
                Outgoing::Idle => return Err(FlbError::NotPreserved),
                Outgoing::Preserving | Outgoing::Unpreserving => return Err(FlbError::Busy),
                Outgoing::Preserved { files, preserved } => {
                    if let Some(files) = NonZeroU64::new(files.get().saturating_sub(1)) {
                        flb.outgoing = Outgoing::Preserved { files, preserved };
                        return Ok(files.get());
                    }
                    flb.outgoing = Outgoing::Unpreserving;
                    (flb.ops, preserved)
                }
            }
        };
        ops.unpreserve(preserved);
        let mut inner = self.inner.lock();
        inner.registered(name)?.outgoing = Outgoing::Idle;
        Ok(0)
    }

    /// Writes the FLB table of `version` at physical address `addr`: one entry (name, data,
    /// file count, flags) per FLB whose file count is above 0, sorted by name, in a record of
    /// [`FlbRegistry::record_len`] bytes. Returns the directory entry for
    /// [`write_root`](crate::graph::write_root).
    ///
    /// # Errors
    ///
    /// [`FlbError::Busy`] while any FLB's `preserve` or `unpreserve` runs (nothing is
    /// written); [`FlbError::Memory`]; [`FlbError::Table`].
    pub fn serialize<M: PhysMemMut + ?Sized>(
        &self,
        mem: &mut M,
        version: AbiVersion,
        addr: PhysAddr,
        generation: Generation,
    ) -> Result<DirEntry, FlbError> {
        let whole = BlockPlace {
            phys: addr,
            capacity: Self::CAPACITY,
        };
        self.serialize_blocks(mem, version, &[whole], generation)
    }

    /// Writes the FLB table of `version` over `blocks` (ascending, disjoint; a chain from
    /// [`AbiVersion::V1_1`] on, when the entries do not fit the first), as
    /// [`Table::encode`](liveupdate_abi::Table::encode) does. Returns the directory entry of
    /// the first block.
    ///
    /// # Errors
    ///
    /// As [`FlbRegistry::serialize`]; [`FlbError::Table`] names the block, and says when
    /// `version` has no chains for entries beyond the first block.
    pub fn serialize_blocks<M: PhysMemMut + ?Sized>(
        &self,
        mem: &mut M,
        version: AbiVersion,
        blocks: &[BlockPlace],
        generation: Generation,
    ) -> Result<DirEntry, FlbError> {
        let inner = self.inner.lock();
        let busy = inner
            .registered
            .iter()
            .any(|r| matches!(r.outgoing, Outgoing::Preserving | Outgoing::Unpreserving));
        if busy {
            return Err(FlbError::Busy);
        }
        let mut fault = None;
        let entries = inner
            .registered
            .iter()
            .filter_map(|r| match r.outgoing {
                Outgoing::Preserved { files, preserved } => Some((r.name, files, preserved)),
                _ => None,
            })
            .map_while(|(name, files, p)| {
                // Names were checked by `register`; a failure here would be a bug, and is
                // reported rather than dropped.
                FlbEntry::new(name, p.data, files.get(), p.flags)
                    .map_err(|f| fault = Some(f))
                    .ok()
            });
        let written = write_table::<FlbEntry, M>(mem, version, blocks, generation, entries);
        if let Some(fault) = fault {
            return Err(FlbError::InvalidName(fault));
        }
        written.map_err(|e| match e {
            TableWriteError::Memory(e) => FlbError::Memory(e),
            TableWriteError::Table(e) => FlbError::Table(e),
        })
    }
}
