//! Entry points for tools reading upstream blobs from files: `luo verify --linux KIND FILE`
//! and `luo dump --linux KIND FILE`.
//!
//! A FILE holds one blob exactly as a kernel wrote it, or a [`crate::linux::image`] holding
//! the blob and the pages it points to:
//!
//! | KIND | FILE |
//! |---|---|
//! | `luo` | the `luo_ser` blob registered under KHO name `"LUO"`, exactly its size |
//! | `flb` | the FLB area at `flbs_pa`: header and `count` entries, up to `pgcnt` whole pages |
//! | `pci`, `pci-v1`, `pci-v2`, `pci-v3` | the `pci_ser` of FLB `"pci-vN"`: a raw array-form blob (`8 + 8 * max_nr_devices` bytes), or an image whose blob is the 12-byte chain form and whose other segments are its blocks |
//! | `pci-v1-u64` | the 23 Mar 2026 array form, `16 + 8 * max_nr_devices` bytes |
//!
//! The `pci_ser` layout follows from the file: an image's or raw blob's length of 12 bytes
//! is the chain form (an array form is never 12 bytes long), anything else the `u32` array
//! form. The compatible comes from KIND, else from the image's recorded compatible, else is
//! `"pci-v2"` (the state `linux-mm/linux-mm` carries, and the last chain-form compatible).

use liveupdate_abi::linux::PageSize;
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
    /// A `pci_ser` (array or chain form) of the given compatible, or of the image's.
    Pci(Option<PciCompat>),
    /// A `pci_ser` in the 23 Mar 2026 form (16-byte header, compatible `"pci-v1"`).
    PciU64,
}

impl LinuxKind {
    /// Every KIND name, as a command line takes them.
    pub const NAMES: [&'static str; 7] = [
        "luo",
        "flb",
        "pci",
        "pci-v1",
        "pci-v2",
        "pci-v3",
        "pci-v1-u64",
    ];

    /// The kind named `name`, one of [`LinuxKind::NAMES`].
    pub fn from_name(name: &str) -> Option<LinuxKind> {
        match name {
            "luo" => Some(LinuxKind::Luo),
            "flb" => Some(LinuxKind::Flb),
            "pci" => Some(LinuxKind::Pci(None)),
            "pci-v1-u64" => Some(LinuxKind::PciU64),
            other => PciCompat::from_name(other).map(|c| LinuxKind::Pci(Some(c))),
        }
    }

    /// The name of this kind.
    pub const fn name(self) -> &'static str {
        match self {
            LinuxKind::Luo => "luo",
            LinuxKind::Flb => "flb",
            LinuxKind::Pci(None) => "pci",
            LinuxKind::Pci(Some(c)) => c.name(),
            LinuxKind::PciU64 => "pci-v1-u64",
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
    /// KIND names another compatible than the image records, or the image records one that
    /// is no `pci-vN`.
    #[error("kho image: compatible at offset 32: not the expected compatible")]
    Mismatch,
}

/// The compatible used for `pci` when neither KIND nor the image names one.
pub const DEFAULT_PCI_COMPAT: PciCompat = PciCompat::V2;

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
}

/// Decodes the contents of a FILE of `kind`. `page` is the writer kernel's page size, used
/// for FLB areas and raw blobs (an image records its own).
///
/// This validates the structure. For `pci`, call [`PciSer::to_entries`] with a buffer of
/// [`PciSer::nr_devices`] entries to also refuse duplicate devices (and [`FlbArea::to_entries`]
/// for duplicate FLB names): a `verify` should do both.
///
/// # Errors
///
/// [`FileError::Linux`] with the decoders' errors; [`FileError::Image`] with
/// [`PhysImage::parse`]'s for a malformed image; [`FileError::Mismatch`] when KIND and the
/// image name different compatibles (or the image names one that is not `pci-vN`).
pub fn decode<'f>(
    kind: LinuxKind,
    file: &'f LinuxFile<'_>,
    page: PageSize,
) -> Result<LinuxBlob<'f>, FileError> {
    let bytes = file.bytes;
    match kind {
        LinuxKind::Luo => Ok(LinuxBlob::Luo(LuoSer::decode(bytes)?)),
        LinuxKind::Flb => Ok(LinuxBlob::Flb(FlbArea::decode(bytes, page)?)),
        LinuxKind::PciU64 | LinuxKind::Pci(_) => decode_pci(kind, file).map(LinuxBlob::Pci),
    }
}

fn decode_pci<'f>(kind: LinuxKind, file: &'f LinuxFile<'_>) -> Result<PciSer<'f>, FileError> {
    let image = match &file.image {
        Some(Ok(image)) => Some(image),
        Some(Err(e)) => return Err(FileError::Image(*e)),
        None => None,
    };
    let recorded = match image.and_then(PhysImage::compatible) {
        Some(name) => Some(PciCompat::from_name(name).ok_or(FileError::Mismatch)?),
        None => None,
    };
    let (layout, compat) = match kind {
        LinuxKind::PciU64 => (PciLayout::ArrayU64, PciCompat::V1),
        LinuxKind::Pci(asked) => {
            let compat = match (asked, recorded) {
                (Some(a), Some(r)) if a != r => return Err(FileError::Mismatch),
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => DEFAULT_PCI_COMPAT,
            };
            let blob_len = image.map_or(file.bytes.len(), |i| i.blob().len());
            let layout = if blob_len == PciLayout::Chain.header_len() {
                PciLayout::Chain
            } else {
                PciLayout::Array
            };
            (layout, compat)
        }
        LinuxKind::Luo | LinuxKind::Flb => (PciLayout::Array, DEFAULT_PCI_COMPAT),
    };
    let format = PciFormat::new(layout, compat)?;
    Ok(match image {
        Some(image) => image.decode_pci(format)?,
        None => PciSer::decode(file.bytes, format)?,
    })
}
