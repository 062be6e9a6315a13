//! The PL011 UART of QEMU `virt` (at 0x0900_0000, interrupt SPI 1 = INTID
//! 33, level-sensitive, active high), used only as a device whose
//! interrupt line a case can raise and drop. Guest mode sets its address
//! from the device tree (`set_base`), or says there is none. No byte it
//! sends goes anywhere: the runner starts QEMU with `-nodefaults`, so the
//! UART has no character backend.
//!
//! Registers: Arm PrimeCell UART (PL011) Technical Reference Manual
//! (DDI 0183), 3.3: `UARTDR` 0x000, `UARTIMSC` 0x038 (interrupt mask set/clear:
//! 1 enables an interrupt), `UARTICR` 0x044 (clear). The combined interrupt
//! `UARTINTR` is the OR of the raw interrupts masked by `UARTIMSC` (3.4).

use core::sync::atomic::{AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;

/// Base address on QEMU `virt` (hw/arm/virt.c `VIRT_UART`).
const QEMU_VIRT_UART: usize = 0x0900_0000;
const UARTDR: usize = 0x000;
const UARTCR: usize = 0x030;
const UARTIMSC: usize = 0x038;
/// `UARTIMSC.TXIM`: transmit interrupt mask, bit 5.
const TXIM: u32 = 1 << 5;
/// `UARTCR`: UARTEN (bit 0) and TXE (bit 8).
const UARTCR_TX_ON: u32 = 1 | (1 << 8);

/// The UART's base address (0: none).
static BASE: AtomicUsize = AtomicUsize::new(QEMU_VIRT_UART);

/// Sets the UART's base address (guest mode: the device tree's PL011 `reg`,
/// `None` when it lists none), once at boot before any case step.
#[cfg(feature = "guest")]
pub fn set_base(base: Option<u64>) {
    BASE.store(base.unwrap_or(0) as usize, Ordering::Relaxed);
}

fn write(base: usize, off: usize, v: u32) {
    // SAFETY: a PL011 register of the platform's UART (QEMU virt's, or the
    // one the device tree names), a device nothing else in the kernel uses
    // (output goes over semihosting). One STR without writeback (as
    // gic::mmio): a hypervisor emulating the UART needs its syndrome.
    unsafe { core::arch::asm!("str {v:w}, [{a}]", a = in(reg) base + off, v = in(reg) v, options(nostack)) };
    barrier::dsb(barrier::SY);
}

/// Asserts (`true`) or deasserts the UART's interrupt output through its
/// transmit interrupt: one byte (NUL) is sent, which raises the raw transmit
/// interrupt (with the FIFOs disabled it is raised once the byte left the
/// holding register, DDI 0183 2.8.3), and `UARTIMSC.TXIM` gates it onto the
/// line. Deasserting masks it again (`UARTIMSC` = 0), which leaves the raw
/// interrupt for the next assertion. Returns false, doing nothing, when the
/// platform has no UART.
pub fn tx_interrupt_output(assert: bool) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return false;
    }
    if assert {
        write(base, UARTCR, UARTCR_TX_ON);
        write(base, UARTDR, 0);
        write(base, UARTIMSC, TXIM);
    } else {
        write(base, UARTIMSC, 0);
    }
    true
}
