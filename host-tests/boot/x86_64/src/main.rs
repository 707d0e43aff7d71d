//! The liveupdate boot stub for x86-64: a multiboot (v1) kernel built for the soft-float
//! `x86_64-unknown-none` target.
//!
//! `boot.rs` enters in 32-bit protected mode, identity maps the first 4 GiB with 2-MiB
//! pages, switches to long mode (floating point trapping) and calls [`x86_main`] with the
//! multiboot magic and information. The handover's flat image arrives as multiboot module 0
//! (QEMU `-kernel STUB -initrd FLAT`, or Linux `kexec --type multiboot-x86 --module=FLAT`);
//! [`window`] maps it read-only at a fixed virtual window so that the job's `DirectMap`
//! offset (window - base B) is positive wherever the module landed.
//!
//! Exit: through QEMU's `isa-debug-exit` device (iobase 0xf4): status s (0 ok, 1 handover
//! refused, 2 stub fault, 3 mismatch) makes QEMU exit with code 2s + 1 (1, 3, 5, 7). Any
//! other QEMU exit code means the stub did not report (0: the machine reset or shut down
//! without the device, e.g. a triple fault under `-no-reboot`).

#![no_std]
#![no_main]

mod arch;
mod boot;
mod guard;
mod idt;
mod serial;
mod window;

use core::fmt::Write;

use liveupdate_boot::Image;
use serial::Serial;

/// The physical address the flat image's byte 0 stands for on x86-64 (`luo write --base`):
/// 64 MiB. The module may land anywhere; the window maps it (see `window`).
const BASE: u64 = 0x0400_0000;

/// `eax` at entry from a multiboot (v1) loader.
const MULTIBOOT_BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// Multiboot information flag: `mods_count` and `mods_addr` are valid.
const MULTIBOOT_INFO_MODS: u32 = 1 << 3;
/// Multiboot information flag: `boot_loader_name` (offset 64) is valid.
const MULTIBOOT_INFO_LOADER_NAME: u32 = 1 << 9;

/// Exit statuses (DESIGN.md, "The report").
pub mod status {
    /// The handover was accepted and the report matches.
    pub const OK: u8 = 0;
    /// The handover was refused with a typed error (also: no module, bad locator).
    pub const REFUSED: u8 = 1;
    /// The stub faulted (CPU exception, panic, wrong loader).
    pub const FAULT: u8 = 2;
    /// The stub's own checks found a mismatch.
    pub const MISMATCH: u8 = 3;
}

unsafe extern "C" {
    static __stack_bottom: u8;
    static __stack_top: u8;
}

/// The stub's stack, `[bottom, top)` (64 KiB in `.bss`, see `boot.rs`).
#[must_use]
pub fn stack_bounds() -> (usize, usize) {
    (
        (&raw const __stack_bottom).addr(),
        (&raw const __stack_top).addr(),
    )
}

/// Reads a little-endian `u32` at physical (= identity-mapped virtual) address `addr`.
///
/// # Safety
///
/// `[addr, addr + 4)` lies inside the identity-mapped first 4 GiB and is not written
/// concurrently (the multiboot information and module table, which the loader wrote).
unsafe fn read_phys_u32(addr: u64) -> u32 {
    #[allow(clippy::cast_possible_truncation)] // x86-64 only: usize is 64 bits
    let ptr = core::ptr::with_exposed_provenance::<u32>(addr as usize);
    // SAFETY: the caller's promise; unaligned reads are allowed.
    unsafe { ptr.read_unaligned() }
}

/// Where multiboot module 0 sits in physical memory.
#[derive(Clone, Copy, Debug)]
struct Module {
    start: u64,
    end: u64,
    count: u32,
    /// Physical address of the module's NUL-terminated command line (0: none).
    string: u64,
    /// Physical address of the boot loader's name (0: none): QEMU says "qemu", kexec-tools
    /// "kexec".
    loader: u64,
}

/// Longest module command line the stub reads.
const MAX_STRING: usize = 128;

/// Reads the NUL-terminated string at physical `addr` (0: none) into `buf`, at most
/// [`MAX_STRING`] bytes; returns its length.
fn c_string(addr: u64, buf: &mut [u8; MAX_STRING]) -> usize {
    if addr == 0 {
        return 0;
    }
    for (i, slot) in buf.iter_mut().enumerate() {
        #[allow(clippy::cast_possible_truncation)] // x86-64 only: usize is 64 bits
        let ptr = core::ptr::with_exposed_provenance::<u8>(addr as usize + i);
        // SAFETY: the loader wrote a NUL-terminated string below 4 GiB (identity mapped);
        // reading stops at its NUL, at most MAX_STRING bytes.
        let byte = unsafe { ptr.read_volatile() };
        if byte == 0 {
            return i;
        }
        *slot = byte;
    }
    MAX_STRING
}

/// Test hooks, chosen by module 0's command line (QEMU `-initrd "FLAT fault=x87"`, kexec
/// `--module="FLAT fault=x87"`): prove that a fault is reported and ends the machine with
/// the fault status, that floating point traps, and that a stack overflow is caught.
fn inject_fault(con: &mut Serial, args: &[u8], window: u64) {
    for word in args.split(|&b| b == b' ') {
        let Some(kind) = word.strip_prefix(b"fault=").filter(|k| !k.is_empty()) else {
            continue;
        };
        let _ = writeln!(
            con,
            "luo-stub: injecting fault={}",
            core::str::from_utf8(kind).unwrap_or("?")
        );
        match kind {
            // SAFETY: deliberately faults (#NM: CR0.EM is set); the handler never returns.
            b"x87" => unsafe { core::arch::asm!("fld1", options(nostack)) },
            // SAFETY: deliberately faults (#UD: CR4.OSFXSR is clear).
            b"sse" => unsafe { core::arch::asm!("xorps xmm0, xmm0", options(nomem, nostack)) },
            // Pushes until the guard page: #PF, whose frame cannot be pushed either: #DF.
            // SAFETY: deliberately faults; the #DF handler runs on its own stack and never
            // returns.
            b"stack" => unsafe { core::arch::asm!("2: push rax", "jmp 2b", options(noreturn)) },
            b"write" => {
                #[allow(clippy::cast_possible_truncation)] // x86-64 only
                let ptr = core::ptr::with_exposed_provenance_mut::<u8>(window as usize);
                // SAFETY: deliberately faults (#PF): the window is mapped read-only and
                // CR0.WP is set, so the write never reaches memory.
                unsafe { ptr.write_volatile(0) };
            }
            _ => {}
        }
    }
}

/// Why the stub found no handover to give the job.
#[derive(Clone, Copy, Debug)]
enum BootError {
    /// `eax` at entry was not the multiboot loader magic.
    NotMultiboot(u32),
    /// The multiboot information says there are no modules.
    NoModule { flags: u32, count: u32 },
    /// Module 0 ends before it starts.
    BadModule { start: u64, end: u64 },
    /// The window could not map the module.
    Window(window::WindowError),
}

impl core::fmt::Display for BootError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BootError::NotMultiboot(m) => {
                write!(f, "not entered by a multiboot loader: eax={m:#x}")
            }
            BootError::NoModule { flags, count } => write!(
                f,
                "no multiboot module 0 (the flat handover image): flags={flags:#x} mods_count={count}"
            ),
            BootError::BadModule { start, end } => {
                write!(
                    f,
                    "multiboot module 0 is empty or inverted: start={start:#x} end={end:#x}"
                )
            }
            BootError::Window(e) => write!(f, "{e}"),
        }
    }
}

fn find_module(magic: u32, mbi: u32) -> Result<Module, BootError> {
    if magic != MULTIBOOT_BOOTLOADER_MAGIC {
        return Err(BootError::NotMultiboot(magic));
    }
    let mbi = u64::from(mbi);
    // SAFETY: the loader put the multiboot information (at least 28 bytes: flags ..
    // mods_addr) below 4 GiB, identity mapped; nothing writes it.
    let flags = unsafe { read_phys_u32(mbi) };
    // SAFETY: as above, offset 20 = mods_count.
    let count = unsafe { read_phys_u32(mbi + 20) };
    if flags & MULTIBOOT_INFO_MODS == 0 || count == 0 {
        return Err(BootError::NoModule { flags, count });
    }
    // SAFETY: as above, offset 24 = mods_addr.
    let mods = u64::from(unsafe { read_phys_u32(mbi + 24) });
    // SAFETY: mods_addr points at mods_count 16-byte entries below 4 GiB; entry 0 word 0.
    let start = u64::from(unsafe { read_phys_u32(mods) });
    // SAFETY: as above, entry 0 word 1 (mod_end, exclusive).
    let end = u64::from(unsafe { read_phys_u32(mods + 4) });
    if end <= start {
        return Err(BootError::BadModule { start, end });
    }
    // SAFETY: as above, entry 0 word 2 (string).
    let string = u64::from(unsafe { read_phys_u32(mods + 8) });
    let loader = if flags & MULTIBOOT_INFO_LOADER_NAME == 0 {
        0
    } else {
        // SAFETY: as above, offset 64 = boot_loader_name, valid with flag bit 9.
        u64::from(unsafe { read_phys_u32(mbi + 64) })
    };
    Ok(Module {
        start,
        end,
        count,
        string,
        loader,
    })
}

/// The 64-bit entry, called by `boot.rs` with the multiboot magic and information address.
#[unsafe(no_mangle)]
extern "C" fn x86_main(magic: u32, mbi: u32) -> ! {
    let mut con = Serial::init();
    idt::install();
    guard::install();
    let status = match boot(&mut con, magic, mbi) {
        Ok(status) => status,
        Err(e) => {
            let _ = writeln!(con, "luo-stub: result=error error=\"{e}\"");
            match e {
                BootError::NotMultiboot(_) => status::FAULT,
                _ => status::REFUSED,
            }
        }
    };
    exit(status)
}

fn boot(con: &mut Serial, magic: u32, mbi: u32) -> Result<u8, BootError> {
    let module = find_module(magic, mbi)?;
    let len = module.end - module.start;
    let virt = window::map(module.start, len).map_err(BootError::Window)?;
    let mut name = [0; MAX_STRING];
    let n = c_string(module.loader, &mut name);
    let name = core::str::from_utf8(&name[..n]).unwrap_or("?");
    let _ = writeln!(
        con,
        "luo-stub: multiboot loader=\"{name}\" mods={} module=0x{:x} end=0x{:x} window=0x{:x}",
        module.count, module.start, module.end, virt
    );
    let mut args = [0; MAX_STRING];
    let n = c_string(module.string, &mut args);
    inject_fault(con, &args[..n], virt);
    #[allow(clippy::cast_possible_truncation)] // x86-64 only: usize is 64 bits
    // SAFETY: `window::map` mapped `[virt, virt + len)` readable for the rest of the program
    // (the page tables never change again); its addresses are exposed
    // (`with_exposed_provenance` is how the job reaches them, as a kernel's linear map); and
    // nothing writes the module: the loader is done, the window is read-only.
    let image = unsafe { Image::new(BASE, virt as usize, len as usize) };
    Ok(liveupdate_boot::run(con, image, &arch::X86, 0) as u8)
}

/// Ends the machine with `status` through `isa-debug-exit`; never returns.
pub fn exit(status: u8) -> ! {
    serial::debug_exit(status);
    // Without the device the write does nothing: force a triple fault (an empty IDT, then
    // an exception), which resets the machine or, under QEMU `-no-reboot`, ends it.
    idt::triple_fault()
}

/// Vector names for the report.
const VECTORS: [&str; 32] = [
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS",
    "#GP", "#PF", "res15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "res22", "res23", "res24",
    "res25", "res26", "res27", "#HV", "#VC", "#SX", "res31",
];

/// Called by the exception stubs of `boot.rs`: reports the exception and exits with the
/// fault status.
#[unsafe(no_mangle)]
extern "C" fn x86_fault(vector: u64, error: u64, rip: u64, cr2: u64, rsp: u64) -> ! {
    let mut con = Serial::get();
    let name = usize::try_from(vector)
        .ok()
        .and_then(|v| VECTORS.get(v))
        .copied()
        .unwrap_or("?");
    let _ = writeln!(
        con,
        "luo-stub: exception vector={vector} name={name} error=0x{error:x} rip=0x{rip:x} cr2=0x{cr2:x} rsp=0x{rsp:x}"
    );
    let _ = writeln!(con, "luo-stub: result=fault vector={vector}");
    exit(status::FAULT)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut con = Serial::get();
    let _ = writeln!(con, "luo-stub: panic {info}");
    let _ = writeln!(con, "luo-stub: result=fault panic");
    exit(status::FAULT)
}
