//! The freestanding runtime: entry point, exit, panic handler, and the memory functions the
//! compiler calls, on `x86_64` Linux with no C library. This is the image's only `unsafe`.
//!
//! Built for a bare-metal target (`target_os = "none"`: `aarch64-unknown-none-softfloat`,
//! `x86_64-unknown-none`) the image is only measured, never run (`stack-report.sh` reads its
//! frames): `_start` calls the checks and spins, and `compiler_builtins` brings the memory
//! functions.
#![allow(unsafe_code)]

#[cfg(target_os = "linux")]
use core::arch::{asm, global_asm};

#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    let status = crate::exercise::run();
    loop {
        core::hint::black_box(status);
        core::hint::spin_loop();
    }
}

// The kernel enters `_start` with a 16-byte aligned stack and no return address: align it as
// a call would and call into Rust, which never returns.
#[cfg(target_os = "linux")]
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

#[cfg(target_os = "linux")]
extern "C" fn entry() -> ! {
    exit(crate::exercise::run())
}

/// Ends the process with `code`, by the `exit_group` system call.
#[cfg(target_os = "linux")]
pub fn exit(code: u8) -> ! {
    // SAFETY: `exit_group` takes one integer argument and does not return.
    unsafe {
        asm!("syscall", in("rax") 231, in("rdi") i32::from(code), options(noreturn, nostack));
    }
}

/// A panic ends the image with status 101, as a Rust program's would.
#[cfg(all(not(feature = "prove-no-panic"), target_os = "linux"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(101)
}

/// A panic on bare metal spins.
#[cfg(all(not(feature = "prove-no-panic"), target_os = "none"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// The proof: this handler calls a symbol that exists nowhere, so the link fails if any path
/// to a panic is left in the optimised image.
#[cfg(feature = "prove-no-panic")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe extern "C" {
        fn __proof_failed_a_panic_path_is_reachable() -> !;
    }
    // SAFETY: never runs: the image does not link while this call is reachable.
    unsafe { __proof_failed_a_panic_path_is_reachable() }
}

/// `core` is prebuilt with unwinding tables that name the personality routine; with
/// `panic = "abort"` nothing unwinds, so it is never called.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

// The memory functions the compiler emits calls to. `rep movsb`/`rep stosb` are fast on every
// CPU with ERMS and short; the comparison is a plain loop (LLVM does not turn a loop into a
// call to `memcmp`, unlike copies and fills).

/// C `memcpy`.
///
/// # Safety
///
/// `src` and `dest` are valid for `n` bytes and do not overlap.
#[cfg(target_os = "linux")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract; the direction flag is clear on entry (SysV ABI).
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dest
}

/// C `memmove`.
///
/// # Safety
///
/// `src` and `dest` are valid for `n` bytes.
#[cfg(target_os = "linux")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // `dest` is below `src` or past its end: a forward copy reads each byte before it is
        // overwritten.
        // SAFETY: the caller's contract.
        return unsafe { memcpy(dest, src, n) };
    }
    // SAFETY: the caller's contract; copying backwards from the last byte (direction flag
    // set, then cleared again as the ABI requires) reads each byte before it is overwritten.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rcx") n => _,
             inout("rdi") dest.wrapping_add(n.wrapping_sub(1)) => _,
             inout("rsi") src.wrapping_add(n.wrapping_sub(1)) => _,
             options(nostack));
    }
    dest
}

/// C `memset`.
///
/// # Safety
///
/// `dest` is valid for `n` bytes.
#[cfg(target_os = "linux")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // C passes the byte as an int and uses its low 8 bits.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let byte = c as u8;
    // SAFETY: the caller's contract; the direction flag is clear on entry.
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dest => _, in("al") byte,
             options(nostack, preserves_flags));
    }
    dest
}

/// C `memcmp`.
///
/// # Safety
///
/// `a` and `b` are valid for `n` bytes.
#[cfg(target_os = "linux")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(left: *const u8, right: *const u8, n: usize) -> i32 {
    if n == 0 {
        return 0;
    }
    // SAFETY: the caller's contract, and n > 0 so the pointers are not dangling.
    let left = unsafe { core::slice::from_raw_parts(left, n) };
    // SAFETY: as above.
    let right = unsafe { core::slice::from_raw_parts(right, n) };
    for (l, r) in left.iter().zip(right) {
        if l != r {
            return i32::from(*l) - i32::from(*r);
        }
    }
    0
}

/// C `bcmp`: zero when equal.
///
/// # Safety
///
/// `a` and `b` are valid for `n` bytes.
#[cfg(target_os = "linux")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract.
    unsafe { memcmp(a, b, n) }
}
