//! The handover window: multiboot module 0 mapped read-only, with 4-KiB pages, at virtual
//! [`WINDOW`] (PML4 entry 1, 512 GiB), whatever physical address the loader chose.
//!
//! The job reads the flat image through `DirectMap::new(virt - B, B, len)` with B = 64 MiB
//! (the base `luo write --base` laid the records out for): `DirectMap` adds its offset,
//! so the virtual address of B must be above B. The identity map alone would give a
//! negative offset whenever the module lands below B (QEMU puts modules just after the
//! kernel); the window makes it positive and also makes every write to the handover a
//! page fault (CR0.WP is set).

use core::fmt;

/// Virtual address of the window (PML4 index 1).
pub const WINDOW: u64 = 1 << 39;
/// Page tables for the window: 16 tables of 512 4-KiB pages = 32 MiB.
const TABLES: usize = 16;
/// Largest image the window maps.
pub const MAX_LEN: u64 = (TABLES as u64) * 512 * 4096;

const PRESENT: u64 = 1;
const WRITABLE: u64 = 2;

#[repr(C, align(4096))]
struct Table([u64; 512]);

static mut PDPT: Table = Table([0; 512]);
static mut PD: Table = Table([0; 512]);
static mut PT: [Table; TABLES] = [const { Table([0; 512]) }; TABLES];

unsafe extern "C" {
    /// The PML4 `boot.rs` built and loaded in CR3.
    static mut __pml4: Table;
}

fn addr(table: *mut Table) -> u64 {
    table.addr() as u64
}

/// Writes entry `i` of `table`.
///
/// # Safety
///
/// `table` points at one of the page-table statics (or the PML4), `i < 512`, and nothing
/// else accesses that entry meanwhile.
unsafe fn set(table: *mut Table, i: usize, value: u64) {
    // SAFETY: the caller's promise.
    unsafe { (*table).0[i] = value };
}

/// Why the module could not be mapped.
#[derive(Clone, Copy, Debug)]
pub enum WindowError {
    /// The module is larger than the window.
    TooLarge { len: u64 },
    /// The module is outside the 52-bit physical address space.
    OutOfRange { start: u64 },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WindowError::TooLarge { len } => write!(
                f,
                "multiboot module 0 of {len} bytes exceeds the stub's window of {MAX_LEN} bytes"
            ),
            WindowError::OutOfRange { start } => {
                write!(
                    f,
                    "multiboot module 0 at {start:#x} is outside physical memory"
                )
            }
        }
    }
}

/// Maps physical `[start, start + len)` read-only at the window; returns the virtual address
/// of `start`. Call once.
pub fn map(start: u64, len: u64) -> Result<u64, WindowError> {
    let in_page = start & 0xfff;
    let first = start - in_page;
    let span = in_page + len;
    if span > MAX_LEN {
        return Err(WindowError::TooLarge { len });
    }
    if start.checked_add(len).is_none_or(|end| end > 1 << 52) {
        return Err(WindowError::OutOfRange { start });
    }
    let pages = span.div_ceil(4096);
    let pml4 = &raw mut __pml4;
    let pdpt = &raw mut PDPT;
    let pd = &raw mut PD;
    let pt = (&raw mut PT).cast::<Table>();
    // Upper levels writable (the leaves decide); leaves present, read-only.
    // SAFETY: (this and each `set` below) one CPU, interrupts off; PML4 entry 1 and these
    // tables are used by nothing until CR3 is reloaded below; every index is < 512 and
    // every table pointer is one of the statics (PT + t with t < TABLES).
    unsafe { set(pml4, 1, addr(pdpt) | PRESENT | WRITABLE) };
    // SAFETY: as above.
    unsafe { set(pdpt, 0, addr(pd) | PRESENT | WRITABLE) };
    for t in 0..TABLES {
        let table = pt.wrapping_add(t);
        // SAFETY: as above.
        unsafe { set(pd, t, addr(table) | PRESENT | WRITABLE) };
    }
    for page in 0..pages {
        // page < pages <= TABLES * 512: both fit and t < TABLES, e < 512.
        let (t, e) = ((page / 512) as usize, (page % 512) as usize);
        // SAFETY: as above.
        unsafe { set(pt.wrapping_add(t), e, (first + page * 4096) | PRESENT) };
    }
    // SAFETY: reloading CR3 with the same PML4 flushes the TLB so the new entries are seen;
    // the identity map the code runs from is unchanged.
    unsafe {
        core::arch::asm!("mov {0}, cr3", "mov cr3, {0}", out(reg) _, options(nostack, preserves_flags));
    }
    Ok(WINDOW + in_page)
}
