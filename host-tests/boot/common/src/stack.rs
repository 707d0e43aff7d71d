//! Painted-stack measurement: the free stack below the caller is filled with a pattern, the
//! entry point runs, and the lowest word no longer holding the pattern is its high-water mark.
//!
//! [`measure`] paints at most [`WINDOW`] bytes below its own stack pointer (inline assembly
//! reads the stack pointer and paints in one block, so nothing live is ever painted), calls the
//! closure through a function that is never inlined (so every frame of the entry point lies
//! below the painted top), then scans upwards from the bottom of the window. The figure
//! includes that one call's return address and frame record (8 to 16 bytes) and any
//! spill of the closure's captures: an upper bound, never an underestimate.

use core::ops::Range;

use crate::Arch;

/// The paint: a word unlikely to be left on a stack by chance.
pub const PATTERN: u64 = 0x5a5a_a5a5_c3c3_3c3c;
/// Most bytes painted (and so measurable) below [`measure`]'s frame. A figure at the window
/// is reported as saturated.
pub const WINDOW: usize = 32 * 1024;

/// The high-water mark of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HighWater {
    /// Bytes of stack below the caller's frame the call used.
    pub bytes: usize,
    /// The call reached the bottom of the painted window: `bytes` is a lower bound.
    pub saturated: bool,
}

impl HighWater {
    /// The larger of two marks.
    #[must_use]
    pub fn max(self, other: HighWater) -> HighWater {
        if other.bytes > self.bytes {
            other
        } else {
            self
        }
    }

    /// No measurement yet.
    pub const NONE: HighWater = HighWater {
        bytes: 0,
        saturated: false,
    };
}

/// Paints `[low, sp)` with [`PATTERN`], `sp` read in the same assembly block, and returns `sp`.
///
/// # Safety
///
/// `[low, sp)` is this CPU's stack, reserved for it, with its provenance exposed, below every
/// live frame (no red zone on these targets, interrupts masked): nothing reads it before
/// writing it.
#[cfg(target_arch = "aarch64")]
#[allow(clippy::inline_always)] // must run in `measure`'s frame, reading its stack pointer
#[inline(always)]
unsafe fn paint(low: usize) -> usize {
    let top: usize;
    // SAFETY: the caller's contract; the block writes only [low, sp), 8 bytes at a time (low
    // is 8-aligned and sp 16-aligned), and changes no register it does not declare.
    unsafe {
        core::arch::asm!(
            "mov {top}, sp",
            "2:",
            "cmp {p}, {top}",
            "b.hs 3f",
            "str {pat}, [{p}], #8",
            "b 2b",
            "3:",
            top = out(reg) top,
            p = inout(reg) low => _,
            pat = in(reg) PATTERN,
        );
    }
    top
}

/// See the aarch64 version.
///
/// # Safety
///
/// As the aarch64 version.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::inline_always)] // must run in `measure`'s frame, reading its stack pointer
#[inline(always)]
unsafe fn paint(low: usize) -> usize {
    let top: usize;
    // SAFETY: the caller's contract; `rep stosq` writes rcx words from rdi upwards (the
    // direction flag is clear, as the ABI requires), i.e. exactly [low, rsp) rounded down to a
    // word.
    unsafe {
        core::arch::asm!(
            "mov {top}, rsp",
            "mov rcx, {top}",
            "sub rcx, rdi",
            "shr rcx, 3",
            "rep stosq",
            top = out(reg) top,
            inout("rdi") low => _,
            out("rcx") _,
            in("rax") PATTERN,
        );
    }
    top
}

/// The lowest address in `[low, top)` whose word is not the pattern, `top` when every word
/// is.
///
/// # Safety
///
/// As [`paint`], for `[low, top)`.
unsafe fn lowest_used(low: usize, top: usize) -> usize {
    let mut at = low;
    while at < top {
        let p = core::ptr::with_exposed_provenance::<u64>(at);
        // SAFETY: the caller's contract: [low, top) is this CPU's stack, 8-aligned, exposed.
        if unsafe { p.read_volatile() } != PATTERN {
            return at;
        }
        at += 8;
    }
    top
}

#[inline(never)]
fn call<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Runs `f` and returns its result and its stack high-water mark on this CPU.
///
/// Without a stack to paint (a target other than aarch64 and `x86_64`, or bounds that do not
/// hold the stack pointer) `f` still runs, and the mark is `None`.
#[inline(never)]
pub fn measure<A: Arch + ?Sized, R>(arch: &A, f: impl FnOnce() -> R) -> (R, Option<HighWater>) {
    let bounds: Range<usize> = arch.stack_bounds();
    let sp = arch.stack_pointer();
    if !(cfg!(any(target_arch = "aarch64", target_arch = "x86_64")) && bounds.contains(&sp)) {
        return (f(), None);
    }
    let low = sp
        .saturating_sub(WINDOW)
        .max(bounds.start)
        .next_multiple_of(8);
    #[cfg(any(target_arch = "aarch64", target_arch = "x86_64"))]
    {
        // SAFETY: `Arch::stack_bounds` promises [start, end) is this CPU's own stack, exposed;
        // `paint` writes only below the stack pointer it reads, where no frame lives.
        let top = unsafe { paint(low) };
        let result = call(f);
        // SAFETY: as above, [low, top) is part of this CPU's stack.
        let lowest = unsafe { lowest_used(low, top) };
        let mark = HighWater {
            bytes: top - lowest,
            saturated: lowest == low,
        };
        (result, Some(mark))
    }
    #[cfg(not(any(target_arch = "aarch64", target_arch = "x86_64")))]
    {
        let _ = low;
        (f(), None)
    }
}
