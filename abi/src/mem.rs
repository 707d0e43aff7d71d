//! Physical memory: the one memory model of the workspace.
//!
//! Every access names a [`PhysAddr`] and a length; the range is checked with checked
//! arithmetic against what is mapped, and a range that is not wholly mapped is a [`MemError`]
//! naming it (address, length, why), never a panic or a wild access. Reads borrow the memory
//! (no copy), so decoders read records in place. Modelled on how rust-vmm's `vm-memory`
//! treats guest memory (`GuestAddress`, `GuestMemory`).
//!
//! [`PhysMem`] reads, [`PhysMemMut`] writes as well. The chain walkers of this crate
//! ([`Table`](crate::table::Table), the upstream KHO block chain in [`crate::linux`]) and
//! `liveupdate-core` read through [`PhysMem`]; the encoders write through [`PhysMemMut`].
//! [`SliceMemory`] is bytes placed at a physical address, for tests, tools and boot stubs
//! that copied the handover; a kernel implements the traits over its linear map
//! (`liveupdate-core`'s `DirectMap`).

use core::fmt;

/// A physical address: a `u64` that is named as one.
///
/// There is no `From<u64>`: a bare integer becomes an address only through
/// [`PhysAddr::new`], so an address cannot be passed where a generation or a length is
/// expected, or the other way round.
///
/// ```
/// use liveupdate_abi::mem::PhysAddr;
///
/// let a = PhysAddr::new(0x1000);
/// assert_eq!(a.checked_add(0x20), Some(PhysAddr::new(0x1020)));
/// assert_eq!(PhysAddr::new(u64::MAX).checked_add(1), None);
/// assert_eq!(PhysAddr::new(0x1020).offset_from(a), Some(0x20));
/// assert_eq!(a.offset_from(PhysAddr::new(0x1020)), None);
/// assert_eq!(a.to_string(), "0x1000");
/// ```
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(u64);

impl PhysAddr {
    /// Address 0: "none" where the format uses 0 for no address (a chain's end, an empty
    /// directory slot).
    pub const NULL: PhysAddr = PhysAddr(0);

    /// The physical address `raw`.
    #[must_use]
    pub const fn new(raw: u64) -> PhysAddr {
        PhysAddr(raw)
    }

    /// The address as an integer, as the wire stores it.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Whether this is address 0.
    pub const fn is_null(self) -> bool {
        self.0 == 0
    }

    /// `self + offset`, or `None` past the top of the 64-bit address space.
    pub const fn checked_add(self, offset: u64) -> Option<PhysAddr> {
        match self.0.checked_add(offset) {
            Some(raw) => Some(PhysAddr(raw)),
            None => None,
        }
    }

    /// `self + offset`, stopping at the top of the address space (for range ends that the
    /// decoders have already refused to wrap).
    #[must_use]
    pub const fn saturating_add(self, offset: u64) -> PhysAddr {
        PhysAddr(self.0.saturating_add(offset))
    }

    /// How far `self` lies above `base`, or `None` when it lies below.
    pub const fn offset_from(self, base: PhysAddr) -> Option<u64> {
        self.0.checked_sub(base.0)
    }

    /// Whether the address is a multiple of `align` (false for `align` 0).
    pub const fn is_aligned(self, align: u64) -> bool {
        align != 0 && self.0.is_multiple_of(align)
    }
}

impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::LowerHex for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// Read access to physical memory.
pub trait PhysMem {
    /// The `len` bytes at physical address `addr`, borrowed in place.
    ///
    /// # Errors
    ///
    /// [`MemFault::Overflow`] when `addr + len` does not fit a `u64`, [`MemFault::Unmapped`]
    /// when any byte of the range lies outside the mapped memory. An implementation never
    /// returns fewer than `len` bytes.
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError>;
}

/// Write access to physical memory, for the kernel that writes the records before kexec.
pub trait PhysMemMut: PhysMem {
    /// The `len` bytes at physical address `addr`, writable in place.
    ///
    /// # Errors
    ///
    /// As [`PhysMem::read`].
    fn write(&mut self, addr: PhysAddr, len: usize) -> Result<&mut [u8], MemError>;
}

impl<M: PhysMem + ?Sized> PhysMem for &M {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        (**self).read(addr, len)
    }
}

impl<M: PhysMem + ?Sized> PhysMem for &mut M {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        (**self).read(addr, len)
    }
}

impl<M: PhysMemMut + ?Sized> PhysMemMut for &mut M {
    fn write(&mut self, addr: PhysAddr, len: usize) -> Result<&mut [u8], MemError> {
        (**self).write(addr, len)
    }
}

/// Why a physical range could not be accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemFault {
    /// `addr + len` overflows the 64-bit physical address space, or the virtual address of
    /// the range overflows `usize`.
    Overflow,
    /// Part of the range lies outside the mapped window `[base, base + size)`.
    Unmapped {
        /// First physical address of the mapped window.
        base: PhysAddr,
        /// Size of the mapped window in bytes.
        size: u64,
    },
}

/// A physical range that could not be accessed: where, how long, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemError {
    /// Physical address of the first byte asked for.
    pub addr: PhysAddr,
    /// Number of bytes asked for.
    pub len: usize,
    /// Why the access was refused.
    pub fault: MemFault,
}

impl MemError {
    /// The range `[addr, addr + len)` is not (wholly) inside `[base, base + size)`.
    pub const fn unmapped(addr: PhysAddr, len: usize, base: PhysAddr, size: u64) -> MemError {
        MemError {
            addr,
            len,
            fault: MemFault::Unmapped { base, size },
        }
    }
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (addr, len) = (self.addr, self.len);
        match self.fault {
            MemFault::Overflow => write!(
                f,
                "physical range at {addr} of {len} bytes overflows the address space"
            ),
            MemFault::Unmapped { base, size } => write!(
                f,
                "physical range at {addr} of {len} bytes is outside mapped memory at {base} of {size} bytes"
            ),
        }
    }
}

impl core::error::Error for MemError {}

/// A mapped window of physical addresses, `[base, base + size)`: the range check every
/// memory of this module (and `liveupdate-core`'s direct map) makes before an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First address.
    pub base: PhysAddr,
    /// Size in bytes.
    pub size: u64,
}

impl Window {
    /// The offset of `[addr, addr + len)` inside the window, if all of it is inside.
    ///
    /// # Errors
    ///
    /// [`MemFault::Overflow`] when the range wraps, [`MemFault::Unmapped`] when it is not
    /// wholly inside.
    pub fn offset(self, addr: PhysAddr, len: usize) -> Result<usize, MemError> {
        let error = |fault| MemError { addr, len, fault };
        let len64 = u64::try_from(len).map_err(|_| error(MemFault::Overflow))?;
        addr.checked_add(len64).ok_or(error(MemFault::Overflow))?;
        let unmapped = MemError::unmapped(addr, len, self.base, self.size);
        let offset = addr.offset_from(self.base).ok_or(unmapped)?;
        let room = self.size.checked_sub(offset).ok_or(unmapped)?;
        if len64 > room {
            return Err(unmapped);
        }
        // offset <= size, and size came from a usize.
        usize::try_from(offset).map_err(|_| unmapped)
    }
}

fn size_of_slice(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// Bytes placed at a physical address: `bytes[0]` is physical address `base`.
///
/// For tests, fuzzing, tools, and boot stubs that copied the handover region. `B` is
/// `&[u8]` (or anything that derefs to bytes) to read; `&mut [u8]` (or an owned buffer) to
/// write as well.
///
/// ```
/// use liveupdate_abi::mem::{MemFault, PhysAddr, PhysMem, SliceMemory};
///
/// let bytes = [1u8, 2, 3, 4];
/// let mem = SliceMemory::new(PhysAddr::new(0x1000), &bytes[..]);
/// assert_eq!(mem.read(PhysAddr::new(0x1002), 2)?, &[3, 4]);
/// assert_eq!(
///     mem.read(PhysAddr::new(0x1003), 2).unwrap_err().fault,
///     MemFault::Unmapped { base: PhysAddr::new(0x1000), size: 4 }
/// );
/// # Ok::<(), liveupdate_abi::mem::MemError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceMemory<B> {
    base: PhysAddr,
    bytes: B,
}

impl<B> SliceMemory<B> {
    /// `bytes`, placed at physical address `base`.
    pub const fn new(base: PhysAddr, bytes: B) -> Self {
        SliceMemory { base, bytes }
    }

    /// The physical address of the first byte.
    pub const fn base(&self) -> PhysAddr {
        self.base
    }

    /// The bytes, given back.
    pub fn into_inner(self) -> B {
        self.bytes
    }
}

impl<B: AsRef<[u8]>> SliceMemory<B> {
    /// The bytes, borrowed.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }
}

impl<B: AsRef<[u8]>> PhysMem for SliceMemory<B> {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        let bytes = self.bytes.as_ref();
        let window = Window {
            base: self.base,
            size: size_of_slice(bytes),
        };
        let offset = window.offset(addr, len)?;
        // The window check keeps the range inside `bytes`; `get` keeps that a checked fact.
        bytes
            .get(offset..)
            .and_then(|b| b.get(..len))
            .ok_or(MemError::unmapped(addr, len, window.base, window.size))
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> PhysMemMut for SliceMemory<B> {
    fn write(&mut self, addr: PhysAddr, len: usize) -> Result<&mut [u8], MemError> {
        let bytes = self.bytes.as_mut();
        let window = Window {
            base: self.base,
            size: size_of_slice(bytes),
        };
        let offset = window.offset(addr, len)?;
        bytes
            .get_mut(offset..)
            .and_then(|b| b.get_mut(..len))
            .ok_or(MemError::unmapped(addr, len, window.base, window.size))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    const fn p(raw: u64) -> PhysAddr {
        PhysAddr::new(raw)
    }

    #[test]
    fn phys_addr_arithmetic_edges() {
        assert_eq!(p(0).checked_add(0), Some(p(0)));
        assert_eq!(p(u64::MAX).checked_add(0), Some(p(u64::MAX)));
        assert_eq!(p(u64::MAX - 1).checked_add(1), Some(p(u64::MAX)));
        assert_eq!(p(u64::MAX).checked_add(1), None);
        assert_eq!(p(1).checked_add(u64::MAX), None);
        assert_eq!(p(u64::MAX).saturating_add(5), p(u64::MAX));
        assert_eq!(p(7).offset_from(p(7)), Some(0));
        assert_eq!(p(u64::MAX).offset_from(p(0)), Some(u64::MAX));
        assert_eq!(p(0).offset_from(p(1)), None);
        assert!(p(0x2000).is_aligned(0x1000));
        assert!(!p(0x2001).is_aligned(0x1000));
        assert!(!p(0x2000).is_aligned(0));
        assert!(PhysAddr::NULL.is_null() && !p(1).is_null());
        assert!(p(1) < p(2) && p(u64::MAX) > p(0));
        assert_eq!(p(0x1000).raw(), 0x1000);
        assert_eq!(std::format!("{} {:x}", p(0xab), p(0xab)), "0xab ab");
    }

    #[test]
    fn window_checks_every_edge() {
        let w = Window {
            base: p(0x1000),
            size: 0x100,
        };
        assert_eq!(w.offset(p(0x1000), 0x100), Ok(0));
        assert_eq!(w.offset(p(0x10ff), 1), Ok(0xff));
        assert_eq!(w.offset(p(0x1100), 0), Ok(0x100));
        let unmapped = MemFault::Unmapped {
            base: p(0x1000),
            size: 0x100,
        };
        assert_eq!(w.offset(p(0x10ff), 2).unwrap_err().fault, unmapped);
        assert_eq!(w.offset(p(0xfff), 1).unwrap_err().fault, unmapped);
        assert_eq!(w.offset(p(0x1101), 0).unwrap_err().fault, unmapped);
        assert_eq!(
            w.offset(p(u64::MAX), 2).unwrap_err(),
            MemError {
                addr: p(u64::MAX),
                len: 2,
                fault: MemFault::Overflow
            }
        );
    }

    #[test]
    fn window_reaching_the_top_of_the_address_space() {
        let w = Window {
            base: p(u64::MAX - 15),
            size: 16,
        };
        assert_eq!(w.offset(p(u64::MAX - 15), 15), Ok(0));
        assert_eq!(
            w.offset(p(u64::MAX - 15), 16).unwrap_err().fault,
            MemFault::Overflow
        );
    }

    #[test]
    fn slice_memory_reads_and_writes() {
        let mut buf = [0u8; 8];
        let mut mem = SliceMemory::new(p(0x100), &mut buf[..]);
        mem.write(p(0x106), 2).unwrap().copy_from_slice(&[5, 6]);
        assert_eq!(mem.read(p(0x105), 3).unwrap(), &[0, 5, 6]);
        assert_eq!(
            mem.write(p(0x107), 2).unwrap_err(),
            MemError::unmapped(p(0x107), 2, p(0x100), 8)
        );
        assert_eq!(mem.read(p(0x108), 0).unwrap(), &[] as &[u8]);
    }
}
