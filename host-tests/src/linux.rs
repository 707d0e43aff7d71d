//! What `luo verify --linux KIND FILE` and `luo dump --linux KIND FILE` do: decode a blob as
//! today's Linux writes it (see `abi/SPEC.md` section 12 for the file conventions), convert it
//! into this project's entries (which refuses duplicates), and describe it.

pub mod file;
pub mod image;
pub mod layout;

use std::fmt::Write as _;

use file::{FileError, LinuxBlob, LinuxFile, LinuxKind};
use liveupdate_abi::PhysAddr;
use liveupdate_abi::linux::PageSize;
use liveupdate_abi::linux::pci::PciVersion;
use liveupdate_abi::{FlbEntry, PciEntry};
use serde::Serialize;
use zerocopy::FromZeros;

/// A decoded upstream blob, as `luo dump --linux` shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinuxDump {
    /// A `luo_ser`.
    Luo {
        /// Its compatible string.
        compatible: String,
        /// Live-update number.
        liveupdate_num: u64,
        /// Physical address of the sessions.
        sessions_pa: u64,
        /// Physical address of the FLB area.
        flbs_pa: u64,
        /// Bytes of the blob.
        len: usize,
    },
    /// An FLB area.
    Flb {
        /// Pages of the area.
        pgcnt: u64,
        /// Entries the area holds.
        capacity: u64,
        /// The FLBs, sorted by name.
        flbs: Vec<crate::inspect::FlbDump>,
    },
    /// A `pci_ser`.
    Pci {
        /// `pci`, `pci-v1`, `pci-v2` or `pci-v3`.
        compatible: String,
        /// `array-u64`, `array`, `chain` or `versioned`.
        layout: String,
        /// `version` (the versioned form of FLB `"pci"`).
        version: Option<u32>,
        /// `nr_devices`.
        nr_devices: u64,
        /// `max_nr_devices` (array forms).
        max_nr_devices: Option<u64>,
        /// Physical address of the first block (chain form).
        devices_pa: Option<u64>,
        /// The devices, sorted, with their refcounts as this project counts them.
        devices: Vec<crate::inspect::DeviceDump>,
    },
}

/// Decodes and checks `bytes` as `kind` (a name of [`LinuxKind::NAMES`]), written by a kernel
/// with 4 KiB pages.
///
/// # Errors
///
/// `Err(None)` for an unknown KIND (a usage error); `Err(Some(e))` for an invalid blob.
pub fn dump(kind: &str, bytes: &[u8]) -> Result<LinuxDump, Option<FileError>> {
    let kind = LinuxKind::from_name(kind).ok_or(None)?;
    let contents = LinuxFile::new(bytes);
    let blob = file::decode(kind, &contents, PageSize::SIZE_4K)?;
    Ok(match blob {
        LinuxBlob::Luo(l) => LinuxDump::Luo {
            compatible: l.compatible().to_owned(),
            liveupdate_num: l.liveupdate_num(),
            sessions_pa: l.sessions_pa().raw(),
            flbs_pa: l.flbs_pa().raw(),
            len: l.len(),
        },
        LinuxBlob::Flb(area) => {
            let mut out = vec![FlbEntry::new_zeroed(); area.entries().len()];
            let entries = area.to_entries(&mut out).map_err(|e| Some(e.into()))?;
            LinuxDump::Flb {
                pgcnt: area.pgcnt(),
                capacity: area.capacity(),
                flbs: entries
                    .iter()
                    .map(|e| crate::inspect::FlbDump {
                        name: e.name().to_owned(),
                        data: e.data(),
                        file_count: e.file_count(),
                        flags: e.flags().bits(),
                    })
                    .collect(),
            }
        }
        LinuxBlob::Pci(ser) => {
            let n = usize::try_from(ser.nr_devices()).unwrap_or(usize::MAX);
            // nr_devices was bounded by the blob or its chain at decode time.
            let mut out = vec![PciEntry::new_zeroed(); n];
            let entries = ser.to_entries(&mut out).map_err(|e| Some(e.into()))?;
            LinuxDump::Pci {
                compatible: ser.format().compat().name().to_owned(),
                layout: ser.format().layout().name().to_owned(),
                version: ser.version().map(PciVersion::number),
                nr_devices: ser.nr_devices(),
                max_nr_devices: ser.max_nr_devices(),
                devices_pa: ser.devices_pa().map(PhysAddr::raw),
                devices: entries
                    .iter()
                    .map(crate::inspect::DeviceDump::from)
                    .collect(),
            }
        }
    })
}

/// The tree `luo dump --linux` prints.
pub fn render(d: &LinuxDump) -> String {
    let mut s = String::new();
    match d {
        LinuxDump::Luo {
            compatible,
            liveupdate_num,
            sessions_pa,
            flbs_pa,
            len,
        } => {
            let _ = writeln!(s, "luo_ser {compatible:?}, {len} bytes");
            let _ = writeln!(s, "├─ liveupdate_num {liveupdate_num}");
            let _ = writeln!(s, "├─ sessions_pa    {sessions_pa:#x}");
            let _ = writeln!(s, "└─ flbs_pa        {flbs_pa:#x}");
        }
        LinuxDump::Flb {
            pgcnt,
            capacity,
            flbs,
        } => {
            let _ = writeln!(
                s,
                "FLB area: {pgcnt} page(s), {} of {capacity} entries",
                flbs.len()
            );
            for (i, f) in flbs.iter().enumerate() {
                let branch = if i + 1 == flbs.len() {
                    "└─"
                } else {
                    "├─"
                };
                let _ = writeln!(
                    s,
                    "{branch} {:<47} data {:#018x}  count {}",
                    f.name, f.data, f.file_count
                );
            }
        }
        LinuxDump::Pci {
            compatible,
            layout,
            version,
            nr_devices,
            max_nr_devices,
            devices_pa,
            devices,
        } => {
            let _ = write!(s, "pci_ser {compatible:?}, {layout} form");
            if let Some(v) = version {
                let _ = write!(s, " version {v}");
            }
            let _ = write!(s, ", {nr_devices} devices");
            if let Some(max) = max_nr_devices {
                let _ = write!(s, " of {max}");
            }
            if let Some(pa) = devices_pa {
                let _ = write!(s, ", blocks at {pa:#x}");
            }
            s.push('\n');
            for (i, dev) in devices.iter().enumerate() {
                let branch = if i + 1 == devices.len() {
                    "└─"
                } else {
                    "├─"
                };
                let _ = writeln!(s, "{branch} {}  refcount {}", dev.address, dev.refcount);
            }
        }
    }
    s
}
