//! Engine selection and the hardware CRC-32C engines: the one module of this crate with
//! `unsafe` code.
//!
//! Three kinds of `unsafe`, each audited below:
//! - calling a `#[target_feature]` function, only with a [`Detected`] token in hand: proof
//!   that run-time detection said the CPU has the feature (or it is a compile-time target
//!   feature). The token is the only way in, so no safe function here relies on its caller;
//! - reading the CPU's feature registers (`cpuid` on `x86_64`, `mrs ID_AA64ISAR0_EL1` on aarch64);
//! - turning the pointer that [`install`] stored back into the [`UpdateFn`] it came from.
#![allow(unsafe_code)]

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use super::{UpdateFn, table_update};

/// The engine [`update`](super::update) uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Engine {
    /// `crc`'s `Table<16>`: no usable CRC instructions were found.
    Table,
    /// `x86_64` SSE4.2: three interleaved `crc32` streams, combined with PCLMULQDQ.
    X86Sse42,
    /// aarch64 CRC extension (`crc32cx`).
    Arm64Crc,
    /// The function given to [`install`].
    Installed,
}

/// The function [`install`] stored, cast to a data pointer; null when none is installed.
static INSTALLED: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

/// Makes every CRC of this crate go through `f` (`Some`), or restores the automatic choice
/// (`None`). Takes effect for calls that start afterwards, on every thread.
///
/// `f` must compute CRC-32C with the raw-register convention of [`UpdateFn`] (Linux's
/// `crc32c()` does); a wrong function makes every record fail its checksum, nothing worse.
/// It must not call back into this crate's CRC functions, which would recurse.
pub fn install(f: Option<UpdateFn>) {
    let p = f.map_or(ptr::null_mut(), |f| f as *mut ());
    // Release: whatever the embedder set up before installing `f` is visible to the threads
    // that call it.
    INSTALLED.store(p, Ordering::Release);
}

/// The installed function, if any.
#[inline]
fn installed() -> Option<UpdateFn> {
    let p = INSTALLED.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: `INSTALLED` holds null or a pointer made by `install` from an `UpdateFn` with
    // `as *mut ()`; transmuting it back yields that same function pointer (the round trip the
    // `transmute` docs show; the sizes are equal, which `transmute` checks at compile time).
    Some(unsafe { core::mem::transmute::<*mut (), UpdateFn>(p) })
}

/// Proof that this CPU has the instructions of the hardware engine (`hw`): a zero-sized
/// token that only [`Detected::get`] makes, and only after detection said so. `hw`'s engine
/// takes one, so it is a safe function that no caller can reach on the wrong CPU.
mod token {
    use core::sync::atomic::{AtomicU8, Ordering};

    /// The CPU has the hardware engine's instructions (see the [module](self) docs).
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Detected(());

    /// Cached result of CPU detection.
    static DETECTED: AtomicU8 = AtomicU8::new(UNKNOWN);
    const UNKNOWN: u8 = 0;
    const ABSENT: u8 = 1;
    const PRESENT: u8 = 2;

    impl Detected {
        /// The token, when the CPU has the hardware engine: detected once, then cached.
        #[inline]
        pub(super) fn get() -> Option<Detected> {
            let found = match DETECTED.load(Ordering::Relaxed) {
                PRESENT => true,
                ABSENT => false,
                _ => {
                    // Detection is idempotent, so racing threads may both run it.
                    let found = super::hw::detect();
                    DETECTED.store(if found { PRESENT } else { ABSENT }, Ordering::Relaxed);
                    found
                }
            };
            found.then_some(Detected(()))
        }
    }
}

use token::Detected;

/// The engine [`update`](super::update) uses now.
pub fn active() -> Engine {
    if installed().is_some() {
        Engine::Installed
    } else if Detected::get().is_some() {
        hw::ENGINE
    } else {
        Engine::Table
    }
}

/// The CPU's CRC-32C engine, if this CPU has one, whatever is installed: for benchmarks,
/// tests, and an embedder that wants to compare.
pub fn hardware() -> Option<UpdateFn> {
    Detected::get().map(|_| hardware_update as UpdateFn)
}

/// The hardware engine as a plain [`UpdateFn`]: it asks for the token on each call (a cached
/// load), so the function pointer [`hardware`] hands out is safe wherever it is called.
fn hardware_update(state: u32, bytes: &[u8]) -> u32 {
    match Detected::get() {
        Some(cpu) => hw::update_detected(cpu, state, bytes),
        None => table_update(state, bytes),
    }
}

/// The function [`update`](super::update) calls now.
#[inline]
pub(super) fn current() -> UpdateFn {
    if let Some(f) = installed() {
        f
    } else if Detected::get().is_some() {
        hardware_update
    } else {
        table_update
    }
}

/// `x86_64` with SSE2 as a target feature (so XMM registers may be used at all).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod hw {
    use core::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_crc32_u8, _mm_crc32_u64, _mm_cvtsi64_si128, _mm_cvtsi128_si64,
    };

    use super::{Detected, Engine};

    pub(super) const ENGINE: Engine = Engine::X86Sse42;

    /// Whether the CPU has SSE4.2 (`crc32`) and PCLMULQDQ.
    pub(super) fn detect() -> bool {
        // Miri runs neither `cpuid` nor the intrinsics' inline assembly: under it the table
        // engine computes every checksum, so the code above the CRC can be checked there.
        if cfg!(miri) {
            return false;
        }
        if cfg!(all(target_feature = "sse4.2", target_feature = "pclmulqdq")) {
            return true;
        }
        let ecx = cpuid_leaf1_ecx();
        ecx & (1 << 20) != 0 && ecx & (1 << 1) != 0
    }

    // `__cpuid` is a safe function in recent Rust and an `unsafe fn` in older releases.
    #[allow(unused_unsafe)]
    fn cpuid_leaf1_ecx() -> u32 {
        // SAFETY: every x86_64 CPU has `cpuid`, and leaf 1 exists on all of them.
        unsafe { core::arch::x86_64::__cpuid(1) }.ecx
    }

    /// The engine, on a CPU that `cpu` proves has it.
    pub(super) fn update_detected(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        // SAFETY: a `Detected` exists only once `detect()` confirmed SSE4.2 and PCLMULQDQ
        // (`Detected::get` is its one constructor), the features `update` is compiled for.
        unsafe { update(state, bytes) }
    }

    /// The round sizes, longest first: 3 streams of 4 KiB, then of 256 bytes (the shifts cost
    /// the same whatever the length, so long rounds amortise them; short ones serve records
    /// of a few KiB).
    const TIERS: [Tier; 2] = [Tier::new(512), Tier::new(32)];

    /// Rounds of three streams of `words` 8-byte words, with the keys that shift the first two
    /// registers over the blocks after them.
    struct Tier {
        words: usize,
        two_blocks: u64,
        one_block: u64,
    }

    impl Tier {
        const fn new(words: usize) -> Tier {
            Tier {
                words,
                two_blocks: shift_key(2 * words),
                one_block: shift_key(words),
            }
        }
    }

    /// `x^e mod P`, bit-reflected (bit 31 is `x^0`), where P is the CRC-32C polynomial.
    const fn xpow(e: usize) -> u64 {
        let mut r: u32 = 0x8000_0000;
        let mut i = 0;
        while i < e {
            r = if r & 1 == 0 {
                r >> 1
            } else {
                (r >> 1) ^ 0x82F6_3B78
            };
            i += 1;
        }
        r as u64
    }

    /// The key that moves a register over `words` 8-byte words of zeros: `x^(64w - 33)`.
    /// The 33 accounts for the `crc32` that finishes the shift (32) and for the reflected
    /// carry-less product being one bit short (1).
    const fn shift_key(words: usize) -> u64 {
        xpow(64 * words - 33)
    }

    /// `crc32(0, x * k)`: the register `x` moved over the zeros `k` was made for.
    #[inline]
    #[target_feature(enable = "sse4.2,pclmulqdq")]
    fn shift(x: u64, k: u64) -> u64 {
        // Bit patterns, not numbers.
        #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
        let product = _mm_cvtsi128_si64(_mm_clmulepi64_si128::<0x00>(
            _mm_cvtsi64_si128(x as i64),
            _mm_cvtsi64_si128(k as i64),
        )) as u64;
        _mm_crc32_u64(0, product)
    }

    /// Rounds of three `crc32` streams over consecutive blocks of `tier.words` words each: one
    /// stream is bound by the instruction's 3-cycle latency, three fill its 1-per-cycle
    /// throughput. The first two registers are then shifted over the blocks after them and
    /// xored into the third. Returns the register and the words left over. Not inlined: one
    /// copy of the loop serves every tier.
    #[inline(never)]
    #[target_feature(enable = "sse4.2,pclmulqdq")]
    fn three_way<'a>(state: u32, words: &'a [[u8; 8]], tier: &Tier) -> (u32, &'a [[u8; 8]]) {
        let mut crc = state;
        let mut rounds = words.chunks_exact(3 * tier.words);
        for round in rounds.by_ref() {
            let (first, rest) = round.split_at(tier.words);
            let (second, third) = rest.split_at(tier.words);
            let (mut r1, mut r2, mut r3) = (u64::from(crc), 0, 0);
            for ((w1, w2), w3) in first.iter().zip(second).zip(third) {
                r1 = _mm_crc32_u64(r1, u64::from_le_bytes(*w1));
                r2 = _mm_crc32_u64(r2, u64::from_le_bytes(*w2));
                r3 = _mm_crc32_u64(r3, u64::from_le_bytes(*w3));
            }
            let moved = shift(r1, tier.two_blocks) ^ shift(r2, tier.one_block);
            // A 32-bit register zero-extended.
            #[allow(clippy::cast_possible_truncation)]
            {
                crc = (moved ^ r3) as u32;
            }
        }
        (crc, rounds.remainder())
    }

    #[target_feature(enable = "sse4.2,pclmulqdq")]
    fn update(state: u32, bytes: &[u8]) -> u32 {
        let (mut words, tail) = bytes.as_chunks::<8>();
        let mut state = state;
        for tier in &TIERS {
            if words.len() >= 3 * tier.words {
                (state, words) = three_way(state, words, tier);
            }
        }
        let mut crc = u64::from(state);
        for w in words {
            crc = _mm_crc32_u64(crc, u64::from_le_bytes(*w));
        }
        // A 32-bit register zero-extended.
        #[allow(clippy::cast_possible_truncation)]
        let mut crc = crc as u32;
        for &b in tail {
            crc = _mm_crc32_u8(crc, b);
        }
        crc
    }
}

/// aarch64: the CRC extension, mandatory from Armv8.1 and present on nearly every v8.0 core.
#[cfg(target_arch = "aarch64")]
mod hw {
    use core::arch::aarch64::{__crc32cb, __crc32cd};

    use super::{Detected, Engine};

    pub(super) const ENGINE: Engine = Engine::Arm64Crc;

    /// Whether the CPU has the CRC extension: a compile-time target feature, or
    /// `ID_AA64ISAR0_EL1.CRC32` read where that register is readable (at EL1, as in a kernel
    /// or boot stub, and at EL0 under Linux, which emulates the read since 4.11).
    pub(super) fn detect() -> bool {
        // As on x86_64: Miri runs no inline assembly, the table engine serves it.
        if cfg!(miri) {
            return false;
        }
        if cfg!(target_feature = "crc") {
            return true;
        }
        #[cfg(any(target_os = "linux", target_os = "none"))]
        {
            let isar0: u64;
            // SAFETY: reading an ID register has no side effect; it is readable at EL1 and
            // emulated for EL0 by Linux (HWCAP_CPUID).
            unsafe {
                core::arch::asm!(
                    "mrs {}, ID_AA64ISAR0_EL1",
                    out(reg) isar0,
                    options(nomem, nostack, preserves_flags)
                );
            }
            (isar0 >> 16) & 0xf != 0
        }
        #[cfg(not(any(target_os = "linux", target_os = "none")))]
        false
    }

    /// The engine, on a CPU that `cpu` proves has it.
    pub(super) fn update_detected(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        // SAFETY: a `Detected` exists only once `detect()` confirmed the CRC extension
        // (`Detected::get` is its one constructor), the feature `update` is compiled for.
        unsafe { update(state, bytes) }
    }

    #[target_feature(enable = "crc")]
    fn update(state: u32, bytes: &[u8]) -> u32 {
        let (words, tail) = bytes.as_chunks::<8>();
        let mut crc = state;
        for w in words {
            crc = __crc32cd(crc, u64::from_le_bytes(*w));
        }
        for &b in tail {
            crc = __crc32cb(crc, b);
        }
        crc
    }
}

/// Elsewhere: no hardware engine.
#[cfg(not(any(
    all(target_arch = "x86_64", target_feature = "sse2"),
    target_arch = "aarch64"
)))]
mod hw {
    use super::{Detected, Engine};

    pub(super) const ENGINE: Engine = Engine::Table;

    pub(super) fn detect() -> bool {
        false
    }

    pub(super) fn update_detected(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        super::table_update(state, bytes)
    }
}
