//! What `luo verify --linux KIND FILE` and `luo dump --linux KIND FILE` do: decode a blob as
//! today's Linux writes it (see `abi/SPEC.md` section 12 for the file conventions), convert it
//! into this project's entries (which refuses duplicates), and describe it.

pub mod file;
pub mod image;
pub mod layout;

use std::fmt::Write as _;

use file::{FileError, LinuxBlob, LinuxFile, LinuxKind};
use liveupdate_abi::PciEntry;
use liveupdate_abi::PhysAddr;
use liveupdate_abi::linux::flb::FlbArea;
use liveupdate_abi::linux::luo::{LuoAbi, LuoSer};
use liveupdate_abi::linux::pci::{PciLayout, PciVersion};
use liveupdate_abi::linux::{ByteOrder, Kernel, LinuxError};
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

/// How much a finding of `luo verify --linux` matters.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The kernel would accept the blob; a stricter rule of this project flags it.
    Warning,
    /// The kernel would refuse or misread the blob.
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One thing `verify` found.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What and where.
    pub message: String,
}

impl Finding {
    fn error(message: impl std::fmt::Display) -> Finding {
        Finding {
            severity: Severity::Error,
            message: message.to_string(),
        }
    }

    fn warning(message: impl std::fmt::Display) -> Finding {
        Finding {
            severity: Severity::Warning,
            message: message.to_string(),
        }
    }
}

/// What `luo verify --linux` reports, and `--json` prints.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Verification {
    /// The KIND read.
    pub kind: String,
    /// No finding is an error (warnings allowed).
    pub valid: bool,
    /// Errors and warnings, in the order found (at most one error: decoding stops there).
    pub findings: Vec<Finding>,
}

impl Verification {
    /// Number of findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// The `luo_ser` compatibles this version reads, for messages.
pub fn known_roots() -> String {
    LuoAbi::ALL
        .iter()
        .map(|a| format!("{:?}", a.compatible()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes `bytes` as `kind` (a name of [`LinuxKind::NAMES`]), written by a kernel with
/// 4 KiB pages in byte order `order` (an image records its own page size), as leniently as
/// the kernel: what the kernel accepts but this project's
/// stricter rules flag is a [`Severity::Warning`]; what it refuses or would misread, an
/// [`Severity::Error`] (with the dump, when one was decoded, for a root of unknown
/// compatible: its raw fields).
///
/// `None` for an unknown KIND (a usage error).
pub fn examine(
    kind: &str,
    bytes: &[u8],
    order: ByteOrder,
) -> Option<(Option<LinuxDump>, Vec<Finding>)> {
    let kind = LinuxKind::from_name(kind)?;
    let mut findings = Vec::new();
    let kernel = Kernel::LITTLE_4K.with_order(order);
    let dump = match examine_kind(kind, bytes, kernel, &mut findings) {
        Ok(dump) => Some(dump),
        Err(e) => {
            findings.push(Finding::error(e));
            None
        }
    };
    Some((dump, findings))
}

fn examine_kind(
    kind: LinuxKind,
    bytes: &[u8],
    kernel: Kernel,
    findings: &mut Vec<Finding>,
) -> Result<LinuxDump, FileError> {
    let mut warn = |e: LinuxError| findings.push(Finding::warning(e));
    Ok(match kind {
        LinuxKind::Luo => {
            let l = LuoSer::decode_lenient(bytes, kernel, &mut warn)?;
            if l.abi().is_none() {
                findings.push(Finding::error(format!(
                    "luo_ser: compatible {:?} is not one this version reads ({}); a kernel \
                     refuses a compatible it does not know",
                    l.compatible(),
                    known_roots()
                )));
            }
            LinuxDump::Luo {
                compatible: l.compatible().to_owned(),
                liveupdate_num: l.liveupdate_num(),
                sessions_pa: l.sessions_pa().raw(),
                flbs_pa: l.flbs_pa().raw(),
                len: l.len(),
            }
        }
        LinuxKind::Flb => {
            let area = FlbArea::decode_lenient(bytes, kernel, &mut warn)?;
            flb_warnings(&area, findings);
            let mut flbs: Vec<_> = area
                .entries()
                .map(|e| crate::inspect::FlbDump {
                    name: String::from_utf8_lossy(e.name_bytes()).into_owned(),
                    data: e.data(),
                    file_count: e.count(),
                    flags: 0,
                })
                .collect();
            flbs.sort_by(|a, b| a.name.cmp(&b.name));
            LinuxDump::Flb {
                pgcnt: area.pgcnt(),
                capacity: area.capacity(),
                flbs,
            }
        }
        LinuxKind::Pci(_) => {
            let contents = LinuxFile::new(bytes);
            let LinuxBlob::Pci(ser) = file::decode(kind, &contents, kernel)? else {
                return Err(FileError::Linux(LinuxError::Format {
                    layout: PciLayout::Versioned,
                    compat: liveupdate_abi::linux::pci::PciCompat::Pci,
                }));
            };
            let n = usize::try_from(ser.nr_devices()).unwrap_or(usize::MAX);
            // nr_devices was bounded by the blob or its chain at decode time.
            let mut out = vec![PciEntry::new_zeroed(); n];
            // A duplicate device: the kernel's xa_insert() fails (and v7 panics).
            let entries = ser.to_entries(&mut out)?;
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

/// FLB entries the kernel accepts but this project's `FlbEntry` would refuse: a name twice
/// (the kernel's lookup finds the first only), a name that is not printable ASCII.
fn flb_warnings(area: &FlbArea<'_>, findings: &mut Vec<Finding>) {
    for (i, e) in area.entries().enumerate() {
        let name = e.name_bytes();
        if let Some(first) = area.entries().take(i).position(|p| p.name_bytes() == name) {
            findings.push(Finding::warning(format!(
                "luo_flb_ser {i}: name {:?} repeats entry {first}'s; the kernel's lookup only \
                 finds the first",
                String::from_utf8_lossy(name)
            )));
        }
        let terminated = name.len() < liveupdate_abi::flb::NAME_LEN;
        if terminated && !name.is_empty() && !name.iter().all(u8::is_ascii_graphic) {
            findings.push(Finding::warning(format!(
                "luo_flb_ser {i}: name {:?} is not printable ASCII (this project's FLB names are)",
                String::from_utf8_lossy(name)
            )));
        }
    }
}

/// Verifies `bytes` as `kind` in byte order `order`: see [`examine`]. `None` for an unknown
/// KIND.
pub fn verify(kind: &str, bytes: &[u8], order: ByteOrder) -> Option<Verification> {
    let (_, findings) = examine(kind, bytes, order)?;
    Some(Verification {
        kind: kind.to_owned(),
        valid: findings.iter().all(|f| f.severity != Severity::Error),
        findings,
    })
}

/// Decodes and checks `bytes` as `kind` (a name of [`LinuxKind::NAMES`]), written by a kernel
/// with 4 KiB pages in byte order `order`, and refuses on any error [`examine`] finds (warnings are dropped).
///
/// # Errors
///
/// `Err(None)` for an unknown KIND (a usage error); `Err(Some(message))` for an invalid blob.
pub fn dump(kind: &str, bytes: &[u8], order: ByteOrder) -> Result<LinuxDump, Option<String>> {
    let (dump, findings) = examine(kind, bytes, order).ok_or(None)?;
    if let Some(e) = findings.iter().find(|f| f.severity == Severity::Error) {
        return Err(Some(e.message.clone()));
    }
    dump.ok_or(None)
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
