//! The outgoing side: the devices to preserve, with refcounts, sorted for the table.

use core::fmt;
use core::mem::size_of;
use core::num::NonZeroU16;

use heapless::Vec;
use liveupdate_abi::header::HEADER_LEN;
use liveupdate_abi::{DirEntry, PciAddress, PciEntry, PciTable};

use super::PciError;
use crate::mem::PhysMemoryMut;
use crate::sync::Mutex;

/// The PCI devices to preserve across kexec, at most `N`, each with a refcount.
///
/// The capacity is fixed when the tracker is created, so the record's memory can be set aside
/// early ([`PciTracker::RECORD_LEN`]); a device beyond it is refused with an error naming the
/// capacity and the device, never dropped.
///
/// ```
/// use liveupdate_abi::PciAddress;
/// use liveupdate_core::pci::{PciError, PciTracker};
///
/// static PCI: PciTracker<1> = PciTracker::new();
/// let gpu = PciAddress::new(0, 0x3b, 0, 0);
/// assert_eq!(PCI.preserve(gpu), Ok(1));
/// assert_eq!(PCI.preserve(gpu), Ok(2));
/// let vf = PciAddress::new(0, 0x3b, 0, 1);
/// let err = PCI.preserve(vf).unwrap_err();
/// assert_eq!(err, PciError::Full { capacity: 1, address: vf });
/// assert_eq!(
///     err.to_string(),
///     "PCI tracker full: capacity of 1 devices reached, cannot preserve 0000:3b:00.1"
/// );
/// ```
pub struct PciTracker<const N: usize> {
    devices: Mutex<Vec<Device, N>>,
}

/// One tracked device. Sorted by address, which orders as the table's key.
#[derive(Clone, Copy)]
struct Device {
    address: PciAddress,
    refcount: NonZeroU16,
}

impl<const N: usize> fmt::Debug for PciTracker<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PciTracker")
            .field("capacity", &N)
            .finish_non_exhaustive()
    }
}

impl<const N: usize> Default for PciTracker<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PciTracker<N> {
    /// Bytes of the PCI table [`PciTracker::serialize`] writes: a record with room for `N`
    /// devices.
    pub const RECORD_LEN: usize = HEADER_LEN + N * size_of::<PciEntry>();

    /// The table's entry capacity; a tracker too large for the format does not compile.
    #[allow(clippy::cast_possible_truncation)] // checked by the assertion
    const CAPACITY: u32 = {
        assert!(
            N <= (u32::MAX as usize - HEADER_LEN) / size_of::<PciEntry>(),
            "PCI tracker capacity too large for a record"
        );
        N as u32
    };

    /// An empty tracker.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        PciTracker {
            devices: Mutex::new(Vec::new()),
        }
    }

    /// An empty tracker.
    #[cfg(loom)]
    pub fn new() -> Self {
        PciTracker {
            devices: Mutex::new(Vec::new()),
        }
    }

    /// Preserves the device at `address`: adds it with refcount 1, or adds 1 to its refcount.
    /// Returns the new refcount. O(log n) to find, O(n) to insert.
    ///
    /// # Errors
    ///
    /// [`PciError::Full`] naming the capacity and the device; [`PciError::RefcountOverflow`].
    pub fn preserve(&self, address: PciAddress) -> Result<u16, PciError> {
        let mut devices = self.devices.lock();
        match devices.binary_search_by_key(&address, |d| d.address) {
            Ok(index) => {
                let device = devices
                    .get_mut(index)
                    .ok_or(PciError::NotPreserved { address })?;
                device.refcount = device
                    .refcount
                    .checked_add(1)
                    .ok_or(PciError::RefcountOverflow { address })?;
                Ok(device.refcount.get())
            }
            Err(index) => {
                let full = PciError::Full {
                    capacity: N,
                    address,
                };
                if devices.is_full() {
                    return Err(full);
                }
                let device = Device {
                    address,
                    refcount: NonZeroU16::MIN,
                };
                // index <= len (binary search) and len < N: cannot fail or panic.
                devices.insert(index, device).map_err(|_| full)?;
                Ok(1)
            }
        }
    }

    /// Drops one reference to the device at `address`, and the device with the last one.
    /// Returns the refcount left.
    ///
    /// # Errors
    ///
    /// [`PciError::NotPreserved`].
    pub fn unpreserve(&self, address: PciAddress) -> Result<u16, PciError> {
        let not_preserved = PciError::NotPreserved { address };
        let mut devices = self.devices.lock();
        let index = devices
            .binary_search_by_key(&address, |d| d.address)
            .map_err(|_| not_preserved)?;
        let device = devices.get_mut(index).ok_or(not_preserved)?;
        if let Some(left) = NonZeroU16::new(device.refcount.get().saturating_sub(1)) {
            device.refcount = left;
            return Ok(left.get());
        }
        if index < devices.len() {
            devices.remove(index);
        }
        Ok(0)
    }

    /// The refcount of the device at `address`; 0 when it is not preserved.
    pub fn refcount(&self, address: PciAddress) -> u16 {
        let devices = self.devices.lock();
        devices
            .binary_search_by_key(&address, |d| d.address)
            .ok()
            .and_then(|i| devices.get(i))
            .map_or(0, |d| d.refcount.get())
    }

    /// Writes the PCI table at physical address `addr`: every preserved device with its
    /// refcount, sorted, in a record of [`PciTracker::RECORD_LEN`] bytes. Returns the
    /// directory entry for [`write_root`](crate::graph::write_root).
    ///
    /// # Errors
    ///
    /// [`PciError::Memory`], [`PciError::Record`].
    pub fn serialize<M: PhysMemoryMut + ?Sized>(
        &self,
        mem: &mut M,
        addr: u64,
        generation: u64,
    ) -> Result<DirEntry, PciError> {
        let out = mem
            .slice_mut(addr, Self::RECORD_LEN)
            .map_err(PciError::Memory)?;
        let len = {
            let devices = self.devices.lock();
            let entries = devices
                .iter()
                .map(|d| PciEntry::new(d.address, d.refcount.get()));
            PciTable::encode(out, generation, Self::CAPACITY, entries).map_err(PciError::Record)?
        };
        let record = PciTable::decode(out.get(..len).unwrap_or(&[])).map_err(PciError::Record)?;
        Ok(DirEntry::for_record(addr, &record))
    }
}
