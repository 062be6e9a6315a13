//! Checks of a parsed case that need all of it: every PE a statement
//! names exists (`smp:`); a guest-view case uses only what a VM has.

use super::*;

pub(super) fn check_cpus(file: &Path, stmts: &[Stmt], smp: u32) -> Result<(), CaseError> {
    for s in stmts {
        // The PE the statement names beyond `smp:`, if any, and its column.
        let beyond = match &s.kind {
            StmtKind::Op(op) => {
                let mut named = its::cpus_named(op).into_iter().map(u32::from).chain(crosspe::cpus_named(op));
                named.find(|c| *c >= smp).map(|c| (c, 1))
            }
            StmtKind::Reg { of: Some((cpu, col)), .. } => Some((*cpu, *col)).filter(|(c, _)| *c >= smp),
            StmtKind::OnCpu { cpu, col, body, .. } => {
                check_cpus(file, body, smp)?;
                Some((*cpu, *col)).filter(|(c, _)| *c >= smp)
            }
            _ => None,
        };
        if let Some((cpu, col)) = beyond {
            return Err(CaseError {
                file: file.to_path_buf(),
                line: s.line,
                col,
                msg: format!("cpu{cpu} does not exist: the case says `smp: {smp}` (PEs cpu0..cpu{})", smp - 1),
            });
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
    use gic_case::op::TimerKind;
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
            Op::Its(i) if i.is_virtual() => Some("a vPE or vLPI command".into()),
            _ => None,
        },
        _ => None,
    }
}

/// The first statement of `stmts` (blocks included) that builds one of
/// GICv4.0's commands or uses its vLPI tables: the ITS's virtual commands,
/// `vlpi`, `vpe`.
fn first_gicv4_0(stmts: &[Stmt]) -> Option<&Stmt> {
    stmts.iter().find_map(|s| match &s.kind {
        StmtKind::OnCpu { body, .. } => first_gicv4_0(body),
        StmtKind::Op(Op::Its(i)) if i.is_virtual() => Some(s),
        StmtKind::Op(Op::LpiConfig { virtual_: true, .. } | Op::Vpe { .. }) => Some(s),
        _ => None,
    })
}

/// A case with GICv4.0's virtual commands must say so: GICv4.1 changes
/// `VMAPP` and the doorbells, so such a case needs `requires: ITS_VMAPP ==
/// 0` (GITS_TYPER.VMAPP, IHI 0069H) to SKIP on a GICv4.1 ITS rather than
/// send it commands in the wrong format. The error is at the first such
/// statement.
pub(super) fn check_gicv4_0(file: &Path, stmts: &[Stmt], requires: &[(usize, String)]) -> Result<(), CaseError> {
    let says = requires.iter().any(|(_, r)| r.split_whitespace().collect::<String>() == "ITS_VMAPP==0");
    match first_gicv4_0(stmts) {
        Some(s) if !says => Err(CaseError {
            file: file.to_path_buf(),
            line: s.line,
            col: 1,
            msg: "the vPE and vLPI statements build GICv4.0's commands, which a GICv4.1 ITS takes in another \
                  format: add the header line `requires: ITS_VMAPP == 0` (README, ITS and vLPI statements)"
                .into(),
        }),
        _ => Ok(()),
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
