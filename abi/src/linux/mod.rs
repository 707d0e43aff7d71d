//! Upstream Linux live-update formats: decoders, validators and encoders for the blobs a
//! Linux kernel hands over in KHO memory today, and conversions to and from this crate's types.
//!
//! | module | upstream structure | upstream source |
//! |---|---|---|
//! | [`luo`] | `struct luo_ser`, the root registered under KHO name `"LUO"` | `include/linux/kho/abi/luo.h` |
//! | [`flb`] | `struct luo_flb_header_ser` + `struct luo_flb_ser[]` at `luo_ser.flbs_pa` | `include/linux/kho/abi/luo.h` |
//! | [`pci`] | `struct pci_ser` + `struct pci_dev_ser`, the data of the FLB `"pci-vN"` or `"pci"` | `include/linux/kho/abi/pci.h` |
//! | [`block`] | `struct kho_block_header_ser` chains | `include/linux/kho/abi/block.h` |
//!
//! `abi/SPEC.md` section 12 gives every layout with the patch each was read from. What is not
//! a kernel format lives in `liveupdate-host-tests` (`linux::image`, the `KHOIMAGE` file
//! holding a blob and its pages; `linux::file`, the `luo --linux KIND` entry points;
//! `linux::layout`, the C tests' table; `fuzz::linux::bodies`).
//!
//! # Byte order and packing
//!
//! Upstream fields are plain CPU-native `u16/u32/u64` in `__packed` structs, with no byte-order
//! marker: a blob is in the byte order of the kernel that wrote it, and nothing in it allows to
//! tell. Every decoder and encoder here is told the writer's byte order (and page size) by a
//! [`Kernel`]: [`ByteOrder::Little`] by default, the order of every architecture the cited KHO
//! trees support (`x86_64`, arm64); [`ByteOrder::Big`] for a big-endian writer (s390x);
//! [`ByteOrder::NATIVE`] for the CPU this code runs on. A blob read in the wrong order is in
//! general refused by the checks (counts beyond capacities, misaligned blocks, unknown
//! versions), but may also be misread: the order is the caller's to know, never guessed.
//! Fields are read as byte arrays of alignment 1, so packed layouts such as the misaligned
//! `u64` at offset 4 of the v7 `pci_ser` decode at any address.
//!
//! # Validation
//!
//! Upstream blobs carry no magic, length or checksum. The decoders check everything the
//! kernel checks (`count != 0` for blocks, at most [`KHO_MAX_BLOCKS`] blocks, no cycle,
//! `count` within a block's capacity, a `pci_ser.version` it knows) and what the writers
//! guarantee (a NUL inside every name, `count != 0` for FLBs, counts within capacities, free
//! slots zeroed, refcounts as the compatible defines them, no duplicate device), and name
//! what and where in a [`LinuxError`]. Where the kernel is more lenient than that (an FLB
//! name without a NUL, an FLB count of 0, a `luo_ser` longer than the structure), the
//! `decode_lenient` entry points pass the finding to a warning callback instead of refusing.
//! The form of a blob is always the caller's to name, never guessed from its length.
//! Nothing here allocates or panics.
//!
//! # Example
//!
//! ```
//! use liveupdate_abi::linux::{luo::LuoSer, luo::LuoAbi, ByteOrder, Kernel};
//! use liveupdate_abi::mem::PhysAddr;
//!
//! // A luo-v3 root as an x86-64 kernel registers it: "luo-v3\0\0", then three u64s.
//! let x86 = Kernel::default();
//! let mut blob = [0u8; 32];
//! let (sessions, flbs) = (PhysAddr::new(0x1000), PhysAddr::new(0x2000));
//! let len = LuoSer::encode(&mut blob, "luo-v3", x86, 7, sessions, flbs)?;
//! assert_eq!(len, 32);
//! assert_eq!(blob[8], 7); // liveupdate_num, least significant byte first
//!
//! let root = LuoSer::decode(&blob, x86)?;
//! assert_eq!(root.abi(), Some(LuoAbi::V3));
//! assert_eq!((root.liveupdate_num(), root.flbs_pa()), (7, flbs));
//!
//! // Read as a big-endian kernel's blob, the same bytes mean something else.
//! let big = LuoSer::decode(&blob, x86.with_order(ByteOrder::Big))?;
//! assert_eq!(big.liveupdate_num(), 7 << 56);
//! # Ok::<(), liveupdate_abi::linux::LinuxError>(())
//! ```
#![forbid(unsafe_code)]

pub mod block;
pub mod error;
pub mod flb;
pub mod luo;
pub mod pci;

mod name;
mod order;

pub use block::{BlockBuf, KHO_MAX_BLOCKS};
pub use error::{
    BlockFault, CountField, LinuxError, NameFault, ReprFault, SlotFault, Struct, Where,
};
pub use order::{ByteOrder, Kernel};

/// A kernel page size: the size of a KHO block and the unit of `luo_flb_header_ser.pgcnt`.
///
/// Upstream ties both to `PAGE_SIZE` ("live update between kernels with different page sizes
/// is not supported by KHO"), so a decoder must be told the writer's page size. Valid sizes
/// are the powers of two from 4 KiB to 64 KiB (`x86_64` uses 4 KiB; arm64 4, 16 or 64 KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageSize(u32);

impl PageSize {
    /// 4 KiB, the page size of `x86_64` and of most arm64 kernels.
    pub const SIZE_4K: PageSize = PageSize(4096);

    /// The page size of `bytes` bytes, if it is a power of two from 4 KiB to 64 KiB.
    pub const fn new(bytes: u64) -> Option<PageSize> {
        if bytes.is_power_of_two() && bytes >= 4096 && bytes <= 65536 {
            // bytes <= 65536 fits u32.
            #[allow(clippy::cast_possible_truncation)]
            Some(PageSize(bytes as u32))
        } else {
            None
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> usize {
        self.0 as usize
    }

    /// The size in bytes, as a `u64`.
    pub const fn get(self) -> u64 {
        self.0 as u64
    }
}

impl Default for PageSize {
    fn default() -> PageSize {
        PageSize::SIZE_4K
    }
}
