//! The multiboot header, the 32-bit entry, the identity page tables, the switch to long mode
//! and the exception entry stubs (assembly).
//!
//! State at `_start32` (multiboot v1, section 3.2): 32-bit protected mode, paging off,
//! `eax` = 0x2BADB002, `ebx` = physical address of the multiboot information; interrupts
//! off. Nothing else (GDT, stack, CR4, EFER) is trusted: QEMU's loader and kexec's
//! purgatory leave different states, so every register that matters is written here.
//!
//! Page tables: PML4[0] -> one PDPT -> four PDs of 512 2-MiB pages each: the first 4 GiB
//! identity mapped, writable (RAM, the stub, the multiboot information, the module; MMIO
//! above RAM is never touched). PML4[1] is left for the read-only handover window that
//! `main.rs` builds with 4-KiB pages once it knows where the module landed. The page below
//! the stack is a guard (`guard.rs` unmaps it).
//!
//! Control registers: CR4 = PAE only (OSFXSR clear: any SSE instruction raises #UD),
//! CR0 = PE | EM | ET | NE | WP | PG (EM set: any x87 instruction raises #NM), so floating
//! point traps as on the aarch64 stub (the target is soft-float and must never emit one);
//! WP makes supervisor writes to read-only pages fault.

core::arch::global_asm!(
    r#"
    .set MB_MAGIC, 0x1BADB002
    /* bit 0: modules page aligned; bit 1: memory information. Nothing else (kexec-tools
       refuses the a.out kludge and video modes). */
    .set MB_FLAGS, 0x00000003

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .bss.boot, "aw", @nobits
    .balign 4096
    .global __pml4
__pml4:     .skip 4096
__pdpt:     .skip 4096
    .global __pd
__pd:       .skip 4 * 4096
    /* Unmapped by guard.rs once in long mode: an overflow faults instead of writing __pd. */
    .global __stack_guard
__stack_guard:
    .skip 4096
    .global __stack_bottom
__stack_bottom:
    .skip 64 * 1024
    .global __stack_top
__stack_top:

    .section .rodata.boot, "a"
    .balign 16
__gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF    /* 0x10: data, 4 GiB */
__gdt_end:
    .balign 4
    .word 0
__gdt_ptr:
    .word __gdt_end - __gdt - 1
    .long __gdt

    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    mov %eax, %ebp                  /* multiboot magic */
    mov %ebx, %esi                  /* multiboot information */

    /* Zero .bss (the loaders should have; do not rely on it). */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    shr $2, %ecx
    xor %eax, %eax
    rep stosl

    mov $__stack_top, %esp

    /* PML4[0] = PDPT, PDPT[0..4] = PD[0..4], all present + writable. */
    mov $__pdpt, %eax
    or $3, %eax
    mov %eax, __pml4
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $__pd, %eax
    or $3, %eax
    mov %eax, __pdpt(,%ecx,8)
    inc %ecx
    cmp $4, %ecx
    jne 1b
    /* PD entry i = i * 2 MiB | PS | RW | P, i in 0..2048: 4 GiB. */
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, __pd(,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jne 2b

    mov $__pml4, %eax
    mov %eax, %cr3
    mov $0x20, %eax                 /* CR4.PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx           /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    /* PG | WP | NE | ET | EM | PE */
    mov $0x80010035, %eax
    mov %eax, %cr0

    lgdt __gdt_ptr
    ljmp $0x08, $_start64

    .code64
_start64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    lea __stack_top(%rip), %rsp
    mov %ebp, %edi                  /* arg 0: magic (zero-extended) */
    mov %esi, %esi                  /* arg 1: multiboot information (zero-extended) */
    xor %ebp, %ebp
    call x86_main
3:  cli
    hlt
    jmp 3b

    /* Exception entry stubs: 32 vectors, 16 bytes apart from __isr_stubs. Each pushes
       an error code (0 where the CPU pushes none) and the vector. */
    .balign 16
    .global __isr_stubs
__isr_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    .if (\n == 8) | (\n == 10) | (\n == 11) | (\n == 12) | (\n == 13) | (\n == 14) | (\n == 17) | (\n == 21) | (\n == 29) | (\n == 30)
    .else
    pushq $0
    .endif
    pushq $\n
    jmp __isr_common
    .endr

__isr_common:
    /* [rsp] vector, [rsp+8] error code, [rsp+16] rip, [rsp+24] cs, [rsp+32] rflags,
       [rsp+40] rsp, [rsp+48] ss */
    mov (%rsp), %rdi
    mov 8(%rsp), %rsi
    mov 16(%rsp), %rdx
    mov %cr2, %rcx
    mov 40(%rsp), %r8
    and $-16, %rsp
    call x86_fault
4:  cli
    hlt
    jmp 4b
"#,
    options(att_syntax)
);
