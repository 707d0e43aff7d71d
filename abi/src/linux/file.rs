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

use crate::linux::PageSize;
use crate::linux::error::{LinuxError, NameFault, Struct, Where};
use crate::linux::flb::FlbArea;
use crate::linux::image::{MAGIC, PhysImage};
use crate::linux::luo::LuoSer;
use crate::linux::pci::{PciCompat, PciFormat, PciLayout, PciSer};

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

/// The compatible used for `pci` when neither KIND nor the image names one.
pub const DEFAULT_PCI_COMPAT: PciCompat = PciCompat::V2;

/// Decodes the contents of a FILE of `kind`. `page` is the writer kernel's page size, used
/// for FLB areas and raw blobs (an image records its own).
///
/// This validates the structure. For `pci`, call [`PciSer::to_entries`] with a buffer of
/// [`PciSer::nr_devices`] entries to also refuse duplicate devices (and [`FlbArea::to_entries`]
/// for duplicate FLB names): a `verify` should do both.
///
/// # Errors
///
/// The decoders' [`LinuxError`]s; for an image, [`PhysImage::parse`]'s, and
/// [`LinuxError::Name`] with [`NameFault::Mismatch`] when KIND and the image name different
/// compatibles (or the image names one that is not `pci-vN`).
pub fn decode(kind: LinuxKind, bytes: &[u8], page: PageSize) -> Result<LinuxBlob<'_>, LinuxError> {
    match kind {
        LinuxKind::Luo => LuoSer::decode(bytes).map(LinuxBlob::Luo),
        LinuxKind::Flb => FlbArea::decode(bytes, page).map(LinuxBlob::Flb),
        LinuxKind::PciU64 | LinuxKind::Pci(_) => decode_pci(kind, bytes).map(LinuxBlob::Pci),
    }
}

fn decode_pci(kind: LinuxKind, bytes: &[u8]) -> Result<PciSer<'_>, LinuxError> {
    let image = if bytes.starts_with(&MAGIC) {
        Some(PhysImage::parse(bytes)?)
    } else {
        None
    };
    let recorded = match image.and_then(|i| i.compatible()) {
        Some(name) => Some(PciCompat::from_name(name).ok_or(mismatch())?),
        None => None,
    };
    let (layout, compat) = match kind {
        LinuxKind::PciU64 => (PciLayout::ArrayU64, PciCompat::V1),
        LinuxKind::Pci(asked) => {
            let compat = match (asked, recorded) {
                (Some(a), Some(r)) if a != r => return Err(mismatch()),
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => DEFAULT_PCI_COMPAT,
            };
            let blob_len = image.map_or(bytes.len(), |i| i.blob().len());
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
    match image {
        Some(image) => PciSer::decode_image(image, format),
        None => PciSer::decode(bytes, format),
    }
}

fn mismatch() -> LinuxError {
    LinuxError::Name {
        what: Struct::Image,
        index: 0,
        at: Where::Offset(32),
        fault: NameFault::Mismatch,
    }
}
