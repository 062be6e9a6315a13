//! The ops that need the hypervisor's view of the GIC (EL2): List
//! Registers, the virtual interface control registers, guest (EL1) steps
//! and their traps, the maintenance interrupt, the scripted hypervisor loop
//! and vPE residency. The EL2 kernel only; guest mode refuses them (see
//! `hyp_only` in the parent module).

use core::sync::atomic::Ordering;

use gic_case::lr::{Lr, LrState};
use gic_case::op::GuestOp;
use gic_case::regs;
use gic_case::vif::VifReg;
use gic_case::GicVersion;
use heapless::String;

use super::{done, event, kept, named, reg_name, KEEP_NEXT};
use crate::gic;
use crate::guest;
use crate::platform::cpu_index;
use crate::platform::exceptions::{crash, ExitKind};
use crate::platform::out::Line;

/// `lr N = …`.
pub(super) fn lr_write(step: u16, n: u32, lr: Lr) {
    if lr_in_range(step, "lr", n) {
        gic::lr_write(n, lr);
    }
}

/// `lr N = NAME`.
pub(super) fn lr_write_named(step: u16, n: u32, slot: u32) {
    if lr_in_range(step, "lr", n) {
        gic::lr_write_raw(n, named(slot));
    }
}

/// `read lr N` (or `read lr N as NAME`).
pub(super) fn lr_read(step: u16, n: u32) {
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

/// `inject sgi lr N`.
pub(super) fn inject_sgi(step: u16, lr: u32, prio: u8) {
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

/// `read hcr|vmcr|misr|eisr|elrsr|apr|vtr` (or `… as NAME`).
pub(super) fn vif_read(step: u16, r: VifReg) {
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
                        let _ =
                            core::fmt::Write::write_fmt(&mut l, format_args!("\"{:#x}\"", gic::v3::apr_read(group, n)));
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

/// `queue vintid N …`.
pub(super) fn queue(step: u16, vintid: u32, group: u8, prio: u8) {
    if !crate::hyp::enqueue(vintid, group, prio) {
        let mut l = event(step, "queue");
        l.str("error", "queue full");
        done(l);
    }
}

/// `vpe V resident|nonresident`.
pub(super) fn vpe(step: u16, vpe: u16, resident: bool) {
    match gic::its::set_resident(vpe, resident) {
        Err(e) => super::its_error(step, if resident { "vpe resident" } else { "vpe nonresident" }, e),
        Ok(v) if !resident => {
            // PendingLast is defined once Valid was written from 1 to 0
            // (and Dirty reads 0): whether the vPE left pending and
            // enabled vLPIs behind (GICR_VPENDBASER, PendingLast).
            let mut l = event(step, "vpe nonresident");
            l.num("vPE", vpe as u64).num("PendingLast", (v & gic_case::its::GICR_VPENDBASER_PENDING_LAST != 0) as u64);
            done(l);
        }
        Ok(_) => {}
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

pub(super) fn guest_op(g: GuestOp, step: u16) {
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

pub(super) fn wait_maintenance(step: u16, ms: u32) {
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

pub(super) fn serve(step: u16, max: u32) {
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
