//! Fuzz bodies for the upstream decoders: plain functions over bytes that a cargo-fuzz target
//! (or a corpus replay test) wraps, panicking on `Err`.
//!
//! Each body decodes its input; a refused input only has its error formatted (which must not
//! panic). An accepted input is converted to this crate's types and re-encoded, and the
//! result must decode to the same thing: `Err` names the invariant that broke. Buffers are on
//! the stack (no allocation); inputs too large for them are only decoded.
#![allow(
    clippy::missing_errors_doc,
    reason = "a body's Err is a broken invariant, which its message names"
)]

use core::fmt::{self, Write};

use zerocopy::FromZeros;

use liveupdate_abi::flb::FlbEntry;
use liveupdate_abi::linux::block::BlockBuf;
use liveupdate_abi::linux::flb::FlbArea;
use liveupdate_abi::linux::luo::LuoSer;
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer, PciVersion};
use liveupdate_abi::linux::{ByteOrder, Kernel, PageSize};
use liveupdate_abi::linux::{CountField, LinuxError};
use liveupdate_abi::pci::PciEntry;

use crate::linux::image::PhysImage;
use liveupdate_abi::mem::PhysAddr;

/// The outcome of a body: `Err` names a broken invariant.
pub type Verdict = Result<(), &'static str>;

/// The writers every body decodes an input as, in turn: 4 KiB pages, each byte order. (The
/// input does not pick the order, so committed corpora keep meaning what they meant.)
const KERNELS: [Kernel; 2] = [
    Kernel::LITTLE_4K,
    Kernel::new(PageSize::SIZE_4K, ByteOrder::Big),
];

/// Runs `body` on `data` as written by each of [`KERNELS`].
fn each_order(data: &[u8], body: fn(&[u8], Kernel) -> Verdict) -> Verdict {
    KERNELS.iter().try_for_each(|&kernel| body(data, kernel))
}

/// Formats `value` into nothing: errors' `Display` must not panic on any input.
fn exercise(value: &dyn fmt::Display) {
    struct Sink;
    impl Write for Sink {
        fn write_str(&mut self, _: &str) -> fmt::Result {
            Ok(())
        }
    }
    let _ = write!(Sink, "{value}");
}

/// `luo_ser`: what decodes re-encodes to the same bytes.
/// In each byte order.
pub fn luo_ser(data: &[u8]) -> Verdict {
    each_order(data, luo_ser_in)
}

/// `luo_ser`: what decodes re-encodes to the same bytes.
fn luo_ser_in(data: &[u8], kernel: Kernel) -> Verdict {
    let ser = match LuoSer::decode(data, kernel) {
        Ok(ser) => ser,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    let mut out = [0u8; 128];
    let len = LuoSer::encode(
        &mut out,
        ser.compatible(),
        kernel,
        ser.liveupdate_num(),
        ser.sessions_pa(),
        ser.flbs_pa(),
    )
    .map_err(|_| "a decoded luo_ser does not re-encode")?;
    if out.get(..len) != Some(data) || len != ser.len() {
        return Err("luo_ser re-encoding differs from the input");
    }
    Ok(())
}

const FLB_MAX: usize = 128;

/// FLB area (4 KiB pages): entries convert, re-encode and decode to the same entries.
/// In each byte order.
pub fn flb(data: &[u8]) -> Verdict {
    each_order(data, flb_in)
}

/// FLB area (4 KiB pages): entries convert, re-encode and decode to the same entries.
fn flb_in(data: &[u8], kernel: Kernel) -> Verdict {
    let area = match FlbArea::decode(data, kernel) {
        Ok(area) => area,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    if area.entries().len() as u64 > area.capacity() {
        return Err("FLB count above capacity accepted");
    }
    if area.entries().len() > FLB_MAX {
        return Ok(());
    }
    let mut first = <[FlbEntry; FLB_MAX]>::new_zeroed();
    let entries = match area.to_entries(&mut first) {
        Ok(e) => e,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    if entries
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.name_field() >= b.name_field()))
    {
        return Err("converted FLB entries not strictly sorted");
    }
    let mut out = [0u8; 16 + 64 * FLB_MAX];
    let len = FlbArea::encode(&mut out, area.pgcnt(), kernel, entries.iter())
        .map_err(|_| "converted FLB entries do not encode")?;
    let again = FlbArea::decode(out.get(..len).unwrap_or(&[]), kernel)
        .map_err(|_| "encoded FLB area does not decode")?;
    let mut second = <[FlbEntry; FLB_MAX]>::new_zeroed();
    let round = again
        .to_entries(&mut second)
        .map_err(|_| "re-encoded FLB entries do not convert")?;
    if round != entries {
        return Err("FLB entries changed through a round trip");
    }
    Ok(())
}

const PCI_MAX: usize = 1024;

/// The array formats, selected by the first input byte.
const ARRAY_FORMATS: [(PciLayout, PciCompat); 4] = [
    (PciLayout::ArrayU64, PciCompat::V1),
    (PciLayout::Array, PciCompat::V1),
    (PciLayout::Array, PciCompat::V2),
    (PciLayout::Array, PciCompat::V3),
];

/// Array-form `pci_ser`; the first byte picks the format, the rest is the blob. Devices
/// convert, re-encode in the same format and decode to the same devices.
/// In each byte order.
pub fn pci_array(data: &[u8]) -> Verdict {
    each_order(data, pci_array_in)
}

/// Array-form `pci_ser`; the first byte picks the format, the rest is the blob. Devices
/// convert, re-encode in the same format and decode to the same devices.
fn pci_array_in(data: &[u8], kernel: Kernel) -> Verdict {
    let Some((&selector, blob)) = data.split_first() else {
        return Ok(());
    };
    let (layout, compat) = ARRAY_FORMATS
        .get(usize::from(selector) % ARRAY_FORMATS.len())
        .copied()
        .unwrap_or((PciLayout::Array, PciCompat::V2));
    let format = PciFormat::new(layout, compat).map_err(|_| "array format table invalid")?;
    let ser = match PciSer::decode(blob, format, kernel) {
        Ok(ser) => ser,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    let Some(max) = ser.max_nr_devices() else {
        return Err("array form decoded without max_nr_devices");
    };
    if ser.nr_devices() > max
        || ser.slots().filter(|s| s.entry.is_some()).count() as u64 != ser.nr_devices()
    {
        return Err("nr_devices disagrees with the slots in use");
    }
    if max > PCI_MAX as u64 {
        return Ok(());
    }
    let mut first = <[PciEntry; PCI_MAX]>::new_zeroed();
    let entries = match ser.to_entries(&mut first) {
        Ok(e) => e,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    check_sorted(entries)?;
    let mut out = [0u8; 16 + 8 * PCI_MAX];
    let len = PciSer::encode(&mut out, format, max, kernel, entries.iter())
        .map_err(|_| "converted PCI entries do not encode")?;
    let again = PciSer::decode(out.get(..len).unwrap_or(&[]), format, kernel)
        .map_err(|_| "encoded pci_ser does not decode")?;
    let mut second = <[PciEntry; PCI_MAX]>::new_zeroed();
    let round = again
        .to_entries(&mut second)
        .map_err(|_| "re-encoded PCI entries do not convert")?;
    if round != entries {
        return Err("PCI entries changed through a round trip");
    }
    Ok(())
}

const CHAIN_BLOCKS: usize = 3;
const PAGE: usize = 4096;

/// An image holding a `pci_ser`. The compatible is the image's, else `pci-v1`/`pci-v2` by
/// the parity of the input length; the layout is the newest that compatible was published
/// with (the chain for `pci-v1`/`pci-v2`, the versioned form for `pci`). Devices convert, re-encode as a
/// 4 KiB-page chain in a new image and decode to the same devices.
/// In each byte order.
pub fn pci_image(data: &[u8]) -> Verdict {
    each_order(data, pci_image_in)
}

/// An image holding a `pci_ser`. The compatible is the image's, else `pci-v1`/`pci-v2` by
/// the parity of the input length; the layout is the newest that compatible was published
/// with (the chain for `pci-v1`/`pci-v2`, the versioned form for `pci`). Devices convert, re-encode as a
/// 4 KiB-page chain in a new image and decode to the same devices.
fn pci_image_in(data: &[u8], kernel: Kernel) -> Verdict {
    let image = match PhysImage::parse(data) {
        Ok(image) => image,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    let compat = image.compatible().and_then(PciCompat::from_name).unwrap_or(
        if data.len().is_multiple_of(2) {
            PciCompat::V1
        } else {
            PciCompat::V2
        },
    );
    // The newest layout the compatible was published with (never guessed from the length).
    let Some(&layout) = compat.layouts().last() else {
        return Ok(());
    };
    let Ok(format) = PciFormat::new(layout, compat) else {
        return Ok(());
    };
    let ser = match image.decode_pci(format, kernel.order()) {
        Ok(ser) => ser,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    if ser.nr_devices() > PCI_MAX as u64 {
        return Ok(());
    }
    let mut first = <[PciEntry; PCI_MAX]>::new_zeroed();
    let entries = match ser.to_entries(&mut first) {
        Ok(e) => e,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    check_sorted(entries)?;
    chain_round_trip(entries, kernel)
}

/// Re-encodes `entries` as a chain of the newest chain compatible (which holds any
/// refcount) in a new image, and checks that it decodes to the same entries.
fn chain_round_trip(entries: &[PciEntry], kernel: Kernel) -> Verdict {
    const SER_PHYS: u64 = 0x8000;
    let (mut p0, mut p1, mut p2) = ([0u8; PAGE], [0u8; PAGE], [0u8; PAGE]);
    let mut blocks = [
        BlockBuf {
            phys: PhysAddr::new(0x1000),
            buf: &mut p0,
        },
        BlockBuf {
            phys: PhysAddr::new(0x2000),
            buf: &mut p1,
        },
        BlockBuf {
            phys: PhysAddr::new(0x3000),
            buf: &mut p2,
        },
    ];
    let mut ser_bytes = [0u8; 12];
    // PCI_MAX devices fit three 4 KiB blocks of 510.
    let Ok(written) = PciSer::encode_chain(
        &mut ser_bytes,
        PhysAddr::new(SER_PHYS),
        &mut blocks,
        PciCompat::V2,
        kernel,
        entries.iter(),
    ) else {
        return Err("converted PCI entries do not encode as a chain");
    };
    let used = usize::try_from(written.blocks)
        .unwrap_or(0)
        .min(CHAIN_BLOCKS);
    let mut segments: [(u64, &[u8]); CHAIN_BLOCKS + 1] = [(0, &[]); CHAIN_BLOCKS + 1];
    for (seg, block) in segments.iter_mut().zip(blocks.iter().take(used)) {
        *seg = (block.phys.raw(), &*block.buf);
    }
    if let Some(seg) = segments.get_mut(used) {
        *seg = (SER_PHYS, &ser_bytes[..]);
    }
    let segments = segments.get(..=used).unwrap_or(&[]);
    let mut file = [0u8; 80 + (16 + PAGE) * CHAIN_BLOCKS + 32];
    let len = PhysImage::write(&mut file, SER_PHYS, kernel.page(), Some("pci-v2"), segments)
        .map_err(|_| "chain image does not write")?;
    let image = PhysImage::parse(file.get(..len).unwrap_or(&[]))
        .map_err(|_| "written image does not parse")?;
    let format =
        PciFormat::new(PciLayout::Chain, PciCompat::V2).map_err(|_| "chain format invalid")?;
    let again = image
        .decode_pci(format, kernel.order())
        .map_err(|_| "encoded chain does not decode")?;
    let mut second = <[PciEntry; PCI_MAX]>::new_zeroed();
    let round = again
        .to_entries(&mut second)
        .map_err(|_| "re-encoded chain entries do not convert")?;
    if round != entries {
        return Err("PCI entries changed through a chain round trip");
    }
    Ok(())
}

/// The image container alone: every segment reads back through the image as memory.
pub fn phys_image(data: &[u8]) -> Verdict {
    let image = match PhysImage::parse(data) {
        Ok(image) => image,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    let mut count: u32 = 0;
    let mut blob_seen = false;
    for seg in image.segments() {
        count = count.saturating_add(1);
        if image.get(seg.phys, seg.bytes.len()) != Some(seg.bytes) {
            return Err("an image segment does not read back");
        }
        blob_seen |= seg.phys == image.blob_phys() && seg.bytes == image.blob();
    }
    if count != image.segment_count() || !blob_seen {
        return Err("image segments disagree with its header");
    }
    Ok(())
}

fn check_sorted(entries: &[PciEntry]) -> Verdict {
    if entries
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.address().key() >= b.address().key()))
    {
        return Err("converted PCI entries not strictly sorted");
    }
    Ok(())
}

/// The `pci_ser` of the FLB `"pci"`: an image (its blob and the chain in its segments) or a
/// raw blob (no memory: only an empty chain reads). A version other than 1 or 2 must be
/// refused as such; what decodes converts, re-encodes at the same version as a new chain
/// and decodes to the same devices.
/// In each byte order.
pub fn pci_versioned(data: &[u8]) -> Verdict {
    each_order(data, pci_versioned_in)
}

/// The `pci_ser` of the FLB `"pci"`: an image (its blob and the chain in its segments) or a
/// raw blob (no memory: only an empty chain reads). A version other than 1 or 2 must be
/// refused as such; what decodes converts, re-encodes at the same version as a new chain
/// and decodes to the same devices.
fn pci_versioned_in(data: &[u8], kernel: Kernel) -> Verdict {
    let image = PhysImage::parse(data).ok();
    let decoded = match &image {
        Some(image) => {
            let Ok(format) = PciFormat::new(PciLayout::Versioned, PciCompat::Pci) else {
                return Err("versioned format invalid");
            };
            image.decode_pci(format, kernel.order())
        }
        None => PciSer::decode(
            data,
            PciFormat::new(PciLayout::Versioned, PciCompat::Pci)
                .map_err(|_| "versioned format invalid")?,
            kernel,
        ),
    };
    let blob = image.as_ref().map_or(data, PhysImage::blob);
    let stored = blob
        .get(..4)
        .and_then(|v| v.try_into().ok())
        .map(|v| match kernel.order() {
            ByteOrder::Little => u32::from_le_bytes(v),
            ByteOrder::Big => u32::from_be_bytes(v),
        });
    let ser = match decoded {
        Ok(ser) => ser,
        Err(e) => {
            exercise(&e);
            let unknown = stored.is_some_and(|v| PciVersion::from_number(v).is_none());
            if unknown != matches!(e, LinuxError::Version { .. }) {
                return Err("an unknown version is not refused as such");
            }
            return Ok(());
        }
    };
    let Some(version) = ser.version() else {
        return Err("the versioned form decoded without a version");
    };
    if stored != Some(version.number()) || ser.refcount() != version.refcount() {
        return Err("the decoded version is not the stored one");
    }
    if ser.nr_devices() > PCI_MAX as u64 {
        return Ok(());
    }
    let mut first = <[PciEntry; PCI_MAX]>::new_zeroed();
    let entries = match ser.to_entries(&mut first) {
        Ok(e) => e,
        Err(e) => {
            exercise(&e);
            return Ok(());
        }
    };
    check_sorted(entries)?;
    versioned_round_trip(entries, version, kernel)
}

/// Re-encodes `entries` in the versioned form at `version` in a new image and checks that it
/// decodes to the same entries and version.
fn versioned_round_trip(entries: &[PciEntry], version: PciVersion, kernel: Kernel) -> Verdict {
    let (mut p0, mut p1, mut p2) = ([0u8; PAGE], [0u8; PAGE], [0u8; PAGE]);
    let mut blocks = [
        BlockBuf {
            phys: PhysAddr::new(0x1000),
            buf: &mut p0,
        },
        BlockBuf {
            phys: PhysAddr::new(0x2000),
            buf: &mut p1,
        },
        BlockBuf {
            phys: PhysAddr::new(0x3000),
            buf: &mut p2,
        },
    ];
    let mut ser_bytes = [0u8; 16];
    let Ok(written) = PciSer::encode_versioned(
        &mut ser_bytes,
        PhysAddr::new(0x8000),
        &mut blocks,
        version,
        kernel,
        entries.iter(),
    ) else {
        return Err("converted PCI entries do not encode in the versioned form");
    };
    let used = usize::try_from(written.blocks)
        .unwrap_or(0)
        .min(CHAIN_BLOCKS);
    let mut segments: [(u64, &[u8]); CHAIN_BLOCKS + 1] = [(0, &[]); CHAIN_BLOCKS + 1];
    for (seg, block) in segments.iter_mut().zip(blocks.iter().take(used)) {
        *seg = (block.phys.raw(), &*block.buf);
    }
    if let Some(seg) = segments.get_mut(used) {
        *seg = (0x8000, &ser_bytes[..]);
    }
    let segments = segments.get(..=used).unwrap_or(&[]);
    let mut file = [0u8; 80 + (16 + PAGE) * CHAIN_BLOCKS + 32];
    let len = PhysImage::write(&mut file, 0x8000, kernel.page(), Some("pci"), segments)
        .map_err(|_| "versioned image does not write")?;
    let image = PhysImage::parse(file.get(..len).unwrap_or(&[]))
        .map_err(|_| "written image does not parse")?;
    let format =
        PciFormat::new(PciLayout::Versioned, PciCompat::Pci).map_err(|_| "format invalid")?;
    let again = image
        .decode_pci(format, kernel.order())
        .map_err(|_| "encoded versioned form does not decode")?;
    let mut second = <[PciEntry; PCI_MAX]>::new_zeroed();
    let round = again
        .to_entries(&mut second)
        .map_err(|_| "re-encoded versioned entries do not convert")?;
    if round != entries || again.version() != Some(version) {
        return Err("PCI entries changed through a versioned round trip");
    }
    Ok(())
}

/// `luo_ser`, lenient: whatever the strict decoder accepts, the lenient one accepts with no
/// warning and the same fields; whatever the lenient one accepts without a warning, the
/// strict one accepts; with warnings, the structure re-encodes to the blob's first bytes.
/// In each byte order.
pub fn luo_ser_lenient(data: &[u8]) -> Verdict {
    each_order(data, luo_ser_lenient_in)
}

/// `luo_ser`, lenient: whatever the strict decoder accepts, the lenient one accepts with no
/// warning and the same fields; whatever the lenient one accepts without a warning, the
/// strict one accepts; with warnings, the structure re-encodes to the blob's first bytes.
fn luo_ser_lenient_in(data: &[u8], kernel: Kernel) -> Verdict {
    let mut warnings: u32 = 0;
    let lenient = LuoSer::decode_lenient(data, kernel, &mut |e| {
        exercise(&e);
        warnings = warnings.saturating_add(1);
    });
    let strict = LuoSer::decode(data, kernel);
    match (&strict, &lenient) {
        (Ok(s), Ok(l)) if s == l && warnings == 0 => Ok(()),
        (Ok(_), _) => Err("a strict luo_ser is not accepted alike, without warning"),
        (Err(_), Ok(_)) if warnings == 0 => {
            Err("lenient luo_ser accepted, no warning, strictly refused")
        }
        (Err(_), Ok(l)) => {
            let mut out = [0u8; 128];
            let len = LuoSer::encode(
                &mut out,
                l.compatible(),
                kernel,
                l.liveupdate_num(),
                l.sessions_pa(),
                l.flbs_pa(),
            )
            .map_err(|_| "a lenient luo_ser does not re-encode")?;
            if len != l.len() || data.len() < len {
                return Err("a lenient luo_ser has the wrong length");
            }
            Ok(())
        }
        (Err(s), Err(l)) => {
            exercise(s);
            exercise(l);
            Ok(())
        }
    }
}

/// FLB area, lenient: whatever the strict decoder accepts, the lenient one accepts with no
/// warning; accepted without a warning means strictly accepted; every warning is one the
/// kernel accepts (an entry's name or count).
/// In each byte order.
pub fn flb_lenient(data: &[u8]) -> Verdict {
    each_order(data, flb_lenient_in)
}

/// FLB area, lenient: whatever the strict decoder accepts, the lenient one accepts with no
/// warning; accepted without a warning means strictly accepted; every warning is one the
/// kernel accepts (an entry's name or count).
fn flb_lenient_in(data: &[u8], kernel: Kernel) -> Verdict {
    let mut warnings: u32 = 0;
    let mut other = false;
    let lenient = FlbArea::decode_lenient(data, kernel, &mut |e| {
        exercise(&e);
        warnings = warnings.saturating_add(1);
        other |= !matches!(
            e,
            LinuxError::Name { .. }
                | LinuxError::Zero {
                    field: CountField::FlbFileCount,
                    ..
                }
        );
    });
    if other {
        return Err("an FLB warning is not one the kernel accepts");
    }
    let strict = FlbArea::decode(data, kernel);
    match (&strict, &lenient) {
        (Ok(s), Ok(l)) if s == l && warnings == 0 => Ok(()),
        (Ok(_), _) => Err("a strict FLB area is not accepted alike, without warning"),
        (Err(_), Ok(_)) if warnings == 0 => {
            Err("lenient FLB area accepted, no warning, strictly refused")
        }
        (Err(_), Ok(l)) => {
            if l.entries().len() as u64 > l.capacity() {
                return Err("lenient FLB count above capacity accepted");
            }
            Ok(())
        }
        (Err(s), Err(l)) => {
            exercise(s);
            exercise(l);
            Ok(())
        }
    }
}
