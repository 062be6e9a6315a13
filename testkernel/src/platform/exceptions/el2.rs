//! The EL2 kernel's exception handlers, the EL1 guest vector table, and the
//! world switch between the EL2 interpreter and the EL1 guest.
//!
//! Entering the guest ([`run_guest`]) sets `ELR_EL2`, `SPSR_EL2` and
//! `SP_EL1` (through aarch64-cpu), then saves the EL2 callee-saved
//! registers on the EL2 stack and `ERET`s to EL1. The guest leaves with `HVC #0`
//! (x0 = exit kind, x1..x3 = values); the lower-EL synchronous handler
//! copies x0..x3 into this PE's [`GuestExit`] slot and rewrites the saved
//! `ELR_EL2`/`SPSR_EL2` so that its `ERET` lands on `gicv_guest_return` at
//! EL2h, with `SP_EL2` back at the value it had at entry (the handler's frame
//! is popped), which restores the callee-saved registers and returns to
//! `run_guest`'s caller. Any other exception from the guest, or any
//! unexpected exception at EL2, ends the run with a `crash` record.
//!
//! What stays in assembly: the world switch itself (callee-saved registers
//! and `ERET`, which no Rust code may come between) and the guest's vector
//! table (an exception entry must read `ESR_EL1`/`ELR_EL1`/`FAR_EL1` and
//! leave before touching the stack).

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    ReadWriteable, Readable, Writeable, CNTHCTL_EL2, CNTVOFF_EL2, CPACR_EL1, ELR_EL2, ESR_EL2, FAR_EL2, SCTLR_EL1,
    SPSR_EL2, SP_EL1, VBAR_EL1,
};
use aarch64_rt::{ExceptionHandlers, RegisterStateRef};

use super::{crash, irq_handler};
use crate::platform::{cpu_index, MAX_CPUS};

/// Why the guest returned to EL2 (x0 of its `HVC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// The guest op completed; `value` is its result.
    Done,
    /// The guest took a virtual IRQ.
    Irq,
    /// The guest took a virtual FIQ.
    Fiq,
    /// An unexpected synchronous exception at EL1 (`ESR_EL1`, `ELR_EL1`, `FAR_EL1` in values).
    Sync,
    /// A virtual SError at EL1.
    SError,
    /// A guest instruction trapped to EL2 (`ESR_EL2`, `ELR_EL2`, `FAR_EL2` in values).
    Trap,
}

/// What the guest left with.
#[derive(Clone, Copy, Debug)]
pub struct GuestExit {
    /// Why.
    pub kind: ExitKind,
    /// x1..x3 of the exit.
    pub values: [u64; 3],
}

/// Guest exit codes in x0 (shared with the assembly below).
pub const EXIT_DONE: u64 = 0;
const EXIT_IRQ: u64 = 1;
const EXIT_FIQ: u64 = 2;
const EXIT_SYNC: u64 = 3;
const EXIT_SERROR: u64 = 4;

struct ExitSlots(UnsafeCell<[GuestExit; MAX_CPUS]>);
// SAFETY: slot `i` is only touched by PE `i` (from its exception handler and
// from `run_guest` after the guest left), never concurrently.
unsafe impl Sync for ExitSlots {}
static EXITS: ExitSlots = ExitSlots(UnsafeCell::new([GuestExit { kind: ExitKind::Done, values: [0; 3] }; MAX_CPUS]));

const GUEST_STACK: usize = 16 * 1024;
#[repr(C, align(16))]
struct GuestStacks([[u8; GUEST_STACK]; MAX_CPUS]);
static mut GUEST_STACKS: GuestStacks = GuestStacks([[0; GUEST_STACK]; MAX_CPUS]);

global_asm!(
    r#"
.section .text.gicv_world, "ax"
.global gicv_enter_guest
// x0..x2 = guest x0..x2; ELR_EL2, SPSR_EL2 and SP_EL1 are already set.
gicv_enter_guest:
    stp x29, x30, [sp, #-160]!
    stp x19, x20, [sp, #16]
    stp x21, x22, [sp, #32]
    stp x23, x24, [sp, #48]
    stp x25, x26, [sp, #64]
    stp x27, x28, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    isb
    eret

.global gicv_guest_return
gicv_guest_return:
    ldp d14, d15, [sp, #144]
    ldp d12, d13, [sp, #128]
    ldp d10, d11, [sp, #112]
    ldp d8, d9, [sp, #96]
    ldp x27, x28, [sp, #80]
    ldp x25, x26, [sp, #64]
    ldp x23, x24, [sp, #48]
    ldp x21, x22, [sp, #32]
    ldp x19, x20, [sp, #16]
    ldp x29, x30, [sp], #160
    ret

// The guest's EL1 vector table: every exception becomes an HVC exit.
.macro guest_vec kind:req
    .balign 0x80
    mov x0, #\kind
    mrs x1, esr_el1
    mrs x2, elr_el1
    mrs x3, far_el1
    hvc #0
    b .
.endm
.section .text.gicv_guest_vectors, "ax"
.balign 0x800
.global gicv_guest_vectors
gicv_guest_vectors:
// Current EL with SP0, current EL with SPx, lower EL AArch64, lower EL AArch32.
.rept 4
    guest_vec {sync}
    guest_vec {irq}
    guest_vec {fiq}
    guest_vec {serror}
.endr
"#,
    sync = const EXIT_SYNC,
    irq = const EXIT_IRQ,
    fiq = const EXIT_FIQ,
    serror = const EXIT_SERROR,
);

unsafe extern "C" {
    fn gicv_enter_guest(a0: u64, a1: u64, a2: u64);
    static gicv_guest_return: u8;
    static gicv_guest_vectors: u8;
}

/// `SPSR_EL2` for returning to EL2h with D, A, I and F masked.
const SPSR_EL2H_MASKED: u64 = SPSR_EL2::D::Masked.value
    | SPSR_EL2::A::Masked.value
    | SPSR_EL2::I::Masked.value
    | SPSR_EL2::F::Masked.value
    | SPSR_EL2::M::EL2h.value;

/// `SCTLR_EL1` bits that are RES1 in Armv8.0 and that aarch64-cpu has no
/// fields for: LSMAOE (29), nTLSMD (28), SPAN (23), EIS (22), TSCXT (20), EOS (11).
const SCTLR_EL1_RES1: u64 = (1 << 29) | (1 << 28) | (1 << 23) | (1 << 22) | (1 << 20) | (1 << 11);

/// Sets up this PE's EL1 state for the guest: vector table, `SCTLR_EL1`
/// (MMU and alignment checks off), FP/SIMD access, counter access.
///
/// These writes only configure EL1, which runs nothing until `run_guest`;
/// the vector table is a valid, 2 KiB-aligned table (see the assembly above).
pub fn init_guest_el1() {
    VBAR_EL1.set((&raw const gicv_guest_vectors) as u64);
    SCTLR_EL1.set(
        SCTLR_EL1_RES1
            | (SCTLR_EL1::M::Disable + SCTLR_EL1::A::Disable + SCTLR_EL1::C::NonCacheable + SCTLR_EL1::I::NonCacheable)
                .value,
    );
    CPACR_EL1.modify(CPACR_EL1::FPEN::TrapNothing);
    CNTHCTL_EL2.modify(CNTHCTL_EL2::EL1PCTEN::SET + CNTHCTL_EL2::EL1PCEN::SET);
    CNTVOFF_EL2.set(0);
    barrier::isb(barrier::SY);
}

/// Runs `entry(a0, a1, a2)` at EL1 on this PE until it exits with `HVC`.
///
/// `entry` must end every path with an `HVC #0` exit (see `guest.rs`).
pub fn run_guest(entry: extern "C" fn(u64, u64, u64) -> !, a0: u64, a1: u64, a2: u64) -> GuestExit {
    let cpu = cpu_index();
    // SAFETY: each PE uses only its own guest stack; the guest runs only while this PE waits here.
    let sp = unsafe { (&raw mut GUEST_STACKS.0[cpu]) as usize + GUEST_STACK };
    // Where the `ERET` goes: EL1h at `entry` with D, A, I and F masked. IRQs
    // are masked at EL2 here (they are unmasked only inside bounded waits),
    // so no exception to EL2 can overwrite ELR_EL2/SPSR_EL2 before the `ERET`.
    ELR_EL2.set(entry as usize as u64);
    SPSR_EL2.write(
        SPSR_EL2::D::Masked + SPSR_EL2::A::Masked + SPSR_EL2::I::Masked + SPSR_EL2::F::Masked + SPSR_EL2::M::EL1h,
    );
    SP_EL1.set(sp as u64);
    // SAFETY: `gicv_enter_guest` saves the callee-saved registers and comes
    // back through `gicv_guest_return` with the EL2 stack as it left it, so
    // to the compiler it is an ordinary call that clobbers caller-saved state;
    // it enters `entry` on this PE's own guest stack (set just above).
    unsafe { gicv_enter_guest(a0, a1, a2) };
    // SAFETY: slot `cpu` was written by this PE's handler before returning here.
    unsafe { (*EXITS.0.get())[cpu] }
}

fn read_esr_elr_far_el2() -> (u64, u64, u64) {
    (ESR_EL2.get(), ELR_EL2.get(), FAR_EL2.get())
}

/// The handler of guest system-register accesses that trap to EL2
/// (`ESR_EL2.EC` 0x18), registered by the layer above; 0 until then. It
/// gets `ESR_EL2` and the value of the transfer register (`ISS.Rt`; the
/// value written, for an `MSR`) and returns the value a trapped `MRS`
/// reads; the guest then resumes after the trapped instruction.
static TRAP_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Registers the handler of trapped guest `MSR`/`MRS` accesses (see [`TRAP_HANDLER`]).
pub fn set_trap_handler(handler: fn(u64, u64) -> u64) {
    TRAP_HANDLER.store(handler as usize, Ordering::Release);
}

fn trap_handler() -> Option<fn(u64, u64) -> u64> {
    let p = TRAP_HANDLER.load(Ordering::Acquire);
    if p == 0 {
        return None;
    }
    // SAFETY: the only non-zero value ever stored is a `fn(u64, u64) -> u64`
    // cast to usize by `set_trap_handler`.
    Some(unsafe { core::mem::transmute::<usize, fn(u64, u64) -> u64>(p) })
}

/// `ESR_EL2.ISS.Rt` of a trapped `MSR`/`MRS`: bits \[9:5\] (Arm ARM, `ESR_EL2`,
/// "ISS encoding for an exception from MSR, MRS, or System instruction
/// execution in AArch64 state", EC 0x18).
fn iss_rt(esr: u64) -> usize {
    ((esr >> 5) & 0x1f) as usize
}

/// `ESR_EL2.ISS.Direction` of a trapped `MSR`/`MRS`: 1 for a read (`MRS`), bit 0.
fn iss_is_read(esr: u64) -> bool {
    esr & 1 != 0
}

/// The EL2 exception handlers (installed through aarch64-rt's vector table).
pub struct Handlers;

impl ExceptionHandlers for Handlers {
    extern "C" fn sync_current(_state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        crash(2, "synchronous", esr, elr, far);
    }

    extern "C" fn irq_current(mut state: RegisterStateRef) {
        let Some(handler) = irq_handler() else {
            let (esr, elr, far) = read_esr_elr_far_el2();
            crash(2, "IRQ at EL2 before an interrupt handler was registered", esr, elr, far);
        };
        if handler() {
            // SAFETY: setting SPSR.I only makes the interrupted bounded wait
            // resume with IRQs masked, which it checks for; nothing else changes.
            unsafe {
                let s = state.get_mut();
                s.spsr = SPSR_EL2::I::Masked.modify(s.spsr);
            }
        }
    }

    extern "C" fn fiq_current(_state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        crash(2, "FIQ", esr, elr, far);
    }

    extern "C" fn serror_current(_state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        crash(2, "SError", esr, elr, far);
    }

    extern "C" fn sync_lower(mut state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        let rt = iss_rt(esr);
        // A trapped MSR/MRS whose transfer register the entry saved (x0-x18,
        // or XZR): the registered handler emulates it and the guest goes on
        // after the instruction. The kernel's own guest code moves every
        // system-register value through x0 (gic::sysreg).
        if ESR_EL2::EC.read_as_enum(esr) == Some(ESR_EL2::EC::Value::TrappedMsrMrs) && (rt < 19 || rt == 31) {
            if let Some(handler) = trap_handler() {
                let written = if rt == 31 { 0 } else { state.registers[rt] };
                let read = handler(esr, written);
                // SAFETY: the guest's trapped MRS/MSR completes as if executed:
                // its destination register gets the emulated value and it
                // resumes at the next instruction (ISS.IL = 1: 4 bytes).
                unsafe {
                    let s = state.get_mut();
                    if iss_is_read(esr) && rt != 31 {
                        s.registers[rt] = read;
                    }
                    s.elr += 4;
                }
                return;
            }
        }
        let exit = if ESR_EL2::EC.read_as_enum(esr) == Some(ESR_EL2::EC::Value::HVC64) {
            let r = &state.registers;
            let kind = match r[0] {
                EXIT_DONE => ExitKind::Done,
                EXIT_IRQ => ExitKind::Irq,
                EXIT_FIQ => ExitKind::Fiq,
                EXIT_SYNC => ExitKind::Sync,
                _ => ExitKind::SError,
            };
            GuestExit { kind, values: [r[1], r[2], r[3]] }
        } else {
            GuestExit { kind: ExitKind::Trap, values: [esr, elr, far] }
        };
        let cpu = cpu_index();
        // SAFETY: only this PE touches its slot (see ExitSlots).
        unsafe { (*EXITS.0.get())[cpu] = exit };
        // SAFETY: returning to `gicv_guest_return` at EL2h with SP_EL2 as it
        // was when `gicv_enter_guest` entered the guest is exactly what that
        // label expects (see the module docs).
        unsafe {
            let s = state.get_mut();
            s.elr = (&raw const gicv_guest_return) as usize;
            s.spsr = SPSR_EL2H_MASKED;
        }
    }

    extern "C" fn irq_lower(_state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        crash(1, "physical IRQ taken while the guest ran (the kernel masks them with the physical PMR)", esr, elr, far);
    }

    extern "C" fn fiq_lower(_state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        crash(1, "physical FIQ taken while the guest ran", esr, elr, far);
    }

    extern "C" fn serror_lower(_state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        crash(1, "SError from the guest", esr, elr, far);
    }
}

aarch64_rt::exception_handlers!(Handlers);
