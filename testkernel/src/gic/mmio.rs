//! Volatile access to GIC register frames.
//!
//! The MMU is off at EL2 and EL1, so every data access is Device-nGnRnE and
//! must be naturally aligned; every caller passes a frame base from
//! [`super::layout`] (QEMU `virt`'s map, or the device tree's in guest
//! mode) plus an offset from the spec's register map.

/// Reads a 32-bit register.
///
/// # Safety
/// `addr` must be a 4-byte-aligned GIC register address of the platform.
pub unsafe fn read32(addr: usize) -> u32 {
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

/// Writes a 32-bit register.
///
/// # Safety
/// As [`read32`]; the write must be one the caller means to make.
pub unsafe fn write32(addr: usize, v: u32) {
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

/// Reads a 64-bit register.
///
/// # Safety
/// `addr` must be an 8-byte-aligned 64-bit GIC register address.
pub unsafe fn read64(addr: usize) -> u64 {
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// Writes a 64-bit register.
///
/// # Safety
/// As [`read64`].
pub unsafe fn write64(addr: usize, v: u64) {
    // SAFETY: the caller guarantees a valid, aligned device register address.
    unsafe { core::ptr::write_volatile(addr as *mut u64, v) }
}

/// Writes one byte (byte-accessible registers such as `GICD_IPRIORITYR`).
///
/// # Safety
/// `addr` must be inside a byte-accessible GIC register.
pub unsafe fn write8(addr: usize, v: u8) {
    // SAFETY: the caller guarantees a valid byte-accessible device register.
    unsafe { core::ptr::write_volatile(addr as *mut u8, v) }
}

/// Reads one byte (byte-accessible registers such as `GICD_IPRIORITYR`).
///
/// # Safety
/// `addr` must be inside a byte-accessible GIC register.
pub unsafe fn read8(addr: usize) -> u8 {
    // SAFETY: the caller guarantees a valid byte-accessible device register.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}
