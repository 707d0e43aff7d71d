//! Entry points for tools reading upstream blobs from files: `luo verify --linux KIND FILE`
//! and `luo dump --linux KIND FILE`.
//!
//! A FILE holds one blob exactly as a kernel wrote it, or a [`crate::linux::image`] holding
//! the blob and the pages it points to. KIND names the form completely; nothing is guessed
//! from the blob's length (a 16-byte `"pci"` blob and a one-slot `u32` array are both 16
//! bytes long):
//!
//! | KIND | FILE |
//! |---|---|
//! | `luo` | the `luo_ser` blob registered under KHO name `"LUO"` |
//! | `flb` | the FLB area at `flbs_pa`: header and `count` entries, up to `pgcnt` whole pages |
//! | `pci` | the 16-byte `pci_ser` of FLB `"pci"` (`u32 version` 1 or 2): raw when it has no devices, else an image whose other segments are its blocks |
//! | `pci-v1-chain`, `pci-v2-chain` | the 12-byte v7 `pci_ser` of FLB `"pci-v1"`/`"pci-v2"`, likewise |
//! | `pci-v1-array`, `pci-v2-array`, `pci-v3-array` (or `pci-v3`) | the `u32` array form, `8 + 8 * max_nr_devices` bytes |
//! | `pci-v1-u64` | the 23 Mar 2026 array form, `16 + 8 * max_nr_devices` bytes |
//!
//! `pci-v1` and `pci-v2` alone are refused: each compatible was published with several
//! layouts. An image that records a compatible must record the one KIND names.

use liveupdate_abi::linux::Kernel;
use liveupdate_abi::linux::error::LinuxError;
use liveupdate_abi::linux::flb::FlbArea;
use liveupdate_abi::linux::luo::LuoSer;
use liveupdate_abi::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer};

use crate::linux::image::{ImageError, MAGIC, PhysImage};

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinuxKind {
    /// A `luo_ser` blob.
    Luo,
    /// An FLB area.
    Flb,
    /// A `pci_ser` of this form (layout and compatible).
    Pci(PciFormat),
}

/// The `pci` KINDs: name, layout, compatible.
const PCI_KINDS: [(&str, PciLayout, PciCompat); 7] = [
    ("pci", PciLayout::Versioned, PciCompat::Pci),
    ("pci-v1-u64", PciLayout::ArrayU64, PciCompat::V1),
    ("pci-v1-array", PciLayout::Array, PciCompat::V1),
    ("pci-v2-array", PciLayout::Array, PciCompat::V2),
    ("pci-v3-array", PciLayout::Array, PciCompat::V3),
    ("pci-v1-chain", PciLayout::Chain, PciCompat::V1),
    ("pci-v2-chain", PciLayout::Chain, PciCompat::V2),
];

impl LinuxKind {
    /// Every KIND name, as a command line takes them (`pci-v3` is also taken, for
    /// `pci-v3-array`: that compatible had one layout).
    pub const NAMES: [&'static str; 9] = [
        "luo",
        "flb",
        "pci",
        "pci-v1-u64",
        "pci-v1-array",
        "pci-v2-array",
        "pci-v3-array",
        "pci-v1-chain",
        "pci-v2-chain",
    ];

    /// The kind named `name`, one of [`LinuxKind::NAMES`], or a PCI compatible published
    /// with one layout only (`pci-v3`).
    pub fn from_name(name: &str) -> Option<LinuxKind> {
        match name {
            "luo" => return Some(LinuxKind::Luo),
            "flb" => return Some(LinuxKind::Flb),
            _ => {}
        }
        if let Some(&(_, layout, compat)) = PCI_KINDS.iter().find(|(n, _, _)| *n == name) {
            return PciFormat::new(layout, compat).ok().map(LinuxKind::Pci);
        }
        match PciCompat::from_name(name).map(|c| (c, c.layouts())) {
            Some((compat, &[layout])) => PciFormat::new(layout, compat).ok().map(LinuxKind::Pci),
            _ => None,
        }
    }

    /// For a PCI compatible published with several layouts (`pci-v1`, `pci-v2`), the KINDs
    /// that name each; empty for any other name.
    pub fn forms_of(name: &str) -> Vec<&'static str> {
        let Some(compat) = PciCompat::from_name(name) else {
            return Vec::new();
        };
        if compat.layouts().len() < 2 {
            return Vec::new();
        }
        PCI_KINDS
            .iter()
            .filter(|(_, _, c)| *c == compat)
            .map(|(n, _, _)| *n)
            .collect()
    }

    /// The name of this kind.
    pub fn name(self) -> &'static str {
        match self {
            LinuxKind::Luo => "luo",
            LinuxKind::Flb => "flb",
            LinuxKind::Pci(format) => PCI_KINDS
                .iter()
                .find(|(_, l, c)| *l == format.layout() && *c == format.compat())
                .map_or("pci", |(n, _, _)| *n),
        }
    }
}

/// A decoded file.
#[derive(Clone, Copy, Debug)]
pub enum LinuxBlob<'a> {
    /// A `luo_ser`.
    Luo(LuoSer<'a>),
    /// An FLB area.
    Flb(FlbArea<'a>),
    /// A `pci_ser`, with its chain when it has one.
    Pci(PciSer<'a>),
}

/// Why a FILE was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The blob is refused by its decoder.
    #[error(transparent)]
    Linux(#[from] LinuxError),
    /// The image container is malformed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The image records another compatible than the one KIND names.
    #[error("kho image: compatible at offset 32: not {:?}, the compatible KIND names", expected.name())]
    Mismatch {
        /// The compatible KIND names.
        expected: PciCompat,
    },
}

/// The contents of a FILE: its bytes and, when they start with the image magic, the image
/// they hold (parsed when a `pci` kind asks for it). A decoded `pci_ser` chain reads its
/// blocks from the image, so it borrows this value.
#[derive(Clone, Copy, Debug)]
pub struct LinuxFile<'a> {
    bytes: &'a [u8],
    image: Option<Result<PhysImage<'a>, ImageError>>,
}

impl<'a> LinuxFile<'a> {
    /// The file holding `bytes`.
    pub fn new(bytes: &'a [u8]) -> LinuxFile<'a> {
        let image = bytes.starts_with(&MAGIC).then(|| PhysImage::parse(bytes));
        LinuxFile { bytes, image }
    }

    /// The bytes of the blob: the image's blob segment, or the whole file.
    pub fn blob(&self) -> &'a [u8] {
        match &self.image {
            Some(Ok(image)) => image.blob(),
            _ => self.bytes,
        }
    }
}

/// Decodes the contents of a FILE of `kind`, written by `kernel`: its byte order for every
/// blob, its page size for FLB areas and raw blobs (an image records its own page size; its
/// container fields are little-endian whatever the blob's order).
///
/// This validates the structure. For `pci`, call [`PciSer::to_entries`] with a buffer of
/// [`PciSer::nr_devices`] entries to also refuse duplicate devices: a `verify` should.
///
/// # Errors
///
/// [`FileError::Linux`] with the decoders' errors; [`FileError::Image`] with
/// [`PhysImage::parse`]'s for a malformed image; [`FileError::Mismatch`] when the image
/// records another compatible than KIND names.
pub fn decode<'f>(
    kind: LinuxKind,
    file: &'f LinuxFile<'_>,
    kernel: Kernel,
) -> Result<LinuxBlob<'f>, FileError> {
    let bytes = file.bytes;
    match kind {
        LinuxKind::Luo => Ok(LinuxBlob::Luo(LuoSer::decode(bytes, kernel)?)),
        LinuxKind::Flb => Ok(LinuxBlob::Flb(FlbArea::decode(bytes, kernel)?)),
        LinuxKind::Pci(format) => decode_pci(format, file, kernel).map(LinuxBlob::Pci),
    }
}

fn decode_pci<'f>(
    format: PciFormat,
    file: &'f LinuxFile<'_>,
    kernel: Kernel,
) -> Result<PciSer<'f>, FileError> {
    let image = match &file.image {
        Some(Ok(image)) => Some(image),
        Some(Err(e)) => return Err(FileError::Image(*e)),
        None => None,
    };
    if image
        .and_then(PhysImage::compatible)
        .is_some_and(|recorded| recorded != format.compat().name())
    {
        return Err(FileError::Mismatch {
            expected: format.compat(),
        });
    }
    Ok(match image {
        Some(image) => image.decode_pci(format, kernel.order())?,
        None => PciSer::decode(file.bytes, format, kernel)?,
    })
}
