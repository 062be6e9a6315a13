//! Save/restore at migration points (`cargo xtask test --migrate`, issue 23).
//!
//! The runner inserts [`gic_case::op::Op::Checkpoint`] ops between top-level
//! steps of a case ([`points`], [`insert_checkpoints`]). At each, the
//! kernel prints `{"checkpoint":n}` and polls (bounded) for the host file
//! `gicv-resume-<n>`. The runner then stops the machine through QEMU's
//! monitor (QMP `stop`), saves its whole state (`migrate` to
//! `exec:cat > state-<n>`), ends that QEMU (`quit`), creates the resume
//! file and starts a fresh QEMU with the same command line plus `-incoming
//! exec:cat state-<n>`, which loads the state and runs on. The kernel's
//! output goes to one semihosting file that every QEMU appends to, so the
//! events of the whole run are judged against the golden as without
//! `--migrate`.
//!
//! QMP is line-delimited JSON on a Unix socket (QEMU's `docs/interop/qmp-spec`):
//! a greeting, `qmp_capabilities`, then one `{"execute":…}` per line
//! answered by `{"return":…}` or `{"error":…}`, with asynchronous
//! `{"event":…}` lines in between, which are skipped. The handful of
//! commands used here do not justify a generated QMP binding.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gic_case::op::Op;
use gic_case::proto;
use serde_json::{json, Value};

use wait_timeout::ChildExt;

use super::procs::Group;

/// The suffix of the result label of migrated runs (`10.0.2-migrated`).
pub const MIGRATED: &str = "-migrated";

/// How long one save and restore may take beyond the case's own bound.
pub const PER_POINT_ALLOWANCE: Duration = Duration::from_secs(20);

/// The steps after which a migration point may go in a compiled case
/// `image`: every boundary between two top-level steps (statements of
/// CPU0, an `on cpuN { … }` block counting as its opening step) where no
/// concurrent block is running (one opened with `on cpuN concurrent` and
/// not yet joined), in step order. The last step is not a boundary.
///
/// # Errors
/// An image that does not decode.
pub fn points(image: &[u32]) -> Result<Vec<u16>, String> {
    Ok(top_level(image)?.into_iter().filter(|t| t.boundary_after).map(|t| t.step).collect())
}

/// One top-level op (with its block's ops, for `on cpuN`).
struct TopLevel {
    step: u16,
    words: std::ops::Range<usize>,
    /// Whether a migration point may follow it.
    boundary_after: bool,
}

fn top_level(image: &[u32]) -> Result<Vec<TopLevel>, String> {
    let ops = image.get(proto::HEADER_WORDS..).ok_or("case image shorter than its header")?;
    let decode = |i: usize| Op::decode(&ops[i..]).map_err(|e| format!("case image word {i}: {e:?}"));
    let mut items: Vec<TopLevel> = Vec::new();
    let mut running = 0u32; // concurrent blocks not yet joined, one bit per PE
    let mut i = 0;
    while i < ops.len() {
        let start = i;
        let (op, step, n) = decode(i)?;
        i += n;
        match op {
            Op::OnCpu { cpu, count, concurrent } => {
                for _ in 0..count {
                    i += decode(i)?.2;
                }
                if concurrent {
                    running |= 1 << cpu;
                }
            }
            Op::Join(cpu) => running &= !(1 << cpu),
            _ => {}
        }
        items.push(TopLevel { step, words: start..i, boundary_after: running == 0 });
    }
    // A point goes between two steps: not inside one statement's ops, not after the last.
    for k in 0..items.len() {
        let next = items.get(k + 1).map(|t| t.step);
        items[k].boundary_after &= next.is_some_and(|s| s != items[k].step);
    }
    Ok(items)
}

/// At most `max` of `candidates`, spread evenly and always the same for
/// the same input: all of them when they are few enough, else the ones at
/// `(i + 1) * len / (max + 1)` for i in 0..max.
pub fn choose(candidates: &[u16], max: usize) -> Vec<u16> {
    if candidates.len() <= max {
        return candidates.to_vec();
    }
    let mut v: Vec<u16> = (0..max).map(|i| candidates[(i + 1) * candidates.len() / (max + 1)]).collect();
    v.dedup();
    v
}

/// `count` of `candidates` (all when `count` is `usize::MAX`: then each
/// with probability 1/2) drawn at random from `seed` and the case's
/// `name` (fastrand's generator), in step order: the same seed gives the
/// same points for a case, whatever other cases the run has.
pub fn choose_seeded(candidates: &[u16], count: usize, seed: u64, name: &str) -> Vec<u16> {
    // FNV-1a of the name, so that each case draws on its own.
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = fastrand::Rng::with_seed(seed ^ h);
    let mut v: Vec<u16> = if count == usize::MAX {
        candidates.iter().copied().filter(|_| rng.bool()).collect()
    } else {
        let mut all = candidates.to_vec();
        rng.shuffle(&mut all);
        all.truncate(count);
        all
    };
    v.sort_unstable();
    v
}

/// How many migration points (checkpoint ops) `image` holds; 0 for an
/// image that does not decode.
pub fn count_checkpoints(image: &[u32]) -> usize {
    let ops = image.get(proto::HEADER_WORDS..).unwrap_or(&[]);
    let mut i = 0;
    let mut n = 0;
    while let Ok((op, _, len)) = Op::decode(&ops[i..]) {
        n += usize::from(matches!(op, Op::Checkpoint(_)));
        i += len;
        if i >= ops.len() {
            break;
        }
    }
    n
}

/// `image` with a checkpoint op after each step in `after` (numbered 1, 2,
/// … in step order, carrying the step they follow), the header's op count
/// updated.
///
/// # Errors
/// An image that does not decode, or a step in `after` that is not a
/// boundary of [`points`].
pub fn insert_checkpoints(image: &[u32], after: &[u16]) -> Result<Vec<u32>, String> {
    let items = top_level(image)?;
    let ops = &image[proto::HEADER_WORDS..];
    let mut out: Vec<u32> = image[..proto::HEADER_WORDS].to_vec();
    let mut n = 0;
    for t in &items {
        out.extend_from_slice(&ops[t.words.clone()]);
        if after.contains(&t.step) && t.boundary_after {
            n += 1;
            out.extend_from_slice(Op::Checkpoint(n).encode(t.step).as_slice());
        }
    }
    if n as usize != after.len() {
        return Err(format!("migration points {after:?} are not all step boundaries of the case"));
    }
    out[4] = (out.len() - proto::HEADER_WORDS) as u32;
    Ok(out)
}

/// A QMP connection to one QEMU.
struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects to the monitor socket `path`, retrying until `deadline`
    /// (QEMU creates it shortly after it starts), and leaves capabilities
    /// negotiation mode.
    fn connect(path: &Path, deadline: Instant) -> Result<Qmp, String> {
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("QEMU's monitor socket {}: {e}", path.display()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut q = Qmp { reader: BufReader::new(stream), writer };
        let greeting = q.line()?;
        if greeting.get("QMP").is_none() {
            return Err(format!("not a QMP greeting: {greeting}"));
        }
        q.execute("qmp_capabilities", None)?;
        Ok(q)
    }

    fn line(&mut self) -> Result<Value, String> {
        let mut s = String::new();
        match self.reader.read_line(&mut s) {
            Ok(0) => Err("QEMU closed its monitor".into()),
            Ok(_) => serde_json::from_str(&s).map_err(|e| format!("QMP sent {s:?}: {e}")),
            Err(e) => Err(format!("reading QMP: {e}")),
        }
    }

    /// Sends `command` without arguments and does not wait for its answer.
    fn send(&mut self, command: &str) -> Result<(), String> {
        writeln!(self.writer, "{}", json!({ "execute": command })).map_err(|e| format!("QMP {command}: {e}"))
    }

    /// Runs `command` and returns its `return` value; an `error` answer is an Err with its `desc`.
    fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, String> {
        let mut msg = json!({ "execute": command });
        if let Some(a) = arguments {
            msg["arguments"] = a;
        }
        writeln!(self.writer, "{msg}").map_err(|e| format!("QMP {command}: {e}"))?;
        loop {
            let v = self.line()?;
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(format!("QMP {command}: {}", e.get("desc").unwrap_or(e)));
            }
        }
    }
}

/// The last `{"checkpoint":n}` record in the kernel's output so far.
fn last_checkpoint(output: &str) -> Option<u32> {
    output
        .lines()
        .rev()
        .filter(|l| l.starts_with("{\"checkpoint\":"))
        .find_map(|l| serde_json::from_str::<Value>(l).ok()?.get("checkpoint")?.as_u64())
        .map(|n| n as u32)
}

/// How a migrating run ended.
pub struct Ended {
    /// The final QEMU's exit status, or the signal that ended it.
    pub status: Option<std::process::ExitStatus>,
    /// Whether the run's bound killed it.
    pub timed_out: bool,
    /// Every QEMU command line, in order.
    pub commands: Vec<String>,
    /// The migration points passed (the checkpoint numbers).
    pub migrated: Vec<u32>,
    /// The migration point whose restore failed, with what the monitor said.
    pub restore_failed: Option<(u32, String)>,
}

/// Runs `qemu` with `args` in `dir`, migrating at every checkpoint the
/// kernel announces in `out` (the semihosting file every QEMU appends to),
/// within `bound` plus [`PER_POINT_ALLOWANCE`] per checkpoint, QEMU's
/// stderr appended to `stderr`.
///
/// # Errors
/// A QEMU that cannot be started, a monitor that does not answer, or a
/// save that fails (QEMU's message).
pub fn run(
    qemu: &Path,
    args: &[String],
    dir: &Path,
    out: &Path,
    stderr: &Path,
    bound: Duration,
    points: usize,
) -> Result<Ended, String> {
    let sockets = tempfile::Builder::new().prefix("gicv-qmp").tempdir().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let deadline = start + bound + PER_POINT_ALLOWANCE * points as u32;
    let mut ended =
        Ended { status: None, timed_out: false, commands: Vec::new(), migrated: Vec::new(), restore_failed: None };
    let spawn = |k: usize, incoming: Option<&str>, ended: &mut Ended| -> Result<(Group, PathBuf), String> {
        let sock = sockets.path().join(format!("{k}.sock"));
        let mut a = args.to_vec();
        a.extend(["-qmp".into(), format!("unix:{},server=on,wait=off", super::qemu::opt_value(&sock))]);
        if let Some(state) = incoming {
            a.extend(["-incoming".into(), format!("exec:cat {state}")]);
        }
        ended.commands.push(super::qemu::shell_command(qemu, &a));
        let err = fs::OpenOptions::new().create(true).append(true).open(stderr).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(qemu);
        cmd.args(&a).current_dir(dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(err);
        let g = Group::spawn(&mut cmd).map_err(|e| format!("cannot start {}: {e}", qemu.display()))?;
        Ok((g, sock))
    };
    let (mut group, mut sock) = spawn(0, None, &mut ended)?;
    let mut qmp: Option<Qmp> = None;
    loop {
        if let Some(status) = group.child.try_wait().map_err(|e| e.to_string())? {
            ended.status = Some(status);
            return Ok(ended);
        }
        if Instant::now() >= deadline {
            group.kill();
            ended.timed_out = true;
            return Ok(ended);
        }
        let output = fs::read(out).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        match last_checkpoint(&output) {
            Some(n) if !ended.migrated.contains(&n) => {
                let q = match &mut qmp {
                    Some(q) => q,
                    None => qmp.insert(Qmp::connect(&sock, Instant::now() + Duration::from_secs(5))?),
                };
                let state = format!("state-{n}");
                save(q, &state).map_err(|e| format!("saving the machine at migration point {n}: {e}"))?;
                let _ = q.execute("quit", None);
                if group.child.wait_timeout(Duration::from_secs(10)).map_err(|e| e.to_string())?.is_none() {
                    group.kill();
                }
                ended.migrated.push(n);
                fs::write(dir.join(format!("gicv-resume-{n}")), b"").map_err(|e| e.to_string())?;
                (group, sock) = spawn(ended.migrated.len(), Some(&state), &mut ended)?;
                // The state carries the source's run state (stopped): the restored machine waits for `cont`.
                let restored = Qmp::connect(&sock, Instant::now() + Duration::from_secs(5))
                    .and_then(|mut q| resume(&mut q).map(|()| q));
                match restored {
                    Ok(q) => qmp = Some(q),
                    Err(e) => {
                        // A restore QEMU refuses ends it: its status and stderr tell why.
                        let status = group.child.wait_timeout(Duration::from_secs(10)).map_err(|e| e.to_string())?;
                        if status.is_none() {
                            group.kill();
                        }
                        ended.status = status;
                        ended.restore_failed = Some((n, e));
                        return Ok(ended);
                    }
                }
            }
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Waits, bounded, until the restoring QEMU has loaded the state
/// (`query-status` leaves `inmigrate`), then lets the machine run (`cont`).
fn resume(q: &mut Qmp) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let st = q.execute("query-status", None)?;
        match st.get("status").and_then(Value::as_str) {
            Some("inmigrate") if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            Some("paused") | Some("postmigrate") | Some("prelaunch") => {
                // The state is loaded: the restore succeeded. The machine may
                // finish the case and QEMU exit before its answer to `cont`
                // arrives, or even before `cont` is written (seen: EPIPE), so
                // neither is waited for; a machine left stopped is the run's
                // timeout.
                let _ = q.send("cont");
                return Ok(());
            }
            Some("running") => return Ok(()),
            other => return Err(format!("the restored machine is {}", other.unwrap_or("in no known state"))),
        }
    }
}

/// Stops the machine and saves its state to `state` (in QEMU's working
/// directory), waiting, bounded, for the migration to complete.
fn save(q: &mut Qmp, state: &str) -> Result<(), String> {
    q.execute("stop", None)?;
    q.execute("migrate", Some(json!({ "uri": format!("exec:cat > {state}") })))?;
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let info = q.execute("query-migrate", None)?;
        match info.get("status").and_then(Value::as_str) {
            Some("completed") => return Ok(()),
            Some("failed") | Some("cancelled") => {
                return Err(format!(
                    "QEMU's migration {}: {}",
                    info["status"],
                    info.get("error-desc").and_then(Value::as_str).unwrap_or("no reason given")
                ))
            }
            _ if Instant::now() >= until => return Err("the migration did not complete within 15 s".into()),
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gic_case::op::Op;

    fn image(ops: &[(Op, u16)]) -> Vec<u32> {
        let mut v = vec![proto::CASE_MAGIC, proto::FORMAT_VERSION, 3, 2, 0];
        for (op, step) in ops {
            v.extend_from_slice(op.encode(*step).as_slice());
        }
        v[4] = (v.len() - proto::HEADER_WORDS) as u32;
        v
    }

    #[test]
    fn points_are_the_top_level_boundaries_outside_concurrent_blocks() {
        let img = image(&[
            (Op::PhysPend(48), 1),
            (Op::Keep(0), 2),
            (Op::PhysAck(gic_case::op::Group::G1), 2),
            (Op::OnCpu { cpu: 1, count: 1, concurrent: true }, 3),
            (Op::PhysPend(3), 4),
            (Op::PhysPend(49), 5),
            (Op::Join(1), 6),
            (Op::OnCpu { cpu: 1, count: 1, concurrent: false }, 7),
            (Op::PhysPend(4), 8),
            (Op::PhysDir(48), 9),
        ]);
        // Not inside step 2's two ops, not while cpu1's concurrent block (3..6) runs, not after the last step.
        assert_eq!(points(&img).unwrap(), vec![1, 2, 6, 7]);
    }

    #[test]
    fn checkpoints_are_inserted_and_counted() {
        let img = image(&[(Op::PhysPend(48), 1), (Op::PhysAck(gic_case::op::Group::G1), 2), (Op::PhysDir(48), 3)]);
        let out = insert_checkpoints(&img, &[1, 2]).unwrap();
        let mut ops = Vec::new();
        let mut i = proto::HEADER_WORDS;
        while i < out.len() {
            let (op, step, n) = Op::decode(&out[i..]).unwrap();
            ops.push((op, step));
            i += n;
        }
        assert_eq!(out[4] as usize, out.len() - proto::HEADER_WORDS);
        assert_eq!(ops[1], (Op::Checkpoint(1), 1));
        assert_eq!(ops[3], (Op::Checkpoint(2), 2));
        assert_eq!(ops.len(), 5);
        assert_eq!((count_checkpoints(&out), count_checkpoints(&img)), (2, 0));
        assert!(insert_checkpoints(&img, &[3]).is_err(), "after the last step is no boundary");
    }

    #[test]
    fn the_choice_is_spread_and_repeatable() {
        let c: Vec<u16> = (1..=10).collect();
        assert_eq!(choose(&c, 2), vec![4, 7]);
        assert_eq!(choose(&c, 2), choose(&c, 2));
        assert_eq!(choose(&c, 1), vec![6]);
        assert_eq!(choose(&c[..2], 5), vec![1, 2]);
        assert_eq!(choose(&c, 0), Vec::<u16>::new());
    }

    #[test]
    fn a_seed_picks_the_same_points_for_a_case() {
        let c: Vec<u16> = (1..=20).collect();
        let a = choose_seeded(&c, 3, 7, "lr/x");
        assert_eq!(a, choose_seeded(&c, 3, 7, "lr/x"), "reproducible");
        assert_eq!(a.len(), 3);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|p| c.contains(p)), "{a:?}");
        let others: Vec<Vec<u16>> = (0..8).map(|s| choose_seeded(&c, 3, s, "lr/x")).collect();
        assert!(others.iter().any(|o| *o != a), "the seed matters");
        assert!(choose_seeded(&c, usize::MAX, 7, "lr/x").len() < c.len(), "about half of all");
    }

    #[test]
    fn the_last_checkpoint_record_is_found() {
        let out = "{\"header\":{}}\n{\"step\":1,\"op\":\"x\"}\n{\"checkpoint\":1}\n{\"step\":2}\n{\"checkpoint\":2}\n";
        assert_eq!(last_checkpoint(out), Some(2));
        assert_eq!(last_checkpoint("{\"step\":1}\n"), None);
    }
}
