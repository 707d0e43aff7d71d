//! The interrupt descriptor table: the 32 exception vectors, each to its stub in `boot.rs`,
//! which calls `x86_fault` (report, exit with the fault status). Interrupts stay disabled.

/// 32 gates of 16 bytes.
#[repr(C, align(16))]
struct Idt([u64; 64]);

static mut IDT: Idt = Idt([0; 64]);

unsafe extern "C" {
    /// The first of 32 exception stubs, 16 bytes apart (`boot.rs`).
    static __isr_stubs: u8;
}

#[repr(C, packed)]
struct Pointer {
    limit: u16,
    base: u64,
}

/// Fills the IDT and loads it.
pub fn install() {
    let stubs = (&raw const __isr_stubs).addr() as u64;
    let idt = &raw mut IDT;
    for vector in 0..32u64 {
        let handler = stubs + 16 * vector;
        // Low quad: offset 15:0, selector 0x08, IST 0, type 0xE (64-bit interrupt gate),
        // present, DPL 0, offset 31:16. High quad: offset 63:32.
        let low =
            (handler & 0xffff) | (0x08 << 16) | (0x8e << 40) | ((handler >> 16) & 0xffff) << 48;
        let high = handler >> 32;
        let i = usize::try_from(vector * 2).unwrap_or(0);
        // SAFETY: one CPU, interrupts off, the IDT is not loaded yet: nothing else reads or
        // writes IDT while it is filled; i + 1 < 64.
        unsafe {
            (*idt).0[i] = low;
        }
        // SAFETY: as above.
        unsafe {
            (*idt).0[i + 1] = high;
        }
    }
    let pointer = Pointer {
        limit: 64 * 8 - 1,
        base: idt.addr() as u64,
    };
    // SAFETY: the IDT is a static filled above with gates to the stubs in `boot.rs`.
    unsafe {
        core::arch::asm!("lidt [{}]", in(reg) &raw const pointer, options(readonly, nostack, preserves_flags));
    }
}

/// Loads an empty IDT and raises an exception: the CPU cannot deliver it and shuts down
/// (triple fault), which QEMU turns into a reset or, with `-no-reboot`, an exit.
pub fn triple_fault() -> ! {
    let pointer = Pointer { limit: 0, base: 0 };
    // SAFETY: deliberately ends the machine; nothing runs after this.
    unsafe {
        core::arch::asm!("lidt [{}]", "int3", "2: hlt", "jmp 2b", in(reg) &raw const pointer, options(noreturn));
    }
}
