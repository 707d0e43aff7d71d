//! Differential target: the portable C verifier (`c/liveupdate_c.c`) against the Rust decoder,
//! on the same bytes. Both implement abi/SPEC.md section 6 and 11.1.6 (minors 0 and 1), so
//! they must accept exactly the same records, report what they read alike, and refuse the
//! others at the same check (the C status is the Rust error, told coarser).

use liveupdate_abi::{
    Access, DecodeError, DirEntry, Entry, FlbEntry, PciEntry, Record, RecordKind, seal,
};

use crate::c::{LuRecordInfo, c_status_of, c_verify as verify_in_c};

/// Input: one selector byte (low bits: the kind expected; bit 7: re-seal the record so the
/// checks past the CRC are reached), then the record's bytes.
pub fn c_verify(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let mut bytes = bytes.to_vec();
    let reseal = selector & 0x80 != 0;
    match (selector & 0x7f) % 3 {
        0 => compare::<DirEntry>(&mut bytes, reseal),
        1 => compare::<FlbEntry>(&mut bytes, reseal),
        _ => compare::<PciEntry>(&mut bytes, reseal),
    }
}

fn compare<E: Entry>(bytes: &mut [u8], reseal: bool) {
    if reseal {
        // Refused for records too short to hold a CRC or read-only ones: left as they are.
        let _ = seal(E::KIND, bytes);
    }
    let bytes = &*bytes;
    let rust = Record::<E>::decode(bytes);
    let c = verify_in_c(bytes, E::KIND);
    match (&rust, &c) {
        (Ok(record), Ok(info)) => {
            let read_only = matches!(record.access(), Access::ReadOnly { .. });
            let expected = LuRecordInfo::of(record.header(), read_only);
            assert_eq!(*info, expected, "C and Rust read the header differently");
        }
        (Err(error), Err(status)) => assert_eq!(
            Some(*status),
            c_status_of(error),
            "Rust refused with {error:?}, C with status {status}"
        ),
        (Err(error), Ok(_)) => assert_root_entry(error),
        (Ok(_), Err(status)) => panic!("C refused with status {status} what Rust accepts"),
    }
}

/// The one thing the C verifier does not check: a root directory's entries.
fn assert_root_entry(error: &DecodeError) {
    assert!(
        matches!(
            error,
            DecodeError::Entry {
                kind: RecordKind::Root,
                ..
            }
        ),
        "Rust refused with {error:?}, which C checks too, but C accepted"
    );
}
