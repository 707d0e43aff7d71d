//! `luo`: simulate a live update, and write, verify and dump handover images.
//!
//! Exit codes: 0 success; 1 an invalid image or handover (`verify`, `dump`, `incoming`), or a
//! simulation whose incoming kernel did not get what the outgoing one sent; 2 usage or I/O
//! errors. `luo` never panics on any input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use liveupdate_host_tests::inspect;
use liveupdate_host_tests::scenario::Scenario;
use liveupdate_host_tests::sim::{self, Incoming};
use liveupdate_host_tests::{image, kho::KhoMemory};

/// Simulate a kexec live update's FLB and PCI handover, and inspect handover images.
#[derive(Parser, Debug)]
#[command(name = "luo", version, after_help = EXIT_CODES)]
struct Cli {
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
        /// The image file.
        file: PathBuf,
    },
    /// Print the handover in an image as a tree, or as JSON.
    #[command(after_help = EXIT_CODES)]
    Dump {
        /// Print JSON instead of a tree.
        #[arg(long)]
        json: bool,
        /// The image file.
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
    /// ABI version to write.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1))]
    abi: u16,
    /// Seed of the scenario (devices, FLBs, file counts, generation).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl Default for ScenarioArgs {
    fn default() -> Self {
        ScenarioArgs {
            devices: 64,
            flbs: 4,
            abi: 1,
            seed: 1,
        }
    }
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

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    fs::read(path).map_err(|e| usage(format!("{}: {e}", path.display())))
}

fn outgoing(args: ScenarioArgs) -> Result<(Scenario, KhoMemory), Failure> {
    let scenario = args.scenario();
    let mem = sim::outgoing(&scenario).map_err(|e| usage(format!("outgoing kernel: {e}")))?;
    Ok((scenario, mem))
}

fn print_report(scenario: &Scenario, image_len: usize, incoming: &Incoming) {
    let files: u64 = scenario.flbs.iter().map(|f| f.files).sum();
    println!(
        "luo simulate: seed {}, generation {}, ABI v1",
        scenario.seed, scenario.generation
    );
    println!(
        "outgoing: {} PCI devices preserved, {} FLBs with {} dependent files",
        scenario.devices.len(),
        scenario.flbs.len(),
        files
    );
    let record_bytes: u64 = incoming.records.iter().map(|r| r.len).sum();
    println!(
        "handover: {} records, {} bytes of records, image {} bytes",
        incoming.records.len(),
        record_bytes,
        image_len
    );
    for r in &incoming.records {
        println!(
            "  {:<10} at {:#x}  {:>7} bytes  crc {:#010x}",
            r.kind, r.phys, r.len, r.crc
        );
    }
    println!(
        "incoming: graph validated in {:.1} µs",
        incoming.validation.as_secs_f64() * 1e6
    );
    println!(
        "  devices: {} found, {}/{} preserved confirmed, {}/{} absent denied",
        incoming.devices_found,
        incoming.devices_confirmed,
        scenario.devices.len(),
        incoming.absent_denied,
        scenario.absent.len()
    );
    println!(
        "  FLBs: {}/{} retrieved, {}/{} finished exactly once, {} unclaimed",
        incoming.flbs_retrieved,
        scenario.flbs.len(),
        incoming.flbs_finished,
        scenario.flbs.len(),
        incoming.unclaimed.len()
    );
    if incoming.mismatches.is_empty() {
        println!("result: OK, what came in is what went out");
    } else {
        println!("result: FAILED");
        for m in &incoming.mismatches {
            println!("  - {m}");
        }
    }
}

fn run_incoming(scenario: &Scenario, bytes: &[u8], json: bool) -> Result<(), Failure> {
    let mem = inspect::load(bytes).map_err(|e| invalid(e.to_string()))?;
    // The incoming kernel's state lives as long as the process, as a kernel's does.
    let mem: &'static KhoMemory = Box::leak(Box::new(mem));
    let report =
        sim::incoming(mem, scenario).map_err(|e| invalid(format!("incoming kernel: {e}")))?;
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| usage(e.to_string()))?;
        println!("{text}");
    } else {
        print_report(scenario, bytes.len(), &report);
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

fn run(cli: Cli) -> Result<(), Failure> {
    match cli
        .command
        .unwrap_or(Command::Simulate(Simulate::default()))
    {
        Command::Simulate(s) => {
            let (scenario, mem) = outgoing(s.scenario)?;
            let bytes = image::save(&mem);
            run_incoming(&scenario, &bytes, s.json)
        }
        Command::Write { scenario, file } => {
            let (_, mem) = outgoing(scenario)?;
            fs::write(&file, image::save(&mem))
                .map_err(|e| usage(format!("{}: {e}", file.display())))
        }
        Command::Incoming {
            scenario,
            json,
            file,
        } => run_incoming(&scenario.scenario(), &read(&file)?, json),
        Command::Verify { file } => {
            let bytes = read(&file)?;
            inspect::load(&bytes)
                .map(|_| println!("{}: valid", file.display()))
                .map_err(|e| invalid(format!("{}: {e}", file.display())))
        }
        Command::Dump { json, file } => {
            let bytes = read(&file)?;
            let mem = inspect::load(&bytes)
                .map_err(|e| invalid(format!("{}: {e}", file.display())))?;
            let dump =
                inspect::dump(&mem).map_err(|e| invalid(format!("{}: {e}", file.display())))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&dump).map_err(|e| usage(e.to_string()))?
                );
            } else {
                print!("{}", inspect::render(&dump));
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
