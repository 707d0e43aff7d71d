//! What `luo verify` and `luo dump` do with an image file: load it, find the handover under
//! its KHO name, validate the whole graph, and describe it as a tree or as JSON.

use std::fmt::Write as _;

use liveupdate_abi::root::KHO_NAME;
use liveupdate_abi::{Entry, PhysAddr, Record, RecordHeader, Table};
use liveupdate_core::graph::{GraphError, Handover};
use serde::Serialize;

use crate::image::{self, ImageError};
use crate::kho::KhoMemory;

/// Why an image is not a valid handover. `Display` is the one line `luo verify` prints.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The image framing is invalid.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The image holds no root record under the KHO name.
    #[error("no handover: the image registers nothing under the KHO name {KHO_NAME:?}")]
    NoHandover,
    /// A record of the handover is invalid.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The image checksum failed, and parsing it regardless shows which record is damaged.
    #[error("{record} (and {image})")]
    Damaged {
        /// The checksum failure.
        image: ImageError,
        /// The first invalid record.
        record: GraphError,
    },
}

/// The `format` of `luo dump --json`: its name and version. The version changes whenever a
/// field is removed or changes meaning (host-tests/README.md documents the shape).
pub const DUMP_FORMAT: &str = "liveupdate-dump/1";

/// A record's header, every field, as `luo dump` shows it (for a table, one block).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RecordDump {
    /// Record kind.
    pub kind: String,
    /// The magic, as a `u32`.
    pub magic: u32,
    /// Physical address.
    pub phys: u64,
    /// Length in bytes (`record_len`).
    pub len: u32,
    /// Version, `major.minor`.
    pub version: String,
    /// `header_len`.
    pub header_len: u16,
    /// `entry_size`.
    pub entry_size: u16,
    /// Live-update generation.
    pub generation: u64,
    /// Entries in use (`entry_count`).
    pub entries: u32,
    /// Entry slots (`entry_capacity`).
    pub capacity: u32,
    /// `compat` feature bits.
    pub compat: u32,
    /// `ro_compat` feature bits.
    pub ro_compat: u32,
    /// `incompat` feature bits.
    pub incompat: u32,
    /// Stored CRC-32C.
    pub crc: u32,
    /// `next_block` (header offset 48): the next block of a chained table, 0 for none.
    pub next_block: u64,
    /// `block_index` (header offset 56): the block's position in its chain.
    pub block_index: u32,
    /// Whether this reader may rewrite it (no unknown read-only-compatible feature); for a
    /// table, whether it may rewrite the whole table (every block).
    pub rewritable: bool,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

impl RecordDump {
    fn new<E: Entry>(phys: u64, record: &Record<'_, E>) -> RecordDump {
        let h: &RecordHeader = record.header();
        let bytes = record.as_bytes();
        RecordDump {
            kind: E::KIND.to_string(),
            magic: h.magic(),
            phys,
            len: h.record_len(),
            version: format!("{}.{}", h.major(), h.minor()),
            header_len: h.header_len(),
            entry_size: h.entry_size(),
            generation: h.generation().get(),
            entries: h.entry_count(),
            capacity: h.entry_capacity(),
            compat: u32_at(bytes, 32),
            ro_compat: u32_at(bytes, 36),
            incompat: u32_at(bytes, 40),
            crc: h.crc(),
            next_block: u64::from(u32_at(bytes, 48)) | u64::from(u32_at(bytes, 52)) << 32,
            block_index: u32_at(bytes, 56),
            rewritable: record.access() == liveupdate_abi::Access::ReadWrite,
        }
    }
}

/// A table: its access as a whole and every block (one for a table that is not chained).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TableDump {
    /// Record kind.
    pub kind: String,
    /// Address of block 0 (the directory's `phys_addr`).
    pub phys: u64,
    /// Entries in use across every block.
    pub entries: u64,
    /// Whether this reader may rewrite the table: false when any block has an unknown
    /// `ro_compat` bit (abi/SPEC.md 11.1.7).
    pub rewritable: bool,
    /// The blocks, in chain order, each with its header.
    pub blocks: Vec<RecordDump>,
}

impl TableDump {
    fn new<E: Entry>(table: &Table<'_, E>) -> TableDump {
        TableDump {
            kind: E::KIND.to_string(),
            phys: table.blocks().next().map_or(0, |b| b.phys.raw()),
            entries: table.len(),
            rewritable: table.access() == liveupdate_abi::Access::ReadWrite,
            blocks: table
                .blocks()
                .map(|b| RecordDump::new(b.phys.raw(), &b.record))
                .collect(),
        }
    }
}

/// One directory entry of the root.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DirDump {
    /// Kind name, or the magic for a kind this reader does not know.
    pub kind: String,
    /// `kind`, as a `u32`.
    pub magic: u32,
    /// The referenced record's stored CRC.
    pub crc: u32,
    /// `phys_addr`.
    pub phys: u64,
    /// `length`.
    pub len: u32,
}

/// One PCI device of an image, every field of its entry (`None`: absent at its minor, or
/// identity unknown).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PciDump {
    /// `DDDD:BB:DD.F`.
    pub address: String,
    /// Domain (segment).
    pub domain: u32,
    /// Bus.
    pub bus: u8,
    /// Device.
    pub device: u8,
    /// Function.
    pub function: u8,
    /// Times preserved.
    pub refcount: u16,
    /// Vendor id (minor 1, identity known).
    pub vendor_id: Option<u16>,
    /// Device id (minor 1, identity known).
    pub device_id: Option<u16>,
    /// 24-bit class code (minor 1, identity known).
    pub class_code: Option<u32>,
    /// Flag bits (minor 1).
    pub flags: Option<u32>,
}

impl From<liveupdate_abi::PciDevice> for PciDump {
    fn from(d: liveupdate_abi::PciDevice) -> PciDump {
        let a = d.address;
        PciDump {
            address: a.to_string(),
            domain: a.domain,
            bus: a.bus(),
            device: a.device(),
            function: a.function(),
            refcount: d.refcount,
            vendor_id: d.identity.map(liveupdate_abi::PciIdentity::vendor_id),
            device_id: d.identity.map(liveupdate_abi::PciIdentity::device_id),
            class_code: d.identity.map(liveupdate_abi::PciIdentity::class_code),
            flags: d.flags.map(|f| f.bits()),
        }
    }
}

/// One FLB entry.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FlbDump {
    /// Compatible name.
    pub name: String,
    /// Data handle.
    pub data: u64,
    /// Dependent files.
    pub file_count: u64,
    /// Flag bits.
    pub flags: u32,
}

/// One PCI device.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DeviceDump {
    /// `DDDD:BB:DD.F`.
    pub address: String,
    /// Domain (segment).
    pub domain: u32,
    /// Bus.
    pub bus: u8,
    /// Device.
    pub device: u8,
    /// Function.
    pub function: u8,
    /// Times preserved.
    pub refcount: u16,
}

impl From<&liveupdate_abi::PciEntry> for DeviceDump {
    fn from(e: &liveupdate_abi::PciEntry) -> DeviceDump {
        let a = e.address();
        DeviceDump {
            address: a.to_string(),
            domain: a.domain,
            bus: a.bus(),
            device: a.device(),
            function: a.function(),
            refcount: e.refcount(),
        }
    }
}

/// A directory entry of a kind this reader does not know (listed, not followed).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UnknownDump {
    /// The record's magic.
    pub magic: u32,
    /// Physical address.
    pub phys: u64,
    /// Length.
    pub len: u32,
}

/// Everything in a valid image: `luo dump --json`, shape [`DUMP_FORMAT`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Dump {
    /// [`DUMP_FORMAT`].
    pub format: String,
    /// The KHO name of the root record.
    pub kho_name: String,
    /// The root record.
    pub root: RecordDump,
    /// The root's directory, in its order.
    pub directory: Vec<DirDump>,
    /// The FLB table, if the root references one.
    pub flb_table: Option<TableDump>,
    /// Its entries, across every block.
    pub flbs: Vec<FlbDump>,
    /// The PCI table, if the root references one.
    pub pci_table: Option<TableDump>,
    /// Its devices, across every block.
    pub devices: Vec<PciDump>,
    /// Directory entries of unknown kinds.
    pub unknown: Vec<UnknownDump>,
}

/// Loads and validates an image: the framing, the KHO name, and every record of the graph
/// (`luo verify`). To read the graph afterwards, [`open`] the image and validate it once
/// with [`handover`], as `luo dump` and `luo simulate` do.
///
/// # Errors
///
/// The first problem found, as one line.
pub fn load(bytes: &[u8]) -> Result<KhoMemory, VerifyError> {
    let mem = open(bytes)?;
    handover(&mem)?;
    Ok(mem)
}

/// Opens an image: its framing and checksum only. The handover graph in it is not yet
/// validated: its reader does that once ([`handover`], [`dump`], the simulated incoming
/// kernel's `Handover::load`).
///
/// # Errors
///
/// The image's framing or checksum; for a checksum failure, the first damaged record when
/// one is found.
pub fn open(bytes: &[u8]) -> Result<KhoMemory, VerifyError> {
    image::load(bytes).map_err(|e| diagnose(bytes, e))
}

/// When the image checksum fails, looks through the unverified image for the first damaged
/// record, so the message names it rather than only the image.
fn diagnose(bytes: &[u8], error: ImageError) -> VerifyError {
    if !matches!(error, ImageError::Checksum { .. }) {
        return error.into();
    }
    match image::load_unverified(bytes).map(|mem| handover(&mem).err()) {
        Ok(Some(VerifyError::Graph(record))) => VerifyError::Damaged {
            image: error,
            record,
        },
        _ => error.into(),
    }
}

/// The validated handover in `mem`.
///
/// # Errors
///
/// [`VerifyError::NoHandover`] or [`VerifyError::Graph`].
pub fn handover(mem: &KhoMemory) -> Result<Handover<'_>, VerifyError> {
    let blob = mem.lookup(KHO_NAME).ok_or(VerifyError::NoHandover)?;
    let len = usize::try_from(blob.len).map_err(|_| VerifyError::NoHandover)?;
    Ok(Handover::load(mem, PhysAddr::new(blob.phys), len)?)
}

/// Validates the handover in `mem` (once) and describes it.
///
/// # Errors
///
/// As [`handover`].
pub fn dump(mem: &KhoMemory) -> Result<Dump, VerifyError> {
    let h = handover(mem)?;
    let root = h.root();
    let root_phys = mem.lookup(KHO_NAME).map_or(0, |b| b.phys);
    let flb_table = h.flb_table();
    let pci_table = h.pci_table();
    Ok(Dump {
        format: DUMP_FORMAT.to_owned(),
        kho_name: KHO_NAME.to_owned(),
        root: RecordDump::new(root_phys, &root),
        directory: root
            .entries()
            .iter()
            .map(|e| DirDump {
                kind: e.kind().map_or_else(
                    || liveupdate_abi::kind::Magic(e.magic()).to_string(),
                    |k| k.to_string(),
                ),
                magic: e.magic(),
                crc: e.crc(),
                phys: e.phys_addr().raw(),
                len: e.length(),
            })
            .collect(),
        flb_table: flb_table.as_ref().map(TableDump::new),
        flbs: flb_table
            .iter()
            .flat_map(Table::iter)
            .map(|e| FlbDump {
                name: e.name().to_owned(),
                data: e.data(),
                file_count: e.file_count(),
                flags: e.flags().bits(),
            })
            .collect(),
        pci_table: pci_table.as_ref().map(TableDump::new),
        devices: pci_table
            .iter()
            .flat_map(Table::items)
            .map(PciDump::from)
            .collect(),
        unknown: h
            .unknown()
            .map(|e| UnknownDump {
                magic: e.magic(),
                phys: e.phys_addr().raw(),
                len: e.length(),
            })
            .collect(),
    })
}

fn record_line(r: &RecordDump) -> String {
    format!(
        "{} v{} at {:#x}, {} bytes, generation {}, {} of {} entries, crc {:#010x}{}\n\
         header_len {}, entry_size {}, compat {:#x}, ro_compat {:#x}, incompat {:#x}, next_block {:#x}, block_index {}",
        r.kind,
        r.version,
        r.phys,
        r.len,
        r.generation,
        r.entries,
        r.capacity,
        r.crc,
        if r.rewritable { "" } else { ", read-only" },
        r.header_len,
        r.entry_size,
        r.compat,
        r.ro_compat,
        r.incompat,
        r.next_block,
        r.block_index,
    )
}

fn table_lines(t: &TableDump) -> String {
    let mut c = format!(
        "{} at {:#x}, {} entries in {} block{}{}",
        t.kind,
        t.phys,
        t.entries,
        t.blocks.len(),
        if t.blocks.len() == 1 { "" } else { "s" },
        if t.rewritable { "" } else { ", read-only" }
    );
    for (i, b) in t.blocks.iter().enumerate() {
        let mut lines = record_line(b)
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if let Some(first) = lines.first_mut() {
            *first = format!("block {i}: {first}");
        }
        for line in lines {
            let _ = write!(c, "\n   {line}");
        }
    }
    c
}

fn branch(i: usize, n: usize) -> &'static str {
    if i + 1 == n { "└─" } else { "├─" }
}

/// The tree `luo dump` prints: every field of every record.
pub fn render(d: &Dump) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "KHO name {:?}", d.kho_name);
    let mut root = record_line(&d.root)
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    for (i, e) in d.directory.iter().enumerate() {
        root.push(format!(
            "directory {i}: {} at {:#x}, {} bytes, crc {:#010x}",
            e.kind, e.phys, e.len, e.crc
        ));
    }
    for (j, line) in root.iter().enumerate() {
        let lead = if j == 0 { "└─ " } else { "   " };
        let _ = writeln!(s, "{lead}{line}");
    }
    let mut children: Vec<String> = Vec::new();
    if let Some(t) = &d.flb_table {
        let mut c = table_lines(t);
        for (i, f) in d.flbs.iter().enumerate() {
            let _ = write!(
                c,
                "\n{} {:<47} data {:#018x}  files {:>3}  flags {:#x}",
                branch(i, d.flbs.len()),
                f.name,
                f.data,
                f.file_count,
                f.flags
            );
        }
        children.push(c);
    }
    if let Some(t) = &d.pci_table {
        let mut c = table_lines(t);
        for (i, dev) in d.devices.iter().enumerate() {
            let _ = write!(
                c,
                "\n{} {}  refcount {}",
                branch(i, d.devices.len()),
                dev.address,
                dev.refcount
            );
            match (dev.vendor_id, dev.device_id, dev.class_code) {
                (Some(vendor), Some(device), Some(class)) => {
                    let _ = write!(
                        c,
                        "  vendor {vendor:#06x} device {device:#06x} class {class:#08x}"
                    );
                }
                _ => {
                    if dev.flags.is_some() {
                        c.push_str("  identity unknown");
                    }
                }
            }
            if let Some(flags) = dev.flags {
                let _ = write!(c, "  flags {flags:#x}");
            }
        }
        children.push(c);
    }
    for u in &d.unknown {
        children.push(format!(
            "unknown record {} at {:#x}, {} bytes (not followed)",
            liveupdate_abi::kind::Magic(u.magic),
            u.phys,
            u.len
        ));
    }
    for (i, c) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        for (j, line) in c.lines().enumerate() {
            let lead = match (j, last) {
                (0, true) => "   └─ ",
                (0, false) => "   ├─ ",
                (_, true) => "      ",
                (_, false) => "   │  ",
            };
            let _ = writeln!(s, "{lead}{line}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use liveupdate_abi::AbiVersion;

    use super::*;
    use crate::scenario::Scenario;
    use crate::sim;

    #[test]
    fn open_reads_the_framing_and_leaves_the_graph_to_its_one_validation() {
        let scenario = Scenario::generate(7, 4, 2);
        let mut mem = sim::outgoing(&scenario, AbiVersion::V1_1).unwrap();
        // Damage the root's last byte: the image frames and checksums it as it is.
        let blob = mem.lookup(KHO_NAME).unwrap();
        mem.bytes_mut(blob.phys + blob.len - 1, 1).unwrap()[0] ^= 0xff;
        let bytes = image::save(&mem);
        let opened = open(&bytes).expect("the framing and checksum hold");
        assert!(matches!(handover(&opened), Err(VerifyError::Graph(_))));
        assert!(matches!(load(&bytes), Err(VerifyError::Graph(_))));
        assert!(matches!(dump(&opened), Err(VerifyError::Graph(_))));
    }

    /// SPEC.md 11.1.7: an unknown `ro_compat` bit in block 1 makes the whole PCI table
    /// read-only, and `dump` says so though block 0 alone is read-write.
    #[test]
    fn a_chained_table_is_read_only_when_any_block_is() {
        let scenario = Scenario::generate(2026, 200, 3);
        let mut mem = sim::outgoing(&scenario, AbiVersion::V1_1).unwrap();
        let (phys, len) = {
            let h = handover(&mem).unwrap();
            let table = h.pci_table().unwrap();
            assert!(table.block_count() >= 2);
            assert!(dump(&mem).unwrap().pci_table.unwrap().rewritable);
            let block = table.blocks().nth(1).unwrap();
            (block.phys.raw(), block.record.as_bytes().len())
        };
        let bytes = mem.bytes_mut(phys, len as u64).unwrap();
        bytes[36..40].copy_from_slice(&0x4000_0000u32.to_le_bytes());
        // Re-seal by hand (SPEC.md section 4: CRC-32C with the crc field read as zero); the
        // crate's `seal` refuses a record it may not rewrite.
        bytes[44..48].fill(0);
        let crc = liveupdate_abi::checksum::crc32c(bytes);
        bytes[44..48].copy_from_slice(&crc.to_le_bytes());
        let d = dump(&mem).unwrap();
        assert!(!d.pci_table.unwrap().rewritable);
    }

    /// host-tests/README.md: when the image CRC fails, `verify` names the first record that
    /// fails in SPEC.md 2.3's order (the FLB table before the PCI table), then the CRC error.
    #[test]
    fn a_failed_image_crc_names_the_first_damaged_record_in_check_order() {
        let scenario = Scenario::generate(7, 4, 2);
        let mut mem = sim::outgoing(&scenario, AbiVersion::V1_1).unwrap();
        let (flb, pci) = {
            let h = handover(&mem).unwrap();
            let root = h.root();
            let at = |k| root.find(k).unwrap().phys_addr().raw();
            (
                at(liveupdate_abi::RecordKind::FlbTable),
                at(liveupdate_abi::RecordKind::PciTable),
            )
        };
        mem.bytes_mut(pci + 70, 1).unwrap()[0] ^= 1;
        mem.bytes_mut(flb + 70, 1).unwrap()[0] ^= 1;
        let mut bytes = image::save(&mem);
        bytes[24] ^= 1;
        let err = load(&bytes).unwrap_err();
        let VerifyError::Damaged { record, image } = &err else {
            panic!("{err:?}");
        };
        assert!(matches!(image, ImageError::Checksum { .. }));
        assert!(record.to_string().starts_with("flb table"), "{record}");
        // Damage outside every record: only the CRC error.
        let mut bytes = image::save(&sim::outgoing(&scenario, AbiVersion::V1_1).unwrap());
        bytes[24] ^= 1;
        assert!(matches!(
            load(&bytes),
            Err(VerifyError::Image(ImageError::Checksum { .. }))
        ));
    }
}
