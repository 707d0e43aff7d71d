//! Fixed inputs of the golden vectors, and an independent writer of raw records.
//!
//! The raw writer follows SPEC.md byte by byte without using the crate (CRC included), so
//! tests can build any record, valid or not, and check the crate against the specification
//! rather than against itself.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::fs;
use std::path::{Path, PathBuf};

use liveupdate_abi::PhysAddr;
use liveupdate_abi::{
    AbiVersion, DirEntry, FlbEntry, FlbFlags, FlbTable, PciAddress, PciEntry, PciTable, Record,
    RecordKind, Root,
};

/// Generation (live-update sequence number) of every golden record.
pub const GENERATION: u64 = 42;
/// Entry slots of the golden PCI table: three used, two spare.
pub const PCI_CAPACITY: u32 = 5;
/// Entry slots of the golden FLB table: two used, one spare.
pub const FLB_CAPACITY: u32 = 3;
/// Entry slots of the golden root: two used, one spare.
pub const ROOT_CAPACITY: u32 = 3;
/// Where the golden root says the FLB table lives.
pub const FLB_PHYS: u64 = 0x1_0000_1000;
/// Where the golden root says the PCI table lives.
pub const PCI_PHYS: u64 = 0x1_0000_2000;

/// Header size of v1.0.
pub const HEADER: usize = 64;
/// Entry sizes of v1.0.
pub const DIR_SIZE: usize = 24;
pub const FLB_SIZE: usize = 72;
pub const PCI_SIZE: usize = 8;

/// The devices of the golden PCI table, in table order: a root port holding a reference for
/// the device below it, that device, and a device behind a VMD bridge (domain >= 0x10000).
pub fn pci_inputs() -> [(PciAddress, u16); 3] {
    [
        (PciAddress::new(0, 0x00, 0x1c, 0).unwrap(), 2),
        (PciAddress::new(0, 0x3b, 0x00, 0).unwrap(), 1),
        (PciAddress::new(0x1_0000, 0x01, 0x00, 0).unwrap(), 1),
    ]
}

/// The FLBs of the golden FLB table, in table order: (name, data, file count, flags).
pub fn flb_inputs() -> [(&'static str, u64, u64, FlbFlags); 2] {
    [
        ("iommu-domain-v1", 0x7, 1, FlbFlags::empty()),
        ("pci-v1", 0x1_2345_6000, 2, FlbFlags::DATA_IS_PHYS),
    ]
}

pub fn pci_entries() -> Vec<PciEntry> {
    pci_inputs()
        .into_iter()
        .map(|(addr, refcount)| PciEntry::new(addr, refcount))
        .collect()
}

pub fn flb_entries() -> Vec<FlbEntry> {
    flb_inputs()
        .into_iter()
        .map(|(name, data, files, flags)| FlbEntry::new(name, data, files, flags).unwrap())
        .collect()
}

/// Encodes `entries` into a fresh buffer of exactly the record's size.
pub fn encode<E: liveupdate_abi::Entry>(generation: u64, capacity: u32, entries: &[E]) -> Vec<u8> {
    let mut out =
        vec![0xA5; Record::<E>::len_for(AbiVersion::V1_0, Capacity::new(capacity)).unwrap()];
    let len = Record::<E>::encode(
        &mut out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        entries.iter().copied(),
    )
    .unwrap();
    assert_eq!(len, out.len());
    out
}

pub fn pci_golden() -> Vec<u8> {
    encode(GENERATION, PCI_CAPACITY, &pci_entries())
}

pub fn flb_golden() -> Vec<u8> {
    encode(GENERATION, FLB_CAPACITY, &flb_entries())
}

/// The directory of the golden root: the golden FLB and PCI tables at fixed addresses.
pub fn root_entries() -> Vec<DirEntry> {
    let flb = flb_golden();
    let pci = pci_golden();
    vec![
        DirEntry::for_record(PhysAddr::new(FLB_PHYS), &FlbTable::decode(&flb).unwrap()),
        DirEntry::for_record(PhysAddr::new(PCI_PHYS), &PciTable::decode(&pci).unwrap()),
    ]
}

pub fn root_golden() -> Vec<u8> {
    encode(GENERATION, ROOT_CAPACITY, &root_entries())
}

/// The encoder output for `kind`'s golden vector.
pub fn golden(kind: RecordKind) -> Vec<u8> {
    match kind {
        RecordKind::Root => root_golden(),
        RecordKind::FlbTable => flb_golden(),
        RecordKind::PciTable => pci_golden(),
        _ => unreachable!("no golden vector for {kind}"),
    }
}

/// File name of `kind`'s golden vector under `tests/golden/v1/`.
pub fn golden_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Root => "root.bin",
        RecordKind::FlbTable => "flb.bin",
        RecordKind::PciTable => "pci.bin",
        _ => unreachable!("no golden vector for {kind}"),
    }
}

pub fn golden_path(kind: RecordKind) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/v1")
        .join(golden_name(kind))
}

/// The committed golden vector at `path`; `suite` (`v1`, `v2`) names the test that creates it.
pub fn read_golden(path: &Path, suite: &str) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with `LIVEUPDATE_GOLDEN=new cargo test -p liveupdate-abi --test {suite} golden::encoder`",
            path.display()
        )
    })
}

/// Requires the committed golden vector at `path` to be `encoded`, the encoder's output. With
/// `LIVEUPDATE_GOLDEN=new` a missing file is written first (an existing one only compared);
/// with `overwrite` every file is rewritten, which is only ever right before a layout's release.
pub fn check_golden(path: &Path, encoded: &[u8], suite: &str) {
    let write = match std::env::var("LIVEUPDATE_GOLDEN").ok().as_deref() {
        None | Some("") => false,
        Some("new") => !path.exists(),
        Some("overwrite") => true,
        Some(other) => panic!("LIVEUPDATE_GOLDEN={other}: expected `new` or `overwrite`"),
    };
    if write {
        fs::write(path, encoded).unwrap();
        eprintln!("wrote {} ({} bytes)", path.display(), encoded.len());
    }
    assert!(
        read_golden(path, suite) == encoded,
        "the encoder no longer produces {}: a released layout changed",
        path.display()
    );
}

/// Every kind with a golden vector.
pub const KINDS: [RecordKind; 3] = [RecordKind::Root, RecordKind::FlbTable, RecordKind::PciTable];

/// Decodes `bytes` as a record of `kind`, discarding the view, as the v1.0 reader this suite
/// specifies ([`AbiVersion::V1_0`]). The newest reader must answer the same for a record of
/// minor 0, which it reads by the rules of minor 0.
pub fn decode(kind: RecordKind, bytes: &[u8]) -> Result<(), liveupdate_abi::DecodeError> {
    let v1 = decode_as(kind, bytes, AbiVersion::V1_0);
    if bytes.get(6..8).is_none_or(|minor| minor == [0, 0]) {
        assert_eq!(
            decode_as(kind, bytes, AbiVersion::NEWEST),
            v1,
            "the newest reader disagrees with v1.0 on a minor 0 record"
        );
    }
    v1
}

/// Decodes `bytes` as a record of `kind` as a reader of `reader` would.
pub fn decode_as(
    kind: RecordKind,
    bytes: &[u8],
    reader: AbiVersion,
) -> Result<(), liveupdate_abi::DecodeError> {
    match kind {
        RecordKind::Root => Root::decode_as(bytes, reader).map(drop),
        RecordKind::FlbTable => FlbTable::decode_as(bytes, reader).map(drop),
        RecordKind::PciTable => PciTable::decode_as(bytes, reader).map(drop),
        _ => unreachable!("unknown kind {kind}"),
    }
}

/// Entry size of `kind` in v1.0.
pub fn entry_size(kind: RecordKind) -> usize {
    match kind {
        RecordKind::Root => DIR_SIZE,
        RecordKind::FlbTable => FLB_SIZE,
        RecordKind::PciTable => PCI_SIZE,
        _ => unreachable!("unknown kind {kind}"),
    }
}

pub fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

pub fn get_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().unwrap())
}

/// Re-seals a hand-edited record through the crate, asserting the CRC it stores.
pub fn reseal(kind: RecordKind, bytes: &mut [u8]) {
    let crc = liveupdate_abi::seal(kind, bytes).unwrap();
    assert_eq!(crc, spec_crc(bytes));
    assert_eq!(get_u32(bytes, 44), crc);
}

/// CRC-32C of a record as SPEC.md defines it, computed without the crate: Castagnoli
/// parameters, over all of `record` with bytes 44..48 read as zero.
pub fn spec_crc(record: &[u8]) -> u32 {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    let mut digest = crc.digest();
    digest.update(&record[..44]);
    digest.update(&[0; 4]);
    digest.update(&record[48..]);
    digest.finalize()
}

/// The raw bytes of a PCI entry (v1.0 layout).
pub fn raw_pci(domain: u32, bdf: u16, refcount: u16) -> Vec<u8> {
    let mut e = vec![0; PCI_SIZE];
    put_u32(&mut e, 0, domain);
    put_u16(&mut e, 4, bdf);
    put_u16(&mut e, 6, refcount);
    e
}

/// The raw bytes of an FLB entry (v1.0 layout); `name` is copied into the 48-byte field.
pub fn raw_flb(name: &[u8], data: u64, file_count: u64, flags: u32, reserved: u32) -> Vec<u8> {
    let mut e = vec![0; FLB_SIZE];
    e[..name.len()].copy_from_slice(name);
    put_u64(&mut e, 48, data);
    put_u64(&mut e, 56, file_count);
    put_u32(&mut e, 64, flags);
    put_u32(&mut e, 68, reserved);
    e
}

/// The raw bytes of a root directory entry (v1.0 layout).
pub fn raw_dir(magic: u32, crc: u32, phys: u64, length: u32, reserved: u32) -> Vec<u8> {
    let mut e = vec![0; DIR_SIZE];
    put_u32(&mut e, 0, magic);
    put_u32(&mut e, 4, crc);
    put_u64(&mut e, 8, phys);
    put_u32(&mut e, 16, length);
    put_u32(&mut e, 20, reserved);
    e
}

/// A record written field by field from SPEC.md, with every field under the test's control.
#[derive(Clone, Debug)]
pub struct RawRecord {
    pub magic: u32,
    pub major: u16,
    pub minor: u16,
    pub header_len: u16,
    pub entry_size: u16,
    /// `None`: the number of `entries`.
    pub entry_count: Option<u32>,
    pub entry_capacity: u32,
    /// `None`: `header_len + entry_capacity * entry_size`.
    pub record_len: Option<u32>,
    pub generation: u64,
    pub compat: u32,
    pub ro_compat: u32,
    pub incompat: u32,
    pub reserved: [u8; 16],
    /// Bytes from offset 64 to `header_len` (a newer minor's header fields).
    pub header_ext: Vec<u8>,
    /// The used entries, each `entry_size` bytes (or shorter, zero-extended).
    pub entries: Vec<Vec<u8>>,
    /// Bytes of the unused slots; `None`: zero.
    pub unused: Option<Vec<u8>>,
}

impl RawRecord {
    /// A v1.0 record of `kind` holding `entries`, with room for `capacity`.
    pub fn new(kind: RecordKind, capacity: u32, entries: Vec<Vec<u8>>) -> RawRecord {
        RawRecord {
            magic: kind.magic(),
            major: 1,
            minor: 0,
            header_len: 64,
            entry_size: u16::try_from(entry_size(kind)).unwrap(),
            entry_count: None,
            entry_capacity: capacity,
            record_len: None,
            generation: GENERATION,
            compat: 0,
            ro_compat: 0,
            incompat: 0,
            reserved: [0; 16],
            header_ext: Vec::new(),
            entries,
            unused: None,
        }
    }

    /// The record's bytes, CRC computed as SPEC.md says.
    pub fn bytes(&self) -> Vec<u8> {
        let header_len = usize::from(self.header_len);
        let stride = usize::from(self.entry_size);
        let capacity = usize::try_from(self.entry_capacity).unwrap();
        let len = header_len + capacity * stride;
        let mut out = vec![0u8; len.max(HEADER)];
        put_u32(&mut out, 0, self.magic);
        put_u16(&mut out, 4, self.major);
        put_u16(&mut out, 6, self.minor);
        put_u16(&mut out, 8, self.header_len);
        put_u16(&mut out, 10, self.entry_size);
        let count = self
            .entry_count
            .unwrap_or(u32::try_from(self.entries.len()).unwrap());
        put_u32(&mut out, 12, count);
        put_u32(&mut out, 16, self.entry_capacity);
        let record_len = self.record_len.unwrap_or(u32::try_from(len).unwrap());
        put_u32(&mut out, 20, record_len);
        put_u64(&mut out, 24, self.generation);
        put_u32(&mut out, 32, self.compat);
        put_u32(&mut out, 36, self.ro_compat);
        put_u32(&mut out, 40, self.incompat);
        out[48..64].copy_from_slice(&self.reserved);
        out[HEADER..HEADER + self.header_ext.len()].copy_from_slice(&self.header_ext);
        for (i, e) in self.entries.iter().enumerate() {
            let at = header_len + i * stride;
            out[at..at + e.len()].copy_from_slice(e);
        }
        if let Some(unused) = &self.unused {
            let at = header_len + self.entries.len() * stride;
            out[at..at + unused.len()].copy_from_slice(unused);
        }
        let crc = spec_crc(&out);
        put_u32(&mut out, 44, crc);
        out
    }
}
