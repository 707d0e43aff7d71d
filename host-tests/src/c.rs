//! The portable C implementation of the records (`c/liveupdate_c.c`, compiled by `build.rs`):
//! its declarations, safe wrappers of its verifier and CRC, and the correspondence between its
//! status codes and the Rust decoder's errors. Used by the C interop tests and by the
//! differential fuzz target `c_verify`.

#![allow(
    missing_docs,
    reason = "field-for-field mirrors of c/liveupdate_c.h, which documents them"
)]

use std::ffi::{c_char, c_int, c_long};

use liveupdate_abi::{ChainFault, DecodeError, EntryFault, Field, RecordHeader, RecordKind};

#[repr(C)]
#[derive(Debug)]
pub struct LuPciDev {
    pub domain: u32,
    pub bdf: u16,
    pub refcount: u16,
}

#[repr(C)]
#[derive(Debug)]
pub struct LuPciDevV11 {
    pub domain: u32,
    pub bdf: u16,
    pub refcount: u16,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class_code: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Debug)]
pub struct LuFlb {
    pub name: *const c_char,
    pub data: u64,
    pub file_count: u64,
    pub flags: u32,
}

#[repr(C)]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LuRecordInfo {
    pub magic: u32,
    pub major: u16,
    pub minor: u16,
    pub header_len: u16,
    pub entry_size: u16,
    pub entry_count: u32,
    pub entry_capacity: u32,
    pub record_len: u32,
    pub generation: u64,
    pub crc: u32,
    pub read_only: u32,
}

impl LuRecordInfo {
    /// What `lu_verify_record` must report for a record with this header.
    pub fn of(h: &RecordHeader, read_only: bool) -> LuRecordInfo {
        LuRecordInfo {
            magic: h.magic(),
            major: h.major(),
            minor: h.minor(),
            header_len: h.header_len(),
            entry_size: h.entry_size(),
            entry_count: h.entry_count(),
            entry_capacity: h.entry_capacity(),
            record_len: h.record_len(),
            generation: h.generation().get(),
            crc: h.crc(),
            read_only: u32::from(read_only),
        }
    }
}

// The library `build.rs` compiles from `c/` (its directory is on the link search path).
#[link(name = "liveupdate_c", kind = "static")]
unsafe extern "C" {
    pub fn lu_crc32c(buf: *const u8, len: usize) -> u32;
    pub fn lu_record_crc(rec: *const u8, len: usize) -> u32;
    pub fn lu_encode_pci_table(
        out: *mut u8,
        out_len: usize,
        generation: u64,
        capacity: u32,
        devs: *const LuPciDev,
        n: u32,
    ) -> c_long;
    pub fn lu_encode_flb_table(
        out: *mut u8,
        out_len: usize,
        generation: u64,
        capacity: u32,
        flbs: *const LuFlb,
        n: u32,
    ) -> c_long;
    pub fn lu_encode_pci_table_v1_1(
        out: *mut u8,
        out_len: usize,
        generation: u64,
        capacity: u32,
        devs: *const LuPciDevV11,
        n: u32,
    ) -> c_long;
    pub fn lu_encode_flb_table_v1_1(
        out: *mut u8,
        out_len: usize,
        generation: u64,
        capacity: u32,
        flbs: *const LuFlb,
        n: u32,
    ) -> c_long;
    pub fn lu_verify_record(
        rec: *const u8,
        len: usize,
        magic: u32,
        info: *mut LuRecordInfo,
    ) -> c_int;
    pub fn lu_layout_count() -> usize;
    pub fn lu_layout_name(i: usize) -> *const c_char;
    pub fn lu_layout_value(i: usize) -> u64;
    pub fn lu_kho_name() -> *const c_char;
}

// The C status codes (liveupdate_c.h).
pub const LU_OK: c_int = 0;
pub const LU_E_SHORT: c_int = -1;
pub const LU_E_MAGIC: c_int = -2;
pub const LU_E_MAJOR: c_int = -3;
pub const LU_E_HEADER_LEN: c_int = -4;
pub const LU_E_ENTRY_SIZE: c_int = -5;
pub const LU_E_COUNT: c_int = -6;
pub const LU_E_RECORD_LEN: c_int = -7;
pub const LU_E_LENGTH: c_int = -8;
pub const LU_E_CRC: c_int = -9;
pub const LU_E_RESERVED: c_int = -10;
pub const LU_E_ORDER: c_int = -11;
pub const LU_E_REFCOUNT: c_int = -12;
pub const LU_E_NAME: c_int = -13;
pub const LU_E_FILE_COUNT: c_int = -14;
pub const LU_E_FLAGS: c_int = -15;
pub const LU_E_CAPACITY: c_int = -16;
pub const LU_E_BUFFER: c_int = -17;
pub const LU_E_FEATURES: c_int = -18;
pub const LU_E_IDENTITY: c_int = -19;
pub const LU_E_DESCENDANT: c_int = -20;
pub const LU_E_RO_COMPAT: c_int = -21;
pub const LU_E_CHAINED: c_int = -22;
pub const LU_E_NO_RECORD: c_int = -23;

/// CRC-32C of `bytes`, computed in C.
pub fn c_crc32c(bytes: &[u8]) -> u32 {
    // SAFETY: the pointer and length describe `bytes`, which the C function only reads.
    unsafe { lu_crc32c(bytes.as_ptr(), bytes.len()) }
}

/// The CRC a record of exactly these bytes must carry (its CRC field read as zero), in C.
pub fn c_record_crc(bytes: &[u8]) -> u32 {
    // SAFETY: as for `c_crc32c`.
    unsafe { lu_record_crc(bytes.as_ptr(), bytes.len()) }
}

/// Verifies `bytes` as one record of `kind` in C: what the header says, when valid.
///
/// # Errors
///
/// The C status (`LU_E_*`) of the first check that failed.
pub fn c_verify(bytes: &[u8], kind: RecordKind) -> Result<LuRecordInfo, c_int> {
    let mut info = LuRecordInfo::default();
    // SAFETY: `bytes` is readable for its length; `info` is a valid, exclusive `LuRecordInfo`
    // with the C struct's layout (`repr(C)`, same field order and types).
    let rc = unsafe { lu_verify_record(bytes.as_ptr(), bytes.len(), kind.magic(), &raw mut info) };
    if rc == LU_OK { Ok(info) } else { Err(rc) }
}

/// The status `lu_verify_record` returns for a record the Rust decoder refuses with `error`:
/// the same check, told coarser (the C verifier checks in the order of SPEC section 6 too).
/// `None` for what the C verifier does not check: the entries of a root directory (it checks
/// a root's header, sizes, CRC and slots only).
pub fn c_status_of(error: &DecodeError) -> Option<c_int> {
    Some(match *error {
        DecodeError::NoRecord { .. } => LU_E_NO_RECORD,
        DecodeError::TooShort { .. } => LU_E_SHORT,
        DecodeError::BadMagic { .. } => LU_E_MAGIC,
        DecodeError::UnsupportedMajor { .. } => LU_E_MAJOR,
        DecodeError::UnsupportedFeatures { .. } => LU_E_FEATURES,
        DecodeError::HeaderSize { .. } => LU_E_HEADER_LEN,
        DecodeError::EntrySize { .. } => LU_E_ENTRY_SIZE,
        DecodeError::OverMaximum {
            field: Field::EntryCount,
            ..
        } => LU_E_COUNT,
        DecodeError::Inconsistent { field, .. } => match field {
            Field::RecordLength => LU_E_RECORD_LEN,
            Field::InputLength => LU_E_LENGTH,
            Field::RoCompat => LU_E_RO_COMPAT,
            _ => return None,
        },
        DecodeError::Checksum { .. } => LU_E_CRC,
        DecodeError::Reserved { .. } => LU_E_RESERVED,
        DecodeError::Chain {
            fault: ChainFault::NeedsMemory,
            ..
        } => LU_E_CHAINED,
        DecodeError::Entry {
            kind: RecordKind::Root,
            ..
        } => return None,
        DecodeError::Entry { fault, .. } => match fault {
            EntryFault::NameEmpty
            | EntryFault::NameUnterminated
            | EntryFault::NameNotPrintable { .. }
            | EntryFault::NamePadding => LU_E_NAME,
            EntryFault::DuplicateName | EntryFault::OutOfOrder | EntryFault::Duplicate => {
                LU_E_ORDER
            }
            EntryFault::ZeroFileCount => LU_E_FILE_COUNT,
            EntryFault::ZeroRefcount => LU_E_REFCOUNT,
            EntryFault::UnknownFlags { .. } => LU_E_FLAGS,
            EntryFault::Reserved => LU_E_RESERVED,
            EntryFault::Vendor { .. }
            | EntryFault::ClassCode { .. }
            | EntryFault::IdentityIncomplete => LU_E_IDENTITY,
            EntryFault::DescendantNotBridge => LU_E_DESCENDANT,
            _ => return None,
        },
        _ => return None,
    })
}
