//! CRC-32C (Castagnoli), the checksum of every record.
//!
//! Parameters (`crc::CRC_32_ISCSI`): polynomial `0x1EDC6F41` (reflected `0x82F63B78`), initial
//! value `0xFFFFFFFF`, input and output reflected, final XOR `0xFFFFFFFF`; check value of
//! `"123456789"` is `0xE3069283`. A record's CRC covers its whole length (`record_len`), header
//! included, with the 4 bytes of the CRC field itself read as zero.

use crc::{Crc, Table};

use crate::header::CRC_OFFSET;

/// The table-driven engine: 16 KiB of tables built at compile time, about 4 GB/s.
static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&crc::CRC_32_ISCSI);

/// CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
}

/// CRC-32C of a record: all of `record`, with the CRC field (offset 44, 4 bytes) taken as
/// zero. `record` is the exact record (`record_len` bytes).
pub(crate) fn record_crc(record: &[u8]) -> u32 {
    let mut digest = CRC32C.digest();
    let (head, tail) = record.split_at_checked(CRC_OFFSET).unwrap_or((record, &[]));
    digest.update(head);
    if tail.len() >= 4 {
        digest.update(&[0; 4]);
        digest.update(tail.get(4..).unwrap_or(&[]));
    } else {
        // Shorter than the CRC field: never a valid record, but hash what is there.
        digest.update(tail);
    }
    digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_matches_the_catalogue() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn record_crc_reads_the_crc_field_as_zero() {
        let mut a = [0x5Au8; 80];
        let mut b = a;
        a[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&[1, 2, 3, 4]);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(record_crc(&a), record_crc(&b));
        assert_eq!(record_crc(&b), crc32c(&b));
        b[79] ^= 1;
        assert_ne!(record_crc(&a), record_crc(&b));
    }
}
