//! Boot code, exception vectors, PL011, PSCI, semihosting, MMU, and the stub's `main`.

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::fmt::{self, Write};
use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering::SeqCst};

use liveupdate_boot::{Arch, Image, MAX_CPUS, Status};

/// The convention: QEMU `-device loader,file=FLAT,addr=0x48000000,force-raw=on`.
const FLAT_BASE: u64 = 0x4800_0000;
/// End of the RAM QEMU virt gives with `-m 256M`; the file may use all of it above its base.
const RAM_END: u64 = 0x5000_0000;
/// Bytes of each CPU's stack.
const STACK_LEN: usize = 64 * 1024;
/// The PL011 UART of QEMU virt.
const UART: usize = 0x0900_0000;

/// The stacks, one per CPU, CPU `i` at `[i * STACK_LEN, (i + 1) * STACK_LEN)`.
#[repr(C, align(16))]
struct Stacks(UnsafeCell<[[u8; STACK_LEN]; MAX_CPUS]>);

// SAFETY: each CPU uses only its own stack (the boot code gives CPU i stack i).
unsafe impl Sync for Stacks {}

static STACKS: Stacks = Stacks(UnsafeCell::new([[0; STACK_LEN]; MAX_CPUS]));

// `_start`: CPU 0's entry (`-kernel` enters here at EL1, MMU off; any other CPU that gets here
// waits forever). `_secondary`: PSCI CPU_ON's entry, context id = CPU number in x0. Both go
// to `cpu_common`: exception vectors, FP/SIMD trapped (CPACR_EL1 = 0), TPIDR_EL1 = CPU
// number, the CPU's own stack; CPU 0 zeroes .bss first (the stacks are in it) and calls
// `main`, the others `secondary_main`; neither returns.
global_asm!(
    ".section .text.boot, \"ax\"",
    ".globl _start",
    "_start:",
    "    mrs x0, mpidr_el1",
    "    and x0, x0, #0xff",
    "    cbnz x0, 9f",
    "    ldr x1, =__bss_start",
    "    ldr x2, =__bss_end",
    "1:  cmp x1, x2",
    "    b.hs 2f",
    "    str xzr, [x1], #8",
    "    b 1b",
    "2:  mov x0, #0",
    "    b cpu_common",
    "9:  wfe",
    "    b 9b",
    ".globl _secondary",
    "_secondary:",
    "    b cpu_common",
    "cpu_common:",
    "    ldr x1, =exception_vectors",
    "    msr vbar_el1, x1",
    "    msr cpacr_el1, xzr",
    "    msr tpidr_el1, x0",
    "    isb",
    "    ldr x1, ={stacks}",
    "    mov x2, #{stack_len}",
    "    madd x1, x0, x2, x1",
    "    add x1, x1, x2",
    "    mov sp, x1",
    "    cbnz x0, 3f",
    "    bl {main}",
    "3:  bl {secondary}",
    "4:  wfe",
    "    b 4b",
    stacks = sym STACKS,
    stack_len = const STACK_LEN,
    main = sym main,
    secondary = sym secondary_main,
);

// The exception vector table: 16 entries of 0x80 bytes. Each saves x0/x1, puts its index in
// x0 and branches to `exception_common`, which saves x2-x30, calls `exception(index, esr,
// elr, far)` and returns (eret) to the address it gives: only the FP probe's trap returns,
// everything else ends the stub with status 2.
global_asm!(
    ".macro VECTOR index",
    ".balign 0x80",
    "    sub sp, sp, #256",
    "    stp x0, x1, [sp, #0]",
    "    mov x0, #\\index",
    "    b exception_common",
    ".endm",
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".globl exception_vectors",
    "exception_vectors:",
    "VECTOR 0", "VECTOR 1", "VECTOR 2", "VECTOR 3",
    "VECTOR 4", "VECTOR 5", "VECTOR 6", "VECTOR 7",
    "VECTOR 8", "VECTOR 9", "VECTOR 10", "VECTOR 11",
    "VECTOR 12", "VECTOR 13", "VECTOR 14", "VECTOR 15",
    "exception_common:",
    "    stp x2, x3, [sp, #16]",
    "    stp x4, x5, [sp, #32]",
    "    stp x6, x7, [sp, #48]",
    "    stp x8, x9, [sp, #64]",
    "    stp x10, x11, [sp, #80]",
    "    stp x12, x13, [sp, #96]",
    "    stp x14, x15, [sp, #112]",
    "    stp x16, x17, [sp, #128]",
    "    stp x18, x19, [sp, #144]",
    "    stp x20, x21, [sp, #160]",
    "    stp x22, x23, [sp, #176]",
    "    stp x24, x25, [sp, #192]",
    "    stp x26, x27, [sp, #208]",
    "    stp x28, x29, [sp, #224]",
    "    str x30, [sp, #240]",
    "    mrs x1, esr_el1",
    "    mrs x2, elr_el1",
    "    mrs x3, far_el1",
    "    bl {handler}",
    "    msr elr_el1, x0",
    "    ldp x2, x3, [sp, #16]",
    "    ldp x4, x5, [sp, #32]",
    "    ldp x6, x7, [sp, #48]",
    "    ldp x8, x9, [sp, #64]",
    "    ldp x10, x11, [sp, #80]",
    "    ldp x12, x13, [sp, #96]",
    "    ldp x14, x15, [sp, #112]",
    "    ldp x16, x17, [sp, #128]",
    "    ldp x18, x19, [sp, #144]",
    "    ldp x20, x21, [sp, #160]",
    "    ldp x22, x23, [sp, #176]",
    "    ldp x24, x25, [sp, #192]",
    "    ldp x26, x27, [sp, #208]",
    "    ldp x28, x29, [sp, #224]",
    "    ldr x30, [sp, #240]",
    "    ldp x0, x1, [sp, #0]",
    "    add sp, sp, #256",
    "    eret",
    handler = sym exception,
);

unsafe extern "C" {
    /// PSCI `CPU_ON`'s entry point (above).
    fn _secondary();
}

/// The PL011 UART: transmit only.
struct Uart;

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let dr = core::ptr::with_exposed_provenance_mut::<u32>(UART);
        let fr = core::ptr::with_exposed_provenance::<u32>(UART + 0x18);
        for b in s.bytes() {
            // SAFETY: the PL011's flag register (offset 0x18) is a readable MMIO register of
            // QEMU virt, identity-mapped as Device memory (or with the MMU off).
            while unsafe { fr.read_volatile() } & (1 << 5) != 0 {
                core::hint::spin_loop();
            }
            // SAFETY: its data register (offset 0), writable; one byte per write.
            unsafe { dr.write_volatile(u32::from(b)) };
        }
        Ok(())
    }
}

/// Ends the program through semihosting `SYS_EXIT` (QEMU `-semihosting`) with `status`.
fn exit(status: u8) -> ! {
    // ADP_Stopped_ApplicationExit and the status: the AArch64 parameter block.
    let block: [u64; 2] = [0x2_0026, u64::from(status)];
    // SAFETY: `hlt #0xf000` is the semihosting call; SYS_EXIT (0x18) reads the two words at x1
    // and does not return under QEMU. Without semihosting it traps, and the exception handler
    // reports it.
    unsafe {
        asm!("hlt #0xf000", in("w0") 0x18u32, in("x1") block.as_ptr(), options(nostack));
    }
    loop {
        // SAFETY: waits for an event; no effect on memory.
        unsafe { asm!("wfe", options(nomem, nostack)) };
    }
}

/// The kernel command line (`qemu -append`), through semihosting `SYS_GET_CMDLINE`; empty
/// when there is none.
fn command_line(buf: &mut [u8; 128]) -> &[u8] {
    let mut block: [u64; 2] = [buf.as_mut_ptr().expose_provenance() as u64, 128];
    let ret: u64;
    // SAFETY: SYS_GET_CMDLINE (0x15) writes at most block[1] bytes at block[0] (our buffer)
    // and the length it wrote into block[1]; QEMU answers it under -semihosting.
    unsafe {
        asm!("hlt #0xf000", inout("x0") 0x15u64 => ret, in("x1") block.as_mut_ptr(),
             options(nostack));
    }
    let len = usize::try_from(block[1]).unwrap_or(0).min(buf.len());
    if ret == 0 {
        buf.get(..len).unwrap_or(&[])
    } else {
        &[]
    }
}

/// `-append fault=unmapped`: with the MMU on, read an address the map leaves out. The
/// exception handler must report the data abort (EC 0x25) and end with status 2: run.sh's
/// check that a fault is reported, never a hang.
fn fault_probe() -> ! {
    build_map();
    enable_mmu();
    let unmapped = core::ptr::with_exposed_provenance::<u64>(0x1_0000_0000);
    // SAFETY: deliberately faults: the address is outside the identity map, so the read
    // never completes; the handler ends the program.
    let value = unsafe { unmapped.read_volatile() };
    let _ = writeln!(Uart, "luo-stub: fault probe read {value:#x}: no fault");
    exit(Status::Mismatch as u8)
}

/// Calls PSCI function `function` by HVC (QEMU virt's conduit for an EL1 guest without EL2).
fn psci(function: u64, a: u64, b: u64, c: u64) -> i64 {
    let ret: u64;
    // SAFETY: an SMCCC call: arguments in x0-x3, result in x0; the callee may clobber x0-x17.
    unsafe {
        asm!("hvc #0",
            inout("x0") function => ret, inout("x1") a => _, inout("x2") b => _,
            inout("x3") c => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
            out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
            out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
            options(nostack));
    }
    ret.cast_signed()
}

const PSCI_CPU_ON: u64 = 0xC400_0003;
const PSCI_AFFINITY_INFO: u64 = 0xC400_0004;
const PSCI_CPU_OFF: u64 = 0x8400_0002;

/// CPUs PSCI knows (`AFFINITY_INFO` answers on, off or pending; an absent CPU is an error).
fn count_cpus() -> usize {
    (0..MAX_CPUS as u64)
        .take_while(|&cpu| psci(PSCI_AFFINITY_INFO, cpu, 0, 0) >= 0)
        .count()
}

/// This CPU's number (`TPIDR_EL1`, set by the boot code).
fn cpu_number() -> usize {
    let cpu: u64;
    // SAFETY: reads a system register.
    unsafe { asm!("mrs {}, tpidr_el1", out(reg) cpu, options(nomem, nostack)) };
    usize::try_from(cpu).unwrap_or(0)
}

/// Whether the FP probe is running, and whether its instruction trapped.
static FP_PROBE: AtomicBool = AtomicBool::new(false);
static FP_TRAPPED: AtomicBool = AtomicBool::new(false);

/// Runs one FP instruction (`fmov d0, xzr`, encoded: the soft-float target has no FP
/// assembler) with `CPACR_EL1.FPEN` = 0: it must trap (EC 0x07), which the handler skips.
fn probe_fp() -> bool {
    FP_PROBE.store(true, SeqCst);
    // SAFETY: with FP disabled the instruction traps and the handler resumes after it; were FP
    // enabled it would only write d0, which no code of this soft-float program uses.
    unsafe { asm!(".inst 0x9e6703e0", options(nostack)) };
    FP_PROBE.store(false, SeqCst);
    FP_TRAPPED.load(SeqCst)
}

/// Every exception: the FP probe's trap resumes after the instruction; anything else prints
/// the syndrome and ends the stub with status 2.
extern "C" fn exception(index: u64, esr: u64, elr: u64, far: u64) -> u64 {
    let ec = esr >> 26;
    if index == 4 && ec == 0x07 && FP_PROBE.swap(false, SeqCst) {
        FP_TRAPPED.store(true, SeqCst);
        return elr + 4;
    }
    let _ = writeln!(
        Uart,
        "luo-stub: exception cpu={} vector={index} esr={esr:#x} ec={ec:#x} elr={elr:#x} far={far:#x}",
        cpu_number()
    );
    let _ = writeln!(Uart, "luo-stub: result=fault");
    exit(Status::Fault as u8)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(
        Uart,
        "luo-stub: panic cpu={} {}",
        cpu_number(),
        info.message()
    );
    let _ = writeln!(Uart, "luo-stub: result=fault");
    exit(Status::Fault as u8)
}

/// The level-1 translation table of the identity map: 512 entries of 1 GiB.
#[repr(C, align(4096))]
struct Table(UnsafeCell<[u64; 512]>);

// SAFETY: written once by CPU 0 before the MMU is enabled anywhere, then only read (by the
// table walker).
unsafe impl Sync for Table {}

static L1: Table = Table(UnsafeCell::new([0; 512]));
static MMU_ON: AtomicBool = AtomicBool::new(false);

/// Block descriptor bits: valid block, `AttrIndx`, SH inner shareable, AF, PXN/UXN.
const BLOCK: u64 = 0b01;
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
const INNER_SHAREABLE: u64 = 0b11 << 8;
const AF: u64 = 1 << 10;
const XN: u64 = (1 << 53) | (1 << 54);

/// Fills the identity map: [0, 1 GiB) Device-nGnRnE (the UART, GIC, flash...), [1 GiB, 2
/// GiB) Normal write-back (RAM).
fn build_map() {
    let table = L1.0.get().cast::<u64>();
    // SAFETY: CPU 0 alone, before any MMU uses the table; entries 0 and 1 are in the array.
    unsafe {
        table.write_volatile(BLOCK | ATTR_DEVICE | AF | XN);
    }
    // SAFETY: as above; entry 1 is inside the 512-entry array.
    let second = unsafe { table.add(1) };
    // SAFETY: as above.
    unsafe { second.write_volatile(0x4000_0000 | BLOCK | ATTR_NORMAL | INNER_SHAREABLE | AF) };
}

/// Turns this CPU's MMU on with the identity map (MAIR: attr 0 Device-nGnRnE, attr 1 Normal
/// WB; TCR: 39-bit VA, 4 KiB granule, walks cacheable inner shareable, TTBR1 off).
fn enable_mmu() {
    let mair: u64 = 0xff << 8;
    let tcr: u64 = 0x19 | (0b01 << 8) | (0b01 << 10) | (0b11 << 12) | (1 << 23);
    let ttbr = L1.0.get().expose_provenance() as u64;
    // SAFETY: the map is the identity for the code, data, stacks and devices this program
    // uses, so every address stays valid when translation starts; caches hold nothing stale
    // (QEMU does not model them; the barriers order the table writes before the walks).
    unsafe {
        asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr}",
            "dsb ish",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            "mrs {s}, sctlr_el1",
            "orr {s}, {s}, #1",
            "orr {s}, {s}, #(1 << 2)",
            "orr {s}, {s}, #(1 << 12)",
            "msr sctlr_el1, {s}",
            "isb",
            mair = in(reg) mair, tcr = in(reg) tcr, ttbr = in(reg) ttbr, s = out(reg) _,
            options(nostack),
        );
    }
}

/// The architecture, as one pass sees it.
struct Aarch64 {
    /// The MMU is on in this pass (and the other CPUs run).
    mmu: bool,
}

static ARCH_MMU_OFF: Aarch64 = Aarch64 { mmu: false };
static ARCH_MMU_ON: Aarch64 = Aarch64 { mmu: true };

// SAFETY: `stack_bounds` returns the calling CPU's own stack (TPIDR_EL1 = its number, set by
// the boot code that gave it that stack), with its provenance exposed here.
unsafe impl Arch for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }

    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let fp = if FP_TRAPPED.load(SeqCst) {
            "trapped"
        } else {
            "not-trapped"
        };
        write!(
            out,
            " mmu={} fp={fp} smp={}",
            if self.mmu { "on" } else { "off" },
            if self.mmu { "on" } else { "off" }
        )
    }

    #[allow(clippy::inline_always)] // the caller's stack pointer, not a callee's
    #[inline(always)]
    fn stack_pointer(&self) -> usize {
        let sp: usize;
        // SAFETY: reads the stack pointer.
        unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
        sp
    }

    fn stack_bounds(&self) -> Range<usize> {
        let base = STACKS.0.get().expose_provenance();
        let low = base + cpu_number().min(MAX_CPUS - 1) * STACK_LEN;
        low..low + STACK_LEN
    }

    fn cpus(&self) -> usize {
        count_cpus()
    }

    fn start_secondaries(&self) -> usize {
        if !self.mmu {
            // Exclusives need Normal memory: the SMP part runs with the MMU on only.
            return 0;
        }
        let entry = (_secondary as *const () as usize) as u64;
        (1..count_cpus() as u64)
            .filter(|&cpu| psci(PSCI_CPU_ON, cpu, entry, cpu) == 0)
            .count()
    }
}

/// CPU 0.
extern "C" fn main() -> ! {
    let mut con = Uart;
    let mut buf = [0u8; 128];
    if command_line(&mut buf)
        .split(|&b| b == b' ')
        .any(|arg| arg == b"fault=unmapped")
    {
        fault_probe();
    }
    if !probe_fp() {
        let _ = writeln!(con, "luo-stub: fp not trapped with CPACR_EL1.FPEN = 0");
    }
    let available = usize::try_from(RAM_END - FLAT_BASE).unwrap_or(0);
    let virt = usize::try_from(FLAT_BASE).unwrap_or(0);
    // SAFETY: QEMU's loader put the file at its base before the CPU started; RAM is mapped
    // (identity, or MMU off) up to RAM_END, and nothing writes above the stub's image.
    let image = unsafe { Image::new(FLAT_BASE, virt, available) };
    let first = liveupdate_boot::run(&mut con, image, &ARCH_MMU_OFF, 0);
    if first != Status::Ok {
        exit(first as u8);
    }
    build_map();
    enable_mmu();
    MMU_ON.store(true, SeqCst);
    let second = liveupdate_boot::run(&mut con, image, &ARCH_MMU_ON, 1);
    if !FP_TRAPPED.load(SeqCst) {
        exit(Status::Mismatch as u8);
    }
    exit(second as u8)
}

/// Every other CPU, started by PSCI `CPU_ON` in the MMU-on pass.
extern "C" fn secondary_main(cpu: u64) -> ! {
    if MMU_ON.load(SeqCst) {
        enable_mmu();
    }
    liveupdate_boot::secondary(&ARCH_MMU_ON, usize::try_from(cpu).unwrap_or(0));
    psci(PSCI_CPU_OFF, 0, 0, 0);
    loop {
        // SAFETY: waits for an event; no effect on memory.
        unsafe { asm!("wfe", options(nomem, nostack)) };
    }
}
