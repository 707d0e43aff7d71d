//! COM1 (I/O port 0x3f8), polled, 115200 8N1.

use core::fmt;

const COM1: u16 = 0x3f8;

fn outb(port: u16, value: u8) {
    // SAFETY: port I/O to the COM1 UART and the isa-debug-exit port only (callers pass
    // those constants); it touches no memory.
    unsafe {
        core::arch::asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags));
    }
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: reads a COM1 UART register; touches no memory.
    unsafe {
        core::arch::asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags));
    }
    value
}

/// The serial console.
#[derive(Debug)]
pub struct Serial(());

impl Serial {
    /// Programs COM1: 115200 baud, 8N1, FIFOs on, interrupts off.
    pub fn init() -> Self {
        outb(COM1 + 1, 0x00); // no interrupts
        outb(COM1 + 3, 0x80); // DLAB
        outb(COM1, 0x01); // divisor 1: 115200
        outb(COM1 + 1, 0x00);
        outb(COM1 + 3, 0x03); // 8N1
        outb(COM1 + 2, 0xC7); // FIFO on, cleared, 14-byte threshold
        outb(COM1 + 4, 0x03); // DTR, RTS
        Serial(())
    }

    /// The console as [`Serial::init`] left it (for the fault and panic paths).
    pub fn get() -> Self {
        Serial(())
    }

    #[allow(clippy::unused_self)] // the port is a constant; `&mut self` orders the writes
    fn put(&mut self, byte: u8) {
        // Line status bit 5: transmit holding register empty. Bounded: a missing UART
        // reads 0xff, so this never spins forever.
        for _ in 0..100_000 {
            if inb(COM1 + 5) & 0x20 != 0 {
                break;
            }
        }
        outb(COM1, byte);
    }
}

impl fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
        Ok(())
    }
}

/// Writes `value` to QEMU's `isa-debug-exit` device (iobase 0xf4), which ends QEMU with exit
/// code `(value << 1) | 1`.
pub fn debug_exit(value: u8) {
    outb(0xf4, value);
}
