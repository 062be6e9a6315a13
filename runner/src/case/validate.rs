//! Checks of a parsed case that need all of it: every PE a statement
//! names exists (`smp:`).

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
