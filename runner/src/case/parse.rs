//! Parsing a case file: the header lines, then one statement per line,
//! with the block structure (`on cpuN … end`).

use super::*;

/// Parses a case file's text. `name` is its path under the cases directory
/// without the extension. A leading byte-order mark is ignored.
///
/// # Errors
/// The first malformed line, with file, line and column.
pub fn parse(file: &Path, name: &str, text: &str) -> Result<Case, CaseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser { file, line: 0, step: 0, names: Default::default(), unjoined: Default::default() };
    let mut aim = String::new();
    let mut spec = String::new();
    let mut gics: Option<Vec<GicVersion>> = None;
    let mut smp = 1u32;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut requires: Vec<(usize, String)> = Vec::new();
    let mut in_header = true;
    // Stack of open blocks: (cpu, col, line, statements).
    let mut stack: Vec<(u32, usize, usize, Vec<Stmt>)> = vec![(0, 0, 0, Vec::new())];

    for (idx, raw) in text.lines().enumerate() {
        p.line = idx + 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if in_header {
            if let Some((key, _)) = header_line(trimmed) {
                let key_at = raw.len() - trimmed.len();
                let col = col_at(raw, key_at);
                // The value: after the colon, up to a comment.
                let value_at = key_at + key.len() + 1;
                let value_raw = &raw[value_at..raw.find('#').unwrap_or(raw.len())];
                let vcol = col_at(raw, value_at + (value_raw.len() - value_raw.trim_start().len()));
                let value = value_raw.trim();
                match key {
                    "aim" => {
                        if !aim.is_empty() {
                            aim.push(' ');
                        }
                        aim.push_str(value);
                    }
                    "spec" => {
                        if !spec.is_empty() {
                            spec.push_str("; ");
                        }
                        spec.push_str(value);
                    }
                    "gic" => {
                        let mut v = Vec::new();
                        for (at, word) in words(value_raw) {
                            let g = GicVersion::from_name(word).ok_or_else(|| {
                                p.err(
                                    col_at(raw, value_at + at),
                                    format!("unknown GIC version `{}`; expected v2, v3 or v4", echo(word)),
                                )
                            })?;
                            if !v.contains(&g) {
                                v.push(g);
                            }
                        }
                        if v.is_empty() {
                            return Err(p.err(vcol, "`gic:` needs at least one of v2, v3, v4"));
                        }
                        v.sort();
                        gics = Some(v);
                    }
                    "smp" => {
                        smp = parse_decimal(value).filter(|n| (1..=proto::MAX_CPUS as u64).contains(n)).ok_or_else(
                            || {
                                let max = proto::MAX_CPUS;
                                p.err(
                                    vcol,
                                    format!("`smp:` must be a decimal number of PEs, 1 to {max}; {}", found(value)),
                                )
                            },
                        )? as u32;
                    }
                    "timeout" => {
                        let secs = value
                            .strip_suffix('s')
                            .and_then(parse_decimal)
                            .filter(|n| (1..=600).contains(n))
                            .ok_or_else(|| {
                                p.err(
                                    vcol,
                                    format!(
                                        "`timeout:` must be a decimal number of seconds such as `10s`, 1s to 600s; {}",
                                        found(value)
                                    ),
                                )
                            })?;
                        timeout = Duration::from_secs(secs);
                    }
                    "requires" => {
                        if let Err((at, msg)) = crate::case::expr::parse(value) {
                            return Err(p.err(
                                vcol + value[..at.min(value.len())].chars().count(),
                                format!("`requires:` {msg}"),
                            ));
                        }
                        requires.push((p.line, value.to_string()));
                    }
                    _ => {
                        return Err(p.err(
                            col,
                            format!(
                                "unknown header `{}:`; expected aim, spec, gic, smp, timeout or requires",
                                echo(key)
                            ),
                        ))
                    }
                }
                continue;
            }
            in_header = false;
        }
        let toks = tokenize(raw);
        if toks.is_empty() {
            continue;
        }
        if header_line(trimmed).is_some() {
            return Err(p.err(toks[0].col, "header lines (`key: value`) must come before the first statement"));
        }
        if toks[0].text == "}" {
            p.no_more(&toks, 1)?;
            if stack.len() == 1 {
                return Err(p.err(toks[0].col, "`}` without an open `on cpuN {` block"));
            }
            let (cpu, col, _, body) = stack.pop().expect("checked");
            let parent = stack.last_mut().expect("root stays");
            let last = parent.3.last_mut().expect("the block's own statement was pushed");
            let concurrent = matches!(last.kind, StmtKind::OnCpu { concurrent: true, .. });
            last.kind = StmtKind::OnCpu { cpu, col, body, concurrent };
            continue;
        }
        if toks[0].text == "on" {
            let t1 = p.need(&toks, 1, "`cpuN`")?;
            let cpu = t1
                .text
                .strip_prefix("cpu")
                .and_then(parse_decimal)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    p.err(t1.col, format!("expected `cpuN` with a decimal N (e.g. cpu1), found `{}`", echo(&t1.text)))
                })?;
            let concurrent = toks.get(2).is_some_and(|t| t.text == "async");
            let at = if concurrent { 3 } else { 2 };
            let brace = p.need(&toks, at, "`{`")?;
            if brace.text != "{" {
                return Err(p.err(brace.col, format!("expected `async` or `{{`, found `{}`", echo(&brace.text))));
            }
            p.no_more(&toks, at + 1)?;
            if stack.len() > 1 {
                return Err(p.err(toks[0].col, "`on cpuN` blocks do not nest"));
            }
            if let Some((l, _)) = p.unjoined.get(&cpu) {
                return Err(p.err(
                    t1.col,
                    format!("cpu{cpu} still runs the concurrent block opened at line {l}; `join cpu{cpu}` first"),
                ));
            }
            if concurrent {
                if cpu == 0 {
                    return Err(p.err(t1.col, "CPU0 runs the case itself: only another PE's block can be `async`"));
                }
                p.unjoined.insert(cpu, (p.line, t1.col));
            }
            p.step = p.step.checked_add(1).ok_or_else(|| p.err(toks[0].col, too_many_statements()))?;
            stack.last_mut().expect("root").3.push(Stmt {
                line: p.line,
                step: p.step,
                kind: StmtKind::OnCpu { cpu, col: t1.col, body: Vec::new(), concurrent },
            });
            stack.push((cpu, t1.col, p.line, Vec::new()));
            continue;
        }
        let kind = p.statement(&toks)?;
        if let StmtKind::Op(Op::Join(cpu)) = &kind {
            if stack.len() > 1 {
                return Err(p.err(toks[0].col, "`join` waits on CPU0: write it outside `on cpuN` blocks"));
            }
            if p.unjoined.remove(cpu).is_none() {
                return Err(
                    p.err(toks[1].col, format!("no concurrent block runs on cpu{cpu} here (`on cpu{cpu} async {{`)"))
                );
            }
        }
        p.step = p.step.checked_add(1).ok_or_else(|| p.err(toks[0].col, too_many_statements()))?;
        let line = p.line;
        let step = p.step;
        stack.last_mut().expect("root").3.push(Stmt { line, step, kind });
    }
    if stack.len() > 1 {
        let (_, col, line, _) = stack.last().expect("len > 1");
        return Err(CaseError {
            file: file.to_path_buf(),
            line: *line,
            col: *col,
            msg: "`on cpuN {` block is never closed with `}`".into(),
        });
    }
    if let Some((cpu, (line, col))) = p.unjoined.iter().next() {
        return Err(CaseError {
            file: file.to_path_buf(),
            line: *line,
            col: *col,
            msg: format!("the concurrent block on cpu{cpu} is never joined: add `join cpu{cpu}` after it"),
        });
    }
    let missing = |what: &str| CaseError {
        file: file.to_path_buf(),
        line: 1,
        col: 1,
        msg: format!("missing `{what}:` header line"),
    };
    if aim.is_empty() {
        return Err(missing("aim"));
    }
    if spec.is_empty() {
        return Err(missing("spec"));
    }
    let gics = gics.ok_or_else(|| missing("gic"))?;
    let stmts = stack.pop().expect("root").3;
    check_cpus(file, &stmts, smp)?;
    let view = View::of(name);
    if view == View::Guest {
        check_guest_view(file, &stmts)?;
    }
    check_gicv4_0(file, &stmts, &requires)?;
    Ok(Case { file: file.to_path_buf(), name: name.to_string(), aim, spec, gics, smp, timeout, requires, stmts, view })
}

pub(super) fn header_line(s: &str) -> Option<(&str, &str)> {
    let (key, rest) = s.split_once(':')?;
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    Some((key, rest))
}
