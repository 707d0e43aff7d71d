//! `struct pci_ser` and `struct pci_dev_ser`: the PCI core's FLB data, whose physical address
//! is the `data` of the FLB named `"pci-vN"` or, since linux-next of Sep 2026, `"pci"`.
//!
//! Every form decoded here has the 8-byte `pci_dev_ser` (packed):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | `domain` (PCI segment) |
//! | 4 | 2 | `bdf` = `bus << 8 \| devfn`, as `pci_dev_id()` |
//! | 6 | 2 | `reserved`/`padding` (pci-v1 arrays) or `refcount` |
//!
//! and one of four `pci_ser` headers ([`PciLayout`]):
//!
//! | layout | header | entries | source |
//! |---|---|---|---|
//! | [`PciLayout::ArrayU64`] | `u64 max_nr_devices; u64 nr_devices` (16 B) | `devices[max_nr_devices]` | "[PATCH v3 02/24] PCI: Add API to track PCI devices preserved across Live Update" (David Matlack, 23 Mar 2026) |
//! | [`PciLayout::Array`] | `u32 max_nr_devices; u32 nr_devices` (8 B) | `devices[max_nr_devices]` | "[PATCH v4 01/11] PCI: liveupdate: Set up FLB handler for the PCI core" (23 Apr 2026) to "[PATCH v6 00/12] PCI: liveupdate: PCI core support for Live Update" (22 May 2026) |
//! | [`PciLayout::Chain`] | `u32 nr_devices; u64 devices` (12 B, the `u64` misaligned at offset 4) | a [`crate::linux::block`] chain at `devices` | "[PATCH v7 01/12] PCI: liveupdate: Set up FLB handler for the PCI core" (David Matlack, 10 Jul 2026) |
//! | [`PciLayout::Versioned`] | `u32 version; u32 nr_devices; u64 devices` (16 B), FLB `"pci"` | a chain at `devices` | linux-next merges of the liveupdate tree's PCI branch (10 and 28 Sep 2026, ~4 Oct 2026) |
//!
//! What the last `u16` means depends on the compatible ([`Refcount`], [`PciFormat::refcount`]),
//! or for the FLB `"pci"` on the blob's `version` ([`PciVersion`]: 1 slot, 2 hierarchical;
//! any other is refused with [`LinuxError::Version`]):
//! the series bumped `PCI_LUO_FLB_COMPATIBLE` whenever it changed (David Matlack, "Re: [PATCH v4
//! 02/11] …", Apr 2026). Earlier forms with a 4-byte `pci_dev_ser` (`u16 domain`, Nov 2025 and
//! 29 Jan 2026) are not decoded.
//!
//! Decoding validates the structure; [`PciSer::to_entries`] converts the devices in use into
//! this crate's [`PciEntry`]s, sorted, refusing duplicates (which needs the caller's buffer, as
//! upstream arrays are unsorted since pci-v2). The encoders write this crate's entries in any
//! of the forms.

use core::fmt;
use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::error::EntryFault;
use crate::linux::block::{BlockBuf, Blocks, Chain, write_chain};
use crate::linux::error::{CountField, LinuxError, ReprFault, SlotFault, Struct, Where};
use crate::linux::order::{F16, F32, F64};
use crate::linux::{ByteOrder, Kernel};
use crate::mem::{MemError, PhysAddr, PhysMem};
use crate::pci::{PciAddress, PciEntry};

/// `struct pci_dev_ser`. 8 bytes, packed, in the writer's byte order (as every structure
/// below).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct PciDevSer {
    pub(crate) domain: F32,
    pub(crate) bdf: F16,
    pub(crate) refcount: F16,
}

/// `struct pci_ser` of the 23 Mar 2026 series.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct PciSerArrayU64 {
    pub(crate) max_nr_devices: F64,
    pub(crate) nr_devices: F64,
}

/// `struct pci_ser` of the Apr–May 2026 series (v4–v6).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct PciSerArray {
    pub(crate) max_nr_devices: F32,
    pub(crate) nr_devices: F32,
}

/// `struct pci_ser` of the FLB `"pci"` (linux-next, Sep–Oct 2026): the version first.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct PciSerVersioned {
    pub(crate) version: F32,
    pub(crate) nr_devices: F32,
    pub(crate) devices: F64,
}

/// `struct pci_ser` of the v7 series (10 Jul 2026).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct PciSerChain {
    pub(crate) nr_devices: F32,
    pub(crate) devices: F64,
}

const _: () = {
    assert!(size_of::<PciDevSer>() == 8);
    assert!(offset_of!(PciDevSer, domain) == 0);
    assert!(offset_of!(PciDevSer, bdf) == 4);
    assert!(offset_of!(PciDevSer, refcount) == 6);
    assert!(size_of::<PciSerArrayU64>() == 16);
    assert!(offset_of!(PciSerArrayU64, nr_devices) == 8);
    assert!(size_of::<PciSerArray>() == 8);
    assert!(offset_of!(PciSerArray, nr_devices) == 4);
    assert!(size_of::<PciSerChain>() == 12);
    assert!(offset_of!(PciSerChain, devices) == 4);
    assert!(size_of::<PciSerVersioned>() == 16);
    assert!(offset_of!(PciSerVersioned, version) == 0);
    assert!(offset_of!(PciSerVersioned, nr_devices) == 4);
    assert!(offset_of!(PciSerVersioned, devices) == 8);
};

/// Size of `struct pci_dev_ser`.
pub const PCI_DEV_SER_LEN: usize = size_of::<PciDevSer>();

/// The `pci_ser` header layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PciLayout {
    /// `{u64 max_nr_devices; u64 nr_devices; devices[]}`, sorted, 23 Mar 2026.
    ArrayU64,
    /// `{u32 max_nr_devices; u32 nr_devices; devices[]}`, Apr–May 2026.
    Array,
    /// `{u32 nr_devices; u64 devices}` with a block chain, 10 Jul 2026.
    Chain,
    /// `{u32 version; u32 nr_devices; u64 devices}` with a block chain: the FLB `"pci"`,
    /// linux-next Sep–Oct 2026.
    Versioned,
}

impl PciLayout {
    /// A short name for messages and command lines.
    pub const fn name(self) -> &'static str {
        match self {
            PciLayout::ArrayU64 => "array-u64",
            PciLayout::Array => "array",
            PciLayout::Chain => "chain",
            PciLayout::Versioned => "versioned",
        }
    }

    /// Size of the `pci_ser` header (the whole blob, for [`PciLayout::Chain`]).
    pub const fn header_len(self) -> usize {
        match self {
            PciLayout::ArrayU64 => size_of::<PciSerArrayU64>(),
            PciLayout::Array => size_of::<PciSerArray>(),
            PciLayout::Chain => size_of::<PciSerChain>(),
            PciLayout::Versioned => size_of::<PciSerVersioned>(),
        }
    }
}

/// The PCI FLB compatibles (`PCI_LUO_FLB_COMPATIBLE`). A compatible alone does not always
/// name one layout: `"pci-v1"` and `"pci-v2"` were each published with an array and a chain
/// layout ([`PciCompat::layouts`]), so a reader must also be told which series wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PciCompat {
    /// `"pci-v1"`.
    V1,
    /// `"pci-v2"`.
    V2,
    /// `"pci-v3"`.
    V3,
    /// `"pci"`: the version moved into the blob ([`PciVersion`]).
    Pci,
}

impl PciCompat {
    /// Every PCI compatible.
    pub const ALL: [PciCompat; 4] = [PciCompat::V1, PciCompat::V2, PciCompat::V3, PciCompat::Pci];

    /// The compatible string, the FLB name.
    pub const fn name(self) -> &'static str {
        match self {
            PciCompat::V1 => "pci-v1",
            PciCompat::V2 => "pci-v2",
            PciCompat::V3 => "pci-v3",
            PciCompat::Pci => "pci",
        }
    }

    /// The layouts upstream published under this compatible, oldest first.
    pub const fn layouts(self) -> &'static [PciLayout] {
        match self {
            PciCompat::V1 => &[PciLayout::ArrayU64, PciLayout::Array, PciLayout::Chain],
            PciCompat::V2 => &[PciLayout::Array, PciLayout::Chain],
            PciCompat::V3 => &[PciLayout::Array],
            PciCompat::Pci => &[PciLayout::Versioned],
        }
    }

    /// The compatible named `name`.
    pub fn from_name(name: &str) -> Option<PciCompat> {
        PciCompat::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// `pci_ser.version` of the FLB `"pci"`: what the slots' `refcount` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PciVersion {
    /// 1: `refcount` 1 = in use, 0 = free slot ([`Refcount::Slot`]).
    V1,
    /// 2: hierarchical refcounts, as `"pci-v3"` before it ([`Refcount::Hierarchical`]).
    V2,
}

impl PciVersion {
    /// Every version this module reads.
    pub const ALL: [PciVersion; 2] = [PciVersion::V1, PciVersion::V2];

    /// The value stored in `pci_ser.version`.
    pub const fn number(self) -> u32 {
        match self {
            PciVersion::V1 => 1,
            PciVersion::V2 => 2,
        }
    }

    /// The version stored as `number`, if this module reads it.
    pub const fn from_number(number: u32) -> Option<PciVersion> {
        match number {
            1 => Some(PciVersion::V1),
            2 => Some(PciVersion::V2),
            _ => None,
        }
    }

    /// What the slots' last `u16` means under this version.
    pub const fn refcount(self) -> Refcount {
        match self {
            PciVersion::V1 => Refcount::Slot,
            PciVersion::V2 => Refcount::Hierarchical,
        }
    }
}

/// What a slot's last `u16` means, and so which slots are in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refcount {
    /// `reserved`/`padding`, zero: slots `0..nr_devices` are in use, the rest are zero.
    Padding,
    /// `refcount` 1 = in use, 0 = free (zeroed) slot, anywhere in the array or chain.
    Slot,
    /// `refcount` = preserved devices at or below this one (bridges are auto-preserved);
    /// 0 = free (zeroed) slot.
    Hierarchical,
}

/// A `pci_ser` layout with a compatible it was published with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PciFormat {
    layout: PciLayout,
    compat: PciCompat,
}

impl PciFormat {
    /// The format of `layout` under `compat`.
    ///
    /// | layout | pci-v1 | pci-v2 | pci-v3 |
    /// |---|---|---|---|
    /// | `ArrayU64` | padding, sorted (v3, 23 Mar 2026) | — | — |
    /// | `Array` | padding (v4 01/11, v6 01/12) | slot (v4 02/11, v6 02/12) | hierarchical (v6 06/12) |
    /// | `Chain` | slot (v7 01/12) | hierarchical (v7 06/12) | — |
    ///
    /// and `Versioned` only with `"pci"` (whose blob carries its version).
    ///
    /// # Errors
    ///
    /// [`LinuxError::Format`] for the combinations upstream never published.
    pub const fn new(layout: PciLayout, compat: PciCompat) -> Result<PciFormat, LinuxError> {
        match (layout, compat) {
            (PciLayout::ArrayU64, PciCompat::V1)
            | (PciLayout::Array, PciCompat::V1 | PciCompat::V2 | PciCompat::V3)
            | (PciLayout::Chain, PciCompat::V1 | PciCompat::V2)
            | (PciLayout::Versioned, PciCompat::Pci) => Ok(PciFormat { layout, compat }),
            _ => Err(LinuxError::Format { layout, compat }),
        }
    }

    /// The layout.
    pub const fn layout(self) -> PciLayout {
        self.layout
    }

    /// The compatible.
    pub const fn compat(self) -> PciCompat {
        self.compat
    }

    /// What the slots' last `u16` means under this format; `None` for the versioned layout,
    /// whose blob's `version` says ([`PciVersion::refcount`], [`PciSer::refcount`]).
    pub const fn refcount(self) -> Option<Refcount> {
        match (self.layout, self.compat) {
            (PciLayout::Versioned, _) => None,
            (PciLayout::ArrayU64 | PciLayout::Array, PciCompat::V1) => Some(Refcount::Padding),
            (PciLayout::Array, PciCompat::V2) | (PciLayout::Chain, PciCompat::V1) => {
                Some(Refcount::Slot)
            }
            _ => Some(Refcount::Hierarchical),
        }
    }

    /// Whether the writer guaranteed the devices sorted by `(domain, bdf)`.
    pub const fn sorted(self) -> bool {
        matches!(self.layout, PciLayout::ArrayU64)
    }
}

/// One `pci_dev_ser` slot of a decoded [`PciSer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciSlot {
    /// Index across the array, or across the chain in chain order.
    pub index: u64,
    /// Where the slot is: an offset in the blob, or a physical address in a chain block.
    pub at: Where,
    /// The device address stored in the slot.
    pub address: PciAddress,
    /// The slot's last `u16` as stored (padding or refcount).
    pub field: u16,
    /// The device as this crate's entry, when the slot is in use.
    pub entry: Option<PciEntry>,
}

/// Where the slots are.
#[derive(Clone, Copy)]
enum Slots<'a> {
    Array { bytes: &'a [u8], offset: usize },
    Chain { mem: &'a dyn PhysMem, chain: Chain },
}

/// A validated `pci_ser` and its slots.
#[derive(Clone, Copy)]
pub struct PciSer<'a> {
    format: PciFormat,
    version: Option<PciVersion>,
    refcount: Refcount,
    nr_devices: u64,
    max_nr_devices: Option<u64>,
    slots: Slots<'a>,
    slot_count: u64,
    order: ByteOrder,
}

impl fmt::Debug for PciSer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PciSer")
            .field("format", &self.format)
            .field("version", &self.version)
            .field("nr_devices", &self.nr_devices)
            .field("max_nr_devices", &self.max_nr_devices)
            .field("devices_pa", &self.devices_pa())
            .field("slot_count", &self.slot_count)
            .field("order", &self.order)
            .finish()
    }
}

/// A memory with nothing in it, for arrays.
struct NoMem;

impl PhysMem for NoMem {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        Err(MemError::unmapped(addr, len, PhysAddr::NULL, 0))
    }
}

impl<'a> PciSer<'a> {
    /// Validates `bytes`, exactly one array-form `pci_ser` blob
    /// (`offsetof(pci_ser, devices[max_nr_devices])` bytes) in `format`, in the byte order of
    /// `kernel` (whose page size plays no part).
    ///
    /// For [`PciLayout::Chain`] use [`PciSer::decode_chain`]:
    /// here the chain's blocks are unreadable, so only an empty chain decodes.
    ///
    /// # Errors
    ///
    /// [`LinuxError::TooShort`] and [`LinuxError::TooLong`] against the length
    /// `max_nr_devices` implies, [`LinuxError::Count`] for `nr_devices > max_nr_devices`,
    /// [`LinuxError::Slot`] for a slot breaking the format's rules (the first one), and
    /// [`LinuxError::DeviceCount`] when `nr_devices` is not the number of slots in use.
    pub fn decode(
        bytes: &'a [u8],
        format: PciFormat,
        kernel: Kernel,
    ) -> Result<PciSer<'a>, LinuxError> {
        static NO_MEM: NoMem = NoMem;
        PciSer::decode_inner(bytes, None, format, &NO_MEM, kernel)
    }

    /// Validates a chain-form `pci_ser` blob (`bytes`, 12 bytes) and its block chain, read
    /// from `mem` in blocks of `kernel`'s page size, all in `kernel`'s byte order. `blob_phys` is the blob's own physical address, when
    /// known, so that no block may overlap it.
    ///
    /// # Errors
    ///
    /// Those of [`PciSer::decode`], and the chain's: [`LinuxError::Block`],
    /// [`LinuxError::ChainCycle`], [`LinuxError::ChainTooLong`].
    pub fn decode_chain(
        bytes: &'a [u8],
        blob_phys: Option<PhysAddr>,
        compat: PciCompat,
        mem: &'a dyn PhysMem,
        kernel: Kernel,
    ) -> Result<PciSer<'a>, LinuxError> {
        let format = PciFormat::new(PciLayout::Chain, compat)?;
        PciSer::decode_inner(bytes, blob_phys, format, mem, kernel)
    }

    /// Validates a `pci_ser` blob of the FLB `"pci"` (`bytes`, 16 bytes:
    /// `{u32 version; u32 nr_devices; u64 devices}`) and its block chain, read from `mem` in
    /// blocks of `kernel`'s page size, all in `kernel`'s byte order. The version is read first (upstream never moves it), so a blob of a
    /// version this module does not read is refused as such whatever its length.
    /// `blob_phys` is the blob's own physical address, when known.
    ///
    /// # Errors
    ///
    /// [`LinuxError::Version`] naming the version found when it is neither 1 nor 2;
    /// [`LinuxError::TooShort`] / [`LinuxError::TooLong`] against 16 bytes; those of
    /// [`PciSer::decode_chain`].
    pub fn decode_versioned(
        bytes: &'a [u8],
        blob_phys: Option<PhysAddr>,
        mem: &'a dyn PhysMem,
        kernel: Kernel,
    ) -> Result<PciSer<'a>, LinuxError> {
        let format = PciFormat::new(PciLayout::Versioned, PciCompat::Pci)?;
        PciSer::decode_inner(bytes, blob_phys, format, mem, kernel)
    }

    fn decode_inner(
        bytes: &'a [u8],
        blob_phys: Option<PhysAddr>,
        format: PciFormat,
        mem: &'a dyn PhysMem,
        kernel: Kernel,
    ) -> Result<PciSer<'a>, LinuxError> {
        let order = kernel.order();
        let header_len = format.layout.header_len();
        let too_short = |needed: u64| LinuxError::TooShort {
            what: Struct::PciSer,
            needed,
            found: bytes.len() as u64,
        };
        if format.layout == PciLayout::Versioned {
            stored_version(bytes, order)?;
        }
        let head = bytes
            .get(..header_len)
            .ok_or(too_short(header_len as u64))?;
        let told = format.refcount().unwrap_or(Refcount::Slot);
        let ser = match format.layout {
            PciLayout::ArrayU64 | PciLayout::Array => {
                let (max, nr) = match format.layout {
                    PciLayout::ArrayU64 => PciSerArrayU64::read_from_bytes(head)
                        .ok()
                        .map(|h| (h.max_nr_devices.get(order), h.nr_devices.get(order))),
                    _ => PciSerArray::read_from_bytes(head).ok().map(|h| {
                        (
                            u64::from(h.max_nr_devices.get(order)),
                            u64::from(h.nr_devices.get(order)),
                        )
                    }),
                }
                .ok_or(too_short(header_len as u64))?;
                if nr > max {
                    return Err(LinuxError::Count {
                        what: Struct::PciSer,
                        field: CountField::NrDevices,
                        max,
                        found: nr,
                    });
                }
                let max_slots = (usize::MAX - header_len) / PCI_DEV_SER_LEN;
                let needed = usize::try_from(max)
                    .ok()
                    .filter(|&m| m <= max_slots)
                    .map(|m| header_len + m * PCI_DEV_SER_LEN)
                    .ok_or(LinuxError::Count {
                        what: Struct::PciSer,
                        field: CountField::MaxNrDevices,
                        max: max_slots as u64,
                        found: max,
                    })?;
                exact_len(bytes, needed)?;
                PciSer {
                    format,
                    version: None,
                    refcount: told,
                    nr_devices: nr,
                    max_nr_devices: Some(max),
                    slots: Slots::Array {
                        bytes: bytes.get(header_len..).unwrap_or(&[]),
                        offset: header_len,
                    },
                    slot_count: max,
                    order,
                }
            }
            PciLayout::Chain | PciLayout::Versioned => {
                exact_len(bytes, header_len)?;
                let (version, nr, devices) = match format.layout {
                    PciLayout::Chain => PciSerChain::read_from_bytes(head)
                        .ok()
                        .map(|h| (None, h.nr_devices.get(order), h.devices.get(order))),
                    _ => PciSerVersioned::read_from_bytes(head).ok().map(|h| {
                        (
                            PciVersion::from_number(h.version.get(order)),
                            h.nr_devices.get(order),
                            h.devices.get(order),
                        )
                    }),
                }
                .ok_or(too_short(header_len as u64))?;
                let chain = Chain::validate(
                    mem,
                    PhysAddr::new(devices),
                    PCI_DEV_SER_LEN,
                    kernel,
                    blob_phys.map(|p| (p, header_len as u64)),
                )?;
                PciSer {
                    format,
                    version,
                    refcount: version.map_or(told, PciVersion::refcount),
                    nr_devices: u64::from(nr),
                    max_nr_devices: None,
                    slots: Slots::Chain { mem, chain },
                    slot_count: chain.entries(),
                    order,
                }
            }
        };
        ser.check_slots()?;
        Ok(ser)
    }

    /// The per-slot rules of the format, and `nr_devices` against the slots in use.
    fn check_slots(&self) -> Result<(), LinuxError> {
        let mut in_use: u64 = 0;
        let mut prev: Option<u64> = None;
        for slot in self.slots() {
            let err = |fault| LinuxError::Slot {
                index: slot.index,
                at: slot.at,
                fault,
            };
            let free = match self.refcount {
                Refcount::Padding => {
                    if slot.index < self.nr_devices && slot.field != 0 {
                        return Err(err(SlotFault::Padding { value: slot.field }));
                    }
                    slot.index >= self.nr_devices
                }
                Refcount::Slot => {
                    if slot.field > 1 {
                        return Err(err(SlotFault::Refcount { value: slot.field }));
                    }
                    slot.field == 0
                }
                Refcount::Hierarchical => slot.field == 0,
            };
            if free {
                if slot.address != (PciAddress { domain: 0, bdf: 0 }) || slot.field != 0 {
                    return Err(err(SlotFault::FreeNotZero));
                }
                continue;
            }
            in_use += 1;
            if self.format.sorted() {
                let key = slot.address.key();
                match prev {
                    Some(p) if p == key => {
                        return Err(LinuxError::Duplicate {
                            what: Struct::PciDevSer,
                            first: slot.index.saturating_sub(1),
                            second: slot.index,
                        });
                    }
                    Some(p) if p > key => return Err(err(SlotFault::OutOfOrder)),
                    _ => prev = Some(key),
                }
            }
        }
        if in_use != self.nr_devices {
            return Err(LinuxError::DeviceCount {
                declared: self.nr_devices,
                found: in_use,
            });
        }
        Ok(())
    }

    /// The format decoded.
    pub fn format(&self) -> PciFormat {
        self.format
    }

    /// `version`, for the versioned layout (the FLB `"pci"`).
    pub fn version(&self) -> Option<PciVersion> {
        self.version
    }

    /// What the slots' last `u16` means: the format's, or the blob's version's.
    pub fn refcount(&self) -> Refcount {
        self.refcount
    }

    /// `nr_devices`: devices in use (validated against the slots).
    pub fn nr_devices(&self) -> u64 {
        self.nr_devices
    }

    /// `max_nr_devices`, for the array layouts.
    pub fn max_nr_devices(&self) -> Option<u64> {
        self.max_nr_devices
    }

    /// `devices`, the physical address of the first block, for the chain layouts.
    pub fn devices_pa(&self) -> Option<PhysAddr> {
        match self.slots {
            Slots::Chain { chain, .. } => Some(chain.head()),
            Slots::Array { .. } => None,
        }
    }

    /// The validated chain, for the chain layout.
    pub fn chain(&self) -> Option<Chain> {
        match self.slots {
            Slots::Chain { chain, .. } => Some(chain),
            Slots::Array { .. } => None,
        }
    }

    /// Slots in total, free ones included: `max_nr_devices`, or the chain's entries.
    pub fn slot_count(&self) -> u64 {
        self.slot_count
    }

    /// Every slot, in storage order.
    pub fn slots(&self) -> SlotIter<'_> {
        let state = match &self.slots {
            Slots::Array { bytes, offset } => State::Array {
                bytes,
                offset: *offset,
            },
            Slots::Chain { mem, chain } => State::Chain {
                blocks: chain.iter(mem),
                block: &[],
                phys: PhysAddr::NULL,
            },
        };
        SlotIter {
            state,
            index: 0,
            refcount: self.refcount,
            nr_devices: self.nr_devices,
            order: self.order,
        }
    }

    /// The devices in use as this crate's entries, sorted by address, in `out[..nr_devices]`.
    ///
    /// Refcounts map as: padding → 1, slot → 1, hierarchical → the stored count. O(n log n),
    /// no allocation.
    ///
    /// # Errors
    ///
    /// [`LinuxError::BufferTooSmall`] (counting entries) when `out` holds fewer than
    /// `nr_devices` entries; [`LinuxError::Duplicate`] naming the slot indices of the first
    /// two entries with the same address.
    pub fn to_entries<'o>(
        &self,
        out: &'o mut [PciEntry],
    ) -> Result<&'o mut [PciEntry], LinuxError> {
        let n = usize::try_from(self.nr_devices).unwrap_or(usize::MAX);
        let found = out.len();
        let out = out.get_mut(..n).ok_or(LinuxError::BufferTooSmall {
            what: Struct::PciDevSer,
            needed: self.nr_devices,
            found: found as u64,
        })?;
        let mut used = self.slots().filter_map(|s| s.entry);
        for dst in out.iter_mut() {
            // nr_devices equals the slots in use (checked at decode).
            if let Some(entry) = used.next() {
                *dst = entry;
            }
        }
        out.sort_unstable_by_key(|e| e.address().key());
        let dup = out.windows(2).find_map(|w| match w {
            [a, b] if a.address() == b.address() => Some(a.address()),
            _ => None,
        });
        if let Some(address) = dup {
            let mut at = self
                .slots()
                .filter(|s| s.entry.is_some() && s.address == address)
                .map(|s| s.index);
            let first = at.next().unwrap_or(0);
            let second = at.next().unwrap_or(first);
            return Err(LinuxError::Duplicate {
                what: Struct::PciDevSer,
                first,
                second,
            });
        }
        Ok(out)
    }

    /// Writes `entries` (strictly ascending, as in this crate's tables) as an array-form
    /// `pci_ser` of `format` with room for `max_nr_devices` devices, in the byte order of
    /// `kernel`: header, the entries densely from slot 0, zeroed free slots. Returns the length written,
    /// `header + max_nr_devices * 8`.
    ///
    /// # Errors
    ///
    /// [`LinuxError::Format`] for the chain layout (use [`PciSer::encode_chain`]);
    /// [`LinuxError::Count`] when the entries exceed `max_nr_devices` or it exceeds the
    /// layout's field; [`LinuxError::BufferTooSmall`]; [`LinuxError::Convert`] for an entry
    /// out of order, repeated or with a zero refcount; [`LinuxError::NotRepresentable`] for a
    /// refcount above 1 where the format has no room for it.
    pub fn encode<'e, I>(
        out: &mut [u8],
        format: PciFormat,
        max_nr_devices: u64,
        kernel: Kernel,
        entries: I,
    ) -> Result<usize, LinuxError>
    where
        I: IntoIterator<Item = &'e PciEntry>,
        I::IntoIter: ExactSizeIterator,
    {
        let entries = entries.into_iter();
        let n = entries.len() as u64;
        let order = kernel.order();
        let header_len = format.layout.header_len();
        let field_max = match format.layout {
            PciLayout::ArrayU64 => u64::MAX,
            PciLayout::Array => u64::from(u32::MAX),
            PciLayout::Chain | PciLayout::Versioned => {
                return Err(LinuxError::Format {
                    layout: format.layout,
                    compat: format.compat,
                });
            }
        };
        if max_nr_devices > field_max {
            return Err(LinuxError::Count {
                what: Struct::PciSer,
                field: CountField::MaxNrDevices,
                max: field_max,
                found: max_nr_devices,
            });
        }
        if n > max_nr_devices {
            return Err(LinuxError::Count {
                what: Struct::PciSer,
                field: CountField::NrDevices,
                max: max_nr_devices,
                found: n,
            });
        }
        let needed = max_nr_devices
            .checked_mul(PCI_DEV_SER_LEN as u64)
            .and_then(|b| b.checked_add(header_len as u64))
            .unwrap_or(u64::MAX);
        let found = out.len();
        let out = usize::try_from(needed)
            .ok()
            .and_then(|len| out.get_mut(..len))
            .ok_or(LinuxError::BufferTooSmall {
                what: Struct::PciSer,
                needed,
                found: found as u64,
            })?;
        out.fill(0);
        let (head, table) = out.split_at_mut(header_len);
        match format.layout {
            PciLayout::ArrayU64 => head.copy_from_slice(
                PciSerArrayU64 {
                    max_nr_devices: F64::new(max_nr_devices, order),
                    nr_devices: F64::new(n, order),
                }
                .as_bytes(),
            ),
            _ => head.copy_from_slice(
                PciSerArray {
                    // Both checked against u32::MAX above.
                    max_nr_devices: F32::new(
                        u32::try_from(max_nr_devices).unwrap_or(u32::MAX),
                        order,
                    ),
                    nr_devices: F32::new(u32::try_from(n).unwrap_or(u32::MAX), order),
                }
                .as_bytes(),
            ),
        }
        let mut prev = None;
        for ((index, entry), slot) in entries
            .enumerate()
            .zip(table.chunks_exact_mut(PCI_DEV_SER_LEN))
        {
            let dev = dev_ser(format.refcount(), order, index as u64, *entry, prev)?;
            slot.copy_from_slice(dev.as_bytes());
            prev = Some(*entry);
        }
        Ok(head.len() + table.len())
    }

    /// Writes `entries` (strictly ascending) as a chain-form `pci_ser` of `compat`, in the page
    /// size and byte order of `kernel`: the 12-byte blob into `ser` (to live at `ser_phys`) and
    /// the chain into the first blocks of `blocks`, each filled to its capacity of
    /// `(page - 16) / 8` entries. Returns the blob
    /// length (12), the chain head (0 for no entries) and the blocks used.
    ///
    /// # Errors
    ///
    /// [`LinuxError::Format`]; [`LinuxError::Count`] with [`CountField::Blocks`] when
    /// `blocks` (or [`crate::linux::KHO_MAX_BLOCKS`]) is too few; [`LinuxError::Block`] for a
    /// block at address 0, unaligned, overlapping the blob or given twice;
    /// [`LinuxError::BufferTooSmall`]; and the entry errors of [`PciSer::encode`].
    pub fn encode_chain<'e, I>(
        ser: &mut [u8],
        ser_phys: PhysAddr,
        blocks: &mut [BlockBuf<'_>],
        compat: PciCompat,
        kernel: Kernel,
        entries: I,
    ) -> Result<ChainWritten, LinuxError>
    where
        I: IntoIterator<Item = &'e PciEntry>,
        I::IntoIter: ExactSizeIterator,
    {
        let format = PciFormat::new(PciLayout::Chain, compat)?;
        let refcount = format.refcount().unwrap_or(Refcount::Slot);
        encode_blocks(ser, ser_phys, blocks, None, refcount, kernel, entries)
    }

    /// Writes `entries` (strictly ascending) as the `pci_ser` of the FLB `"pci"` at `version`,
    /// in the page size and byte order of `kernel`: the 16-byte blob into `ser` (to live at `ser_phys`) and the chain into the first blocks
    /// of `blocks`, each filled to its capacity. Returns the blob length (16), the chain head
    /// (0 for no entries) and the blocks used.
    ///
    /// # Errors
    ///
    /// Those of [`PciSer::encode_chain`]; a refcount above 1 is [`LinuxError::NotRepresentable`]
    /// at version 1.
    pub fn encode_versioned<'e, I>(
        ser: &mut [u8],
        ser_phys: PhysAddr,
        blocks: &mut [BlockBuf<'_>],
        version: PciVersion,
        kernel: Kernel,
        entries: I,
    ) -> Result<ChainWritten, LinuxError>
    where
        I: IntoIterator<Item = &'e PciEntry>,
        I::IntoIter: ExactSizeIterator,
    {
        encode_blocks(
            ser,
            ser_phys,
            blocks,
            Some(version),
            version.refcount(),
            kernel,
            entries,
        )
    }
}

/// The chain writers: the 12-byte (`version` `None`) or 16-byte `pci_ser` and its blocks.
fn encode_blocks<'e, I>(
    ser: &mut [u8],
    ser_phys: PhysAddr,
    blocks: &mut [BlockBuf<'_>],
    version: Option<PciVersion>,
    refcount: Refcount,
    kernel: Kernel,
    entries: I,
) -> Result<ChainWritten, LinuxError>
where
    I: IntoIterator<Item = &'e PciEntry>,
    I::IntoIter: ExactSizeIterator,
{
    let mut entries = entries.into_iter();
    let n = entries.len() as u64;
    let order = kernel.order();
    let nr = u32::try_from(n).map_err(|_| LinuxError::Count {
        what: Struct::PciSer,
        field: CountField::NrDevices,
        max: u64::from(u32::MAX),
        found: n,
    })?;
    let header_len = match version {
        Some(_) => PciLayout::Versioned.header_len(),
        None => PciLayout::Chain.header_len(),
    };
    let found = ser.len();
    let ser = ser
        .get_mut(..header_len)
        .ok_or(LinuxError::BufferTooSmall {
            what: Struct::PciSer,
            needed: header_len as u64,
            found: found as u64,
        })?;
    let mut prev = None;
    let (head, used) = write_chain(
        blocks,
        kernel,
        PCI_DEV_SER_LEN,
        Some((ser_phys, header_len as u64)),
        n,
        |index, slot| {
            let entry = entries.next().ok_or(LinuxError::Count {
                what: Struct::PciSer,
                field: CountField::NrDevices,
                max: index,
                found: n,
            })?;
            let dev = dev_ser(Some(refcount), order, index, *entry, prev)?;
            slot.copy_from_slice(dev.as_bytes());
            prev = Some(*entry);
            Ok(())
        },
    )?;
    match version {
        Some(v) => ser.copy_from_slice(
            PciSerVersioned {
                version: F32::new(v.number(), order),
                nr_devices: F32::new(nr, order),
                devices: F64::new(head.raw(), order),
            }
            .as_bytes(),
        ),
        None => ser.copy_from_slice(
            PciSerChain {
                nr_devices: F32::new(nr, order),
                devices: F64::new(head.raw(), order),
            }
            .as_bytes(),
        ),
    }
    Ok(ChainWritten {
        len: header_len,
        head,
        blocks: used,
    })
}

/// What [`PciSer::encode_chain`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainWritten {
    /// Length of the `pci_ser` blob.
    pub len: usize,
    /// Physical address of the first block, [`PhysAddr::NULL`] when there are no entries.
    pub head: PhysAddr,
    /// Blocks used, from the start of the caller's list.
    pub blocks: u32,
}

/// The slot for `entry` at `index` under `refcount` (`None`: the versioned layout, which
/// [`PciSer::encode`] never reaches), after `prev`.
fn dev_ser(
    refcount_rule: Option<Refcount>,
    order: ByteOrder,
    index: u64,
    entry: PciEntry,
    prev: Option<PciEntry>,
) -> Result<PciDevSer, LinuxError> {
    let convert = |fault| LinuxError::Convert {
        what: Struct::PciDevSer,
        index,
        fault,
    };
    let refcount = entry.refcount();
    if refcount == 0 {
        return Err(convert(EntryFault::ZeroRefcount));
    }
    match prev.map(|p| p.address().key().cmp(&entry.address().key())) {
        Some(core::cmp::Ordering::Equal) => return Err(convert(EntryFault::Duplicate)),
        Some(core::cmp::Ordering::Greater) => return Err(convert(EntryFault::OutOfOrder)),
        _ => {}
    }
    let field = match refcount_rule.unwrap_or(Refcount::Slot) {
        Refcount::Padding | Refcount::Slot if refcount != 1 => {
            return Err(LinuxError::NotRepresentable {
                what: Struct::PciDevSer,
                index,
                fault: ReprFault::Refcount { refcount },
            });
        }
        Refcount::Padding => 0,
        Refcount::Slot | Refcount::Hierarchical => refcount,
    };
    let address = entry.address();
    Ok(PciDevSer {
        domain: F32::new(address.domain, order),
        bdf: F16::new(address.bdf, order),
        refcount: F16::new(field, order),
    })
}

/// The `version` of a versioned `pci_ser`, read first: it is the one field every version
/// keeps in place, so a version this module does not read is refused as such, whatever the
/// length.
fn stored_version(bytes: &[u8], order: ByteOrder) -> Result<PciVersion, LinuxError> {
    let version = bytes
        .get(..4)
        .and_then(|v| F32::read_from_bytes(v).ok())
        .ok_or(LinuxError::TooShort {
            what: Struct::PciSer,
            needed: PciLayout::Versioned.header_len() as u64,
            found: bytes.len() as u64,
        })?
        .get(order);
    PciVersion::from_number(version).ok_or(LinuxError::Version {
        what: Struct::PciSer,
        found: version,
    })
}

fn exact_len(bytes: &[u8], len: usize) -> Result<(), LinuxError> {
    match bytes.len() {
        n if n < len => Err(LinuxError::TooShort {
            what: Struct::PciSer,
            needed: len as u64,
            found: n as u64,
        }),
        n if n > len => Err(LinuxError::TooLong {
            what: Struct::PciSer,
            max: len as u64,
            found: n as u64,
        }),
        _ => Ok(()),
    }
}

enum State<'s> {
    Array {
        bytes: &'s [u8],
        offset: usize,
    },
    Chain {
        blocks: Blocks<'s>,
        block: &'s [u8],
        phys: PhysAddr,
    },
}

/// Iterator over the slots of a [`PciSer`].
pub struct SlotIter<'s> {
    state: State<'s>,
    index: u64,
    refcount: Refcount,
    nr_devices: u64,
    order: ByteOrder,
}

impl fmt::Debug for SlotIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotIter")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Iterator for SlotIter<'_> {
    type Item = PciSlot;

    fn next(&mut self) -> Option<PciSlot> {
        let (raw, at) = match &mut self.state {
            State::Array { bytes, offset } => {
                let (raw, rest) = bytes.split_at_checked(PCI_DEV_SER_LEN)?;
                let at = Where::Offset(*offset as u64);
                *bytes = rest;
                *offset = offset.saturating_add(PCI_DEV_SER_LEN);
                (raw, at)
            }
            State::Chain {
                blocks,
                block,
                phys,
            } => {
                while block.len() < PCI_DEV_SER_LEN {
                    let next = blocks.next()?;
                    *block = next.entries;
                    *phys = next
                        .phys
                        .saturating_add(crate::linux::block::BLOCK_HEADER_LEN as u64);
                }
                let (raw, rest) = block.split_at_checked(PCI_DEV_SER_LEN)?;
                let at = Where::Phys(*phys);
                *block = rest;
                *phys = phys.saturating_add(PCI_DEV_SER_LEN as u64);
                (raw, at)
            }
        };
        let dev = PciDevSer::read_from_bytes(raw).ok()?;
        let index = self.index;
        self.index = self.index.saturating_add(1);
        let address = PciAddress {
            domain: dev.domain.get(self.order),
            bdf: dev.bdf.get(self.order),
        };
        let field = dev.refcount.get(self.order);
        let refcount = match self.refcount {
            Refcount::Padding => (index < self.nr_devices).then_some(1),
            Refcount::Slot => (field != 0).then_some(1),
            Refcount::Hierarchical => (field != 0).then_some(field),
        };
        Some(PciSlot {
            index,
            at,
            address,
            field,
            entry: refcount.map(|r| PciEntry::new(address, r)),
        })
    }
}
