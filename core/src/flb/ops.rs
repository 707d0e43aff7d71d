//! What a subsystem supplies for its FLB: four callbacks, and the handles they exchange.

use core::fmt;

use liveupdate_abi::FlbFlags;

/// The callbacks of one FLB.
///
/// The registry calls each with no registry lock held, so a callback may call the registry
/// back: on its own FLB, `get` answers [`FlbError::Busy`](super::FlbError::Busy) during
/// `retrieve` and [`FlbError::Finished`](super::FlbError::Finished) during `finish`, instead of
/// deadlocking. Objects are opaque `u64` handles (a pointer, an index, a physical address):
/// the registry stores and passes them, never dereferences them.
pub trait FlbOps: Sync {
    /// Outgoing: the first file that depends on this FLB is being preserved (file count
    /// 0 -> 1). Create or pin the global object and return it with the data handle to write
    /// into the FLB table. On error the count stays 0 and the file preserve should fail.
    ///
    /// # Errors
    ///
    /// The subsystem's error, returned to the caller as
    /// [`FlbError::PreserveFailed`](super::FlbError::PreserveFailed).
    fn preserve(&self) -> Result<Preserved, OpsError>;

    /// Outgoing: the last file that depended on this FLB was unpreserved before kexec (file
    /// count 1 -> 0). Undo [`FlbOps::preserve`].
    fn unpreserve(&self, preserved: Preserved);

    /// Incoming: rebuild the object from the `data` handle the previous kernel's `preserve`
    /// returned. Called at most once per boot: on the first `get`, or on the last file's
    /// finish if nobody called `get`.
    ///
    /// # Errors
    ///
    /// The subsystem's error. It is final: every later `get` returns it as
    /// [`FlbError::RetrieveFailed`](super::FlbError::RetrieveFailed), and `finish` never runs.
    fn retrieve(&self, data: u64) -> Result<u64, OpsError>;

    /// Incoming: every dependent file has finished and no guard is held. Release `object`.
    /// Called exactly once, after the FLB is marked finished, so nothing can obtain the
    /// object any more.
    fn finish(&self, object: u64);
}

/// What [`FlbOps::preserve`] returns: the handle for the next kernel, and the live object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preserved {
    /// Written to the FLB table; the next kernel's `retrieve` receives it.
    pub data: u64,
    /// This kernel's object, handed back to [`FlbOps::unpreserve`].
    pub object: u64,
    /// Flags written with `data`, e.g. [`FlbFlags::DATA_IS_PHYS`].
    pub flags: FlbFlags,
}

/// A callback's error: an errno-style code, kept and returned exactly as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpsError(pub i32);

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "callback error {}", self.0)
    }
}

impl core::error::Error for OpsError {}
