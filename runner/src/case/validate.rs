//! Checks of a parsed case that need all of it: every PE a statement
//! names exists (`smp:`); a guest-view case uses only what a VM has.

use super::*;

pub(super) fn check_cpus(file: &Path, stmts: &[Stmt], smp: u32) -> Result<(), CaseError> {
    for s in stmts {
        if let StmtKind::Op(op) = &s.kind {
            let mut named = its::cpus_named(op).into_iter().map(u32::from).chain(crosspe::cpus_named(op));
            if let Some(cpu) = named.find(|c| *c >= smp) {
                return Err(CaseError {
                    file: file.to_path_buf(),
                    line: s.line,
                    col: 1,
                    msg: format!("cpu{cpu} does not exist: the case says `smp: {smp}` (PEs cpu0..cpu{})", smp - 1),
                });
            }
        }
        if let StmtKind::OnCpu { body, .. } = &s.kind {
            check_cpus(file, body, smp)?;
        }
        if let StmtKind::Reg { of: Some((cpu, col)), .. } = &s.kind {
            if *cpu >= smp {
                return Err(CaseError {
                    file: file.to_path_buf(),
                    line: s.line,
                    col: *col,
                    msg: format!("cpu{cpu} does not exist: the case says `smp: {smp}` (PEs cpu0..cpu{})", smp - 1),
                });
            }
        }
        if let StmtKind::OnCpu { cpu, col, .. } = &s.kind {
            if *cpu >= smp {
                return Err(CaseError {
                    file: file.to_path_buf(),
                    line: s.line,
                    col: *col,
                    msg: format!("cpu{cpu} does not exist: the case says `smp: {smp}` (PEs cpu0..cpu{})", smp - 1),
                });
            }
        }
    }
    Ok(())
}

/// What in `kind` needs the hypervisor's view (EL2 and the virtualization
/// interface), which a guest-view case does not have: List Registers, the
/// virtual interface control registers, the vCPU's registers, maintenance
/// interrupts, the hypervisor's queue, vPE and vLPI commands; `None` when
/// a VM can do it.
pub(super) fn needs_hypervisor(kind: &StmtKind) -> Option<String> {
    use gic_case::op::{ItsOp, TimerKind};
    use gic_case::regs::Frame;
    match kind {
        StmtKind::LrWrite { .. } => Some("a List Register".into()),
        StmtKind::Reg { name, guest: true, .. } => Some(format!("`{name}`, a register of the vCPU")),
        StmtKind::Reg { name, info, .. } => {
            let el2 = match info.id {
                RegId::Mmio { frame, .. } => matches!(frame, Frame::Gich | Frame::Gicv),
                RegId::Sys(_) => !name.starts_with("ICC_") || name.ends_with("_EL2"),
            };
            el2.then(|| format!("`{name}`, a register of the virtualization interface"))
        }
        StmtKind::Kept { read, .. } => needs_hypervisor(read),
        StmtKind::Op(op) => match op {
            Op::LrRead(_) | Op::LrWrite(..) | Op::LrWriteNamed(..) => Some("a List Register".into()),
            Op::VifRead(_) | Op::VifWrite(..) | Op::VifWriteNamed(..) => {
                Some("a register of the virtualization interface".into())
            }
            Op::Guest(_) => Some("a vCPU operation".into()),
            Op::WaitMaintenance(_) => Some("the maintenance interrupt".into()),
            Op::Queue(..) | Op::Serve(_) => Some("the hypervisor's interrupt queue".into()),
            Op::Timer(TimerKind::Hyp, _) => Some("the EL2 timer".into()),
            Op::Its(
                ItsOp::Vmapp { .. }
                | ItsOp::Vmapti { .. }
                | ItsOp::Vmapi { .. }
                | ItsOp::Vmovi { .. }
                | ItsOp::Vmovp { .. }
                | ItsOp::Vsync { .. }
                | ItsOp::Vinvall { .. },
            ) => Some("a vPE or vLPI command".into()),
            _ => None,
        },
        _ => None,
    }
}

/// A guest-view case (`guest/…`) may only use what a VM has: the first
/// statement that needs the hypervisor's view is an error at its line.
pub(super) fn check_guest_view(file: &Path, stmts: &[Stmt]) -> Result<(), CaseError> {
    for s in stmts {
        if let StmtKind::OnCpu { body, .. } = &s.kind {
            check_guest_view(file, body)?;
        } else if let Some(what) = needs_hypervisor(&s.kind) {
            return Err(CaseError {
                file: file.to_path_buf(),
                line: s.line,
                col: 1,
                msg: format!(
                    "{what} needs the hypervisor's view (EL2), and a guest-view case (under guest/) runs as a VM \
                     at EL1: move the case out of guest/, or use the distributor, redistributor and CPU interface \
                     registers a guest has"
                ),
            });
        }
    }
    Ok(())
}
