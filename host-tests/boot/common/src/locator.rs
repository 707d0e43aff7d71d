//! The 64-byte locator at the start of the flat handover file (`luo write --flat`), written by
//! host-tests/src/flat.rs. All integers little-endian:
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

use core::fmt;

use liveupdate_abi::PhysAddr;
use liveupdate_abi::checksum::crc32c;

/// The locator's magic.
pub const MAGIC: [u8; 8] = *b"LUOFLAT1";
/// Bytes of the locator.
pub const LEN: usize = 64;
const CRC_AT: usize = 40;
const RESERVED_AT: usize = 44;

/// What a valid locator says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locator {
    /// The physical address of the file's byte 0.
    pub base: PhysAddr,
    /// Length of the whole file, locator included.
    pub len: u64,
    /// Physical address of the root record.
    pub root: PhysAddr,
    /// Length of the root record.
    pub root_len: u64,
}

/// Why the locator was refused. Each names the field (offset) and the values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocatorError {
    /// Less than 64 bytes are available where the file should be.
    TooShort {
        /// Bytes available.
        available: u64,
    },
    /// The first 8 bytes are not `LUOFLAT1`: no flat file was loaded there.
    Magic {
        /// The bytes found.
        found: [u8; 8],
    },
    /// The CRC-32C at offset 40 does not match bytes 0..64.
    Checksum {
        /// Stored.
        stored: u32,
        /// Computed.
        computed: u32,
    },
    /// A reserved byte (offsets 44..64) is not zero.
    Reserved {
        /// Offset of the first non-zero byte.
        offset: usize,
    },
    /// The base (offset 8) is not the one this machine's convention names.
    Base {
        /// The base found.
        found: u64,
        /// The convention's base.
        expected: u64,
    },
    /// The length (offset 16) is under 64 or more than the memory available there.
    Length {
        /// The length found.
        found: u64,
        /// Bytes available from the base.
        available: u64,
    },
    /// The root (offsets 24 and 32) is empty or not inside the file after the locator.
    Root {
        /// The root's address.
        addr: u64,
        /// Its length.
        len: u64,
        /// One past the file's last byte.
        end: u64,
    },
}

impl fmt::Display for LocatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LocatorError::TooShort { available } => write!(
                f,
                "locator: {available} bytes available, the locator needs 64"
            ),
            LocatorError::Magic { found } => write!(
                f,
                "locator: bad magic at offset 0: {:#018x} (no flat handover file loaded?)",
                u64::from_be_bytes(found)
            ),
            LocatorError::Checksum { stored, computed } => write!(
                f,
                "locator: CRC-32C mismatch at offset 40: stored {stored:#010x}, computed {computed:#010x}"
            ),
            LocatorError::Reserved { offset } => {
                write!(f, "locator: reserved byte at offset {offset} is not zero")
            }
            LocatorError::Base { found, expected } => write!(
                f,
                "locator: base at offset 8 is {found:#x}, this machine's convention is {expected:#x}"
            ),
            LocatorError::Length { found, available } => write!(
                f,
                "locator: length at offset 16 is {found:#x}, must be 64 to {available:#x}"
            ),
            LocatorError::Root { addr, len, end } => write!(
                f,
                "locator: root at offset 24 is [{addr:#x}, +{len:#x}), not inside the file after the locator (file ends at {end:#x})"
            ),
        }
    }
}

impl core::error::Error for LocatorError {}

fn u64_at(head: &[u8; LEN], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(src) = head.get(at..at + 8) {
        b.copy_from_slice(src);
    }
    u64::from_le_bytes(b)
}

/// Checks the locator `head` (the first 64 bytes found where the file should be) against
/// `expected_base` (the machine's convention) and `available` (bytes of memory from there).
///
/// # Errors
///
/// In this order: [`LocatorError::TooShort`] (when `available` < 64), `Magic`, `Checksum`,
/// `Reserved`, `Base`, `Length`, `Root`.
pub fn parse(
    head: &[u8; LEN],
    expected_base: u64,
    available: u64,
) -> Result<Locator, LocatorError> {
    if available < LEN as u64 {
        return Err(LocatorError::TooShort { available });
    }
    let mut found = [0u8; 8];
    found.copy_from_slice(head.get(..8).unwrap_or(&[0; 8]));
    if found != MAGIC {
        return Err(LocatorError::Magic { found });
    }
    let mut zeroed = *head;
    let mut stored = [0u8; 4];
    if let Some(field) = zeroed.get_mut(CRC_AT..CRC_AT + 4) {
        stored.copy_from_slice(field);
        field.fill(0);
    }
    let stored = u32::from_le_bytes(stored);
    let computed = crc32c(&zeroed);
    if stored != computed {
        return Err(LocatorError::Checksum { stored, computed });
    }
    if let Some(at) = head.iter().skip(RESERVED_AT).position(|&b| b != 0) {
        return Err(LocatorError::Reserved {
            offset: RESERVED_AT + at,
        });
    }
    let base = u64_at(head, 8);
    if base != expected_base {
        return Err(LocatorError::Base {
            found: base,
            expected: expected_base,
        });
    }
    let len = u64_at(head, 16);
    let end = base.checked_add(len);
    if len < LEN as u64 || len > available || end.is_none() {
        return Err(LocatorError::Length {
            found: len,
            available,
        });
    }
    let end = end.unwrap_or(u64::MAX);
    let (root, root_len) = (u64_at(head, 24), u64_at(head, 32));
    let inside = root >= base + LEN as u64
        && root
            .checked_add(root_len)
            .is_some_and(|root_end| root_end <= end);
    if !inside || root_len == 0 {
        return Err(LocatorError::Root {
            addr: root,
            len: root_len,
            end,
        });
    }
    Ok(Locator {
        base: PhysAddr::new(base),
        len,
        root: PhysAddr::new(root),
        root_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector host-tests/src/flat.rs tests its writer with: base `0x4800_0000`, `0x5000`
    /// bytes, root at `0x4800_4000` (`0x60` bytes).
    const VECTOR: &str = "4c554f464c415431000000480000000000500000000000000040004800000000\
                          600000000000000011f3bc060000000000000000000000000000000000000000";

    fn vector() -> [u8; LEN] {
        let mut out = [0u8; LEN];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&VECTOR[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn reseal(mut head: [u8; LEN]) -> [u8; LEN] {
        head[40..44].fill(0);
        let crc = crc32c(&head);
        head[40..44].copy_from_slice(&crc.to_le_bytes());
        head
    }

    #[test]
    fn the_shared_vector_parses() {
        let l = parse(&vector(), 0x4800_0000, 0x10_0000).unwrap();
        assert_eq!(
            l,
            Locator {
                base: PhysAddr::new(0x4800_0000),
                len: 0x5000,
                root: PhysAddr::new(0x4800_4000),
                root_len: 0x60
            }
        );
    }

    #[test]
    fn every_field_is_checked_in_order() {
        let good = vector();
        assert_eq!(
            parse(&good, 0x4800_0000, 63),
            Err(LocatorError::TooShort { available: 63 })
        );
        let mut bad = good;
        bad[1] ^= 0x20;
        assert!(matches!(
            parse(&bad, 0x4800_0000, 1 << 20),
            Err(LocatorError::Magic { .. })
        ));
        for bit in 64..512 {
            let mut bad = good;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(
                    parse(&bad, 0x4800_0000, 1 << 20),
                    Err(LocatorError::Checksum { .. })
                ),
                "bit {bit}"
            );
        }
        let mut bad = good;
        bad[60] = 1;
        assert_eq!(
            parse(&reseal(bad), 0x4800_0000, 1 << 20),
            Err(LocatorError::Reserved { offset: 60 })
        );
        assert_eq!(
            parse(&good, 0x4000_0000, 1 << 20),
            Err(LocatorError::Base {
                found: 0x4800_0000,
                expected: 0x4000_0000
            })
        );
        assert_eq!(
            parse(&good, 0x4800_0000, 0x4fff),
            Err(LocatorError::Length {
                found: 0x5000,
                available: 0x4fff
            })
        );
        let mut bad = good;
        bad[32] = 0x61;
        bad[33] = 0x10; // root_len 0x1061: ends past the file
        assert!(matches!(
            parse(&reseal(bad), 0x4800_0000, 1 << 20),
            Err(LocatorError::Root { len: 0x1061, .. })
        ));
        let mut bad = good;
        bad[25] = 0; // root at the base, over the locator
        assert!(matches!(
            parse(&reseal(bad), 0x4800_0000, 1 << 20),
            Err(LocatorError::Root {
                addr: 0x4800_0000,
                ..
            })
        ));
    }
}
