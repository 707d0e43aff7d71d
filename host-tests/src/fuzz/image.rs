//! The `luo` image file loader (`crate::image`) and what `luo verify` / `luo dump` do with an
//! image (`crate::inspect`).
//!
//! An image that loads must save back to the same bytes (the format has one encoding), and
//! its handover is validated and described without a panic; an image that does not load is
//! refused the same way whether its checksum is verified or not (unless the checksum is what
//! failed). `luo_image_sealed` first makes `total_len` and the CRC right, so that the fuzzer
//! reaches the names, the regions and the handover inside.

use liveupdate_abi::checksum::crc32c;

use crate::image::{self, ImageError};
use crate::inspect;

const TOTAL_LEN_AT: usize = 16;
const CRC_AT: usize = 24;

/// `image::load` and `inspect` over raw bytes.
pub fn luo_image(data: &[u8]) {
    check_image(data);
}

/// The same over the input with its length and CRC fields made right.
pub fn luo_image_sealed(data: &[u8]) {
    let mut bytes = data.to_vec();
    if bytes.len() >= image::HEADER_LEN {
        let len = bytes.len() as u64;
        bytes[TOTAL_LEN_AT..TOTAL_LEN_AT + 8].copy_from_slice(&len.to_le_bytes());
        bytes[CRC_AT..CRC_AT + 4].fill(0);
        let crc = crc32c(&bytes);
        bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
    }
    check_image(&bytes);
}

fn check_image(bytes: &[u8]) {
    match image::load(bytes) {
        Ok(mem) => {
            assert_eq!(image::save(&mem), bytes, "a loaded image saves differently");
            let unverified = image::load_unverified(bytes).expect("loads without its CRC");
            assert_eq!(image::save(&unverified), bytes);
            let handover = inspect::handover(&mem);
            match inspect::dump(&mem) {
                Ok(dump) => {
                    assert!(handover.is_ok());
                    assert!(!inspect::render(&dump).is_empty());
                    serde_json::to_string(&dump).expect("a dump serializes");
                }
                Err(err) => {
                    assert_eq!(
                        err.to_string(),
                        handover.expect_err("dump fails as handover").to_string()
                    );
                }
            }
            match inspect::load(bytes) {
                Ok(_) => assert!(inspect::handover(&mem).is_ok()),
                Err(err) => assert!(!err.to_string().is_empty()),
            }
        }
        Err(err) => {
            assert!(!err.to_string().is_empty());
            if !matches!(err, ImageError::Checksum { .. }) {
                // Every check but the CRC runs alike, in the same order.
                assert_eq!(image::load_unverified(bytes).err(), Some(err));
            }
            let verdict = inspect::load(bytes).expect_err("an image that does not load");
            assert!(!verdict.to_string().is_empty());
        }
    }
}
