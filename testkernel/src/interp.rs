//! The case interpreter: executes compiled ops on CPU0, hands `on cpuN`
//! blocks to other PEs, and prints one JSON event per observable result.
//!
//! The ops that need the hypervisor's view (List Registers, the virtual
//! interface, guest steps, …) live in `hyp_view`, which only the EL2
//! kernel has. Guest mode, at EL1, runs every physical op with the same
//! drivers and refuses the others (`check_view`, `hyp_only`): an
//! `{"error":"step N: … needs the hypervisor (EL2) view"}` record and
//! `KernelExit::BadCase`.

#[cfg(not(feature = "guest"))]
mod hyp_view;

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

#[cfg(feature = "guest")]
use gic_case::op::{GuestOp, TimerKind};
use gic_case::op::{Op, PhysState, MAX_NAMED};
use gic_case::proto::KernelExit;
use gic_case::regs::{self, RegId};
#[cfg(feature = "guest")]
use gic_case::regs::{Frame, SysReg};

use crate::gic;
use crate::platform::out::{exit, Line, OUTBOXES};
use crate::platform::timer::wait_until;
use crate::platform::{self, cpu_index, MAX_CPUS};

/// How long CPU0 waits for another PE to run an `on cpuN` block.
const BLOCK_TIMEOUT_MS: u32 = 2000;
/// How long an idle secondary PE waits for work before powering off.
const IDLE_TIMEOUT_MS: u32 = 60_000;

/// Work handed to a secondary PE: a range of op words and a sequence number.
struct Mailbox {
    start: AtomicUsize,
    len: AtomicUsize,
    posted: AtomicU32,
    done: AtomicU32,
}

static MAILBOXES: [Mailbox; MAX_CPUS] = [const {
    Mailbox { start: AtomicUsize::new(0), len: AtomicUsize::new(0), posted: AtomicU32::new(0), done: AtomicU32::new(0) }
}; MAX_CPUS];

/// Set by a secondary PE once its GIC and EL1 state are initialised.
pub static READY: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Named values (`read … as NAME`), shared by all PEs: a value one PE kept
/// is what another PE's later write uses (a vCPU's state moved between PEs).
static NAMED: [AtomicU64; MAX_NAMED] = [const { AtomicU64::new(0) }; MAX_NAMED];

/// Sequence number of each PE's concurrent block that no `join` waited for yet (0: none).
static UNJOINED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Per PE: 1 + the slot the next read op keeps its value in (0: none), set by [`Op::Keep`].
static KEEP_NEXT: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Hands a read op's raw value over: kept under a name if the previous op
/// was `Keep` (then the read prints nothing: returns false), else printed.
fn kept(v: u64) -> bool {
    let k = KEEP_NEXT[cpu_index()].swap(0, Ordering::Relaxed);
    if k == 0 {
        return false;
    }
    NAMED[(k - 1) as usize % MAX_NAMED].store(v, Ordering::Release);
    true
}

fn named(slot: u32) -> u64 {
    NAMED[slot as usize % MAX_NAMED].load(Ordering::Acquire)
}

/// The case's op words, set once by CPU0 before any PE runs ops.
static CASE: AtomicUsize = AtomicUsize::new(0);
static CASE_LEN: AtomicUsize = AtomicUsize::new(0);

fn words() -> &'static [u32] {
    let p = CASE.load(Ordering::Acquire) as *const u32;
    let n = CASE_LEN.load(Ordering::Acquire);
    // SAFETY: set by `run` from the validated case image, which the runner
    // loaded into RAM that nothing else uses and which is never written.
    unsafe { core::slice::from_raw_parts(p, n) }
}

/// Starts an event line: `{"step":N,"op":"…"` (plus `"cpu"` off CPU0).
fn event(step: u16, op: &str) -> Line {
    let mut l = Line::new();
    l.raw("{").num("step", step as u64);
    let cpu = cpu_index();
    if cpu != 0 {
        l.num("cpu", cpu as u64);
    }
    l.str("op", op);
    l
}

fn done(mut l: Line) {
    l.raw("}");
    l.emit();
}

/// Prints a record that ends the run because the case cannot go on.
pub fn fatal(kind: KernelExit, msg: &str) -> ! {
    let mut l = Line::new();
    l.raw("{").str("error", msg).raw("}");
    l.emit_now();
    exit(kind)
}

/// Runs the whole case on CPU0.
pub fn run(ops: &'static [u32]) {
    CASE.store(ops.as_ptr() as usize, Ordering::Release);
    CASE_LEN.store(ops.len(), Ordering::Release);
    run_range(0, ops.len());
}

fn decode_at(i: usize) -> (Op, u16, usize) {
    match Op::decode(&words()[i..]) {
        Ok(x) => x,
        Err(_) => fatal(KernelExit::BadCase, "undecodable op in the compiled case (runner/kernel format mismatch?)"),
    }
}

fn run_on(cpu: usize, step: u16, start: usize, len: usize, concurrent: bool) {
    if cpu == 0 {
        run_range(start, len);
        return;
    }
    if cpu >= MAX_CPUS || !READY[cpu].load(Ordering::Acquire) {
        let mut l = event(step, "on cpu");
        l.num("target", cpu as u64).str("error", "PE not running (smp too small?)");
        done(l);
        return;
    }
    let mb = &MAILBOXES[cpu];
    mb.start.store(start, Ordering::Relaxed);
    mb.len.store(len, Ordering::Relaxed);
    let seq = mb.posted.load(Ordering::Relaxed) + 1;
    mb.posted.store(seq, Ordering::Release);
    if concurrent {
        UNJOINED[cpu].store(seq, Ordering::Relaxed);
    } else {
        wait_block(cpu, step, seq, "on cpu");
    }
}

/// Waits, bounded, for PE `cpu` to finish block `seq`, then prints its
/// events. A PE that does not finish ends the case with an event naming the
/// PE and the step it was executing (the runner reports a TIMEOUT).
fn wait_block(cpu: usize, step: u16, seq: u32, op: &str) {
    let mb = &MAILBOXES[cpu];
    let ok = wait_until(BLOCK_TIMEOUT_MS, || mb.done.load(Ordering::Acquire) == seq);
    OUTBOXES[cpu].flush();
    if !ok {
        let mut l = event(step, op);
        l.num("target", cpu as u64).str("result", "timeout").num("at_step", platform::step_of(cpu) as u64);
        done(l);
        fatal(KernelExit::Done, "a secondary PE did not finish its block within 2 s; stopping the case");
    }
}

fn join(cpu: usize, step: u16) {
    let seq = UNJOINED.get(cpu).map_or(0, |u| u.swap(0, Ordering::Relaxed));
    if seq == 0 {
        let mut l = event(step, "join");
        l.num("target", cpu as u64).str("error", "no concurrent block runs on this PE");
        done(l);
        return;
    }
    wait_block(cpu, step, seq, "join");
}

/// Executes the ops in words `start..start + len`; an `on cpuN` block (only
/// at top level, which the parser guarantees) is handed to its PE.
fn run_range(start: usize, len: usize) {
    let mut i = start;
    while i < start + len {
        let (op, step, n) = decode_at(i);
        i += n;
        if let Op::OnCpu { cpu, count, concurrent } = op {
            let body = i;
            for _ in 0..count {
                i += decode_at(i).2;
            }
            platform::set_step(step);
            run_on(cpu as usize, step, body, i - body, concurrent);
        } else {
            platform::set_step(step);
            exec(op, step);
            report_abort(step);
        }
    }
}

/// How long a migration point waits for the runner to resume the run.
const RESUME_TIMEOUT_MS: u32 = 60_000;

/// Migration point `n` ([`Op::Checkpoint`], CPU0 only, between two top-level
/// steps): prints `{"checkpoint":n}` (no event) and polls, bounded, for the
/// host file `gicv-resume-<n>` with semihosting `SYS_OPEN`, which the runner
/// creates once it has saved this machine and restored it in a fresh QEMU.
/// The poll runs on in the restored machine; the file's appearance ends it.
fn checkpoint(n: u32, step: u16) {
    if cpu_index() != 0 {
        let mut l = event(step, "checkpoint");
        l.str("error", "a migration point runs on cpu0 only");
        done(l);
        return;
    }
    let mut l = Line::new();
    l.raw("{").num("checkpoint", n as u64).raw("}");
    l.emit();
    let mut name: heapless::String<32> = heapless::String::new();
    let _ = core::fmt::Write::write_fmt(&mut name, format_args!("gicv-resume-{n}\0"));
    let Ok(path) = core::ffi::CStr::from_bytes_with_nul(name.as_bytes()) else {
        fatal(KernelExit::BadCase, "migration point name");
    };
    let open = || platform::out::host_file_exists(path);
    if !wait_until(RESUME_TIMEOUT_MS, open) {
        fatal(
            KernelExit::Done,
            "a migration point was not resumed within 60 s (no gicv-resume file); stopping the case",
        );
    }
}

/// Guest mode: a register access of the step that the hypervisor answered
/// with a data abort (recorded and skipped by the exception handler, see
/// `platform::exceptions::recover_mmio_abort`) becomes an event after the
/// op's own: `{"step":N,"op":"data abort","address":"0x…","ESR":"0x…"}`.
/// No golden has one (the spec's registers do not abort), so a run that
/// shows one differs from its golden by an unexpected event.
fn report_abort(step: u16) {
    if let Some((esr, addr)) = platform::exceptions::take_mmio_abort() {
        let mut l = event(step, "data abort");
        l.hex("address", addr as u64).hex("ESR", esr);
        done(l);
    }
}

/// Entry of a secondary PE: initialise, then run posted blocks until idle for too long.
pub fn secondary_main(cpu: usize) -> ! {
    crate::init_this_pe();
    READY[cpu].store(true, Ordering::Release);
    let mb = &MAILBOXES[cpu];
    let mut seen = 0;
    loop {
        if !wait_until(IDLE_TIMEOUT_MS, || mb.posted.load(Ordering::Acquire) != seen) {
            let _ = platform::psci::cpu_off();
            loop {
                platform::spin_hint();
            }
        }
        seen = mb.posted.load(Ordering::Acquire);
        run_range(mb.start.load(Ordering::Relaxed), mb.len.load(Ordering::Relaxed));
        mb.done.store(seen, Ordering::Release);
    }
}

/// Appends `"reg":"<spec name>"` (names are plain ASCII, nothing to escape).
fn reg_name(l: &mut Line, id: RegId) {
    l.key("reg").raw("\"");
    match regs::name_of(id) {
        Some((name, None)) => {
            l.raw(name);
        }
        Some((name, Some(n))) => {
            l.raw(name);
            let _ = core::fmt::Write::write_fmt(l, format_args!("{}", n));
        }
        None => {
            l.raw("?");
        }
    }
    l.raw("\"");
    match regs::part_of(id) {
        Some(regs::Part::Byte(k)) => {
            l.num("byte", k as u64);
        }
        Some(regs::Part::Low) => {
            l.str("half", "low");
        }
        Some(regs::Part::High) => {
            l.str("half", "high");
        }
        None => {}
    }
}

fn exec(op: Op, step: u16) {
    #[cfg(feature = "guest")]
    if let Some(what) = hyp_only(&op) {
        // Refused before the case started (`check_view`); never executed.
        refuse(step, what);
    }
    match op {
        Op::PhysPend(i) => gic::phys_pend(i),
        Op::PhysUnpend(i) => gic::phys_unpend(i),
        Op::PhysAck(g) => phys_ack_event(step, gic::phys_ack(g)),
        Op::PhysAckWithin(g, ms) => {
            // Bounded: the interrupt may take time to reach the CPU interface
            // (an LPI after SYNC is only guaranteed to arrive eventually).
            wait_until(ms, || !(1020..=1023).contains(&gic::phys_hppir(g)));
            phys_ack_event(step, gic::phys_ack(g));
        }
        Op::Sgi { intid, targets, group } => gic::sgi(intid, targets, group),
        Op::PhysRoute(intid, cpu) => gic::route(intid, cpu),
        Op::PhysReadOn(i, s, cpu) => {
            let (name, key) = phys_state_names(s);
            let mut l = event(step, name);
            l.num("INTID", i as u64).num("of", cpu as u64);
            match gic::phys_state_on(i, s, cpu as usize) {
                Some(v) => l.bool(key, v),
                None => l.str("error", "that PE's Redistributor is not known (GICv2, or the PE is not up)"),
            };
            done(l);
        }
        Op::Keep(slot) => KEEP_NEXT[cpu_index()].store(slot + 1, Ordering::Relaxed),
        Op::RegWriteNamed(id, slot) => {
            // SAFETY: as RegWrite; the value is one the case read earlier.
            unsafe { gic::reg_write(id, named(slot)) };
        }
        Op::Compare(a, b) => {
            let mut l = event(step, "compare");
            l.bool("equal", named(a) == named(b));
            done(l);
        }
        Op::Join(cpu) => join(cpu as usize, step),
        Op::Checkpoint(n) => checkpoint(n, step),
        Op::Uart(on) => {
            if !platform::uart::tx_interrupt_output(on) {
                let mut l = event(step, if on { "uart irq on" } else { "uart irq off" });
                l.str("error", "no PL011 UART (none in the device tree)");
                done(l);
            }
        }
        Op::PhysEoi(i, g) => gic::phys_eoi(i, g),
        Op::PhysDir(i) => gic::phys_dir(i),
        Op::PhysPrio(i, p) => gic::phys_prio(i, p as u8),
        Op::PhysEnable(i, on) => gic::phys_enable(i, on),
        Op::PhysRead(i, s) => {
            let v = gic::phys_state(i, s);
            let (name, key) = phys_state_names(s);
            let mut l = event(step, name);
            l.num("INTID", i as u64).bool(key, v);
            done(l);
        }
        Op::RegRead(id) => {
            // SAFETY: the runner only compiles reads of registers that exist
            // on the target GIC and belong to the hypervisor side; guest mode
            // refuses those that need EL2 (`hyp_only`).
            let v = unsafe { gic::reg_read(id) };
            if kept(v.unwrap_or(0)) {
                return;
            }
            let mut l = event(step, "read");
            reg_name(&mut l, id);
            match v {
                Some(v) => l.hex("value", v),
                None => l.str("error", "register frame absent on this GIC"),
            };
            done(l);
        }
        Op::RegWrite(id, v) => {
            // SAFETY: as for RegRead; the write is what the case says.
            unsafe { gic::reg_write(id, v) };
        }
        Op::RegReadOn(id, cpu) => {
            // SAFETY: the runner compiles these for GICR_* registers only,
            // which exist on GICv3/v4, of a PE the case has.
            let v = unsafe { gic::reg_read_on(id, cpu) };
            if kept(v.unwrap_or(0)) {
                return;
            }
            let mut l = event(step, "read");
            reg_name(&mut l, id);
            l.num("of", cpu as u64);
            match v {
                Some(v) => l.hex("value", v),
                None => l.str("error", "no such Redistributor"),
            };
            done(l);
        }
        Op::RegWriteOn(id, v, cpu) => {
            // SAFETY: as for RegReadOn; the write is what the case says.
            if unsafe { gic::reg_write_on(id, v, cpu) }.is_none() {
                let mut l = event(step, "write");
                reg_name(&mut l, id);
                l.num("of", cpu as u64).str("error", "no such Redistributor");
                done(l);
            }
        }
        Op::Timer(kind, on) => platform::timer::timer_output(kind, on),
        Op::WaitIrq(ms) => {
            let mut l = event(step, "wait irq");
            match crate::dispatch::take(ms, false) {
                Some(t) => l.str("result", "taken").num("INTID", t.intid as u64),
                None => l.str("result", "timeout"),
            };
            done(l);
        }
        Op::Its(its) => {
            if let Err(e) = gic::its::exec(its, step) {
                its_error(step, its.name(), e);
            }
        }
        Op::LpiConfig { intid, prio, enable, virtual_ } => {
            if let Err(e) = gic::its::config(intid, prio, enable, virtual_) {
                its_error(step, if virtual_ { "vlpi" } else { "lpi" }, e);
            }
        }
        Op::OnCpu { .. } => fatal(KernelExit::BadCase, "nested on-cpu block"),
        #[cfg(not(feature = "guest"))]
        Op::LrWriteNamed(n, slot) => hyp_view::lr_write_named(step, n, slot),
        #[cfg(not(feature = "guest"))]
        Op::VifWriteNamed(r, slot) => gic::vif_write(r, named(slot)),
        #[cfg(not(feature = "guest"))]
        Op::InjectSgi { lr, prio } => hyp_view::inject_sgi(step, lr, prio),
        #[cfg(not(feature = "guest"))]
        Op::LrWrite(n, lr) => hyp_view::lr_write(step, n, lr),
        #[cfg(not(feature = "guest"))]
        Op::LrRead(n) => hyp_view::lr_read(step, n),
        #[cfg(not(feature = "guest"))]
        Op::VifWrite(r, v) => gic::vif_write(r, v),
        #[cfg(not(feature = "guest"))]
        Op::VifRead(r) => hyp_view::vif_read(step, r),
        #[cfg(not(feature = "guest"))]
        Op::Guest(g) => hyp_view::guest_op(g, step),
        #[cfg(not(feature = "guest"))]
        Op::WaitMaintenance(ms) => hyp_view::wait_maintenance(step, ms),
        #[cfg(not(feature = "guest"))]
        Op::Queue(vintid, group, prio) => hyp_view::queue(step, vintid, group, prio),
        #[cfg(not(feature = "guest"))]
        Op::Serve(max) => hyp_view::serve(step, max),
        #[cfg(not(feature = "guest"))]
        Op::Vpe { vpe, resident } => hyp_view::vpe(step, vpe, resident),
        #[cfg(feature = "guest")]
        Op::LrWriteNamed(..)
        | Op::VifWriteNamed(..)
        | Op::InjectSgi { .. }
        | Op::LrWrite(..)
        | Op::LrRead(_)
        | Op::VifWrite(..)
        | Op::VifRead(_)
        | Op::Guest(_)
        | Op::WaitMaintenance(_)
        | Op::Queue(..)
        | Op::Serve(_)
        | Op::Vpe { .. } => refuse(step, hyp_only(&op).unwrap_or(NeedsEl2::Statement("this statement"))),
    }
}

/// Reports an ITS or vPE operation that could not complete, with what the
/// GIC showed (the command and `GITS_CREADR` for a stalled queue).
fn its_error(step: u16, op: &str, e: gic::its::ItsError) {
    use gic::its::ItsError;
    let mut l = event(step, op);
    match e {
        ItsError::Missing(what) => l.str("error", "not implemented by this GIC").str("missing", what),
        ItsError::Stalled { command, creadr } => {
            l.str("error", "ITS command queue stalled or did not advance within 100 ms");
            l.str("command", command).hex("GITS_CREADR", creadr)
        }
        ItsError::StalledEarlier(at) => {
            l.str("error", "not issued: the ITS command queue stalled earlier").num("stalled_step", at as u64)
        }
        ItsError::NotSettled(reg, v) => l.str("error", "register did not settle within 100 ms").hex(reg, v),
        ItsError::OutOfRange(what) => l.str("error", "outside the kernel's ITS tables").str("what", what),
        ItsError::AlreadyResident(v) => {
            l.str("error", "a vPE is already resident on this Redistributor").hex("GICR_VPENDBASER", v)
        }
    };
    done(l);
}

/// The event name and field of a physical state read.
fn phys_state_names(s: PhysState) -> (&'static str, &'static str) {
    match s {
        PhysState::Pending => ("read phys pending", "pending"),
        PhysState::Active => ("read phys active", "active"),
    }
}

/// Prints a `phys ack` event: the INTID, and on GICv2 the source CPUID of an SGI.
fn phys_ack_event(step: u16, intid: u32) {
    let mut l = event(step, "phys ack");
    l.num("INTID", intid as u64);
    if let Some(src) = gic::last_ack_source().filter(|_| intid < 16) {
        l.num("CPUID", src as u64);
    }
    done(l);
}

/// Why guest mode refuses an op (see [`hyp_only`]).
#[cfg(feature = "guest")]
#[derive(Clone, Copy)]
enum NeedsEl2 {
    /// A statement that exists only with the hypervisor's view.
    Statement(&'static str),
    /// `read REG` of an EL2 or virtual interface register.
    Read(RegId),
    /// `write REG` of one.
    Write(RegId),
}

/// What a guest-mode kernel cannot do: the op, when it needs the
/// hypervisor's view of the GIC (EL2), else `None`. At EL1 with no EL2
/// there are no List Registers or virtual interface (`ICH_*_EL2`,
/// `GICH_*`, `GICV_*`), no guest below to run, no maintenance interrupt, no
/// EL2 timer, and no vPE to make resident (GICv4's virtual ITS commands and
/// vLPI tables are the hypervisor's). The physical CPU interface registers
/// a case may name (`ICC_PMR_EL1`, `ICC_CTLR_EL1`, `ICC_RPR_EL1`,
/// `ICC_HPPIR1_EL1`, `ICC_IGRPEN1_EL1`, `ICC_SGI0R_EL1`, `ICC_SGI1R_EL1`,
/// `ICC_ASGI1R_EL1`) are EL1 registers, accessible at EL1 once
/// `ICC_SRE_EL1.SRE` is 1 (IHI 0069H 12.2, no EL2 or EL3 implemented);
/// `ICC_SRE_EL2` is not. The distributor, redistributor, GICC and ITS
/// frames are memory-mapped and the same at EL1.
#[cfg(feature = "guest")]
fn hyp_only(op: &Op) -> Option<NeedsEl2> {
    let el2_reg = |id: &RegId| match id {
        RegId::Sys(s) => !matches!(
            s,
            SysReg::IccPmrEl1Phys
                | SysReg::IccCtlrEl1Phys
                | SysReg::IccRprEl1Phys
                | SysReg::IccHppir1El1Phys
                | SysReg::IccIgrpen1El1Phys
                | SysReg::IccIgrpen0El1Phys
                | SysReg::IccHppir0El1Phys
                | SysReg::IccBpr0El1Phys
                | SysReg::IccBpr1El1Phys
                | SysReg::IccAp0r0El1Phys
                | SysReg::IccAp1r0El1Phys
                | SysReg::IccSgi1rEl1Phys
                | SysReg::IccAsgi1rEl1Phys
                | SysReg::IccSgi0rEl1Phys
        ),
        RegId::Mmio { frame, .. } => matches!(frame, Frame::Gich | Frame::Gicv),
    };
    let what = match op {
        Op::LrWrite(..) | Op::LrWriteNamed(..) => "lr (a List Register write)",
        Op::LrRead(_) => "read lr (a List Register)",
        Op::VifWrite(..) | Op::VifWriteNamed(..) => "hcr/vmcr/apr (a virtual interface control register write)",
        Op::VifRead(_) => "read hcr/vmcr/misr/eisr/elrsr/apr/vtr (a virtual interface control register)",
        Op::InjectSgi { .. } => "inject sgi (a List Register write)",
        Op::Guest(g) => guest_statement(g),
        Op::WaitMaintenance(_) => "wait maintenance (the maintenance interrupt)",
        Op::Queue(..) => "queue (the hypervisor's software queue)",
        Op::Serve(_) => "serve (the scripted hypervisor loop)",
        Op::Vpe { resident: true, .. } => "vpe resident (a vPE on GICR_VPENDBASER)",
        Op::Vpe { resident: false, .. } => "vpe nonresident (a vPE on GICR_VPENDBASER)",
        Op::LpiConfig { virtual_: true, .. } => "vlpi (the virtual LPI configuration table)",
        Op::Its(its) if its.is_virtual() => its.name(),
        Op::Timer(TimerKind::Hyp, _) => "timer hyp (the EL2 physical timer)",
        Op::RegRead(id) if el2_reg(id) => return Some(NeedsEl2::Read(*id)),
        Op::RegWrite(id, _) | Op::RegWriteNamed(id, _) if el2_reg(id) => return Some(NeedsEl2::Write(*id)),
        _ => return None,
    };
    Some(NeedsEl2::Statement(what))
}

/// The case statement of a guest (EL1 vCPU) op, for [`hyp_only`].
#[cfg(feature = "guest")]
fn guest_statement(g: &GuestOp) -> &'static str {
    match g {
        GuestOp::Ack(_) => "guest ack (the virtual CPU interface)",
        GuestOp::Eoi(..) => "guest eoi (the virtual CPU interface)",
        GuestOp::Dir(_) => "guest dir (the virtual CPU interface)",
        GuestOp::ReadRpr => "guest read rpr (the virtual CPU interface)",
        GuestOp::ReadHppir(_) => "guest read hppir (the virtual CPU interface)",
        GuestOp::SetPmr(_) => "guest pmr (the virtual CPU interface)",
        GuestOp::ReadPmr => "guest read pmr (the virtual CPU interface)",
        GuestOp::SetBpr(..) => "guest bpr (the virtual CPU interface)",
        GuestOp::SetEoiMode(_) => "guest eoimode (the virtual CPU interface)",
        GuestOp::SetGroupEnable(..) => "guest enable/disable (the virtual CPU interface)",
        GuestOp::WaitVirq(_) => "guest wait virq (a virtual interrupt)",
        GuestOp::ReadReg(_) => "guest read (the virtual CPU interface)",
        GuestOp::WriteReg(..) => "guest write (the virtual CPU interface)",
    }
}

/// Ends the run: step `step` needs the hypervisor's view, for `why`.
#[cfg(feature = "guest")]
fn refuse(step: u16, why: NeedsEl2) -> ! {
    use core::fmt::Write;
    let mut msg = Line::new();
    let _ = write!(msg, "step {step}: ");
    let _ = match why {
        NeedsEl2::Statement(what) => msg.write_str(what),
        NeedsEl2::Read(id) | NeedsEl2::Write(id) => {
            let verb = if matches!(why, NeedsEl2::Read(_)) { "read" } else { "write" };
            match regs::name_of(id) {
                Some((name, None)) => write!(msg, "{verb} {name}"),
                Some((name, Some(n))) => write!(msg, "{verb} {name}{n}"),
                None => write!(msg, "{verb} of an unnamed register"),
            }
        }
    };
    let _ = msg.write_str(" needs the hypervisor (EL2) view");
    fatal(KernelExit::BadCase, msg.as_str())
}

/// Guest mode's check of a whole case before anything runs: the first op
/// (in word order, `on cpuN` blocks included) that needs the hypervisor's
/// view ends the run through [`refuse`]; undecodable words end it as
/// `run` would.
#[cfg(feature = "guest")]
pub fn check_view(ops: &'static [u32]) {
    let mut i = 0;
    while i < ops.len() {
        let Ok((op, step, n)) = Op::decode(&ops[i..]) else {
            fatal(KernelExit::BadCase, "undecodable op in the compiled case (runner/kernel format mismatch?)");
        };
        if let Some(what) = hyp_only(&op) {
            refuse(step, what);
        }
        i += n;
    }
}
