//! Record kinds and their magics.

use core::fmt;

use crate::flb::FlbEntry;
use crate::header::Features;
use crate::pci::PciEntry;
use crate::record::Entry;
use crate::root::DirEntry;
use crate::version::AbiVersion;

/// The kind of a record, identified on the wire by the magic in its header.
///
/// Magics are four ASCII bytes, stored as a little-endian `u32`, so a hex dump shows the
/// name (`LUOR`, `LUOF`, `LUOP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// The root record: the one blob registered under a KHO name, directory of the rest.
    Root,
    /// The table of File-Lifecycle-Bound global objects.
    FlbTable,
    /// The table of preserved PCI devices.
    PciTable,
}

impl RecordKind {
    /// Every kind this version of the crate knows, in directory order (ascending magic).
    pub const ALL: [RecordKind; 3] = [RecordKind::FlbTable, RecordKind::PciTable, RecordKind::Root];

    /// The magic stored at offset 0 of a record of this kind.
    pub const fn magic(self) -> u32 {
        u32::from_le_bytes(match self {
            RecordKind::Root => *b"LUOR",
            RecordKind::FlbTable => *b"LUOF",
            RecordKind::PciTable => *b"LUOP",
        })
    }

    /// The kind whose magic is `magic`, if this version of the crate knows it.
    pub const fn from_magic(magic: u32) -> Option<RecordKind> {
        match &magic.to_le_bytes() {
            b"LUOR" => Some(RecordKind::Root),
            b"LUOF" => Some(RecordKind::FlbTable),
            b"LUOP" => Some(RecordKind::PciTable),
            _ => None,
        }
    }

    /// Bytes from one entry slot to the next that `version` defines for this kind
    /// ([`Entry::entry_size`] of its entry type): for code that knows a kind only by its magic.
    pub fn entry_size(self, version: AbiVersion) -> u16 {
        match self {
            RecordKind::Root => DirEntry::entry_size(version),
            RecordKind::FlbTable => FlbEntry::entry_size(version),
            RecordKind::PciTable => PciEntry::entry_size(version),
        }
    }

    /// The feature bits `version` defines for this kind ([`Entry::known_features`] of its entry
    /// type): for code that knows a kind only by its magic.
    pub fn known_features(self, version: AbiVersion) -> Features {
        match self {
            RecordKind::Root => DirEntry::known_features(version),
            RecordKind::FlbTable => FlbEntry::known_features(version),
            RecordKind::PciTable => PciEntry::known_features(version),
        }
    }

    /// A short lower-case name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            RecordKind::Root => "root",
            RecordKind::FlbTable => "flb table",
            RecordKind::PciTable => "pci table",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Formats a magic as its four bytes, printable ASCII shown as characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Magic(pub u32);

impl fmt::Display for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x} \"", self.0)?;
        for b in self.0.to_le_bytes() {
            if b.is_ascii_graphic() {
                write!(f, "{}", char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("\"")
    }
}
