//! The PCI table: the devices preserved across the update, sorted for binary search.

use core::cmp::Ordering;
use core::fmt;
use core::mem::{offset_of, size_of};

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::EntryFault;
use crate::kind::RecordKind;
use crate::record::{Entry, Record, Sealed};

/// A decoded PCI table.
pub type PciTable<'a> = Record<'a, PciEntry>;

/// A PCI function's address: segment (domain) and bus/device/function.
///
/// The domain is 32 bits wide: VMD and other host bridges use domains from `0x10000` up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    /// PCI segment (domain).
    pub domain: u32,
    /// `bus << 8 | device << 3 | function`, as Linux's `pci_dev_id()`.
    pub bdf: u16,
}

impl PciAddress {
    /// The address of `domain:bus:device.function`; `device` is masked to 5 bits and
    /// `function` to 3.
    pub const fn new(domain: u32, bus: u8, device: u8, function: u8) -> PciAddress {
        PciAddress {
            domain,
            bdf: ((bus as u16) << 8) | (((device & 0x1f) as u16) << 3) | (function & 0x7) as u16,
        }
    }

    /// The sort key of the table: `domain << 16 | bdf`.
    pub const fn key(self) -> u64 {
        ((self.domain as u64) << 16) | self.bdf as u64
    }

    /// Bus number.
    pub const fn bus(self) -> u8 {
        (self.bdf >> 8) as u8
    }

    /// Device number (0..32).
    pub const fn device(self) -> u8 {
        ((self.bdf >> 3) & 0x1f) as u8
    }

    /// Function number (0..8).
    pub const fn function(self) -> u8 {
        (self.bdf & 0x7) as u8
    }
}

impl fmt::Display for PciAddress {
    /// `DDDD:BB:DD.F`, as `lspci -D` prints it (more domain digits when needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain,
            self.bus(),
            self.device(),
            self.function()
        )
    }
}

/// One preserved PCI device. 8 bytes, little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | `domain` |
/// | 4 | 2 | `bdf` |
/// | 6 | 2 | `refcount`, at least 1 |
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct PciEntry {
    domain: U32,
    bdf: U16,
    refcount: U16,
}

const _: () = {
    assert!(size_of::<PciEntry>() == 8);
    assert!(offset_of!(PciEntry, domain) == 0);
    assert!(offset_of!(PciEntry, bdf) == 4);
    assert!(offset_of!(PciEntry, refcount) == 6);
};

impl PciEntry {
    /// An entry for `address` preserved `refcount` times.
    pub const fn new(address: PciAddress, refcount: u16) -> PciEntry {
        PciEntry {
            domain: U32::new(address.domain),
            bdf: U16::new(address.bdf),
            refcount: U16::new(refcount),
        }
    }

    /// The device's address.
    pub fn address(&self) -> PciAddress {
        PciAddress {
            domain: self.domain.get(),
            bdf: self.bdf.get(),
        }
    }

    /// How many times the device was preserved.
    pub fn refcount(&self) -> u16 {
        self.refcount.get()
    }

    /// The entry as one little-endian `u64`: `refcount << 48 | bdf << 32 | domain`.
    #[inline]
    fn raw(self) -> u64 {
        u64::from_le_bytes(zerocopy::transmute!(self))
    }

    /// The sort key, `domain << 16 | bdf`, from one 8-byte load.
    #[inline]
    fn key(self) -> u64 {
        key_of(self.raw())
    }
}

/// The sort key of an entry read as a little-endian `u64`.
#[inline]
const fn key_of(raw: u64) -> u64 {
    ((raw & 0xFFFF_FFFF) << 16) | ((raw >> 32) & 0xFFFF)
}

impl Sealed for PciEntry {}

impl Entry for PciEntry {
    const KIND: RecordKind = RecordKind::PciTable;

    fn check(&self, prev: Option<&Self>, _newer: bool) -> Result<(), EntryFault> {
        if self.refcount() == 0 {
            return Err(EntryFault::ZeroRefcount);
        }
        match prev.map(|p| p.key().cmp(&self.key())) {
            Some(Ordering::Equal) => Err(EntryFault::Duplicate),
            Some(Ordering::Greater) => Err(EntryFault::OutOfOrder),
            Some(Ordering::Less) | None => Ok(()),
        }
    }

    fn all_valid(entries: &[Self], _newer: bool) -> bool {
        // One pass, no early exit and no branch on the data: any zero refcount, any key not
        // above the one before it. Each entry is one 8-byte load.
        let mut bad = false;
        let mut prev = 0u64;
        let mut first = true;
        for chunk in entries.as_bytes().chunks_exact(size_of::<PciEntry>()) {
            // A chunk is always 8 bytes; were it not, zero would read as a bad refcount and
            // send the decoder to the exact check.
            let raw = match *chunk {
                [b0, b1, b2, b3, b4, b5, b6, b7] => {
                    u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
                }
                _ => 0,
            };
            let key = key_of(raw);
            #[allow(clippy::needless_bitwise_bool)] // branch-free on purpose
            let fault = (!first & (prev >= key)) | (raw >> 48 == 0);
            bad |= fault;
            prev = key;
            first = false;
        }
        !bad
    }
}

impl<'a> Record<'a, PciEntry> {
    /// The entry for `address`, by binary search: O(log n).
    pub fn find(&self, address: PciAddress) -> Option<&'a PciEntry> {
        let key = address.key();
        let entries = self.entries();
        if let Some(slice) = entries.as_slice() {
            return slice
                .binary_search_by(|e| e.key().cmp(&key))
                .ok()
                .and_then(|i| slice.get(i));
        }
        // A newer minor's wider entries: the same search over strided entries.
        let (mut lo, mut hi) = (0usize, entries.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = entries.get(mid)?;
            match e.key().cmp(&key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(e),
            }
        }
        None
    }

    /// Whether the device at `address` was preserved by the previous kernel.
    pub fn is_preserved(&self, address: PciAddress) -> bool {
        self.find(address).is_some()
    }
}
