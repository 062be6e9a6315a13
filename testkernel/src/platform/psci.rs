//! Starting and stopping PEs with PSCI CPU_ON and CPU_OFF. The EL2 kernel
//! uses the SMC conduit (QEMU `virt` with EL2 emulated answers SMCs); guest
//! mode uses the conduit the device tree's `/psci` `method` names, set once
//! at boot with `set_conduit_hvc` before any PE is started.

use core::sync::atomic::{AtomicBool, Ordering};

use aarch64_rt::Stack;

use super::MAX_CPUS;

const STACK_PAGES: usize = 8;

static mut SECONDARY_STACKS: [Stack<STACK_PAGES>; MAX_CPUS] = [const { Stack::new() }; MAX_CPUS];

/// Whether PSCI calls go over HVC (guest mode with `method = "hvc"`); SMC otherwise.
static CONDUIT_HVC: AtomicBool = AtomicBool::new(false);

/// Selects the conduit of every later PSCI call: HVC (`true`) or SMC, the default.
#[cfg(feature = "guest")]
pub fn set_conduit_hvc(hvc: bool) {
    CONDUIT_HVC.store(hvc, Ordering::Relaxed);
}

/// Starts PE `cpu` (MPIDR Aff0 = `cpu`) running `entry`, over SMC.
///
/// # Errors
/// The PSCI error, e.g. when QEMU was started with fewer PEs.
#[cfg(not(feature = "guest"))]
pub fn start(cpu: usize, entry: fn(usize) -> !) -> Result<(), smccc::psci::Error> {
    start_via::<smccc::Smc>(cpu, cpu as u64, entry)
}

/// Starts the PE whose `MPIDR_EL1` affinity is `mpidr` running
/// `entry(cpu)` over the selected conduit (`set_conduit_hvc`); `cpu`
/// (1..MAX_CPUS) picks its stack.
///
/// # Errors
/// The PSCI error, e.g. when the PE does not exist or is already on.
#[cfg(feature = "guest")]
pub fn start_at(cpu: usize, mpidr: u64, entry: fn(usize) -> !) -> Result<(), smccc::psci::Error> {
    if CONDUIT_HVC.load(Ordering::Relaxed) {
        start_via::<GuestEntry<smccc::Hvc>>(cpu, mpidr, entry)
    } else {
        start_via::<GuestEntry<smccc::Smc>>(cpu, mpidr, entry)
    }
}

/// The conduit `C` with CPU_ON's entry point replaced by the guest
/// kernel's `guest_secondary`, which drops a PE started at EL2 to EL1
/// before aarch64-rt's `secondary_entry` (`crate::guest_view`).
#[cfg(feature = "guest")]
struct GuestEntry<C>(core::marker::PhantomData<C>);

#[cfg(feature = "guest")]
impl<C: smccc::Call> smccc::Call for GuestEntry<C> {
    fn call32(function: u32, args: [u32; 7]) -> [u32; 8] {
        C::call32(function, args)
    }

    fn call64(function: u32, mut args: [u64; 17]) -> [u64; 18] {
        if function == smccc::psci::PSCI_CPU_ON_64
            && args[1] == aarch64_rt::secondary_entry as *const () as usize as u64
        {
            args[1] = crate::guest_view::guest_secondary as *const () as usize as u64;
        }
        C::call64(function, args)
    }
}

/// Starts the PE whose `MPIDR_EL1` affinity is `mpidr` running
/// `entry(cpu)`, with CPU_ON over the conduit `C` (`smccc::Smc` or
/// `smccc::Hvc`); `cpu` (1..MAX_CPUS) picks its stack.
///
/// # Errors
/// The PSCI error, e.g. when the PE does not exist or is already on.
pub fn start_via<C: smccc::Call>(cpu: usize, mpidr: u64, entry: fn(usize) -> !) -> Result<(), smccc::psci::Error> {
    assert!(cpu > 0 && cpu < MAX_CPUS);
    // SAFETY: each secondary stack is handed to exactly one PE, once (the
    // caller starts every PE at most once), and nothing else touches it.
    let stack = unsafe { &raw mut SECONDARY_STACKS[cpu] };
    // SAFETY: the stack is reserved for this PE (above); the MMU is off on
    // every PE, so it is accessible with the same attributes on both.
    unsafe { aarch64_rt::start_core::<C, _, STACK_PAGES>(mpidr, stack, move || entry(cpu)) }
}

/// Powers the executing PE off with CPU_OFF over the selected conduit.
/// Returns only if the call failed.
///
/// # Errors
/// The PSCI error.
pub fn cpu_off() -> Result<(), smccc::psci::Error> {
    if CONDUIT_HVC.load(Ordering::Relaxed) {
        smccc::psci::cpu_off::<smccc::Hvc>()
    } else {
        smccc::psci::cpu_off::<smccc::Smc>()
    }
}

/// Powers the whole machine off with SYSTEM_OFF over the selected conduit
/// (a VM's end, in a batch of KVM runs). Returns only if the call failed.
///
/// # Errors
/// The PSCI error.
pub fn system_off() -> Result<(), smccc::psci::Error> {
    if CONDUIT_HVC.load(Ordering::Relaxed) {
        smccc::psci::system_off::<smccc::Hvc>()
    } else {
        smccc::psci::system_off::<smccc::Smc>()
    }
}
