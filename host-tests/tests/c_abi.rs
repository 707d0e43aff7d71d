//! The C header `abi/include/liveupdate_abi.h` and the C implementation in `c/liveupdate_c.c`
//! (compiled by `build.rs`) against the Rust crate, at minor 0 (ABI 1.0) and minor 1 (ABI 1.1):
//! every size, offset and constant the C compiler sees equals the Rust side; records encoded
//! in C decode in Rust (and are the same bytes the Rust encoder writes); records encoded in
//! Rust verify in C; both sides refuse the same damaged records.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char, c_int, c_long};

use liveupdate_abi::PhysAddr;
use liveupdate_abi::checksum::crc32c;
use liveupdate_abi::flb::NAME_LEN;
use liveupdate_abi::header::{CRC_OFFSET, HEADER_LEN, MAJOR, MAX_SIZE_FIELD};
use liveupdate_abi::header::{IncompatFeatures, RoCompatFeatures};
use liveupdate_abi::root::KHO_NAME;
use liveupdate_abi::table::MAX_BLOCKS;
use liveupdate_abi::{
    AbiVersion, Access, DecodeError, DirEntry, FlbEntry, FlbFlags, FlbTable, PciAddress, PciDevice,
    PciEntry, PciFlags, PciIdentity, PciTable, Record, RecordHeader, RecordKind, Root, seal,
};
use liveupdate_host_tests::c::*;
use proptest::prelude::*;
use zerocopy::FromBytes;

/// The signature every C table encoder shares.
type CEncoder<T> = unsafe extern "C" fn(*mut u8, usize, u64, u32, *const T, u32) -> c_long;

/// Encodes `items` with a C encoder into a buffer for `capacity` entries of `entry_size`
/// bytes (at most 1 MiB: a larger capacity fails before writing); `Ok(record)` or the status.
fn c_encode<T>(
    encode: CEncoder<T>,
    entry_size: u64,
    generation: u64,
    capacity: u32,
    items: &[T],
) -> Result<Vec<u8>, c_long> {
    let size = (64 + entry_size * u64::from(capacity)).min(1 << 20);
    let mut out = vec![0u8; usize::try_from(size).unwrap()];
    let n = u32::try_from(items.len()).unwrap();
    // SAFETY: `out` is writable for `out.len()` bytes and `items` readable for `n` elements
    // (any pointers in them valid for the call); the encoder writes at most `out_len` bytes.
    let len = unsafe {
        encode(
            out.as_mut_ptr(),
            out.len(),
            generation,
            capacity,
            items.as_ptr(),
            n,
        )
    };
    let len = usize::try_from(len).map_err(|_| len)?;
    out.truncate(len);
    Ok(out)
}

/// Encodes in C; `Ok(record)` or the C status.
fn c_pci(generation: u64, capacity: u32, entries: &[PciEntry]) -> Result<Vec<u8>, c_long> {
    let devs: Vec<LuPciDev> = entries
        .iter()
        .map(|e| LuPciDev {
            domain: e.address().domain,
            bdf: e.address().bdf,
            refcount: e.refcount(),
        })
        .collect();
    c_encode(
        lu_encode_pci_table,
        PciEntry::SIZE_1_0.into(),
        generation,
        capacity,
        &devs,
    )
}

fn c_flb(
    generation: u64,
    capacity: u32,
    entries: &[(&str, u64, u64, u32)],
) -> Result<Vec<u8>, c_long> {
    c_flb_as(AbiVersion::V1_0, generation, capacity, entries)
}

/// Encodes an FLB table in C at `version`'s minor.
fn c_flb_as(
    version: AbiVersion,
    generation: u64,
    capacity: u32,
    entries: &[(&str, u64, u64, u32)],
) -> Result<Vec<u8>, c_long> {
    let names: Vec<CString> = entries.iter().map(|e| CString::new(e.0).unwrap()).collect();
    let flbs: Vec<LuFlb> = entries
        .iter()
        .zip(&names)
        .map(|(e, n)| LuFlb {
            name: n.as_ptr(),
            data: e.1,
            file_count: e.2,
            flags: e.3,
        })
        .collect();
    let encode = match version {
        AbiVersion::V1_0 => lu_encode_flb_table,
        AbiVersion::V1_1 => lu_encode_flb_table_v1_1,
    };
    // `names` keeps the strings `flbs` points to alive for the call.
    let record = c_encode(encode, FlbEntry::SIZE.into(), generation, capacity, &flbs);
    drop(names);
    record
}

/// Encodes a PCI table at minor 1 in C; `Ok(record)` or the C status.
fn c_pci_v1_1(generation: u64, capacity: u32, devices: &[PciDevice]) -> Result<Vec<u8>, c_long> {
    let devs: Vec<LuPciDevV11> = devices
        .iter()
        .map(|d| {
            let id = d.identity;
            LuPciDevV11 {
                domain: d.address.domain,
                bdf: d.address.bdf,
                refcount: d.refcount,
                vendor_id: id.map_or(0, PciIdentity::vendor_id),
                device_id: id.map_or(0, PciIdentity::device_id),
                class_code: id.map_or(0, PciIdentity::class_code),
                flags: d.flags.unwrap_or_default().bits(),
            }
        })
        .collect();
    c_pci_v1_1_raw(generation, capacity, &devs)
}

fn c_pci_v1_1_raw(generation: u64, capacity: u32, devs: &[LuPciDevV11]) -> Result<Vec<u8>, c_long> {
    c_encode(
        lu_encode_pci_table_v1_1,
        PciEntry::SIZE_1_1.into(),
        generation,
        capacity,
        devs,
    )
}

fn cstr(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the C side returns pointers to static NUL-terminated string literals.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// What the C compiler sees: "kind name [field]" -> value.
fn c_layout() -> BTreeMap<String, u64> {
    // SAFETY: no arguments; returns a count.
    let n = unsafe { lu_layout_count() };
    (0..n)
        .map(|i| {
            // SAFETY: `i` is below the count; returns a static string.
            let name = cstr(unsafe { lu_layout_name(i) });
            // SAFETY: `i` is below the count.
            let value = unsafe { lu_layout_value(i) };
            (name, value)
        })
        .collect()
}

/// Where a field's bytes are in a pattern buffer whose byte `i` is `i`: the field read
/// through the Rust accessor gives back its own offset, byte by byte.
fn located(value_le: &[u8]) -> u64 {
    assert!(
        value_le.windows(2).all(|w| w[1] == w[0] + 1),
        "accessor bytes {value_le:?} are not one field"
    );
    u64::from(value_le[0])
}

fn pattern<const N: usize>() -> [u8; N] {
    std::array::from_fn(|i| u8::try_from(i).unwrap())
}

/// Records offsets (located through accessors) and the one run of bytes no accessor covers
/// (the reserved field, when `reserved` names it).
fn fields(
    m: &mut BTreeMap<String, u64>,
    name: &str,
    size: usize,
    found: &[(&str, &[u8])],
    reserved: Option<&str>,
) {
    m.insert(format!("sizeof {name}"), size as u64);
    let mut covered = vec![false; size];
    for (field, bytes) in found {
        let at = located(bytes);
        m.insert(format!("offsetof {name} {field}"), at);
        let start = usize::try_from(at).unwrap();
        for c in &mut covered[start..start + bytes.len()] {
            assert!(!*c, "{name}.{field} overlaps another field");
            *c = true;
        }
    }
    let gap: Vec<usize> = (0..size).filter(|&i| !covered[i]).collect();
    match reserved {
        Some(field) => {
            assert!(
                gap.windows(2).all(|w| w[1] == w[0] + 1),
                "{name}: one reserved run"
            );
            m.insert(format!("offsetof {name} {field}"), gap[0] as u64);
            m.insert(format!("fieldsize {name} {field}"), gap.len() as u64);
        }
        None => assert!(gap.is_empty(), "{name}: bytes {gap:?} not covered"),
    }
}

/// The same items, from the Rust definitions.
fn rust_layout() -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    let bytes = pattern::<72>();

    let h = RecordHeader::ref_from_bytes(&bytes[..64]).unwrap();
    let features = h.features();
    fields(
        &mut m,
        "liveupdate_v1_header",
        size_of::<RecordHeader>(),
        &[
            ("magic", &h.magic().to_le_bytes()),
            ("major", &h.major().to_le_bytes()),
            ("minor", &h.minor().to_le_bytes()),
            ("header_len", &h.header_len().to_le_bytes()),
            ("entry_size", &h.entry_size().to_le_bytes()),
            ("entry_count", &h.entry_count().to_le_bytes()),
            ("entry_capacity", &h.entry_capacity().to_le_bytes()),
            ("record_len", &h.record_len().to_le_bytes()),
            ("generation", &h.generation().get().to_le_bytes()),
            ("compat", &features.compat.bits().to_le_bytes()),
            ("ro_compat", &features.ro_compat.bits().to_le_bytes()),
            ("incompat", &features.incompat.bits().to_le_bytes()),
            ("crc", &h.crc().to_le_bytes()),
        ],
        Some("reserved"),
    );

    let dir = DirEntry::ref_from_bytes(&bytes[..24]).unwrap();
    fields(
        &mut m,
        "liveupdate_v1_dir_entry",
        size_of::<DirEntry>(),
        &[
            ("kind", &dir.magic().to_le_bytes()),
            ("crc", &dir.crc().to_le_bytes()),
            ("phys_addr", &dir.phys_addr().raw().to_le_bytes()),
            ("length", &dir.length().to_le_bytes()),
        ],
        Some("reserved"),
    );

    let flb = FlbEntry::ref_from_bytes(&bytes[..72]).unwrap();
    fields(
        &mut m,
        "liveupdate_v1_flb_entry",
        size_of::<FlbEntry>(),
        &[
            ("name", flb.name_field()),
            ("data", &flb.data().to_le_bytes()),
            ("file_count", &flb.file_count().to_le_bytes()),
            ("flags", &flb.flags().bits().to_le_bytes()),
        ],
        Some("reserved"),
    );
    m.insert(
        "fieldsize liveupdate_v1_flb_entry name".into(),
        flb.name_field().len() as u64,
    );

    let pci = PciEntry::ref_from_bytes(&bytes[..8]).unwrap();
    fields(
        &mut m,
        "liveupdate_v1_pci_entry",
        size_of::<PciEntry>(),
        &[
            ("domain", &pci.address().domain.to_le_bytes()),
            ("bdf", &pci.address().bdf.to_le_bytes()),
            ("refcount", &pci.refcount().to_le_bytes()),
        ],
        None,
    );

    rust_layout_v1_1(&mut m);

    for (name, value) in [
        ("LIVEUPDATE_MAGIC_ROOT", u64::from(RecordKind::Root.magic())),
        (
            "LIVEUPDATE_MAGIC_FLB",
            u64::from(RecordKind::FlbTable.magic()),
        ),
        (
            "LIVEUPDATE_MAGIC_PCI",
            u64::from(RecordKind::PciTable.magic()),
        ),
        // checksum.rs: polynomial 0x1EDC6F41, reflected.
        (
            "LIVEUPDATE_CRC32C_POLY",
            u64::from(0x1EDC_6F41u32.reverse_bits()),
        ),
        ("LIVEUPDATE_CRC32C_CHECK", u64::from(crc32c(b"123456789"))),
        ("LIVEUPDATE_MAX_SIZE_FIELD", u64::from(MAX_SIZE_FIELD)),
        ("LIVEUPDATE_V1_MAJOR", u64::from(MAJOR)),
        ("LIVEUPDATE_V1_MINOR", u64::from(AbiVersion::V1_0.minor())),
        ("LIVEUPDATE_V1_HEADER_LEN", HEADER_LEN as u64),
        ("LIVEUPDATE_V1_CRC_OFFSET", CRC_OFFSET as u64),
        ("LIVEUPDATE_V1_DIR_ENTRY_SIZE", size_of::<DirEntry>() as u64),
        ("LIVEUPDATE_V1_FLB_ENTRY_SIZE", size_of::<FlbEntry>() as u64),
        ("LIVEUPDATE_V1_PCI_ENTRY_SIZE", size_of::<PciEntry>() as u64),
        ("LIVEUPDATE_FLB_NAME_LEN", NAME_LEN as u64),
        (
            "LIVEUPDATE_V1_FLB_DATA_IS_PHYS",
            u64::from(FlbFlags::DATA_IS_PHYS.bits()),
        ),
    ] {
        m.insert(format!("const {name}"), value);
    }
    m
}

/// The items minor 1 (ABI 1.1) adds, from the Rust definitions.
fn rust_layout_v1_1(m: &mut BTreeMap<String, u64>) {
    // Minor 1's header: bytes 48..63 as `Header::link` reads them from a block of a chain
    // (the pattern with the CHAINED bit set in `incompat`).
    let mut chained = pattern::<64>();
    chained[40] |= 1;
    let link = RecordHeader::ref_from_bytes(&chained[..])
        .unwrap()
        .link()
        .expect("CHAINED is set");
    let name = "liveupdate_v1_1_header";
    m.insert(format!("sizeof {name}"), size_of::<RecordHeader>() as u64);
    let next = located(&link.next.to_le_bytes());
    let index = located(&link.index.to_le_bytes());
    m.insert(format!("offsetof {name} next_block"), next);
    m.insert(format!("offsetof {name} block_index"), index);
    m.insert(format!("offsetof {name} reserved"), index + 4);
    m.insert(
        format!("fieldsize {name} reserved"),
        HEADER_LEN as u64 - (index + 4),
    );

    // Minor 1's PCI entry, located in what the Rust encoder writes for one device whose every
    // field has distinct bytes.
    let device = PciDevice::new(
        PciAddress {
            domain: 0x0403_0201,
            bdf: 0x0605,
        },
        0x0807,
    )
    .with_identity(PciIdentity::new(0x0a09, 0x0c0b, 0x000f_0e0d).unwrap())
    .with_flags(PciFlags::all());
    let mut rec = [0u8; 64 + PciEntry::SIZE_1_1 as usize];
    PciTable::encode(
        &mut rec,
        Encoding::new(AbiVersion::V1_1, Generation::new(1), Capacity::new(1)),
        [device],
    )
    .unwrap();
    let entry = &rec[64..];
    let at = |bytes: &[u8]| -> (usize, usize) {
        let hits: Vec<_> = entry
            .windows(bytes.len())
            .enumerate()
            .filter(|(_, w)| *w == bytes)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(hits.len(), 1, "{bytes:02x?} in {entry:02x?}");
        (hits[0], bytes.len())
    };
    let name = "liveupdate_v1_1_pci_entry";
    m.insert(format!("sizeof {name}"), entry.len() as u64);
    let mut covered = vec![false; entry.len()];
    for (field, bytes) in [
        ("domain", device.address.domain.to_le_bytes().to_vec()),
        ("bdf", device.address.bdf.to_le_bytes().to_vec()),
        ("refcount", device.refcount.to_le_bytes().to_vec()),
        ("vendor_id", 0x0a09u16.to_le_bytes().to_vec()),
        ("device_id", 0x0c0bu16.to_le_bytes().to_vec()),
        ("class_code", 0x000f_0e0du32.to_le_bytes().to_vec()),
        ("flags", PciFlags::all().bits().to_le_bytes().to_vec()),
    ] {
        let (offset, len) = at(&bytes);
        m.insert(format!("offsetof {name} {field}"), offset as u64);
        covered[offset..offset + len]
            .iter_mut()
            .for_each(|c| *c = true);
    }
    let gap: Vec<usize> = (0..entry.len()).filter(|&i| !covered[i]).collect();
    assert!(gap.windows(2).all(|w| w[1] == w[0] + 1), "one reserved run");
    m.insert(format!("offsetof {name} reserved"), gap[0] as u64);
    m.insert(format!("fieldsize {name} reserved"), gap.len() as u64);

    for (name, value) in [
        ("LIVEUPDATE_V1_1_MINOR", u64::from(AbiVersion::V1_1.minor())),
        (
            "LIVEUPDATE_V1_1_RO_COMPAT_HIERARCHY",
            u64::from(RoCompatFeatures::HIERARCHY.bits()),
        ),
        (
            "LIVEUPDATE_V1_1_INCOMPAT_CHAINED",
            u64::from(IncompatFeatures::CHAINED.bits()),
        ),
        ("LIVEUPDATE_V1_1_MAX_BLOCKS", u64::from(MAX_BLOCKS)),
        (
            "LIVEUPDATE_V1_1_PCI_BRIDGE",
            u64::from(PciFlags::BRIDGE.bits()),
        ),
        (
            "LIVEUPDATE_V1_1_PCI_DESCENDANT",
            u64::from(PciFlags::DESCENDANT.bits()),
        ),
        (
            "LIVEUPDATE_V1_1_PCI_BUS_MASTER",
            u64::from(PciFlags::BUS_MASTER.bits()),
        ),
        // PciIdentity::new accepts exactly the 24-bit class codes.
        ("LIVEUPDATE_V1_1_PCI_CLASS_MASK", {
            let max = 0x00FF_FFFF;
            assert!(
                PciIdentity::new(1, 0, max).is_ok() && PciIdentity::new(1, 0, max + 1).is_err()
            );
            u64::from(max)
        }),
        ("LIVEUPDATE_V1_1_PCI_ENTRY_SIZE", entry.len() as u64),
    ] {
        m.insert(format!("const {name}"), value);
    }
}

#[test]
fn the_c_header_has_the_rust_layout_and_constants() {
    let c = c_layout();
    let rust = rust_layout();
    let only_c: Vec<_> = c.keys().filter(|k| !rust.contains_key(*k)).collect();
    let only_rust: Vec<_> = rust.keys().filter(|k| !c.contains_key(*k)).collect();
    assert!(
        only_c.is_empty() && only_rust.is_empty(),
        "C only: {only_c:?}; Rust only: {only_rust:?}"
    );
    for (name, value) in &rust {
        assert_eq!(c[name], *value, "{name}: C {:#x}, Rust {value:#x}", c[name]);
    }
    // SAFETY: no arguments; returns a static string.
    assert_eq!(cstr(unsafe { lu_kho_name() }), KHO_NAME);
}

#[test]
fn c_crc32c_is_rusts() {
    assert_eq!(c_crc32c(b"123456789"), 0xE306_9283);
    let bytes: Vec<u8> = (0..4099u32).map(|i| (i * 31 % 251) as u8).collect();
    for len in [0, 1, 3, 8, 63, 64, 65, 4099] {
        assert_eq!(c_crc32c(&bytes[..len]), crc32c(&bytes[..len]), "len {len}");
    }
}

fn devices() -> Vec<PciEntry> {
    vec![
        PciEntry::new(PciAddress::new(0, 0, 3, 0).unwrap(), 1),
        PciEntry::new(PciAddress::new(0, 0x3b, 0, 0).unwrap(), 2),
        PciEntry::new(PciAddress::new(0x1_0000, 1, 0, 0).unwrap(), 1),
    ]
}

#[test]
fn a_pci_table_encoded_in_c_decodes_in_rust_and_matches_its_encoder() {
    let c = c_pci(42, 5, &devices()).unwrap();
    let table = PciTable::decode(&c).unwrap();
    assert_eq!(table.generation(), Generation::new(42));
    assert_eq!(table.entries().as_slice().unwrap(), &devices()[..]);
    let mut rust = vec![0u8; c.len()];
    let len = PciTable::encode(
        &mut rust,
        Encoding::new(AbiVersion::V1_0, Generation::new(42), Capacity::new(5)),
        devices(),
    )
    .unwrap();
    assert_eq!(rust[..len], c[..], "C and Rust write the same bytes");
}

fn flbs() -> Vec<(&'static str, u64, u64, u32)> {
    vec![
        ("iommu-v1", 0x2000, 1, 0),
        ("pci-v2", 0x1_0000_0000, 4, FlbFlags::DATA_IS_PHYS.bits()),
        ("vfio-v1", 7, 2, 0),
    ]
}

#[test]
fn an_flb_table_encoded_in_c_decodes_in_rust_and_matches_its_encoder() {
    let c = c_flb(9, 4, &flbs()).unwrap();
    let table = FlbTable::decode(&c).unwrap();
    let got: Vec<_> = table
        .entries()
        .iter()
        .map(|e| {
            (
                e.name().to_owned(),
                e.data(),
                e.file_count(),
                e.flags().bits(),
            )
        })
        .collect();
    let want: Vec<_> = flbs()
        .into_iter()
        .map(|(n, d, c, f)| (n.to_owned(), d, c, f))
        .collect();
    assert_eq!(got, want);
    let entries: Vec<_> = flbs()
        .into_iter()
        .map(|(n, d, c, f)| FlbEntry::new(n, d, c, FlbFlags::from_bits(f).unwrap()).unwrap())
        .collect();
    let mut rust = vec![0u8; c.len()];
    let len = FlbTable::encode(
        &mut rust,
        Encoding::new(AbiVersion::V1_0, Generation::new(9), Capacity::new(4)),
        entries,
    )
    .unwrap();
    assert_eq!(rust[..len], c[..]);
}

#[test]
fn the_c_encoders_refuse_what_rust_refuses() {
    let d = devices();
    let unsorted = [d[1], d[0]];
    assert_eq!(c_pci(1, 4, &unsorted), Err(LU_E_ORDER.into()));
    assert_eq!(c_pci(1, 4, &[d[0], d[0]]), Err(LU_E_ORDER.into()));
    assert_eq!(
        c_pci(
            1,
            4,
            &[PciEntry::new(PciAddress::new(0, 1, 0, 0).unwrap(), 0)]
        ),
        Err(LU_E_REFCOUNT.into())
    );
    assert_eq!(c_pci(1, 2, &d), Err(LU_E_CAPACITY.into()));
    assert_eq!(
        c_pci(1, u32::MAX, &d[..0]).map(|_| ()),
        Err(LU_E_CAPACITY.into())
    );
    assert_eq!(
        c_flb(1, 4, &[("b", 1, 1, 0), ("a", 1, 1, 0)]),
        Err(LU_E_ORDER.into())
    );
    assert_eq!(c_flb(1, 4, &[("a b", 1, 1, 0)]), Err(LU_E_NAME.into()));
    assert_eq!(c_flb(1, 4, &[("", 1, 1, 0)]), Err(LU_E_NAME.into()));
    assert_eq!(
        c_flb(1, 4, &[(&"x".repeat(48), 1, 1, 0)]),
        Err(LU_E_NAME.into())
    );
    assert_eq!(c_flb(1, 4, &[("a", 1, 0, 0)]), Err(LU_E_FILE_COUNT.into()));
    assert_eq!(c_flb(1, 4, &[("a", 1, 1, 2)]), Err(LU_E_FLAGS.into()));
    // A buffer one byte short.
    let devs = [LuPciDev {
        domain: 0,
        bdf: 8,
        refcount: 1,
    }];
    let mut out = [0u8; 71];
    // SAFETY: `out` is writable for its length and `devs` readable for one element.
    let rc = unsafe { lu_encode_pci_table(out.as_mut_ptr(), out.len(), 0, 1, devs.as_ptr(), 1) };
    assert_eq!(rc, c_long::from(LU_E_BUFFER));
}

#[test]
fn records_encoded_in_rust_verify_in_c() {
    let mut pci = [0u8; 64 + 8 * 4];
    let len = PciTable::encode(
        &mut pci,
        Encoding::new(AbiVersion::V1_0, Generation::new(77), Capacity::new(4)),
        devices(),
    )
    .unwrap();
    let info = c_verify(&pci[..len], RecordKind::PciTable).unwrap();
    let h = *PciTable::decode(&pci[..len]).unwrap().header();
    assert_eq!(info, LuRecordInfo::of(&h, false));
    assert_eq!(info.generation, 77);
    assert_eq!(c_record_crc(&pci[..len]), h.crc());

    let entries: Vec<_> = flbs()
        .into_iter()
        .map(|(n, d, c, f)| FlbEntry::new(n, d, c, FlbFlags::from_bits(f).unwrap()).unwrap())
        .collect();
    let mut flb = [0u8; 64 + 72 * 3];
    let len = FlbTable::encode(
        &mut flb,
        Encoding::new(AbiVersion::V1_0, Generation::new(3), Capacity::new(3)),
        entries,
    )
    .unwrap();
    assert_eq!(
        c_verify(&flb[..len], RecordKind::FlbTable)
            .unwrap()
            .entry_count,
        3
    );

    let table = PciTable::decode(&pci[..64 + 8 * 4]).unwrap();
    let mut root = [0u8; 64 + 24 * 2];
    let len = Root::encode(
        &mut root,
        Encoding::new(AbiVersion::V1_0, Generation::new(77), Capacity::new(2)),
        [DirEntry::for_record(PhysAddr::new(0x10_0000), &table)],
    )
    .unwrap();
    assert_eq!(
        c_verify(&root[..len], RecordKind::Root)
            .unwrap()
            .entry_count,
        1
    );
    assert_eq!(
        c_verify(&root[..len], RecordKind::PciTable),
        Err(LU_E_MAGIC)
    );
}

/// A PCI record of 2 entries in 4 slots, damaged by `damage`, re-sealed if `reseal`.
fn damaged(damage: impl Fn(&mut Vec<u8>), reseal: bool) -> Vec<u8> {
    let mut rec = vec![0u8; 64 + 8 * 4];
    let len = PciTable::encode(
        &mut rec,
        Encoding::new(AbiVersion::V1_0, Generation::new(5), Capacity::new(4)),
        devices()[..2].to_vec(),
    )
    .unwrap();
    rec.truncate(len);
    damage(&mut rec);
    if reseal {
        let crc = c_record_crc(&rec);
        rec[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
    }
    rec
}

#[test]
fn c_and_rust_refuse_the_same_damaged_records() {
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let set16 =
        |at: usize, v: u16| move |r: &mut Vec<u8>| r[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let set32 =
        |at: usize, v: u32| move |r: &mut Vec<u8>| r[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let cases: Vec<(&str, Damage, bool, c_int)> = vec![
        (
            "magic",
            Box::new(set32(0, RecordKind::FlbTable.magic())),
            true,
            LU_E_MAGIC,
        ),
        ("major", Box::new(set16(4, 2)), true, LU_E_MAJOR),
        ("header_len", Box::new(set16(8, 72)), true, LU_E_HEADER_LEN),
        ("entry_size", Box::new(set16(10, 16)), true, LU_E_ENTRY_SIZE),
        ("count", Box::new(set32(12, 5)), true, LU_E_COUNT),
        ("record_len", Box::new(set32(20, 97)), true, LU_E_RECORD_LEN),
        (
            "truncated",
            Box::new(|r: &mut Vec<u8>| r.truncate(90)),
            false,
            LU_E_SHORT,
        ),
        (
            "longer",
            Box::new(|r: &mut Vec<u8>| r.push(0)),
            false,
            LU_E_LENGTH,
        ),
        (
            "bit flip",
            Box::new(|r: &mut Vec<u8>| r[70] ^= 4),
            false,
            LU_E_CRC,
        ),
        ("incompat", Box::new(set32(40, 1)), true, LU_E_FEATURES),
        (
            "reserved",
            Box::new(|r: &mut Vec<u8>| r[50] = 1),
            true,
            LU_E_RESERVED,
        ),
        (
            "unused slot",
            Box::new(|r: &mut Vec<u8>| r[64 + 8 * 3] = 1),
            true,
            LU_E_RESERVED,
        ),
        (
            "refcount 0",
            Box::new(set16(64 + 6, 0)),
            true,
            LU_E_REFCOUNT,
        ),
        ("order", Box::new(set32(64, 0xFFFF)), true, LU_E_ORDER),
    ];
    for (what, damage, reseal, code) in cases {
        let rec = damaged(damage, reseal);
        assert_eq!(
            c_verify(&rec, RecordKind::PciTable).map(|_| ()),
            Err(code),
            "C: {what}"
        );
        let rust = PciTable::decode(&rec).map(|_| ()).unwrap_err();
        assert_eq!(
            c_status_of(&rust),
            Some(code),
            "Rust said {rust:?} for {what}"
        );
    }
    // Minor 1 with the PCI entries of minor 0: Rust's v1.0 reader takes it for a newer minor
    // (reserved bytes in use) and reads it; the v1.1 readers, C and Rust, know minor 1's entries
    // are 24 bytes and refuse it.
    let newer = damaged(
        |r| {
            r[6] = 1;
            r[50] = 7;
        },
        true,
    );
    assert!(PciTable::decode_as(&newer, AbiVersion::V1_0).is_ok());
    assert_eq!(
        c_verify(&newer, RecordKind::PciTable).map(|_| ()),
        Err(LU_E_ENTRY_SIZE)
    );
    assert!(matches!(
        PciTable::decode(&newer),
        Err(DecodeError::EntrySize { .. })
    ));
    // Sealing in Rust after an edit is accepted by C too.
    let mut edited = damaged(|_| {}, false);
    edited[64 + 6] = 9;
    seal(RecordKind::PciTable, &mut edited).unwrap();
    assert_eq!(
        Record::<PciEntry>::decode(&edited)
            .unwrap()
            .entries()
            .get(0)
            .unwrap()
            .refcount(),
        9
    );
    assert!(c_verify(&edited, RecordKind::PciTable).is_ok());
}

proptest! {
    #[test]
    fn c_and_rust_encoders_write_identical_pci_tables(
        set in proptest::collection::btree_map((any::<u32>(), any::<u16>()), 1u16.., 0..50),
        spare in 0u32..4,
        generation: u64,
    ) {
        let entries: Vec<_> = set
            .into_iter()
            .map(|((domain, bdf), r)| PciEntry::new(PciAddress { domain, bdf }, r))
            .collect();
        let capacity = u32::try_from(entries.len()).unwrap() + spare;
        let c = c_pci(generation, capacity, &entries).unwrap();
        let mut rust = vec![0u8; c.len()];
        PciTable::encode(&mut rust, Encoding::new(AbiVersion::V1_0, Generation::new(generation), Capacity::new(capacity)), entries.iter().copied()).unwrap();
        prop_assert_eq!(&rust, &c);
        prop_assert!(c_verify(&c, RecordKind::PciTable).is_ok());
    }
}

// ---- Minor 1 (ABI 1.1) ------------------------------------------------------------------------

fn identity(vendor: u16, device: u16, class: u32) -> PciIdentity {
    PciIdentity::new(vendor, device, class).unwrap()
}

/// Devices with and without identity, a bridge preserved for the device below it.
fn devices_v1_1() -> Vec<PciDevice> {
    vec![
        PciDevice::new(PciAddress::new(0, 0, 3, 0).unwrap(), 1)
            .with_identity(identity(0x8086, 0x1234, 0x02_00_00))
            .with_flags(PciFlags::BUS_MASTER),
        PciDevice::new(PciAddress::new(0, 0x3a, 0, 0).unwrap(), 2)
            .with_identity(identity(0x10de, 0x1ad8, 0x06_04_00))
            .with_flags(PciFlags::BRIDGE | PciFlags::DESCENDANT),
        PciDevice::new(PciAddress::new(0, 0x3b, 0, 0).unwrap(), 1)
            .with_identity(identity(0x10de, 0x2330, 0x03_02_00))
            .with_flags(PciFlags::BUS_MASTER),
        PciDevice::new(PciAddress::new(0x1_0000, 1, 0, 0).unwrap(), 1)
            .with_flags(PciFlags::empty()),
    ]
}

fn rust_pci_v1_1(generation: u64, capacity: u32, devices: &[PciDevice]) -> Vec<u8> {
    let mut out = vec![0u8; 64 + usize::from(PciEntry::SIZE_1_1) * capacity as usize];
    let len = PciTable::encode(
        &mut out,
        Encoding::new(
            AbiVersion::V1_1,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        devices.iter().copied(),
    )
    .unwrap();
    out.truncate(len);
    out
}

#[test]
fn a_v1_1_pci_table_encoded_in_c_is_the_rust_encoding_and_decodes_to_its_devices() {
    let c = c_pci_v1_1(42, 6, &devices_v1_1()).unwrap();
    assert_eq!(c, rust_pci_v1_1(42, 6, &devices_v1_1()), "C and Rust bytes");
    let table = PciTable::decode(&c).unwrap();
    assert_eq!(table.header().minor(), 1);
    assert_eq!(table.header().entry_size(), PciEntry::SIZE_1_1);
    assert_eq!(
        table.header().features().ro_compat,
        RoCompatFeatures::HIERARCHY,
        "a DESCENDANT entry sets HIERARCHY"
    );
    assert_eq!(table.devices().collect::<Vec<_>>(), devices_v1_1());
    // Without a DESCENDANT entry, no HIERARCHY: the record a v1.0 kernel may rewrite.
    let plain: Vec<_> = devices_v1_1()
        .into_iter()
        .filter(|d| !d.flags.unwrap_or_default().contains(PciFlags::DESCENDANT))
        .collect();
    let c = c_pci_v1_1(1, 3, &plain).unwrap();
    assert_eq!(c, rust_pci_v1_1(1, 3, &plain));
    let table = PciTable::decode(&c).unwrap();
    assert!(table.header().features().ro_compat.is_empty());
    assert_eq!(
        PciTable::decode_as(&c, AbiVersion::V1_0).unwrap().access(),
        Access::ReadWrite
    );
}

#[test]
fn a_v1_1_flb_table_encoded_in_c_is_the_rust_encoding() {
    let c = c_flb_as(AbiVersion::V1_1, 9, 4, &flbs()).unwrap();
    let entries: Vec<_> = flbs()
        .into_iter()
        .map(|(n, d, c, f)| FlbEntry::new(n, d, c, FlbFlags::from_bits(f).unwrap()).unwrap())
        .collect();
    let mut rust = vec![0u8; c.len()];
    let len = FlbTable::encode(
        &mut rust,
        Encoding::new(AbiVersion::V1_1, Generation::new(9), Capacity::new(4)),
        entries,
    )
    .unwrap();
    assert_eq!(rust[..len], c[..]);
    assert_eq!(FlbTable::decode(&c).unwrap().header().minor(), 1);
    assert_eq!(c_verify(&c, RecordKind::FlbTable).unwrap().minor, 1);
}

#[test]
fn the_v2_golden_records_verify_in_c() {
    let golden = |name: &str| {
        std::fs::read(format!(
            "{}/../abi/tests/golden/v2/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    for (file, kind) in [
        ("root.bin", RecordKind::Root),
        ("flb.bin", RecordKind::FlbTable),
        ("pci.bin", RecordKind::PciTable),
    ] {
        let bytes = golden(file);
        let info = c_verify(&bytes, kind).unwrap_or_else(|e| panic!("{file}: C status {e}"));
        let h = RecordHeader::ref_from_prefix(&bytes).unwrap().0;
        assert_eq!(
            (
                info.minor,
                info.entry_count,
                info.generation,
                info.crc,
                info.read_only
            ),
            (1, h.entry_count(), h.generation().get(), h.crc(), 0),
            "{file}"
        );
    }
}

#[test]
fn the_c_v1_1_encoder_refuses_what_rust_refuses() {
    let dev = |vendor_id, device_id, class_code, flags| LuPciDevV11 {
        domain: 0,
        bdf: 8,
        refcount: 1,
        vendor_id,
        device_id,
        class_code,
        flags,
    };
    let bridge = PciFlags::BRIDGE.bits();
    let descendant = PciFlags::DESCENDANT.bits();
    for (what, d, code) in [
        ("vendor 0xffff", dev(0xFFFF, 1, 0, 0), LU_E_IDENTITY),
        ("device id without vendor", dev(0, 1, 0, 0), LU_E_IDENTITY),
        ("class without vendor", dev(0, 0, 0x0300, 0), LU_E_IDENTITY),
        ("class of 25 bits", dev(1, 1, 0x0100_0000, 0), LU_E_IDENTITY),
        ("unknown flag", dev(1, 1, 0, 8), LU_E_FLAGS),
        (
            "descendant, no bridge",
            dev(1, 1, 0, descendant),
            LU_E_DESCENDANT,
        ),
    ] {
        assert_eq!(
            c_pci_v1_1_raw(1, 2, &[d]),
            Err(code.into()),
            "C encoded {what}"
        );
    }
    // What Rust says of the same: the identity cannot be built, or the encoder refuses.
    assert!(PciIdentity::new(0xFFFF, 1, 0).is_err());
    assert!(PciIdentity::new(1, 1, 0x0100_0000).is_err());
    let at = PciAddress::new(0, 0, 1, 0).unwrap();
    for flags in [PciFlags::from_bits_retain(8), PciFlags::DESCENDANT] {
        let mut out = [0u8; 64 + 48];
        let device = PciDevice::new(at, 1).with_flags(flags);
        assert!(
            PciTable::encode(
                &mut out,
                Encoding::new(AbiVersion::V1_1, Generation::new(1), Capacity::new(2)),
                [device]
            )
            .is_err()
        );
    }
    // Both accept a bridge preserved for what is below it.
    let ok = [dev(1, 1, 0x06_04_00, bridge | descendant)];
    assert!(c_pci_v1_1_raw(1, 1, &ok).is_ok());
}

/// A v1.1 PCI record (`devices_v1_1()[2..]`: an identified device, one without identity) in 3
/// slots, damaged by `damage`, re-sealed.
fn damaged_v1_1(damage: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut rec = rust_pci_v1_1(5, 3, &devices_v1_1()[2..]);
    damage(&mut rec);
    let crc = c_record_crc(&rec);
    rec[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
    rec
}

#[test]
fn c_and_rust_refuse_the_same_damaged_v1_1_records() {
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let set16 =
        |at: usize, v: u16| move |r: &mut Vec<u8>| r[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let set32 =
        |at: usize, v: u32| move |r: &mut Vec<u8>| r[at..at + 4].copy_from_slice(&v.to_le_bytes());
    // Entry 0 (identified) at 64, entry 1 (no identity) at 88.
    let (e0, e1) = (64, 88);
    let cases: Vec<(&str, Damage, c_int)> = vec![
        (
            "vendor 0xffff",
            Box::new(set16(e0 + 8, 0xFFFF)),
            LU_E_IDENTITY,
        ),
        (
            "device id without vendor",
            Box::new(set16(e1 + 10, 1)),
            LU_E_IDENTITY,
        ),
        (
            "class without vendor",
            Box::new(set32(e1 + 12, 0x0300)),
            LU_E_IDENTITY,
        ),
        (
            "class of 25 bits",
            Box::new(set32(e0 + 12, 0x0103_0200)),
            LU_E_IDENTITY,
        ),
        ("unknown flag", Box::new(set32(e0 + 16, 8)), LU_E_FLAGS),
        ("entry reserved", Box::new(set32(e1 + 20, 1)), LU_E_RESERVED),
        (
            "descendant, no bridge",
            Box::new(move |r: &mut Vec<u8>| {
                set32(e1 + 16, PciFlags::DESCENDANT.bits())(r);
                set32(36, RoCompatFeatures::HIERARCHY.bits())(r);
            }),
            LU_E_DESCENDANT,
        ),
        (
            "descendant without HIERARCHY",
            Box::new(set32(
                e1 + 16,
                (PciFlags::DESCENDANT | PciFlags::BRIDGE).bits(),
            )),
            LU_E_RO_COMPAT,
        ),
        (
            "HIERARCHY without descendant",
            Box::new(set32(36, RoCompatFeatures::HIERARCHY.bits())),
            LU_E_RO_COMPAT,
        ),
        (
            "next_block without CHAINED",
            Box::new(|r: &mut Vec<u8>| r[48] = 1),
            LU_E_RESERVED,
        ),
        (
            "header reserved",
            Box::new(|r: &mut Vec<u8>| r[60] = 1),
            LU_E_RESERVED,
        ),
        ("unknown incompat", Box::new(set32(40, 2)), LU_E_FEATURES),
        (
            "a block of a chain, alone",
            Box::new(|r: &mut Vec<u8>| {
                r[40] = 1;
                r[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
            }),
            LU_E_CHAINED,
        ),
        (
            "unused slot",
            Box::new(|r: &mut Vec<u8>| r[112 + 23] = 1),
            LU_E_RESERVED,
        ),
    ];
    for (what, damage, code) in cases {
        let rec = damaged_v1_1(damage);
        let rust = PciTable::decode(&rec).map(|_| ()).unwrap_err();
        assert_eq!(
            c_status_of(&rust),
            Some(code),
            "Rust said {rust:?} for {what}"
        );
        assert_eq!(
            c_verify(&rec, RecordKind::PciTable).map(|_| ()),
            Err(code),
            "C: {what}"
        );
    }
}

#[test]
fn c_and_rust_read_the_same_v1_1_records_with_unknown_features() {
    let set32 =
        |at: usize, v: u32| move |r: &mut Vec<u8>| r[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let e0 = 64;
    // An unknown ro_compat bit: both read, neither may rewrite.
    let ro = damaged_v1_1(set32(36, 2));
    assert_eq!(
        PciTable::decode(&ro).unwrap().access(),
        Access::ReadOnly { unknown: 2 }
    );
    assert_eq!(c_verify(&ro, RecordKind::PciTable).unwrap().read_only, 1);

    // A newer minor may use what is reserved at minor 1: both read it.
    let newer = damaged_v1_1(|r| {
        r[6] = 2;
        r[50] = 7;
        set32(e0 + 16, PciFlags::BUS_MASTER.bits() | 8)(r);
        set32(e0 + 20, 9)(r);
        set32(e0 + 12, 0x0103_0200)(r);
    });
    let table = PciTable::decode(&newer).unwrap();
    assert_eq!(table.devices().count(), 2);
    let info = c_verify(&newer, RecordKind::PciTable).unwrap();
    assert_eq!((info.minor, info.entry_count), (2, 2));
}

proptest! {
    #[test]
    fn c_and_rust_encoders_write_identical_v1_1_pci_tables(
        set in proptest::collection::btree_map(
            (any::<u32>(), any::<u16>()),
            (1u16.., proptest::option::of((1u16..0xFFFF, any::<u16>(), 0u32..0x0100_0000)), 0u32..8),
            0..40,
        ),
        spare in 0u32..3,
        generation: u64,
    ) {
        let devices: Vec<_> = set
            .into_iter()
            .map(|((domain, bdf), (refcount, id, flags))| {
                let mut flags = PciFlags::from_bits_retain(flags);
                if flags.contains(PciFlags::DESCENDANT) {
                    flags |= PciFlags::BRIDGE;
                }
                let mut d = PciDevice::new(PciAddress { domain, bdf }, refcount).with_flags(flags);
                if let Some((v, dev, class)) = id {
                    d = d.with_identity(identity(v, dev, class));
                }
                d
            })
            .collect();
        let capacity = u32::try_from(devices.len()).unwrap() + spare;
        let c = c_pci_v1_1(generation, capacity, &devices).unwrap();
        prop_assert_eq!(&c, &rust_pci_v1_1(generation, capacity, &devices));
        prop_assert!(c_verify(&c, RecordKind::PciTable).is_ok());
        prop_assert_eq!(PciTable::decode(&c).unwrap().devices().collect::<Vec<_>>(), devices);
    }
}
