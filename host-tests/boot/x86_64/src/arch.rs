//! The x86-64 side of the job's [`Arch`]: one CPU, the boot stack of `boot.rs`.

use core::fmt;
use core::ops::Range;

use liveupdate_boot::Arch;

/// The machine as the stub set it up.
#[derive(Debug)]
pub struct X86;

// SAFETY: `stack_bounds` returns the boot stack reserved in `boot.rs` (`.bss`, 64 KiB), used
// by the only CPU and nothing else, its provenance exposed by `stack_bounds`; the stack
// pointer is inside it from `_start64` on.
unsafe impl Arch for X86 {
    fn name(&self) -> &'static str {
        "x86_64"
    }

    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str(" mmu=on fp=trapped")
    }

    fn stack_pointer(&self) -> usize {
        let sp: usize;
        // SAFETY: reads rsp; no memory, no flags.
        unsafe {
            core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        }
        sp
    }

    fn stack_bounds(&self) -> Range<usize> {
        let (bottom, top) = crate::stack_bounds();
        bottom..top
    }
}
