//! The versions of this ABI: what a writer targets and what a reader knows.
//!
//! Versions are named by the wire: [`AbiVersion::V1_1`] is wire version **1.1**, minor 1 of
//! major 1, not a new major. Under SPEC.md's version policy a newer minor of the same major
//! stays readable by older readers, so adding fields and features never blocks a live update
//! between kernels of different versions (upstream's pain point 1).

use core::fmt;

/// A version of this ABI, as a writer's target or a reader's knowledge, named by its wire
/// `major.minor`.
///
/// Both have major 1, so a kernel of either version reads what the other writes, within the
/// limits of the feature bits ([`crate::header`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AbiVersion {
    /// Wire version 1.0: the first release.
    V1_0,
    /// Wire version 1.1: PCI device identity and flags, and tables spanning a chain of blocks.
    V1_1,
}

impl AbiVersion {
    /// Every version, oldest first.
    pub const ALL: [AbiVersion; 2] = [AbiVersion::V1_0, AbiVersion::V1_1];

    /// The newest version this crate knows: what it reads by default.
    pub const NEWEST: AbiVersion = AbiVersion::V1_1;

    /// The wire major version.
    pub const fn major(self) -> u16 {
        1
    }

    /// The wire minor version.
    pub const fn minor(self) -> u16 {
        match self {
            AbiVersion::V1_0 => 0,
            AbiVersion::V1_1 => 1,
        }
    }

    /// The version whose wire minor is `minor`, if this crate knows it.
    pub const fn from_minor(minor: u16) -> Option<AbiVersion> {
        match minor {
            0 => Some(AbiVersion::V1_0),
            1 => Some(AbiVersion::V1_1),
            _ => None,
        }
    }

    /// How a reader of this version sees a record of wire minor `minor`: by the rules of that
    /// minor when this reader knows it, by its own rules (leniently) when the record is newer.
    pub(crate) const fn reading(self, minor: u16) -> AbiVersion {
        match AbiVersion::from_minor(minor) {
            Some(v) if v.minor() < self.minor() => v,
            _ => self,
        }
    }
}

impl fmt::Display for AbiVersion {
    /// The wire version, `major.minor`: `1.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major(), self.minor())
    }
}
