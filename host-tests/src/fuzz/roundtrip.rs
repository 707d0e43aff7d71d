//! Round-trip targets: arbitrary contents -> entry constructors -> encode -> decode.
//!
//! Valid contents (sorted, unique, in range) must encode, at either ABI version, into exactly
//! `len_for(version, capacity)` bytes, touch nothing past them, and decode to the same items
//! (for PCI at v2: identity and flags too); every way of making them
//! invalid (too small a buffer or capacity, wrong order, duplicates, bad fields) must be
//! refused with the error that names it. Lookups on the decoded table are probed with
//! arbitrary keys and compared with an index built here.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::mem::size_of;

use arbitrary::{Arbitrary, Unstructured};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::header::HEADER_LEN;
use liveupdate_abi::{
    DirEntry, EncodeError, EntryFault, FlbEntry, FlbFlags, PciAddress, PciAddressError, PciDevice,
    PciEntry, PciFlags, PciIdentity, Record, RecordKind, Unfit,
};

use super::records::{Lookups, check_flb_probe, check_pci_probe, check_record};
use liveupdate_abi::PhysAddr;

#[derive(Arbitrary, Debug)]
struct Contents<T> {
    /// Written as v2 (wire 1.1) rather than v1.
    v2: bool,
    generation: u64,
    /// Unused slots after the entries, modulo 4 (more only slows the fuzzer down).
    spare: u8,
    entries: Vec<T>,
}

impl<T> Contents<T> {
    fn version(&self) -> AbiVersion {
        if self.v2 {
            AbiVersion::V1_1
        } else {
            AbiVersion::V1_0
        }
    }
}

/// Encodes `valid` (already sorted and unique) as `version`, checks the bytes, decodes them,
/// and returns the encoded record, after checking the refusals every valid list has.
fn encode_valid<E: Lookups>(
    version: AbiVersion,
    generation: u64,
    spare: u8,
    valid: &[E::Item],
) -> Vec<u8>
where
    E::Item: PartialEq + Debug,
{
    let kind = E::KIND;
    let count = u32::try_from(valid.len()).expect("fuzz input is small");
    let capacity = count + u32::from(spare % 4);
    let len = Record::<E>::len_for(version, Capacity::new(capacity)).expect("small capacity fits");
    let entry_size = Record::<E>::len_for(version, Capacity::new(1)).expect("fits") - HEADER_LEN;
    assert!(entry_size >= size_of::<E>() && entry_size.is_multiple_of(8));
    assert_eq!(len, HEADER_LEN + capacity as usize * entry_size);

    // Exactly `len` bytes are written; the rest of the buffer is left alone.
    let mut buf = vec![0xA5u8; len + 16];
    let n = Record::<E>::encode(
        &mut buf,
        Encoding::new(
            version,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
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
    assert_eq!((record.version(), h.minor()), (version, version.minor()));
    assert_eq!(record.generation(), Generation::new(generation));
    assert_eq!(h.entry_count(), count);
    assert_eq!(h.entry_capacity(), capacity);
    let items: Vec<E::Item> = (0..valid.len())
        .map(|i| record.item(i).expect("in use"))
        .collect();
    let written: Vec<E::Item> = valid.iter().map(|&i| E::as_written(i, version)).collect();
    assert_eq!(items, written, "items changed through encode and decode");
    assert!(record.item(valid.len()).is_none());
    assert_eq!(record.access(), liveupdate_abi::Access::ReadWrite);
    check_record(&buf, &record);
    // The reader of the other version: the newest reads every minor; v1 reads v1.
    match Record::<E>::decode_as(&buf, AbiVersion::V1_0) {
        Ok(old) => {
            assert!(old.entries().iter().eq(record.entries().iter()));
            assert_eq!(old.reader(), AbiVersion::V1_0);
        }
        Err(err) => assert!(
            version > AbiVersion::V1_0,
            "the v1 reader refuses v1: {err}"
        ),
    }

    // One byte short.
    let mut short = vec![0u8; len - 1];
    assert_eq!(
        Record::<E>::encode(
            &mut short,
            Encoding::new(
                version,
                Generation::new(generation),
                Capacity::new(capacity)
            ),
            valid.iter().copied()
        ),
        Err(EncodeError::BufferTooSmall {
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
                Encoding::new(
                    version,
                    Generation::new(generation),
                    Capacity::new(count - 1)
                ),
                valid.iter().copied()
            ),
            Err(EncodeError::CapacityExceeded {
                kind,
                capacity: count - 1
            })
        );
    }
    // Out of order and duplicated: refused at the second entry.
    let entries: Vec<E> = (0..valid.len())
        .map(|i| *record.entries().get(i).expect("in use"))
        .collect();
    if let [a, b, ..] = entries[..] {
        expect_entry_fault([b, a], 1, EntryFault::OutOfOrder);
    }
    if let [a, ..] = entries[..] {
        let duplicate = if E::KIND == RecordKind::FlbTable {
            EntryFault::DuplicateName
        } else {
            EntryFault::Duplicate
        };
        expect_entry_fault([a, a], 1, duplicate);
    }
    buf
}

/// Encoding `entries` fails with `fault` at `index`.
fn expect_entry_fault<E: Lookups, const N: usize>(entries: [E; N], index: u32, fault: EntryFault) {
    let len = Record::<E>::len_for(AbiVersion::V1_0, Capacity::new(4)).expect("fits");
    let mut out = vec![0u8; len];
    assert_eq!(
        Record::<E>::encode(
            &mut out,
            Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(4)),
            entries
        ),
        Err(EncodeError::Entry {
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
    let version = contents.version();
    let bytes = encode_valid::<FlbEntry>(version, contents.generation, contents.spare, &valid);
    let record = Record::<FlbEntry>::decode(&bytes).expect("checked by encode_valid");
    let index: BTreeMap<&str, &FlbEntry> = record.entries().iter().map(|e| (e.name(), e)).collect();
    for probe in &probes {
        check_flb_probe(&record, &index, probe);
    }
}

#[derive(Arbitrary, Debug)]
struct PciSpec {
    domain: u32,
    bus: u8,
    device: u8,
    function: u8,
    refcount: u16,
    /// Vendor, device and class code, if known.
    identity: Option<(u16, u16, u32)>,
    flags: Option<u32>,
}

/// What `PciIdentity::new` must say: vendor 0 and `0xFFFF` are no vendor; classes have 24
/// bits.
fn identity_fault(vendor_id: u16, class_code: u32) -> Option<EntryFault> {
    if vendor_id == 0 || vendor_id == 0xFFFF {
        Some(EntryFault::Vendor { vendor_id })
    } else if class_code > 0x00FF_FFFF {
        Some(EntryFault::ClassCode { class_code })
    } else {
        None
    }
}

/// PCI tables: arbitrary addresses, refcounts, identities and flags; arbitrary probes. A v1
/// table refuses an identity or flags (`Unfit`), naming the first device that has one.
pub fn roundtrip_pci(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(contents) = Contents::<PciSpec>::arbitrary(&mut u) else {
        return;
    };
    let probes: Vec<(u32, u16)> = Vec::arbitrary(&mut u).unwrap_or_default();
    let version = contents.version();

    let mut valid = BTreeMap::new();
    for spec in &contents.entries {
        // An out-of-range device or function is refused, naming it; never masked.
        let made = PciAddress::new(spec.domain, spec.bus, spec.device, spec.function);
        let refused = if spec.device > 0x1f {
            Some(PciAddressError::Device {
                device: spec.device,
            })
        } else if spec.function > 0x7 {
            Some(PciAddressError::Function {
                function: spec.function,
            })
        } else {
            None
        };
        assert_eq!(made.err(), refused);
        let bdf = u16::from(spec.bus) << 8
            | u16::from(spec.device & 0x1f) << 3
            | u16::from(spec.function & 0x7);
        let address = made.unwrap_or(PciAddress::from_parts(spec.domain, bdf));
        assert_eq!(address, PciAddress::from_parts(spec.domain, bdf));
        assert_eq!(PciAddress::from_key(address.key()), address);
        assert_eq!(
            (
                address.domain,
                address.bus(),
                address.device(),
                address.function()
            ),
            (
                spec.domain,
                spec.bus,
                spec.device & 0x1f,
                spec.function & 0x7
            )
        );
        assert_eq!(
            address.key(),
            u64::from(spec.domain) << 16 | u64::from(address.bdf)
        );
        let e = PciEntry::new(address, spec.refcount);
        assert_eq!((e.address(), e.refcount()), (address, spec.refcount));
        if spec.refcount == 0 {
            expect_entry_fault([e], 0, EntryFault::ZeroRefcount);
            continue;
        }
        let mut device = PciDevice::new(address, spec.refcount);
        assert_eq!(device.entry(), e);
        if let Some((vendor, id, class)) = spec.identity {
            let made = PciIdentity::new(vendor, id, class);
            assert_eq!(
                made.err(),
                identity_fault(vendor, class),
                "PciIdentity::new"
            );
            if let Ok(identity) = made {
                assert_eq!(
                    (
                        identity.vendor_id(),
                        identity.device_id(),
                        identity.class_code()
                    ),
                    (vendor, id, class)
                );
                assert!(identity.matches(identity));
                assert!(!identity.to_string().is_empty());
                device = device.with_identity(identity);
            }
        }
        if let Some(bits) = spec.flags {
            let mut flags = PciFlags::from_bits_truncate(bits);
            if flags.contains(PciFlags::DESCENDANT) {
                flags |= PciFlags::BRIDGE;
            }
            device = device.with_flags(flags);
        }
        valid.insert(address.key(), device);
    }
    let mut valid: Vec<PciDevice> = valid.into_values().collect();
    if version == AbiVersion::V1_0 {
        expect_v1_unfit(contents.generation, &valid);
        for device in &mut valid {
            *device = PciDevice::new(device.address, device.refcount);
        }
    }
    let bytes = encode_valid::<PciEntry>(version, contents.generation, contents.spare, &valid);
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

/// A v1 writer refuses, rather than drops, what v1 cannot hold: the first device with an
/// identity or with flags.
fn expect_v1_unfit(generation: u64, devices: &[PciDevice]) {
    let unfit = devices.iter().enumerate().find_map(|(i, d)| {
        let index = u32::try_from(i).expect("small");
        let flags = d.flags.unwrap_or_default();
        if d.identity.is_some() {
            Some(Unfit::Identity { index })
        } else if !flags.is_empty() {
            Some(Unfit::Flags {
                index,
                bits: flags.bits(),
            })
        } else {
            None
        }
    });
    let Some(what) = unfit else {
        return;
    };
    let capacity = u32::try_from(devices.len()).expect("small");
    let len = Record::<PciEntry>::len_for(AbiVersion::V1_0, Capacity::new(capacity)).expect("fits");
    let mut out = vec![0u8; len];
    let got = Record::<PciEntry>::encode(
        &mut out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        devices.iter().copied(),
    );
    assert_eq!(
        got,
        Err(EncodeError::Unfit {
            kind: RecordKind::PciTable,
            version: AbiVersion::V1_0,
            what
        })
    );
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
        let e = DirEntry::new(kind, PhysAddr::new(spec.phys_addr), spec.length, spec.crc);
        assert_eq!(
            (e.kind(), e.magic(), e.phys_addr(), e.length(), e.crc()),
            (
                Some(kind),
                kind.magic(),
                PhysAddr::new(spec.phys_addr),
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
    let version = contents.version();
    let bytes = encode_valid::<DirEntry>(version, contents.generation, contents.spare, &valid);
    let root = Record::<DirEntry>::decode(&bytes).expect("checked by encode_valid");
    for e in &valid {
        let kind = e.kind().expect("valid entries have a known kind");
        assert_eq!(root.find(kind), Some(e));
    }
    assert_eq!(root.find(RecordKind::Root), None);
}
