//! The errors of the PCI accessors.

use core::fmt;

use liveupdate_abi::{EncodeError, PciAddress, PciFlags, PciIdentity, TableError};

use crate::mem::MemError;

/// Why a PCI operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PciError {
    /// `preserve`: the tracker already holds as many devices as its capacity (for example
    /// after hot-plug or new VFs), and this device is not one of them.
    Full {
        /// The tracker's capacity.
        capacity: usize,
        /// The device that did not fit.
        address: PciAddress,
    },
    /// `preserve`: the device's refcount is already `u16::MAX`.
    RefcountOverflow {
        /// The device.
        address: PciAddress,
    },
    /// `preserve_device`: flags a caller may not give (`DESCENDANT`, unknown bits).
    Flags {
        /// The device.
        address: PciAddress,
        /// The flags given.
        flags: PciFlags,
    },
    /// `preserve`: another identity was recorded for this address: not the same device.
    IdentityConflict {
        /// The device's address.
        address: PciAddress,
        /// The identity recorded first.
        recorded: PciIdentity,
    },
    /// `unpreserve`: the device is not preserved.
    NotPreserved {
        /// The device.
        address: PciAddress,
    },
    /// No PCI table was loaded: nothing was handed over (or it had no PCI table).
    NoIncomingData,
    /// `load`: a PCI table was already loaded.
    AlreadyLoaded,
    /// The incoming PCI state is finished: its table may be gone.
    Finished,
    /// `serialize`: the output range is not in mapped memory.
    Memory(MemError),
    /// `serialize`: the PCI table could not be written (the error names the block).
    Table(TableError<EncodeError>),
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciError::Full { capacity, address } => write!(
                f,
                "PCI tracker full: capacity of {capacity} devices reached, cannot preserve {address}"
            ),
            PciError::RefcountOverflow { address } => {
                write!(f, "PCI device {address}: refcount overflow")
            }
            PciError::Flags { address, flags } => write!(
                f,
                "PCI device {address}: flags {:#x} cannot be given (DESCENDANT comes from preserve_descendant)",
                flags.bits()
            ),
            PciError::IdentityConflict { address, recorded } => write!(
                f,
                "PCI device {address}: preserved as {recorded} before, now as another device"
            ),
            PciError::NotPreserved { address } => {
                write!(f, "PCI device {address} is not preserved")
            }
            PciError::NoIncomingData => f.write_str("no incoming PCI table was handed over"),
            PciError::AlreadyLoaded => f.write_str("an incoming PCI table is already loaded"),
            PciError::Finished => f.write_str("the incoming PCI state is finished"),
            PciError::Memory(e) => write!(f, "PCI table: {e}"),
            PciError::Table(e) => write!(f, "PCI table: {e}"),
        }
    }
}

/// Its `Display` prints every inner error, so `source()` is `None`: an error-chain reporter
/// prints every message once.
impl core::error::Error for PciError {}
