//! The interrupt descriptor table: the 32 exception vectors, each to its stub in `boot.rs`,
//! which calls `x86_fault` (report, exit with the fault status). Interrupts stay disabled.
//!
//! #DF (vector 8) runs on its own stack (IST 1 of a TSS in a GDT built here), so that a stack
//! overflow into the guard page (`guard.rs`) is reported, not a triple fault. The other
//! vectors stay on the current stack: a fault inside a handler that had its own fixed stack
//! would restart on the same stack and could loop; on the current stack it ends as #DF.

/// Bytes of the #DF stack.
const DF_STACK_LEN: usize = 16 * 1024;

#[repr(C, align(16))]
struct DfStack([u8; DF_STACK_LEN]);

static mut DF_STACK: DfStack = DfStack([0; DF_STACK_LEN]);

/// The 64-bit task-state segment: only IST 1 is used.
#[repr(C, packed)]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

static mut TSS: Tss = Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: 104, // no I/O permission bitmap
};

/// Null, 64-bit code (0x08), data (0x10), the TSS (0x18, two slots): the code and data
/// descriptors are those of `boot.rs`, so the loaded selectors stay valid.
#[repr(C, align(16))]
struct Gdt([u64; 5]);

static mut GDT: Gdt = Gdt([0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0, 0]);

/// Loads the GDT with the TSS and the TSS (IST 1 = top of the #DF stack).
fn install_tss() {
    let tss = &raw mut TSS;
    let top = (&raw mut DF_STACK).addr() as u64 + DF_STACK_LEN as u64;
    // IST 1 is at byte 36 of the TSS.
    #[allow(clippy::cast_ptr_alignment)] // written unaligned
    let ist1 = tss.cast::<u8>().wrapping_add(36).cast::<u64>();
    // SAFETY: one CPU, interrupts off, the TSS is not loaded yet; ist1 is inside it (packed:
    // an unaligned write, no reference).
    unsafe { ist1.write_unaligned(top) };
    let base = tss.addr() as u64;
    let limit = (core::mem::size_of::<Tss>() - 1) as u64;
    // Available 64-bit TSS (type 9), present.
    let low = (limit & 0xffff)
        | (base & 0xff_ffff) << 16
        | 0x89 << 40
        | ((limit >> 16) & 0xf) << 48
        | ((base >> 24) & 0xff) << 56;
    let gdt = &raw mut GDT;
    // SAFETY: as above; the GDT is not loaded yet.
    unsafe { (*gdt).0[3] = low };
    // SAFETY: as above.
    unsafe { (*gdt).0[4] = base >> 32 };
    let pointer = Pointer {
        limit: 5 * 8 - 1,
        base: gdt.addr() as u64,
    };
    // SAFETY: the new GDT has the same code and data descriptors at the same selectors as
    // the one loaded (so CS, DS, SS stay valid) plus the TSS descriptor for `ltr`.
    unsafe {
        core::arch::asm!("lgdt [{}]", "mov {1:x}, 0x18", "ltr {1:x}", in(reg) &raw const pointer, out(reg) _, options(nostack, preserves_flags));
    }
}

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

/// Loads the TSS, fills the IDT and loads it.
pub fn install() {
    install_tss();
    let stubs = (&raw const __isr_stubs).addr() as u64;
    let idt = &raw mut IDT;
    for vector in 0..32u64 {
        let handler = stubs + 16 * vector;
        // Low quad: offset 15:0, selector 0x08, IST, type 0xE (64-bit interrupt gate),
        // present, DPL 0, offset 31:16. High quad: offset 63:32.
        // #DF: IST 1.
        let ist = u64::from(vector == 8);
        let low = (handler & 0xffff)
            | (0x08 << 16)
            | (ist << 32)
            | (0x8e << 40)
            | ((handler >> 16) & 0xffff) << 48;
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
