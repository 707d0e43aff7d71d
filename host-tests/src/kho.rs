//! Simulated KHO memory: preserved allocations at physical addresses, and the KHO name table.
//!
//! KHO keeps pages alive across kexec and lets a subsystem register a named blob (name ->
//! physical address, length) for the next kernel. Here an allocation is page-aligned and holds
//! exactly the bytes written to it, so an image of this memory holds nothing but records.

use std::collections::BTreeMap;

use liveupdate_core::mem::{MemError, MemFault, PhysAddr, PhysMem, PhysMemMut};

/// Page size of the simulated machine: allocations start on this boundary.
pub const PAGE_SIZE: u64 = 4096;

/// A named blob: where a subsystem's data starts and how long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob {
    /// Physical address of the first byte.
    pub phys: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Why an operation on [`KhoMemory`] failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KhoError {
    /// The new allocation overlaps an existing one.
    #[error("allocation {new:#x}+{len:#x} overlaps the one at {existing:#x}")]
    Overlap {
        /// Address of the new allocation.
        new: u64,
        /// Its length.
        len: u64,
        /// Address of the allocation it overlaps.
        existing: u64,
    },
    /// Address plus length overflows.
    #[error("allocation {phys:#x}+{len:#x} wraps the address space")]
    Overflow {
        /// Address.
        phys: u64,
        /// Length.
        len: u64,
    },
    /// A name is registered twice.
    #[error("KHO name {0:?} is already registered")]
    DuplicateName(String),
    /// A blob is not inside one allocation.
    #[error("KHO name {name:?} points at {phys:#x}+{len:#x}, which no allocation holds")]
    Dangling {
        /// The name.
        name: String,
        /// Its address.
        phys: u64,
        /// Its length.
        len: u64,
    },
}

/// Preserved allocations and the KHO name table of a simulated machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KhoMemory {
    regions: BTreeMap<u64, Vec<u8>>,
    names: BTreeMap<String, Blob>,
}

impl KhoMemory {
    /// Empty memory.
    pub fn new() -> KhoMemory {
        KhoMemory::default()
    }

    /// Allocates `len` zeroed bytes on the first page boundary at or above `hint` that is free,
    /// and returns the address.
    ///
    /// # Errors
    ///
    /// [`KhoError::Overflow`] when no room is left below `u64::MAX`.
    pub fn alloc(&mut self, hint: u64, len: usize) -> Result<u64, KhoError> {
        let len64 = len as u64;
        let mut phys = hint.next_multiple_of(PAGE_SIZE);
        loop {
            let end = phys
                .checked_add(len64)
                .ok_or(KhoError::Overflow { phys, len: len64 })?;
            match self.overlapping(phys, end) {
                None => break,
                Some((at, bytes)) => {
                    phys = (at + bytes.len() as u64).next_multiple_of(PAGE_SIZE);
                }
            }
        }
        self.regions.insert(phys, vec![0; len]);
        Ok(phys)
    }

    /// Adds an allocation holding `bytes` at `phys`.
    ///
    /// # Errors
    ///
    /// [`KhoError::Overlap`] or [`KhoError::Overflow`].
    pub fn insert(&mut self, phys: u64, bytes: Vec<u8>) -> Result<(), KhoError> {
        let len = bytes.len() as u64;
        let end = phys
            .checked_add(len)
            .ok_or(KhoError::Overflow { phys, len })?;
        if let Some((existing, _)) = self.overlapping(phys, end) {
            return Err(KhoError::Overlap {
                new: phys,
                len,
                existing,
            });
        }
        self.regions.insert(phys, bytes);
        Ok(())
    }

    fn overlapping(&self, start: u64, end: u64) -> Option<(u64, &Vec<u8>)> {
        // The last allocation starting before `end` is the only one that can overlap, since
        // allocations never overlap each other.
        let (&at, bytes) = self.regions.range(..end.max(start + 1)).next_back()?;
        let at_end = at + bytes.len() as u64;
        (at_end > start || (bytes.is_empty() && at == start)).then_some((at, bytes))
    }

    /// Registers `name` for the blob at `phys`, `len` bytes (KHO's `kho_add_subtree`).
    ///
    /// # Errors
    ///
    /// [`KhoError::DuplicateName`], or [`KhoError::Dangling`] when no allocation holds it.
    pub fn add_name(&mut self, name: &str, phys: u64, len: u64) -> Result<(), KhoError> {
        if self.names.contains_key(name) {
            return Err(KhoError::DuplicateName(name.to_owned()));
        }
        if self.bytes(phys, len).is_none() {
            return Err(KhoError::Dangling {
                name: name.to_owned(),
                phys,
                len,
            });
        }
        self.names.insert(name.to_owned(), Blob { phys, len });
        Ok(())
    }

    /// The blob registered as `name` (KHO's `kho_retrieve_subtree`).
    pub fn lookup(&self, name: &str) -> Option<Blob> {
        self.names.get(name).copied()
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> impl Iterator<Item = (&str, Blob)> {
        self.names.iter().map(|(n, b)| (n.as_str(), *b))
    }

    /// Every allocation, by address.
    pub fn regions(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.regions.iter().map(|(&a, b)| (a, b.as_slice()))
    }

    /// `len` bytes at `phys`, when one allocation holds them all.
    pub fn bytes(&self, phys: u64, len: u64) -> Option<&[u8]> {
        let (&at, bytes) = self.regions.range(..=phys).next_back()?;
        let start = usize::try_from(phys - at).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        bytes.get(start..end)
    }

    /// `len` bytes at `phys` for writing, when one allocation holds them all.
    pub fn bytes_mut(&mut self, phys: u64, len: u64) -> Option<&mut [u8]> {
        let (&at, bytes) = self.regions.range_mut(..=phys).next_back()?;
        let start = usize::try_from(phys - at).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        bytes.get_mut(start..end)
    }
}

impl KhoMemory {
    /// The error for a range no single allocation holds, naming the allocation nearest below.
    fn unmapped(&self, addr: PhysAddr, len: usize) -> MemError {
        let (base, size) = self
            .regions
            .range(..=addr.raw())
            .next_back()
            .map_or((0, 0), |(&a, b)| (a, b.len() as u64));
        let fault = if addr.checked_add(len as u64).is_none() {
            MemFault::Overflow
        } else {
            MemFault::Unmapped {
                base: PhysAddr::new(base),
                size,
            }
        };
        MemError { addr, len, fault }
    }
}

impl PhysMem for KhoMemory {
    fn read(&self, addr: PhysAddr, len: usize) -> Result<&[u8], MemError> {
        self.bytes(addr.raw(), len as u64)
            .ok_or_else(|| self.unmapped(addr, len))
    }
}

impl PhysMemMut for KhoMemory {
    fn write(&mut self, addr: PhysAddr, len: usize) -> Result<&mut [u8], MemError> {
        let error = self.unmapped(addr, len);
        self.bytes_mut(addr.raw(), len as u64).ok_or(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC.md 2.2: a read succeeds only when one region holds the whole range; adjacent
    /// regions are never joined.
    #[test]
    fn a_read_across_adjacent_regions_is_unmapped() {
        let mut m = KhoMemory::new();
        m.insert(0x1000, vec![1; 0x100]).unwrap();
        m.insert(0x1100, vec![2; 0x100]).unwrap();
        assert!(m.read(PhysAddr::new(0x10f0), 0x10).is_ok());
        assert!(m.read(PhysAddr::new(0x1100), 0x10).is_ok());
        let err = m.read(PhysAddr::new(0x10f0), 0x20).unwrap_err();
        assert_eq!((err.addr, err.len), (PhysAddr::new(0x10f0), 0x20));
        assert!(matches!(err.fault, MemFault::Unmapped { .. }));
    }

    #[test]
    fn alloc_is_page_aligned_and_skips_used_ranges() {
        let mut m = KhoMemory::new();
        let a = m.alloc(0x1000_0001, 10).unwrap();
        assert_eq!(a, 0x1000_1000);
        let b = m.alloc(0x1000_0000, 5000).unwrap();
        assert_eq!(b, 0x1000_2000);
        let c = m.alloc(0x1000_0000, 1).unwrap();
        assert_eq!(c, 0x1000_0000);
        assert_eq!(m.bytes(b + 4999, 1), Some(&[0u8][..]));
        assert_eq!(m.bytes(b + 4999, 2), None);
    }

    #[test]
    fn insert_refuses_overlap_and_overflow() {
        let mut m = KhoMemory::new();
        m.insert(0x2000, vec![1; 0x100]).unwrap();
        assert_eq!(
            m.insert(0x20ff, vec![0; 1]),
            Err(KhoError::Overlap {
                new: 0x20ff,
                len: 1,
                existing: 0x2000
            })
        );
        assert!(m.insert(0x2100, vec![0; 1]).is_ok());
        assert_eq!(
            m.insert(u64::MAX, vec![0; 2]),
            Err(KhoError::Overflow {
                phys: u64::MAX,
                len: 2
            })
        );
    }

    #[test]
    fn names_must_point_into_memory() {
        let mut m = KhoMemory::new();
        m.insert(0x3000, vec![7; 64]).unwrap();
        m.add_name("a", 0x3000, 64).unwrap();
        assert_eq!(
            m.lookup("a"),
            Some(Blob {
                phys: 0x3000,
                len: 64
            })
        );
        assert!(matches!(
            m.add_name("a", 0x3000, 1),
            Err(KhoError::DuplicateName(_))
        ));
        assert!(matches!(
            m.add_name("b", 0x3000, 65),
            Err(KhoError::Dangling { .. })
        ));
    }
}
