//! The decoder targets: raw bytes, and the same bytes re-sealed with a valid CRC so that the
//! fuzzer reaches the entry checks.
//!
//! For every input the decoder either returns a view, whose every accessor is then exercised
//! and whose lookups must agree with an independent index, and whose entries re-encode to the
//! same bytes; or an error, which must name the kind and point at what it says is wrong.

use liveupdate_abi::{Capacity, Encoding};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::mem::size_of;

use liveupdate_abi::checksum::crc32c;
use liveupdate_abi::header::{CRC_OFFSET, HEADER_LEN, IncompatFeatures};
use liveupdate_abi::{AbiVersion, ChainFault};
use liveupdate_abi::{
    Access, DecodeError, DirEntry, EncodeError, Entry, FlbEntry, FlbFlags, IdentityMatch, MAJOR,
    MINOR, PciAddress, PciDevice, PciEntry, PciFlags, Record, RecordKind, seal,
};

/// `Root` decoder over raw bytes.
pub fn root(data: &[u8]) {
    decode_raw::<DirEntry>(data);
}

/// `Root` decoder over the input with its CRC recomputed.
pub fn root_sealed(data: &[u8]) {
    decode_sealed::<DirEntry>(data);
}

/// `FlbTable` decoder over raw bytes.
pub fn flb(data: &[u8]) {
    decode_raw::<FlbEntry>(data);
}

/// `FlbTable` decoder over the input with its CRC recomputed.
pub fn flb_sealed(data: &[u8]) {
    decode_sealed::<FlbEntry>(data);
}

/// `PciTable` decoder over raw bytes.
pub fn pci(data: &[u8]) {
    decode_raw::<PciEntry>(data);
}

/// `PciTable` decoder over the input with its CRC recomputed.
pub fn pci_sealed(data: &[u8]) {
    decode_sealed::<PciEntry>(data);
}

/// An entry type whose lookups can be checked against an independent index.
pub(crate) trait Lookups: Entry + PartialEq + Debug {
    /// Checks the kind's own invariants of every entry and its lookup functions, for keys
    /// taken from the table and keys next to them, against a `BTreeMap` (or linear scan).
    fn check_lookups(record: &Record<'_, Self>);

    /// The item a record of `version` gives back for `item` written into it.
    fn as_written(item: Self::Item, version: AbiVersion) -> Self::Item {
        let _ = version;
        item
    }
}

/// Little-endian `u16` at `at`, if the input holds it.
pub(crate) fn le16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

/// Little-endian `u32` at `at`, if the input holds it.
pub(crate) fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// Little-endian `u64` at `at`, if the input holds it.
pub(crate) fn le64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// The CRC a record of exactly these bytes must carry, computed here without the crate's
/// record code: CRC-32C of the bytes with the CRC field read as zero.
pub(crate) fn expected_crc(bytes: &[u8]) -> u32 {
    let mut copy = bytes.to_vec();
    if let Some(field) = copy.get_mut(CRC_OFFSET..CRC_OFFSET + 4) {
        field.fill(0);
    }
    crc32c(&copy)
}

fn decode_raw<E: Lookups>(data: &[u8]) {
    let result = Record::<E>::decode(data);
    // Decoding must not depend on the address of the input.
    let mut shifted = vec![0u8; data.len() + 1];
    shifted[1..].copy_from_slice(data);
    let again = Record::<E>::decode(&shifted[1..]);
    assert_eq!(
        result
            .as_ref()
            .map(|r| r.entries().iter().copied().collect::<Vec<_>>()),
        again
            .as_ref()
            .map(|r| r.entries().iter().copied().collect::<Vec<_>>()),
        "decoding depends on alignment"
    );
    match result {
        Ok(record) => check_record(data, &record),
        Err(err) => check_decode_error::<E>(data, &err),
    }
}

fn decode_sealed<E: Lookups>(data: &[u8]) {
    let kind = E::KIND;
    let mut buf = data.to_vec();
    match seal(kind, &mut buf) {
        Ok(crc) => {
            assert_eq!(buf.len(), data.len());
            assert_eq!(
                le32(&buf, CRC_OFFSET),
                Some(crc),
                "seal did not store its CRC"
            );
            assert_eq!(crc, expected_crc(data), "seal computed a wrong CRC");
            for (at, (a, b)) in data.iter().zip(&buf).enumerate() {
                assert!(
                    a == b || (CRC_OFFSET..CRC_OFFSET + 4).contains(&at),
                    "seal changed byte {at}"
                );
            }
            match Record::<E>::decode(&buf) {
                Ok(record) => check_record(&buf, &record),
                Err(err) => {
                    assert!(
                        !matches!(err, DecodeError::Checksum { .. }),
                        "sealed record fails its CRC: {err}"
                    );
                    check_decode_error::<E>(&buf, &err);
                }
            }
        }
        Err(EncodeError::ReadOnly { kind: k, unknown }) => {
            assert_eq!(k, kind);
            assert_eq!(buf, data, "a refused seal changed the record");
            assert_ne!(unknown, 0);
            let known = kind.known_features(read_as(data)).ro_compat.bits();
            assert_eq!(
                le32(data, 36).map(|bits| bits & !known),
                Some(unknown),
                "ReadOnly names other bits"
            );
            // A writer must not rewrite what it does not fully understand, but a reader may
            // read it: seal by hand to reach the read-only path of the decoder.
            let crc = expected_crc(data);
            buf[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
            match Record::<E>::decode(&buf) {
                Ok(record) => {
                    assert_eq!(record.access(), Access::ReadOnly { unknown });
                    check_record(&buf, &record);
                }
                Err(err) => {
                    assert!(!matches!(err, DecodeError::Checksum { .. }), "{err}");
                    check_decode_error::<E>(&buf, &err);
                }
            }
        }
        Err(EncodeError::Malformed(err)) => {
            assert_eq!(buf, data, "a refused seal changed the record");
            // seal runs the decoder's structural checks first, so both refuse alike.
            match Record::<E>::decode(data) {
                Ok(_) => panic!("seal refused ({err}) a record that decodes"),
                Err(d) => assert_eq!(d, err, "seal and decode disagree"),
            }
            check_decode_error::<E>(data, &err);
        }
        Err(err) => panic!("seal refused with {err}, which it does not return"),
    }
}

/// Checks every accessor of a decoded record over `bytes`, its lookups, and its re-encoding.
pub(crate) fn check_record<E: Lookups>(bytes: &[u8], record: &Record<'_, E>) {
    let kind = E::KIND;
    let h = record.header();
    assert!(
        std::ptr::eq(record.as_bytes(), bytes),
        "view is not the input"
    );
    assert_eq!(h.magic(), kind.magic());
    assert_eq!(RecordKind::from_magic(h.magic()), Some(kind));
    assert_eq!(h.major(), MAJOR);
    let newer = h.minor() > MINOR;
    assert_eq!(usize::try_from(h.record_len()).ok(), Some(bytes.len()));
    assert!(usize::from(h.header_len()) >= HEADER_LEN);
    assert!(usize::from(h.entry_size()) >= size_of::<E>());
    assert!(h.entry_count() <= h.entry_capacity());
    assert_eq!(h.crc(), expected_crc(bytes), "decoded with a wrong CRC");
    assert_eq!(record.generation(), h.generation());
    assert_eq!(le64(bytes, 24), Some(h.generation().get()));
    let features = h.features();
    assert_eq!(
        features.incompat.bits() & !IncompatFeatures::all().bits(),
        0
    );
    // Read-only: the ro_compat bits the reader does not know for this kind at this minor.
    let known = kind.known_features(record.version()).ro_compat.bits();
    let expected_access = match le32(bytes, 36).map(|bits| bits & !known) {
        Some(0) => Access::ReadWrite,
        Some(unknown) => Access::ReadOnly { unknown },
        None => unreachable!("a decoded record holds its header"),
    };
    assert_eq!(record.access(), expected_access);
    assert_eq!(h.access(), expected_access);
    assert!(!format!("{record:?}").is_empty());

    let entries = record.entries();
    let count = usize::try_from(h.entry_count()).unwrap_or(usize::MAX);
    assert_eq!(entries.len(), count);
    assert_eq!(entries.is_empty(), count == 0);
    let forward: Vec<&E> = entries.iter().collect();
    assert_eq!(forward.len(), count);
    assert_eq!(entries.iter().size_hint(), (count, Some(count)));
    assert_eq!(entries.iter().len(), count);
    let mut backward: Vec<&E> = entries.iter().rev().collect();
    backward.reverse();
    assert_eq!(forward, backward, "iterating backwards differs");
    let stride = usize::from(h.entry_size());
    let table = &bytes[usize::from(h.header_len())..];
    let mut prev: Option<&E> = None;
    for (index, &entry) in forward.iter().enumerate() {
        assert!(std::ptr::eq(
            entries.get(index).expect("get(i) < len"),
            entry
        ));
        let at = index * stride;
        assert_eq!(
            entry.as_bytes(),
            &table[at..at + size_of::<E>()],
            "entry {index} is not read from its slot"
        );
        assert_eq!(entry.check(prev, newer), Ok(()), "entry {index}");
        prev = Some(entry);
    }
    assert!(entries.get(count).is_none());
    assert!(entries.get(usize::MAX).is_none());
    let mut iter = entries.iter();
    for _ in 0..count {
        assert!(iter.next().is_some());
    }
    assert!(iter.next().is_none() && iter.next().is_none() && iter.next_back().is_none());
    match entries.as_slice() {
        Some(slice) => {
            assert_eq!(stride, size_of::<E>());
            assert_eq!(slice.iter().collect::<Vec<_>>(), forward);
        }
        None => assert_ne!(stride, size_of::<E>(), "packed entries have no slice"),
    }
    // The unused slots, and every byte past the used entries, are zero.
    assert!(table[count * stride..].iter().all(|&b| b == 0));

    E::check_lookups(record);
    check_reencode(bytes, record);
}

/// Re-encoding the decoded entries (every field the record holds) with the same version,
/// generation and capacity gives the same bytes, except for what this writer never writes:
/// feature bits it ignores (and the CRC that covers them), and a newer minor's wider header
/// and entries.
fn check_reencode<E: Lookups>(bytes: &[u8], record: &Record<'_, E>) {
    let h = record.header();
    let version = record.version();
    let len = Record::<E>::len_for(version, Capacity::new(h.entry_capacity()))
        .expect("a decoded record fits u32");
    let mut out = vec![0xA5u8; len];
    let items = (0..record.entries().len()).map(|i| record.item(i).expect("i < len"));
    let result = Record::<E>::encode(
        &mut out,
        Encoding::new(version, h.generation(), Capacity::new(h.entry_capacity())),
        items,
    );
    let newer = h.minor() > MINOR;
    let own_sizes = usize::from(h.header_len()) == HEADER_LEN
        && Some(usize::from(h.entry_size()) + HEADER_LEN)
            == Record::<E>::len_for(version, Capacity::new(1));
    match result {
        Ok(n) => assert_eq!(n, len),
        // A newer minor may set fields and flags this version refuses to write.
        Err(EncodeError::Entry { .. }) if newer => return,
        Err(err) => panic!("decoded entries do not re-encode: {err}"),
    }
    // What this writer writes: the ro_compat bits it derives from the entries, no other bit.
    let canonical = h.features().compat.is_empty()
        && h.features().incompat.is_empty()
        && record.access() == Access::ReadWrite;
    if !newer && canonical {
        assert_eq!(out, bytes, "re-encoding differs");
    } else if own_sizes && !newer {
        for (at, (a, b)) in bytes.iter().zip(&out).enumerate() {
            // Features and CRC; a newer minor's version and reserved header bytes.
            let may_differ = (32..48).contains(&at)
                || newer && ((6..8).contains(&at) || (48..HEADER_LEN).contains(&at));
            assert!(a == b || may_differ, "re-encoding differs at {at}");
        }
    }
    let again = Record::<E>::decode(&out).expect("re-encoded record decodes");
    assert!(again.entries().iter().eq(record.entries().iter()));
    assert_eq!(again.generation(), h.generation());
}

/// Checks that a decode error names the kind, formats, and points at what it says is wrong.
#[allow(clippy::too_many_lines)] // one arm per variant
pub(crate) fn check_decode_error<E: Entry>(data: &[u8], err: &DecodeError) {
    let kind = E::KIND;
    let text = err.to_string();
    assert!(text.contains(kind.name()), "{text:?} does not name {kind}");
    assert!(!format!("{err:?}").is_empty());
    let len = data.len() as u64;
    let field16 = |at| le16(data, at).expect("the error implies the field is present");
    let field32 = |at| le32(data, at).expect("the error implies the field is present");
    match *err {
        DecodeError::NoRecord { kind: k } => {
            assert_eq!(k, kind);
            assert!(data.is_empty() || le32(data, 0) == Some(0));
        }
        DecodeError::TooShort {
            kind: k,
            needed,
            found,
        } => {
            assert_eq!((k, found), (kind, len));
            assert!(needed > found);
        }
        DecodeError::BadMagic { kind: k, found } => {
            assert_eq!((k, Some(found)), (kind, le32(data, 0)));
            assert_ne!(found, kind.magic());
        }
        DecodeError::UnsupportedMajor { kind: k, found, .. } => {
            assert_eq!((k, found), (kind, field16(4)));
            assert_ne!(found, MAJOR);
        }
        DecodeError::UnsupportedFeatures { kind: k, unknown } => {
            assert_eq!(k, kind);
            assert_ne!(unknown, 0);
            let known = kind.known_features(read_as(data)).incompat.bits();
            assert_eq!(unknown, field32(40) & !known);
        }
        DecodeError::Chain {
            kind: k,
            fault: ChainFault::NeedsMemory,
        } => {
            // A block of a chain, decoded on its own: CHAINED is set, and known there.
            assert_eq!(k, kind);
            let chained = IncompatFeatures::CHAINED;
            assert!(
                kind.known_features(read_as(data))
                    .incompat
                    .contains(chained)
            );
            assert_ne!(field32(40) & chained.bits(), 0);
        }
        DecodeError::HeaderSize { kind: k, found, .. } => {
            assert_eq!((k, found), (kind, field16(8)));
        }
        DecodeError::EntrySize { kind: k, found, .. } => {
            assert_eq!((k, found), (kind, field16(10)));
        }
        DecodeError::Inconsistent {
            kind: k,
            field,
            expected,
            found,
        } => {
            assert_eq!(k, kind);
            check_inconsistent(data, field, expected, found);
        }
        DecodeError::OverMaximum {
            kind: k,
            field,
            max,
            found,
        } => {
            // Only the count is checked against a maximum when decoding.
            assert_eq!((k, field), (kind, liveupdate_abi::Field::EntryCount));
            let field32 = |at| u64::from(le32(data, at).expect("header present"));
            assert_eq!((max, found), (field32(16), field32(12)));
            assert!(found > max);
        }
        DecodeError::Checksum {
            kind: k,
            stored,
            computed,
        } => {
            assert_eq!((k, stored), (kind, field32(CRC_OFFSET)));
            assert_ne!(stored, computed);
            assert_eq!(computed, expected_crc(data));
        }
        DecodeError::Reserved { kind: k, offset } => {
            assert_eq!(k, kind);
            let at = usize::try_from(offset).expect("offset inside the input");
            assert_ne!(data.get(at).copied().unwrap_or(0), 0, "byte {at} is zero");
        }
        DecodeError::Entry {
            kind: k,
            index,
            offset,
            fault,
        } => {
            assert_eq!(k, kind);
            assert!(index < field32(12), "entry {index} is not in use");
            let at = u64::from(field16(8)) + u64::from(index) * u64::from(field16(10));
            assert_eq!(offset, at, "entry {index} is not at offset {offset}");
            assert!(!fault.to_string().is_empty());
        }
        _ => panic!("decode returned {err:?}, which it documents it never does"),
    }
}

/// The version whose rules the newest reader applies to the record in `data`: its minor's,
/// or the newest for a newer minor.
fn read_as(data: &[u8]) -> AbiVersion {
    le16(data, 6)
        .and_then(AbiVersion::from_minor)
        .unwrap_or(AbiVersion::NEWEST)
}

fn check_inconsistent(data: &[u8], field: liveupdate_abi::Field, expected: u64, found: u64) {
    use liveupdate_abi::Field;
    let field32 = |at| u64::from(le32(data, at).expect("header present"));
    match field {
        Field::RecordLength => {
            let implied = u64::from(le16(data, 8).unwrap_or(0))
                + field32(16) * u64::from(le16(data, 10).unwrap_or(0));
            assert_eq!((expected, found), (implied, field32(20)));
            assert_ne!(expected, found);
        }
        Field::InputLength => {
            assert_eq!((expected, found), (field32(20), data.len() as u64));
            assert!(found > expected, "a short input is TooShort");
        }
        Field::RoCompat => {
            // The known ro_compat bits set, against those the entries use.
            let kind = le32(data, 0)
                .and_then(RecordKind::from_magic)
                .expect("a known kind");
            let known = u64::from(kind.known_features(read_as(data)).ro_compat.bits());
            assert_eq!(found, field32(36) & known);
            assert_ne!(expected, found);
            assert_eq!(expected & !known, 0);
        }
        _ => panic!("decode returned Inconsistent {field:?}"),
    }
}

impl Lookups for DirEntry {
    fn check_lookups(record: &Record<'_, Self>) {
        let entries = record.entries();
        let mut prev: Option<u32> = None;
        for e in &entries {
            assert_ne!(e.magic(), RecordKind::Root.magic());
            assert_eq!(e.kind(), RecordKind::from_magic(e.magic()));
            assert!(usize::try_from(e.length()).is_ok_and(|l| l >= HEADER_LEN));
            assert!(e.phys_addr().checked_add(u64::from(e.length())).is_some());
            assert!(prev.is_none_or(|p| p < e.magic()), "kinds not ascending");
            prev = Some(e.magic());
            let _ = e.crc();
        }
        for kind in RecordKind::ALL {
            let scan = entries.iter().find(|e| e.magic() == kind.magic());
            assert_eq!(
                record.find(kind).map(std::ptr::from_ref),
                scan.map(std::ptr::from_ref)
            );
            if let Some(e) = scan {
                assert_eq!(e.kind(), Some(kind));
            }
        }
    }
}

impl Lookups for FlbEntry {
    fn check_lookups(record: &Record<'_, Self>) {
        let newer = record.header().minor() > MINOR;
        let entries = record.entries();
        let index: BTreeMap<&str, &FlbEntry> = entries.iter().map(|e| (e.name(), e)).collect();
        assert_eq!(index.len(), entries.len(), "names are not unique");
        let mut prev: Option<&[u8; 48]> = None;
        for e in &entries {
            let name = e.name();
            assert!((1..48).contains(&name.len()), "name {name:?}");
            assert!(name.bytes().all(|b| b.is_ascii_graphic()), "name {name:?}");
            let field = e.name_field();
            assert_eq!(&field[..name.len()], name.as_bytes());
            assert!(field[name.len()..].iter().all(|&b| b == 0));
            assert!(prev.is_none_or(|p| p < field), "names not ascending");
            prev = Some(field);
            assert!(e.file_count() >= 1);
            if !newer {
                assert!(FlbFlags::all().contains(e.flags()));
            }
            let _ = e.data();
            assert!(std::ptr::eq(
                record.find(name).expect("find by own name"),
                e
            ));
            // Keys next to this one: shorter, longer, and the last byte moved by one.
            let mut probes = vec![
                name[..name.len() - 1].to_owned(),
                format!("{name}!"),
                format!("{name}~"),
            ];
            let last = name.as_bytes()[name.len() - 1];
            for b in [last.wrapping_sub(1), last.wrapping_add(1)] {
                if b.is_ascii() {
                    probes.push(format!("{}{}", &name[..name.len() - 1], char::from(b)));
                }
            }
            for probe in &probes {
                check_flb_probe(record, &index, probe);
            }
        }
        check_flb_probe(record, &index, "");
    }
}

/// `find(probe)` agrees with the index of names.
pub(crate) fn check_flb_probe(
    record: &Record<'_, FlbEntry>,
    index: &BTreeMap<&str, &FlbEntry>,
    probe: &str,
) {
    let expected = index.get(probe).copied();
    let found = record.find(probe);
    assert_eq!(
        found.map(std::ptr::from_ref),
        expected.map(std::ptr::from_ref),
        "find({probe:?}) = {:?}",
        found.map(FlbEntry::name)
    );
}

impl Lookups for PciEntry {
    fn check_lookups(record: &Record<'_, Self>) {
        let entries = record.entries();
        let index: BTreeMap<u64, &PciEntry> =
            entries.iter().map(|e| (e.address().key(), e)).collect();
        assert_eq!(index.len(), entries.len(), "addresses are not unique");
        let mut prev: Option<u64> = None;
        for e in &entries {
            let a = e.address();
            assert!(e.refcount() >= 1);
            assert_eq!(
                PciAddress::new(a.domain, a.bus(), a.device(), a.function()).unwrap(),
                a
            );
            assert!(
                a.to_string()
                    .contains(&format!("{:02x}.{:x}", a.device(), a.function()))
            );
            assert!(prev.is_none_or(|p| p < a.key()), "addresses not ascending");
            prev = Some(a.key());
            assert!(std::ptr::eq(record.find(a).expect("find own address"), e));
            for key in [a.key().wrapping_sub(1), a.key().wrapping_add(1)] {
                check_pci_probe(record, &index, address_of_key(key));
            }
        }
        check_pci_probe(record, &index, address_of_key(0));
        check_pci_probe(record, &index, address_of_key(u64::MAX));
        // Every field of each device: identity and flags from minor 1 on, none before.
        let devices: Vec<PciDevice> = record.devices().collect();
        assert_eq!(devices.len(), entries.len());
        for (i, (device, entry)) in devices.iter().zip(&entries).enumerate() {
            assert_eq!(record.item(i), Some(*device));
            assert_eq!(device.entry(), *entry);
            assert_eq!(record.device(entry.address()), Some(*device));
            if record.version() == AbiVersion::V1_0 {
                assert_eq!((device.identity, device.flags), (None, None));
            } else {
                let flags = device.flags.expect("minor 1 records flags");
                assert!(!flags.contains(PciFlags::DESCENDANT) || flags.contains(PciFlags::BRIDGE));
            }
            if let Some(identity) = device.identity {
                assert_eq!(device.check_identity(identity), IdentityMatch::Match);
                assert!(identity.matches(identity));
            }
        }
        assert_eq!(
            record.device(address_of_key(u64::MAX)).is_some(),
            index.contains_key(&address_of_key(u64::MAX).key())
        );
    }

    fn as_written(item: PciDevice, version: AbiVersion) -> PciDevice {
        match version {
            AbiVersion::V1_0 => item,
            // Minor 1 always records flags.
            AbiVersion::V1_1 => PciDevice {
                flags: Some(item.flags.unwrap_or_default()),
                ..item
            },
        }
    }
}

/// The address whose key is `key`, ignoring bits above the 48 a key uses.
pub(crate) fn address_of_key(key: u64) -> PciAddress {
    PciAddress {
        domain: u32::try_from((key >> 16) & 0xFFFF_FFFF).unwrap_or(u32::MAX),
        bdf: u16::try_from(key & 0xFFFF).unwrap_or(u16::MAX),
    }
}

/// `find(address)` and `is_preserved(address)` agree with the index of keys.
pub(crate) fn check_pci_probe(
    record: &Record<'_, PciEntry>,
    index: &BTreeMap<u64, &PciEntry>,
    address: PciAddress,
) {
    let expected = index.get(&address.key()).copied();
    assert_eq!(
        record.find(address).map(std::ptr::from_ref),
        expected.map(std::ptr::from_ref),
        "find({address})"
    );
    assert_eq!(
        record.is_preserved(address),
        expected.is_some(),
        "is_preserved({address})"
    );
}
