//! EL2 exception handlers, the EL1 guest vector table, and the world switch
//! between the EL2 interpreter and the EL1 guest.
//!
//! Entering the guest ([`run_guest`]) saves the EL2 callee-saved registers
//! on the EL2 stack and `ERET`s to EL1. The guest leaves with `HVC #0`
//! (x0 = exit kind, x1..x3 = values); the lower-EL synchronous handler
//! copies x0..x3 into this PE's [`GuestExit`] slot and rewrites the saved
//! `ELR_EL2`/`SPSR_EL2` so that its `ERET` lands on `gicv_guest_return` at
//! EL2h, with `SP_EL2` back at the value it had at entry (the handler's frame
//! is popped), which restores the callee-saved registers and returns to
//! `run_guest`'s caller. Any other exception from the guest, or any
//! unexpected exception at EL2, ends the run with a `crash` record.

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;

use aarch64_rt::{ExceptionHandlers, RegisterStateRef};
use gic_case::proto::KernelExit;

use super::out::{exit, Line};
use super::{cpu_index, MAX_CPUS};

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
// x0 = EL1 entry point, x1 = SP_EL1, x2 = SPSR_EL2, x3..x5 = guest x0..x2
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
    msr elr_el2, x0
    msr sp_el1, x1
    msr spsr_el2, x2
    mov x0, x3
    mov x1, x4
    mov x2, x5
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
    fn gicv_enter_guest(pc: usize, sp: usize, spsr: u64, a0: u64, a1: u64, a2: u64);
    static gicv_guest_return: u8;
}

/// `SPSR_EL2` for entering EL1h with D, A, I and F masked.
const SPSR_EL1H_MASKED: u64 = 0x3c5;
/// `SPSR_EL2` for returning to EL2h with D, A, I and F masked.
const SPSR_EL2H_MASKED: u64 = 0x3c9;

/// Sets up this PE's EL1 state for the guest: vector table, `SCTLR_EL1`
/// (MMU and alignment checks off), FP/SIMD access, counter access.
pub fn init_guest_el1() {
    // SAFETY: these writes only configure EL1, which runs nothing until
    // `run_guest`; the vector table is a valid, 2 KiB-aligned table.
    unsafe {
        asm!(
            "adr {t}, gicv_guest_vectors",
            "msr vbar_el1, {t}",
            "msr sctlr_el1, {sctlr}",
            "mrs {t}, cpacr_el1",
            "orr {t}, {t}, #(3 << 20)",
            "msr cpacr_el1, {t}",
            "mrs {t}, cnthctl_el2",
            "orr {t}, {t}, #3",
            "msr cnthctl_el2, {t}",
            "msr cntvoff_el2, xzr",
            "isb",
            t = out(reg) _,
            sctlr = in(reg) 0x30d0_0800u64,
            options(nostack),
        );
    }
}

/// Runs `entry(a0, a1, a2)` at EL1 on this PE until it exits with `HVC`.
///
/// `entry` must end every path with an `HVC #0` exit (see `guest.rs`).
pub fn run_guest(entry: extern "C" fn(u64, u64, u64) -> !, a0: u64, a1: u64, a2: u64) -> GuestExit {
    let cpu = cpu_index();
    // SAFETY: each PE uses only its own guest stack; the guest runs only while this PE waits here.
    let sp = unsafe { (&raw mut GUEST_STACKS.0[cpu]) as usize + GUEST_STACK };
    // SAFETY: `gicv_enter_guest` saves the callee-saved registers and comes
    // back through `gicv_guest_return` with the EL2 stack as it left it, so
    // to the compiler it is an ordinary call that clobbers caller-saved state.
    unsafe { gicv_enter_guest(entry as usize, sp, SPSR_EL1H_MASKED, a0, a1, a2) };
    // SAFETY: slot `cpu` was written by this PE's handler before returning here.
    unsafe { (*EXITS.0.get())[cpu] }
}

fn read_esr_elr_far_el2() -> (u64, u64, u64) {
    let (esr, elr, far): (u64, u64, u64);
    // SAFETY: reading syndrome registers has no side effects.
    unsafe {
        asm!("mrs {}, esr_el2", "mrs {}, elr_el2", "mrs {}, far_el2",
             out(reg) esr, out(reg) elr, out(reg) far, options(nomem, nostack));
    }
    (esr, elr, far)
}

/// Name of an `ESR_ELx.EC` value (Arm ARM D17.2.37).
pub fn exception_class(ec: u64) -> &'static str {
    match ec {
        0x00 => "unknown reason",
        0x01 => "WFI/WFE trapped",
        0x07 => "SVE/SIMD/FP access trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC (AArch64)",
        0x16 => "HVC (AArch64)",
        0x17 => "SMC (AArch64)",
        0x18 => "MSR/MRS/system instruction trapped",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort at the same EL",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort at the same EL",
        0x26 => "SP alignment fault",
        0x2f => "SError",
        0x3c => "BRK (AArch64)",
        _ => "other",
    }
}

/// Prints a `crash` record and ends the run.
pub fn crash(el: u8, kind: &str, esr: u64, elr: u64, far: u64) -> ! {
    let ec = (esr >> 26) & 0x3f;
    let mut l = Line::new();
    l.raw("{").key("crash").raw("{");
    l.num("EL", el as u64).str("kind", kind).num("cpu", cpu_index() as u64);
    l.num("step", super::current_step() as u64);
    l.hex("EC", ec).str("class", exception_class(ec));
    l.hex("ESR", esr).hex("ELR", elr).hex("FAR", far);
    l.raw("}}");
    l.emit_now();
    exit(KernelExit::Crash)
}

/// The EL2 exception handlers (installed through aarch64-rt's vector table).
pub struct Handlers;

impl ExceptionHandlers for Handlers {
    extern "C" fn sync_current(_state: RegisterStateRef) {
        let (esr, elr, far) = read_esr_elr_far_el2();
        crash(2, "synchronous", esr, elr, far);
    }

    extern "C" fn irq_current(mut state: RegisterStateRef) {
        if crate::interp::on_el2_irq() {
            // SAFETY: setting SPSR.I only makes the interrupted bounded wait
            // resume with IRQs masked, which it checks for; nothing else changes.
            unsafe { state.get_mut().spsr |= 1 << 7 };
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
        let ec = (esr >> 26) & 0x3f;
        let exit = if ec == 0x16 {
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
