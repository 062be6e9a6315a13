//! The PL011 UART of QEMU `virt` (at 0x0900_0000, interrupt SPI 1 = INTID
//! 33, level-sensitive, active high), used only as a device whose
//! interrupt line a case can raise and drop. No byte it sends goes
//! anywhere: the runner starts QEMU with `-nodefaults`, so the UART has no
//! character backend.
//!
//! Registers: Arm PrimeCell UART (PL011) Technical Reference Manual
//! (DDI 0183), 3.3: `UARTDR` 0x000, `UARTIMSC` 0x038 (interrupt mask set/clear:
//! 1 enables an interrupt), `UARTICR` 0x044 (clear). The combined interrupt
//! `UARTINTR` is the OR of the raw interrupts masked by `UARTIMSC` (3.4).

use aarch64_cpu::asm::barrier;

/// Base address on QEMU `virt` (hw/arm/virt.c `VIRT_UART`).
const UART: usize = 0x0900_0000;
const UARTDR: usize = 0x000;
const UARTCR: usize = 0x030;
const UARTIMSC: usize = 0x038;
/// `UARTIMSC.TXIM`: transmit interrupt mask, bit 5.
const TXIM: u32 = 1 << 5;
/// `UARTCR`: UARTEN (bit 0) and TXE (bit 8).
const UARTCR_TX_ON: u32 = 1 | (1 << 8);

fn write(off: usize, v: u32) {
    // SAFETY: a PL011 register of QEMU virt's UART, a device nothing else in
    // the kernel uses (output goes over semihosting).
    unsafe { core::ptr::write_volatile((UART + off) as *mut u32, v) };
    barrier::dsb(barrier::SY);
}

/// Asserts (`true`) or deasserts the UART's interrupt output through its
/// transmit interrupt: one byte (NUL) is sent, which raises the raw transmit
/// interrupt (with the FIFOs disabled it is raised once the byte left the
/// holding register, DDI 0183 2.8.3), and `UARTIMSC.TXIM` gates it onto the
/// line. Deasserting masks it again (`UARTIMSC` = 0), which leaves the raw
/// interrupt for the next assertion.
pub fn tx_interrupt_output(assert: bool) {
    if assert {
        write(UARTCR, UARTCR_TX_ON);
        write(UARTDR, 0);
        write(UARTIMSC, TXIM);
    } else {
        write(UARTIMSC, 0);
    }
}
