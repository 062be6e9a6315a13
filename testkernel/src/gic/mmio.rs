//! Volatile access to GIC register frames.
//!
//! The MMU is off at EL2 and EL1, so every data access is Device-nGnRnE and
//! must be naturally aligned; every caller passes a frame base from
//! [`super::layout`] (QEMU `virt`'s map, or the device tree's in guest
//! mode) plus an offset from the spec's register map.
//!
//! Each access is one `LDR`/`STR` of its width with a plain base register
//! (inline assembly, as Linux's `readl`/`writel` do), never a pair, a
//! pre/post-indexed form or a merged access the compiler might choose for
//! a volatile pointer: a hypervisor that emulates the GIC (KVM, Xen) learns
//! the access from the syndrome of the stage-2 fault, which only these
//! single loads and stores without writeback carry (Arm ARM D17.2.40,
//! ESR_ELx.ISV). A post-indexed `STRB` in a loop made KVM fail with "Data
//! abort outside memslots with no valid syndrome info".
//!
//! Each access is marked in flight (`platform::exceptions::mmio_begin`) so
//! that in guest mode a data abort the hypervisor answers it with is
//! recorded for the step's event instead of ending the run; a load's
//! destination register is preset to 0, the value a skipped load leaves.

use crate::platform::exceptions::{mmio_begin, mmio_end};

/// Reads a 32-bit register.
///
/// # Safety
/// `addr` must be a 4-byte-aligned GIC register address of the platform.
pub unsafe fn read32(addr: usize) -> u32 {
    let v: u32;
    let prev = mmio_begin(addr);
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe {
        core::arch::asm!("ldr {v:w}, [{a}]", a = in(reg) addr, v = inout(reg) 0u32 => v, options(nostack, readonly))
    };
    mmio_end(prev);
    v
}

/// Writes a 32-bit register.
///
/// # Safety
/// As [`read32`]; the write must be one the caller means to make.
pub unsafe fn write32(addr: usize, v: u32) {
    let prev = mmio_begin(addr);
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe { core::arch::asm!("str {v:w}, [{a}]", a = in(reg) addr, v = in(reg) v, options(nostack)) };
    mmio_end(prev);
}

/// Reads a 64-bit register.
///
/// # Safety
/// `addr` must be an 8-byte-aligned 64-bit GIC register address.
pub unsafe fn read64(addr: usize) -> u64 {
    let v: u64;
    let prev = mmio_begin(addr);
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe {
        core::arch::asm!("ldr {v}, [{a}]", a = in(reg) addr, v = inout(reg) 0u64 => v, options(nostack, readonly))
    };
    mmio_end(prev);
    v
}

/// Writes a 64-bit register.
///
/// # Safety
/// As [`read64`].
pub unsafe fn write64(addr: usize, v: u64) {
    let prev = mmio_begin(addr);
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe { core::arch::asm!("str {v}, [{a}]", a = in(reg) addr, v = in(reg) v, options(nostack)) };
    mmio_end(prev);
}

/// Writes one byte (byte-accessible registers such as `GICD_IPRIORITYR`).
///
/// # Safety
/// `addr` must be inside a byte-accessible GIC register.
pub unsafe fn write8(addr: usize, v: u8) {
    let prev = mmio_begin(addr);
    // SAFETY: the caller guarantees a valid byte-accessible device register.
    unsafe { core::arch::asm!("strb {v:w}, [{a}]", a = in(reg) addr, v = in(reg) v, options(nostack)) };
    mmio_end(prev);
}

/// Reads one byte (byte-accessible registers such as `GICD_IPRIORITYR`).
///
/// # Safety
/// `addr` must be inside a byte-accessible GIC register.
pub unsafe fn read8(addr: usize) -> u8 {
    let v: u32;
    let prev = mmio_begin(addr);
    // SAFETY: the caller guarantees a valid byte-accessible device register.
    unsafe {
        core::arch::asm!("ldrb {v:w}, [{a}]", a = in(reg) addr, v = inout(reg) 0u32 => v, options(nostack, readonly))
    };
    mmio_end(prev);
    v as u8
}
