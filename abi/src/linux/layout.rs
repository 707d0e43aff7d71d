//! Sizes and offsets of the upstream structures, as this module decodes them: the table a C
//! compiler's view of the kernel headers is compared against (`host-tests/c/linux_upstream.c`).
//!
//! Each [`Item`] is `sizeof(structure)`, `offsetof(structure, field)` or a derived constant.
//! `luo_ser` has a compatible field whose size depends on the string, so it appears once per
//! field size seen upstream, as `luo_ser@<compatible>`.

use core::mem::offset_of;

use crate::flb::NAME_LEN;
use crate::linux::PageSize;
use crate::linux::block::{BlockHeaderSer, KHO_MAX_BLOCKS, block_capacity};
use crate::linux::flb::{FlbHeaderSer, FlbSer};
use crate::linux::luo::{LuoSer, LuoSerTail};
use crate::linux::name::compat_field_len;
use crate::linux::pci::{PciDevSer, PciSerArray, PciSerArrayU64, PciSerChain};

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

const V3: usize = compat_field_len("luo-v3".len());
const V5B: usize = compat_field_len("luo-v5;block-v1".len());
const V4K: usize = compat_field_len("luo-v4-kho-block-v1".len());

/// Every item, in the order the C program prints them.
pub const ITEMS: [Item; 41] = [
    size("luo_ser@luo-v3", LuoSer::len_for("luo-v3")),
    offset("luo_ser@luo-v3", "compatible", 0),
    offset(
        "luo_ser@luo-v3",
        "liveupdate_num",
        V3 + offset_of!(LuoSerTail, liveupdate_num),
    ),
    offset(
        "luo_ser@luo-v3",
        "sessions_pa",
        V3 + offset_of!(LuoSerTail, sessions_pa),
    ),
    offset(
        "luo_ser@luo-v3",
        "flbs_pa",
        V3 + offset_of!(LuoSerTail, flbs_pa),
    ),
    size(
        "luo_ser@luo-v5;block-v1",
        LuoSer::len_for("luo-v5;block-v1"),
    ),
    offset("luo_ser@luo-v5;block-v1", "compatible", 0),
    offset(
        "luo_ser@luo-v5;block-v1",
        "liveupdate_num",
        V5B + offset_of!(LuoSerTail, liveupdate_num),
    ),
    offset(
        "luo_ser@luo-v5;block-v1",
        "sessions_pa",
        V5B + offset_of!(LuoSerTail, sessions_pa),
    ),
    offset(
        "luo_ser@luo-v5;block-v1",
        "flbs_pa",
        V5B + offset_of!(LuoSerTail, flbs_pa),
    ),
    size(
        "luo_ser@luo-v4-kho-block-v1",
        LuoSer::len_for("luo-v4-kho-block-v1"),
    ),
    offset(
        "luo_ser@luo-v4-kho-block-v1",
        "flbs_pa",
        V4K + offset_of!(LuoSerTail, flbs_pa),
    ),
    size("luo_flb_header_ser", size_of::<FlbHeaderSer>()),
    offset(
        "luo_flb_header_ser",
        "pgcnt",
        offset_of!(FlbHeaderSer, pgcnt),
    ),
    offset(
        "luo_flb_header_ser",
        "count",
        offset_of!(FlbHeaderSer, count),
    ),
    size("luo_flb_ser", size_of::<FlbSer>()),
    offset("luo_flb_ser", "name", offset_of!(FlbSer, name)),
    offset("luo_flb_ser", "data", offset_of!(FlbSer, data)),
    offset("luo_flb_ser", "count", offset_of!(FlbSer, count)),
    size("pci_dev_ser", size_of::<PciDevSer>()),
    offset("pci_dev_ser", "domain", offset_of!(PciDevSer, domain)),
    offset("pci_dev_ser", "bdf", offset_of!(PciDevSer, bdf)),
    offset("pci_dev_ser", "refcount", offset_of!(PciDevSer, refcount)),
    size("pci_ser@array-u64", size_of::<PciSerArrayU64>()),
    offset(
        "pci_ser@array-u64",
        "max_nr_devices",
        offset_of!(PciSerArrayU64, max_nr_devices),
    ),
    offset(
        "pci_ser@array-u64",
        "nr_devices",
        offset_of!(PciSerArrayU64, nr_devices),
    ),
    offset("pci_ser@array-u64", "devices", size_of::<PciSerArrayU64>()),
    size("pci_ser@array", size_of::<PciSerArray>()),
    offset(
        "pci_ser@array",
        "max_nr_devices",
        offset_of!(PciSerArray, max_nr_devices),
    ),
    offset(
        "pci_ser@array",
        "nr_devices",
        offset_of!(PciSerArray, nr_devices),
    ),
    offset("pci_ser@array", "devices", size_of::<PciSerArray>()),
    size("pci_ser@chain", size_of::<PciSerChain>()),
    offset(
        "pci_ser@chain",
        "nr_devices",
        offset_of!(PciSerChain, nr_devices),
    ),
    offset("pci_ser@chain", "devices", offset_of!(PciSerChain, devices)),
    size("kho_block_header_ser", size_of::<BlockHeaderSer>()),
    offset(
        "kho_block_header_ser",
        "next",
        offset_of!(BlockHeaderSer, next),
    ),
    offset(
        "kho_block_header_ser",
        "count",
        offset_of!(BlockHeaderSer, count),
    ),
    constant("LIVEUPDATE_FLB_COMPAT_LENGTH", NAME_LEN as u64),
    constant("KHO_MAX_BLOCKS", KHO_MAX_BLOCKS as u64),
    constant(
        "LUO_FLB_MAX_4K",
        ((PageSize::SIZE_4K.bytes() - size_of::<FlbHeaderSer>()) / size_of::<FlbSer>()) as u64,
    ),
    constant(
        "PCI_DEV_SER_PER_4K_BLOCK",
        block_capacity(PageSize::SIZE_4K, size_of::<PciDevSer>()),
    ),
];
