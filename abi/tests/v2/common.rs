//! Fixed inputs of the v2 golden vectors, a simulated physical memory, and an independent
//! writer of v1.1 PCI entries.

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::path::PathBuf;

use liveupdate_abi::PhysAddr;
use liveupdate_abi::{
    AbiVersion, BlockPlace, DirEntry, Entry, FlbEntry, PciAddress, PciDevice, PciFlags,
    PciIdentity, PhysMem, PhysMemMut, Record, RecordKind, Table, TableWritten,
};
use liveupdate_abi::{MemError, SliceMemory};

pub use crate::v1::{
    FLB_CAPACITY, FLB_PHYS, GENERATION, PCI_PHYS, ROOT_CAPACITY, flb_entries, put_u16, put_u32,
    spec_crc,
};

/// Entry slots of the golden v2 PCI table: four used, two spare.
pub const PCI_CAPACITY: u32 = 6;
/// Where the golden chained PCI table's blocks are, each with room for two devices.
pub const CHAIN_PHYS: [u64; 3] = [0x1_0000_3000, 0x1_0000_3100, 0x1_0000_3200];
/// Entry slots of each block of the golden chain.
pub const CHAIN_CAPACITY: u32 = 2;
/// Size of a v1.1 PCI entry.
pub const PCI2_SIZE: usize = 24;

pub fn identity(vendor: u16, device: u16, class: u32) -> PciIdentity {
    PciIdentity::new(vendor, device, class).unwrap()
}

/// The devices of the golden v2 PCI table, in table order: a root port preserved because the
/// GPU below it is (refcount 1: one device below), the GPU, a device whose identity was not
/// known (preserved twice), and an `NVMe` drive behind a VMD bridge (domain 0x10000).
pub fn pci_devices() -> Vec<PciDevice> {
    vec![
        PciDevice::new(PciAddress::new(0, 0x00, 0x1c, 0).unwrap(), 1)
            .with_identity(identity(0x8086, 0xa33c, 0x06_04_00))
            .with_flags(PciFlags::BRIDGE | PciFlags::DESCENDANT),
        PciDevice::new(PciAddress::new(0, 0x3b, 0x00, 0).unwrap(), 1)
            .with_identity(identity(0x10de, 0x2330, 0x03_02_00))
            .with_flags(PciFlags::BUS_MASTER),
        PciDevice::new(PciAddress::new(0, 0x3c, 0x00, 0).unwrap(), 2).with_flags(PciFlags::empty()),
        PciDevice::new(PciAddress::new(0x1_0000, 0x01, 0x00, 0).unwrap(), 1)
            .with_identity(identity(0x144d, 0xa80a, 0x01_08_02))
            .with_flags(PciFlags::BUS_MASTER),
    ]
}

/// The devices of the golden chained PCI table: the four above and a second `NVMe` drive.
pub fn chain_devices() -> Vec<PciDevice> {
    let mut devices = pci_devices();
    devices.push(
        PciDevice::new(PciAddress::new(0x1_0000, 0x02, 0x00, 0).unwrap(), 1)
            .with_identity(identity(0x8086, 0x0b60, 0x01_08_02))
            .with_flags(PciFlags::BUS_MASTER),
    );
    devices
}

/// Encodes `items` as a v1.1 record into a buffer of exactly its size.
pub fn encode2<E: Entry>(generation: u64, capacity: u32, items: &[E::Item]) -> Vec<u8> {
    encode_as::<E>(AbiVersion::V1_1, generation, capacity, items)
}

/// Encodes `items` as a record of `version` into a buffer of exactly its size.
pub fn encode_as<E: Entry>(
    version: AbiVersion,
    generation: u64,
    capacity: u32,
    items: &[E::Item],
) -> Vec<u8> {
    let mut out = vec![0xA5; Record::<E>::len_for(version, Capacity::new(capacity)).unwrap()];
    let len = Record::<E>::encode(
        &mut out,
        Encoding::new(
            version,
            Generation::new(generation),
            Capacity::new(capacity),
        ),
        items.iter().copied(),
    )
    .unwrap();
    assert_eq!(len, out.len());
    out
}

pub fn pci_golden() -> Vec<u8> {
    encode2::<liveupdate_abi::PciEntry>(GENERATION, PCI_CAPACITY, &pci_devices())
}

pub fn flb_golden() -> Vec<u8> {
    encode2::<FlbEntry>(GENERATION, FLB_CAPACITY, &flb_entries())
}

/// The golden v1.1 root: the v2 FLB and PCI tables at the v1 golden addresses.
pub fn root_golden() -> Vec<u8> {
    let flb = flb_golden();
    let pci = pci_golden();
    let dir = [
        DirEntry::new(
            RecordKind::FlbTable,
            PhysAddr::new(FLB_PHYS),
            len32(&flb),
            spec_crc(&flb),
        ),
        DirEntry::new(
            RecordKind::PciTable,
            PhysAddr::new(PCI_PHYS),
            len32(&pci),
            spec_crc(&pci),
        ),
    ];
    encode2::<DirEntry>(GENERATION, ROOT_CAPACITY, &dir)
}

/// The golden chained PCI table: memory from `CHAIN_PHYS[0]` to the end of the last block.
pub fn chain_golden() -> Vec<u8> {
    let mut mem = Memory::new(CHAIN_PHYS[0], 0x300);
    let written = write_chain(&mut mem, &chain_devices());
    assert_eq!(written.blocks, 3);
    let end = CHAIN_PHYS[2] + u64::from(block_len()) - CHAIN_PHYS[0];
    mem.bytes.truncate(usize::try_from(end).unwrap());
    mem.bytes
}

/// Length of one block of the golden chain.
pub fn block_len() -> u32 {
    let len = Record::<liveupdate_abi::PciEntry>::len_for(
        AbiVersion::V1_1,
        Capacity::new(CHAIN_CAPACITY),
    );
    u32::try_from(len.unwrap()).unwrap()
}

pub fn chain_places() -> Vec<BlockPlace> {
    CHAIN_PHYS
        .iter()
        .map(|&phys| BlockPlace {
            phys: PhysAddr::new(phys),
            capacity: CHAIN_CAPACITY,
        })
        .collect()
}

/// Writes `devices` as the golden chain's blocks into `mem`.
pub fn write_chain(mem: &mut Memory, devices: &[PciDevice]) -> TableWritten {
    Table::<liveupdate_abi::PciEntry>::encode(
        mem,
        AbiVersion::V1_1,
        Generation::new(GENERATION),
        &chain_places(),
        devices.iter().copied(),
    )
    .unwrap()
}

pub fn len32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap()
}

/// File `name` under `tests/golden/v2/`.
pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/v2")
        .join(name)
}

/// Physical memory for tests: `bytes[0]` is at physical address `base`.
#[derive(Clone, Debug)]
pub struct Memory {
    pub base: u64,
    pub bytes: Vec<u8>,
}

impl Memory {
    /// `size` zero bytes at `base`.
    pub fn new(base: u64, size: usize) -> Memory {
        Memory {
            base,
            bytes: vec![0; size],
        }
    }

    /// `bytes` placed at `base`.
    pub fn with(base: u64, bytes: &[u8]) -> Memory {
        Memory {
            base,
            bytes: bytes.to_vec(),
        }
    }

    fn range(&self, phys: u64, len: usize) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(phys.checked_sub(self.base)?).ok()?;
        let end = start.checked_add(len)?;
        (end <= self.bytes.len()).then_some(start..end)
    }

    /// The bytes at `phys`, mutable, for a test to damage.
    pub fn at(&mut self, phys: u64, len: usize) -> &mut [u8] {
        let range = self.range(phys, len).expect("inside the memory");
        &mut self.bytes[range]
    }

    /// Copies `bytes` to `phys`.
    pub fn put(&mut self, phys: u64, bytes: &[u8]) {
        self.at(phys, bytes.len()).copy_from_slice(bytes);
    }
}

impl Memory {
    /// The error a read of `len` bytes at `phys` outside this memory gives.
    pub fn unmapped(&self, phys: u64, len: usize) -> MemError {
        MemError::unmapped(
            PhysAddr::new(phys),
            len,
            PhysAddr::new(self.base),
            self.bytes.len() as u64,
        )
    }
}

impl PhysMem for Memory {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        SliceMemory::new(PhysAddr::new(self.base), &self.bytes[..]).read(addr, len)?;
        let range = self.range(addr.raw(), len).expect("checked");
        Ok(&self.bytes[range])
    }
}

impl PhysMemMut for Memory {
    fn write(&mut self, addr: PhysAddr, len: usize) -> Result<&mut [u8], MemError> {
        SliceMemory::new(PhysAddr::new(self.base), &self.bytes[..]).read(addr, len)?;
        let range = self.range(addr.raw(), len).expect("checked");
        Ok(&mut self.bytes[range])
    }
}

/// The raw bytes of a v1.1 PCI entry, written from SPEC.md without the crate.
#[allow(clippy::too_many_arguments)]
pub fn raw_pci2(
    domain: u32,
    bdf: u16,
    refcount: u16,
    vendor: u16,
    device: u16,
    class: u32,
    flags: u32,
    reserved: u32,
) -> Vec<u8> {
    let mut e = vec![0; PCI2_SIZE];
    put_u32(&mut e, 0, domain);
    put_u16(&mut e, 4, bdf);
    put_u16(&mut e, 6, refcount);
    put_u16(&mut e, 8, vendor);
    put_u16(&mut e, 10, device);
    put_u32(&mut e, 12, class);
    put_u32(&mut e, 16, flags);
    put_u32(&mut e, 20, reserved);
    e
}

/// Re-seals a hand-edited record with SPEC.md's CRC, without the crate.
pub fn reseal_raw(bytes: &mut [u8]) {
    let crc = spec_crc(bytes);
    put_u32(bytes, 44, crc);
}
