//! Starting secondary PEs with PSCI CPU_ON over SMC (QEMU `virt` with EL2
//! emulated uses the SMC conduit).

use aarch64_rt::Stack;

use super::MAX_CPUS;

const STACK_PAGES: usize = 8;

static mut SECONDARY_STACKS: [Stack<STACK_PAGES>; MAX_CPUS] = [const { Stack::new() }; MAX_CPUS];

/// Starts PE `cpu` (MPIDR Aff0 = `cpu`) running `entry`.
///
/// # Errors
/// The PSCI error, e.g. when QEMU was started with fewer PEs.
pub fn start(cpu: usize, entry: fn(usize) -> !) -> Result<(), smccc::psci::Error> {
    assert!(cpu > 0 && cpu < MAX_CPUS);
    // SAFETY: each secondary stack is handed to exactly one PE, once (the
    // caller starts every PE at most once), and nothing else touches it.
    let stack = unsafe { &raw mut SECONDARY_STACKS[cpu] };
    // SAFETY: the stack is reserved for this PE (above); the MMU is off on
    // every PE, so it is accessible with the same attributes on both.
    unsafe { aarch64_rt::start_core::<smccc::Smc, _, STACK_PAGES>(cpu as u64, stack, move || entry(cpu)) }
}
