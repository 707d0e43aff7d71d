//! The PCI table: the devices preserved across the update, sorted for binary search.
//!
//! Every minor stores the 8-byte [`PciEntry`] (address and refcount) first in each slot;
//! minor 1 ("ABI 1.1") appends 16 bytes: the device's identity and its [`PciFlags`]. A
//! [`PciDevice`] is the whole entry as a value: what a writer gives and what
//! [`Record::devices`] hands out, with `None` for what a minor 0 record does not hold.

use core::cmp::Ordering;
use core::fmt;
use core::mem::{offset_of, size_of};
use core::num::NonZeroU16;

use bitflags::bitflags;
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::{EntryFault, Unfit};
use crate::header::{Features, IncompatFeatures, RoCompatFeatures};
use crate::kind::RecordKind;
use crate::record::{Entry, Record, Scan, ScanFn, Sealed};
use crate::table::Table;
use crate::version::AbiVersion;

/// A decoded PCI table.
pub type PciTable<'a> = Record<'a, PciEntry>;

/// A PCI function's address: segment (domain) and bus/device/function.
///
/// The domain is 32 bits wide: VMD and other host bridges use domains from `0x10000` up.
/// Addresses are ordered by their [`PciAddress::key`], the order of a PCI table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PciAddress {
    /// PCI segment (domain).
    pub domain: u32,
    /// `bus << 8 | device << 3 | function`, as Linux's `pci_dev_id()`.
    pub bdf: u16,
}

/// Why [`PciAddress::new`] refused its arguments: a number out of its field's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PciAddressError {
    /// The device number is above 31 (it has 5 bits).
    Device {
        /// The device number given.
        device: u8,
    },
    /// The function number is above 7 (it has 3 bits).
    Function {
        /// The function number given.
        function: u8,
    },
}

impl fmt::Display for PciAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PciAddressError::Device { device } => {
                write!(f, "PCI device number {device} is out of range (0..=31)")
            }
            PciAddressError::Function { function } => {
                write!(f, "PCI function number {function} is out of range (0..=7)")
            }
        }
    }
}

impl core::error::Error for PciAddressError {}

impl PciAddress {
    /// The address of `domain:bus:device.function`.
    ///
    /// # Errors
    ///
    /// [`PciAddressError::Device`] for a device number above 31 and
    /// [`PciAddressError::Function`] for a function number above 7: they are refused, never
    /// masked into another device's address.
    pub const fn new(
        domain: u32,
        bus: u8,
        device: u8,
        function: u8,
    ) -> Result<PciAddress, PciAddressError> {
        if device > 0x1f {
            return Err(PciAddressError::Device { device });
        }
        if function > 0x7 {
            return Err(PciAddressError::Function { function });
        }
        Ok(PciAddress {
            domain,
            bdf: ((bus as u16) << 8) | ((device as u16) << 3) | function as u16,
        })
    }

    /// The address of `domain` and `bdf` (`bus << 8 | device << 3 | function`, as Linux's
    /// `pci_dev_id()`): every pair is an address.
    pub const fn from_parts(domain: u32, bdf: u16) -> PciAddress {
        PciAddress { domain, bdf }
    }

    /// The address whose [`PciAddress::key`] is the low 48 bits of `key`; the bits above them
    /// are not part of any key and are ignored.
    // Truncations on purpose: the key's fields, by their widths.
    #[allow(clippy::cast_possible_truncation)]
    pub const fn from_key(key: u64) -> PciAddress {
        PciAddress {
            domain: (key >> 16) as u32,
            bdf: key as u16,
        }
    }

    /// The sort key of the table: `domain << 16 | bdf`. It orders addresses ([`Ord`]).
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

impl Ord for PciAddress {
    /// By [`PciAddress::key`]: domain, then bus, device and function, as a PCI table is sorted.
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for PciAddress {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
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
    /// Size of a PCI entry slot at minor 0: the address and refcount (8).
    // 8: far below u16::MAX.
    #[allow(clippy::cast_possible_truncation)]
    pub const SIZE_1_0: u16 = size_of::<PciEntry>() as u16;

    /// Size of a PCI entry slot at minor 1: the minor 0 fields, then the identity and flags
    /// (24).
    // 24: far below u16::MAX.
    #[allow(clippy::cast_possible_truncation)]
    pub const SIZE_1_1: u16 = (size_of::<PciEntry>() + size_of::<PciExt>()) as u16;

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

/// What a device is, as its configuration space says: vendor, device and class code.
///
/// Recorded at preservation and compared, after kexec, with what is found at the same address,
/// so that a kernel never restores state onto a different device (a card swapped or a slot
/// renumbered). Vendor `0x0000` and `0xFFFF` are not identities (the latter is what a read of an
/// absent function returns); the class code has 24 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PciIdentity {
    vendor_id: NonZeroU16,
    device_id: u16,
    class_code: u32,
}

impl PciIdentity {
    /// The identity of a function with these vendor and device ids and this 24-bit class code
    /// (`base class << 16 | sub-class << 8 | programming interface`, as Linux's
    /// `pci_dev->class`).
    ///
    /// # Errors
    ///
    /// [`EntryFault::Vendor`] for vendor `0x0000` or `0xFFFF`; [`EntryFault::ClassCode`] for a
    /// class code wider than 24 bits.
    pub const fn new(vendor_id: u16, device_id: u16, class_code: u32) -> Result<Self, EntryFault> {
        let Some(vendor) = NonZeroU16::new(vendor_id) else {
            return Err(EntryFault::Vendor { vendor_id });
        };
        if vendor_id == 0xFFFF {
            return Err(EntryFault::Vendor { vendor_id });
        }
        if class_code > CLASS_MASK {
            return Err(EntryFault::ClassCode { class_code });
        }
        Ok(PciIdentity {
            vendor_id: vendor,
            device_id,
            class_code,
        })
    }

    /// Vendor id.
    pub const fn vendor_id(self) -> u16 {
        self.vendor_id.get()
    }

    /// Device id.
    pub const fn device_id(self) -> u16 {
        self.device_id
    }

    /// The 24-bit class code.
    pub const fn class_code(self) -> u32 {
        self.class_code
    }

    /// Compares this recorded identity with the one found at probe time: vendor id, device id,
    /// base class and sub-class must agree. The programming interface (the low byte of the
    /// class code) is not compared: some functions let the driver change it (IDE and SATA
    /// controllers switching between legacy and native mode).
    pub const fn matches(self, probed: PciIdentity) -> bool {
        self.vendor_id.get() == probed.vendor_id.get()
            && self.device_id == probed.device_id
            && self.class_code >> 8 == probed.class_code >> 8
    }
}

impl fmt::Display for PciIdentity {
    /// `vvvv:dddd class cccccc`, as `lspci -n` shows them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:04x} class {:06x}",
            self.vendor_id, self.device_id, self.class_code
        )
    }
}

const CLASS_MASK: u32 = 0x00FF_FFFF;

bitflags! {
    /// What else the outgoing kernel knew about a preserved device (minor 1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PciFlags: u32 {
        /// The function is a bridge (header type 1): devices below it depend on it.
        const BRIDGE = 1 << 0;
        /// The bridge is preserved (also) because preserved devices are below it, and its
        /// refcount counts them, one reference per preserved device below it plus its own
        /// preservations (upstream's pci-v3 semantics). Requires [`PciFlags::BRIDGE`]; a record
        /// holding such an entry sets [`RoCompatFeatures::HIERARCHY`].
        const DESCENDANT = 1 << 1;
        /// Bus mastering was enabled: the device may be doing DMA across the update.
        const BUS_MASTER = 1 << 2;
    }
}

/// How the identity recorded for a device compares with the one found at probe time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityMatch {
    /// The same device ([`PciIdentity::matches`]).
    Match,
    /// Another device is at the address now: the entry must not be applied to it.
    Mismatch {
        /// The identity the previous kernel recorded.
        recorded: PciIdentity,
    },
    /// Nothing to compare with: the previous kernel did not record an identity (it wrote
    /// minor 0, or did not know it).
    Unknown,
}

/// One preserved device with every field any minor defines: what a writer gives for a PCI
/// table entry, and what [`Record::devices`] gives back.
///
/// `identity` is `None` when unknown; `flags` is `None` when the record has no flags field
/// (minor 0). A writer targeting [`AbiVersion::V1_0`] refuses a device with an identity or with
/// flags, rather than dropping them ([`Unfit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PciDevice {
    /// The device's address.
    pub address: PciAddress,
    /// How many references hold the device, at least 1.
    pub refcount: u16,
    /// What the device is, if known.
    pub identity: Option<PciIdentity>,
    /// Its flags, if recorded.
    pub flags: Option<PciFlags>,
}

impl PciDevice {
    /// A device at `address` held `refcount` times, identity and flags unknown.
    pub const fn new(address: PciAddress, refcount: u16) -> PciDevice {
        PciDevice {
            address,
            refcount,
            identity: None,
            flags: None,
        }
    }

    /// The same device with the identity found when it was preserved.
    #[must_use]
    pub const fn with_identity(mut self, identity: PciIdentity) -> PciDevice {
        self.identity = Some(identity);
        self
    }

    /// The same device with `flags`.
    #[must_use]
    pub const fn with_flags(mut self, flags: PciFlags) -> PciDevice {
        self.flags = Some(flags);
        self
    }

    /// Compares the recorded identity with `probed`, the identity found at probe time.
    pub fn check_identity(&self, probed: PciIdentity) -> IdentityMatch {
        match self.identity {
            None => IdentityMatch::Unknown,
            Some(recorded) if recorded.matches(probed) => IdentityMatch::Match,
            Some(recorded) => IdentityMatch::Mismatch { recorded },
        }
    }

    /// The fields every minor stores.
    pub const fn entry(&self) -> PciEntry {
        PciEntry::new(self.address, self.refcount)
    }
}

impl From<PciEntry> for PciDevice {
    fn from(entry: PciEntry) -> PciDevice {
        PciDevice::new(entry.address(), entry.refcount())
    }
}

/// The fields minor 1 appends to a PCI entry. 16 bytes, little-endian, at slot offset 8.
///
/// | offset | size | field |
/// |---|---|---|
/// | 8 | 2 | `vendor_id`, 0 when the identity is unknown |
/// | 10 | 2 | `device_id` |
/// | 12 | 4 | `class_code`, 24 bits; bits 24..31 zero |
/// | 16 | 4 | `flags` ([`PciFlags`]) |
/// | 20 | 4 | reserved, zero |
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
struct PciExt {
    vendor_id: U16,
    device_id: U16,
    class_code: U32,
    flags: U32,
    reserved: U32,
}

const _: () = {
    assert!(size_of::<PciExt>() == 16);
    assert!(offset_of!(PciExt, vendor_id) == 0);
    assert!(offset_of!(PciExt, device_id) == 2);
    assert!(offset_of!(PciExt, class_code) == 4);
    assert!(offset_of!(PciExt, flags) == 8);
    assert!(offset_of!(PciExt, reserved) == 12);
    assert!((size_of::<PciEntry>() + size_of::<PciExt>()).is_multiple_of(8));
    assert!(PciEntry::SIZE_1_1 == 24);
};

impl PciExt {
    /// The identity, if recorded (vendor id not 0). Only meaningful for checked bytes.
    fn identity(&self) -> Option<PciIdentity> {
        PciIdentity::new(
            self.vendor_id.get(),
            self.device_id.get(),
            self.class_code.get() & CLASS_MASK,
        )
        .ok()
    }
}

impl Sealed for PciEntry {
    fn ext_len(version: AbiVersion) -> usize {
        usize::from(PciEntry::entry_size(version)).saturating_sub(size_of::<PciEntry>())
    }

    fn check_ext(ext: &[u8], newer: bool) -> Result<RoCompatFeatures, EntryFault> {
        let Ok((ext, _)) = PciExt::ref_from_prefix(ext) else {
            return Ok(RoCompatFeatures::empty());
        };
        let (vendor_id, class_code) = (ext.vendor_id.get(), ext.class_code.get());
        if vendor_id == 0 {
            // Unknown identity: all of it zero (the class's top byte is a newer minor's).
            let class = if newer {
                class_code & CLASS_MASK
            } else {
                class_code
            };
            if ext.device_id.get() != 0 || class != 0 {
                return Err(EntryFault::IdentityIncomplete);
            }
        } else if vendor_id == 0xFFFF {
            return Err(EntryFault::Vendor { vendor_id });
        } else if !newer && class_code > CLASS_MASK {
            return Err(EntryFault::ClassCode { class_code });
        }
        let flags = PciFlags::from_bits_retain(ext.flags.get());
        if !newer {
            let unknown = flags.bits() & !PciFlags::all().bits();
            if unknown != 0 {
                return Err(EntryFault::UnknownFlags { bits: unknown });
            }
            if ext.reserved.get() != 0 {
                return Err(EntryFault::Reserved);
            }
        }
        if flags.contains(PciFlags::DESCENDANT) {
            if !flags.contains(PciFlags::BRIDGE) {
                return Err(EntryFault::DescendantNotBridge);
            }
            return Ok(RoCompatFeatures::HIERARCHY);
        }
        Ok(RoCompatFeatures::empty())
    }

    fn split(
        item: &PciDevice,
        index: u32,
        ext: &mut [u8],
        version: AbiVersion,
    ) -> Result<PciEntry, Unfit> {
        let flags = item.flags.unwrap_or_default();
        if version == AbiVersion::V1_0 {
            if item.identity.is_some() {
                return Err(Unfit::Identity { index });
            }
            if !flags.is_empty() {
                return Err(Unfit::Flags {
                    index,
                    bits: flags.bits(),
                });
            }
        }
        if let Ok((out, _)) = PciExt::mut_from_prefix(ext) {
            let id = item.identity;
            *out = PciExt {
                vendor_id: U16::new(id.map_or(0, PciIdentity::vendor_id)),
                device_id: U16::new(id.map_or(0, PciIdentity::device_id)),
                class_code: U32::new(id.map_or(0, PciIdentity::class_code)),
                flags: U32::new(flags.bits()),
                reserved: U32::ZERO,
            };
        }
        Ok(item.entry())
    }

    const SCAN: Option<ScanFn> = Some(scan);

    fn scan_key(&self) -> u64 {
        self.key()
    }

    fn join(entry: &PciEntry, ext: Option<&[u8]>) -> PciDevice {
        let device = PciDevice::from(*entry);
        match ext.and_then(|e| PciExt::ref_from_prefix(e).ok()) {
            None => device,
            Some((ext, _)) => PciDevice {
                identity: ext.identity(),
                flags: Some(PciFlags::from_bits_retain(ext.flags.get())),
                ..device
            },
        }
    }
}

impl Entry for PciEntry {
    const KIND: RecordKind = RecordKind::PciTable;
    type Item = PciDevice;

    fn entry_size(version: AbiVersion) -> u16 {
        match version {
            AbiVersion::V1_0 => PciEntry::SIZE_1_0,
            AbiVersion::V1_1 => PciEntry::SIZE_1_1,
        }
    }

    /// Minor 1 defines `HIERARCHY` and `CHAINED`.
    fn known_features(version: AbiVersion) -> Features {
        match version {
            AbiVersion::V1_0 => Features::NONE,
            AbiVersion::V1_1 => Features {
                compat: Features::NONE.compat,
                ro_compat: RoCompatFeatures::HIERARCHY,
                incompat: IncompatFeatures::CHAINED,
            },
        }
    }

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
}

/// The sort key as a value whose order the sign of a difference gives: below 2^48.
impl Scan {
    /// Minor 0 slots (8 bytes: address and refcount), as [`Entry::check`] checks each, without
    /// a branch on the data: a refcount of 0 or a key not above the previous one sets the sign
    /// bit of `neg`. The previous key is carried from one slot to the next (and from one chunk
    /// to the next).
    fn pci_1_0(&mut self, slots: &[u8], stride: usize) {
        let (mut prev, mut neg) = (self.prev, 0u64);
        let mut rest = slots;
        // One slot split off at a time, `stride` bytes (8, but not known to be here): a
        // compact scalar loop. (SSE2 vectorisation of the 8-byte loop is about 2x faster but
        // costs more code than the decoders' size limit leaves.)
        while let Some((slot, tail)) = rest.split_at_checked(stride) {
            rest = tail;
            let w0 = slot
                .first_chunk::<8>()
                .map_or(0, |w| u64::from_le_bytes(*w));
            let key = key_of(w0);
            // (refcount - 1) and (key - prev - 1) are negative exactly when the entry is bad
            // (keys are below 2^48; `prev` is "minus one", below every key, at the start).
            neg |= (w0 >> 48).wrapping_sub(1) | key.wrapping_add(!prev);
            prev = key;
        }
        self.prev = prev;
        self.neg |= neg;
    }

    /// Minor 1 slots (24 bytes), as [`Entry::check`] then `check_ext` (reader of minor 1 or
    /// newer, record of minor 1) check each, without a branch on the data.
    fn pci_1_1(&mut self, slots: &[u8], stride: usize) {
        let (mut prev, mut neg, mut nz, mut hier) = (self.prev, 0u64, 0u64, 0u64);
        let mut rest = slots;
        while let Some((slot, tail)) = rest.split_at_checked(stride) {
            rest = tail;
            // Slots are 24 bytes here; a shorter one would read as zeroes (refcount 0: bad).
            let word = |i: usize| {
                slot.get(i..)
                    .and_then(<[u8]>::first_chunk::<8>)
                    .map_or(0, |w| u64::from_le_bytes(*w))
            };
            let (w0, w1, w2) = (word(0), word(8), word(16));
            let key = key_of(w0);
            let vendor = w1 & 0xFFFF;
            // Negative when bad: refcount 0; key not above the previous; vendor 0 with a
            // device id or class code (`0 - w1` is negative for any non-zero w1 below 2^56,
            // and the class code's top byte, which w1's top byte is, is checked below).
            neg |= (w0 >> 48).wrapping_sub(1)
                | key.wrapping_add(!prev)
                | (vendor.wrapping_sub(1) & 0u64.wrapping_sub(w1));
            // Non-zero when bad: the class code's top byte; vendor 0xFFFF (adding 1 carries
            // into bit 16); flags other than the known three, reserved bits, or DESCENDANT
            // without BRIDGE: with BUS_MASTER cleared and BRIDGE toggled, the valid flag words
            // are 0, 1 and 2 (none, BRIDGE, both), so adding 1 stays below 4 exactly for them.
            nz |= (w1 & 0xFF00_0000_0000_0000)
                | (vendor.wrapping_add(1) & 0x1_0000)
                | (((w2 & !BUS_MASTER) ^ BRIDGE).wrapping_add(1) & !3);
            hier |= w2;
            prev = key;
        }
        self.prev = prev;
        self.neg |= neg;
        self.nz |= nz;
        // DESCENDANT (bit 1) implies HIERARCHY (bit 0).
        self.implied |= ((hier & DESCENDANT) >> 1) as u32;
    }
}

const BRIDGE: u64 = PciFlags::BRIDGE.bits() as u64;
const DESCENDANT: u64 = PciFlags::DESCENDANT.bits() as u64;
const BUS_MASTER: u64 = PciFlags::BUS_MASTER.bits() as u64;
const _: () = assert!(BRIDGE == 1 && DESCENDANT == 2 && BUS_MASTER == 4);
const _: () = assert!(PciFlags::all().bits() == 7);
const _: () = assert!(RoCompatFeatures::HIERARCHY.bits() == 1);

/// The one-pass check of PCI slots ([`Sealed::SCAN`]): the slot sizes of this reader's own
/// minors, 8 bytes for minor 0 and 24 (with the fields minor 1 appends) for minor 1.
fn scan(state: &mut Scan, table: &[u8], count: usize, stride: usize) {
    // Fewer bytes than `count` slots: not vouched for (never so for a checked layout).
    let Some(slots) = count.checked_mul(stride).and_then(|n| table.get(..n)) else {
        state.nz = 1;
        return;
    };
    // Without a branch on the exact stride, so that each loop keeps it a run-time value (a
    // compact scalar loop). It is the slot size of a minor the reader knows: the decoder
    // streams only those, and the encoder writes only those.
    if stride < 24 {
        // At least 8, so that the loop advances whatever it is given.
        state.pci_1_0(slots, stride | 8);
    } else {
        state.pci_1_1(slots, stride);
    }
}

impl<'a> Record<'a, PciEntry> {
    /// The entry for `address`, by binary search: O(log n).
    pub fn find(&self, address: PciAddress) -> Option<&'a PciEntry> {
        self.entries().get(self.position(address)?)
    }

    /// The index of the entry for `address`: a binary search over the keys read in place,
    /// whatever the slot size.
    #[inline]
    fn position(&self, address: PciAddress) -> Option<usize> {
        let key = address.key();
        let entries = self.entries();
        // Ordered as `key_of` orders them, in two operations per probe instead of four.
        let target = (u64::from(address.domain) << 32) | u64::from(address.bdf);
        let at =
            entries.lower_bound_by_head(target, |raw| raw.rotate_left(32) & 0xFFFF_FFFF_0000_FFFF);
        entries.get(at).filter(|e| e.key() == key).map(|_| at)
    }

    /// Whether the device at `address` was preserved by the previous kernel.
    #[inline]
    pub fn is_preserved(&self, address: PciAddress) -> bool {
        self.position(address).is_some()
    }

    /// The device at `address` with every field the record holds: O(log n).
    pub fn device(&self, address: PciAddress) -> Option<PciDevice> {
        self.item(self.position(address)?)
    }

    /// Every device, in table order, with every field the record holds.
    pub fn devices(&self) -> impl Iterator<Item = PciDevice> + 'a {
        let record = *self;
        (0..record.entries().len()).filter_map(move |i| record.item(i))
    }

    /// Compares the identity recorded for the device at `address` with `probed`, the identity
    /// found there at probe time; `None` when that device was not preserved.
    pub fn check_identity(
        &self,
        address: PciAddress,
        probed: PciIdentity,
    ) -> Option<IdentityMatch> {
        self.device(address).map(|d| d.check_identity(probed))
    }
}

/// The PCI queries are implemented once, on a [`Record`] (one block); a [`Table`] finds the
/// block that would hold the address and asks it, and core's `PciIncoming` asks the table.
impl<'m> Table<'m, PciEntry> {
    /// The block whose address range would hold `address`. O(blocks).
    #[inline]
    fn block_of(&self, address: PciAddress) -> Option<Record<'m, PciEntry>> {
        if self.block_count() == 1 {
            // One record: the search in it says whether the address is there.
            return Some(self.first());
        }
        self.block_for(|e| e.address() < address)
    }

    /// The entry for `address`: O(blocks + log n).
    pub fn find(&self, address: PciAddress) -> Option<&'m PciEntry> {
        self.block_of(address)?.find(address)
    }

    /// Whether the device at `address` was preserved by the previous kernel.
    #[inline]
    pub fn is_preserved(&self, address: PciAddress) -> bool {
        self.block_of(address)
            .is_some_and(|block| block.is_preserved(address))
    }

    /// The device at `address` with every field its block holds.
    pub fn device(&self, address: PciAddress) -> Option<PciDevice> {
        self.block_of(address)?.device(address)
    }

    /// Compares the identity recorded for the device at `address` with `probed`, the identity
    /// found there at probe time; `None` when that device was not preserved.
    pub fn check_identity(
        &self,
        address: PciAddress,
        probed: PciIdentity,
    ) -> Option<IdentityMatch> {
        self.device(address).map(|d| d.check_identity(probed))
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // test inputs, small by construction
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The one-pass check of the first `count` slots of `table`, fed to it in chunks of
    /// `chunk` slots (as the fused decode and encode feed it): `None` when a slot is bad or
    /// slots of this size are not streamed.
    fn stream_chunked(
        table: &[u8],
        stride: usize,
        count: usize,
        ext: bool,
        newer: bool,
        chunk: usize,
    ) -> Option<RoCompatFeatures> {
        if newer || !matches!((stride, ext), (8, false) | (24, true)) {
            return None;
        }
        let used = table.get(..count * stride)?;
        let mut state = Scan::new(u64::MAX);
        let mut from = 0;
        while from < count {
            let to = (from + chunk.max(1)).min(count);
            scan(&mut state, &used[from * stride..], to - from, stride);
            from = to;
        }
        state.result()
    }

    fn stream_check(
        table: &[u8],
        stride: usize,
        count: usize,
        ext: bool,
        newer: bool,
    ) -> Option<RoCompatFeatures> {
        stream_chunked(table, stride, count, ext, newer, usize::MAX / 32)
    }

    /// The exact walk over the 24-byte slots of `table`: what `decode` says without the
    /// one-pass check.
    fn exact(table: &[u8], newer: bool) -> Option<RoCompatFeatures> {
        let mut implied = RoCompatFeatures::empty();
        let mut prev: Option<PciEntry> = None;
        for slot in table.chunks_exact(24) {
            let (entry, ext) = PciEntry::read_from_prefix(slot).ok()?;
            entry.check(prev.as_ref(), newer).ok()?;
            implied |= PciEntry::check_ext(ext, newer).ok()?;
            prev = Some(entry);
        }
        Some(implied)
    }

    /// Slots whose fields are drawn from the values each rule turns on: keys mostly ascending
    /// (a step of 0 repeats one), refcount 0, vendors 0 and 0xFFFF, class codes over 24 bits,
    /// unknown flags, reserved bits, a descendant without its bridge.
    fn slots() -> impl Strategy<Value = Vec<u8>> {
        let slot = (
            prop::sample::select(&[0u64, 1, 2, 3, 0x1_0000][..]),
            prop::sample::select(&[0u16, 1, 2, 0xFFFF][..]),
            prop::sample::select(&[0u16, 1, 0x8086, 0xFFFF][..]),
            prop::sample::select(&[0u16, 5][..]),
            prop::sample::select(&[0u32, 0x02_00_00, 0x01_00_00_00, 0xFF_FF_FF_FF][..]),
            prop::sample::select(&[0u32, 1, 2, 3, 4, 7, 8, 0x100, 0x8000_0000][..]),
            prop::sample::select(&[0u32, 0, 0, 1, 0x8000_0000][..]),
        );
        prop::collection::vec(slot, 0..12).prop_map(|slots| {
            let mut key = 0x100u64;
            let mut out = Vec::new();
            for (step, refcount, vendor, device, class, flags, reserved) in slots {
                key = if step == 3 { key - 1 } else { key + step };
                out.extend_from_slice(&((key >> 16) as u32).to_le_bytes());
                out.extend_from_slice(&(key as u16).to_le_bytes());
                out.extend_from_slice(&refcount.to_le_bytes());
                out.extend_from_slice(&vendor.to_le_bytes());
                out.extend_from_slice(&device.to_le_bytes());
                out.extend_from_slice(&class.to_le_bytes());
                out.extend_from_slice(&flags.to_le_bytes());
                out.extend_from_slice(&reserved.to_le_bytes());
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The one-pass check of minor 1 slots agrees with the exact walk: never accepts what
        /// the walk refuses, and implies the same features.
        #[test]
        fn stream_check_1_1_is_the_exact_walk(
            table in slots(),
            newer: bool,
            chunk in 1usize..6,
        ) {
            let count = table.len() / 24;
            let stream = stream_check(&table, 24, count, true, newer);
            if newer {
                // A newer minor's record always takes the exact walk.
                prop_assert_eq!(stream, None);
            } else {
                prop_assert_eq!(stream, exact(&table, newer));
                // Fed in chunks: the order of the first slot of a chunk is checked against
                // the last of the one before.
                prop_assert_eq!(stream_chunked(&table, 24, count, true, false, chunk), stream);
            }
        }

        /// The in-place search finds exactly the keys present, at both minors, for any
        /// table size (0 and 1 included) and any query below, between or above them.
        #[test]
        fn position_finds_exactly_the_keys_present(
            keys in prop::collection::btree_set(0u64..2000, 0..70),
            queries in prop::collection::vec(0u64..2100, 1..40),
            minor_1: bool,
        ) {
            use crate::header::{Capacity, Generation};
            use crate::record::Encoding;
            let version = if minor_1 { AbiVersion::V1_1 } else { AbiVersion::V1_0 };
            let n = keys.len() as u32;
            let mut buf = std::vec![0u8; PciTable::len_for(version, Capacity::new(n)).unwrap()];
            let devices = keys.iter().map(|&k| PciDevice::new(PciAddress::from_key(k), 1));
            PciTable::encode(
                &mut buf,
                Encoding::new(version, Generation::new(1), Capacity::new(n)),
                devices,
            )
            .unwrap();
            let table = PciTable::decode(&buf).unwrap();
            for q in queries.into_iter().chain(keys.iter().copied()) {
                let address = PciAddress::from_key(q);
                let expected = keys.iter().position(|&k| k == q);
                prop_assert_eq!(table.position(address), expected, "key {}", q);
                prop_assert_eq!(table.is_preserved(address), expected.is_some());
            }
        }

        /// The one-pass check of minor 0 entries (and of wider slots checked for their first 8
        /// bytes only) agrees with the exact walk.
        #[test]
        fn all_valid_is_the_exact_walk(table in slots(), chunk in 1usize..6) {
            let entries: Vec<PciEntry> = table
                .chunks_exact(24)
                .map(|s| PciEntry::read_from_prefix(s).unwrap().0)
                .collect();
            let walk = entries.iter().enumerate().all(|(i, e)| {
                e.check(i.checked_sub(1).map(|p| &entries[p]), false).is_ok()
            });
            let packed: Vec<u8> = entries.iter().flat_map(|e| e.as_bytes().to_vec()).collect();
            let stream = stream_check(&packed, 8, entries.len(), false, false);
            prop_assert_eq!(stream.is_some(), walk);
            let chunked = stream_chunked(&packed, 8, entries.len(), false, false, chunk);
            prop_assert_eq!(chunked, stream);
            // Other slot sizes (a newer minor's) are not streamed: the exact walk runs.
            prop_assert_eq!(stream_check(&table, 24, entries.len(), false, false), None);
        }
    }
}

#[cfg(test)]
mod stream_used {
    extern crate std;
    use super::*;
    use crate::error::EncodeError;
    use crate::header::{Capacity, Generation};
    use crate::record::Encoding;

    /// A valid 1.1 table with identities and flags is vouched for by the one-pass check, so
    /// the exact walk does not run on the decode of a valid table.
    #[test]
    fn a_valid_1_1_table_takes_the_one_pass_check() {
        let n = 100u16;
        let devices = (0..n).map(|i| {
            PciDevice::new(PciAddress::from_key(u64::from(i) * 3 + 0x100), 1 + i % 4)
                .with_identity(PciIdentity::new(0x8086 + i % 7, i * 31, 0x02_00_00).unwrap())
                .with_flags(if i % 2 == 0 {
                    PciFlags::BUS_MASTER
                } else {
                    PciFlags::empty()
                })
        });
        let v = AbiVersion::V1_1;
        let mut buf = std::vec![0u8; PciTable::len_for(v, Capacity::new(100)).unwrap()];
        PciTable::encode(
            &mut buf,
            Encoding::new(v, Generation::new(1), Capacity::new(100)),
            devices,
        )
        .unwrap();
        let table = buf.get(64..).unwrap();
        let mut state = Scan::new(u64::MAX);
        scan(&mut state, table, 100, 24);
        assert_eq!(state.result(), Some(RoCompatFeatures::empty()));
    }

    /// `n` devices with ascending keys (identities and flags at minor 1; every 7th a bridge
    /// with descendants when `hierarchy`).
    fn devices(n: u32, version: AbiVersion, hierarchy: bool) -> std::vec::Vec<PciDevice> {
        (0..n)
            .map(|i| {
                let d = PciDevice::new(PciAddress::from_key(u64::from(i) * 5 + 0x100), 1);
                if version == AbiVersion::V1_0 {
                    return d;
                }
                let flags = if hierarchy && i % 7 == 3 {
                    PciFlags::BRIDGE | PciFlags::DESCENDANT
                } else {
                    PciFlags::BUS_MASTER
                };
                d.with_identity(PciIdentity::new(0x1af4, 0x1000, 0x01_00_00).unwrap())
                    .with_flags(flags)
            })
            .collect()
    }

    fn encode(
        version: AbiVersion,
        devices: &[PciDevice],
    ) -> Result<std::vec::Vec<u8>, EncodeError> {
        let n = Capacity::new(u32::try_from(devices.len()).unwrap() + 3);
        let mut buf = std::vec![0xA5u8; PciTable::len_for(version, n).unwrap()];
        PciTable::encode(
            &mut buf,
            Encoding::new(version, Generation::new(9), n),
            devices.iter().copied(),
        )?;
        Ok(buf)
    }

    /// Every slot size, around the boundaries of the fused pass's chunks (512 slots of 24
    /// bytes, 1536 of 8): a fault at the first slot of a chunk, at the last, and in the middle
    /// is named by decode and encode alike, and a damaged CRC is still reported first.
    #[test]
    fn faults_across_chunk_boundaries_are_found_and_named() {
        use crate::error::DecodeError;
        for version in [AbiVersion::V1_0, AbiVersion::V1_1] {
            let per_chunk = if version == AbiVersion::V1_0 {
                1536
            } else {
                512
            };
            let n = per_chunk * 2 + 40;
            let good = devices(n, version, true);
            let buf = encode(version, &good).unwrap();
            let table = PciTable::decode(&buf).unwrap();
            assert_eq!(table.entries().len(), n as usize);
            assert_eq!(
                table.header().features().ro_compat,
                if version == AbiVersion::V1_0 {
                    RoCompatFeatures::empty()
                } else {
                    RoCompatFeatures::HIERARCHY
                }
            );
            assert_eq!(table.devices().collect::<std::vec::Vec<_>>(), good);
            for at in [
                1,
                per_chunk - 1,
                per_chunk,
                per_chunk + 1,
                2 * per_chunk,
                n - 1,
            ] {
                // A duplicate key: out of order against the slot before, maybe in the chunk
                // before.
                let mut bad = good.clone();
                bad[at as usize].address = bad[at as usize - 1].address;
                let expected_fault = EntryFault::Duplicate;
                match encode(version, &bad) {
                    Err(EncodeError::Entry { index, fault, .. }) => {
                        assert_eq!((index, fault), (at, expected_fault), "{version:?} {at}");
                    }
                    other => panic!("{version:?} {at}: {other:?}"),
                }
                // The same slot damaged in the encoded bytes, CRC made right: decode names it.
                let stride = usize::from(PciEntry::entry_size(version));
                let mut bytes = buf.clone();
                let slot = 64 + at as usize * stride;
                let before = bytes[slot - stride..slot - stride + 8].to_vec();
                bytes[slot..slot + 8].copy_from_slice(&before);
                let err = PciTable::decode(&bytes).unwrap_err();
                assert!(matches!(err, DecodeError::Checksum { .. }), "{err:?}");
                crate::header::seal(RecordKind::PciTable, &mut bytes).unwrap();
                match PciTable::decode(&bytes) {
                    Err(DecodeError::Entry {
                        index,
                        fault,
                        offset,
                        ..
                    }) => {
                        assert_eq!((index, fault), (at, expected_fault), "{version:?} {at}");
                        assert_eq!(offset, slot as u64);
                    }
                    other => panic!("{version:?} {at}: {other:?}"),
                }
                // A zero refcount (the slot's own check) at the same place.
                let mut bytes = buf.clone();
                bytes[slot + 6..slot + 8].fill(0);
                crate::header::seal(RecordKind::PciTable, &mut bytes).unwrap();
                match PciTable::decode(&bytes) {
                    Err(DecodeError::Entry { index, fault, .. }) => {
                        assert_eq!((index, fault), (at, EntryFault::ZeroRefcount));
                    }
                    other => panic!("{version:?} {at}: {other:?}"),
                }
            }
        }
    }
}
