//! `luo`: simulate a live update, and write, verify and dump handover images.
//!
//! Exit codes: 0 success; 1 an invalid image or handover (`verify`, `dump`, `incoming`), or a
//! simulation whose incoming kernel did not get what the outgoing one sent; 2 usage or I/O
//! errors. `luo` never panics on any input. `verify --linux` exits 0 when it finds only
//! warnings (what the kernel accepts but a stricter rule flags), 1 with `--strict`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::linux::ByteOrder;
use liveupdate_host_tests::linux::file::LinuxKind;
use liveupdate_host_tests::scenario::Scenario;
use liveupdate_host_tests::sim::{self, Incoming};
use liveupdate_host_tests::{flat, image, kho::KhoMemory};
use liveupdate_host_tests::{inspect, linux};

/// Simulate a kexec live update's FLB and PCI handover, and inspect handover images.
#[derive(Parser, Debug)]
///
/// Without a command, `luo` simulates, and takes `simulate`'s options: `luo --devices 1000`
/// is `luo simulate --devices 1000`.
#[command(
    name = "luo",
    version,
    after_help = EXIT_CODES,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// The default command's options (`simulate`).
    #[command(flatten)]
    simulate: Simulate,
    #[command(subcommand)]
    command: Option<Command>,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 invalid image or handover, or a simulation \
                          whose incoming state differs from the outgoing one; 2 usage or I/O error.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Outgoing kernel -> image -> incoming kernel, and a report (the default).
    #[command(after_help = EXIT_CODES)]
    Simulate(Simulate),
    /// Run the outgoing kernel and write its handover as an image file.
    #[command(after_help = EXIT_CODES)]
    Write {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Physical address the handover is laid out from (hex with 0x, or decimal): the
        /// allocations start at ADDR + 4096, above the flat file's locator page. Without it they
        /// start at 4 GiB, as always.
        #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
        base: Option<u64>,
        /// Also write the memory as one flat file for a boot stub: [ADDR, end of the last
        /// allocation), gaps zero, a 64-byte locator at ADDR (host-tests/boot/README.md).
        #[arg(long, value_name = "FLAT", requires = "base")]
        flat: Option<PathBuf>,
        /// The image file to write.
        file: PathBuf,
    },
    /// Run the incoming kernel from an image file and check it against the scenario of the
    /// same seed (the other half of a two-process simulation).
    #[command(after_help = EXIT_CODES)]
    Incoming {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The image file to read.
        file: PathBuf,
    },
    /// Check an image and every record in it; print one line naming what is wrong.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// Read FILE as a blob upstream Linux writes, of KIND: luo, flb, pci (FLB "pci",
        /// versioned), pci-v1-u64, pci-v1-array, pci-v2-array, pci-v3-array (or pci-v3),
        /// pci-v1-chain or pci-v2-chain (file conventions: abi/SPEC.md section 12).
        #[arg(long, value_name = "KIND")]
        linux: Option<String>,
        /// With --linux: fail (exit 1) on warnings too, not only on errors. A warning is what
        /// the kernel accepts but a stricter rule flags; an error, what it refuses or misreads.
        #[arg(long, requires = "linux")]
        strict: bool,
        /// With --linux: print the findings, each with its severity, as JSON.
        #[arg(long, requires = "linux")]
        json: bool,
        /// With --linux: the byte order of the kernel that wrote the blob, little (x86-64,
        /// arm64) or big (s390x). Upstream blobs do not record it.
        #[arg(long, requires = "linux", value_name = "ORDER", default_value = "little", value_parser = parse_order)]
        byte_order: ByteOrder,
        /// The image file (or upstream blob).
        file: PathBuf,
    },
    /// Print the handover in an image as a tree, or as JSON.
    #[command(after_help = EXIT_CODES)]
    Dump {
        /// Read FILE as a blob upstream Linux writes, of KIND (see `verify --help`).
        #[arg(long, value_name = "KIND")]
        linux: Option<String>,
        /// Print JSON instead of a tree.
        #[arg(long)]
        json: bool,
        /// With --linux: the byte order of the kernel that wrote the blob, little (x86-64,
        /// arm64) or big (s390x). Upstream blobs do not record it.
        #[arg(long, requires = "linux", value_name = "ORDER", default_value = "little", value_parser = parse_order)]
        byte_order: ByteOrder,
        /// The image file (or upstream blob).
        file: PathBuf,
    },
}

/// What the outgoing kernel preserves.
#[derive(Args, Debug, Clone, Copy)]
struct ScenarioArgs {
    /// PCI devices to preserve (0 to 65536).
    #[arg(long, default_value_t = 64)]
    devices: usize,
    /// FLBs to register besides the PCI core's (0 to 63).
    #[arg(long, default_value_t = 4)]
    flbs: usize,
    /// Wire version to write: 1.0, or 1.1 (device identities and flags, page-sized PCI table
    /// blocks chained as devices need them). The old names 1 (for 1.0) and 2 (for 1.1) are
    /// still accepted, deprecated.
    #[arg(long, default_value_t = AbiVersion::V1_1, value_parser = parse_abi)]
    abi: AbiVersion,
    /// Seed of the scenario (devices, FLBs, file counts, generation).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl Default for ScenarioArgs {
    fn default() -> Self {
        ScenarioArgs {
            devices: 64,
            flbs: 4,
            abi: AbiVersion::V1_1,
            seed: 1,
        }
    }
}

/// The wire version `luo --abi` names: `1.0` or `1.1`, or the deprecated aliases `1` (1.0) and
/// `2` (1.1) of earlier releases.
fn parse_abi(arg: &str) -> Result<AbiVersion, String> {
    match arg {
        "1.0" | "1" => Ok(AbiVersion::V1_0),
        "1.1" | "2" => Ok(AbiVersion::V1_1),
        _ => Err(format!(
            "no wire version {arg:?}: expected 1.0 or 1.1 (or the deprecated 1 or 2)"
        )),
    }
}

/// A physical address: `0x` hex or decimal.
fn parse_addr(arg: &str) -> Result<u64, String> {
    let parsed = match arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => arg.replace('_', "").parse(),
    };
    let addr = parsed.map_err(|e| format!("not an address {arg:?}: {e}"))?;
    if addr % liveupdate_host_tests::kho::PAGE_SIZE != 0 {
        return Err(format!("address {addr:#x} is not page-aligned (4096)"));
    }
    Ok(addr)
}

/// The byte order `--byte-order` names: `little` or `big`.
fn parse_order(arg: &str) -> Result<ByteOrder, String> {
    ByteOrder::from_name(arg)
        .ok_or_else(|| format!("no byte order {arg:?}: expected little or big"))
}

impl ScenarioArgs {
    fn scenario(self) -> Scenario {
        Scenario::generate(self.seed, self.devices, self.flbs)
    }
}

#[derive(Args, Debug, Default)]
struct Simulate {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A failure and the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

/// Writes `text` to standard output. A closed pipe (`luo dump | head`) ends the output
/// quietly; any other write error is an I/O error.
fn emit(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(usage(format!("standard output: {e}")))
        }
        _ => Ok(()),
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| usage(e.to_string()))
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    fs::read(path).map_err(|e| usage(format!("{}: {e}", path.display())))
}

fn outgoing(args: ScenarioArgs) -> Result<(Scenario, KhoMemory), Failure> {
    let scenario = args.scenario();
    let mem =
        sim::outgoing(&scenario, args.abi).map_err(|e| usage(format!("outgoing kernel: {e}")))?;
    Ok((scenario, mem))
}

fn render_report(scenario: &Scenario, image_len: usize, incoming: &Incoming) -> String {
    let mut out = String::new();
    let files: u64 = scenario.flbs.iter().map(|f| f.files).sum();
    let abi = incoming
        .abi
        .map_or_else(|| "-".to_owned(), |v| v.to_string());
    let _ = writeln!(
        out,
        "luo simulate: seed {}, generation {}, ABI {abi}",
        scenario.seed, scenario.generation
    );
    let _ = writeln!(
        out,
        "outgoing: {} PCI devices preserved, {} FLBs with {} dependent files",
        scenario.devices.len(),
        scenario.flbs.len(),
        files
    );
    let record_bytes: u64 = incoming.records.iter().map(|r| r.total_len).sum();
    let _ = writeln!(
        out,
        "handover: {} records, {} bytes of records, image {} bytes",
        incoming.records.len(),
        record_bytes,
        image_len
    );
    for r in &incoming.records {
        let _ = writeln!(
            out,
            "  {:<10} at {:#x}  {:>7} bytes  crc {:#010x}{}",
            r.kind,
            r.phys,
            r.len,
            r.crc,
            if r.blocks > 1 {
                format!(
                    "  (first of {} chained blocks, {} bytes in all)",
                    r.blocks, r.total_len
                )
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        out,
        "incoming: graph validated in {:.1} µs",
        incoming.validation.as_secs_f64() * 1e6
    );
    let _ = writeln!(
        out,
        "  devices: {} found, {}/{} preserved confirmed, {}/{} absent denied",
        incoming.devices_found,
        incoming.devices_confirmed,
        scenario.devices.len(),
        incoming.absent_denied,
        scenario.absent.len()
    );
    let _ = match incoming.abi {
        Some(AbiVersion::V1_0) => writeln!(
            out,
            "  identities: not recorded by ABI 1.0 (each probe: unknown)"
        ),
        Some(_) => writeln!(
            out,
            "  identities: {}/{} matched at probe, a swapped device refused",
            incoming.identities_matched,
            scenario.devices.len()
        ),
        None => Ok(()),
    };
    let _ = writeln!(
        out,
        "  FLBs: {}/{} retrieved, {}/{} finished exactly once, {} unclaimed",
        incoming.flbs_retrieved,
        scenario.flbs.len(),
        incoming.flbs_finished,
        scenario.flbs.len(),
        incoming.unclaimed.len()
    );
    if incoming.mismatches.is_empty() {
        let _ = writeln!(out, "result: OK, what came in is what went out");
    } else {
        let _ = writeln!(out, "result: FAILED");
        for m in &incoming.mismatches {
            let _ = writeln!(out, "  - {m}");
        }
    }
    out
}

fn run_incoming(scenario: &Scenario, bytes: &[u8], json: bool) -> Result<(), Failure> {
    // The image's framing only: the incoming kernel's `Handover::load` is the one validation
    // of the graph, and the report states what it found.
    let mem = inspect::open(bytes).map_err(|e| invalid(e.to_string()))?;
    // The incoming kernel's state lives as long as the process, as a kernel's does.
    let mem: &'static KhoMemory = Box::leak(Box::new(mem));
    let report =
        sim::incoming(mem, scenario).map_err(|e| invalid(format!("incoming kernel: {e}")))?;
    if json {
        emit(&json_text(&report)?)?;
    } else {
        emit(&render_report(scenario, bytes.len(), &report))?;
    }
    if report.mismatches.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("{} mismatches", report.mismatches.len()),
        })
    }
}

fn unknown_kind(kind: &str) -> Failure {
    match LinuxKind::forms_of(kind).as_slice() {
        [] => usage(format!(
            "unknown --linux KIND {kind:?}; one of: {}",
            LinuxKind::NAMES.join(", ")
        )),
        forms => usage(format!(
            "--linux KIND {kind:?} is a compatible upstream published with several layouts; \
             name one: {}",
            forms.join(", ")
        )),
    }
}

/// Prints each warning of `findings` as one line on standard error.
fn print_warnings(file: &Path, kind: &str, findings: &[linux::Finding]) {
    for f in findings {
        if f.severity == linux::Severity::Warning {
            eprintln!("luo: {}: {kind}: warning: {}", file.display(), f.message);
        }
    }
}

fn first_error(findings: &[linux::Finding]) -> Option<&linux::Finding> {
    findings
        .iter()
        .find(|f| f.severity == linux::Severity::Error)
}

fn linux_verify(
    kind: &str,
    file: &Path,
    order: ByteOrder,
    strict: bool,
    json: bool,
) -> Result<(), Failure> {
    let bytes = read(file)?;
    let v = linux::verify(kind, &bytes, order).ok_or_else(|| unknown_kind(kind))?;
    let warnings = v.count(linux::Severity::Warning);
    if json {
        emit(&json_text(&v)?)?;
    } else {
        print_warnings(file, kind, &v.findings);
    }
    if let Some(e) = first_error(&v.findings) {
        return Err(invalid(format!(
            "{}: {kind}: {}",
            file.display(),
            e.message
        )));
    }
    if strict && warnings > 0 {
        return Err(invalid(format!(
            "{}: {kind}: {warnings} warning(s), refused by --strict",
            file.display()
        )));
    }
    if !json {
        let note = match warnings {
            0 => String::new(),
            n => format!(" ({n} warning(s): the kernel accepts it)"),
        };
        emit(&format!("{}: valid {kind} blob{note}\n", file.display()))?;
    }
    Ok(())
}

fn linux_dump(kind: &str, file: &Path, order: ByteOrder, json: bool) -> Result<(), Failure> {
    let bytes = read(file)?;
    let (dump, findings) = linux::examine(kind, &bytes, order).ok_or_else(|| unknown_kind(kind))?;
    print_warnings(file, kind, &findings);
    // A root of unknown compatible is still shown, raw, before it is refused.
    if let Some(dump) = dump {
        if json {
            emit(&json_text(&dump)?)?;
        } else {
            emit(&linux::render(&dump))?;
        }
    }
    match first_error(&findings) {
        Some(e) => Err(invalid(format!(
            "{}: {kind}: {}",
            file.display(),
            e.message
        ))),
        None => Ok(()),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command.unwrap_or(Command::Simulate(cli.simulate)) {
        Command::Simulate(s) => {
            let (scenario, mem) = outgoing(s.scenario)?;
            let bytes = image::save(&mem);
            run_incoming(&scenario, &bytes, s.json)
        }
        Command::Write {
            scenario,
            base,
            flat,
            file,
        } => {
            let mem = match base {
                None => outgoing(scenario)?.1,
                Some(base) => {
                    let start = base.checked_add(liveupdate_host_tests::kho::PAGE_SIZE);
                    let start =
                        start.ok_or_else(|| usage(format!("--base {base:#x} overflows")))?;
                    sim::outgoing_at(&scenario.scenario(), scenario.abi, start)
                        .map_err(|e| usage(format!("outgoing kernel: {e}")))?
                }
            };
            if let (Some(base), Some(flat)) = (base, flat) {
                let bytes = flat::write(&mem, base).map_err(|e| usage(e.to_string()))?;
                fs::write(&flat, bytes).map_err(|e| usage(format!("{}: {e}", flat.display())))?;
            }
            fs::write(&file, image::save(&mem))
                .map_err(|e| usage(format!("{}: {e}", file.display())))
        }
        Command::Incoming {
            scenario,
            json,
            file,
        } => run_incoming(&scenario.scenario(), &read(&file)?, json),
        Command::Verify {
            linux: Some(kind),
            strict,
            json,
            byte_order,
            file,
        } => linux_verify(&kind, &file, byte_order, strict, json),
        Command::Dump {
            linux: Some(kind),
            json,
            byte_order,
            file,
        } => linux_dump(&kind, &file, byte_order, json),
        Command::Verify {
            linux: None, file, ..
        } => {
            let bytes = read(&file)?;
            inspect::load(&bytes).map_err(|e| invalid(format!("{}: {e}", file.display())))?;
            emit(&format!("{}: valid\n", file.display()))
        }
        Command::Dump {
            linux: None,
            json,
            file,
            ..
        } => {
            let bytes = read(&file)?;
            let mem =
                inspect::open(&bytes).map_err(|e| invalid(format!("{}: {e}", file.display())))?;
            let dump =
                inspect::dump(&mem).map_err(|e| invalid(format!("{}: {e}", file.display())))?;
            if json {
                emit(&json_text(&dump)?)?;
            } else {
                emit(&inspect::render(&dump))?;
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap: help and version are successes, everything else is a usage error.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("luo: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
