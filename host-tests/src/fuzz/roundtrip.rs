//! Round-trip targets: arbitrary contents -> entry constructors -> encode -> decode.
//!
//! Valid contents (sorted, unique, in range) must encode into exactly `len_for(capacity)`
//! bytes, touch nothing past them, and decode to the same entries; every way of making them
//! invalid (too small a buffer or capacity, wrong order, duplicates, bad fields) must be
//! refused with the error that names it. Lookups on the decoded table are probed with
//! arbitrary keys and compared with an index built here.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::mem::size_of;

use arbitrary::{Arbitrary, Unstructured};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::header::HEADER_LEN;
use liveupdate_abi::{
    DirEntry, EntryFault, Error, FlbEntry, FlbFlags, PciAddress, PciEntry, Record, RecordKind,
};

use super::records::{Lookups, check_flb_probe, check_pci_probe, check_record};

#[derive(Arbitrary, Debug)]
struct Contents<T> {
    generation: u64,
    /// Unused slots after the entries, modulo 4 (more only slows the fuzzer down).
    spare: u8,
    entries: Vec<T>,
}

/// Encodes `valid` (already sorted and unique), checks the bytes, decodes them, and returns
/// the encoded record, after checking the refusals every valid list has.
fn encode_valid<E: Lookups>(generation: u64, spare: u8, valid: &[E]) -> Vec<u8> {
    let kind = E::KIND;
    let count = u32::try_from(valid.len()).expect("fuzz input is small");
    let capacity = count + u32::from(spare % 4);
    let len = Record::<E>::len_for(AbiVersion::V1, capacity).expect("small capacity fits");
    assert_eq!(len, HEADER_LEN + capacity as usize * size_of::<E>());

    // Exactly `len` bytes are written; the rest of the buffer is left alone.
    let mut buf = vec![0xA5u8; len + 16];
    let n = Record::<E>::encode(
        &mut buf,
        AbiVersion::V1,
        generation,
        capacity,
        valid.iter().copied(),
    )
    .expect("valid contents encode");
    assert_eq!(n, len);
    assert!(
        buf[len..].iter().all(|&b| b == 0xA5),
        "encode wrote past the record"
    );
    buf.truncate(len);

    let record = Record::<E>::decode(&buf).expect("an encoded record decodes");
    let h = record.header();
    assert_eq!(record.generation(), generation);
    assert_eq!(h.entry_count(), count);
    assert_eq!(h.entry_capacity(), capacity);
    assert!(record.entries().iter().copied().eq(valid.iter().copied()));
    assert_eq!(record.access(), liveupdate_abi::Access::ReadWrite);
    check_record(&buf, &record);

    // One byte short.
    let mut short = vec![0u8; len - 1];
    assert_eq!(
        Record::<E>::encode(
            &mut short,
            AbiVersion::V1,
            generation,
            capacity,
            valid.iter().copied()
        ),
        Err(Error::BufferTooSmall {
            kind,
            needed: len as u64,
            found: len as u64 - 1
        })
    );
    // One slot short.
    if count > 0 {
        let mut out = vec![0u8; len];
        assert_eq!(
            Record::<E>::encode(
                &mut out,
                AbiVersion::V1,
                generation,
                count - 1,
                valid.iter().copied()
            ),
            Err(Error::CapacityExceeded {
                kind,
                capacity: count - 1
            })
        );
    }
    // Out of order and duplicated: refused at the second entry.
    if let [a, b, ..] = valid {
        expect_entry_fault([*b, *a], 1, EntryFault::OutOfOrder);
    }
    if let [a, ..] = valid {
        let duplicate = if E::KIND == RecordKind::FlbTable {
            EntryFault::DuplicateName
        } else {
            EntryFault::Duplicate
        };
        expect_entry_fault([*a, *a], 1, duplicate);
    }
    buf
}

/// Encoding `entries` fails with `fault` at `index`.
fn expect_entry_fault<E: Lookups, const N: usize>(entries: [E; N], index: u32, fault: EntryFault) {
    let len = Record::<E>::len_for(AbiVersion::V1, 4).expect("fits");
    let mut out = vec![0u8; len];
    assert_eq!(
        Record::<E>::encode(&mut out, AbiVersion::V1, 1, 4, entries),
        Err(Error::Entry {
            kind: E::KIND,
            index,
            offset: (HEADER_LEN + index as usize * size_of::<E>()) as u64,
            fault
        }),
        "{entries:?}"
    );
}

#[derive(Arbitrary, Debug)]
struct FlbSpec {
    name: String,
    data: u64,
    file_count: u64,
    flags: u32,
}

/// What `FlbEntry::new` must say about `name`: too long, empty, or the first byte that is not
/// printable ASCII.
pub(super) fn name_fault(name: &str) -> Option<EntryFault> {
    if name.len() >= liveupdate_abi::flb::NAME_LEN {
        return Some(EntryFault::NameUnterminated);
    }
    if name.is_empty() {
        return Some(EntryFault::NameEmpty);
    }
    let at = name.bytes().position(|b| !b.is_ascii_graphic())?;
    Some(EntryFault::NameNotPrintable {
        at: u8::try_from(at).expect("short name"),
    })
}

/// FLB tables: arbitrary names (many invalid), data, counts and flags; arbitrary probes.
pub fn roundtrip_flb(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(contents) = Contents::<FlbSpec>::arbitrary(&mut u) else {
        return;
    };
    let probes: Vec<String> = Vec::arbitrary(&mut u).unwrap_or_default();

    let mut valid = BTreeMap::new();
    for spec in &contents.entries {
        let flags = FlbFlags::from_bits_truncate(spec.flags);
        let made = FlbEntry::new(&spec.name, spec.data, spec.file_count, flags);
        match (made, name_fault(&spec.name)) {
            (Ok(e), None) => {
                assert_eq!(e.name(), spec.name);
                assert_eq!(&e.name_field()[..spec.name.len()], spec.name.as_bytes());
                assert_eq!(
                    (e.data(), e.file_count(), e.flags()),
                    (spec.data, spec.file_count, flags)
                );
                if spec.file_count == 0 {
                    expect_entry_fault([e], 0, EntryFault::ZeroFileCount);
                } else if !FlbFlags::all().contains(FlbFlags::from_bits_retain(spec.flags)) {
                    let e = FlbEntry::new(
                        &spec.name,
                        spec.data,
                        spec.file_count,
                        FlbFlags::from_bits_retain(spec.flags),
                    )
                    .expect("flags are not checked by new");
                    let bits = spec.flags & !FlbFlags::all().bits();
                    expect_entry_fault([e], 0, EntryFault::UnknownFlags { bits });
                } else {
                    valid.insert(spec.name.clone(), e);
                }
            }
            (made, expected) => assert_eq!(
                made.err(),
                expected,
                "FlbEntry::new({:?}) = {:?}",
                spec.name,
                made.map(|e| e.name().to_owned())
            ),
        }
    }
    // BTreeMap order of names is byte order, the table's order.
    let valid: Vec<FlbEntry> = valid.into_values().collect();
    let bytes = encode_valid(contents.generation, contents.spare, &valid);
    let record = Record::<FlbEntry>::decode(&bytes).expect("checked by encode_valid");
    let index: BTreeMap<&str, &FlbEntry> = record.entries().iter().map(|e| (e.name(), e)).collect();
    for probe in &probes {
        check_flb_probe(&record, &index, probe);
    }
}

/// PCI tables: arbitrary addresses and refcounts; arbitrary probes.
pub fn roundtrip_pci(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(contents) = Contents::<(u32, u8, u8, u8, u16)>::arbitrary(&mut u) else {
        return;
    };
    let probes: Vec<(u32, u16)> = Vec::arbitrary(&mut u).unwrap_or_default();

    let mut valid = BTreeMap::new();
    for &(domain, bus, device, function, refcount) in &contents.entries {
        let address = PciAddress::new(domain, bus, device, function);
        assert_eq!(
            (
                address.domain,
                address.bus(),
                address.device(),
                address.function()
            ),
            (domain, bus, device & 0x1f, function & 0x7)
        );
        assert_eq!(
            address.key(),
            u64::from(domain) << 16 | u64::from(address.bdf)
        );
        let e = PciEntry::new(address, refcount);
        assert_eq!((e.address(), e.refcount()), (address, refcount));
        if refcount == 0 {
            expect_entry_fault([e], 0, EntryFault::ZeroRefcount);
        } else {
            valid.insert(address.key(), e);
        }
    }
    let valid: Vec<PciEntry> = valid.into_values().collect();
    let bytes = encode_valid(contents.generation, contents.spare, &valid);
    let record = Record::<PciEntry>::decode(&bytes).expect("checked by encode_valid");
    let index: BTreeMap<u64, &PciEntry> = record
        .entries()
        .iter()
        .map(|e| (e.address().key(), e))
        .collect();
    for &(domain, bdf) in &probes {
        check_pci_probe(&record, &index, PciAddress { domain, bdf });
    }
}

#[derive(Arbitrary, Debug)]
struct DirSpec {
    /// 0: FLB table, 1: PCI table, otherwise a root (never allowed).
    kind: u8,
    phys_addr: u64,
    length: u32,
    crc: u32,
}

/// Root directories: arbitrary references, valid ones encoded and decoded, invalid ones
/// refused with the fault that names them.
pub fn roundtrip_root(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(contents) = Contents::<DirSpec>::arbitrary(&mut u) else {
        return;
    };
    let mut valid = BTreeMap::new();
    for spec in &contents.entries {
        let kind = match spec.kind {
            0 => RecordKind::FlbTable,
            1 => RecordKind::PciTable,
            _ => RecordKind::Root,
        };
        let e = DirEntry::new(kind, spec.phys_addr, spec.length, spec.crc);
        assert_eq!(
            (e.kind(), e.magic(), e.phys_addr(), e.length(), e.crc()),
            (
                Some(kind),
                kind.magic(),
                spec.phys_addr,
                spec.length,
                spec.crc
            )
        );
        let fault = if kind == RecordKind::Root {
            Some(EntryFault::NestedRoot)
        } else if (spec.length as usize) < HEADER_LEN {
            Some(EntryFault::RecordTooSmall {
                length: spec.length,
            })
        } else if spec.phys_addr.checked_add(u64::from(spec.length)).is_none() {
            Some(EntryFault::AddressOverflow)
        } else {
            None
        };
        match fault {
            Some(fault) => expect_entry_fault([e], 0, fault),
            None => {
                valid.insert(kind.magic(), e);
            }
        }
    }
    let valid: Vec<DirEntry> = valid.into_values().collect();
    let bytes = encode_valid(contents.generation, contents.spare, &valid);
    let root = Record::<DirEntry>::decode(&bytes).expect("checked by encode_valid");
    for e in &valid {
        let kind = e.kind().expect("valid entries have a known kind");
        assert_eq!(root.find(kind), Some(e));
    }
    assert_eq!(root.find(RecordKind::Root), None);
}
