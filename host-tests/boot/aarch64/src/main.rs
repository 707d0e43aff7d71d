//! The aarch64 boot stub: a bare-metal program for QEMU `virt` (`-kernel`, EL1) built for
//! `aarch64-unknown-none-softfloat`, which runs `liveupdate_boot::run` twice on the flat
//! handover file QEMU's loader placed at `0x4800_0000`: once with the MMU off, then with an
//! identity map (Normal memory for RAM, Device for the peripherals) and the other CPUs started
//! by PSCI `CPU_ON` hammering the accessors. FP/SIMD is disabled (`CPACR_EL1.FPEN = 0`) and
//! shown to trap; any exception prints ESR/ELR/FAR and exits with status 2. Output on the
//! PL011 UART, exit status through semihosting. See host-tests/boot/README.md.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod stub;

/// Built for anything but the bare-metal target, the stub is empty.
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
fn main() {
    eprintln!("build with --target aarch64-unknown-none-softfloat");
}
