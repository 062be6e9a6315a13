//! What a parsed case gives the runner: its steps, and its compilation to
//! the op words the kernel runs (`gic_case::op`) for one GIC version.

use super::*;

impl Case {
    /// Every statement as (step, line), blocks' bodies included, in step order.
    pub fn steps(&self) -> Vec<(u16, usize)> {
        fn walk(stmts: &[Stmt], out: &mut Vec<(u16, usize)>) {
            for s in stmts {
                out.push((s.step, s.line));
                if let StmtKind::OnCpu { body, .. } = &s.kind {
                    walk(body, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.stmts, &mut out);
        out.sort_unstable();
        out
    }

    /// The `requires:` conditions that are not met by a GIC with parameters
    /// `p`, each as (line, expression, why); an expression that cannot be
    /// evaluated for this GIC counts as not met.
    pub fn unmet_requirements(&self, p: &crate::case::expr::Params) -> Vec<(usize, String, String)> {
        use crate::case::expr::{eval, parse, Val};
        self.requires
            .iter()
            .filter_map(|(line, src)| {
                let why = match parse(src).map_err(|(_, m)| m).and_then(|e| eval(&e, p)) {
                    Ok(Val::Int(0)) => "it does not hold".to_string(),
                    Ok(Val::Int(_)) => return None,
                    Ok(other) => format!("it gives {other}, not a truth value"),
                    Err(e) => e,
                };
                Some((*line, src.clone(), why))
            })
            .collect()
    }

    /// Every statement, blocks' bodies and kept reads included.
    pub(super) fn all_kinds(&self) -> Vec<&StmtKind> {
        fn walk<'a>(k: &'a StmtKind, out: &mut Vec<&'a StmtKind>) {
            out.push(k);
            match k {
                StmtKind::OnCpu { body, .. } => body.iter().for_each(|s| walk(&s.kind, out)),
                StmtKind::Kept { read, .. } => walk(read, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.stmts.iter().for_each(|s| walk(&s.kind, &mut out));
        out
    }

    /// How many List Registers the scenario needs: one more than the
    /// highest LR number a statement writes, reads or injects into (`lr N`,
    /// `read lr N`, `inject sgi lr N`), 0 when none. A GIC that implements
    /// fewer (ICH_VTR_EL2.ListRegs, GICH_VTR.ListRegs) cannot run it.
    pub fn lrs_needed(&self) -> u32 {
        self.all_kinds()
            .into_iter()
            .filter_map(|k| match k {
                StmtKind::LrWrite { n, .. }
                | StmtKind::Op(Op::LrRead(n))
                | StmtKind::Op(Op::LrWriteNamed(n, _))
                | StmtKind::Op(Op::InjectSgi { lr: n, .. }) => Some(n + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether the case keeps the active priorities in a named value
    /// (`read apr as NAME` or `apr = NAME`).
    pub fn keeps_apr(&self) -> bool {
        self.all_kinds().into_iter().any(|k| match k {
            StmtKind::Kept { read, .. } => matches!(**read, StmtKind::Op(Op::VifRead(VifReg::Apr))),
            StmtKind::Op(Op::VifWriteNamed(VifReg::Apr, _)) => true,
            _ => false,
        })
    }

    /// The case-file line of statement `step`, if the case has it.
    pub fn line_of(&self, step: u16) -> Option<usize> {
        self.steps().into_iter().find(|(s, _)| *s == step).map(|(_, l)| l)
    }

    /// The case compiled for GIC version `v` and decoded again: each op the
    /// kernel runs with its step, in order (for `steps` and the coverage map).
    ///
    /// # Errors
    /// As [`Case::compile`].
    pub fn ops(&self, v: GicVersion) -> Result<Vec<(u16, Op)>, CaseError> {
        let words = self.compile(v)?;
        let mut out = Vec::new();
        let mut at = proto::HEADER_WORDS;
        while at < words.len() {
            // The encoder and decoder round-trip (gic_case::op's tests).
            let (op, step, n) = Op::decode(&words[at..]).expect("compiled op words decode");
            out.push((step, op));
            at += n;
        }
        Ok(out)
    }

    /// Compiles the case for one GIC version into the image the kernel loads
    /// (header + op words, see `gic_case::proto`).
    ///
    /// # Errors
    /// A statement that cannot run on this version (a register that does not
    /// exist, a List Register field that does not fit the layout), located.
    pub fn compile(&self, v: GicVersion) -> Result<Vec<u32>, CaseError> {
        let mut ops = Vec::new();
        let mut crossed = None;
        self.compile_into(&self.stmts, v, &mut ops, &mut crossed)?;
        if ops.len() > proto::MAX_CASE_WORDS {
            return Err(self.err(
                crossed.unwrap_or(1),
                1,
                format!(
                    "case too long for the kernel: it compiles to {} op words, the kernel takes at most {} \
                     (gic_case::proto::MAX_CASE_WORDS); this statement crosses the limit",
                    ops.len(),
                    proto::MAX_CASE_WORDS
                ),
            ));
        }
        let mut out = vec![proto::CASE_MAGIC, proto::FORMAT_VERSION, v as u32, self.smp, ops.len() as u32];
        out.extend(ops);
        Ok(out)
    }

    pub(super) fn err(&self, line: usize, col: usize, msg: String) -> CaseError {
        CaseError { file: self.file.clone(), line, col, msg }
    }

    /// Appends the ops of `stmts` to `out`; returns how many ops it added
    /// at this level and notes in `crossed` the line of the statement whose
    /// words first exceed `proto::MAX_CASE_WORDS`.
    pub(super) fn compile_into(
        &self,
        stmts: &[Stmt],
        v: GicVersion,
        out: &mut Vec<u32>,
        crossed: &mut Option<usize>,
    ) -> Result<usize, CaseError> {
        let mut count = 0;
        for s in stmts {
            let op = match &s.kind {
                StmtKind::Op(op) => *op,
                StmtKind::LrWrite { n, lr, col } => {
                    let check = if v == GicVersion::V2 { lr.check_v2() } else { lr.check_v3() };
                    check.map_err(|m| self.err(s.line, *col, format!("on GIC{}: {m}", v.name())))?;
                    Op::LrWrite(*n, *lr)
                }
                StmtKind::Reg { name, col, info, write, guest, of } => {
                    if !info.exists_on(v) {
                        return Err(self.err(
                            s.line,
                            *col,
                            format!(
                                "register {} does not exist on GIC{}; list only the versions it applies to in `gic:`",
                                echo(name),
                                v.name()
                            ),
                        ));
                    }
                    let side = if *guest { Side::El1 } else { Side::El2 };
                    if info.side() != side {
                        let hint = if *guest {
                            "use `read`/`write` (hypervisor side)"
                        } else {
                            "use `guest read`/`guest write`"
                        };
                        let name = echo(name);
                        return Err(self.err(s.line, *col, format!("{name} is accessed from the other side: {hint}")));
                    }
                    match (write, info.access) {
                        (Some(_), Access::Ro) => {
                            return Err(self.err(s.line, *col, format!("{} is read-only", echo(name))))
                        }
                        (None, Access::Wo) => {
                            return Err(self.err(s.line, *col, format!("{} is write-only", echo(name))))
                        }
                        _ => {}
                    }
                    let id: RegId = info.id;
                    if let Some((cpu, at)) = of {
                        let gicr = matches!(id, RegId::Mmio { frame: regs::Frame::GicrRd | regs::Frame::GicrSgi, .. });
                        if !gicr {
                            let e = format!("`of cpu{cpu}`: {} is not a Redistributor register (GICR_*)", echo(name));
                            return Err(self.err(s.line, *at, e));
                        }
                        let op = match write {
                            Some(Value::Lit(val)) => Op::RegWriteOn(id, *val, *cpu),
                            Some(Value::Named(_)) => {
                                let e = "`of cpuN` writes take a literal value, not a kept one".to_string();
                                return Err(self.err(s.line, *at, e));
                            }
                            None => Op::RegReadOn(id, *cpu),
                        };
                        out.extend_from_slice(op.encode(s.step).as_slice());
                        count += 1;
                        continue;
                    }
                    match (write, guest) {
                        (Some(Value::Lit(val)), false) => Op::RegWrite(id, *val),
                        (Some(Value::Named(slot)), false) => Op::RegWriteNamed(id, *slot),
                        (None, false) => Op::RegRead(id),
                        (Some(Value::Lit(val)), true) => Op::Guest(GuestOp::WriteReg(id, *val)),
                        (Some(Value::Named(_)), true) => unreachable!("the parser gives guest writes literals only"),
                        (None, true) => Op::Guest(GuestOp::ReadReg(id)),
                    }
                }
                StmtKind::Kept { read, slot } => {
                    out.extend_from_slice(Op::Keep(*slot).encode(s.step).as_slice());
                    count += 1;
                    let one = [Stmt { line: s.line, step: s.step, kind: (**read).clone() }];
                    count += self.compile_into(&one, v, out, crossed)?;
                    continue;
                }
                StmtKind::OnCpu { cpu, body, concurrent, .. } => {
                    let concurrent = *concurrent;
                    let at = out.len();
                    out.extend_from_slice(Op::OnCpu { cpu: *cpu, count: 0, concurrent }.encode(s.step).as_slice());
                    if out.len() > proto::MAX_CASE_WORDS && crossed.is_none() {
                        *crossed = Some(s.line);
                    }
                    let n = self.compile_into(body, v, out, crossed)?;
                    let hdr = Op::OnCpu { cpu: *cpu, count: n as u32, concurrent }.encode(s.step);
                    out.splice(at..at + hdr.as_slice().len(), hdr.as_slice().iter().copied());
                    count += 1;
                    continue;
                }
            };
            let needs = match op {
                Op::Its(i) if i.is_virtual() => {
                    Some((GicVersion::V4, "GICv4 direct injection (the ITS's virtual commands)"))
                }
                Op::LpiConfig { virtual_: true, .. } | Op::Vpe { .. } => Some((GicVersion::V4, "GICv4 vLPIs")),
                Op::Its(_) | Op::LpiConfig { .. } => Some((GicVersion::V3, "ITS or LPIs (GICv3 or GICv4 only)")),
                Op::PhysEoi(i, _) if i >= gic_case::its::FIRST_LPI => {
                    Some((GicVersion::V3, "LPIs (GICv3 or GICv4 only)"))
                }
                Op::PhysReadOn(..) => Some((
                    GicVersion::V3,
                    "way to read another PE's SGI/PPI state (its banked registers are read by a block on that PE)",
                )),
                Op::PhysRoute(_, gic_case::op::ANY_PE) => {
                    Some((GicVersion::V3, "1-of-N SPI routing (GICD_IROUTER<n>.Interrupt_Routing_Mode)"))
                }
                Op::InjectSgi { .. } => Some((
                    GicVersion::V3,
                    "trapped guest SGI register (a GICv2 guest writes GICD_SGIR, a memory-mapped register)",
                )),
                _ => None,
            };
            if let Some((min, what)) = needs {
                if v < min {
                    return Err(self.err(
                        s.line,
                        1,
                        format!("GIC{} has no {what}; list only the versions it applies to in `gic:`", v.name()),
                    ));
                }
            }
            if let Op::Guest(GuestOp::Eoi(i, _) | GuestOp::Dir(i)) = op {
                if v == GicVersion::V2 && i > 1023 {
                    return Err(self.err(s.line, 1, format!("vINTID {i} does not exist on GICv2 (10-bit INTIDs)")));
                }
            }
            out.extend_from_slice(op.encode(s.step).as_slice());
            if out.len() > proto::MAX_CASE_WORDS && crossed.is_none() {
                *crossed = Some(s.line);
            }
            count += 1;
        }
        Ok(count)
    }
}
