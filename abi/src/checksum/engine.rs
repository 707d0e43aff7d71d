//! Engine selection and the hardware CRC-32C engines: the one module of this crate with
//! `unsafe` code.
//!
//! Three kinds of `unsafe`, each audited below:
//! - calling a `#[target_feature]` function, only with a [`Detected`] token in hand: proof
//!   that run-time detection said the CPU has the feature (or it is a compile-time target
//!   feature). The token is the only way in, so no safe function here relies on its caller;
//! - reading the CPU's feature registers (`cpuid` and `xgetbv` on `x86_64`,
//!   `mrs ID_AA64ISAR0_EL1` on aarch64);
//! - on `x86_64`, one block of inline assembly: the AVX-512 VPCLMULQDQ folding loop, entered
//!   only with a second token (`Wide`) proving that `cpuid` and `xgetbv` reported the
//!   instructions and the operating system's support for their registers. It is assembly
//!   rather than intrinsics because the AVX-512 intrinsics and target features need Rust 1.89
//!   and this crate's MSRV is 1.88.
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
    } else if let Some(cpu) = Detected::get() {
        hw::engine(cpu)
    } else {
        Engine::Table
    }
}

/// The CPU's CRC-32C engine, if this CPU has one, whatever is installed: for benchmarks,
/// tests, and an embedder that wants to compare.
pub fn hardware() -> Option<UpdateFn> {
    Detected::get().map(|_| hardware_update as UpdateFn)
}

/// The wide engine, if this CPU has it: on `x86_64`, AVX-512 with VPCLMULQDQ (detected at run
/// time with `cpuid` and `xgetbv`), which folds inputs of 512 bytes and more 256 bytes at a
/// time in four 512-bit registers (about twice the automatic engine's throughput, near
/// memcpy's) and hands the rest to the automatic engine. `None` elsewhere.
///
/// Not chosen automatically: it is opt-in, `install(checksum::wide())`, for code that may use
/// the 512-bit registers (user space, a boot tool) and does not count every byte of code (the
/// automatic path stays within the firmware decoders' 8 KiB budget without it).
pub fn wide() -> Option<UpdateFn> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        hw::wide_engine()
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        None
    }
}

/// The hardware engine as a plain [`UpdateFn`]: it asks for the token on each call (a cached
/// load), so the function pointer [`hardware`] hands out is safe wherever it is called.
fn hardware_update(state: u32, bytes: &[u8]) -> u32 {
    match Detected::get() {
        Some(cpu) => hw::update_detected(cpu, state, bytes),
        None => table_update(state, bytes),
    }
}

/// Each hardware engine this CPU runs, on its own whatever the input length, by name: for the
/// tests, which check each against the `crc` crate and against each other.
#[cfg(test)]
pub(super) fn hardware_engines() -> impl Iterator<Item = (&'static str, UpdateFn)> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        fn narrow(state: u32, bytes: &[u8]) -> u32 {
            Detected::get().map_or(0, |cpu| hw::update_narrow(cpu, state, bytes))
        }
        fn wide(state: u32, bytes: &[u8]) -> u32 {
            Detected::get()
                .and_then(hw::Wide::get)
                .map_or(0, |w| hw::update_wide(w, state, bytes))
        }
        let cpu = Detected::get();
        let narrow = cpu.map(|_| ("sse4.2", narrow as UpdateFn));
        let wide = cpu
            .and_then(hw::Wide::get)
            .map(|_| ("avx512-vpclmulqdq", wide as UpdateFn));
        narrow.into_iter().chain(wide)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        hardware().map(|f| ("hardware", f)).into_iter()
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

    pub(super) use wide::Wide;

    /// The engine a CPU with the narrow engine's instructions (`cpu`) runs.
    pub(super) fn engine(cpu: Detected) -> Engine {
        let _ = cpu;
        Engine::X86Sse42
    }

    /// The wide engine as a plain [`UpdateFn`](super::UpdateFn), when this CPU has it.
    pub(super) fn wide_engine() -> Option<super::UpdateFn> {
        Detected::get()
            .and_then(Wide::get)
            .map(|_| wide_update as super::UpdateFn)
    }

    /// The wide engine: asks for its token on each call (a cached load), so the function
    /// pointer [`wide_engine`] hands out is safe wherever it is called.
    fn wide_update(state: u32, bytes: &[u8]) -> u32 {
        match Detected::get() {
            Some(cpu) => match Wide::get(cpu) {
                Some(wide) if bytes.len() >= wide::MIN_LEN => update_wide(wide, state, bytes),
                _ => update_narrow(cpu, state, bytes),
            },
            None => super::table_update(state, bytes),
        }
    }

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
        update_narrow(cpu, state, bytes)
    }

    /// The narrow engine alone (SSE4.2 and PCLMULQDQ).
    pub(super) fn update_narrow(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        // SAFETY: a `Detected` exists only once `detect()` confirmed SSE4.2 and PCLMULQDQ
        // (`Detected::get` is its one constructor), the features `update` is compiled for.
        unsafe { update(state, bytes) }
    }

    /// The wide folding over the whole 256-byte blocks of `bytes` (at least one), then the
    /// narrow engine over the rest.
    pub(super) fn update_wide(wide: Wide, state: u32, bytes: &[u8]) -> u32 {
        let (blocks, rest) = bytes.as_chunks::<256>();
        let state = wide::fold(wide, state, blocks);
        update_narrow(wide.narrow(), state, rest)
    }

    /// AVX-512 VPCLMULQDQ folding (the [`Wide`] token proves the CPU and OS have it).
    pub(super) mod wide {
        use core::sync::atomic::{AtomicU8, Ordering};

        use super::super::Detected;
        use super::xpow;

        /// Inputs from this length on take the wide path: below it the set-up and the final
        /// reduction cost more than the narrow engine saves.
        pub(crate) const MIN_LEN: usize = 512;

        /// Proof that the CPU has AVX-512F, AVX-512VL, VPCLMULQDQ, AVX2 (and the narrow
        /// engine's SSE4.2 and PCLMULQDQ), and that the OS saves the AVX-512 registers: only
        /// [`Wide::get`] makes one, from a [`Detected`] whose detection said so.
        #[derive(Clone, Copy, Debug)]
        pub(crate) struct Wide(Detected);

        /// Cached result of the wide engine's detection.
        static DETECTED: AtomicU8 = AtomicU8::new(UNKNOWN);
        const UNKNOWN: u8 = 0;
        const ABSENT: u8 = 1;
        const PRESENT: u8 = 2;

        impl Wide {
            /// The token, when the CPU (proven by `cpu` to have the narrow engine) has the wide
            /// one too: detected once, then cached.
            #[inline]
            pub(crate) fn get(cpu: Detected) -> Option<Wide> {
                let found = match DETECTED.load(Ordering::Relaxed) {
                    PRESENT => true,
                    ABSENT => false,
                    _ => {
                        let found = detect(super::cpuid_leaf1_ecx());
                        DETECTED.store(if found { PRESENT } else { ABSENT }, Ordering::Relaxed);
                        found
                    }
                };
                found.then_some(Wide(cpu))
            }

            /// The narrow engine's token, implied.
            pub(crate) fn narrow(self) -> Detected {
                self.0
            }
        }

        // `__cpuid` and `__cpuid_count` are safe functions in recent Rust and `unsafe fn`s in
        // older releases.
        /// Whether the CPU and the OS run the wide engine; `leaf1_ecx` is `cpuid` leaf 1's ECX.
        #[allow(unused_unsafe)]
        fn detect(leaf1_ecx: u32) -> bool {
            if cfg!(miri) {
                return false;
            }
            // SAFETY: every x86_64 CPU has `cpuid`, and leaf 0 exists on all of them.
            let max_leaf = unsafe { core::arch::x86_64::__cpuid(0) }.eax;
            // OSXSAVE (the OS enabled XSAVE, so `xgetbv` runs) and AVX.
            if max_leaf < 7 || leaf1_ecx & (1 << 27) == 0 || leaf1_ecx & (1 << 28) == 0 {
                return false;
            }
            // SAFETY: leaf 7 exists (max_leaf >= 7).
            let leaf7 = unsafe { core::arch::x86_64::__cpuid_count(7, 0) };
            let avx2 = leaf7.ebx & (1 << 5) != 0;
            let avx512f = leaf7.ebx & (1 << 16) != 0;
            let avx512vl = leaf7.ebx & (1 << 31) != 0;
            let vpclmulqdq = leaf7.ecx & (1 << 10) != 0;
            if !(avx2 && avx512f && avx512vl && vpclmulqdq) {
                return false;
            }
            let lo: u32;
            // SAFETY: `xgetbv` with ECX = 0 reads XCR0; it runs when CPUID.1:ECX.OSXSAVE is
            // set, checked above. No memory, no stack, flags untouched.
            unsafe {
                core::arch::asm!(
                    "xgetbv",
                    in("ecx") 0u32,
                    out("eax") lo,
                    out("edx") _,
                    options(nomem, nostack, preserves_flags)
                );
            }
            // SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM state enabled by the OS.
            lo & 0xE6 == 0xE6
        }

        /// The two keys that move a 128-bit lane `bits` further on: its low (earlier) 64 bits
        /// are multiplied by `x^(bits + 64)`, its high 64 bits by `x^bits`, each less the 33
        /// bits the reflected product and the final `crc32` add (as the narrow engine's
        /// `shift_key`).
        const fn lane_keys(bits: usize) -> [u64; 2] {
            [xpow(bits + 64 - 33), xpow(bits - 33)]
        }

        /// The keys, 64-byte aligned: 256 bytes on (the loop), 64 bytes on (the registers
        /// into the last), and per lane of the last register 48, 32 and 16 bytes on (lane 3
        /// stays: its keys are zero and it is xored in as it is).
        #[repr(C, align(64))]
        struct Keys {
            block: [u64; 2],
            register: [u64; 2],
            _pad: [u64; 4],
            lanes: [u64; 8],
        }

        static KEYS: Keys = {
            let [b0, b1] = lane_keys(2048);
            let [r0, r1] = lane_keys(512);
            let [a0, a1] = lane_keys(384);
            let [c0, c1] = lane_keys(256);
            let [d0, d1] = lane_keys(128);
            Keys {
                block: [b0, b1],
                register: [r0, r1],
                _pad: [0; 4],
                lanes: [a0, a1, c0, c1, d0, d1, 0, 0],
            }
        };

        /// The register after `state` and `blocks` (empty: `state`).
        pub(crate) fn fold(wide: Wide, state: u32, blocks: &[[u8; 256]]) -> u32 {
            let _ = wide;
            let Some(count) = core::num::NonZeroUsize::new(blocks.len()) else {
                return state;
            };
            let crc: u64;
            // SAFETY: `wide` proves the CPU runs AVX-512F/VL, VPCLMULQDQ, AVX2 and SSE4.2 and
            // that the OS saves the ZMM state (`Wide::get` is its one constructor). The
            // assembly reads `count` 256-byte blocks from `blocks.as_ptr()` (exactly the
            // slice) and the `KEYS` static, writes no memory, uses no stack, and writes only
            // the registers declared: zmm0-zmm6 (declared by their xmm halves; their upper
            // halves hold nothing of the compiler's, which keeps no AVX state live across
            // this non-inlined function's asm and treats all vector registers as
            // caller-saved), the pointer and counter it is given, rax, rdx, rcx and the flags.
            // It ends with `vzeroupper`.
            unsafe {
                core::arch::asm!(
                    "vmovdqu64 zmm0, [{p}]",
                    "vmovdqu64 zmm1, [{p} + 64]",
                    "vmovdqu64 zmm2, [{p} + 128]",
                    "vmovdqu64 zmm3, [{p} + 192]",
                    "vmovd xmm4, {s:e}",
                    "vpxorq zmm0, zmm0, zmm4",
                    "add {p}, 256",
                    "dec {n}",
                    "jz 3f",
                    "vbroadcasti32x4 zmm4, [{k}]",
                    "2:",
                    "vpclmulqdq zmm5, zmm0, zmm4, 0x00",
                    "vpclmulqdq zmm0, zmm0, zmm4, 0x11",
                    "vpternlogq zmm0, zmm5, [{p}], 0x96",
                    "vpclmulqdq zmm5, zmm1, zmm4, 0x00",
                    "vpclmulqdq zmm1, zmm1, zmm4, 0x11",
                    "vpternlogq zmm1, zmm5, [{p} + 64], 0x96",
                    "vpclmulqdq zmm5, zmm2, zmm4, 0x00",
                    "vpclmulqdq zmm2, zmm2, zmm4, 0x11",
                    "vpternlogq zmm2, zmm5, [{p} + 128], 0x96",
                    "vpclmulqdq zmm5, zmm3, zmm4, 0x00",
                    "vpclmulqdq zmm3, zmm3, zmm4, 0x11",
                    "vpternlogq zmm3, zmm5, [{p} + 192], 0x96",
                    "add {p}, 256",
                    "dec {n}",
                    "jnz 2b",
                    "3:",
                    // Register 0 into 1, 1 into 2, 2 into 3: each 64 bytes on.
                    "vbroadcasti32x4 zmm4, [{k} + 16]",
                    "vpclmulqdq zmm5, zmm0, zmm4, 0x00",
                    "vpclmulqdq zmm0, zmm0, zmm4, 0x11",
                    "vpternlogq zmm1, zmm0, zmm5, 0x96",
                    "vpclmulqdq zmm5, zmm1, zmm4, 0x00",
                    "vpclmulqdq zmm1, zmm1, zmm4, 0x11",
                    "vpternlogq zmm2, zmm1, zmm5, 0x96",
                    "vpclmulqdq zmm5, zmm2, zmm4, 0x00",
                    "vpclmulqdq zmm2, zmm2, zmm4, 0x11",
                    "vpternlogq zmm3, zmm2, zmm5, 0x96",
                    // Lanes 0, 1, 2 of register 3 moved onto lane 3 (whose keys are zero).
                    "vmovdqa64 zmm4, [{k} + 64]",
                    "vpclmulqdq zmm5, zmm3, zmm4, 0x00",
                    "vpclmulqdq zmm6, zmm3, zmm4, 0x11",
                    "vpxorq zmm5, zmm5, zmm6",
                    "vextracti64x4 ymm6, zmm5, 1",
                    "vpxorq ymm5, ymm5, ymm6",
                    "vextracti128 xmm6, ymm5, 1",
                    "vpxorq xmm5, xmm5, xmm6",
                    "vextracti32x4 xmm6, zmm3, 3",
                    "vpxorq xmm5, xmm5, xmm6",
                    // The 16 bytes left, through `crc32` from zero: the register.
                    "vmovq rax, xmm5",
                    "vpextrq rdx, xmm5, 1",
                    "xor ecx, ecx",
                    "crc32 rcx, rax",
                    "crc32 rcx, rdx",
                    "vzeroupper",
                    p = inout(reg) blocks.as_ptr() => _,
                    n = inout(reg) count.get() => _,
                    s = in(reg) state,
                    k = in(reg) &raw const KEYS,
                    out("rax") _,
                    out("rdx") _,
                    out("rcx") crc,
                    out("xmm0") _,
                    out("xmm1") _,
                    out("xmm2") _,
                    out("xmm3") _,
                    out("xmm4") _,
                    out("xmm5") _,
                    out("xmm6") _,
                    options(readonly, nostack),
                );
            }
            // `crc32` leaves a 32-bit value zero-extended.
            #[allow(clippy::cast_possible_truncation)]
            {
                crc as u32
            }
        }
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
    pub(super) const fn xpow(e: usize) -> u64 {
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

    pub(super) fn engine(cpu: Detected) -> Engine {
        let _ = cpu;
        Engine::Arm64Crc
    }

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

    pub(super) fn engine(cpu: Detected) -> Engine {
        let _ = cpu;
        Engine::Table
    }

    pub(super) fn detect() -> bool {
        false
    }

    pub(super) fn update_detected(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        super::table_update(state, bytes)
    }
}
