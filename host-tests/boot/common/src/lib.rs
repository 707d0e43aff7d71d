//! The job of the liveupdate boot stubs, independent of the architecture.
//!
//! A stub (the `aarch64` and `x86_64` crates next to this one) brings a machine up with no OS,
//! finds the flat handover file a loader placed in RAM (its [locator]), and calls [`run`],
//! which:
//!
//! 1. checks the locator (magic, CRC, base, length, root) — a bad one is a typed error;
//! 2. reads every record through a `DirectMap` (offset = where the file landed - its base):
//!    [`Handover::load`](liveupdate_core::graph::Handover::load), then `PciIncoming::load` and
//!    an incoming `FlbRegistry` with one FLB registered for every name of the FLB table;
//! 3. asks `is_preserved`, `device` and `check_identity` for every preserved device and
//!    `is_preserved` for as many absent ones, checks a swapped device is refused, retrieves
//!    every FLB (`get`) and finishes every file (`finish_file`), checking each FLB's `finish`
//!    ran exactly once, after its last file and its last guard; with several CPUs
//!    ([`Arch::start_secondaries`]) the other CPUs hammer `is_preserved` and FLB `get`/drop
//!    while this one finishes the last files ([`secondary`]);
//! 4. hands over again: an outgoing `FlbRegistry` and `PciTracker` in static memory take what
//!    came in, serialize into a scratch area, `write_root`, and `Handover::load` reads it back;
//! 5. measures the painted-stack high-water mark of each entry point ([`stack`]);
//! 6. prints the report (`luo-stub: ` lines, host-tests/boot/README.md) and returns a
//!    [`Status`].
//!
//! The stub supplies the console, the [`Image`] and an [`Arch`]; the state lives in statics
//! here, one set per pass ([`PASSES`]: aarch64 runs the job with the MMU off, then on).
#![cfg_attr(not(test), no_std)]

mod job;
pub mod locator;
mod smp;
pub mod stack;

use core::fmt;
use core::ops::Range;

pub use job::run;
pub use smp::secondary;

/// Times [`run`] may be called (each call a fresh set of registries): the aarch64 stub runs
/// once with the MMU off and once with it on.
pub const PASSES: usize = 2;
/// FLBs the incoming and outgoing registries hold (`luo write --flbs` writes at most 63 plus
/// the PCI core's).
pub const MAX_FLBS: usize = 64;
/// PCI devices the stub handles: the incoming key index and the outgoing tracker's capacity.
pub const MAX_DEVICES: usize = 1024;
/// CPUs the SMP check counts (the boot CPU included).
pub const MAX_CPUS: usize = 8;

/// What the stub needs from the architecture.
///
/// # Safety
///
/// [`Arch::stack_bounds`] must return the calling CPU's own stack: memory reserved for it
/// alone, whose provenance was exposed (e.g. a static array's address taken with
/// `expose_provenance`), containing the current stack pointer. [`stack::measure`] writes and
/// reads the part of it below the stack pointer.
pub unsafe trait Arch: Sync {
    /// The architecture's name in the report (`aarch64`, `x86_64`).
    fn name(&self) -> &'static str;

    /// Further `key=value` pairs of the start line, each preceded by a space (e.g.
    /// ` mmu=off fp=trapped`).
    ///
    /// # Errors
    ///
    /// The console's.
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result;

    /// The current stack pointer (roughly: the caller's).
    fn stack_pointer(&self) -> usize;

    /// The calling CPU's stack, `[lowest address, one past the highest)`.
    fn stack_bounds(&self) -> Range<usize>;

    /// CPUs of the machine, the boot CPU included.
    fn cpus(&self) -> usize {
        1
    }

    /// Starts every other CPU (numbered 1 to `cpus() - 1`), each on its own stack, each calling
    /// [`secondary`] with its number and parking when it returns. Returns how many were
    /// started; the default, for a stub without SMP, starts none.
    fn start_secondaries(&self) -> usize {
        0
    }
}

/// Where the flat handover file is in the stub's address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    base: u64,
    virt: usize,
    available: usize,
}

impl Image {
    /// The file whose byte 0 stands for physical address `base` (the machine's convention) and
    /// sits at virtual address `virt`, with `available` bytes of memory readable from there.
    ///
    /// # Safety
    ///
    /// `[virt, virt + available)` is mapped and readable on every CPU for the rest of the
    /// program, its provenance exposed, and nothing writes it any more (the loader is done).
    pub unsafe fn new(base: u64, virt: usize, available: usize) -> Image {
        Image {
            base,
            virt,
            available,
        }
    }

    /// The physical address the convention names for byte 0.
    pub fn base(&self) -> u64 {
        self.base
    }
}

/// How the stub ends; the exit status is the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Every check passed.
    Ok = 0,
    /// The handover was refused with a typed error (locator, memory, graph).
    Refused = 1,
    /// The stub itself faulted (an exception, a panic).
    Fault = 2,
    /// The handover loaded but something did not match (or an accessor refused it).
    Mismatch = 3,
}

/// Prints one report line: `luo-stub: ` and the arguments.
macro_rules! say {
    ($con:expr, $($arg:tt)*) => {{
        let _ = $con.write_fmt(format_args!("luo-stub: {}\n", format_args!($($arg)*)));
    }};
}
pub(crate) use say;
