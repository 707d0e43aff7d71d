//! Sizes and offsets of the upstream structures, as `liveupdate_abi::linux` decodes and
//! encodes them: the table a C compiler's view of the kernel headers is compared against
//! (`host-tests/c/linux_upstream.c`, `tests/c_linux.rs`).
//!
//! Each [`Item`] is `sizeof(structure)`, `offsetof(structure, field)` or a derived constant.
//! `luo_ser` has a compatible field whose size depends on the string, so it appears once per
//! field size seen upstream, as `luo_ser@<compatible>`.
//!
//! The structures are private to the decoders, so sizes come from their public length
//! constants and every offset is located in bytes their encoder wrote: a field is written
//! with a value found once in the structure, and its offset is where that value is. A
//! decoder that moved a field would move it here too, and the C comparison would fail.

use liveupdate_abi::flb::{FlbEntry, FlbFlags, NAME_LEN};
use liveupdate_abi::linux::block::{BLOCK_HEADER_LEN, block_capacity};
use liveupdate_abi::linux::flb::{self, FLB_HEADER_LEN, FLB_SER_LEN, FlbArea};
use liveupdate_abi::linux::luo::LuoSer;
use liveupdate_abi::linux::pci::{
    PCI_DEV_SER_LEN, PciCompat, PciFormat, PciLayout, PciSer, PciVersion,
};
use liveupdate_abi::linux::{BlockBuf, KHO_MAX_BLOCKS, Kernel, PageSize};
use liveupdate_abi::mem::PhysAddr;
use liveupdate_abi::pci::{PciAddress, PciEntry};

/// One size, offset or constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    /// `"sizeof"`, `"offsetof"` or `"const"`.
    pub kind: &'static str,
    /// The structure (or constant) name.
    pub name: &'static str,
    /// The field, for `offsetof`.
    pub field: Option<&'static str>,
    /// The value in bytes (or entries, for constants).
    pub value: u64,
}

const fn size(name: &'static str, value: usize) -> Item {
    Item {
        kind: "sizeof",
        name,
        field: None,
        value: value as u64,
    }
}

const fn offset(name: &'static str, field: &'static str, value: usize) -> Item {
    Item {
        kind: "offsetof",
        name,
        field: Some(field),
        value: value as u64,
    }
}

const fn constant(name: &'static str, value: u64) -> Item {
    Item {
        kind: "const",
        name,
        field: None,
        value,
    }
}

/// Where `needle` is in `hay`, which holds it exactly once.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    let mut at = hay
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i);
    let first = at.next().expect("the encoder wrote the probe value");
    assert!(at.next().is_none(), "the probe value is found once");
    first
}

const NUM: u64 = 0x1111_2222_3333_4444;
const SESSIONS: u64 = 0x5555_6666_7777_8888;
const FLBS: u64 = 0x9999_aaaa_bbbb_cccc;

/// The items of `luo_ser` with `compatible`, located in a blob [`LuoSer::encode`] wrote.
fn luo(name: &'static str, compatible: &str, items: &mut Vec<Item>, all: bool) {
    let mut blob = [0u8; 128];
    let len = LuoSer::encode(
        &mut blob,
        compatible,
        Kernel::default(),
        NUM,
        PhysAddr::new(SESSIONS),
        PhysAddr::new(FLBS),
    )
    .expect("encodes");
    assert_eq!(len, LuoSer::len_for(compatible));
    let blob = &blob[..len];
    items.push(size(name, len));
    if all {
        items.push(offset(
            name,
            "compatible",
            find(blob, compatible.as_bytes()),
        ));
        items.push(offset(
            name,
            "liveupdate_num",
            find(blob, &NUM.to_le_bytes()),
        ));
        items.push(offset(
            name,
            "sessions_pa",
            find(blob, &SESSIONS.to_le_bytes()),
        ));
    }
    items.push(offset(name, "flbs_pa", find(blob, &FLBS.to_le_bytes())));
}

/// An FLB area of 3 pages holding 2 entries, as [`FlbArea::encode`] writes it.
fn flb_area() -> Vec<u8> {
    let entry = |name, data, count| FlbEntry::new(name, data, count, FlbFlags::empty());
    let entries = [
        entry("probe", 0x0102_0304_0506_0708, 0x1112_1314_1516_1718).expect("valid"),
        entry("second", 1, 1).expect("valid"),
    ];
    let mut out = vec![0u8; FLB_HEADER_LEN + 2 * FLB_SER_LEN];
    let len = FlbArea::encode(&mut out, 3, Kernel::default(), entries.iter()).expect("encodes");
    assert_eq!(len, out.len());
    out
}

/// `pci_ser` in `layout` (array forms) with `max_nr_devices` 5 and the one device `dev`.
fn pci_array(layout: PciLayout, compat: PciCompat, dev: PciEntry) -> Vec<u8> {
    let format = PciFormat::new(layout, compat).expect("a published format");
    let mut out = vec![0u8; layout.header_len() + 5 * PCI_DEV_SER_LEN];
    let len =
        PciSer::encode(&mut out, format, 5, Kernel::default(), [dev].iter()).expect("encodes");
    assert_eq!(len, out.len());
    out
}

/// The array-form items of `name`: `max_nr_devices` (5), `nr_devices` (1), `devices`.
fn pci_array_items(name: &'static str, layout: PciLayout, items: &mut Vec<Item>) {
    let dev = PciEntry::new(PCI_PROBE, 1);
    let blob = pci_array(layout, PciCompat::V1, dev);
    let header = &blob[..layout.header_len()];
    let (max, nr) = match layout {
        PciLayout::ArrayU64 => (
            find(header, &5u64.to_le_bytes()),
            find(header, &1u64.to_le_bytes()),
        ),
        _ => (
            find(header, &5u32.to_le_bytes()),
            find(header, &1u32.to_le_bytes()),
        ),
    };
    items.push(size(name, layout.header_len()));
    items.push(offset(name, "max_nr_devices", max));
    items.push(offset(name, "nr_devices", nr));
    items.push(offset(
        name,
        "devices",
        find(&blob, &PCI_PROBE.domain.to_le_bytes()),
    ));
}

/// A device address whose fields are all distinct bytes.
const PCI_PROBE: PciAddress = PciAddress {
    domain: 0x0a0b_0c0d,
    bdf: 0xe0f1,
};

/// Physical address of the first block of a probe chain.
const BLOCK0: u64 = 0x7_0000_0000;
/// Physical address of the second block of a probe chain.
const BLOCK1: u64 = 0x7_0001_0000;

/// A chain-form `pci_ser` and its first block, holding one more device than a 4 KiB block
/// does, so that the first block links to a second.
fn pci_chain() -> ([u8; 12], Vec<u8>) {
    let per_block = block_capacity(PageSize::SIZE_4K, PCI_DEV_SER_LEN);
    let entries: Vec<PciEntry> = (0..=per_block)
        .map(|i| {
            let bdf = u16::try_from(i).expect("below 2^16");
            PciEntry::new(PciAddress { domain: 0, bdf }, 1)
        })
        .collect();
    let (mut p0, mut p1) = (vec![0u8; 4096], vec![0u8; 4096]);
    let mut blocks = [
        BlockBuf {
            phys: PhysAddr::new(BLOCK0),
            buf: &mut p0,
        },
        BlockBuf {
            phys: PhysAddr::new(BLOCK1),
            buf: &mut p1,
        },
    ];
    let mut ser = [0u8; 12];
    let written = PciSer::encode_chain(
        &mut ser,
        PhysAddr::new(0x1000),
        &mut blocks,
        PciCompat::V2,
        Kernel::default(),
        entries.iter(),
    )
    .expect("encodes");
    assert_eq!((written.head, written.blocks), (PhysAddr::new(BLOCK0), 2));
    (ser, p0)
}

/// The versioned `pci_ser` (version 2, one device at `BLOCK0`).
fn pci_versioned() -> [u8; 16] {
    let mut p0 = vec![0u8; 4096];
    let mut blocks = [BlockBuf {
        phys: PhysAddr::new(BLOCK0),
        buf: &mut p0,
    }];
    let mut ser = [0u8; 16];
    PciSer::encode_versioned(
        &mut ser,
        PhysAddr::new(0x1000),
        &mut blocks,
        PciVersion::V2,
        Kernel::default(),
        [PciEntry::new(PCI_PROBE, 1)].iter(),
    )
    .expect("encodes");
    ser
}

/// The items of the versioned `pci_ser` (FLB `"pci"`).
fn versioned_items(items: &mut Vec<Item>) {
    // The FLB "pci": version 2 and one device, so that the three fields differ.
    let ser = pci_versioned();
    items.push(size("pci_ser@versioned", PciLayout::Versioned.header_len()));
    items.push(offset(
        "pci_ser@versioned",
        "version",
        find(&ser, &[2, 0, 0, 0, 1]),
    ));
    items.push(offset(
        "pci_ser@versioned",
        "nr_devices",
        find(&ser, &[1, 0, 0, 0, 0, 0, 0, 0, 7]),
    ));
    items.push(offset(
        "pci_ser@versioned",
        "devices",
        find(&ser, &BLOCK0.to_le_bytes()),
    ));
}

/// Every item, in the order the C program prints them.
///
/// # Panics
///
/// When an encoder refuses a probe or does not write a probe value exactly once: the
/// decoders' layout changed, and this table must follow.
pub fn items() -> Vec<Item> {
    let mut items = Vec::new();
    luo("luo_ser@luo-v3", "luo-v3", &mut items, true);
    luo(
        "luo_ser@luo-v5;block-v1",
        "luo-v5;block-v1",
        &mut items,
        true,
    );
    luo(
        "luo_ser@luo-v4-kho-block-v1",
        "luo-v4-kho-block-v1",
        &mut items,
        false,
    );

    let area = flb_area();
    let (header, entry) = (
        &area[..FLB_HEADER_LEN],
        &area[FLB_HEADER_LEN..][..FLB_SER_LEN],
    );
    items.push(size("luo_flb_header_ser", FLB_HEADER_LEN));
    items.push(offset(
        "luo_flb_header_ser",
        "pgcnt",
        find(header, &3u64.to_le_bytes()),
    ));
    items.push(offset(
        "luo_flb_header_ser",
        "count",
        find(header, &2u64.to_le_bytes()),
    ));
    items.push(size("luo_flb_ser", FLB_SER_LEN));
    items.push(offset("luo_flb_ser", "name", find(entry, b"probe\0")));
    let data = 0x0102_0304_0506_0708u64.to_le_bytes();
    items.push(offset("luo_flb_ser", "data", find(entry, &data)));
    let count = 0x1112_1314_1516_1718u64.to_le_bytes();
    items.push(offset("luo_flb_ser", "count", find(entry, &count)));

    // The array form of pci-v3 keeps a refcount above 1 (hierarchical), so all three fields
    // are probed.
    let blob = pci_array(
        PciLayout::Array,
        PciCompat::V3,
        PciEntry::new(PCI_PROBE, 0x0203),
    );
    let dev = &blob[PciLayout::Array.header_len()..][..PCI_DEV_SER_LEN];
    items.push(size("pci_dev_ser", PCI_DEV_SER_LEN));
    items.push(offset(
        "pci_dev_ser",
        "domain",
        find(dev, &PCI_PROBE.domain.to_le_bytes()),
    ));
    items.push(offset(
        "pci_dev_ser",
        "bdf",
        find(dev, &PCI_PROBE.bdf.to_le_bytes()),
    ));
    items.push(offset(
        "pci_dev_ser",
        "refcount",
        find(dev, &0x0203u16.to_le_bytes()),
    ));

    pci_array_items("pci_ser@array-u64", PciLayout::ArrayU64, &mut items);
    pci_array_items("pci_ser@array", PciLayout::Array, &mut items);

    let (ser, block) = pci_chain();
    let per_block = block_capacity(PageSize::SIZE_4K, PCI_DEV_SER_LEN);
    let nr = u32::try_from(per_block + 1).expect("small").to_le_bytes();
    items.push(size("pci_ser@chain", PciLayout::Chain.header_len()));
    items.push(offset("pci_ser@chain", "nr_devices", find(&ser, &nr)));
    items.push(offset(
        "pci_ser@chain",
        "devices",
        find(&ser, &BLOCK0.to_le_bytes()),
    ));
    versioned_items(&mut items);

    let header = &block[..BLOCK_HEADER_LEN];
    items.push(size("kho_block_header_ser", BLOCK_HEADER_LEN));
    items.push(offset(
        "kho_block_header_ser",
        "next",
        find(header, &BLOCK1.to_le_bytes()),
    ));
    items.push(offset(
        "kho_block_header_ser",
        "count",
        find(header, &per_block.to_le_bytes()),
    ));

    items.push(constant("LIVEUPDATE_FLB_COMPAT_LENGTH", NAME_LEN as u64));
    items.push(constant("KHO_MAX_BLOCKS", u64::from(KHO_MAX_BLOCKS)));
    let flb_max = flb::capacity(1, PageSize::SIZE_4K).expect("one page");
    items.push(constant("LUO_FLB_MAX_4K", flb_max));
    items.push(constant("PCI_DEV_SER_PER_4K_BLOCK", per_block));
    items
}
