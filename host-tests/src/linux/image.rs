//! A small file format holding an upstream blob and the physical memory it points to, so a
//! blob whose data lives in other pages (the v7 `pci_ser` and its block chain) can be stored
//! in one file, written by a kernel-side dumper or a test, and read back as a [`PhysMem`].
//!
//! This format is ours, not the kernel's, which is why it lives here and not in
//! `liveupdate_abi::linux` (which keeps the kernel's formats only). All fields are
//! little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `"KHOIMAGE"` |
//! | 8 | 4 | version, 1 |
//! | 12 | 4 | `segment_count`, at least 1 |
//! | 16 | 8 | `blob_phys` — physical address of the blob; a segment starts there and is the blob |
//! | 24 | 8 | `page_size` — the writer kernel's `PAGE_SIZE` (KHO block size) |
//! | 32 | 48 | `compatible` — the FLB name the blob was found under, NUL-terminated and zero-padded; all zero when unknown |
//! | 80 | … | `segment_count` segments |
//!
//! A segment is `u64 phys`, `u64 len` (at least 1), then `len` bytes of memory content and
//! zeroes up to a multiple of 8. Segments are sorted by `phys` and disjoint; nothing follows
//! the last one. The blob's bytes are exactly as the kernel wrote them.

use core::fmt;

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use liveupdate_abi::linux::pci::{PciFormat, PciLayout, PciSer};
use liveupdate_abi::linux::{ByteOrder, Kernel, LinuxError, NameFault, PageSize};
use liveupdate_abi::mem::{MemError, PhysAddr, PhysMem, Window};

/// The magic at offset 0.
pub const MAGIC: [u8; 8] = *b"KHOIMAGE";
/// The version this reader reads and writes.
pub const VERSION: u32 = 1;
/// Size of the image header.
pub const HEADER_LEN: usize = size_of::<ImageHeader>();
/// Size of the compatible field.
pub const COMPAT_LEN: usize = 48;
const SEGMENT_HEADER_LEN: usize = size_of::<SegmentHeader>();

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct ImageHeader {
    magic: [u8; 8],
    version: U32,
    segment_count: U32,
    blob_phys: U64,
    page_size: U64,
    compatible: [u8; COMPAT_LEN],
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct SegmentHeader {
    phys: U64,
    len: U64,
}

const _: () = {
    assert!(HEADER_LEN == 80);
    assert!(SEGMENT_HEADER_LEN == 16);
};

/// What is wrong with an image file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFault {
    /// The magic is not `"KHOIMAGE"`.
    Magic,
    /// An image version this reader does not read.
    Version {
        /// The version found.
        found: u32,
    },
    /// The recorded page size is not a [`PageSize`].
    PageSize {
        /// The page size found.
        found: u64,
    },
    /// The compatible field is malformed.
    Compatible(NameFault),
    /// A segment is empty.
    EmptySegment,
    /// A segment's range wraps around the physical address space.
    AddressOverflow,
    /// A segment does not start above the end of the previous one (segments are sorted and
    /// disjoint).
    SegmentOrder,
    /// A padding byte after a segment's data is not zero.
    Padding,
    /// Bytes follow the last segment.
    Trailing,
    /// No segment starts at the recorded blob address.
    NoBlob,
}

impl fmt::Display for ImageFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ImageFault::Magic => f.write_str("bad magic, expected \"KHOIMAGE\""),
            ImageFault::Version { found } => write!(f, "unsupported version {found}"),
            ImageFault::PageSize { found } => write!(f, "invalid page size {found}"),
            ImageFault::Compatible(fault) => write!(f, "compatible: {fault}"),
            ImageFault::EmptySegment => f.write_str("empty segment"),
            ImageFault::AddressOverflow => f.write_str("segment wraps the address space"),
            ImageFault::SegmentOrder => {
                f.write_str("segment overlaps or precedes the previous one")
            }
            ImageFault::Padding => f.write_str("non-zero padding after a segment"),
            ImageFault::Trailing => f.write_str("bytes after the last segment"),
            ImageFault::NoBlob => f.write_str("no segment starts at the blob address"),
        }
    }
}

/// Why an image file was refused, or could not be written. (Decoding the blob it holds fails
/// with the decoders' [`LinuxError`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The file ends before its header or a segment does.
    #[error("kho image: too short: need {needed} bytes, found {found}")]
    TooShort {
        /// Bytes needed.
        needed: u64,
        /// Bytes found.
        found: u64,
    },
    /// The output buffer of [`PhysImage::write`] is too small.
    #[error("kho image: output too small: need {needed}, have {found}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: u64,
        /// Bytes given.
        found: u64,
    },
    /// The image is malformed.
    #[error("kho image: at offset {offset}: {fault}")]
    Malformed {
        /// Byte offset in the file.
        offset: u64,
        /// What is wrong.
        fault: ImageFault,
    },
}

/// A validated image: the blob, the page size, the compatible, and memory to read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PhysImage<'a> {
    segments: &'a [u8],
    segment_count: u32,
    blob_phys: u64,
    blob: &'a [u8],
    page: PageSize,
    compatible: Option<&'a str>,
}

impl fmt::Debug for PhysImage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhysImage")
            .field("segments", &self.segment_count)
            .field("blob_phys", &self.blob_phys)
            .field("blob_len", &self.blob.len())
            .field("page", &self.page)
            .field("compatible", &self.compatible)
            .finish()
    }
}

/// One segment of an image: memory at a physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Physical address of the first byte.
    pub phys: u64,
    /// The memory content.
    pub bytes: &'a [u8],
}

/// Iterator over the segments of a [`PhysImage`], in address order.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        // The image was validated: every step below succeeds until the area is consumed.
        let (header, rest) = SegmentHeader::ref_from_prefix(self.rest).ok()?;
        let len = usize::try_from(header.len.get()).ok()?;
        let bytes = rest.get(..len)?;
        self.rest = rest.get(padded(len)?..).unwrap_or(&[]);
        Some(Segment {
            phys: header.phys.get(),
            bytes,
        })
    }
}

fn padded(len: usize) -> Option<usize> {
    len.checked_add(7).map(|n| n & !7)
}

impl<'a> PhysImage<'a> {
    /// Validates an image file.
    ///
    /// # Errors
    ///
    /// [`ImageError::TooShort`] when the file ends early; [`ImageError::Malformed`] naming the
    /// offset and the fault otherwise.
    pub fn parse(bytes: &'a [u8]) -> Result<PhysImage<'a>, ImageError> {
        let too_short = |needed: usize| ImageError::TooShort {
            needed: needed as u64,
            found: bytes.len() as u64,
        };
        let fault = |offset: usize, fault| ImageError::Malformed {
            offset: offset as u64,
            fault,
        };
        let (header, area) =
            ImageHeader::ref_from_prefix(bytes).map_err(|_| too_short(HEADER_LEN))?;
        if header.magic != MAGIC {
            return Err(fault(0, ImageFault::Magic));
        }
        if header.version.get() != VERSION {
            return Err(fault(
                8,
                ImageFault::Version {
                    found: header.version.get(),
                },
            ));
        }
        let page = PageSize::new(header.page_size.get()).ok_or(fault(
            24,
            ImageFault::PageSize {
                found: header.page_size.get(),
            },
        ))?;
        let compatible = if header.compatible.iter().all(|&b| b == 0) {
            None
        } else {
            Some(
                name_strict(&header.compatible)
                    .map_err(|f| fault(32, ImageFault::Compatible(f)))?,
            )
        };
        let blob_phys = header.blob_phys.get();
        let mut blob = None;
        let mut offset = HEADER_LEN;
        let mut rest = area;
        let mut end_of_prev: Option<u64> = None;
        for _ in 0..header.segment_count.get() {
            let (seg, data) = SegmentHeader::ref_from_prefix(rest)
                .map_err(|_| too_short(offset + SEGMENT_HEADER_LEN))?;
            let (phys, len) = (seg.phys.get(), seg.len.get());
            if len == 0 {
                return Err(fault(offset, ImageFault::EmptySegment));
            }
            let end = phys
                .checked_add(len)
                .ok_or(fault(offset, ImageFault::AddressOverflow))?;
            if end_of_prev.is_some_and(|prev| phys < prev) {
                return Err(fault(offset, ImageFault::SegmentOrder));
            }
            let data_start = offset + SEGMENT_HEADER_LEN;
            let len_usize = usize::try_from(len)
                .ok()
                .filter(|&l| l <= data.len())
                .ok_or(too_short(
                    data_start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX)),
                ))?;
            let span = padded(len_usize).unwrap_or(usize::MAX);
            let (content, pad) = data.split_at(len_usize);
            let pad = pad
                .get(..span - len_usize)
                .ok_or(too_short(data_start.saturating_add(span)))?;
            if let Some(at) = pad.iter().position(|&b| b != 0) {
                return Err(fault(data_start + len_usize + at, ImageFault::Padding));
            }
            if phys == blob_phys {
                blob = Some(content);
            }
            end_of_prev = Some(end);
            rest = data.get(span..).unwrap_or(&[]);
            offset = data_start + span;
        }
        if !rest.is_empty() {
            return Err(fault(offset, ImageFault::Trailing));
        }
        let blob = blob.ok_or(fault(16, ImageFault::NoBlob))?;
        Ok(PhysImage {
            segments: area,
            segment_count: header.segment_count.get(),
            blob_phys,
            blob,
            page,
            compatible,
        })
    }

    /// The blob: the segment starting at [`PhysImage::blob_phys`].
    pub fn blob(&self) -> &'a [u8] {
        self.blob
    }

    /// Physical address of the blob.
    pub fn blob_phys(&self) -> u64 {
        self.blob_phys
    }

    /// The writer kernel's page size.
    pub fn page_size(&self) -> PageSize {
        self.page
    }

    /// The FLB name the blob was found under, when recorded.
    pub fn compatible(&self) -> Option<&'a str> {
        self.compatible
    }

    /// Number of segments.
    pub fn segment_count(&self) -> u32 {
        self.segment_count
    }

    /// The segments in address order.
    pub fn segments(&self) -> Segments<'a> {
        Segments {
            rest: self.segments,
        }
    }

    /// The `len` bytes at `phys`, when one segment holds them all. O(segments).
    pub fn get(&self, phys: u64, len: usize) -> Option<&'a [u8]> {
        self.segments()
            .take_while(|s| s.phys <= phys)
            .find_map(|s| {
                let start = usize::try_from(phys - s.phys).ok()?;
                s.bytes.get(start..start.checked_add(len)?)
            })
    }

    /// Validates the `pci_ser` blob of the image (its blob segment) in `format`, reading a
    /// chain's blocks from the image's other segments, in the image's page size and the byte
    /// order `order` of the kernel that wrote the blob (the image records the page size, not
    /// the byte order; its own fields are little-endian whatever the blob's). The result
    /// reads the chain through `self`, so it borrows the image.
    ///
    /// # Errors
    ///
    /// Those of [`PciSer::decode`] (array layouts), [`PciSer::decode_chain`] (the chain
    /// layout) and [`PciSer::decode_versioned`] (the FLB `"pci"`).
    pub fn decode_pci(
        &self,
        format: PciFormat,
        order: ByteOrder,
    ) -> Result<PciSer<'_>, LinuxError> {
        let kernel = Kernel::new(self.page, order);
        match format.layout() {
            PciLayout::Chain => PciSer::decode_chain(
                self.blob,
                Some(PhysAddr::new(self.blob_phys)),
                format.compat(),
                self,
                kernel,
            ),
            PciLayout::Versioned => PciSer::decode_versioned(
                self.blob,
                Some(PhysAddr::new(self.blob_phys)),
                self,
                kernel,
            ),
            PciLayout::Array | PciLayout::ArrayU64 => PciSer::decode(self.blob, format, kernel),
        }
    }

    /// Size of an image holding `segments` (`(phys, bytes)` pairs).
    pub fn len_for(segments: &[(u64, &[u8])]) -> usize {
        segments.iter().fold(HEADER_LEN, |n, (_, b)| {
            n.saturating_add(SEGMENT_HEADER_LEN)
                .saturating_add(padded(b.len()).unwrap_or(usize::MAX))
        })
    }

    /// Writes an image into `out`: `segments` (sorted by address, disjoint, non-empty), one of
    /// which starts at `blob_phys`; `compatible` names the blob (`None`: unknown). Returns the
    /// length, [`PhysImage::len_for`]`(segments)`.
    ///
    /// # Errors
    ///
    /// [`ImageError::BufferTooSmall`], and the [`ImageError::Malformed`] faults
    /// [`PhysImage::parse`] would report on the result.
    pub fn write(
        out: &mut [u8],
        blob_phys: u64,
        page: PageSize,
        compatible: Option<&str>,
        segments: &[(u64, &[u8])],
    ) -> Result<usize, ImageError> {
        let total = PhysImage::len_for(segments);
        let found = out.len();
        let out = out.get_mut(..total).ok_or(ImageError::BufferTooSmall {
            needed: total as u64,
            found: found as u64,
        })?;
        out.fill(0);
        let mut header = ImageHeader {
            magic: MAGIC,
            version: U32::new(VERSION),
            segment_count: U32::new(u32::try_from(segments.len()).unwrap_or(u32::MAX)),
            blob_phys: U64::new(blob_phys),
            page_size: U64::new(page.get()),
            compatible: [0; COMPAT_LEN],
        };
        if let Some(c) = compatible {
            name_write(&mut header.compatible, c).map_err(|f| ImageError::Malformed {
                offset: 32,
                fault: ImageFault::Compatible(f),
            })?;
        }
        let (head, mut rest) = out.split_at_mut(HEADER_LEN);
        head.copy_from_slice(header.as_bytes());
        for &(phys, bytes) in segments {
            let seg = SegmentHeader {
                phys: U64::new(phys),
                len: U64::new(bytes.len() as u64),
            };
            let span = SEGMENT_HEADER_LEN + padded(bytes.len()).unwrap_or(usize::MAX);
            let (this, next) = rest.split_at_mut(span.min(rest.len()));
            let (h, data) = this.split_at_mut(SEGMENT_HEADER_LEN.min(this.len()));
            h.copy_from_slice(seg.as_bytes());
            if let Some(dst) = data.get_mut(..bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            rest = next;
        }
        // Whatever the parser would refuse (order, overlap, empty segment, missing blob) is
        // refused here, from the very bytes written.
        PhysImage::parse(out)?;
        Ok(total)
    }
}

/// A range must lie inside one segment; the error names the nearest segment at or below it.
impl PhysMem for PhysImage<'_> {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        let mut error = MemError::unmapped(addr, len, PhysAddr::NULL, 0);
        for s in self.segments().take_while(|s| s.phys <= addr.raw()) {
            let window = Window {
                base: PhysAddr::new(s.phys),
                size: s.bytes.len() as u64,
            };
            match window.offset(addr, len) {
                Ok(start) => return s.bytes.get(start..start + len).ok_or(error),
                Err(e) => error = e,
            }
        }
        Err(error)
    }
}

/// Checks a whole compatible field: a non-empty printable string, a NUL, zeroes to the end
/// (the rule `liveupdate_abi::linux` applies to upstream names).
fn name_strict(field: &[u8]) -> Result<&str, NameFault> {
    let len = field
        .iter()
        .position(|&b| b == 0)
        .ok_or(NameFault::Unterminated)?;
    let (text, pad) = field.split_at(len);
    let s = printable(text)?;
    if let Some(at) = pad.iter().position(|&b| b != 0) {
        return Err(NameFault::Padding {
            at: clamp_u8(len.saturating_add(at)),
        });
    }
    Ok(s)
}

/// Copies `s` into `field` and zero-fills the rest; `s` must leave room for the NUL.
fn name_write(field: &mut [u8], s: &str) -> Result<(), NameFault> {
    printable(s.as_bytes())?;
    let max = field.len().saturating_sub(1);
    if s.len() > max {
        return Err(NameFault::TooLong { max: clamp_u8(max) });
    }
    field.fill(0);
    field[..s.len()].copy_from_slice(s.as_bytes());
    Ok(())
}

/// A non-empty printable ASCII string.
fn printable(text: &[u8]) -> Result<&str, NameFault> {
    if text.is_empty() {
        return Err(NameFault::Empty);
    }
    if let Some(at) = text.iter().position(|b| !b.is_ascii_graphic()) {
        return Err(NameFault::NotPrintable { at: clamp_u8(at) });
    }
    std::str::from_utf8(text).map_err(|_| NameFault::NotPrintable { at: 0 })
}

/// Positions inside the field are below 256; saturate anyway.
fn clamp_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}
