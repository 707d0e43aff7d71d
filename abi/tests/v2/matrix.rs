//! Every writer version against every reader version: exactly which combinations read, what
//! each reader sees, and the error of those that must fail.
//!
//! Writers: v1 (wire 1.0); v2 with one block (identity and flags); v2 whose table uses
//! `DESCENDANT` (`ro_compat` `HIERARCHY`); v2 whose table spans a chain (incompat `CHAINED`).
//! Readers: the v1.0 reader (`AbiVersion::V1_0`, the crate reading as v1.0 did) and the v1.1
//! reader (`AbiVersion::V1_1`, the default). Each writes a whole handover (root, FLB and PCI
//! tables) into memory; each reader opens it through the root.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::fmt::Write;

use liveupdate_abi::{
    AbiVersion, Access, BlockPlace, ChainFault, DecodeError, DirEntry, EncodeError, FlbEntry,
    PciAddress, PciDevice, PciEntry, PciFlags, Record, RecordKind, Root, Table, TableError, Unfit,
};

use crate::common::{Memory, flb_entries, identity};
use liveupdate_abi::PhysAddr;

const BASE: u64 = 0x10_0000;
const ROOT_PHYS: u64 = BASE;
const FLB_PHYS: u64 = BASE + 0x1000;
const PCI_PHYS: u64 = BASE + 0x2000;
const GENERATION: u64 = 9;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    V1,
    V2Single,
    V2Hierarchy,
    V2Chained,
}

const WRITERS: [Writer; 4] = [
    Writer::V1,
    Writer::V2Single,
    Writer::V2Hierarchy,
    Writer::V2Chained,
];

impl Writer {
    fn version(self) -> AbiVersion {
        match self {
            Writer::V1 => AbiVersion::V1_0,
            _ => AbiVersion::V1_1,
        }
    }

    /// The devices this writer's kernel preserved.
    fn devices(self) -> Vec<PciDevice> {
        let gpu = PciDevice::new(PciAddress::new(0, 0x3b, 0, 0).unwrap(), 1);
        let nic = PciDevice::new(PciAddress::new(0, 0x5e, 0, 1).unwrap(), 2);
        let port = PciDevice::new(PciAddress::new(0, 0, 0x1c, 0).unwrap(), 1);
        let id = identity(0x10de, 0x2330, 0x03_02_00);
        match self {
            Writer::V1 => vec![gpu, nic],
            Writer::V2Single | Writer::V2Chained => vec![
                gpu.with_identity(id).with_flags(PciFlags::BUS_MASTER),
                nic.with_flags(PciFlags::empty()),
            ],
            Writer::V2Hierarchy => vec![
                port.with_flags(PciFlags::BRIDGE | PciFlags::DESCENDANT),
                gpu.with_identity(id).with_flags(PciFlags::BUS_MASTER),
                nic.with_flags(PciFlags::empty()),
            ],
        }
    }

    /// Where the PCI table goes: one block of 4, or blocks of 1 for the chain.
    fn pci_blocks(self) -> Vec<BlockPlace> {
        match self {
            Writer::V2Chained => (0..4)
                .map(|i| BlockPlace {
                    phys: PhysAddr::new(PCI_PHYS + i * 0x100),
                    capacity: 1,
                })
                .collect(),
            _ => vec![BlockPlace {
                phys: PhysAddr::new(PCI_PHYS),
                capacity: 4,
            }],
        }
    }

    /// The handover in memory: root at `ROOT_PHYS`, and its length.
    fn write(self) -> (Memory, usize) {
        let version = self.version();
        let mut mem = Memory::new(BASE, 0x3000);
        let flb = Table::<FlbEntry>::encode(
            &mut mem,
            version,
            Generation::new(GENERATION),
            &[BlockPlace {
                phys: PhysAddr::new(FLB_PHYS),
                capacity: 4,
            }],
            flb_entries(),
        )
        .unwrap();
        let pci = Table::<PciEntry>::encode(
            &mut mem,
            version,
            Generation::new(GENERATION),
            &self.pci_blocks(),
            self.devices(),
        )
        .unwrap();
        assert_eq!(pci.entries, self.devices().len() as u64);
        let root_len = Root::len_for(version, Capacity::new(2)).unwrap();
        Root::encode(
            mem.write_at(ROOT_PHYS, root_len),
            Encoding::new(version, Generation::new(GENERATION), Capacity::new(2)),
            [flb.dir, pci.dir],
        )
        .unwrap();
        (mem, root_len)
    }
}

impl Memory {
    fn write_at(&mut self, phys: u64, len: usize) -> &mut [u8] {
        self.at(phys, len)
    }
}

/// What a reader sees of the PCI table.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    devices: Vec<PciDevice>,
    access: Access,
    blocks: u32,
}

fn read(mem: &Memory, root_len: usize, reader: AbiVersion) -> Result<Seen, TableError> {
    let root_bytes =
        liveupdate_abi::PhysMem::read(mem, PhysAddr::new(ROOT_PHYS), root_len).unwrap();
    let root = Root::decode_as(root_bytes, reader).unwrap();
    let flb = root.open_table::<FlbEntry>(mem)?;
    assert_eq!(flb.iter().copied().collect::<Vec<_>>(), flb_entries());
    let pci = root.open_table::<PciEntry>(mem)?;
    for device in pci.items() {
        assert!(pci.is_preserved(device.address));
    }
    Ok(Seen {
        devices: pci.items().collect(),
        access: pci.access(),
        blocks: pci.block_count(),
    })
}

/// What `reader` must see of what `writer` wrote.
fn expected(writer: Writer, reader: AbiVersion) -> Result<Seen, TableError> {
    let written = writer.devices();
    let blocks = u32::try_from(writer.pci_blocks().len().min(written.len())).unwrap();
    match (writer, reader) {
        // v1.0 records: both readers see the address and refcount; identity and flags
        // are fields v1.0 does not have (None).
        (Writer::V1, _) => Ok(Seen {
            devices: written,
            access: Access::ReadWrite,
            blocks: 1,
        }),
        // The v1.0 reader strides over the wider entries, reading what it knows.
        (Writer::V2Single, AbiVersion::V1_0) => Ok(Seen {
            devices: written.iter().map(|d| PciDevice::from(d.entry())).collect(),
            access: Access::ReadWrite,
            blocks: 1,
        }),
        // ... and must not rewrite a table whose refcounts count descendants.
        (Writer::V2Hierarchy, AbiVersion::V1_0) => Ok(Seen {
            devices: written.iter().map(|d| PciDevice::from(d.entry())).collect(),
            access: Access::ReadOnly { unknown: 1 },
            blocks: 1,
        }),
        // A chain it cannot follow is refused, never read in part.
        (Writer::V2Chained, AbiVersion::V1_0) => Err(TableError {
            block: 0,
            phys: PhysAddr::new(PCI_PHYS),
            error: DecodeError::UnsupportedFeatures {
                kind: RecordKind::PciTable,
                unknown: 1,
            },
        }),
        (_, AbiVersion::V1_1) => Ok(Seen {
            devices: written,
            access: Access::ReadWrite,
            blocks,
        }),
    }
}

#[test]
fn every_writer_against_every_reader() {
    let mut table = String::from("| writer | v1.0 reader | v1.1 reader |\n|---|---|---|\n");
    for writer in WRITERS {
        let (mem, root_len) = writer.write();
        write!(table, "| {writer:?} |").unwrap();
        for reader in AbiVersion::ALL {
            let seen = read(&mem, root_len, reader);
            assert_eq!(
                seen,
                expected(writer, reader),
                "{writer:?} read by {reader}"
            );
            match &seen {
                Ok(s) => write!(
                    table,
                    " reads {} devices, {:?} |",
                    s.devices.len(),
                    s.access
                ),
                Err(e) => write!(table, " refused: {e} |"),
            }
            .unwrap();
        }
        table.push('\n');
    }
    println!("{table}");
}

#[test]
fn the_chained_table_is_what_makes_v1_refuse() {
    // The same devices in one block: the v1.0 reader reads them (so a v2 writer that can use
    // one block keeps an old kernel able to read its table: rollback stays possible).
    let (mem, root_len) = Writer::V2Single.write();
    assert!(read(&mem, root_len, AbiVersion::V1_0).is_ok());
    let (mem, root_len) = Writer::V2Chained.write();
    let root_bytes =
        liveupdate_abi::PhysMem::read(&mem, PhysAddr::new(ROOT_PHYS), root_len).unwrap();
    let root = Root::decode(root_bytes).unwrap();
    // The first block alone is not the table: decoding it on its own is refused.
    let first = root.find(RecordKind::PciTable).unwrap();
    let bytes =
        liveupdate_abi::PhysMem::read(&mem, first.phys_addr(), first.length() as usize).unwrap();
    let needs = DecodeError::Chain {
        kind: RecordKind::PciTable,
        fault: ChainFault::NeedsMemory,
    };
    assert_eq!(root.open::<PciEntry>(bytes).map(drop), Err(needs));
    assert_eq!(Record::<PciEntry>::decode(bytes).map(drop), Err(needs));
    assert_eq!(
        Record::<PciEntry>::decode_as(bytes, AbiVersion::V1_0).map(drop),
        Err(DecodeError::UnsupportedFeatures {
            kind: RecordKind::PciTable,
            unknown: 1
        })
    );
}

#[test]
fn v1_writer_refuses_what_v1_cannot_express() {
    let mut mem = Memory::new(BASE, 0x3000);
    let one = |capacity| {
        [BlockPlace {
            phys: PhysAddr::new(PCI_PHYS),
            capacity,
        }]
    };
    let v1 = AbiVersion::V1_0;
    let pci = RecordKind::PciTable;
    let unfit = |what| TableError {
        block: 0,
        phys: PhysAddr::new(PCI_PHYS),
        error: EncodeError::Unfit {
            kind: pci,
            version: v1,
            what,
        },
    };
    for (writer, what) in [
        (Writer::V2Single, Unfit::Identity { index: 0 }),
        (
            Writer::V2Hierarchy,
            Unfit::Flags {
                index: 0,
                bits: (PciFlags::BRIDGE | PciFlags::DESCENDANT).bits(),
            },
        ),
    ] {
        let result =
            Table::<PciEntry>::encode(&mut mem, v1, Generation::new(1), &one(4), writer.devices());
        assert_eq!(result, Err(unfit(what)), "{writer:?}");
    }
    // Flags with no bit set are nothing lost.
    let plain = Writer::V1.devices();
    let empty: Vec<_> = plain
        .iter()
        .map(|d| d.with_flags(PciFlags::empty()))
        .collect();
    assert!(
        Table::<PciEntry>::encode(&mut mem, v1, Generation::new(1), &one(4), empty.clone()).is_ok()
    );
    // More devices than one block holds: v1 has no chain to put them in.
    let result = Table::<PciEntry>::encode(
        &mut mem,
        v1,
        Generation::new(1),
        &Writer::V2Chained.pci_blocks(),
        plain,
    );
    assert_eq!(result, Err(unfit(Unfit::Chain { capacity: 1 })));
    // The record encoder says the same about identities and flags.
    let mut out = vec![0u8; Record::<PciEntry>::len_for(v1, Capacity::new(4)).unwrap()];
    assert_eq!(
        Record::<PciEntry>::encode(
            &mut out,
            Encoding::new(v1, Generation::new(1), Capacity::new(4)),
            Writer::V2Single.devices()
        ),
        Err(EncodeError::Unfit {
            kind: pci,
            version: v1,
            what: Unfit::Identity { index: 0 }
        })
    );
    assert_eq!(
        EncodeError::Unfit {
            kind: pci,
            version: v1,
            what: Unfit::Chain { capacity: 1 }
        }
        .to_string(),
        "pci table: ABI 1.0 cannot express it: the entries do not fit one block of 1, and it has no chained tables"
    );
}

#[test]
fn v2_writer_keeps_v1_readable_when_it_can() {
    // Devices without identity or flags, in one block, written by v2: both readers read
    // them, and only the minor and entry size differ from what v1 writes.
    let devices = Writer::V1.devices();
    let mut v1 =
        vec![0u8; Record::<PciEntry>::len_for(AbiVersion::V1_0, Capacity::new(4)).unwrap()];
    let mut v2 =
        vec![0u8; Record::<PciEntry>::len_for(AbiVersion::V1_1, Capacity::new(4)).unwrap()];
    Record::<PciEntry>::encode(
        &mut v1,
        Encoding::new(AbiVersion::V1_0, Generation::new(1), Capacity::new(4)),
        devices.clone(),
    )
    .unwrap();
    Record::<PciEntry>::encode(
        &mut v2,
        Encoding::new(AbiVersion::V1_1, Generation::new(1), Capacity::new(4)),
        devices.clone(),
    )
    .unwrap();
    for reader in AbiVersion::ALL {
        for bytes in [&v1, &v2] {
            let table = Record::<PciEntry>::decode_as(bytes, reader).unwrap();
            let seen: Vec<_> = table.devices().map(|d| (d.address, d.refcount)).collect();
            let want: Vec<_> = devices.iter().map(|d| (d.address, d.refcount)).collect();
            assert_eq!(seen, want);
        }
    }
    assert_eq!(v1[6], 0);
    assert_eq!(v2[6], 1);
    // The v2 record holds flags (none set) and no identity.
    let table = Record::<PciEntry>::decode(&v2).unwrap();
    assert!(
        table
            .devices()
            .all(|d| d.identity.is_none() && d.flags == Some(PciFlags::empty()))
    );
    let table = Record::<PciEntry>::decode(&v1).unwrap();
    assert!(
        table
            .devices()
            .all(|d| d.identity.is_none() && d.flags.is_none())
    );
}

#[test]
fn roots_of_either_version_are_read_by_both_readers() {
    for version in AbiVersion::ALL {
        let dir = [DirEntry::new(
            RecordKind::PciTable,
            PhysAddr::new(PCI_PHYS),
            64,
            0,
        )];
        let mut out = vec![0u8; Root::len_for(version, Capacity::new(1)).unwrap()];
        Root::encode(
            &mut out,
            Encoding::new(version, Generation::new(3), Capacity::new(1)),
            dir,
        )
        .unwrap();
        for reader in AbiVersion::ALL {
            let root = Root::decode_as(&out, reader).unwrap();
            assert_eq!(root.find(RecordKind::PciTable), Some(&dir[0]));
            assert_eq!(root.reader(), reader);
            assert_eq!(root.version(), version.min(reader));
        }
    }
}

#[test]
fn a_v1_root_may_reference_a_chained_table_for_a_v2_reader() {
    // The root is read by its minor's rules, the tables by the reader's: a root written at
    // minor 0 does not make the newest reader read its tables as v1.0.
    let (mem, _) = Writer::V2Chained.write();
    let pci = Table::<PciEntry>::decode(&mem, PhysAddr::new(PCI_PHYS), 64 + 24).unwrap();
    let dir = [DirEntry::new(
        RecordKind::PciTable,
        PhysAddr::new(PCI_PHYS),
        u32::try_from(pci.first().as_bytes().len()).unwrap(),
        pci.first().header().crc(),
    )];
    let mut out = vec![0u8; Root::len_for(AbiVersion::V1_0, Capacity::new(1)).unwrap()];
    Root::encode(
        &mut out,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(GENERATION),
            Capacity::new(1),
        ),
        dir,
    )
    .unwrap();
    let root = Root::decode(&out).unwrap();
    assert_eq!(root.version(), AbiVersion::V1_0);
    let table = root.open_table::<PciEntry>(&mem).unwrap();
    assert_eq!(table.block_count(), 2);
    assert_eq!(
        table.items().collect::<Vec<_>>(),
        Writer::V2Chained.devices()
    );
    // The v1.0 reader refuses the chain at its first block.
    let old = Root::decode_as(&out, AbiVersion::V1_0).unwrap();
    assert!(matches!(
        old.open_table::<PciEntry>(&mem),
        Err(TableError {
            block: 0,
            error: DecodeError::UnsupportedFeatures { .. },
            ..
        })
    ));
}
