//! The case interpreter: executes compiled ops on CPU0, hands `on cpuN`
//! blocks to other PEs, and prints one JSON event per observable result.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use gic_case::lr::{Lr, LrState};
use gic_case::op::{GuestOp, Op, PhysState, MAX_NAMED};
use gic_case::proto::KernelExit;
use gic_case::regs::{self, RegId};
use gic_case::vif::VifReg;
use gic_case::GicVersion;
use heapless::String;

use crate::gic;
use crate::guest;
use crate::platform::exceptions::{crash, ExitKind};
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
        }
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
            let _ = smccc::psci::cpu_off::<smccc::Smc>();
            loop {
                platform::spin_hint();
            }
        }
        seen = mb.posted.load(Ordering::Acquire);
        run_range(mb.start.load(Ordering::Relaxed), mb.len.load(Ordering::Relaxed));
        mb.done.store(seen, Ordering::Release);
    }
}

fn lr_in_range(step: u16, op: &str, n: u32) -> bool {
    if n < gic::lr_count() {
        return true;
    }
    KEEP_NEXT[cpu_index()].store(0, Ordering::Relaxed);
    let mut l = event(step, op);
    l.num("LR", n as u64).str("error", "List Register not implemented (ListRegs in the header)");
    done(l);
    false
}

fn lr_fields(l: &mut Line, lr: &Lr) {
    l.str("State", lr.state.name());
    l.num("HW", lr.hw as u64);
    l.num("Group", lr.group as u64);
    l.num("Priority", lr.priority as u64);
    l.num("vINTID", lr.vintid as u64);
    if lr.hw {
        l.num("pINTID", lr.pintid as u64);
    } else {
        l.num("EOI", lr.eoi as u64);
        if gic::version() == GicVersion::V2 && lr.vintid < 16 {
            l.num("CPUID", lr.cpuid as u64);
        }
    }
}

fn lr_list(l: &mut Line, key: &str, bits: u64) {
    l.key(key).raw("[");
    let mut first = true;
    for n in 0..64 {
        if bits & (1 << n) != 0 {
            if !first {
                l.raw(",");
            }
            first = false;
            let _ = core::fmt::Write::write_fmt(l, format_args!("{}", n));
        }
    }
    l.raw("]");
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
}

fn exec(op: Op, step: u16) {
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
        Op::LrWriteNamed(n, slot) => {
            if lr_in_range(step, "lr", n) {
                gic::lr_write_raw(n, named(slot));
            }
        }
        Op::VifWriteNamed(r, slot) => gic::vif_write(r, named(slot)),
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
        Op::Uart(on) => platform::uart::tx_interrupt_output(on),
        Op::InjectSgi { lr, prio } => {
            if lr_in_range(step, "inject sgi", lr) {
                let mut l = event(step, "inject sgi");
                match crate::traps::take_sgi() {
                    Some((vintid, source)) => {
                        let v2 = gic::version() == GicVersion::V2;
                        gic::lr_write(
                            lr,
                            Lr {
                                state: LrState::Pending,
                                group: 1,
                                priority: prio,
                                vintid,
                                cpuid: if v2 { source as u8 } else { 0 },
                                ..Lr::EMPTY
                            },
                        );
                        l.num("LR", lr as u64).num("vINTID", vintid as u64).num("source", source as u64);
                    }
                    None => {
                        l.str("result", "nothing posted");
                    }
                }
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
        Op::LrWrite(n, lr) => {
            if lr_in_range(step, "lr", n) {
                gic::lr_write(n, lr);
            }
        }
        Op::LrRead(n) => {
            if lr_in_range(step, "read lr", n) {
                if kept(gic::lr_read_raw(n)) {
                    return;
                }
                let lr = gic::lr_read(n);
                let mut l = event(step, "read lr");
                l.num("LR", n as u64);
                lr_fields(&mut l, &lr);
                l.hex("RES0", gic::lr_read_raw(n) & gic::lr_res0_mask(lr.hw));
                done(l);
            }
        }
        Op::VifWrite(r, v) => gic::vif_write(r, v),
        Op::VifRead(r) => {
            let v = gic::vif_read(r);
            if kept(v) {
                return;
            }
            let mut name: String<16> = String::new();
            let _ = name.push_str("read ");
            let _ = name.push_str(r.name());
            let mut l = event(step, &name);
            match r {
                VifReg::Eisr | VifReg::Elrsr => lr_list(&mut l, "LRs", v),
                VifReg::Apr => {
                    if gic::version() == GicVersion::V2 {
                        l.hex("GICH_APR", v);
                    } else {
                        // Every implemented register, all 64 bits (RES0 included).
                        for (group, key) in [(0, "ICH_AP0R<n>_EL2"), (1, "ICH_AP1R<n>_EL2")] {
                            l.key(key).raw("[");
                            for n in 0..gic::v3::apr_count() {
                                if n > 0 {
                                    l.raw(",");
                                }
                                let _ = core::fmt::Write::write_fmt(
                                    &mut l,
                                    format_args!("\"{:#x}\"", gic::v3::apr_read(group, n)),
                                );
                            }
                            l.raw("]");
                        }
                    }
                }
                _ => {
                    for f in r.fields() {
                        l.num(f.name, f.get(v));
                    }
                }
            }
            done(l);
        }
        Op::RegRead(id) => {
            // SAFETY: the runner only compiles reads of registers that exist
            // on the target GIC and belong to the hypervisor side.
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
        Op::Guest(g) => guest_op(g, step),
        Op::WaitMaintenance(ms) => wait_maintenance(step, ms),
        Op::Timer(kind, on) => platform::timer::timer_output(kind, on),
        Op::Queue(vintid, group, prio) => {
            if !crate::hyp::enqueue(vintid, group, prio) {
                let mut l = event(step, "queue");
                l.str("error", "queue full");
                done(l);
            }
        }
        Op::Serve(max) => serve(step, max),
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
        Op::Vpe { vpe, resident } => match gic::its::set_resident(vpe, resident) {
            Err(e) => its_error(step, if resident { "vpe resident" } else { "vpe nonresident" }, e),
            Ok(v) if !resident => {
                // PendingLast is defined once Valid was written from 1 to 0
                // (and Dirty reads 0): whether the vPE left pending and
                // enabled vLPIs behind (GICR_VPENDBASER, PendingLast).
                let mut l = event(step, "vpe nonresident");
                l.num("vPE", vpe as u64)
                    .num("PendingLast", (v & gic_case::its::GICR_VPENDBASER_PENDING_LAST != 0) as u64);
                done(l);
            }
            Ok(_) => {}
        },
        Op::OnCpu { .. } => fatal(KernelExit::BadCase, "nested on-cpu block"),
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

/// Prints one `trap` event per guest access that trapped to EL2 during a
/// guest step: the register (its `ICC_*` encoding name), direction, the
/// value written, and for an emulated `ICC_SGI1R_EL1` the vCPUs it posted to.
fn trap_events(step: u16) {
    let lost = crate::traps::drain(|t| {
        let mut l = event(step, "trap");
        l.hex("EC", 0x18);
        let (op0, op1, crn, crm, op2) = t.encoding();
        match regs::icc_name_of_encoding(op0, op1, crn, crm, op2) {
            Some(name) => l.str("reg", name),
            None => {
                let mut n: String<24> = String::new();
                let _ = core::fmt::Write::write_fmt(&mut n, format_args!("S{op0}_{op1}_C{crn}_C{crm}_{op2}"));
                l.str("reg", &n)
            }
        };
        if t.is_read() {
            l.str("dir", "read");
        } else {
            l.str("dir", "write").hex("value", t.value);
        }
        if t.posted != 0 {
            lr_list(&mut l, "posted", t.posted as u64);
        }
        done(l);
    });
    if lost != 0 {
        let mut l = event(step, "trap");
        l.str("error", "more traps than the kernel records in one guest step").num("lost", lost as u64);
        done(l);
    }
}

fn guest_op(g: GuestOp, step: u16) {
    let ex = guest::run(&g);
    trap_events(step);
    match ex.kind {
        ExitKind::Done | ExitKind::Irq | ExitKind::Fiq => {}
        ExitKind::Sync => crash(1, "synchronous", ex.values[0], ex.values[1], ex.values[2]),
        ExitKind::SError => crash(1, "SError", ex.values[0], ex.values[1], ex.values[2]),
        ExitKind::Trap => {
            crash(1, "trapped to EL2 (not an MSR/MRS the kernel emulates)", ex.values[0], ex.values[1], ex.values[2])
        }
    }
    let v = ex.values[0];
    let v2 = gic::version() == GicVersion::V2;
    let intid_event = |name: &str| {
        let mut l = event(step, name);
        if v2 {
            l.num("INTID", v & 0x3ff);
            if v & 0x3ff < 16 {
                l.num("CPUID", (v >> 10) & 7);
            }
        } else {
            l.num("INTID", v);
        }
        done(l);
    };
    match g {
        GuestOp::Ack(_) => intid_event("guest ack"),
        GuestOp::ReadHppir(_) => intid_event("guest read hppir"),
        GuestOp::ReadRpr => {
            let mut l = event(step, "guest read rpr");
            l.num("Priority", v & 0xff);
            done(l);
        }
        GuestOp::ReadPmr => {
            let mut l = event(step, "guest read pmr");
            l.num("Priority", v & 0xff);
            done(l);
        }
        GuestOp::WaitVirq(_) => {
            let mut l = event(step, "guest wait virq");
            let r = match ex.kind {
                ExitKind::Irq => "IRQ",
                ExitKind::Fiq => "FIQ",
                _ => "timeout",
            };
            l.str("result", r);
            done(l);
        }
        GuestOp::ReadReg(id) => {
            let mut l = event(step, "guest read");
            reg_name(&mut l, id);
            l.hex("value", v);
            done(l);
        }
        GuestOp::Eoi(..)
        | GuestOp::Dir(_)
        | GuestOp::SetPmr(_)
        | GuestOp::SetBpr(..)
        | GuestOp::SetEoiMode(_)
        | GuestOp::SetGroupEnable(..)
        | GuestOp::WriteReg(..) => {}
    }
}

fn wait_maintenance(step: u16, ms: u32) {
    let mut l = event(step, "wait maintenance");
    match crate::dispatch::take_maintenance(ms) {
        Some((intid, misr)) => {
            l.str("result", "taken").num("INTID", intid as u64);
            l.key("MISR").raw("{");
            for f in VifReg::Misr.fields() {
                l.num(f.name, f.get(misr));
            }
            l.raw("}");
        }
        None => {
            l.str("result", "timeout");
        }
    }
    done(l);
}

fn serve(step: u16, max: u32) {
    let r = crate::hyp::serve(max, |intid| {
        let mut l = event(step, "serve");
        l.num("INTID", intid as u64);
        done(l);
    });
    let mut l = event(step, "serve done");
    l.num("maintenance", r.maintenance as u64).num("queued", crate::hyp::queued() as u64);
    l.str("result", if r.bounded { "bound reached" } else { "all delivered" });
    done(l);
}
