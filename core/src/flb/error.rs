//! The errors of the FLB registry.

use core::fmt;

use liveupdate_abi::{EncodeError, EntryFault, TableError};

use super::ops::OpsError;
use crate::mem::MemError;

/// Why an FLB operation was refused. Each case is distinct, so a caller can tell "nothing was
/// handed over" from "handed over by a kernel that used another name" from "finished".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlbError {
    /// `register`: the name is not a valid FLB name (1 to 47 printable ASCII bytes).
    InvalidName(EntryFault),
    /// `register`: an FLB with this name is already registered.
    Duplicate,
    /// `register` or `load`: more FLBs than the registry's capacity.
    Full {
        /// The capacity (the registry's `N`).
        capacity: usize,
    },
    /// No FLB with this name is registered.
    NotRegistered,
    /// `unpreserve_file`: no file of this FLB is preserved.
    NotPreserved,
    /// `preserve_file`: the FLB's `preserve` callback failed; the file count stays 0.
    PreserveFailed(OpsError),
    /// A callback of this FLB is running (`preserve`, `unpreserve` or `retrieve`); retry
    /// when it returns. Also returned by `serialize` while any FLB is in such a callback.
    Busy,
    /// A file count or guard count would overflow.
    CountOverflow,
    /// No FLB table was loaded: nothing was handed over (or it had no FLB table).
    NoIncomingData,
    /// `load`: an FLB table was already loaded.
    AlreadyLoaded,
    /// The loaded FLB table has no entry with this name.
    NotFound,
    /// The FLB's `retrieve` callback failed, now or earlier; the error is final.
    RetrieveFailed(OpsError),
    /// Every file of the FLB has finished: the object is gone or going.
    Finished,
    /// `serialize`: the output range is not in mapped memory.
    Memory(MemError),
    /// `serialize`: the FLB table could not be written (the error names the block).
    Table(TableError<EncodeError>),
}

impl fmt::Display for FlbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlbError::InvalidName(fault) => write!(f, "FLB name: {fault}"),
            FlbError::Duplicate => f.write_str("an FLB with this name is already registered"),
            FlbError::Full { capacity } => {
                write!(f, "FLB registry full: capacity is {capacity} FLBs")
            }
            FlbError::NotRegistered => f.write_str("no FLB with this name is registered"),
            FlbError::NotPreserved => f.write_str("no file of this FLB is preserved"),
            FlbError::PreserveFailed(e) => write!(f, "FLB preserve failed: {e}"),
            FlbError::Busy => f.write_str("an FLB callback is running; retry"),
            FlbError::CountOverflow => f.write_str("FLB file or guard count overflow"),
            FlbError::NoIncomingData => f.write_str("no incoming FLB table was handed over"),
            FlbError::AlreadyLoaded => f.write_str("an incoming FLB table is already loaded"),
            FlbError::NotFound => f.write_str("the incoming FLB table has no entry of this name"),
            FlbError::RetrieveFailed(e) => write!(f, "FLB retrieve failed: {e}"),
            FlbError::Finished => f.write_str("the FLB is finished"),
            FlbError::Memory(e) => write!(f, "FLB table: {e}"),
            FlbError::Table(e) => write!(f, "FLB table: {e}"),
        }
    }
}

/// Its `Display` prints every inner error, so `source()` is `None`: an error-chain reporter
/// prints every message once.
impl core::error::Error for FlbError {}
