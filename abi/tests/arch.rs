//! What depends on the architecture the tests run on: the CRC-32C engine chosen (the aarch64
//! CRC extension must actually execute where the CPU has it, e.g. under `qemu-aarch64`, whose
//! default CPU has it) and the host's byte order as the decoders of upstream formats see it.
//!
//! `.ci/cross.sh` sets `LIVEUPDATE_EXPECT_CRC_ENGINE` to the engine each target must use
//! (`Arm64Crc` on aarch64, `Table` on s390x), so that a detection that silently fell back to
//! the table engine fails there instead of passing.

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
        assert_eq!(active, Engine::Arm64Crc);
    }
    if active != Engine::Table {
        let hw = checksum::hardware().expect("a hardware engine is in use");
        assert_eq!(!hw(!0, b"123456789"), CHECK);
        // Every length and alignment around the 8-byte steps of the hardware loops.
        let data: Vec<u8> = (0..300u32)
            .map(|i| (i * 131 + 7).to_le_bytes()[0])
            .collect();
        for start in 0..9 {
            for end in start..data.len() {
                let bytes = &data[start..end];
                assert_eq!(
                    !hw(!0, bytes),
                    !checksum::table_update(!0, bytes),
                    "{start}..{end}"
                );
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
