//! CRC-32C (Castagnoli), the checksum of every record.
//!
//! Parameters (`crc::CRC_32_ISCSI`): polynomial `0x1EDC6F41` (reflected `0x82F63B78`), initial
//! value `0xFFFFFFFF`, input and output reflected, final XOR `0xFFFFFFFF`; check value of
//! `"123456789"` is `0xE3069283`. A record's CRC covers its whole length (`record_len`), header
//! included, with the 4 bytes of the CRC field itself read as zero.
//!
//! # Engines
//!
//! Every CRC this crate computes, when decoding, encoding or sealing, goes through [`update`],
//! which uses, in this order of preference:
//!
//! 1. the function an embedder gave to [`install`]: a kernel passes its own `crc32c()`, which
//!    knows whether vector registers may be used in the current context;
//! 2. the CPU's CRC-32C instructions, found by run-time detection that needs no `std` and is
//!    cached after the first call ([`active`] names the engine):
//!    - `x86_64` with AVX2 and VPCLMULQDQ (and the OS's support for YMM registers):
//!      [`Engine::X86Avx2Vpclmul`], rounds in which four 256-bit registers fold 128 bytes a
//!      step with carry-less multiplies while three `crc32` streams run beside them on other
//!      execution ports (inputs of 1864 bytes and more; the rest as below);
//!    - `x86_64` with SSE4.2 and PCLMULQDQ: [`Engine::X86Sse42`], three interleaved `crc32`
//!      streams, combined with carry-less multiplies;
//!    - aarch64 with NEON and PMULL: [`Engine::Arm64Pmull`], four 128-bit registers folding
//!      64 bytes a step with `pmull`, reduced with `crc32cx` (inputs of 1024 bytes and more,
//!      as Linux's arm64 CRC-32 does; the rest as below);
//!    - aarch64 with the CRC extension: [`Engine::Arm64Crc`] (`crc32cx`);
//! 3. [`table_update`], the `crc` crate's slicing-by-16 tables (16 KiB, about 4 GB/s).
//!
//! [`hardware`] gives the narrow engine of the CPU alone (SSE4.2 or `crc32cx`). [`wide`]
//! gives the widest vector engine: on `x86_64` CPUs with AVX-512 and VPCLMULQDQ, 512-bit
//! registers folding 256 bytes a step, which is opt-in (`install(checksum::wide())`: it is
//! kept off the automatic path so that the firmware decoders stay within 8 KiB of code, and
//! some CPUs lower their clock for 512-bit registers); elsewhere the automatic vector engine.
//!
//! All of them compute the same function; the tests check each against the `crc` crate on every
//! length and alignment. The `x86_64` engines use vector registers, so they are compiled only
//! when SSE2 is a target feature: not on `x86_64-unknown-none` or in kernel code built without
//! SSE, where the embedder installs the kernel's own function instead; likewise the PMULL
//! engine only where NEON is a target feature (not on `aarch64-unknown-none-softfloat`).
//!
//! ```
//! use liveupdate_abi::checksum::{self, Engine};
//!
//! // The raw register convention of Linux's `crc32c()`: no inversion inside.
//! let state = checksum::update(!0, b"1234");
//! let state = checksum::update(state, b"56789");
//! assert_eq!(!state, 0xE306_9283);
//! assert_eq!(checksum::crc32c(b"123456789"), 0xE306_9283);
//! assert_ne!(checksum::active(), Engine::Installed);
//! ```

use crc::{Crc, Table};

use crate::header::CRC_OFFSET;

mod engine;

pub use engine::{Engine, active, hardware, install, wide};

/// A CRC-32C update function: takes the raw CRC register and bytes, returns the register
/// after them. "Raw" means no inversion inside, as Linux's `crc32c(crc, p, len)`: the CRC of
/// `bytes` is `!f(!0, bytes)`, and `f(f(s, a), b) == f(s, a ++ b)`.
pub type UpdateFn = fn(u32, &[u8]) -> u32;

/// The portable engine's tables: `crc`'s slicing-by-16 tables (16 KiB), built at compile time.
static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&crc::CRC_32_ISCSI);

/// CRC-32C of `bytes`, through the selected engine.
pub fn crc32c(bytes: &[u8]) -> u32 {
    !update(!0, bytes)
}

/// Advances the raw CRC-32C register `state` over `bytes`, through the selected engine (see
/// the [module docs](self)).
#[inline]
pub fn update(state: u32, bytes: &[u8]) -> u32 {
    engine::current()(state, bytes)
}

/// The portable engine, always available: slicing-by-16 over `crc`'s `Table<16>` tables,
/// about 4 GB/s. Same convention as [`update`]. Installing it (`install(Some(table_update))`)
/// turns the hardware engine off.
///
/// The loop is ours rather than `crc`'s `Digest::update`, whose `bytes[i + 15]` keeps a
/// bounds check (and so a panic path) that the optimiser cannot remove; here every index is a
/// `u8` into a 256-entry row, so the panic-freedom proof holds.
pub fn table_update(state: u32, bytes: &[u8]) -> u32 {
    let [
        t0,
        t1,
        t2,
        t3,
        t4,
        t5,
        t6,
        t7,
        t8,
        t9,
        t10,
        t11,
        t12,
        t13,
        t14,
        t15,
    ] = CRC32C.table();
    let (blocks, tail) = bytes.as_chunks::<16>();
    let mut crc = state;
    for block in blocks {
        let [
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7,
            b8,
            b9,
            b10,
            b11,
            b12,
            b13,
            b14,
            b15,
        ] = *block;
        let [c0, c1, c2, c3] = crc.to_le_bytes();
        crc = row(t0, b15)
            ^ row(t1, b14)
            ^ row(t2, b13)
            ^ row(t3, b12)
            ^ row(t4, b11)
            ^ row(t5, b10)
            ^ row(t6, b9)
            ^ row(t7, b8)
            ^ row(t8, b7)
            ^ row(t9, b6)
            ^ row(t10, b5)
            ^ row(t11, b4)
            ^ row(t12, b3 ^ c3)
            ^ row(t13, b2 ^ c2)
            ^ row(t14, b1 ^ c1)
            ^ row(t15, b0 ^ c0);
    }
    for &b in tail {
        let [c0, ..] = crc.to_le_bytes();
        crc = row(t0, b ^ c0) ^ (crc >> 8);
    }
    crc
}

/// `table[index]`: a `u8` is always inside a 256-entry row, so this never misses.
#[inline]
fn row(table: &[u32; 256], index: u8) -> u32 {
    table.get(usize::from(index)).copied().unwrap_or(0)
}

/// CRC-32C of a record: all of `record`, with the CRC field (offset 44, 4 bytes) taken as
/// zero. `record` is the exact record (`record_len` bytes).
pub(crate) fn record_crc(record: &[u8]) -> u32 {
    let update = engine::current();
    let (head, tail) = record.split_at_checked(CRC_OFFSET).unwrap_or((record, &[]));
    let state = update(!0, head);
    let state = match tail.split_at_checked(4) {
        Some((_, rest)) => update(update(state, &[0; 4]), rest),
        // Shorter than the CRC field: never a valid record, but hash what is there.
        None => update(state, tail),
    };
    !state
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference: the `crc` crate with its default (byte-table) implementation.
    const REFERENCE: Crc<u32> = Crc::<u32>::new(&crc::CRC_32_ISCSI);

    /// Every engine this machine can run, by name.
    fn engines() -> impl Iterator<Item = (&'static str, UpdateFn)> {
        [("table", table_update as UpdateFn), ("selected", update)]
            .into_iter()
            .chain(hardware().map(|f| ("hardware", f)))
            .chain(wide().map(|f| ("wide", f)))
            .chain(engine::hardware_engines())
    }

    /// Deterministic bytes that are not a repeating pattern.
    fn noise(len: usize) -> std::vec::Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[3]
            })
            .collect()
    }

    extern crate std;

    #[test]
    fn check_value_matches_the_catalogue() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        for (name, f) in engines() {
            assert_eq!(!f(!0, b"123456789"), 0xE306_9283, "{name}");
        }
    }

    #[test]
    fn hardware_is_found_when_std_finds_it() {
        #[cfg(target_arch = "x86_64")]
        let expected = cfg!(target_feature = "sse2")
            && std::is_x86_feature_detected!("sse4.2")
            && std::is_x86_feature_detected!("pclmulqdq");
        #[cfg(target_arch = "aarch64")]
        let expected = std::arch::is_aarch64_feature_detected!("crc");
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let expected = false;
        assert_eq!(hardware().is_some(), expected);
    }

    /// The flags line of `/proc/cpuinfo` (Linux), as a second opinion beside `std`'s
    /// detection; `None` where it cannot be read.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    fn cpuinfo_flags() -> Option<std::string::String> {
        if cfg!(miri) {
            return None;
        }
        let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        let line = info
            .lines()
            .find(|l| l.starts_with("flags") || l.starts_with("Features"))?;
        Some(std::format!(" {} ", line.split(':').nth(1)?.trim()))
    }

    #[test]
    fn the_vector_engines_are_found_when_std_finds_them() {
        let names: std::vec::Vec<_> = engine::hardware_engines().map(|(n, _)| n).collect();
        // Say which engines these tests ran, so that a run without them is visible.
        std::eprintln!(
            "hardware CRC engines tested here: {names:?}; automatic: {:?}",
            active()
        );
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            let ymm = std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("vpclmulqdq")
                && hardware().is_some();
            let zmm = ymm
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl");
            assert_eq!(names.contains(&"avx2-vpclmulqdq"), ymm, "{names:?}");
            assert_eq!(names.contains(&"avx512-vpclmulqdq"), zmm, "{names:?}");
            assert_eq!(super::wide().is_some(), ymm);
            // The 512-bit engine is opt-in: `update` runs the 256-bit one on AVX-512 CPUs too.
            let expected = if ymm {
                Engine::X86Avx2Vpclmul
            } else if hardware().is_some() {
                Engine::X86Sse42
            } else {
                Engine::Table
            };
            assert_eq!(active(), expected);
            // Linux's own word: a CPU it lists with AVX2 and VPCLMULQDQ runs the 256-bit
            // engine here, whatever std says. (Miri runs no hardware engine, and reads no
            // file under isolation.)
            if let Some(flags) = cpuinfo_flags() {
                if flags.contains(" avx2 ") && flags.contains(" vpclmulqdq ") {
                    assert!(names.contains(&"avx2-vpclmulqdq"), "{names:?}");
                } else {
                    std::eprintln!("no AVX2 VPCLMULQDQ in /proc/cpuinfo: its engine NOT tested");
                }
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            let pmull = cfg!(target_feature = "neon")
                && std::arch::is_aarch64_feature_detected!("crc")
                && std::arch::is_aarch64_feature_detected!("pmull");
            assert_eq!(names.contains(&"pmull"), pmull, "{names:?}");
            if !pmull {
                std::eprintln!("no PMULL: its engine NOT tested");
            }
        }
    }

    #[test]
    fn every_engine_matches_crc_on_every_length_and_alignment() {
        // Long ones: around the 256-bit engine's rounds (1864 and 7816 bytes) and their sums.
        let long = [7815, 7816, 7817, 7816 + 1864 + 255, 2 * 7816 + 1863, 40_000];
        let data = noise(40_000 + 64);
        for align in 0..64 {
            for len in (0..=1300)
                .chain((1301..=4096 + 300).step_by(37))
                .chain(long)
            {
                let bytes = &data[align..align + len];
                let expected = REFERENCE.checksum(bytes);
                for (name, f) in engines() {
                    assert_eq!(!f(!0, bytes), expected, "{name} len {len} align {align}");
                }
            }
        }
    }

    #[test]
    fn record_crc_reads_the_crc_field_as_zero() {
        let mut a = [0x5Au8; 80];
        let mut b = a;
        a[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&[1, 2, 3, 4]);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(record_crc(&a), record_crc(&b));
        assert_eq!(record_crc(&b), crc32c(&b));
        assert_eq!(record_crc(&b), REFERENCE.checksum(&b));
        b[79] ^= 1;
        assert_ne!(record_crc(&a), record_crc(&b));
        // Shorter than the CRC field: the plain CRC of what is there.
        assert_eq!(record_crc(&b[..46]), REFERENCE.checksum(&b[..46]));
    }

    proptest! {
        #[test]
        fn engines_match_crc_on_arbitrary_input(
            data in proptest::collection::vec(any::<u8>(), 0..=70_000),
            align in 0usize..16,
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = &data[align.min(data.len())..];
            let expected = REFERENCE.checksum(bytes);
            let cut = cut.index(bytes.len() + 1);
            for (name, f) in engines() {
                prop_assert_eq!(!f(!0, bytes), expected, "{}", name);
                // The raw register chains: any split gives the same result.
                let (a, b) = bytes.split_at(cut);
                prop_assert_eq!(!f(f(!0, a), b), expected, "{} split at {}", name, cut);
            }
        }
    }
}
