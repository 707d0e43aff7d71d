//! The whole handover graph over a fuzzed physical-memory image: `Handover::load`.
//!
//! Input: the image's base physical address (8 bytes), the root's offset from it (4 bytes,
//! added with wrap-around, so any address can come out), the root's length (2 bytes), then
//! the image. `graph_sealed` first makes every CRC right (each referenced record re-sealed in
//! place, its directory entry's CRC updated, then the root re-sealed), so that the fuzzer
//! reaches the layout and cross-record checks.
//!
//! The result of `load` is compared with a reference that follows the documented order of
//! checks: the root mapped and decoded; no two records sharing a byte; then each record of a
//! known kind mapped, decoded and matched against its directory entry. The same load runs
//! through `DirectMap` too, the kernel's raw-pointer path (under the address sanitizer when
//! fuzzed), and must give the same result.

use liveupdate_abi::AbiVersion;
use liveupdate_abi::Capacity;
use liveupdate_abi::header::CRC_OFFSET;
use liveupdate_abi::{
    DecodeError, DirEntry, EncodeError, Entry, FlbEntry, MINOR, PciEntry, RecordKind, Root, Table,
    seal,
};
use liveupdate_core::graph::{GraphError, Handover, MAX_RECORDS, Span, write_root};
use liveupdate_core::mem::{DirectMap, MemError, MemFault, PhysAddr, PhysMem, SliceMemory};

use super::records::{Lookups, check_record, expected_crc, le16, le32, le64};

/// Bytes before the image.
const PREFIX: usize = 14;

struct Input {
    base: PhysAddr,
    root_addr: PhysAddr,
    root_len: usize,
    image: Vec<u8>,
}

fn parse(data: &[u8]) -> Option<Input> {
    let base = le64(data, 0)?;
    let offset = le32(data, 8)?;
    let root_len = le16(data, 12)?;
    Some(Input {
        base: PhysAddr::new(base),
        root_addr: PhysAddr::new(base.wrapping_add(u64::from(offset))),
        root_len: usize::from(root_len),
        image: data.get(PREFIX..)?.to_vec(),
    })
}

/// `Handover::load` over a raw image.
pub fn graph(data: &[u8]) {
    if let Some(input) = parse(data) {
        check_graph(&input);
    }
}

/// `Handover::load` over an image whose CRCs are made right first.
pub fn graph_sealed(data: &[u8]) {
    if let Some(mut input) = parse(data) {
        reseal(&mut input);
        check_graph(&input);
    }
}

/// The image bytes of `[addr, addr + len)`, if wholly inside it.
/// A range whose end does not fit a `u64` is never mapped, as in the ABI (`AddressOverflow`).
fn range(input: &Input, addr: PhysAddr, len: usize) -> Option<std::ops::Range<usize>> {
    addr.checked_add(u64::try_from(len).ok()?)?;
    let start = usize::try_from(addr.offset_from(input.base)?).ok()?;
    let end = start.checked_add(len)?;
    (end <= input.image.len()).then_some(start..end)
}

/// Re-seals every record the root references, updates their CRCs in the directory, then
/// re-seals the root. Records that are not structurally sound are left as they are.
fn reseal(input: &mut Input) {
    let Some(root) = range(input, input.root_addr, input.root_len) else {
        return;
    };
    let count = usize::try_from(le32(&input.image[root.clone()], 12).unwrap_or(0)).unwrap_or(0);
    let stride = usize::from(le16(&input.image[root.clone()], 10).unwrap_or(24));
    let table = root.start + usize::from(le16(&input.image[root.clone()], 8).unwrap_or(64));
    for index in 0..count.min(MAX_RECORDS + 1) {
        let at = table + index * stride;
        if at + 24 > root.end {
            break;
        }
        let entry = &input.image[at..at + 24];
        let (magic, phys, len) = (le32(entry, 0), le64(entry, 8), le32(entry, 16));
        let (Some(magic), Some(phys), Some(len)) = (magic, phys, len) else {
            break;
        };
        let Some(kind) = RecordKind::from_magic(magic) else {
            continue;
        };
        let Some(child) = usize::try_from(len)
            .ok()
            .and_then(|l| range(input, PhysAddr::new(phys), l))
        else {
            continue;
        };
        if let Ok(crc) = seal(kind, &mut input.image[child]) {
            input.image[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        }
    }
    // Sealing a child that overlaps the root may have changed the root's header: re-read.
    let _ = seal(RecordKind::Root, &mut input.image[root]);
}

fn check_graph(input: &Input) {
    let mem = SliceMemory::new(input.base, input.image.as_slice());
    let got = Handover::load(&mem, input.root_addr, input.root_len);
    let expected = reference(&mem, input);
    match (&got, &expected) {
        (Ok(handover), Ok(())) => check_handover(&mem, input, handover),
        (Err(GraphError::Overlap { first, second }), Err(GraphError::Overlap { .. })) => {
            assert!(
                first.addr <= second.addr && second.addr < first.end(),
                "reported overlap {first} / {second} is none"
            );
            let mut spans = spans(&mem, input);
            spans.extend(chain_spans(&mem, input));
            assert!(spans.contains(first) && spans.contains(second));
        }
        (Err(got), Err(expected)) => assert_eq!(got, expected, "load: {got}"),
        _ => panic!("load gave {got:?}, the documented order gives {expected:?}"),
    }
    check_direct_map(input, &got);
    if let Err(err) = &got {
        assert!(!err.to_string().is_empty());
        if let GraphError::Record(e) = err {
            assert_eq!(err.to_string(), e.to_string());
        }
    }
}

/// Loads the handover again through a `DirectMap` of the image (when the image lies at or
/// above its base address, as a linear map requires) and compares with `got`.
fn check_direct_map(input: &Input, got: &Result<Handover<'_>, GraphError>) {
    let virt = input.image.as_ptr().expose_provenance();
    let Some(offset) = u64::try_from(virt)
        .ok()
        .and_then(|v| v.checked_sub(input.base.raw()))
        .and_then(|o| usize::try_from(o).ok())
    else {
        return;
    };
    // SAFETY: physical `[base, base + len)` is the image, at virtual `base + offset`, the
    // image's address, whose provenance is exposed above; the image is neither written nor
    // freed before `map` and everything loaded through it are dropped, at the end of this
    // function.
    let map = unsafe { DirectMap::new(offset, input.base, input.image.len()) };
    let Ok(map) = map else {
        return;
    };
    let direct = Handover::load(&map, input.root_addr, input.root_len);
    match (got, &direct) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.root().as_bytes(), b.root().as_bytes());
            assert_eq!(
                a.flb_table().map(|t| t.first().as_bytes()),
                b.flb_table().map(|t| t.first().as_bytes())
            );
            assert_eq!(
                a.pci_table().map(|t| t.first().as_bytes()),
                b.pci_table().map(|t| t.first().as_bytes())
            );
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "DirectMap and SliceMemory disagree"),
        _ => panic!(
            "through SliceMemory: {:?}; through DirectMap: {:?}",
            got.as_ref().err(),
            direct.as_ref().err()
        ),
    }
}

/// Reads `[addr, addr + len)` and checks the answer against the image.
fn read<'m>(
    mem: &'m SliceMemory<&[u8]>,
    input: &Input,
    addr: PhysAddr,
    len: usize,
) -> Result<&'m [u8], MemError> {
    let result = mem.read(addr, len);
    match (&result, range(input, addr, len)) {
        (Ok(bytes), Some(r)) => assert_eq!(*bytes, &input.image[r]),
        (Err(e), None) => {
            assert_eq!((e.addr, e.len), (addr, len));
            let overflows = addr.checked_add(len as u64).is_none();
            let expected = if overflows {
                MemFault::Overflow
            } else {
                MemFault::Unmapped {
                    base: input.base,
                    size: input.image.len() as u64,
                }
            };
            assert_eq!(e.fault, expected, "{e}");
            assert!(!e.to_string().is_empty());
        }
        (r, expected) => panic!("read({addr}, {len}) = {r:?}, image range {expected:?}"),
    }
    result
}

/// The root's span and those of its directory entries, if the root decodes.
fn spans(mem: &SliceMemory<&[u8]>, input: &Input) -> Vec<Span> {
    let Ok(bytes) = mem.read(input.root_addr, input.root_len) else {
        return Vec::new();
    };
    let Ok(root) = Root::decode(bytes) else {
        return Vec::new();
    };
    let mut spans = vec![Span {
        magic: RecordKind::Root.magic(),
        addr: input.root_addr,
        len: input.root_len as u64,
    }];
    spans.extend(root.entries().iter().map(|e| Span {
        magic: e.magic(),
        addr: e.phys_addr(),
        len: u64::from(e.length()),
    }));
    spans
}

/// What `load` must return, following the documented order of checks.
fn reference(mem: &SliceMemory<&[u8]>, input: &Input) -> Result<(), GraphError> {
    if input.root_len == 0 {
        return Err(GraphError::NoHandover);
    }
    let bytes =
        read(mem, input, input.root_addr, input.root_len).map_err(|error| GraphError::Memory {
            kind: RecordKind::Root,
            error,
        })?;
    let root = match Root::decode(bytes) {
        Ok(root) => root,
        Err(DecodeError::NoRecord { .. }) => return Err(GraphError::NoHandover),
        Err(e) => return Err(GraphError::Record(e)),
    };
    if root.entries().len() > MAX_RECORDS {
        return Err(GraphError::TooManyRecords {
            count: root.entries().len() as u64,
            max: MAX_RECORDS as u64,
        });
    }
    let spans = spans(mem, input);
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.addr < b.end() && b.addr < a.end() {
                // Any overlapping pair will do: which one is reported is checked apart.
                return Err(GraphError::Overlap {
                    first: *a,
                    second: *b,
                });
            }
        }
    }
    for entry in root.entries() {
        match entry.kind() {
            Some(RecordKind::FlbTable) => reference_open::<FlbEntry>(mem, input, &root, entry)?,
            Some(RecordKind::PciTable) => reference_open::<PciEntry>(mem, input, &root, entry)?,
            _ => {}
        }
    }
    // The blocks of chains after their first: against every record, and each other's.
    let chained = chain_spans(mem, input);
    for (i, a) in chained.iter().enumerate() {
        let others = spans
            .iter()
            .chain(chained[i + 1..].iter().filter(|b| b.magic != a.magic));
        for b in others {
            if a.addr < b.end() && b.addr < a.end() {
                return Err(GraphError::Overlap {
                    first: *a,
                    second: *b,
                });
            }
        }
    }
    Ok(())
}

/// The blocks after the first of the tables the root references, as spans (empty for tables
/// that are one record or do not decode).
fn chain_spans(mem: &SliceMemory<&[u8]>, input: &Input) -> Vec<Span> {
    let Some(bytes) = range(input, input.root_addr, input.root_len).map(|r| &input.image[r]) else {
        return Vec::new();
    };
    let Ok(root) = Root::decode(bytes) else {
        return Vec::new();
    };
    let mut spans = Vec::new();
    if let Ok(table) = root.open_table::<FlbEntry>(mem) {
        spans.extend(blocks_after_first(&table));
    }
    if let Ok(table) = root.open_table::<PciEntry>(mem) {
        spans.extend(blocks_after_first(&table));
    }
    spans
}

fn blocks_after_first<E: Entry>(table: &Table<'_, E>) -> Vec<Span> {
    table
        .blocks()
        .skip(1)
        .map(|b| Span {
            magic: E::KIND.magic(),
            addr: b.phys,
            len: b.record.as_bytes().len() as u64,
        })
        .collect()
}

fn reference_open<E: Entry>(
    mem: &SliceMemory<&[u8]>,
    input: &Input,
    root: &Root<'_>,
    entry: &DirEntry,
) -> Result<(), GraphError> {
    let len = usize::try_from(entry.length()).expect("u32 fits usize here");
    read(mem, input, entry.phys_addr(), len).map_err(|error| GraphError::Memory {
        kind: E::KIND,
        error,
    })?;
    // The chain walk is liveupdate-abi's (tested there): here, that load uses it.
    root.open_table::<E>(mem)
        .map(|_| ())
        .map_err(GraphError::Table)
}

fn check_handover(mem: &SliceMemory<&[u8]>, input: &Input, handover: &Handover<'_>) {
    let root = handover.root();
    let root_bytes = &input.image[range(input, input.root_addr, input.root_len).expect("read")];
    check_record(root_bytes, &root);
    assert_eq!(handover.generation(), root.generation());
    assert_eq!(
        handover.root_span(),
        Span {
            magic: RecordKind::Root.magic(),
            addr: input.root_addr,
            len: input.root_len as u64
        }
    );
    assert!(handover.root_span().to_string().contains("root"));
    check_table(input, &root, handover.flb_table());
    check_table(input, &root, handover.pci_table());
    let unknown: Vec<&DirEntry> = handover.unknown().collect();
    let expected: Vec<&DirEntry> = root
        .entries()
        .iter()
        .filter(|e| e.kind().is_none())
        .collect();
    assert_eq!(unknown, expected, "unknown()");
    for span in spans(mem, input) {
        assert!(!span.to_string().is_empty());
    }
    check_rewrite(input, handover);
}

/// A table the handover holds is the record its directory entry references, byte for byte;
/// one it does not hold has no entry.
fn check_table<E: Lookups>(input: &Input, root: &Root<'_>, table: Option<Table<'_, E>>) {
    match (root.find(E::KIND), table.map(|t| t.first())) {
        (None, None) => {}
        (Some(entry), Some(table)) => {
            let len = usize::try_from(entry.length()).expect("u32 fits usize here");
            let bytes = &input.image[range(input, entry.phys_addr(), len).expect("loaded")];
            assert_eq!(table.as_bytes(), bytes);
            assert_eq!(table.header().crc(), entry.crc());
            assert_eq!(table.generation(), root.generation());
            // A chain's first block is not a table on its own: liveupdate-abi's table fuzz
            // bodies check chains.
            if table.header().link().is_none() {
                check_record(table.as_bytes(), &table);
            }
        }
        (entry, table) => panic!(
            "{}: directory entry {entry:?}, table {:?}",
            E::KIND,
            table.map(|t| *t.header())
        ),
    }
}

/// Rewriting the root of a loaded handover with `write_root` (same place, same directory,
/// same generation) gives a root that loads to the same tables.
fn check_rewrite(input: &Input, handover: &Handover<'_>) {
    let root = handover.root();
    let directory: Vec<DirEntry> = root.entries().iter().copied().collect();
    let mut image = input.image.clone();
    let mut mem = SliceMemory::new(input.base, image.as_mut_slice());
    let written = write_root(
        &mut mem,
        AbiVersion::V1_0,
        input.root_addr,
        root.generation(),
        &directory,
    );
    let len = match written {
        Ok(len) => len,
        // A newer minor's directory entries may carry what this writer refuses to write.
        Err(GraphError::Encode(EncodeError::Entry { .. })) if root.header().minor() > MINOR => {
            return;
        }
        Err(err) => panic!("write_root of a loaded directory: {err}"),
    };
    assert_eq!(
        Some(len),
        Root::len_for(
            AbiVersion::V1_0,
            Capacity::new(u32::try_from(directory.len()).expect("small"))
        )
    );
    let again = Handover::load(&mem, input.root_addr, len).expect("a rewritten root loads");
    assert_eq!(again.generation(), handover.generation());
    assert_eq!(
        again.flb_table().map(|t| t.first().as_bytes()),
        handover.flb_table().map(|t| t.first().as_bytes())
    );
    assert_eq!(
        again.pci_table().map(|t| t.first().as_bytes()),
        handover.pci_table().map(|t| t.first().as_bytes())
    );
    assert!(again.root().entries().iter().eq(root.entries().iter()));
    // The bytes of the new root carry the right CRC.
    let r = range(input, input.root_addr, len).expect("written inside the image");
    let bytes = &image[r];
    assert_eq!(le32(bytes, CRC_OFFSET), Some(expected_crc(bytes)));
}
