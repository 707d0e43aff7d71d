//! Physical memory: the bytes at a physical address, read (and, before kexec, written) through
//! a checked window.
//!
//! The memory model is `liveupdate-abi`'s ([`liveupdate_abi::mem`]), re-exported here: one
//! read trait ([`PhysMem`]), one write trait built on it ([`PhysMemMut`]), [`PhysAddr`],
//! [`MemError`], and [`SliceMemory`] for bytes placed at an address. This module adds the
//! kernel's linear map, [`DirectMap`] and [`DirectMapMut`], the crate's only `unsafe` memory
//! access: every access is range-checked first, and a range that is not wholly mapped is an
//! error naming it, never a wild access.

use core::marker::PhantomData;

use liveupdate_abi::mem::Window;
pub use liveupdate_abi::mem::{MemError, MemFault, PhysAddr, PhysMem, PhysMemMut, SliceMemory};

/// A window of physical memory the kernel maps linearly: physical address `p` is at virtual
/// address `p + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Linear {
    window: Window,
    /// Virtual address of `window.base`; `virt + size` does not overflow.
    virt: usize,
}

impl Linear {
    fn new(offset: usize, base: PhysAddr, size: usize) -> Result<Self, MemError> {
        let overflow = MemError {
            addr: base,
            len: size,
            fault: MemFault::Overflow,
        };
        let virt = usize::try_from(base.raw())
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
    fn locate(&self, addr: PhysAddr, len: usize) -> Result<usize, MemError> {
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
    pub unsafe fn new(offset: usize, base: PhysAddr, size: usize) -> Result<Self, MemError> {
        Ok(DirectMap {
            map: Linear::new(offset, base, size)?,
            _memory: PhantomData,
        })
    }
}

impl PhysMem for DirectMap<'_> {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
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
    pub unsafe fn new(offset: usize, base: PhysAddr, size: usize) -> Result<Self, MemError> {
        Ok(DirectMapMut {
            map: Linear::new(offset, base, size)?,
            _memory: PhantomData,
        })
    }
}

impl PhysMem for DirectMapMut<'_> {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        let virt = self.map.locate(addr, len)?;
        if len == 0 {
            return Ok(&[]);
        }
        let ptr = core::ptr::with_exposed_provenance::<u8>(virt);
        // SAFETY: as in `DirectMap::read`; the caller of `DirectMapMut::new` promised the
        // bytes are touched only through this map, and `&self` keeps `write` from
        // handing out a mutable alias while this borrow lives.
        Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
    }
}

impl PhysMemMut for DirectMapMut<'_> {
    fn write(&mut self, addr: PhysAddr, len: usize) -> Result<&mut [u8], MemError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_map_reads_and_writes_through_the_offset() {
        let mut buf = [0u8; 64];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap();
        }
        let virt = buf.as_mut_ptr().expose_provenance();
        let base = PhysAddr::new(0x1000);
        let offset = virt - 0x1000;
        {
            // SAFETY: `buf` outlives `map`, is only reached through it while it lives, and
            // its address was exposed above.
            let mut map = unsafe { DirectMapMut::new(offset, base, buf.len()) }.unwrap();
            assert_eq!(
                map.read(PhysAddr::new(0x1010), 4).unwrap(),
                &[16, 17, 18, 19]
            );
            map.write(PhysAddr::new(0x103e), 2)
                .unwrap()
                .copy_from_slice(&[0xaa, 0xbb]);
            assert_eq!(map.read(PhysAddr::new(0x103f), 1).unwrap(), &[0xbb]);
            assert_eq!(
                map.read(PhysAddr::new(0x103f), 2).unwrap_err().fault,
                MemFault::Unmapped { base, size: 64 }
            );
            assert_eq!(map.write(PhysAddr::new(0x1040), 0).unwrap(), &mut []);
        }
        assert_eq!(buf[62..], [0xaa, 0xbb]);
        // SAFETY: as above; only read.
        let map = unsafe { DirectMap::new(offset, base, buf.len()) }.unwrap();
        assert_eq!(map.read(PhysAddr::new(0x1000), 3).unwrap(), &[0, 1, 2]);
        assert!(map.read(PhysAddr::new(0xfff), 1).is_err());
    }

    #[test]
    fn direct_map_refuses_bad_arithmetic() {
        let base = PhysAddr::new(0x1000);
        // SAFETY: each of these fails its checks before any access.
        unsafe {
            assert_eq!(
                DirectMap::new(usize::MAX, PhysAddr::new(1), 1)
                    .unwrap_err()
                    .fault,
                MemFault::Overflow
            );
        }
        // SAFETY: as above.
        unsafe {
            assert!(
                DirectMap::new(0, PhysAddr::NULL, 16).is_err(),
                "window at virtual address 0"
            );
        }
        // SAFETY: as above.
        unsafe {
            assert!(DirectMap::new(0, base, usize::MAX - 0x800).is_err());
        }
        // SAFETY: as above.
        unsafe {
            assert!(DirectMapMut::new(0, base, isize::MAX as usize + 1).is_err());
        }
    }
}
