//! `Root::open` over fuzzed child bytes.
//!
//! The first input byte chooses the child's kind and how the root's directory entry for it
//! is made: taken from the child, then optionally omitted or disagreeing in length, CRC or
//! generation. The rest is the child, optionally re-sealed. The result of `open` must be the
//! one the documented order of checks gives: no entry, length, the decoder's own verdict,
//! CRC, generation.

use liveupdate_abi::AbiVersion;
use liveupdate_abi::header::CRC_OFFSET;
use liveupdate_abi::{Capacity, Encoding, Generation};
use liveupdate_abi::{
    DecodeError, DirEntry, DirectoryField, FlbEntry, PciEntry, Record, RecordKind, Root, seal,
};

use super::records::{Lookups, check_decode_error, check_record, le32, le64};
use liveupdate_abi::PhysAddr;

const OMIT: u8 = 1 << 3;
const WRONG_LENGTH: u8 = 1 << 4;
const WRONG_CRC: u8 = 1 << 5;
const WRONG_GENERATION: u8 = 1 << 6;
const SEAL: u8 = 1 << 7;

/// Where the root says the child lives; an arbitrary, page-aligned address.
const CHILD_PHYS: u64 = 0x1_0000_0000;

/// The target body: see the module docs for the input layout.
pub fn root_open(data: &[u8]) {
    let Some((&mode, child)) = data.split_first() else {
        return;
    };
    let kind = match mode & 3 {
        0 => RecordKind::FlbTable,
        1 => RecordKind::PciTable,
        _ => RecordKind::Root,
    };
    let mut child = child.to_vec();
    if mode & SEAL != 0 {
        // Refusals are fine: the child is then opened as it is.
        let _ = seal(kind, &mut child);
    }
    let generation = le64(&child, 24).unwrap_or(0);
    let root_generation = generation.wrapping_add(u64::from(mode & WRONG_GENERATION != 0));
    let length = u32::try_from(child.len())
        .unwrap_or(u32::MAX)
        .saturating_add(u32::from(mode & WRONG_LENGTH != 0))
        .max(64);
    let crc = le32(&child, CRC_OFFSET).unwrap_or(0) ^ u32::from(mode & WRONG_CRC != 0);

    // The root always references both tables, so `open` must pick the right entry.
    let mut dir = Vec::new();
    for other in [RecordKind::FlbTable, RecordKind::PciTable] {
        if other == kind {
            if mode & OMIT == 0 {
                dir.push(DirEntry::new(kind, PhysAddr::new(CHILD_PHYS), length, crc));
            }
        } else {
            dir.push(DirEntry::new(other, PhysAddr::new(0x2000), 64, 0xDEAD_BEEF));
        }
    }
    let mut buf = vec![0u8; Root::len_for(AbiVersion::V1_0, Capacity::new(2)).expect("fits")];
    let n = Root::encode(
        &mut buf,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(root_generation),
            Capacity::new(2),
        ),
        dir,
    )
    .expect("a valid directory");
    let root = Root::decode(&buf[..n]).expect("an encoded root decodes");

    match kind {
        RecordKind::FlbTable => check_open::<FlbEntry>(&root, &child),
        RecordKind::PciTable => check_open::<PciEntry>(&root, &child),
        _ => check_open::<DirEntry>(&root, &child),
    }
}

fn check_open<E: Lookups>(root: &Root<'_>, child: &[u8]) {
    let kind = E::KIND;
    let got = root.open::<E>(child);
    let expected: Result<Record<'_, E>, DecodeError> = match root.find(kind) {
        None => Err(DecodeError::NoRecord { kind }),
        Some(d) if u64::from(d.length()) != child.len() as u64 => Err(DecodeError::Directory {
            kind,
            field: DirectoryField::Length,
            expected: u64::from(d.length()),
            found: child.len() as u64,
        }),
        Some(d) => match Record::<E>::decode(child) {
            Err(err) => {
                check_decode_error::<E>(child, &err);
                Err(err)
            }
            Ok(r) if r.header().crc() != d.crc() => Err(DecodeError::Directory {
                kind,
                field: DirectoryField::Crc,
                expected: u64::from(d.crc()),
                found: u64::from(r.header().crc()),
            }),
            Ok(r) if r.generation() != root.generation() => Err(DecodeError::Generation {
                kind,
                expected: root.generation(),
                found: r.generation(),
            }),
            Ok(r) => Ok(r),
        },
    };
    match (got, expected) {
        (Ok(got), Ok(_)) => {
            assert_eq!(got.generation(), root.generation());
            check_record(child, &got);
        }
        (Err(got), Err(expected)) => {
            assert_eq!(got, expected, "open: {got} instead of {expected}");
            let text = got.to_string();
            assert!(text.contains(kind.name()), "{text:?}");
        }
        (got, expected) => panic!(
            "open gave {:?}, expected {:?}",
            got.map(|r| *r.header()),
            expected.map(|r| *r.header())
        ),
    }
}
