//! The QEMU processes a run started, and their end on every exit path.
//!
//! Each QEMU (or `--qemu` wrapper script) runs in its own process group, so
//! that killing the group also kills whatever it started. Every live group
//! is registered here; a [`Group`] guard kills its group when dropped (normal
//! end, error, panic unwinding), the timeout path kills it explicitly, and
//! [`install_signal_handlers`] kills every registered group when the runner
//! receives SIGINT, SIGTERM or SIGHUP, then exits with 128 + the signal.

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::sync::Mutex;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

struct Registry {
    groups: BTreeSet<i32>,
    /// Set once a terminating signal arrived: nothing new may start.
    stopping: bool,
}

static LIVE: Mutex<Registry> = Mutex::new(Registry { groups: BTreeSet::new(), stopping: false });

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // A panic while holding the lock cannot leave the set inconsistent (each
    // operation is one insert or remove), so a poisoned lock is still usable.
    LIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn kill_group(pgid: i32) {
    // ESRCH (the group is already gone) is the normal case after a clean exit.
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
}

/// A child process that leads its own process group, registered for
/// cleanup. Dropping the guard kills the whole group.
#[derive(Debug)]
pub struct Group {
    /// The child (the group leader).
    pub child: Child,
    pgid: i32,
}

impl Group {
    /// Spawns `cmd` as the leader of a new process group and registers it.
    /// The child gets SIGKILL when the runner dies, however it dies (the
    /// parent-death signal, set between fork and exec, so even SIGKILL to
    /// the runner, which no handler sees, leaves no QEMU behind). It is
    /// kept across exec, so a `--qemu` wrapper that `exec`s QEMU passes it
    /// on; what a wrapper forks does not inherit it. Linux sends it when
    /// the *thread* that spawned the child ends: the runner's threads wait
    /// for the children they spawn.
    ///
    /// # Errors
    /// The spawn error, or `Interrupted` when the runner is stopping after a
    /// signal (the child is killed at once).
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Group> {
        use std::os::unix::process::CommandExt;
        let mut reg = registry();
        if reg.stopping {
            return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "the runner is stopping after a signal"));
        }
        let parent = nix::unistd::getpid();
        // SAFETY: the closure runs in the forked child before exec and only
        // makes async-signal-safe system calls (prctl, getppid, kill); it
        // touches no lock and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL as nix::libc::c_ulong, 0, 0, 0) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // The runner may have died between fork and prctl: then no
                // signal will come, and the child was adopted by another.
                if nix::unistd::getppid() != parent {
                    nix::libc::kill(nix::libc::getpid(), nix::libc::SIGKILL);
                }
                Ok(())
            });
        }
        let child = cmd.process_group(0).spawn()?;
        let pgid = i32::try_from(child.id()).expect("PIDs fit in i32");
        reg.groups.insert(pgid);
        Ok(Group { child, pgid })
    }

    /// Kills every process of the group (QEMU and anything a wrapper started)
    /// and reaps the leader.
    pub fn kill(&mut self) {
        kill_group(self.pgid);
        let _ = self.child.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Also after a normal exit: a wrapper that exited may leave QEMU behind.
        self.kill();
        registry().groups.remove(&self.pgid);
    }
}

/// What [`run_bounded`] saw.
#[derive(Debug)]
pub struct Bounded {
    /// The exit status, or `None` when the bound passed (the group was killed).
    pub status: Option<std::process::ExitStatus>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// Runs `cmd` in its own process group with standard input closed and its
/// output in temporary files (so a chatty child never blocks on a full
/// pipe); kills the group when it has not finished after `bound`.
///
/// # Errors
/// The output files cannot be created, or the spawn (or wait) failed.
pub fn run_bounded(cmd: &mut Command, bound: std::time::Duration) -> std::io::Result<Bounded> {
    use wait_timeout::ChildExt;
    let base = std::env::temp_dir().join(format!("gicv-{}-{:?}", std::process::id(), std::thread::current().id()));
    let (out_path, err_path) = (base.with_extension("out"), base.with_extension("err"));
    let out = std::fs::File::create(&out_path)?;
    let err = std::fs::File::create(&err_path)?;
    cmd.stdin(std::process::Stdio::null()).stdout(out).stderr(err);
    let spawned = Group::spawn(cmd);
    let waited = spawned.and_then(|mut g| {
        let status = g.child.wait_timeout(bound)?;
        if status.is_none() {
            g.kill();
        }
        Ok(status)
    });
    let read = |p: &std::path::Path| {
        let text = std::fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        text
    };
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    Ok(Bounded { status: waited?, stdout, stderr })
}

/// Number of process groups currently registered (for tests and reports).
pub fn live() -> usize {
    registry().groups.len()
}

fn kill_locked(reg: &mut Registry) -> usize {
    reg.stopping = true;
    let n = reg.groups.len();
    for &g in &reg.groups {
        kill_group(g);
    }
    reg.groups.clear();
    n
}

/// Kills every registered group and refuses new ones; returns how many were killed.
pub fn kill_all() -> usize {
    kill_locked(&mut registry())
}

/// Called on the runner's way out: returns at once, unless a signal
/// handler is stopping the process, in which case it waits for that exit
/// (so a run that ended because its QEMU was killed does not exit first
/// with a misleading status).
pub fn settle() {
    drop(registry());
}

/// Installs handlers for SIGINT, SIGTERM and SIGHUP: kill every QEMU this
/// run started, say so on stderr, and exit with 128 + the signal number.
///
/// # Errors
/// When the handlers cannot be registered.
pub fn install_signal_handlers() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new().name("gicv-signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            // The lock is held until the process exits: see `settle`.
            let mut reg = registry();
            let n = kill_locked(&mut reg);
            eprintln!("\ngicv: stopped by {}; killed {n} running QEMU process group(s)", signal_name(sig));
            std::process::exit(128 + sig);
        }
    })?;
    Ok(())
}

/// Makes a panic anywhere in the runner kill every registered QEMU before
/// the usual panic message (the guards also kill their group while a panic
/// unwinds through them; this covers QEMUs owned by other threads).
pub fn kill_all_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_all();
        previous(info);
    }));
}

/// Name of a signal number (`SIGSEGV`), or `signal N` when unknown.
pub fn signal_name(sig: i32) -> String {
    Signal::try_from(sig).map_or_else(|_| format!("signal {sig}"), |s| s.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(marker: &str) -> usize {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .filter(|c| String::from_utf8_lossy(c).contains(marker))
            .count()
    }

    fn wait_for(n: usize, marker: &str) -> bool {
        (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            count(marker) == n
        })
    }

    #[test]
    fn a_panic_unwinding_through_the_guard_kills_the_group() {
        let marker = format!("gicv-procs-{}-panic", std::process::id());
        let m = marker.clone();
        let r = std::panic::catch_unwind(move || {
            // A wrapper that starts a grandchild, as a `--qemu` script may.
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "sh -c 'sleep 300; :' \"$0\" & sleep 300; :", &m]);
            let _g = Group::spawn(&mut cmd).unwrap();
            assert!(wait_for(2, &m), "wrapper and grandchild did not start");
            panic!("a bug in the runner");
        });
        assert!(r.is_err());
        assert!(wait_for(0, &marker), "{} processes survived the panic", count(&marker));
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(999), "signal 999");
    }
}
