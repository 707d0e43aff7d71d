//! The image file: a [`KhoMemory`] saved to disk, framed with its own magic, version and
//! CRC-32C so that every byte of the file is covered by a checksum.
//!
//! Layout (all integers little-endian; `host-tests/README.md` has the full description):
//!
//! ```text
//! 0   8  magic "LUOIMAGE"
//! 8   2  version (1)
//! 10  2  header_len (32)
//! 12  2  name_count
//! 14  2  region_count
//! 16  8  total_len: length of the whole file
//! 24  4  crc: CRC-32C of the whole file, this field read as zero
//! 28  4  reserved, zero
//! 32     name_count names, 80 bytes each:
//!          name [64] printable ASCII, NUL-terminated, zero-padded; phys u64; len u64
//! ...    region_count regions, each: phys u64, len u64, then len bytes of data
//! ```
//!
//! Names are sorted and unique; regions are sorted by address, non-empty and do not overlap;
//! every name points inside one region; nothing follows the last region.

use liveupdate_abi::checksum::crc32c;

use crate::kho::KhoMemory;

/// The file magic.
pub const MAGIC: [u8; 8] = *b"LUOIMAGE";
/// The image format version this code reads and writes.
pub const VERSION: u16 = 1;
/// Length of the image header.
pub const HEADER_LEN: usize = HEADER_LEN_U16 as usize;
const HEADER_LEN_U16: u16 = 32;
/// Length of one name entry.
pub const NAME_ENTRY_LEN: usize = 80;
/// Bytes of the name field, NUL included.
pub const NAME_LEN: usize = 64;
/// Length of a region header.
pub const REGION_HEADER_LEN: usize = 16;
const CRC_AT: usize = 24;

/// Why an image file was refused. Every variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The file ends early.
    #[error("image: truncated: {what} at offset {offset} needs {needed} bytes, file has {len}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Length of the file.
        len: usize,
    },
    /// Not an image.
    #[error("image: bad magic at offset 0: {found:02x?}")]
    BadMagic {
        /// The first eight bytes.
        found: [u8; 8],
    },
    /// A version this code does not read.
    #[error("image: unsupported version {found} at offset 8 (supported: {VERSION})")]
    Version {
        /// The version found.
        found: u16,
    },
    /// A header field has an invalid value.
    #[error("image: field {field} at offset {offset} is {found}, expected {expected}")]
    Field {
        /// The field.
        field: &'static str,
        /// Its offset in the file.
        offset: usize,
        /// Value found.
        found: u64,
        /// What was expected.
        expected: u64,
    },
    /// The checksum does not match.
    #[error(
        "image: CRC-32C mismatch at offset 24: stored {stored:#010x}, computed {computed:#010x}"
    )]
    Checksum {
        /// Stored CRC.
        stored: u32,
        /// Computed CRC.
        computed: u32,
    },
    /// A name entry is invalid.
    #[error("image: name entry {index} at offset {offset}: {reason}")]
    Name {
        /// Index of the name entry.
        index: usize,
        /// Its offset.
        offset: usize,
        /// Why.
        reason: &'static str,
    },
    /// A region is invalid.
    #[error("image: region {index} at offset {offset}: {reason}")]
    Region {
        /// Index of the region.
        index: usize,
        /// Offset of its header.
        offset: usize,
        /// Why.
        reason: &'static str,
    },
}

/// Serialises `mem` as an image.
///
/// # Panics
///
/// Never for memory built through [`KhoMemory`]'s API; more than 65535 names or regions, or a
/// name longer than 63 bytes, is a bug of the caller and panics.
pub fn save(mem: &KhoMemory) -> Vec<u8> {
    let names: Vec<_> = mem.names().collect();
    let regions: Vec<_> = mem.regions().collect();
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&HEADER_LEN_U16.to_le_bytes());
    out.extend_from_slice(
        &u16::try_from(names.len())
            .expect("too many names")
            .to_le_bytes(),
    );
    out.extend_from_slice(
        &u16::try_from(regions.len())
            .expect("too many regions")
            .to_le_bytes(),
    );
    out.extend_from_slice(&[0; 16]); // total_len, crc, reserved: filled below
    for (name, blob) in &names {
        let mut field = [0u8; NAME_LEN];
        assert!(name.len() < NAME_LEN, "KHO name too long: {name}");
        field[..name.len()].copy_from_slice(name.as_bytes());
        out.extend_from_slice(&field);
        out.extend_from_slice(&blob.phys.to_le_bytes());
        out.extend_from_slice(&blob.len.to_le_bytes());
    }
    for (phys, bytes) in &regions {
        out.extend_from_slice(&phys.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    let total = out.len() as u64;
    out[16..24].copy_from_slice(&total.to_le_bytes());
    let crc = crc32c(&out);
    out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
    out
}

/// A bounds-checked little-endian reader over the file.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ImageError> {
        let end = self.at.checked_add(n);
        let slice = end
            .and_then(|e| self.bytes.get(self.at..e))
            .ok_or(ImageError::Truncated {
                what,
                offset: self.at,
                needed: n,
                len: self.bytes.len(),
            })?;
        self.at += n;
        Ok(slice)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, ImageError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ImageError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, ImageError> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }
}

/// Loads an image, checking every field before anything is returned. Never panics.
///
/// # Errors
///
/// The first [`ImageError`] found, in file order: header, checksum, names, regions.
pub fn load(bytes: &[u8]) -> Result<KhoMemory, ImageError> {
    parse(bytes, true)
}

/// Parses an image whose checksum failed, to find out where the damage is: the same checks as
/// [`load`] but the CRC. Never use what it returns for anything but a diagnosis.
///
/// # Errors
///
/// As [`load`], without [`ImageError::Checksum`].
pub fn load_unverified(bytes: &[u8]) -> Result<KhoMemory, ImageError> {
    parse(bytes, false)
}

fn parse(bytes: &[u8], verify_crc: bool) -> Result<KhoMemory, ImageError> {
    let mut c = Cursor { bytes, at: 0 };
    let magic = c.take(8, "magic")?;
    if magic != MAGIC {
        let mut found = [0u8; 8];
        found.copy_from_slice(magic);
        return Err(ImageError::BadMagic { found });
    }
    let version = c.u16("version")?;
    if version != VERSION {
        return Err(ImageError::Version { found: version });
    }
    let header_len = c.u16("header_len")?;
    if usize::from(header_len) != HEADER_LEN {
        return Err(field(
            "header_len",
            10,
            header_len.into(),
            HEADER_LEN as u64,
        ));
    }
    let name_count = usize::from(c.u16("name_count")?);
    let region_count = usize::from(c.u16("region_count")?);
    let total_len = c.u64("total_len")?;
    if total_len != bytes.len() as u64 {
        return Err(field("total_len", 16, total_len, bytes.len() as u64));
    }
    let stored = c.u32("crc")?;
    let computed = {
        let mut zeroed = bytes.to_vec();
        zeroed[CRC_AT..CRC_AT + 4].fill(0);
        crc32c(&zeroed)
    };
    if verify_crc && stored != computed {
        return Err(ImageError::Checksum { stored, computed });
    }
    let reserved = c.u32("reserved")?;
    if reserved != 0 {
        return Err(field("reserved", 28, reserved.into(), 0));
    }

    let names = read_names(&mut c, name_count)?;
    let mut mem = read_regions(&mut c, region_count)?;
    if c.at != bytes.len() {
        return Err(field("total_len", 16, c.at as u64, bytes.len() as u64));
    }
    for (name, phys, len, (index, offset)) in names {
        mem.add_name(&name, phys, len)
            .map_err(|_| ImageError::Name {
                index,
                offset,
                reason: "points outside every region",
            })?;
    }
    Ok(mem)
}

/// A name entry: name, address, length, and (index, offset) for errors.
type NameEntry = (String, u64, u64, (usize, usize));

fn read_names(c: &mut Cursor<'_>, name_count: usize) -> Result<Vec<NameEntry>, ImageError> {
    let mut names: Vec<NameEntry> =
        Vec::with_capacity(name_count.min(c.bytes.len() / NAME_ENTRY_LEN));
    for index in 0..name_count {
        let offset = c.at;
        let raw = c.take(NAME_LEN, "name")?;
        let name_err = |reason| ImageError::Name {
            index,
            offset,
            reason,
        };
        let len = raw
            .iter()
            .position(|&b| b == 0)
            .ok_or(name_err("no terminating NUL"))?;
        if len == 0 {
            return Err(name_err("empty name"));
        }
        if !raw[..len].iter().all(u8::is_ascii_graphic) {
            return Err(name_err("name is not printable ASCII"));
        }
        if raw[len..].iter().any(|&b| b != 0) {
            return Err(name_err("non-zero bytes after the name's NUL"));
        }
        let name = String::from_utf8_lossy(&raw[..len]).into_owned();
        let phys = c.u64("name phys")?;
        let len = c.u64("name len")?;
        if names.last().is_some_and(|(prev, ..)| *prev >= name) {
            return Err(name_err("names not strictly ascending"));
        }
        names.push((name, phys, len, (index, offset)));
    }
    Ok(names)
}

fn read_regions(c: &mut Cursor<'_>, region_count: usize) -> Result<KhoMemory, ImageError> {
    let mut mem = KhoMemory::new();
    let mut prev_end: Option<u64> = None;
    for index in 0..region_count {
        let offset = c.at;
        let region_err = |reason| ImageError::Region {
            index,
            offset,
            reason,
        };
        let phys = c.u64("region phys")?;
        let len = c.u64("region len")?;
        if len == 0 {
            return Err(region_err("empty region"));
        }
        let end = phys
            .checked_add(len)
            .ok_or(region_err("address + length overflows"))?;
        if prev_end.is_some_and(|p| phys < p) {
            return Err(region_err("regions overlap or are not sorted by address"));
        }
        let len = usize::try_from(len).map_err(|_| region_err("length too large"))?;
        let data = c.take(len, "region data")?;
        mem.insert(phys, data.to_vec())
            .map_err(|_| region_err("regions overlap"))?;
        prev_end = Some(end);
    }
    Ok(mem)
}

fn field(field: &'static str, offset: usize, found: u64, expected: u64) -> ImageError {
    ImageError::Field {
        field,
        offset,
        found,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KhoMemory {
        let mut m = KhoMemory::new();
        let a = m.alloc(0x1_0000_0000, 100).unwrap();
        m.bytes_mut(a, 100).unwrap().copy_from_slice(&[0xA5; 100]);
        let b = m.alloc(0x1_0000_0000, 7).unwrap();
        m.add_name("liveupdate", a, 100).unwrap();
        m.add_name("other", b + 2, 3).unwrap();
        m
    }

    #[test]
    fn save_then_load_is_identity() {
        let m = sample();
        let img = save(&m);
        assert_eq!(load(&img).unwrap(), m);
    }

    #[test]
    fn every_bit_flip_and_truncation_is_refused() {
        let img = save(&sample());
        for i in 0..img.len() * 8 {
            let mut bad = img.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(load(&bad).is_err(), "flip of bit {i} accepted");
        }
        for n in 0..img.len() {
            assert!(load(&img[..n]).is_err(), "truncation to {n} accepted");
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let mut img = save(&sample());
        img[8] = 2;
        assert_eq!(load(&img), Err(ImageError::Version { found: 2 }));
        assert!(matches!(
            load(b"LUOIMAGX"),
            Err(ImageError::BadMagic { .. })
        ));
        assert!(matches!(
            load(b"LUOIMAGE"),
            Err(ImageError::Truncated {
                what: "version",
                offset: 8,
                ..
            })
        ));
    }

    /// The image with its CRC recomputed after an edit.
    fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes[CRC_AT..CRC_AT + 4].fill(0);
        let crc = crc32c(&bytes);
        bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// host-tests/README.md, names: no space; zero-length names at a region or its end.
    #[test]
    fn names_are_printable_without_space_and_may_be_empty_ranges() {
        let mut m = KhoMemory::new();
        m.insert(0x1001, vec![7; 13]).unwrap();
        m.add_name("a b", 0x1001, 1).unwrap();
        assert_eq!(
            load(&save(&m)).unwrap_err(),
            ImageError::Name {
                index: 0,
                offset: 32,
                reason: "name is not printable ASCII"
            }
        );
        for (phys, ok) in [(0x1001, true), (0x1001 + 13, true), (0x1001 + 14, false)] {
            let mut m = KhoMemory::new();
            m.insert(0x1001, vec![7; 13]).unwrap();
            m.insert(0x2000, vec![7; 1]).unwrap();
            m.add_name("z", 0x1001, 1).unwrap();
            let mut bytes = save(&m);
            // Point the name at `phys` with length 0.
            bytes[32 + 64..32 + 72].copy_from_slice(&u64::to_le_bytes(phys));
            bytes[32 + 72..32 + 80].fill(0);
            assert_eq!(load(&resealed(bytes)).is_ok(), ok, "{phys:#x}");
        }
    }

    /// host-tests/README.md, regions: any address and length, touching allowed; a name may not
    /// span two touching regions.
    #[test]
    fn regions_need_no_alignment_and_are_never_joined() {
        let mut m = KhoMemory::new();
        m.insert(0x1003, vec![1; 5]).unwrap();
        m.insert(0x1008, vec![2; 3]).unwrap();
        m.add_name("n", 0x1003, 5).unwrap();
        let bytes = save(&m);
        let loaded = load(&bytes).unwrap();
        assert_eq!(loaded.regions().count(), 2);
        // The name widened over both regions points outside every region.
        let mut bytes = bytes;
        bytes[32 + 72..32 + 80].copy_from_slice(&u64::to_le_bytes(8));
        assert_eq!(
            load(&resealed(bytes)).unwrap_err(),
            ImageError::Name {
                index: 0,
                offset: 32,
                reason: "points outside every region"
            }
        );
    }

    /// host-tests/README.md, files under 32 bytes: the first field that does not fit, unless an
    /// earlier check fails.
    #[test]
    fn files_under_32_bytes_fail_at_the_documented_field() {
        let full = save(&sample());
        for len in 0..32usize {
            let mut bytes = full[..len].to_vec();
            if len >= 24 {
                bytes[16..24].copy_from_slice(&(len as u64).to_le_bytes());
            }
            if len >= 28 {
                bytes = resealed(bytes);
            }
            let err = load(&bytes).unwrap_err();
            let what = match len {
                0..8 => "magic",
                8..10 => "version",
                10..12 => "header_len",
                12..14 => "name_count",
                14..16 => "region_count",
                16..24 => "total_len",
                24..28 => "crc",
                _ => "reserved",
            };
            assert!(
                matches!(err, ImageError::Truncated { what: w, len: l, .. } if w == what && l == len),
                "{len}: {err:?}"
            );
        }
        // A wrong magic is reported as soon as 8 bytes are there.
        let mut bytes = full[..20].to_vec();
        bytes[0] = b'X';
        assert!(matches!(load(&bytes), Err(ImageError::BadMagic { .. })));
    }
}
