//! The stack guard: the 4-KiB page below the boot stack (`__stack_guard` in `boot.rs`) is
//! unmapped, so an overflow raises #PF instead of overwriting the page tables. The CPU cannot
//! push that #PF's frame on the guard either, so it raises #DF, which runs on its own stack
//! (IST 1, `idt.rs`) and is reported like any exception: `vector=8`, status 2.
//!
//! The 2-MiB page that holds the guard is replaced by a table of 512 4-KiB pages, the same
//! identity map minus the guard.

const PRESENT: u64 = 1;
const WRITABLE: u64 = 2;

#[repr(C, align(4096))]
struct Table([u64; 512]);

static mut PT: Table = Table([0; 512]);

unsafe extern "C" {
    /// The four page directories of the identity map (`boot.rs`), 2048 entries.
    static mut __pd: [u64; 2048];
    static __stack_guard: u8;
}

/// Unmaps the guard page; returns its address.
pub fn install() -> usize {
    let guard = (&raw const __stack_guard).addr();
    let region = guard & !0x1f_ffff;
    let pt = &raw mut PT;
    for i in 0..512 {
        let page = region + i * 4096;
        let entry = if page == guard {
            0
        } else {
            page as u64 | PRESENT | WRITABLE
        };
        // SAFETY: one CPU, interrupts off; PT is not in use until the PD entry below points
        // at it; i < 512.
        unsafe { (*pt).0[i] = entry };
    }
    // The stub is linked at 1 MiB and far smaller than 4 GiB: the index is < 2048.
    let index = region >> 21;
    let entry = (&raw mut __pd).cast::<u64>().wrapping_add(index);
    // SAFETY: `__pd` is the identity map's PD array (2048 entries, index < 2048); replacing
    // a 2-MiB page by a table of the same 4-KiB pages (minus the unused guard) changes no
    // address the code uses; the CR3 reload below flushes the old translation.
    unsafe { entry.write(pt.addr() as u64 | PRESENT | WRITABLE) };
    // SAFETY: reloading CR3 with the same PML4 flushes the TLB.
    unsafe {
        core::arch::asm!("mov {0}, cr3", "mov cr3, {0}", out(reg) _, options(nostack, preserves_flags));
    }
    guard
}
