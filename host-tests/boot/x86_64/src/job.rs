//! Placeholder for the architecture-independent job (crate `liveupdate-boot`, being written
//! by the bootarm stream): reads the flat image's locator magic through the window.

use core::fmt::Write;

use crate::serial::Serial;

/// Prints what it sees and returns a status.
pub fn run(con: &mut Serial, virt: u64, len: u64) -> u8 {
    #[allow(clippy::cast_possible_truncation)] // x86-64 only: usize is 64 bits
    let ptr = core::ptr::with_exposed_provenance::<[u8; 8]>(virt as usize);
    let magic = if len >= 8 {
        // SAFETY: `window::map` mapped at least `len` bytes readable at `virt`; len >= 8.
        unsafe { ptr.read_unaligned() }
    } else {
        [0; 8]
    };
    let _ = writeln!(
        con,
        "luo-stub: start arch=x86_64 cpus=1 mmu=on fp=trapped magic={:?}",
        core::str::from_utf8(&magic).unwrap_or("?")
    );
    let _ = writeln!(con, "luo-stub: result=ok");
    crate::status::OK
}
