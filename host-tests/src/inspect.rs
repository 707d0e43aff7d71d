//! What `luo verify` and `luo dump` do with an image file: load it, find the handover under
//! its KHO name, validate the whole graph, and describe it as a tree or as JSON.

use std::fmt::Write as _;

use liveupdate_abi::root::KHO_NAME;
use liveupdate_abi::{Entry, PhysAddr, Record, RecordHeader, RecordKind, Table};
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

/// A record's header, as `luo dump` shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RecordDump {
    /// Record kind.
    pub kind: String,
    /// Physical address.
    pub phys: u64,
    /// Length in bytes.
    pub len: u32,
    /// Version, `major.minor`.
    pub version: String,
    /// Live-update generation.
    pub generation: u64,
    /// Entries in use.
    pub entries: u32,
    /// Entry slots.
    pub capacity: u32,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Whether this reader may rewrite it (no unknown read-only-compatible feature).
    pub rewritable: bool,
}

impl RecordDump {
    fn new<E: Entry>(phys: u64, record: &Record<'_, E>) -> RecordDump {
        let h: &RecordHeader = record.header();
        RecordDump {
            kind: E::KIND.to_string(),
            phys,
            len: h.record_len(),
            version: format!("{}.{}", h.major(), h.minor()),
            generation: h.generation().get(),
            entries: h.entry_count(),
            capacity: h.entry_capacity(),
            crc: h.crc(),
            rewritable: record.access() == liveupdate_abi::Access::ReadWrite,
        }
    }

    /// A table by its first block, but with the access of the whole table: an unknown
    /// `ro_compat` bit in any block makes it read-only (SPEC.md 11.1.7).
    fn table<E: Entry>(phys: u64, table: &Table<'_, E>) -> RecordDump {
        RecordDump {
            rewritable: table.access() == liveupdate_abi::Access::ReadWrite,
            ..RecordDump::new(phys, &table.first())
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

/// Everything in a valid image.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Dump {
    /// The KHO name of the root record.
    pub kho_name: String,
    /// The root record.
    pub root: RecordDump,
    /// The FLB table, if the root references one.
    pub flb_table: Option<RecordDump>,
    /// Its entries.
    pub flbs: Vec<FlbDump>,
    /// The PCI table, if the root references one.
    pub pci_table: Option<RecordDump>,
    /// Its devices.
    pub devices: Vec<DeviceDump>,
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
    let phys_of = |kind: RecordKind| root.find(kind).map_or(0, |e| e.phys_addr().raw());
    let root_phys = mem.lookup(KHO_NAME).map_or(0, |b| b.phys);
    let flb_table = h.flb_table();
    let pci_table = h.pci_table();
    Ok(Dump {
        kho_name: KHO_NAME.to_owned(),
        root: RecordDump::new(root_phys, &root),
        flb_table: flb_table.map(|t| RecordDump::table(phys_of(RecordKind::FlbTable), &t)),
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
        pci_table: pci_table.map(|t| RecordDump::table(phys_of(RecordKind::PciTable), &t)),
        devices: pci_table
            .iter()
            .flat_map(Table::iter)
            .map(DeviceDump::from)
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
        "{} v{} at {:#x}, {} bytes, generation {}, {} of {} entries, crc {:#010x}{}",
        r.kind,
        r.version,
        r.phys,
        r.len,
        r.generation,
        r.entries,
        r.capacity,
        r.crc,
        if r.rewritable { "" } else { ", read-only" }
    )
}

/// The tree `luo dump` prints.
pub fn render(d: &Dump) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "KHO name {:?}", d.kho_name);
    let _ = writeln!(s, "└─ {}", record_line(&d.root));
    let mut children: Vec<String> = Vec::new();
    if let Some(t) = &d.flb_table {
        let mut c = record_line(t);
        for (i, f) in d.flbs.iter().enumerate() {
            let branch = if i + 1 == d.flbs.len() {
                "└─"
            } else {
                "├─"
            };
            let _ = write!(
                c,
                "\n{branch} {:<47} data {:#018x}  files {:>3}  flags {:#x}",
                f.name, f.data, f.file_count, f.flags
            );
        }
        children.push(c);
    }
    if let Some(t) = &d.pci_table {
        let mut c = record_line(t);
        for (i, dev) in d.devices.iter().enumerate() {
            let branch = if i + 1 == d.devices.len() {
                "└─"
            } else {
                "├─"
            };
            let _ = write!(c, "\n{branch} {}  refcount {}", dev.address, dev.refcount);
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
}
