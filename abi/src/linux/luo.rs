//! `struct luo_ser`, the root of the LUO state, registered under KHO name [`KHO_NAME`].
//!
//! Since luo-v3 the blob starts with its own compatible string in a field of
//! `ALIGN(sizeof(compatible), 8)` bytes, followed by three `u64`:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | `C` = `ALIGN(strlen + 1, 8)` | `compatible`, NUL-terminated, zero-padded |
//! | C | 8 | `liveupdate_num` — live updates so far (the new kernel stores it + 1) |
//! | C + 8 | 8 | `sessions_pa` — first session block (luo-v4+: a `kho_block_header_ser`) |
//! | C + 16 | 8 | `flbs_pa` — the FLB area ([`crate::linux::flb`]), 0 when none |
//!
//! So "luo-v3", "luo-v4" and "luo-v5" give a 32-byte blob, "luo-v5;block-v1" a 40-byte one.
//! Sources: "[PATCH v4 04/13] liveupdate: register `luo_ser` as KHO subtree" (Pasha Tatashin,
//! 30 May 2026) for the layout and the length rule; "[PATCH v3 08/11] liveupdate: Remove limit
//! on the number of files per session" (Pasha Tatashin, 29 May 2026) for "luo-v4-kho-block-v1";
//! "[RFC v1 6/9] kho: introduce compatibility helpers and decouple block version" (Pasha
//! Tatashin, 5 Jun 2026) for composite strings, whose `;`-separated sub-components come in
//! strict alphabetical order.
//!
//! `liveupdate_num` plays the role of this crate's record `generation`.

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::linux::error::{LinuxError, NameFault, Struct, Where};
use crate::linux::order::F64;
use crate::linux::{ByteOrder, Kernel, name};
use crate::mem::PhysAddr;

/// The KHO subtree name under which the kernel registers `luo_ser`.
pub const KHO_NAME: &str = "LUO";

/// Largest compatible field this decoder accepts, in bytes. Upstream fixes the field at
/// compile time (8 to 24 bytes so far); the bound only keeps a corrupt blob from being read
/// as a huge string.
pub const MAX_COMPAT_FIELD: usize = 64;

/// The fields after the compatible. 24 bytes, packed, in the writer's byte order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub(crate) struct LuoSerTail {
    pub(crate) liveupdate_num: F64,
    pub(crate) sessions_pa: F64,
    pub(crate) flbs_pa: F64,
}

const TAIL_LEN: usize = size_of::<LuoSerTail>();

const _: () = {
    assert!(TAIL_LEN == 24);
    assert!(offset_of!(LuoSerTail, liveupdate_num) == 0);
    assert!(offset_of!(LuoSerTail, sessions_pa) == 8);
    assert!(offset_of!(LuoSerTail, flbs_pa) == 16);
};

/// The `luo_ser` compatibles seen upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LuoAbi {
    /// `"luo-v3"`: first FDT-less root (30 May 2026); sessions and FLBs in fixed arrays.
    V3,
    /// `"luo-v3-kho-block-v1"`: luo-v3 with its KHO block format named in the string,
    /// posted in May 2026 (v4 of the series, whose blocks were 16 pages).
    V3KhoBlockV1,
    /// `"luo-v4-kho-block-v1"`: sessions and files in KHO block chains (29 May 2026 series;
    /// 16-page blocks in that revision).
    V4KhoBlockV1,
    /// `"luo-v4"`: sessions in KHO block chains (30 May 2026 series).
    V4,
    /// `"luo-v5"`: sessions and files in KHO block chains (30 May 2026 series).
    V5,
    /// `"luo-v5;block-v1"`: luo-v5 with the block format versioned separately (5 Jun 2026).
    V5BlockV1,
}

impl LuoAbi {
    /// Every compatible this module knows.
    pub const ALL: [LuoAbi; 6] = [
        LuoAbi::V3,
        LuoAbi::V3KhoBlockV1,
        LuoAbi::V4KhoBlockV1,
        LuoAbi::V4,
        LuoAbi::V5,
        LuoAbi::V5BlockV1,
    ];

    /// The compatible string.
    pub const fn compatible(self) -> &'static str {
        match self {
            LuoAbi::V3 => "luo-v3",
            LuoAbi::V3KhoBlockV1 => "luo-v3-kho-block-v1",
            LuoAbi::V4KhoBlockV1 => "luo-v4-kho-block-v1",
            LuoAbi::V4 => "luo-v4",
            LuoAbi::V5 => "luo-v5",
            LuoAbi::V5BlockV1 => "luo-v5;block-v1",
        }
    }

    /// The ABI whose compatible is `s`.
    pub fn from_compatible(s: &str) -> Option<LuoAbi> {
        LuoAbi::ALL.into_iter().find(|a| a.compatible() == s)
    }

    /// Size of the `luo_ser` blob this ABI registers.
    pub const fn blob_len(self) -> usize {
        LuoSer::len_for(self.compatible())
    }

    /// Whether `sessions_pa` points to a `kho_block_header_ser` chain (luo-v4 and later, and
    /// the `-kho-block-v1` strings) rather than a `luo_session_header_ser` array.
    pub const fn sessions_in_blocks(self) -> bool {
        !matches!(self, LuoAbi::V3)
    }
}

/// A validated `luo_ser` blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LuoSer<'a> {
    compatible: &'a str,
    tail: &'a LuoSerTail,
    len: usize,
    order: ByteOrder,
}

impl<'a> LuoSer<'a> {
    /// Size of the blob for `compatible`: `ALIGN(strlen + 1, 8) + 24`.
    pub const fn len_for(compatible: &str) -> usize {
        name::compat_field_len(compatible.len()).saturating_add(TAIL_LEN)
    }

    /// Validates `bytes`, exactly one `luo_ser` blob as `kho_add_subtree()` registers it,
    /// written by `kernel` (whose byte order the three `u64` are read in; the page size plays
    /// no part).
    ///
    /// The compatible must be printable ASCII starting with `"luo-v"`, with composite
    /// sub-components in strictly ascending order and the field zero after its NUL; the
    /// input length must be exactly what the compatible implies. Any well-formed compatible
    /// is accepted, so a library caller can read the raw fields of any root ([`LuoSer::abi`]
    /// says whether the compatible is one of [`LuoAbi::ALL`]; a kernel refuses any other);
    /// use [`LuoSer::decode_expecting`] to require one, as the kernel does.
    ///
    /// # Errors
    ///
    /// [`LinuxError::TooShort`], [`LinuxError::TooLong`], [`LinuxError::Name`].
    pub fn decode(bytes: &'a [u8], kernel: Kernel) -> Result<LuoSer<'a>, LinuxError> {
        LuoSer::decode_inner(bytes, kernel, None)
    }

    /// [`LuoSer::decode`], accepting what the incoming kernel accepts: bytes after the
    /// structure (the kernel requires a blob of at least `sizeof(luo_ser)`) and non-zero
    /// bytes after the compatible's NUL (its `strncmp()` stops at the NUL) are passed to
    /// `warn` as [`LinuxError::TooLong`] and [`NameFault::Padding`], and decoding goes on
    /// over the structure.
    ///
    /// # Errors
    ///
    /// Those of [`LuoSer::decode`] but the two above.
    pub fn decode_lenient(
        bytes: &'a [u8],
        kernel: Kernel,
        warn: &mut dyn FnMut(LinuxError),
    ) -> Result<LuoSer<'a>, LinuxError> {
        LuoSer::decode_inner(bytes, kernel, Some(warn))
    }

    fn decode_inner(
        bytes: &'a [u8],
        kernel: Kernel,
        mut warn: Option<&mut dyn FnMut(LinuxError)>,
    ) -> Result<LuoSer<'a>, LinuxError> {
        let mut flag = |e: LinuxError| match warn.as_mut() {
            Some(w) => {
                w(e);
                Ok(())
            }
            None => Err(e),
        };
        let window = bytes.get(..MAX_COMPAT_FIELD).unwrap_or(bytes);
        let strlen = match name::terminated(window) {
            Ok(n) => n,
            Err(_) if bytes.len() < MAX_COMPAT_FIELD => {
                return Err(LinuxError::TooShort {
                    what: Struct::LuoSer,
                    needed: Self::len_for_strlen(bytes.len()) as u64,
                    found: bytes.len() as u64,
                });
            }
            Err(fault) => return Err(name_error(fault)),
        };
        let field = name::compat_field_len(strlen);
        let total = field.saturating_add(TAIL_LEN);
        if bytes.len() < total {
            return Err(LinuxError::TooShort {
                what: Struct::LuoSer,
                needed: total as u64,
                found: bytes.len() as u64,
            });
        }
        if bytes.len() > total {
            flag(LinuxError::TooLong {
                what: Struct::LuoSer,
                max: total as u64,
                found: bytes.len() as u64,
            })?;
        }
        let bytes = bytes.get(..total).unwrap_or(bytes);
        // strlen < MAX_COMPAT_FIELD, so field <= MAX_COMPAT_FIELD.
        let (compat_field, tail) = bytes.split_at(field);
        let (text, pad) = compat_field.split_at(strlen.min(compat_field.len()));
        let compatible = name::printable(text).map_err(name_error)?;
        if let Some(at) = pad.iter().position(|&b| b != 0) {
            flag(name_error(NameFault::Padding {
                at: name::clamp_u8(strlen.saturating_add(at)),
            }))?;
        }
        check_compatible(compatible).map_err(name_error)?;
        let tail = LuoSerTail::ref_from_bytes(tail).map_err(|_| LinuxError::TooShort {
            what: Struct::LuoSer,
            needed: total as u64,
            found: bytes.len() as u64,
        })?;
        Ok(LuoSer {
            compatible,
            tail,
            len: total,
            order: kernel.order(),
        })
    }

    /// [`LuoSer::decode`], then requires the compatible to be `expected`, as the incoming
    /// kernel's `strncmp()` does.
    ///
    /// # Errors
    ///
    /// Those of [`LuoSer::decode`], and [`LinuxError::Name`] with [`NameFault::Mismatch`].
    pub fn decode_expecting(
        bytes: &'a [u8],
        expected: &str,
        kernel: Kernel,
    ) -> Result<LuoSer<'a>, LinuxError> {
        let ser = LuoSer::decode(bytes, kernel)?;
        if ser.compatible != expected {
            return Err(name_error(NameFault::Mismatch));
        }
        Ok(ser)
    }

    /// Writes a `luo_ser` blob with `compatible` into `out`, its `u64`s in the byte order of
    /// `kernel` (the page size plays no part); returns its length,
    /// [`LuoSer::len_for`]`(compatible)`. Bytes of `out` past it are left alone.
    ///
    /// # Errors
    ///
    /// [`LinuxError::Name`] for a compatible [`LuoSer::decode`] would refuse,
    /// [`LinuxError::BufferTooSmall`].
    pub fn encode(
        out: &mut [u8],
        compatible: &str,
        kernel: Kernel,
        liveupdate_num: u64,
        sessions_pa: PhysAddr,
        flbs_pa: PhysAddr,
    ) -> Result<usize, LinuxError> {
        let field = name::compat_field_len(compatible.len());
        if field > MAX_COMPAT_FIELD {
            return Err(name_error(NameFault::TooLong {
                max: name::clamp_u8(MAX_COMPAT_FIELD - 1),
            }));
        }
        name::printable(compatible.as_bytes()).map_err(name_error)?;
        check_compatible(compatible).map_err(name_error)?;
        let total = field + TAIL_LEN;
        let found = out.len();
        let out = out.get_mut(..total).ok_or(LinuxError::BufferTooSmall {
            what: Struct::LuoSer,
            needed: total as u64,
            found: found as u64,
        })?;
        let (compat_field, tail) = out.split_at_mut(field);
        name::write(compat_field, compatible).map_err(name_error)?;
        let order = kernel.order();
        let tail_value = LuoSerTail {
            liveupdate_num: F64::new(liveupdate_num, order),
            sessions_pa: F64::new(sessions_pa.raw(), order),
            flbs_pa: F64::new(flbs_pa.raw(), order),
        };
        tail.copy_from_slice(tail_value.as_bytes());
        Ok(total)
    }

    fn len_for_strlen(strlen: usize) -> usize {
        name::compat_field_len(strlen).saturating_add(TAIL_LEN)
    }

    /// The compatible string.
    pub fn compatible(&self) -> &'a str {
        self.compatible
    }

    /// The known ABI the compatible names, if any.
    pub fn abi(&self) -> Option<LuoAbi> {
        LuoAbi::from_compatible(self.compatible)
    }

    /// Live updates performed so far (this crate's `generation`).
    pub fn liveupdate_num(&self) -> u64 {
        self.tail.liveupdate_num.get(self.order)
    }

    /// Physical address of the session state.
    pub fn sessions_pa(&self) -> PhysAddr {
        PhysAddr::new(self.tail.sessions_pa.get(self.order))
    }

    /// Physical address of the FLB area (`luo_flb_header_ser`), [`PhysAddr::NULL`] when
    /// there is none.
    pub fn flbs_pa(&self) -> PhysAddr {
        PhysAddr::new(self.tail.flbs_pa.get(self.order))
    }

    /// Length of the blob in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a `luo_ser` has at least 32 bytes. (For clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The rules a `luo_ser` compatible follows beyond being a printable string: the `"luo-v"`
/// base, then `;`-separated non-empty sub-components in strictly ascending order.
fn check_compatible(s: &str) -> Result<(), NameFault> {
    let mut parts = s.split(';');
    let base = parts.next().unwrap_or("");
    if !base.starts_with("luo-v") {
        return Err(NameFault::Prefix);
    }
    let mut prev: Option<&str> = None;
    for part in parts {
        if part.is_empty() {
            return Err(NameFault::Empty);
        }
        if prev.is_some_and(|p| p >= part) {
            return Err(NameFault::ComponentOrder);
        }
        prev = Some(part);
    }
    Ok(())
}

fn name_error(fault: NameFault) -> LinuxError {
    LinuxError::Name {
        what: Struct::LuoSer,
        index: 0,
        at: Where::Offset(0),
        fault,
    }
}
