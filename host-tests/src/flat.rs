//! The flat handover file a boot stub reads (`luo write --flat`): the simulated KHO memory as
//! one file covering `[base, end of the last allocation)`, gaps zero, whose first 64 bytes are
//! a locator telling the stub where the root record is.
//!
//! Locator layout (all integers little-endian), at the file's byte 0 (physical address `base`):
//!
//! ```text
//! 0   8  magic "LUOFLAT1"
//! 8   8  base: the physical address byte 0 of the file stands for
//! 16  8  length of the whole file
//! 24  8  root record physical address (what KHO's name "liveupdate" points at)
//! 32  8  root record length
//! 40  4  CRC-32C of bytes 0..64 with this field read as zero
//! 44  20 zero
//! ```
//!
//! The boot stubs (`host-tests/boot`) parse it with their own `no_std` parser; the layout is
//! documented in `host-tests/boot/README.md` too, and both sides test the same bytes
//! (the vector in this module's tests).

use liveupdate_abi::checksum::crc32c;
use liveupdate_abi::root::KHO_NAME;

use crate::kho::KhoMemory;

/// The locator's magic.
pub const MAGIC: [u8; 8] = *b"LUOFLAT1";
/// Bytes of the locator.
pub const LOCATOR_LEN: usize = 64;
/// Offset of the CRC field.
const CRC_AT: usize = 40;

/// What the locator says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locator {
    /// The physical address of the file's byte 0.
    pub base: u64,
    /// Length of the whole file, locator included.
    pub len: u64,
    /// Physical address of the root record.
    pub root: u64,
    /// Length of the root record.
    pub root_len: u64,
}

/// Why a flat file could not be written or its locator was refused. Every variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlatError {
    /// No root record is registered under the KHO name.
    #[error("flat: no handover: nothing is registered under the KHO name {KHO_NAME:?}")]
    NoHandover,
    /// An allocation lies below `base + 64`, where the locator is.
    #[error(
        "flat: the allocation at {phys:#x} lies below {limit:#x}: the locator needs [base, base + 64)"
    )]
    BelowBase {
        /// The allocation.
        phys: u64,
        /// The first address an allocation may use.
        limit: u64,
    },
    /// The file would not fit this machine's memory (or a `u64`).
    #[error("flat: [{base:#x}, {end:#x}) is too large for one file")]
    TooLarge {
        /// The base.
        base: u64,
        /// One past the last byte.
        end: u64,
    },
    /// Shorter than a locator.
    #[error("flat: {len} bytes, shorter than the 64-byte locator")]
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// Not a flat file.
    #[error("flat: bad magic at offset 0: {found:02x?}")]
    BadMagic {
        /// The first eight bytes.
        found: [u8; 8],
    },
    /// The locator's checksum does not match.
    #[error(
        "flat: locator CRC-32C mismatch at offset 40: stored {stored:#010x}, computed {computed:#010x}"
    )]
    Checksum {
        /// Stored CRC.
        stored: u32,
        /// Computed CRC.
        computed: u32,
    },
    /// A locator field is invalid.
    #[error("flat: locator field {field} at offset {offset} is {found:#x}, {why}")]
    Field {
        /// The field.
        field: &'static str,
        /// Its offset.
        offset: usize,
        /// The value found.
        found: u64,
        /// Why it is refused.
        why: &'static str,
    },
}

impl Locator {
    /// The 64 locator bytes, CRC filled in.
    pub fn to_bytes(&self) -> [u8; LOCATOR_LEN] {
        let mut out = [0u8; LOCATOR_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..16].copy_from_slice(&self.base.to_le_bytes());
        out[16..24].copy_from_slice(&self.len.to_le_bytes());
        out[24..32].copy_from_slice(&self.root.to_le_bytes());
        out[32..40].copy_from_slice(&self.root_len.to_le_bytes());
        let crc = crc32c(&out);
        out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks the locator at the start of `file` (the whole file, so the length
    /// and the root's place are checked against it).
    ///
    /// # Errors
    ///
    /// In this order: [`FlatError::TooShort`], [`FlatError::BadMagic`],
    /// [`FlatError::Checksum`], [`FlatError::Field`] (reserved bytes, length, root).
    pub fn parse(file: &[u8]) -> Result<Locator, FlatError> {
        let head: &[u8; LOCATOR_LEN] = file
            .get(..LOCATOR_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(FlatError::TooShort { len: file.len() })?;
        let u64_at = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().unwrap_or([0; 8]));
        let mut found = [0u8; 8];
        found.copy_from_slice(&head[0..8]);
        if found != MAGIC {
            return Err(FlatError::BadMagic { found });
        }
        let stored = u32::from_le_bytes(head[CRC_AT..CRC_AT + 4].try_into().unwrap_or([0; 4]));
        let mut zeroed = *head;
        zeroed[CRC_AT..CRC_AT + 4].fill(0);
        let computed = crc32c(&zeroed);
        if stored != computed {
            return Err(FlatError::Checksum { stored, computed });
        }
        if let Some(at) = head[44..].iter().position(|&b| b != 0) {
            return Err(FlatError::Field {
                field: "reserved",
                offset: 44 + at,
                found: u64::from(head[44 + at]),
                why: "expected 0",
            });
        }
        let locator = Locator {
            base: u64_at(8),
            len: u64_at(16),
            root: u64_at(24),
            root_len: u64_at(32),
        };
        if locator.len != file.len() as u64 || locator.len < LOCATOR_LEN as u64 {
            return Err(FlatError::Field {
                field: "length",
                offset: 16,
                found: locator.len,
                why: "not the file's length (or under 64)",
            });
        }
        let end = locator.base.checked_add(locator.len);
        let root_end = locator.root.checked_add(locator.root_len);
        let root_inside = matches!((end, root_end), (Some(end), Some(root_end))
            if locator.root >= locator.base + LOCATOR_LEN as u64 && root_end <= end);
        if !root_inside || locator.root_len == 0 {
            return Err(FlatError::Field {
                field: "root",
                offset: 24,
                found: locator.root,
                why: "the root record is not inside the file after the locator",
            });
        }
        Ok(locator)
    }
}

/// Lays `mem` out as one flat file whose byte 0 stands for physical address `base`: every
/// allocation at its offset, gaps zero, and the locator in the first 64 bytes. Every
/// allocation must lie at or above `base + 64`.
///
/// # Errors
///
/// [`FlatError::NoHandover`], [`FlatError::BelowBase`], [`FlatError::TooLarge`].
pub fn write(mem: &KhoMemory, base: u64) -> Result<Vec<u8>, FlatError> {
    let root = mem.lookup(KHO_NAME).ok_or(FlatError::NoHandover)?;
    let limit = base.saturating_add(LOCATOR_LEN as u64);
    let mut end = limit;
    for (phys, bytes) in mem.regions() {
        if phys < limit {
            return Err(FlatError::BelowBase { phys, limit });
        }
        let region_end = phys
            .checked_add(bytes.len() as u64)
            .ok_or(FlatError::TooLarge {
                base,
                end: u64::MAX,
            })?;
        end = end.max(region_end);
    }
    let too_large = FlatError::TooLarge { base, end };
    let len = usize::try_from(end - base).map_err(|_| too_large.clone())?;
    // A flat file is loaded into a guest's RAM: refuse what no guest would have.
    if len > 1 << 32 {
        return Err(too_large);
    }
    let mut file = vec![0u8; len];
    for (phys, bytes) in mem.regions() {
        // phys >= base + 64 and phys + len <= end (checked above).
        let at = usize::try_from(phys - base).map_err(|_| too_large.clone())?;
        file[at..at + bytes.len()].copy_from_slice(bytes);
    }
    let locator = Locator {
        base,
        len: end - base,
        root: root.phys,
        root_len: root.len,
    };
    file[..LOCATOR_LEN].copy_from_slice(&locator.to_bytes());
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use crate::sim;
    use liveupdate_abi::AbiVersion;

    /// A locator for base `0x4800_0000`, `0x5000` bytes, root at `0x4800_4000` (`0x60` bytes). The
    /// boot stubs' parser tests the same bytes (host-tests/boot/common/src/locator.rs).
    pub(crate) const LOCATOR_VECTOR: &str = "4c554f464c415431000000480000000000500000000000000040004800000000\
         600000000000000011f3bc060000000000000000000000000000000000000000";

    fn hex(bytes: &[u8]) -> String {
        use std::fmt::Write as _;
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    #[test]
    fn locator_bytes_are_the_documented_vector() {
        let l = Locator {
            base: 0x4800_0000,
            len: 0x5000,
            root: 0x4800_4000,
            root_len: 0x60,
        };
        assert_eq!(hex(&l.to_bytes()), LOCATOR_VECTOR);
        let mut file = vec![0u8; 0x5000];
        file[..64].copy_from_slice(&l.to_bytes());
        assert_eq!(Locator::parse(&file), Ok(l));
    }

    #[test]
    fn flat_file_holds_every_allocation_at_its_offset() {
        let scenario = Scenario::generate(3, 40, 2);
        let base = 0x4800_0000;
        let mem = sim::outgoing_at(&scenario, AbiVersion::V1_1, base + 4096).unwrap();
        let file = write(&mem, base).unwrap();
        let l = Locator::parse(&file).unwrap();
        let root = mem.lookup(KHO_NAME).unwrap();
        assert_eq!((l.base, l.root, l.root_len), (base, root.phys, root.len));
        let mut covered = vec![false; file.len()];
        covered[..64].fill(true);
        let mut last_end = 0;
        for (phys, bytes) in mem.regions() {
            let at = usize::try_from(phys - base).unwrap();
            assert_eq!(&file[at..at + bytes.len()], bytes);
            covered[at..at + bytes.len()].fill(true);
            last_end = last_end.max(at + bytes.len());
        }
        assert_eq!(
            file.len(),
            last_end,
            "the file ends with the last allocation"
        );
        assert!(
            file.iter().zip(&covered).all(|(&b, &c)| c || b == 0),
            "gaps are zero"
        );
    }

    #[test]
    fn allocations_below_the_locator_are_refused() {
        let scenario = Scenario::generate(3, 4, 1);
        let mem = sim::outgoing_at(&scenario, AbiVersion::V1_1, 0x4800_0000).unwrap();
        assert!(matches!(
            write(&mem, 0x4800_0000),
            Err(FlatError::BelowBase {
                phys: 0x4800_0000,
                limit: 0x4800_0040
            })
        ));
        assert!(matches!(
            write(&KhoMemory::new(), 0),
            Err(FlatError::NoHandover)
        ));
    }

    #[test]
    fn every_locator_field_is_checked() {
        let scenario = Scenario::generate(5, 8, 1);
        let base = 0x4800_0000;
        let mem = sim::outgoing_at(&scenario, AbiVersion::V1_1, base + 4096).unwrap();
        let good = write(&mem, base).unwrap();
        let l = Locator::parse(&good).unwrap();
        assert_eq!(
            Locator::parse(&good[..63]),
            Err(FlatError::TooShort { len: 63 })
        );
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(matches!(
            Locator::parse(&bad),
            Err(FlatError::BadMagic { .. })
        ));
        // Any flipped bit of the locator after the magic is caught by its CRC.
        for bit in 64..512 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(Locator::parse(&bad), Err(FlatError::Checksum { .. })),
                "bit {bit}"
            );
        }
        // Consistent CRC, wrong values.
        let with = |l: Locator, file: &[u8]| {
            let mut f = file.to_vec();
            f[..64].copy_from_slice(&l.to_bytes());
            Locator::parse(&f)
        };
        let field = |r: Result<Locator, FlatError>| match r {
            Err(FlatError::Field { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(with(
                Locator {
                    len: l.len + 1,
                    ..l
                },
                &good
            )),
            "length"
        );
        assert_eq!(field(with(Locator { root: base, ..l }, &good)), "root");
        assert_eq!(
            field(with(
                Locator {
                    root_len: l.len,
                    ..l
                },
                &good
            )),
            "root"
        );
        assert_eq!(field(with(Locator { root_len: 0, ..l }, &good)), "root");
        let mut reserved = good.clone();
        reserved[63] = 1;
        let crc = crc32c(&{
            let mut z = [0u8; 64];
            z.copy_from_slice(&reserved[..64]);
            z[40..44].fill(0);
            z
        });
        reserved[40..44].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(field(Locator::parse(&reserved)), "reserved");
    }
}
