//! File-Lifecycle-Bound (FLB) global objects: the registry that preserves them before kexec
//! and hands them back, reference-counted, after it.
//!
//! An FLB is a subsystem's global object that files depend on (the PCI core's device list, an
//! IOMMU's page tables): it is created before the first of its files is preserved and
//! destroyed after the last of them has finished. The registry keeps, per FLB, an outgoing
//! file count and an incoming state, all behind one spin lock that is never held while a
//! callback runs.
//!
//! The states of both sides, as diagrams, and the locking rules are in the
//! [crate docs](crate#flb-lifecycle). In short: callbacks run with no lock held, a
//! transitional state stands for them meanwhile, `retrieve` runs at most once and its failure
//! is final, and an FLB is marked finished before its `finish` runs, exactly once, after the
//! last file's finish and the last guard's drop.

mod error;
mod incoming;
mod ops;
mod outgoing;

use core::fmt;
use core::num::NonZeroU64;
use liveupdate_abi::Capacity;

use heapless::Vec;
use liveupdate_abi::flb::NAME_LEN;
use liveupdate_abi::header::HEADER_LEN;
use liveupdate_abi::{AbiVersion, FlbEntry, Record};

pub use error::FlbError;
pub use incoming::{FlbGuard, Unclaimed};
pub use ops::{FlbOps, OpsError, Preserved};

use crate::sync::Mutex;

/// A registry of at most `N` FLBs, with their outgoing and incoming state.
///
/// `const fn new` and interior locking make it fit a `static`:
///
/// ```
/// use liveupdate_abi::AbiVersion;
/// use liveupdate_core::flb::FlbRegistry;
///
/// static FLBS: FlbRegistry<16> = FlbRegistry::new();
/// assert_eq!(FlbRegistry::<16>::record_len(AbiVersion::V1_1), 64 + 16 * 72);
/// ```
pub struct FlbRegistry<const N: usize> {
    inner: Mutex<Inner<N>>,
}

impl<const N: usize> fmt::Debug for FlbRegistry<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlbRegistry")
            .field("capacity", &N)
            .finish_non_exhaustive()
    }
}

impl<const N: usize> Default for FlbRegistry<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FlbRegistry<N> {
    /// Bytes of the FLB table [`FlbRegistry::serialize`] writes for `version`: a record with
    /// room for `N` entries, whatever the number in use, so its memory can be set aside early.
    pub fn record_len(version: AbiVersion) -> usize {
        // CAPACITY is checked to fit a record.
        Record::<FlbEntry>::len_for(version, Capacity::new(Self::CAPACITY)).unwrap_or(usize::MAX)
    }

    /// The table's entry capacity; a registry too large for the format does not compile.
    #[allow(clippy::cast_possible_truncation)] // checked by the assertion
    const CAPACITY: u32 = {
        assert!(
            N <= (u32::MAX as usize - HEADER_LEN) / FlbEntry::SIZE as usize,
            "FLB registry capacity too large for a record"
        );
        N as u32
    };

    /// An empty registry: nothing registered, no incoming table.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        FlbRegistry {
            inner: Mutex::new(Inner::new()),
        }
    }

    /// An empty registry: nothing registered, no incoming table.
    #[cfg(loom)]
    pub fn new() -> Self {
        FlbRegistry {
            inner: Mutex::new(Inner::new()),
        }
    }
}

/// The state behind the registry's lock.
struct Inner<const N: usize> {
    /// Registered FLBs, sorted by name. Only grows, so a name found once is found again.
    registered: Vec<Registered, N>,
    /// The loaded FLB table's entries, sorted by name. Fixed once loaded, so indices are
    /// stable (guards hold one).
    incoming: Vec<IncomingFlb, N>,
    /// Whether an FLB table was loaded.
    loaded: bool,
}

impl<const N: usize> Inner<N> {
    const fn new() -> Self {
        Inner {
            registered: Vec::new(),
            incoming: Vec::new(),
            loaded: false,
        }
    }

    /// The registered FLB named `name`.
    fn registered(&mut self, name: &str) -> Result<&mut Registered, FlbError> {
        let index = self
            .registered
            .binary_search_by(|r| r.name.cmp(name))
            .map_err(|_| FlbError::NotRegistered)?;
        self.registered
            .get_mut(index)
            .ok_or(FlbError::NotRegistered)
    }

    /// The index of the incoming entry named `name`.
    fn incoming_index(&self, name: &str) -> Result<usize, FlbError> {
        if !self.loaded {
            return Err(FlbError::NoIncomingData);
        }
        let key = name_key(name).ok_or(FlbError::NotFound)?;
        self.incoming
            .binary_search_by(|i| i.entry.name_field().cmp(&key))
            .map_err(|_| FlbError::NotFound)
    }

    /// The ops of the FLB registered as `name`.
    fn ops(&self, name: &str) -> Result<&'static dyn FlbOps, FlbError> {
        self.registered
            .binary_search_by(|r| r.name.cmp(name))
            .ok()
            .and_then(|i| self.registered.get(i))
            .map(|r| r.ops)
            .ok_or(FlbError::NotRegistered)
    }
}

/// A name as the table stores it: NUL-padded to [`NAME_LEN`] bytes. `None` if too long to be
/// any entry's name.
fn name_key(name: &str) -> Option<[u8; NAME_LEN]> {
    let mut key = [0u8; NAME_LEN];
    key.get_mut(..name.len())
        .filter(|_| name.len() < NAME_LEN)?
        .copy_from_slice(name.as_bytes());
    Some(key)
}

/// One registered FLB.
struct Registered {
    name: &'static str,
    ops: &'static dyn FlbOps,
    outgoing: Outgoing,
}

/// The outgoing side of an FLB.
#[derive(Clone, Copy)]
enum Outgoing {
    /// No file preserved.
    Idle,
    /// `preserve` is running (count 0 -> 1).
    Preserving,
    /// `files` files preserved; `preserve` returned `preserved`.
    Preserved {
        files: NonZeroU64,
        preserved: Preserved,
    },
    /// `unpreserve` is running (count 1 -> 0).
    Unpreserving,
}

/// One entry of the loaded FLB table and its incoming state.
struct IncomingFlb {
    /// The entry as the previous kernel wrote it.
    entry: FlbEntry,
    /// Files that have not finished yet.
    files: u64,
    state: State,
}

/// The incoming state of an FLB; see the diagram in the [module docs](self).
#[derive(Clone, Copy)]
enum State {
    /// Not retrieved yet.
    Pending,
    /// `retrieve` is running, for a `get` or for the last `finish_file`.
    Retrieving,
    /// Retrieved; `guards` guards are held.
    Live {
        ops: &'static dyn FlbOps,
        object: u64,
        guards: u32,
    },
    /// `retrieve` failed; final.
    Failed(OpsError),
    /// Marked finished; `finish` is running.
    Finishing,
    /// `finish` has returned.
    Finished,
}
