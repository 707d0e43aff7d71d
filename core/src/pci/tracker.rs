//! The outgoing side: the devices to preserve, with refcounts, identities and flags, sorted for
//! the table.

use core::fmt;
use liveupdate_abi::{Capacity, Generation};

use heapless::Vec;
use liveupdate_abi::header::HEADER_LEN;
use liveupdate_abi::{
    AbiVersion, BlockPlace, DirEntry, PciAddress, PciDevice, PciEntry, PciFlags, PciIdentity,
    Record,
};

use super::PciError;
use crate::graph::{TableWriteError, write_table};
use crate::mem::{PhysAddr, PhysMemMut};
use crate::sync::Mutex;

/// The PCI devices to preserve across kexec, at most `N`, each with a refcount and, when the
/// caller knows them, its identity and flags.
///
/// The capacity is fixed when the tracker is created, so the record's memory can be set aside
/// early ([`PciTracker::record_len`]); a device beyond it is refused with an error naming the
/// capacity and the device, never dropped.
///
/// A device's references are its own preservations ([`PciTracker::preserve`],
/// [`PciTracker::preserve_device`]) plus, for a bridge, one per preserved device below it
/// ([`PciTracker::preserve_descendant`]: upstream's pci-v3 auto-preserved bridges). The table
/// records their sum as the refcount, and `DESCENDANT` while the bridge has any of the latter.
///
/// ```
/// use liveupdate_abi::PciAddress;
/// use liveupdate_core::pci::{PciError, PciTracker};
///
/// static PCI: PciTracker<1> = PciTracker::new();
/// let gpu = PciAddress::new(0, 0x3b, 0, 0).unwrap();
/// assert_eq!(PCI.preserve(gpu), Ok(1));
/// assert_eq!(PCI.preserve(gpu), Ok(2));
/// let vf = PciAddress::new(0, 0x3b, 0, 1).unwrap();
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

/// One tracked device. Sorted by address, which orders as the table's key. Never both counts
/// zero.
#[derive(Clone, Copy)]
struct Device {
    address: PciAddress,
    /// Its own preservations.
    own: u16,
    /// References of preserved devices below it (a bridge).
    descendants: u16,
    identity: Option<PciIdentity>,
    /// `BRIDGE` and `BUS_MASTER` as given; `DESCENDANT` follows from `descendants`.
    flags: PciFlags,
}

impl Device {
    fn refcount(&self) -> u16 {
        // Kept below u16::MAX by `reference`.
        self.own.saturating_add(self.descendants)
    }

    fn item(&self) -> PciDevice {
        let mut flags = self.flags;
        flags.set(PciFlags::DESCENDANT, self.descendants > 0);
        let device = PciDevice::new(self.address, self.refcount()).with_flags(flags);
        match self.identity {
            Some(identity) => device.with_identity(identity),
            None => device,
        }
    }
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

/// Which of a device's references a call takes or drops.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reference {
    Own,
    Descendant,
}

impl<const N: usize> PciTracker<N> {
    /// Bytes of the PCI table [`PciTracker::serialize`] writes for `version`: a record with
    /// room for `N` devices ([`PciEntry::SIZE_1_0`] bytes each in 1.0,
    /// [`PciEntry::SIZE_1_1`] in 1.1).
    pub fn record_len(version: AbiVersion) -> usize {
        // CAPACITY is checked to fit a record of the widest entries.
        Record::<PciEntry>::len_for(version, Capacity::new(Self::CAPACITY)).unwrap_or(usize::MAX)
    }

    /// The table's entry capacity; a tracker too large for the format does not compile.
    #[allow(clippy::cast_possible_truncation)] // checked by the assertion
    const CAPACITY: u32 = {
        assert!(
            N <= (u32::MAX as usize - HEADER_LEN) / PciEntry::SIZE_1_1 as usize,
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

    /// Preserves the device at `address`, identity and flags unknown: adds it with refcount 1,
    /// or adds 1 to its refcount. Returns the new refcount. O(log n) to find, O(n) to insert.
    ///
    /// # Errors
    ///
    /// [`PciError::Full`] naming the capacity and the device; [`PciError::RefcountOverflow`].
    pub fn preserve(&self, address: PciAddress) -> Result<u16, PciError> {
        self.reference(address, Reference::Own, None, PciFlags::empty())
    }

    /// Preserves the device at `address` as [`PciTracker::preserve`] does, recording what it
    /// is (`identity`, from its configuration space at preservation) and `flags` (`BRIDGE`,
    /// `BUS_MASTER`), so the next kernel can refuse the entry if another device is at the
    /// address then. Flags accumulate over preservations.
    ///
    /// # Errors
    ///
    /// As [`PciTracker::preserve`]; [`PciError::Flags`] for `DESCENDANT` (which only
    /// [`PciTracker::preserve_descendant`] sets) or a flag 1.1 does not define;
    /// [`PciError::IdentityConflict`] when another identity was recorded for the address.
    pub fn preserve_device(
        &self,
        address: PciAddress,
        identity: Option<PciIdentity>,
        flags: PciFlags,
    ) -> Result<u16, PciError> {
        let allowed = PciFlags::BRIDGE | PciFlags::BUS_MASTER;
        if !allowed.contains(flags) {
            return Err(PciError::Flags { address, flags });
        }
        self.reference(address, Reference::Own, identity, flags)
    }

    /// Takes a reference on the bridge at `bridge` for a preserved device below it (upstream's
    /// pci-v3 auto-preserved bridges): the bridge is kept, flagged `BRIDGE` and `DESCENDANT`,
    /// its refcount counting such devices. Returns the new refcount.
    ///
    /// # Errors
    ///
    /// As [`PciTracker::preserve_device`].
    pub fn preserve_descendant(
        &self,
        bridge: PciAddress,
        identity: Option<PciIdentity>,
    ) -> Result<u16, PciError> {
        self.reference(bridge, Reference::Descendant, identity, PciFlags::BRIDGE)
    }

    fn reference(
        &self,
        address: PciAddress,
        kind: Reference,
        identity: Option<PciIdentity>,
        flags: PciFlags,
    ) -> Result<u16, PciError> {
        let mut devices = self.devices.lock();
        match devices.binary_search_by_key(&address, |d| d.address) {
            Ok(index) => {
                let device = devices
                    .get_mut(index)
                    .ok_or(PciError::NotPreserved { address })?;
                if let (Some(recorded), Some(new)) = (device.identity, identity)
                    && recorded != new
                {
                    return Err(PciError::IdentityConflict { address, recorded });
                }
                if device.refcount() == u16::MAX {
                    return Err(PciError::RefcountOverflow { address });
                }
                match kind {
                    Reference::Own => device.own += 1,
                    Reference::Descendant => device.descendants += 1,
                }
                device.identity = device.identity.or(identity);
                device.flags |= flags;
                Ok(device.refcount())
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
                    own: u16::from(kind == Reference::Own),
                    descendants: u16::from(kind == Reference::Descendant),
                    identity,
                    flags,
                };
                // index <= len (binary search) and len < N: cannot fail or panic.
                devices.insert(index, device).map_err(|_| full)?;
                Ok(1)
            }
        }
    }

    /// Drops one of the device's own preservations, and the device with its last reference.
    /// Returns the refcount left.
    ///
    /// # Errors
    ///
    /// [`PciError::NotPreserved`] when the device has no preservation of its own.
    pub fn unpreserve(&self, address: PciAddress) -> Result<u16, PciError> {
        self.release(address, Reference::Own)
    }

    /// Drops the reference a device below the bridge at `bridge` held
    /// ([`PciTracker::preserve_descendant`]). Returns the refcount left.
    ///
    /// # Errors
    ///
    /// [`PciError::NotPreserved`] when no device below it holds one.
    pub fn unpreserve_descendant(&self, bridge: PciAddress) -> Result<u16, PciError> {
        self.release(bridge, Reference::Descendant)
    }

    fn release(&self, address: PciAddress, kind: Reference) -> Result<u16, PciError> {
        let not_preserved = PciError::NotPreserved { address };
        let mut devices = self.devices.lock();
        let index = devices
            .binary_search_by_key(&address, |d| d.address)
            .map_err(|_| not_preserved)?;
        let device = devices.get_mut(index).ok_or(not_preserved)?;
        let count = match kind {
            Reference::Own => &mut device.own,
            Reference::Descendant => &mut device.descendants,
        };
        *count = count.checked_sub(1).ok_or(not_preserved)?;
        let left = device.refcount();
        if left == 0 && index < devices.len() {
            devices.remove(index);
        }
        Ok(left)
    }

    /// The refcount of the device at `address`; 0 when it is not preserved.
    pub fn refcount(&self, address: PciAddress) -> u16 {
        self.device(address).map_or(0, |d| d.refcount)
    }

    /// The device at `address` as the table will hold it (at 1.1), if preserved.
    pub fn device(&self, address: PciAddress) -> Option<PciDevice> {
        let devices = self.devices.lock();
        devices
            .binary_search_by_key(&address, |d| d.address)
            .ok()
            .and_then(|i| devices.get(i))
            .map(Device::item)
    }

    /// Writes the PCI table of `version` at physical address `addr`: every preserved device
    /// with its refcount (and from 1.1 its identity and flags), sorted, in a record of
    /// [`PciTracker::record_len`] bytes. Returns the directory entry for
    /// [`write_root`](crate::graph::write_root).
    ///
    /// # Errors
    ///
    /// [`PciError::Memory`]; [`PciError::Table`], which for [`AbiVersion::V1_0`] says which
    /// device has an identity or flags 1.0 cannot express.
    pub fn serialize<M: PhysMemMut + ?Sized>(
        &self,
        mem: &mut M,
        version: AbiVersion,
        addr: PhysAddr,
        generation: Generation,
    ) -> Result<DirEntry, PciError> {
        let whole = BlockPlace {
            phys: addr,
            capacity: Self::CAPACITY,
        };
        self.serialize_blocks(mem, version, &[whole], generation)
    }

    /// Writes the PCI table of `version` over `blocks` (ascending, disjoint; a chain from
    /// [`AbiVersion::V1_1`] on, when the devices do not fit the first), as
    /// [`Table::encode`](liveupdate_abi::Table::encode) does: the tracker's capacity is
    /// fixed, the table's memory need not be one range. Returns the directory entry of the
    /// first block.
    ///
    /// # Errors
    ///
    /// As [`PciTracker::serialize`]; [`PciError::Table`] names the block, and says when
    /// `version` has no chains for devices beyond the first block.
    pub fn serialize_blocks<M: PhysMemMut + ?Sized>(
        &self,
        mem: &mut M,
        version: AbiVersion,
        blocks: &[BlockPlace],
        generation: Generation,
    ) -> Result<DirEntry, PciError> {
        let devices = self.devices.lock();
        let items = devices.iter().map(Device::item).map(|d| match version {
            // 1.0 has no flags field: no flag set is nothing lost.
            AbiVersion::V1_0 if d.flags == Some(PciFlags::empty()) => {
                PciDevice { flags: None, ..d }
            }
            _ => d,
        });
        write_table::<PciEntry, M>(mem, version, blocks, generation, items).map_err(|e| match e {
            TableWriteError::Memory(e) => PciError::Memory(e),
            TableWriteError::Table(e) => PciError::Table(e),
        })
    }
}
