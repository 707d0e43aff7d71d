//! Engine selection and the hardware CRC-32C engines: the one module of this crate with
//! `unsafe` code.
//!
//! Three kinds of `unsafe`, each audited below:
//! - calling a `#[target_feature]` function, only with a [`Detected`] token in hand: proof
//!   that run-time detection said the CPU has the feature (or it is a compile-time target
//!   feature). The token is the only way in, so no safe function here relies on its caller;
//! - reading the CPU's feature registers (`cpuid` and `xgetbv` on `x86_64`,
//!   `mrs ID_AA64ISAR0_EL1` on aarch64);
//! - on `x86_64`, two blocks of inline assembly: the VPCLMULQDQ folding of the 256-bit (AVX2,
//!   with three `crc32` streams beside it) and 512-bit (AVX-512) engines, entered only with a
//!   second token (`Wide`) proving that `cpuid` and `xgetbv` reported the instructions and the
//!   operating system's support for their registers. They are assembly rather than intrinsics
//!   because the VPCLMULQDQ and AVX-512 intrinsics and target features need Rust 1.89 and this
//!   crate's MSRV is 1.88. (aarch64's PMULL engine uses the stable NEON intrinsics, behind a
//!   `Pmull` token.)
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
    /// `x86_64` AVX2 VPCLMULQDQ: rounds of four 256-bit registers folding beside three
    /// `crc32` streams (inputs of 1864 bytes and more), the rest through
    /// [`Engine::X86Sse42`].
    X86Avx2Vpclmul,
    /// aarch64 CRC extension (`crc32cx`).
    Arm64Crc,
    /// aarch64 PMULL folding (NEON and the PMULL of the Crypto extension) of long inputs, the
    /// rest and the final reduction through [`Engine::Arm64Crc`].
    Arm64Pmull,
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

/// Proof that this CPU has the instructions of the hardware engine (`hw`), and how far: a
/// token that only [`Detected::get`] makes, and only after detection said so. `hw`'s engines
/// take one, so they are safe functions that no caller can reach on the wrong CPU.
mod token {
    use core::sync::atomic::{AtomicU8, Ordering};

    /// The CPU has the hardware engine's instructions (see the [module](self) docs), at the
    /// level `hw::detect` reported (at least 1; each architecture's `hw` names its levels).
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Detected(u8);

    /// Cached result of CPU detection: the level plus one, or 0 before detection ran.
    static DETECTED: AtomicU8 = AtomicU8::new(0);

    impl Detected {
        /// The token, when the CPU has the hardware engine: detected once, then cached.
        #[inline]
        pub(super) fn get() -> Option<Detected> {
            let level = match DETECTED.load(Ordering::Relaxed) {
                0 => {
                    // Detection is idempotent, so racing threads may both run it.
                    let level = super::hw::detect();
                    DETECTED.store(level.saturating_add(1), Ordering::Relaxed);
                    level
                }
                cached => cached - 1,
            };
            (level != 0).then_some(Detected(level))
        }

        /// What detection found: 1 for the narrow engine's instructions, more for the vector
        /// engines' (each architecture's `hw` names its levels).
        #[inline]
        pub(super) fn level(self) -> u8 {
            self.0
        }
    }
}

use token::Detected;

/// The engine [`update`](super::update) uses now, on long inputs (the vector engines leave
/// inputs shorter than a few hundred bytes to the narrow engine of the same CPU).
pub fn active() -> Engine {
    if installed().is_some() {
        Engine::Installed
    } else if let Some(cpu) = Detected::get() {
        hw::engine(cpu)
    } else {
        Engine::Table
    }
}

/// The CPU's CRC-32C instructions alone, without vector folding, if this CPU has them
/// (`x86_64`: SSE4.2 `crc32` in three streams combined with PCLMULQDQ; aarch64: `crc32cx`),
/// whatever is installed: for benchmarks, tests, and an embedder that wants to compare.
pub fn hardware() -> Option<UpdateFn> {
    Detected::get().map(|_| hardware_update as UpdateFn)
}

/// The widest vector folding engine, if this CPU has one, whatever is installed.
///
/// On `x86_64`: where the CPU has AVX-512 and VPCLMULQDQ, the 512-bit engine (four ZMM
/// registers, 256 bytes a step, inputs of 512 bytes and more); it is opt-in,
/// `install(checksum::wide())`, for code that may use the 512-bit registers (some Intel CPUs
/// lower their clock for them) and does not count every byte of code: the automatic path
/// keeps the firmware decoders within their 8 KiB without it. Elsewhere, where the CPU has
/// AVX2 and VPCLMULQDQ, the 256-bit engine ([`Engine::X86Avx2Vpclmul`]), which
/// [`update`](super::update) already uses on its own. On aarch64 with NEON, the PMULL
/// engine ([`Engine::Arm64Pmull`]), also automatic. Short inputs go to the narrow engine
/// ([`hardware`]). `None` elsewhere.
pub fn wide() -> Option<UpdateFn> {
    Detected::get().and_then(hw::wide_engine)
}

/// The narrow hardware engine as a plain [`UpdateFn`]: it asks for the token on each call (a
/// cached load), so the function pointer [`hardware`] hands out is safe wherever it is called.
fn hardware_update(state: u32, bytes: &[u8]) -> u32 {
    match Detected::get() {
        Some(cpu) => hw::update_narrow(cpu, state, bytes),
        None => table_update(state, bytes),
    }
}

/// The automatic hardware engine (vector folding where the CPU has it, for long inputs), as a
/// plain [`UpdateFn`] in the same way.
fn automatic_update(state: u32, bytes: &[u8]) -> u32 {
    match Detected::get() {
        Some(cpu) => hw::update_detected(cpu, state, bytes),
        None => table_update(state, bytes),
    }
}

/// Each hardware engine this CPU runs, on its own whatever the input length (a vector engine
/// folds every whole 256-byte block it is given), by name: for the tests, which check each
/// against the `crc` crate and against each other.
#[cfg(test)]
pub(super) fn hardware_engines() -> impl Iterator<Item = (&'static str, UpdateFn)> {
    let narrow = hardware().map(|f| ("narrow", f));
    narrow.into_iter().chain(hw::vector_engines())
}

/// The function [`update`](super::update) calls now.
#[inline]
pub(super) fn current() -> UpdateFn {
    if let Some(f) = installed() {
        f
    } else if Detected::get().is_some() {
        automatic_update
    } else {
        table_update
    }
}

/// `x^e mod P`, bit-reflected (bit 31 is `x^0`), where P is the CRC-32C polynomial: the
/// folding keys of every hardware engine.
#[cfg(any(
    all(target_arch = "x86_64", target_feature = "sse2"),
    target_arch = "aarch64"
))]
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

/// The two keys that move a 128-bit lane `bits` further on with carry-less multiplies
/// (`pclmulqdq`, `vpclmulqdq`, `pmull`): its low (earlier) 64 bits are multiplied by
/// `x^(bits + 64)`, its high 64 bits by `x^bits`, each less the 33 bits the reflected product
/// and the final `crc32` add (as the `x86_64` narrow engine's `shift_key`).
#[cfg(any(
    all(target_arch = "x86_64", target_feature = "sse2"),
    target_arch = "aarch64"
))]
const fn lane_keys(bits: usize) -> [u64; 2] {
    [xpow(bits + 64 - 33), xpow(bits - 33)]
}

/// `x86_64` with SSE2 as a target feature (so XMM registers may be used at all).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod hw {
    use core::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_crc32_u8, _mm_crc32_u64, _mm_cvtsi64_si128, _mm_cvtsi128_si64,
    };

    use super::{Detected, Engine};

    use wide::Wide;

    /// Detection levels (a [`Detected`] holds one): SSE4.2 and PCLMULQDQ (the narrow engine);
    /// and AVX2 with VPCLMULQDQ; and AVX-512F/VL too, each with the OS's support for the
    /// registers.
    const NARROW: u8 = 1;
    const YMM: u8 = 2;
    const ZMM: u8 = 3;

    /// The engine a CPU at `cpu`'s level runs on long inputs.
    pub(super) fn engine(cpu: Detected) -> Engine {
        match cpu.level() {
            YMM | ZMM => Engine::X86Avx2Vpclmul,
            _ => Engine::X86Sse42,
        }
    }

    /// The level of this CPU (0: no hardware engine): SSE4.2 (`crc32`) and PCLMULQDQ, then
    /// what [`wide::detect`] finds.
    pub(super) fn detect() -> u8 {
        // Miri runs neither `cpuid` nor the intrinsics' inline assembly: under it the table
        // engine computes every checksum, so the code above the CRC can be checked there.
        if cfg!(miri) {
            return 0;
        }
        let ecx = cpuid_leaf1_ecx();
        let narrow = cfg!(all(target_feature = "sse4.2", target_feature = "pclmulqdq"))
            || (ecx & (1 << 20) != 0 && ecx & (1 << 1) != 0);
        if narrow {
            NARROW + wide::detect(ecx)
        } else {
            0
        }
    }

    // `__cpuid` is a safe function in recent Rust and an `unsafe fn` in older releases.
    #[allow(unused_unsafe)]
    fn cpuid_leaf1_ecx() -> u32 {
        // SAFETY: every x86_64 CPU has `cpuid`, and leaf 1 exists on all of them.
        unsafe { core::arch::x86_64::__cpuid(1) }.ecx
    }

    /// The automatic engine, on a CPU that `cpu` proves has the narrow one: the 256-bit
    /// vector engine's rounds where the CPU has it (on AVX-512 CPUs too: the 512-bit engine is
    /// opt-in, see [`wide_engine`]), the narrow engine for the rest.
    pub(super) fn update_detected(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        match Wide::get(cpu) {
            Some(wide) => update_wide(wide.ymm(), state, bytes),
            None => update_narrow(cpu, state, bytes),
        }
    }

    /// The widest vector engine of a CPU at `cpu`'s level: the opt-in 512-bit one, else the
    /// automatic 256-bit one.
    pub(super) fn wide_engine(cpu: Detected) -> Option<super::UpdateFn> {
        match Wide::get(cpu) {
            Some(wide) if wide.is_zmm() => Some(zmm_update),
            Some(_) => Some(super::automatic_update),
            None => None,
        }
    }

    /// The 512-bit engine as a plain [`UpdateFn`](super::UpdateFn): it asks for its token on
    /// each call (a cached load), so the function pointer [`wide_engine`] hands out is safe
    /// wherever it is called. Inputs shorter than [`wide::MIN_LEN`] take the narrow engine.
    fn zmm_update(state: u32, bytes: &[u8]) -> u32 {
        match Detected::get() {
            Some(cpu) => match Wide::get(cpu) {
                Some(wide) if wide.is_zmm() && bytes.len() >= wide::MIN_LEN => {
                    update_wide(wide, state, bytes)
                }
                _ => update_narrow(cpu, state, bytes),
            },
            None => super::table_update(state, bytes),
        }
    }

    /// The narrow engine alone (SSE4.2 and PCLMULQDQ).
    pub(super) fn update_narrow(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        // SAFETY: a `Detected` exists only once `detect()` confirmed SSE4.2 and PCLMULQDQ
        // (`Detected::get` is its one constructor), the features `update` is compiled for.
        unsafe { update(state, bytes) }
    }

    /// The vector engine `wide` names over `bytes`: the 512-bit one folds the whole 256-byte
    /// blocks, the 256-bit one whole rounds (see [`wide::ROUNDS`]); the narrow engine takes
    /// the rest.
    fn update_wide(wide: Wide, state: u32, bytes: &[u8]) -> u32 {
        let (state, rest) = wide::fold(wide, state, bytes);
        update_narrow(wide.narrow(), state, rest)
    }

    /// The 256-bit engine's round: `v`, the register of the vector part from zero, and `s`,
    /// the three streams' registers from zero, joined after `state` (the register before the
    /// round): each moved over what follows it in the round and xored.
    #[target_feature(enable = "sse4.2,pclmulqdq")]
    fn join_round(state: u32, v: u64, s: [u64; 3], keys: &[u64; 4]) -> u32 {
        let [k_state, k_v, k_s1, k_s2] = *keys;
        let [s1, s2, s3] = s;
        let moved =
            shift(u64::from(state), k_state) ^ shift(v, k_v) ^ shift(s1, k_s1) ^ shift(s2, k_s2);
        // A 32-bit register zero-extended.
        #[allow(clippy::cast_possible_truncation)]
        {
            (moved ^ s3) as u32
        }
    }

    /// Each vector engine this CPU runs, forced on every input length (for the tests): the
    /// 256-bit one wherever a vector engine runs, the 512-bit one where the CPU has it.
    #[cfg(test)]
    pub(super) fn vector_engines() -> impl Iterator<Item = (&'static str, super::UpdateFn)> {
        fn ymm(state: u32, bytes: &[u8]) -> u32 {
            Detected::get()
                .and_then(Wide::get)
                .map_or(0, |w| update_wide(w.ymm(), state, bytes))
        }
        fn zmm(state: u32, bytes: &[u8]) -> u32 {
            Detected::get()
                .and_then(Wide::get)
                .filter(|w| w.is_zmm())
                .map_or(0, |w| update_wide(w, state, bytes))
        }
        let wide = Detected::get().and_then(Wide::get);
        let ymm = wide.map(|_| ("avx2-vpclmulqdq", ymm as super::UpdateFn));
        let zmm = wide
            .filter(|w| w.is_zmm())
            .map(|_| ("avx512-vpclmulqdq", zmm as super::UpdateFn));
        ymm.into_iter().chain(zmm)
    }

    /// VPCLMULQDQ folding, in 256-bit (VEX, AVX2) or 512-bit (EVEX, AVX-512) registers: the
    /// [`Wide`] token proves the CPU and OS run the one it names.
    ///
    /// Both fold 256-byte blocks: the running 256 bytes, as 128-bit lanes, are each moved
    /// 256 bytes on by carry-less multiplies (lane keys of 2048 bits) and xored into the next
    /// block. At the end the registers are folded into one, its lanes into the last 16 bytes,
    /// and those through `crc32` from zero give the register. Assembly rather than intrinsics:
    /// the VPCLMULQDQ and AVX-512 intrinsics and target features need Rust 1.89, and this
    /// crate's MSRV is 1.88.
    pub(super) mod wide {
        use core::mem::offset_of;

        use super::super::Detected;
        use super::super::lane_keys;
        use super::{YMM, ZMM};

        use super::shift_key;

        /// Inputs from this length on take the vector path: below it the set-up and the final
        /// reduction cost more than the narrow engine saves (the 256-bit engine's shortest
        /// round is longer still: below it, that engine is the narrow one).
        pub(crate) const MIN_LEN: usize = 512;

        /// Bytes of the 256-bit engine's vector block: four YMM registers.
        const BLOCK: usize = 128;

        /// Words (8 bytes) of each `crc32` stream of the 256-bit engine per vector block: on
        /// Zen 3, `vpclmulqdq` on YMM registers folds about 8 bytes a cycle and `crc32` runs 8
        /// bytes a cycle on other ports, so a round feeds both, 128 bytes to the vector
        /// registers for every 3 x 40 bytes to three `crc32` streams (one stream is bound by
        /// `crc32`'s 3-cycle latency; three fill its throughput).
        const STREAM_WORDS: usize = 5;

        /// A round of the 256-bit engine: `blocks` vector blocks folded in the vector
        /// registers, then three `crc32` streams of `blocks - 1` times [`STREAM_WORDS`] words
        /// each (they run beside the folds after the first block), and the keys that join the
        /// four registers and the one before the round (see `join_round`).
        pub(crate) struct Round {
            blocks: usize,
            keys: [u64; 4],
        }

        impl Round {
            const fn new(blocks: usize) -> Round {
                let stream = (blocks - 1) * STREAM_WORDS;
                Round {
                    blocks,
                    keys: [
                        shift_key(blocks * BLOCK / 8 + 3 * stream),
                        shift_key(3 * stream),
                        shift_key(2 * stream),
                        shift_key(stream),
                    ],
                }
            }

            /// Bytes of a round.
            const fn len(&self) -> usize {
                self.blocks * BLOCK + 3 * (self.blocks - 1) * STREAM_WORDS * 8
            }

            /// Bytes of one stream.
            const fn stream_len(&self) -> usize {
                (self.blocks - 1) * STREAM_WORDS * 8
            }
        }

        /// The 256-bit engine's rounds, longest first (7816 and 1864 bytes): the join costs
        /// about two blocks' folding, so long rounds amortise it, short ones serve records of
        /// a few KiB. Inputs shorter than the last go to the narrow engine.
        pub(crate) const ROUNDS: [Round; 2] = [Round::new(32), Round::new(8)];

        /// Proof that the CPU runs the vector engine `zmm` names (and the narrow engine's
        /// SSE4.2 and PCLMULQDQ): only [`Wide::get`] makes one, from a [`Detected`] whose
        /// level says so; [`Wide::ymm`] makes the 256-bit one from a 512-bit one (the
        /// 512-bit level requires every feature of the 256-bit one).
        #[derive(Clone, Copy, Debug)]
        pub(crate) struct Wide {
            cpu: Detected,
            zmm: bool,
        }

        impl Wide {
            /// The token of the widest vector engine `cpu`'s level runs, if any.
            #[inline]
            pub(crate) fn get(cpu: Detected) -> Option<Wide> {
                match cpu.level() {
                    ZMM => Some(Wide { cpu, zmm: true }),
                    YMM => Some(Wide { cpu, zmm: false }),
                    _ => None,
                }
            }

            /// The 256-bit engine's token: it runs wherever the 512-bit one does.
            pub(crate) fn ymm(self) -> Wide {
                Wide { zmm: false, ..self }
            }

            /// Whether this is the 512-bit engine's token.
            pub(crate) fn is_zmm(self) -> bool {
                self.zmm
            }

            /// The narrow engine's token, implied.
            pub(crate) fn narrow(self) -> Detected {
                self.cpu
            }
        }

        /// What the CPU and the OS run beyond the narrow engine: 0, nothing; 1 (`YMM` less
        /// `NARROW`), AVX2 and VPCLMULQDQ with the YMM state enabled; 2, AVX-512F and
        /// AVX-512VL too, with the opmask and ZMM state enabled. `leaf1_ecx` is `cpuid` leaf
        /// 1's ECX.
        // `__cpuid` and `__cpuid_count` are safe functions in recent Rust and `unsafe fn`s in
        // older releases.
        #[allow(unused_unsafe)]
        pub(super) fn detect(leaf1_ecx: u32) -> u8 {
            // SAFETY: every x86_64 CPU has `cpuid`, and leaf 0 exists on all of them.
            let max_leaf = unsafe { core::arch::x86_64::__cpuid(0) }.eax;
            // OSXSAVE (the OS enabled XSAVE, so `xgetbv` runs) and AVX.
            if max_leaf < 7 || leaf1_ecx & (1 << 27) == 0 || leaf1_ecx & (1 << 28) == 0 {
                return 0;
            }
            // SAFETY: leaf 7 exists (max_leaf >= 7).
            let leaf7 = unsafe { core::arch::x86_64::__cpuid_count(7, 0) };
            let avx2 = leaf7.ebx & (1 << 5) != 0;
            let avx512f = leaf7.ebx & (1 << 16) != 0;
            let avx512vl = leaf7.ebx & (1 << 31) != 0;
            let vpclmulqdq = leaf7.ecx & (1 << 10) != 0;
            let xcr0: u32;
            // SAFETY: `xgetbv` with ECX = 0 reads XCR0; it runs when CPUID.1:ECX.OSXSAVE is
            // set, checked above. No memory, no stack, flags untouched.
            unsafe {
                core::arch::asm!(
                    "xgetbv",
                    in("ecx") 0u32,
                    out("eax") xcr0,
                    out("edx") _,
                    options(nomem, nostack, preserves_flags)
                );
            }
            // The OS saves the SSE and AVX state (XMM, upper YMM) ...
            if !(avx2 && vpclmulqdq && xcr0 & 0x06 == 0x06) {
                return 0;
            }
            // ... and the opmask, ZMM_Hi256 and Hi16_ZMM state.
            if avx512f && avx512vl && xcr0 & 0xE6 == 0xE6 {
                ZMM - super::NARROW
            } else {
                YMM - super::NARROW
            }
        }

        /// The keys of both engines, 64-byte aligned, each pair moving a 128-bit lane the
        /// bytes its name says on. `lanes` moves the four lanes of a 512-bit register onto
        /// the last (48, 32, 16 and 0 bytes on: the last lane's keys are zero, its product
        /// vanishes and it is xored in as it is); its second half does the same for the two
        /// lanes of a 256-bit register.
        #[repr(C, align(64))]
        struct Keys {
            by_256: [u64; 2],
            by_64: [u64; 2],
            by_128: [u64; 2],
            _pad: [u64; 2],
            lanes: [[u64; 2]; 4],
        }

        static KEYS: Keys = Keys {
            by_256: lane_keys(2048),
            by_64: lane_keys(512),
            by_128: lane_keys(1024),
            _pad: [0; 2],
            lanes: [lane_keys(384), lane_keys(256), lane_keys(128), [0; 2]],
        };

        /// Offsets in [`KEYS`], for the assembly: the 32-byte key pair is the second lane
        /// key, the last 32 bytes the 256-bit register's lane keys.
        const BY_256: usize = offset_of!(Keys, by_256);
        const BY_128: usize = offset_of!(Keys, by_128);
        const BY_64: usize = offset_of!(Keys, by_64);
        const BY_32: usize = offset_of!(Keys, lanes) + 16;
        const LANES_512: usize = offset_of!(Keys, lanes);
        const LANES_256: usize = offset_of!(Keys, lanes) + 32;

        /// The end of both engines: the 16 bytes left in xmm5, through `crc32` from zero into
        /// rcx (the register after the input), and `vzeroupper`.
        macro_rules! last_16_bytes {
            () => {
                concat!(
                    "vmovq rax, xmm5\n",
                    "vpextrq rdx, xmm5, 1\n",
                    "xor ecx, ecx\n",
                    "crc32 rcx, rax\n",
                    "crc32 rcx, rdx\n",
                    "vzeroupper\n",
                )
            };
        }

        /// The register after `state` and what the engine `wide` names folds of `bytes`, and
        /// the bytes it leaves (fewer than a block or than a round).
        pub(crate) fn fold(wide: Wide, state: u32, bytes: &[u8]) -> (u32, &[u8]) {
            if wide.zmm {
                let (blocks, rest) = bytes.as_chunks::<256>();
                let Some(count) = core::num::NonZeroUsize::new(blocks.len()) else {
                    return (state, rest);
                };
                // `crc32` leaves a 32-bit value zero-extended.
                #[allow(clippy::cast_possible_truncation)]
                return (fold_zmm(state, blocks.as_ptr(), count) as u32, rest);
            }
            let (mut state, mut rest) = (state, bytes);
            for round in &ROUNDS {
                while let Some((this, after)) = rest.split_at_checked(round.len()) {
                    let (v, streams) = round_ymm(this.as_ptr(), round);
                    // SAFETY: `wide` implies the narrow engine's SSE4.2 and PCLMULQDQ, the
                    // features `join_round` is compiled for.
                    state = unsafe { super::join_round(state, v, streams, &round.keys) };
                    rest = after;
                }
            }
            (state, rest)
        }

        /// The 512-bit engine: four ZMM registers, `vpternlogq` for the three-way xors.
        /// Only [`fold`] calls it, with a [`Wide`] token whose `zmm` is set.
        #[inline]
        fn fold_zmm(state: u32, blocks: *const [u8; 256], count: core::num::NonZeroUsize) -> u64 {
            let crc: u64;
            // SAFETY: `fold`'s token proves the CPU runs AVX-512F/VL, VPCLMULQDQ, AVX2 and
            // SSE4.2 and that the OS saves the ZMM state (`Wide::get` is its one constructor,
            // from a `Detected` at the `ZMM` level). The assembly reads `count` 256-byte blocks
            // from `blocks` (exactly the slice `fold` was given) and the `KEYS` static, writes
            // no memory, uses no stack, and writes only the registers declared: zmm0-zmm6
            // (declared by their xmm halves; their upper halves hold nothing of the
            // compiler's, which keeps no AVX state live across asm and treats all vector
            // registers as caller-saved), the pointer and counter it is given, rax, rdx, rcx
            // and the flags. It ends with `vzeroupper`.
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
                    "vbroadcasti32x4 zmm4, [{k} + {by_256}]",
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
                    "vbroadcasti32x4 zmm4, [{k} + {by_64}]",
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
                    "vmovdqa64 zmm4, [{k} + {lanes}]",
                    "vpclmulqdq zmm5, zmm3, zmm4, 0x00",
                    "vpclmulqdq zmm6, zmm3, zmm4, 0x11",
                    "vpxorq zmm5, zmm5, zmm6",
                    "vextracti64x4 ymm6, zmm5, 1",
                    "vpxorq ymm5, ymm5, ymm6",
                    "vextracti128 xmm6, ymm5, 1",
                    "vpxorq xmm5, xmm5, xmm6",
                    "vextracti32x4 xmm6, zmm3, 3",
                    "vpxorq xmm5, xmm5, xmm6",
                    last_16_bytes!(),
                    p = inout(reg) blocks => _,
                    n = inout(reg) count.get() => _,
                    s = in(reg) state,
                    k = in(reg) &raw const KEYS,
                    by_256 = const BY_256,
                    by_64 = const BY_64,
                    lanes = const LANES_512,
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
            crc
        }

        /// Three `crc32` steps, one per stream, at byte `at` of each stream of a round.
        macro_rules! crc32_x3 {
            ($at:literal) => {
                concat!(
                    "crc32 {r1}, qword ptr [{q} + ",
                    $at,
                    "]\n",
                    "crc32 {r2}, qword ptr [{q} + {s} + ",
                    $at,
                    "]\n",
                    "crc32 {r3}, qword ptr [{q} + 2*{s} + ",
                    $at,
                    "]\n",
                )
            };
        }

        /// Fold of 256-bit register `acc` 256 bytes on into the next block's 32 bytes at `at`
        /// (ymm8 holds the keys).
        macro_rules! fold_ymm {
            ($acc:literal, $tmp:literal, $at:literal) => {
                concat!(
                    "vpclmulqdq ymm",
                    $tmp,
                    ", ymm",
                    $acc,
                    ", ymm8, 0x00\n",
                    "vpclmulqdq ymm",
                    $acc,
                    ", ymm",
                    $acc,
                    ", ymm8, 0x11\n",
                    "vpxor ymm",
                    $tmp,
                    ", ymm",
                    $tmp,
                    ", [{p} + ",
                    $at,
                    "]\n",
                    "vpxor ymm",
                    $acc,
                    ", ymm",
                    $acc,
                    ", ymm",
                    $tmp,
                    "\n",
                )
            };
        }

        /// Fold of 256-bit register `from` into `into` (ymm8 holds the keys).
        macro_rules! join_ymm {
            ($from:literal, $into:literal, $tmp:literal) => {
                concat!(
                    "vpclmulqdq ymm",
                    $tmp,
                    ", ymm",
                    $from,
                    ", ymm8, 0x00\n",
                    "vpclmulqdq ymm",
                    $from,
                    ", ymm",
                    $from,
                    ", ymm8, 0x11\n",
                    "vpxor ymm",
                    $into,
                    ", ymm",
                    $into,
                    ", ymm",
                    $tmp,
                    "\n",
                    "vpxor ymm",
                    $into,
                    ", ymm",
                    $into,
                    ", ymm",
                    $from,
                    "\n",
                )
            };
        }

        /// One round of the 256-bit engine at `at` (`round.len()` bytes there): the register
        /// of its vector part from zero, and of its three streams from zero.
        ///
        /// Four YMM registers fold the blocks (128 bytes a step); after the first block, each
        /// step also runs [`STREAM_WORDS`] `crc32`s on each of the three streams that follow
        /// the blocks.
        #[inline(never)]
        fn round_ymm(at: *const u8, round: &Round) -> (u64, [u64; 3]) {
            let (v, r1, r2, r3): (u64, u64, u64, u64);
            // SAFETY: `fold`'s token proves the CPU runs AVX2, VPCLMULQDQ and SSE4.2 and that
            // the OS saves the YMM state (`Wide::get` is its one constructor, from a
            // `Detected` at the `YMM` level or above; the `ZMM` level requires all of the
            // `YMM` level's features). `at` starts `round.len()` readable bytes (`fold` split
            // them off its slice), of which the assembly reads `round.blocks` 128-byte blocks
            // from `at`, then three streams of `round.stream_len()` bytes right after them
            // (`blocks - 1` steps of 40 bytes each: exactly the round), and the `KEYS`
            // static. It writes no memory, uses no stack, and writes only the registers
            // declared: ymm0-3, ymm5, ymm6, ymm8-10, the pointers and counter it is given,
            // the stream registers, rax, rdx, rcx and the flags. It ends with `vzeroupper`.
            unsafe {
                core::arch::asm!(
                    "vmovdqu ymm0, [{p}]",
                    "vmovdqu ymm1, [{p} + 32]",
                    "vmovdqu ymm2, [{p} + 64]",
                    "vmovdqu ymm3, [{p} + 96]",
                    "add {p}, 128",
                    "vbroadcasti128 ymm8, [{k} + {by_128}]",
                    "2:",
                    fold_ymm!("0", "9", "0"),
                    crc32_x3!("0"),
                    fold_ymm!("1", "10", "32"),
                    crc32_x3!("8"),
                    fold_ymm!("2", "9", "64"),
                    crc32_x3!("16"),
                    fold_ymm!("3", "10", "96"),
                    crc32_x3!("24"),
                    crc32_x3!("32"),
                    "add {p}, 128",
                    "add {q}, 40",
                    "dec {n}",
                    "jnz 2b",
                    // Registers 0-1 into 2-3 (64 bytes on), 2 into 3 (32).
                    "vbroadcasti128 ymm8, [{k} + {by_64}]",
                    join_ymm!("0", "2", "9"),
                    join_ymm!("1", "3", "10"),
                    "vbroadcasti128 ymm8, [{k} + {by_32}]",
                    join_ymm!("2", "3", "9"),
                    // Lane 0 of register 3 moved onto lane 1 (16 bytes on).
                    "vmovdqa xmm8, [{k} + {lanes}]",
                    "vpclmulqdq xmm5, xmm3, xmm8, 0x00",
                    "vpclmulqdq xmm6, xmm3, xmm8, 0x11",
                    "vpxor xmm5, xmm5, xmm6",
                    "vextracti128 xmm6, ymm3, 1",
                    "vpxor xmm5, xmm5, xmm6",
                    last_16_bytes!(),
                    p = inout(reg) at => _,
                    q = inout(reg) at.wrapping_add(round.blocks * BLOCK) => _,
                    s = in(reg) round.stream_len(),
                    n = inout(reg) round.blocks - 1 => _,
                    r1 = inout(reg) 0u64 => r1,
                    r2 = inout(reg) 0u64 => r2,
                    r3 = inout(reg) 0u64 => r3,
                    k = in(reg) &raw const KEYS,
                    by_128 = const BY_128,
                    by_64 = const BY_64,
                    by_32 = const BY_32,
                    lanes = const LANES_256,
                    out("rax") _,
                    out("rdx") _,
                    out("rcx") v,
                    out("ymm0") _,
                    out("ymm1") _,
                    out("ymm2") _,
                    out("ymm3") _,
                    out("ymm5") _,
                    out("ymm6") _,
                    out("ymm8") _,
                    out("ymm9") _,
                    out("ymm10") _,
                    options(readonly, nostack),
                );
            }
            (v, [r1, r2, r3])
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

    use super::xpow;

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

/// aarch64: the CRC extension, mandatory from Armv8.1 and present on nearly every v8.0 core;
/// with NEON and PMULL (the Crypto extension), PMULL folding of long inputs.
#[cfg(target_arch = "aarch64")]
mod hw {
    use core::arch::aarch64::{__crc32cb, __crc32cd};

    use super::{Detected, Engine};

    /// Detection levels (a [`Detected`] holds one): the CRC extension; and PMULL with NEON.
    const CRC: u8 = 1;
    const PMULL: u8 = 2;

    pub(super) fn engine(cpu: Detected) -> Engine {
        if cpu.level() == PMULL {
            Engine::Arm64Pmull
        } else {
            Engine::Arm64Crc
        }
    }

    /// The level of this CPU (0: no CRC extension): the CRC extension, a compile-time target
    /// feature or `ID_AA64ISAR0_EL1.CRC32` (bits 19:16) read where that register is readable
    /// (at EL1, as in a kernel or boot stub, and at EL0 under Linux, which emulates the read
    /// since 4.11); then PMULL, `ID_AA64ISAR0_EL1.AES` (bits 7:4) at least 2, where NEON is a
    /// target feature (not on `aarch64-unknown-none-softfloat`).
    pub(super) fn detect() -> u8 {
        // As on x86_64: Miri runs no inline assembly, the table engine serves it.
        if cfg!(miri) {
            return 0;
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
            let crc = cfg!(target_feature = "crc") || (isar0 >> 16) & 0xf != 0;
            let pmull = cfg!(target_feature = "neon") && (isar0 >> 4) & 0xf >= 2;
            match (crc, pmull) {
                (true, true) => PMULL,
                (true, false) => CRC,
                _ => 0,
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "none")))]
        if cfg!(target_feature = "crc") { CRC } else { 0 }
    }

    /// The automatic engine, on a CPU that `cpu` proves has the CRC extension: PMULL folding
    /// from [`pmull::MIN_LEN`] bytes on where the CPU has it, else `crc32cx`.
    pub(super) fn update_detected(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        #[cfg(target_feature = "neon")]
        if let Some(token) = pmull::Pmull::get(cpu).filter(|_| bytes.len() >= pmull::MIN_LEN) {
            return pmull::update(token, state, bytes);
        }
        update_narrow(cpu, state, bytes)
    }

    /// The PMULL engine where the CPU has it: automatic, so the function `update` uses.
    pub(super) fn wide_engine(cpu: Detected) -> Option<super::UpdateFn> {
        (cpu.level() == PMULL).then_some(super::automatic_update as super::UpdateFn)
    }

    /// The `crc32cx` engine alone, on a CPU that `cpu` proves has it.
    pub(super) fn update_narrow(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        // SAFETY: a `Detected` exists only once `detect()` confirmed the CRC extension
        // (`Detected::get` is its one constructor), the feature `update` is compiled for.
        unsafe { update(state, bytes) }
    }

    /// The PMULL engine forced on every input length (for the tests), where the CPU has it.
    #[cfg(test)]
    pub(super) fn vector_engines() -> impl Iterator<Item = (&'static str, super::UpdateFn)> {
        #[cfg(target_feature = "neon")]
        {
            fn forced(state: u32, bytes: &[u8]) -> u32 {
                Detected::get()
                    .and_then(pmull::Pmull::get)
                    .map_or(0, |t| pmull::update(t, state, bytes))
            }
            Detected::get()
                .and_then(pmull::Pmull::get)
                .map(|_| ("pmull", forced as super::UpdateFn))
                .into_iter()
        }
        #[cfg(not(target_feature = "neon"))]
        core::iter::empty()
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

    /// PMULL folding: four 128-bit registers, 64 bytes a step, each lane moved 64 bytes on by
    /// two carry-less multiplies (`pmull`, `pmull2`) and xored into the next step's bytes;
    /// at the end the registers are folded into the last, whose 16 bytes go through `crc32cx`
    /// from zero (the `x86_64` vector engines' method and keys).
    #[cfg(target_feature = "neon")]
    mod pmull {
        use core::arch::aarch64::{__crc32cd, vmull_p64};

        use super::super::lane_keys;
        use super::{Detected, PMULL};

        /// Inputs from this length on take the PMULL engine. Linux's arm64 CRC-32 does the
        /// same from 1024 bytes on (`min_len` in arch/arm64/lib/crc32-glue.c): below that
        /// the set-up and the reduction (and, in a kernel, saving the NEON registers) cost
        /// more than `crc32cx` (8 bytes a cycle on most cores) saves. It is not measured
        /// here: no aarch64 hardware, and qemu-user times nothing.
        pub(super) const MIN_LEN: usize = 1024;

        /// Proof that the CPU has the CRC extension, NEON and PMULL: only [`Pmull::get`]
        /// makes one, from a [`Detected`] at the `PMULL` level.
        #[derive(Clone, Copy, Debug)]
        pub(super) struct Pmull(Detected);

        impl Pmull {
            pub(super) fn get(cpu: Detected) -> Option<Pmull> {
                (cpu.level() == PMULL).then_some(Pmull(cpu))
            }
        }

        /// Keys: 64 bytes on (the loop), 16 bytes on (the registers into the last).
        const BY_64: [u64; 2] = lane_keys(512);
        const BY_16: [u64; 2] = lane_keys(128);

        /// The register after `state` and `bytes`.
        pub(super) fn update(token: Pmull, state: u32, bytes: &[u8]) -> u32 {
            let (steps, rest) = bytes.as_chunks::<64>();
            let state = match steps.split_first() {
                // SAFETY: `token` proves the CPU has NEON, PMULL (the `aes` target feature)
                // and the CRC extension (`Pmull::get` is its one constructor, from a
                // `Detected` whose detection read them), the features `fold` is compiled for.
                Some((first, steps)) => unsafe { fold(state, first, steps) },
                None => state,
            };
            super::update_narrow(token.0, state, rest)
        }

        /// `x` moved on by `keys` and xored into `next`.
        #[inline]
        #[target_feature(enable = "neon,aes")]
        fn fold_into(x: u128, keys: [u64; 2], next: u128) -> u128 {
            // The low and high halves of the lane, as the keys take them.
            #[allow(clippy::cast_possible_truncation)]
            let (lo, hi) = (x as u64, (x >> 64) as u64);
            vmull_p64(lo, keys[0]) ^ vmull_p64(hi, keys[1]) ^ next
        }

        #[target_feature(enable = "neon,aes,crc")]
        fn fold(state: u32, first: &[u8; 64], steps: &[[u8; 64]]) -> u32 {
            let lanes = |step: &[u8; 64]| {
                let (l, _) = step.as_chunks::<16>();
                let mut out = [0u128; 4];
                for (o, l) in out.iter_mut().zip(l) {
                    *o = u128::from_le_bytes(*l);
                }
                out
            };
            let mut acc = lanes(first);
            acc[0] ^= u128::from(state);
            for step in steps {
                let next = lanes(step);
                for (a, n) in acc.iter_mut().zip(next) {
                    *a = fold_into(*a, BY_64, n);
                }
            }
            let [a0, a1, a2, a3] = acc;
            let last = fold_into(fold_into(fold_into(a0, BY_16, a1), BY_16, a2), BY_16, a3);
            // The 16 bytes left, through `crc32cx` from zero: the register.
            #[allow(clippy::cast_possible_truncation)]
            let crc = __crc32cd(__crc32cd(0, last as u64), (last >> 64) as u64);
            crc
        }
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

    pub(super) fn wide_engine(cpu: Detected) -> Option<super::UpdateFn> {
        let _ = cpu;
        None
    }

    pub(super) fn detect() -> u8 {
        0
    }

    pub(super) fn update_detected(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        update_narrow(cpu, state, bytes)
    }

    pub(super) fn update_narrow(cpu: Detected, state: u32, bytes: &[u8]) -> u32 {
        let _ = cpu;
        super::table_update(state, bytes)
    }

    #[cfg(test)]
    pub(super) fn vector_engines() -> impl Iterator<Item = (&'static str, super::UpdateFn)> {
        core::iter::empty()
    }
}
