//! What depends on the architecture the tests run on: the CRC-32C engine chosen (on aarch64
//! the CRC extension and the PMULL engine must actually execute where the CPU has them, e.g.
//! under `qemu-aarch64`, whose default CPU has both) and the host's byte order as the decoders
//! of upstream formats see it.
//!
//! `.ci/cross.sh` sets `LIVEUPDATE_EXPECT_CRC_ENGINE` to the engine each target must use
//! (`Arm64Pmull` on aarch64, `Table` on s390x), so that a detection that silently fell back
//! to a narrower engine fails there instead of passing.

use liveupdate_abi::checksum::{self, Engine};
use liveupdate_abi::linux::ByteOrder;

/// CRC-32C of "123456789" (the catalogue's check value).
const CHECK: u32 = 0xE306_9283;

#[test]
fn the_engine_in_use_is_the_expected_one_and_computes_crc32c() {
    let active = checksum::active();
    if let Ok(expected) = std::env::var("LIVEUPDATE_EXPECT_CRC_ENGINE") {
        assert_eq!(format!("{active:?}"), expected, "CRC-32C engine in use");
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("crc") {
        let pmull =
            cfg!(target_feature = "neon") && std::arch::is_aarch64_feature_detected!("pmull");
        let expected = if pmull {
            Engine::Arm64Pmull
        } else {
            Engine::Arm64Crc
        };
        assert_eq!(active, expected);
        assert_eq!(checksum::wide().is_some(), pmull);
    }
    if active != Engine::Table {
        let hw = checksum::hardware().expect("a hardware engine is in use");
        // The narrow engine, the vector one where there is one (it takes inputs from about
        // 1 KiB on), and `update` (the automatic choice).
        let engines = [
            Some(hw),
            checksum::wide(),
            Some(checksum::update as fn(u32, &[u8]) -> u32),
        ];
        // Every length and alignment around the 8-byte steps of the hardware loops, and
        // around the vector engines' thresholds and steps.
        let data: Vec<u8> = (0..9000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
            .collect();
        let lengths = (0..300)
            .chain((1000..1100).step_by(7))
            .chain((1800..2100).step_by(13))
            .chain([4096, 7815, 7816, 7817, 8000, 8990]);
        for f in engines.into_iter().flatten() {
            assert_eq!(!f(!0, b"123456789"), CHECK);
            for len in lengths.clone() {
                for start in 0..9 {
                    let bytes = &data[start..start + len];
                    assert_eq!(
                        !f(!0, bytes),
                        !checksum::table_update(!0, bytes),
                        "{start}..+{len}"
                    );
                }
            }
        }
    }
    assert_eq!(checksum::crc32c(b"123456789"), CHECK);
}

#[test]
fn the_native_byte_order_is_the_targets() {
    let expected = if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
    assert_eq!(ByteOrder::NATIVE, expected);
    assert_eq!(ByteOrder::default(), ByteOrder::Little);
}
