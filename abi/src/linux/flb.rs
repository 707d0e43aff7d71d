//! The FLB area at `luo_ser.flbs_pa`: `struct luo_flb_header_ser` followed by `count`
//! `struct luo_flb_ser`, in `pgcnt` preserved pages.
//!
//! | struct | offset | size | field |
//! |---|---|---|---|
//! | `luo_flb_header_ser` (16 B) | 0 | 8 | `pgcnt` — pages of the area (`LUO_FLB_PGCNT = 1`) |
//! | | 8 | 8 | `count` — entries that follow |
//! | `luo_flb_ser` (64 B) | 0 | 48 | `name` — the FLB's compatible, NUL-terminated (`LIVEUPDATE_FLB_COMPAT_LENGTH`) |
//! | | 48 | 8 | `data` — the handle `preserve()` returned |
//! | | 56 | 8 | `count` — preserved files depending on the FLB; the new kernel's incoming refcount |
//!
//! With one 4 KiB page an area holds `(4096 - 16) / 64 = 63` entries (`LUO_FLB_MAX`). The
//! incoming kernel refuses an entry whose name has no NUL within 48 bytes or whose count is 0.
//! Sources: "[PATCH v7 21/22] liveupdate: `luo_flb`: Introduce File-Lifecycle-Bound global state"
//! (Pasha Tatashin, Nov 2025) and `linux-mm/linux-mm:kernel/liveupdate/luo_flb.c`; unchanged
//! through "[PATCH v3 01/11] liveupdate: centralize state management into struct `luo_ser`"
//! (Pasha Tatashin, 29 May 2026), which moved the area's address into `luo_ser.flbs_pa`.
//!
//! Decoding accepts what the kernel accepts, plus: names are non-empty and counts fit the
//! pages. Bytes after a name's NUL are not checked (the kernel `strscpy()`s names without
//! clearing the rest). Converting to this crate's [`FlbEntry`] additionally requires printable
//! names and no duplicates.

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::flb::{FlbEntry, FlbFlags, NAME_LEN};
use crate::linux::error::{CountField, LinuxError, ReprFault, Struct, Where};
use crate::linux::order::F64;
use crate::linux::{ByteOrder, Kernel, PageSize, name};

/// `struct luo_flb_header_ser`. 16 bytes, packed, in the writer's byte order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct FlbHeaderSer {
    pub(crate) pgcnt: F64,
    pub(crate) count: F64,
}

/// `struct luo_flb_ser`. 64 bytes, packed, in the writer's byte order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct FlbSerRaw {
    pub(crate) name: [u8; NAME_LEN],
    pub(crate) data: F64,
    pub(crate) count: F64,
}

const _: () = {
    assert!(size_of::<FlbHeaderSer>() == 16);
    assert!(offset_of!(FlbHeaderSer, count) == 8);
    assert!(size_of::<FlbSerRaw>() == 64);
    assert!(offset_of!(FlbSerRaw, data) == 48);
    assert!(offset_of!(FlbSerRaw, count) == 56);
};

/// Size of `struct luo_flb_header_ser`.
pub const FLB_HEADER_LEN: usize = size_of::<FlbHeaderSer>();
/// Size of `struct luo_flb_ser`.
pub const FLB_SER_LEN: usize = size_of::<FlbSerRaw>();
/// Pages of the area the kernel allocates (`LUO_FLB_PGCNT`).
pub const LUO_FLB_PGCNT: u64 = 1;

/// One `struct luo_flb_ser` of a decoded [`FlbArea`], read in the area's byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlbSer<'a> {
    raw: &'a FlbSerRaw,
    order: ByteOrder,
}

impl<'a> FlbSer<'a> {
    /// The name: the bytes before the NUL (validated non-empty in a decoded area).
    pub fn name_bytes(self) -> &'a [u8] {
        let len = name::terminated(&self.raw.name).unwrap_or(NAME_LEN);
        self.raw.name.get(..len).unwrap_or(&[])
    }

    /// The name, when it is UTF-8.
    pub fn name(self) -> Option<&'a str> {
        core::str::from_utf8(self.name_bytes()).ok()
    }

    /// The raw 48-byte name field.
    pub fn name_field(self) -> &'a [u8; NAME_LEN] {
        &self.raw.name
    }

    /// The `data` handle.
    pub fn data(self) -> u64 {
        self.raw.data.get(self.order)
    }

    /// The dependent-file count.
    pub fn count(self) -> u64 {
        self.raw.count.get(self.order)
    }
}

/// The entries of a decoded [`FlbArea`], in stored order.
#[derive(Clone, Debug)]
pub struct FlbEntries<'a> {
    raw: core::slice::Iter<'a, FlbSerRaw>,
    order: ByteOrder,
}

impl<'a> Iterator for FlbEntries<'a> {
    type Item = FlbSer<'a>;

    fn next(&mut self) -> Option<FlbSer<'a>> {
        let order = self.order;
        self.raw.next().map(|raw| FlbSer { raw, order })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.raw.size_hint()
    }
}

impl DoubleEndedIterator for FlbEntries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let order = self.order;
        self.raw.next_back().map(|raw| FlbSer { raw, order })
    }
}

impl ExactSizeIterator for FlbEntries<'_> {}

/// Checks an area's `pgcnt` (not zero, not overflowing) and `count` (within the pages) and
/// returns the bytes its header and entries take. Shared by the decoder and the encoder, so
/// both refuse exactly the same areas.
fn area_len(pgcnt: u64, count: u64, page: PageSize) -> Result<u64, LinuxError> {
    if pgcnt == 0 {
        return Err(LinuxError::Zero {
            what: Struct::FlbHeader,
            field: CountField::Pgcnt,
            index: 0,
            at: Where::Offset(0),
        });
    }
    let cap = capacity(pgcnt, page).ok_or(LinuxError::Count {
        what: Struct::FlbHeader,
        field: CountField::Pgcnt,
        max: u64::MAX / page.get(),
        found: pgcnt,
    })?;
    if count > cap {
        return Err(LinuxError::Count {
            what: Struct::FlbHeader,
            field: CountField::FlbCount,
            max: cap,
            found: count,
        });
    }
    // count <= cap, and cap * 64 + 16 <= pgcnt * PAGE_SIZE fits u64.
    Ok(FLB_HEADER_LEN as u64 + count * FLB_SER_LEN as u64)
}

/// Entries an area of `pgcnt` pages holds: `(pgcnt * PAGE_SIZE - 16) / 64`, or `None` when
/// the area's size overflows.
pub fn capacity(pgcnt: u64, page: PageSize) -> Option<u64> {
    let area = pgcnt.checked_mul(page.get())?;
    Some(area.checked_sub(FLB_HEADER_LEN as u64)? / FLB_SER_LEN as u64)
}

/// A validated FLB area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlbArea<'a> {
    pgcnt: u64,
    kernel: Kernel,
    entries: &'a [FlbSerRaw],
}

impl<'a> FlbArea<'a> {
    /// Validates `bytes`, the FLB area: at least the header and its `count` entries, at most
    /// the `pgcnt` pages of `kernel`'s page size (a dump of the whole pages decodes too),
    /// its fields in `kernel`'s byte order.
    ///
    /// # Errors
    ///
    /// [`LinuxError::TooShort`], [`LinuxError::TooLong`]; [`LinuxError::Zero`] for `pgcnt`
    /// or an entry's `count`; [`LinuxError::Count`] for a `count` above the area's capacity
    /// (or a `pgcnt` whose area overflows); [`LinuxError::Name`] for a name with no NUL or
    /// empty.
    pub fn decode(bytes: &'a [u8], kernel: Kernel) -> Result<FlbArea<'a>, LinuxError> {
        FlbArea::decode_inner(bytes, kernel, None)
    }

    /// [`FlbArea::decode`], accepting what the incoming kernel accepts: an entry whose name
    /// has no NUL in its 48 bytes, an empty name, or a `count` of 0 is passed to `warn`
    /// (the kernel's retrieve compares names with `strcmp()` and rejects neither) and
    /// decoding goes on. Everything else is refused as by [`FlbArea::decode`].
    ///
    /// # Errors
    ///
    /// Those of [`FlbArea::decode`] but the three above.
    pub fn decode_lenient(
        bytes: &'a [u8],
        kernel: Kernel,
        warn: &mut dyn FnMut(LinuxError),
    ) -> Result<FlbArea<'a>, LinuxError> {
        FlbArea::decode_inner(bytes, kernel, Some(warn))
    }

    fn decode_inner(
        bytes: &'a [u8],
        kernel: Kernel,
        mut warn: Option<&mut dyn FnMut(LinuxError)>,
    ) -> Result<FlbArea<'a>, LinuxError> {
        let mut flag = |e: LinuxError| match warn.as_mut() {
            Some(w) => {
                w(e);
                Ok(())
            }
            None => Err(e),
        };
        let (header, rest) =
            FlbHeaderSer::ref_from_prefix(bytes).map_err(|_| LinuxError::TooShort {
                what: Struct::FlbHeader,
                needed: FLB_HEADER_LEN as u64,
                found: bytes.len() as u64,
            })?;
        let (page, order) = (kernel.page(), kernel.order());
        let (pgcnt, count) = (header.pgcnt.get(order), header.count.get(order));
        let needed = area_len(pgcnt, count, page)?;
        let area = pgcnt * page.get();
        if (bytes.len() as u64) < needed {
            return Err(LinuxError::TooShort {
                what: Struct::FlbSer,
                needed,
                found: bytes.len() as u64,
            });
        }
        if bytes.len() as u64 > area {
            return Err(LinuxError::TooLong {
                what: Struct::FlbHeader,
                max: area,
                found: bytes.len() as u64,
            });
        }
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        let (entries, _) = <[FlbSerRaw]>::ref_from_prefix_with_elems(rest, n).map_err(|_| {
            LinuxError::TooShort {
                what: Struct::FlbSer,
                needed,
                found: bytes.len() as u64,
            }
        })?;
        for (index, entry) in entries.iter().enumerate() {
            let offset = (FLB_HEADER_LEN + index * FLB_SER_LEN) as u64;
            let name_err = |fault| LinuxError::Name {
                what: Struct::FlbSer,
                index: index as u64,
                at: Where::Offset(offset),
                fault,
            };
            match name::terminated(&entry.name) {
                Err(fault) => flag(name_err(fault))?,
                Ok(0) => flag(name_err(crate::linux::error::NameFault::Empty))?,
                Ok(_) => {}
            }
            if entry.count.get(order) == 0 {
                flag(LinuxError::Zero {
                    what: Struct::FlbSer,
                    field: CountField::FlbFileCount,
                    index: index as u64,
                    at: Where::Offset(offset),
                })?;
            }
        }
        Ok(FlbArea {
            pgcnt,
            kernel,
            entries,
        })
    }

    /// `pgcnt`.
    pub fn pgcnt(&self) -> u64 {
        self.pgcnt
    }

    /// Entries the area has room for.
    pub fn capacity(&self) -> u64 {
        capacity(self.pgcnt, self.kernel.page()).unwrap_or(0)
    }

    /// The entries, in stored order.
    pub fn entries(&self) -> FlbEntries<'a> {
        FlbEntries {
            raw: self.entries.iter(),
            order: self.kernel.order(),
        }
    }

    /// The entry at `index` in stored order.
    pub fn entry(&self, index: usize) -> Option<FlbSer<'a>> {
        self.entries.get(index).map(|raw| FlbSer {
            raw,
            order: self.kernel.order(),
        })
    }

    /// Number of entries (`count`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the area has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry named `name`, first match in stored order (as the kernel's lookup).
    pub fn find(&self, name: &str) -> Option<FlbSer<'a>> {
        self.entries().find(|e| e.name_bytes() == name.as_bytes())
    }

    /// The entries as this crate's [`FlbEntry`]s, sorted by name, in `out[..count]`:
    /// `name`, `data`, and `count` as `file_count`, with no flags (upstream has none).
    ///
    /// # Errors
    ///
    /// [`LinuxError::BufferTooSmall`] (counting entries); [`LinuxError::Convert`] for a name
    /// this crate refuses (not printable ASCII); [`LinuxError::Duplicate`] naming the stored
    /// indices of the first two entries with the same name.
    pub fn to_entries<'o>(
        &self,
        out: &'o mut [FlbEntry],
    ) -> Result<&'o mut [FlbEntry], LinuxError> {
        let n = self.entries.len();
        let found = out.len();
        let out = out.get_mut(..n).ok_or(LinuxError::BufferTooSmall {
            what: Struct::FlbSer,
            needed: n as u64,
            found: found as u64,
        })?;
        for (index, (dst, src)) in out.iter_mut().zip(self.entries()).enumerate() {
            let convert = |fault| LinuxError::Convert {
                what: Struct::FlbSer,
                index: index as u64,
                fault,
            };
            let name = core::str::from_utf8(src.name_bytes())
                .map_err(|_| convert(crate::error::EntryFault::NameNotPrintable { at: 0 }))?;
            *dst =
                FlbEntry::new(name, src.data(), src.count(), FlbFlags::empty()).map_err(convert)?;
        }
        out.sort_unstable_by(|a, b| a.name_field().cmp(b.name_field()));
        let dup = out.windows(2).find_map(|w| match w {
            [a, b] if a.name_field() == b.name_field() => Some(*a.name_field()),
            _ => None,
        });
        if let Some(field) = dup {
            let key = field
                .get(..name::terminated(&field).unwrap_or(NAME_LEN))
                .unwrap_or(&[]);
            let mut at = self
                .entries()
                .enumerate()
                .filter(|(_, e)| e.name_bytes() == key)
                .map(|(i, _)| i as u64);
            let first = at.next().unwrap_or(0);
            let second = at.next().unwrap_or(first);
            return Err(LinuxError::Duplicate {
                what: Struct::FlbSer,
                first,
                second,
            });
        }
        Ok(out)
    }

    /// Writes an FLB area of `pgcnt` pages of `kernel`'s page size holding `entries`, in its
    /// byte order: the header and the entries in the order given (names zero-padded). Returns the length written,
    /// `16 + 64 * entries`; the rest of the pages is the caller's to zero.
    ///
    /// # Errors
    ///
    /// [`LinuxError::Zero`] for `pgcnt` 0; [`LinuxError::Count`] for more entries than the
    /// pages hold; [`LinuxError::BufferTooSmall`]; [`LinuxError::NotRepresentable`] for an
    /// entry with flags, which `luo_flb_ser` cannot carry.
    pub fn encode<'e, I>(
        out: &mut [u8],
        pgcnt: u64,
        kernel: Kernel,
        entries: I,
    ) -> Result<usize, LinuxError>
    where
        I: IntoIterator<Item = &'e FlbEntry>,
        I::IntoIter: ExactSizeIterator,
    {
        let entries = entries.into_iter();
        let n = entries.len() as u64;
        let (page, order) = (kernel.page(), kernel.order());
        let needed = area_len(pgcnt, n, page)?;
        let found = out.len();
        let out = usize::try_from(needed)
            .ok()
            .and_then(|len| out.get_mut(..len))
            .ok_or(LinuxError::BufferTooSmall {
                what: Struct::FlbHeader,
                needed,
                found: found as u64,
            })?;
        let (head, table) = out.split_at_mut(FLB_HEADER_LEN);
        head.copy_from_slice(
            FlbHeaderSer {
                pgcnt: F64::new(pgcnt, order),
                count: F64::new(n, order),
            }
            .as_bytes(),
        );
        for ((index, entry), slot) in entries.enumerate().zip(table.chunks_exact_mut(FLB_SER_LEN)) {
            let bits = entry.flags().bits();
            if bits != 0 {
                return Err(LinuxError::NotRepresentable {
                    what: Struct::FlbSer,
                    index: index as u64,
                    fault: ReprFault::Flags { bits },
                });
            }
            let ser = FlbSerRaw {
                name: *entry.name_field(),
                data: F64::new(entry.data(), order),
                count: F64::new(entry.file_count(), order),
            };
            slot.copy_from_slice(ser.as_bytes());
        }
        Ok(head.len() + table.len())
    }
}
