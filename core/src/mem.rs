//! Physical memory: the bytes at a physical address, read (and, before kexec, written) through
//! a checked window.
//!
//! Modelled on how rust-vmm's `vm-memory` treats guest memory: every access names a physical
//! address and a length, the range is checked with checked arithmetic against what is mapped,
//! and a range that is not wholly mapped is an error naming it, never a panic or a wild
//! access. Reads borrow the memory (no copy), so the record decoders read it in place.

use core::fmt;
use core::marker::PhantomData;

/// Read access to physical memory.
pub trait PhysMemory {
    /// The `len` bytes at physical address `addr`.
    ///
    /// # Errors
    ///
    /// [`MemFault::Overflow`] when `addr + len` does not fit a `u64`, [`MemFault::Unmapped`]
    /// when any byte of the range lies outside the mapped memory.
    fn read(&self, addr: u64, len: usize) -> Result<&[u8], MemError>;
}

/// Write access to physical memory, for the kernel that writes the records before kexec.
pub trait PhysMemoryMut: PhysMemory {
    /// The `len` bytes at physical address `addr`, writable in place.
    ///
    /// # Errors
    ///
    /// As [`PhysMemory::read`].
    fn slice_mut(&mut self, addr: u64, len: usize) -> Result<&mut [u8], MemError>;
}

impl<M: PhysMemory + ?Sized> PhysMemory for &M {
    fn read(&self, addr: u64, len: usize) -> Result<&[u8], MemError> {
        (**self).read(addr, len)
    }
}

impl<M: PhysMemory + ?Sized> PhysMemory for &mut M {
    fn read(&self, addr: u64, len: usize) -> Result<&[u8], MemError> {
        (**self).read(addr, len)
    }
}

impl<M: PhysMemoryMut + ?Sized> PhysMemoryMut for &mut M {
    fn slice_mut(&mut self, addr: u64, len: usize) -> Result<&mut [u8], MemError> {
        (**self).slice_mut(addr, len)
    }
}

/// Why a physical range could not be accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemFault {
    /// `addr + len` overflows the 64-bit physical address space, or the virtual address of
    /// the range overflows `usize`.
    Overflow,
    /// Part of the range lies outside the mapped window `[base, base + size)`.
    Unmapped {
        /// First physical address of the mapped window.
        base: u64,
        /// Size of the mapped window in bytes.
        size: u64,
    },
}

/// A physical range that could not be accessed: where, how long, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemError {
    /// Physical address of the first byte asked for.
    pub addr: u64,
    /// Number of bytes asked for.
    pub len: usize,
    /// Why the access was refused.
    pub fault: MemFault,
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (addr, len) = (self.addr, self.len);
        match self.fault {
            MemFault::Overflow => write!(
                f,
                "physical range at {addr:#x} of {len} bytes overflows the address space"
            ),
            MemFault::Unmapped { base, size } => write!(
                f,
                "physical range at {addr:#x} of {len} bytes is outside mapped memory at {base:#x} of {size} bytes"
            ),
        }
    }
}

impl core::error::Error for MemError {}

/// A mapped window of physical addresses, `[base, base + size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    base: u64,
    size: u64,
}

impl Window {
    /// The offset of `[addr, addr + len)` inside the window, if all of it is inside.
    fn offset(self, addr: u64, len: usize) -> Result<usize, MemError> {
        let error = |fault| MemError { addr, len, fault };
        let len64 = u64::try_from(len).map_err(|_| error(MemFault::Overflow))?;
        addr.checked_add(len64).ok_or(error(MemFault::Overflow))?;
        let unmapped = error(MemFault::Unmapped {
            base: self.base,
            size: self.size,
        });
        let offset = addr.checked_sub(self.base).ok_or(unmapped)?;
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
/// For tests, fuzzing, the `luo` tool, and boot stubs that copied the handover region. `B` is
/// `&[u8]` (or anything that derefs to bytes) to read; `&mut [u8]` (or an owned buffer) to
/// write as well.
///
/// ```
/// use liveupdate_core::mem::{MemFault, PhysMemory, SliceMemory};
///
/// let bytes = [1u8, 2, 3, 4];
/// let mem = SliceMemory::new(0x1000, &bytes[..]);
/// assert_eq!(mem.read(0x1002, 2)?, &[3, 4]);
/// assert!(matches!(
///     mem.read(0x1003, 2).unwrap_err().fault,
///     MemFault::Unmapped { base: 0x1000, size: 4 }
/// ));
/// # Ok::<(), liveupdate_core::mem::MemError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceMemory<B> {
    base: u64,
    bytes: B,
}

impl<B> SliceMemory<B> {
    /// `bytes`, placed at physical address `base`.
    pub const fn new(base: u64, bytes: B) -> Self {
        SliceMemory { base, bytes }
    }

    /// The physical address of the first byte.
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// The bytes, given back.
    pub fn into_inner(self) -> B {
        self.bytes
    }
}

impl<B: AsRef<[u8]>> PhysMemory for SliceMemory<B> {
    fn read(&self, addr: u64, len: usize) -> Result<&[u8], MemError> {
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
            .ok_or(MemError {
                addr,
                len,
                fault: MemFault::Unmapped {
                    base: window.base,
                    size: window.size,
                },
            })
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> PhysMemoryMut for SliceMemory<B> {
    fn slice_mut(&mut self, addr: u64, len: usize) -> Result<&mut [u8], MemError> {
        let bytes = self.bytes.as_mut();
        let window = Window {
            base: self.base,
            size: size_of_slice(bytes),
        };
        let offset = window.offset(addr, len)?;
        bytes
            .get_mut(offset..)
            .and_then(|b| b.get_mut(..len))
            .ok_or(MemError {
                addr,
                len,
                fault: MemFault::Unmapped {
                    base: window.base,
                    size: window.size,
                },
            })
    }
}

/// A window of physical memory the kernel maps linearly: physical address `p` is at virtual
/// address `p + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Linear {
    window: Window,
    /// Virtual address of `window.base`; `virt + size` does not overflow.
    virt: usize,
}

impl Linear {
    fn new(offset: usize, base: u64, size: usize) -> Result<Self, MemError> {
        let overflow = MemError {
            addr: base,
            len: size,
            fault: MemFault::Overflow,
        };
        let virt = usize::try_from(base)
            .ok()
            .and_then(|b| b.checked_add(offset))
            .filter(|&v| v != 0 || size == 0)
            .ok_or(overflow)?;
        let fits = virt.checked_add(size).is_some() && isize::try_from(size).is_ok();
        if !fits {
            return Err(overflow);
        }
        Ok(Linear {
            window: Window {
                base,
                size: u64::try_from(size).map_err(|_| overflow)?,
            },
            virt,
        })
    }

    /// The virtual address of `[addr, addr + len)`, checked to lie inside the window.
    fn locate(&self, addr: u64, len: usize) -> Result<usize, MemError> {
        let offset = self.window.offset(addr, len)?;
        // offset + len <= size and virt + size does not overflow.
        Ok(self.virt.wrapping_add(offset))
    }
}

/// Read-only access to physical memory through the kernel's linear (direct) map: physical
/// address `p` is read at virtual address `p + offset`, inside one window the caller vouches
/// for.
///
/// Checks stay the same as for [`SliceMemory`]: nothing outside `[base, base + size)` is ever
/// touched, and a reference is only made to the bytes asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectMap<'m> {
    map: Linear,
    _memory: PhantomData<&'m [u8]>,
}

impl DirectMap<'_> {
    /// A map of the `size` bytes from physical address `base`, at virtual address
    /// `base + offset`.
    ///
    /// # Safety
    ///
    /// For as long as the returned map (or any slice read through it) is alive, the caller
    /// promises that:
    ///
    /// 1. every byte of physical `[base, base + size)` is mapped, readable, at its physical
    ///    address plus `offset`, on every CPU that uses the map, and that this virtual range
    ///    was obtained with its provenance exposed (as a kernel's linear map is);
    /// 2. nothing writes to those bytes — no CPU, through any mapping, and no device by DMA.
    ///
    /// The constructor checks the arithmetic itself (below).
    ///
    /// # Errors
    ///
    /// [`MemFault::Overflow`] when `base` or `base + offset + size` does not fit a `usize`,
    /// `size` exceeds `isize::MAX`, or the window would start at virtual address 0.
    pub unsafe fn new(offset: usize, base: u64, size: usize) -> Result<Self, MemError> {
        Ok(DirectMap {
            map: Linear::new(offset, base, size)?,
            _memory: PhantomData,
        })
    }
}

impl PhysMemory for DirectMap<'_> {
    fn read(&self, addr: u64, len: usize) -> Result<&[u8], MemError> {
        let virt = self.map.locate(addr, len)?;
        if len == 0 {
            return Ok(&[]);
        }
        let ptr = core::ptr::with_exposed_provenance::<u8>(virt);
        // SAFETY: `locate` checked that [virt, virt + len) lies inside the window, which the
        // caller of `DirectMap::new` promised is mapped, readable and never written while the
        // map (and so the returned borrow of it) lives. `virt` is not 0 (checked at
        // construction, and offsets only grow it without wrapping), `u8` needs no alignment,
        // and len <= size <= isize::MAX.
        Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
    }
}

/// Read-write access to physical memory through the kernel's linear (direct) map, for the
/// kernel that writes the records before kexec. As [`DirectMap`], plus writes.
#[derive(Debug, PartialEq, Eq)]
pub struct DirectMapMut<'m> {
    map: Linear,
    _memory: PhantomData<&'m mut [u8]>,
}

impl DirectMapMut<'_> {
    /// A writable map of the `size` bytes from physical address `base`, at virtual address
    /// `base + offset`.
    ///
    /// # Safety
    ///
    /// For as long as the returned map (or any slice obtained through it) is alive, the caller
    /// promises that:
    ///
    /// 1. every byte of physical `[base, base + size)` is mapped, readable and writable, at
    ///    its physical address plus `offset`, on every CPU that uses the map, and that this
    ///    virtual range was obtained with its provenance exposed;
    /// 2. nothing else reads or writes those bytes — no other reference, no other mapping,
    ///    no device by DMA: the map has them to itself, as a `&mut [u8]` would.
    ///
    /// # Errors
    ///
    /// As [`DirectMap::new`].
    pub unsafe fn new(offset: usize, base: u64, size: usize) -> Result<Self, MemError> {
        Ok(DirectMapMut {
            map: Linear::new(offset, base, size)?,
            _memory: PhantomData,
        })
    }
}

impl PhysMemory for DirectMapMut<'_> {
    fn read(&self, addr: u64, len: usize) -> Result<&[u8], MemError> {
        let virt = self.map.locate(addr, len)?;
        if len == 0 {
            return Ok(&[]);
        }
        let ptr = core::ptr::with_exposed_provenance::<u8>(virt);
        // SAFETY: as in `DirectMap::read`; the caller of `DirectMapMut::new` promised the
        // bytes are touched only through this map, and `&self` keeps `slice_mut` from
        // handing out a mutable alias while this borrow lives.
        Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
    }
}

impl PhysMemoryMut for DirectMapMut<'_> {
    fn slice_mut(&mut self, addr: u64, len: usize) -> Result<&mut [u8], MemError> {
        let virt = self.map.locate(addr, len)?;
        if len == 0 {
            return Ok(&mut []);
        }
        let ptr = core::ptr::with_exposed_provenance_mut::<u8>(virt);
        // SAFETY: [virt, virt + len) lies inside the window (`locate`), which the caller of
        // `DirectMapMut::new` promised is mapped writable and reached by nothing but this map;
        // `&mut self` makes the returned slice the only live borrow of the map. `virt` is not
        // 0, `u8` needs no alignment, and len <= size <= isize::MAX.
        Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
    }
}

/// The memories of this module are also `liveupdate-abi`'s [`PhysMem`](liveupdate_abi::PhysMem), through which a
/// chained table's blocks are followed: the same checked reads, the error reduced to `None`.
impl<B: AsRef<[u8]>> liveupdate_abi::PhysMem for SliceMemory<B> {
    fn read(&self, phys: u64, len: usize) -> Option<&[u8]> {
        PhysMemory::read(self, phys, len).ok()
    }
}

impl liveupdate_abi::PhysMem for DirectMap<'_> {
    fn read(&self, phys: u64, len: usize) -> Option<&[u8]> {
        PhysMemory::read(self, phys, len).ok()
    }
}

impl liveupdate_abi::PhysMem for DirectMapMut<'_> {
    fn read(&self, phys: u64, len: usize) -> Option<&[u8]> {
        PhysMemory::read(self, phys, len).ok()
    }
}

/// Writable memory as `liveupdate-abi`'s table encoder takes it, keeping the first access
/// error for the caller to report.
pub(crate) struct Sink<'a, M: ?Sized> {
    mem: &'a mut M,
    /// The first range that could not be written.
    pub(crate) error: Option<MemError>,
}

impl<'a, M: PhysMemoryMut + ?Sized> Sink<'a, M> {
    pub(crate) fn new(mem: &'a mut M) -> Self {
        Sink { mem, error: None }
    }
}

impl<M: PhysMemoryMut + ?Sized> liveupdate_abi::PhysMemMut for Sink<'_, M> {
    fn write(&mut self, phys: u64, len: usize) -> Option<&mut [u8]> {
        match self.mem.slice_mut(phys, len) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_checks_every_edge() {
        let w = Window {
            base: 0x1000,
            size: 0x100,
        };
        assert_eq!(w.offset(0x1000, 0x100), Ok(0));
        assert_eq!(w.offset(0x10ff, 1), Ok(0xff));
        assert_eq!(w.offset(0x1100, 0), Ok(0x100));
        let unmapped = MemFault::Unmapped {
            base: 0x1000,
            size: 0x100,
        };
        assert_eq!(w.offset(0x10ff, 2).unwrap_err().fault, unmapped);
        assert_eq!(w.offset(0xfff, 1).unwrap_err().fault, unmapped);
        assert_eq!(w.offset(0x1101, 0).unwrap_err().fault, unmapped);
        assert_eq!(
            w.offset(u64::MAX, 2).unwrap_err(),
            MemError {
                addr: u64::MAX,
                len: 2,
                fault: MemFault::Overflow
            }
        );
    }

    #[test]
    fn window_reaching_the_top_of_the_address_space() {
        let w = Window {
            base: u64::MAX - 15,
            size: 16,
        };
        assert_eq!(w.offset(u64::MAX - 15, 15), Ok(0));
        assert_eq!(
            w.offset(u64::MAX - 15, 16).unwrap_err().fault,
            MemFault::Overflow
        );
    }

    #[test]
    fn direct_map_reads_and_writes_through_the_offset() {
        let mut buf = [0u8; 64];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap();
        }
        let virt = buf.as_mut_ptr().expose_provenance();
        let base = 0x1000u64;
        let offset = virt - 0x1000;
        {
            // SAFETY: `buf` outlives `map`, is only reached through it while it lives, and
            // its address was exposed above.
            let mut map = unsafe { DirectMapMut::new(offset, base, buf.len()) }.unwrap();
            assert_eq!(map.read(0x1010, 4).unwrap(), &[16, 17, 18, 19]);
            map.slice_mut(0x103e, 2)
                .unwrap()
                .copy_from_slice(&[0xaa, 0xbb]);
            assert_eq!(map.read(0x103f, 1).unwrap(), &[0xbb]);
            assert_eq!(
                map.read(0x103f, 2).unwrap_err().fault,
                MemFault::Unmapped {
                    base: 0x1000,
                    size: 64
                }
            );
            assert_eq!(map.slice_mut(0x1040, 0).unwrap(), &mut []);
        }
        assert_eq!(buf[62..], [0xaa, 0xbb]);
        // SAFETY: as above; only read.
        let map = unsafe { DirectMap::new(offset, base, buf.len()) }.unwrap();
        assert_eq!(map.read(0x1000, 3).unwrap(), &[0, 1, 2]);
        assert!(map.read(0xfff, 1).is_err());
    }

    #[test]
    fn direct_map_refuses_bad_arithmetic() {
        // SAFETY: each of these fails its checks before any access.
        unsafe {
            assert_eq!(
                DirectMap::new(usize::MAX, 1, 1).unwrap_err().fault,
                MemFault::Overflow
            );
        }
        // SAFETY: as above.
        unsafe {
            assert!(
                DirectMap::new(0, 0, 16).is_err(),
                "window at virtual address 0"
            );
        }
        // SAFETY: as above.
        unsafe {
            assert!(DirectMap::new(0, 0x1000, usize::MAX - 0x800).is_err());
        }
        // SAFETY: as above.
        unsafe {
            assert!(DirectMapMut::new(0, 0x1000, isize::MAX as usize + 1).is_err());
        }
    }
}
