//! The byte order of upstream fields, and the writing kernel's conventions a blob does not
//! record ([`Kernel`]: page size and byte order).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::linux::PageSize;

/// The byte order of the kernel that wrote a blob: upstream structures hold CPU-native
/// integers and record no byte-order marker, so a decoder must be told.
///
/// [`ByteOrder::Little`] is the default: the order of `x86_64` and arm64 kernels, the
/// architectures KHO runs on. [`ByteOrder::Big`] reads what a big-endian kernel (s390x, or a
/// big-endian arm64 build) would write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first (`x86_64`, arm64).
    #[default]
    Little,
    /// Most significant byte first (s390x, big-endian arm64).
    Big,
}

impl ByteOrder {
    /// The byte order of the CPU this code runs on: what a kernel built from it writes.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };

    /// `"little"` or `"big"`, for messages and command lines.
    pub const fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }

    /// The order named `name` (`"little"` or `"big"`).
    pub fn from_name(name: &str) -> Option<ByteOrder> {
        match name {
            "little" => Some(ByteOrder::Little),
            "big" => Some(ByteOrder::Big),
            _ => None,
        }
    }
}

/// What a decoder must know of the kernel that wrote a blob (and an encoder, of the kernel
/// that will read it), because the blob does not record it: its page size (the KHO block
/// size and the unit of `luo_flb_header_ser.pgcnt`) and its byte order. Upstream supports
/// neither a change of page size nor (implicitly) of byte order across a live update.
///
/// The default is 4 KiB pages, little-endian: an `x86_64` kernel, or an arm64 kernel with
/// 4 KiB pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Kernel {
    page: PageSize,
    order: ByteOrder,
}

impl Kernel {
    /// 4 KiB pages, little-endian (the default).
    pub const LITTLE_4K: Kernel = Kernel::new(PageSize::SIZE_4K, ByteOrder::Little);

    /// A kernel with pages of `page` writing in `order`.
    pub const fn new(page: PageSize, order: ByteOrder) -> Kernel {
        Kernel { page, order }
    }

    /// The page size.
    pub const fn page(self) -> PageSize {
        self.page
    }

    /// The byte order.
    pub const fn order(self) -> ByteOrder {
        self.order
    }

    /// This kernel with pages of `page`.
    #[must_use]
    pub const fn with_page(self, page: PageSize) -> Kernel {
        Kernel { page, ..self }
    }

    /// This kernel writing in `order`.
    #[must_use]
    pub const fn with_order(self, order: ByteOrder) -> Kernel {
        Kernel { order, ..self }
    }
}

/// Unsigned integer fields of alignment 1 whose byte order is given when read or written.
macro_rules! field {
    ($name:ident, $int:ty, $n:literal) => {
        #[doc = concat!("A `", stringify!($int), "` field in the writer's byte order.")]
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            FromBytes,
            IntoBytes,
            KnownLayout,
            Immutable,
            Unaligned,
        )]
        #[repr(transparent)]
        pub(crate) struct $name([u8; $n]);

        impl $name {
            /// `value` stored in `order`.
            pub(crate) const fn new(value: $int, order: ByteOrder) -> $name {
                $name(match order {
                    ByteOrder::Little => value.to_le_bytes(),
                    ByteOrder::Big => value.to_be_bytes(),
                })
            }

            /// The value, read in `order`.
            pub(crate) const fn get(self, order: ByteOrder) -> $int {
                match order {
                    ByteOrder::Little => <$int>::from_le_bytes(self.0),
                    ByteOrder::Big => <$int>::from_be_bytes(self.0),
                }
            }
        }
    };
}

field!(F16, u16, 2);
field!(F32, u32, 4);
field!(F64, u64, 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_store_and_read_in_the_order_given() {
        let v = F64::new(0x0102_0304_0506_0708, ByteOrder::Big);
        assert_eq!(v.0, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(v.get(ByteOrder::Big), 0x0102_0304_0506_0708);
        assert_eq!(v.get(ByteOrder::Little), 0x0807_0605_0403_0201);
        assert_eq!(F32::new(0x0102_0304, ByteOrder::Little).0, [4, 3, 2, 1]);
        assert_eq!(F16::new(0x0102, ByteOrder::Big).0, [1, 2]);
        assert_eq!(
            F16::new(0x0102, ByteOrder::Little).get(ByteOrder::Big),
            0x0201
        );
    }

    #[test]
    fn names_round_trip() {
        for o in [ByteOrder::Little, ByteOrder::Big] {
            assert_eq!(ByteOrder::from_name(o.name()), Some(o));
        }
        assert_eq!(ByteOrder::from_name("native"), None);
        assert_eq!(Kernel::default(), Kernel::LITTLE_4K);
    }
}
