//! Guest system-register accesses that trap to EL2 (`ESR_EL2.EC` 0x18), as
//! the hypervisor layer sees them: each is recorded for the interpreter to
//! report, and a trapped `ICC_SGI1R_EL1` write is emulated the way a
//! hypervisor does, by posting a virtual SGI to every target vCPU.
//!
//! Which accesses trap is the architecture's business (`HCR_EL2.IMO`/`FMO`
//! for the SGI generation registers, `ICH_HCR_EL2.TC`/`TALL0`/`TALL1`/`TDIR`
//! for the `ICV_*` registers; IHI 0069H 12.4.3 and each register's
//! pseudocode). The guest resumes after the trapped instruction; a trapped
//! `MRS` reads 0 (the scripted hypervisor emulates no register but the SGI
//! generation ones, which are write-only).
//!
//! The vCPU model is one vCPU per PE: vCPU `n` runs on PE `n`, so the
//! targets of a guest SGI are PE numbers.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use heapless::mpmc::Queue;

use crate::platform::{self, cpu_index, MAX_CPUS};

/// Most traps one guest step records; more are counted, not kept.
pub const LOG_LEN: usize = 8;

/// One trapped access.
#[derive(Clone, Copy, Debug)]
pub struct Trap {
    /// `ESR_EL2`.
    pub esr: u64,
    /// The value the guest wrote (0 for a read).
    pub value: u64,
    /// For an emulated `ICC_SGI1R_EL1` write: the PEs a virtual SGI was posted to (bit n: PE n).
    pub posted: u8,
}

impl Trap {
    /// Op0, Op1, CRn, CRm, Op2 of the access (ISS bits \[21:20\], \[16:14\],
    /// \[13:10\], \[4:1\], \[19:17\]).
    pub fn encoding(&self) -> (u8, u8, u8, u8, u8) {
        let e = self.esr;
        (
            ((e >> 20) & 3) as u8,
            ((e >> 14) & 7) as u8,
            ((e >> 10) & 0xf) as u8,
            ((e >> 1) & 0xf) as u8,
            ((e >> 17) & 7) as u8,
        )
    }

    /// Whether the access was a read (`MRS`): ISS.Direction, bit 0.
    pub fn is_read(&self) -> bool {
        self.esr & 1 != 0
    }
}

struct Log {
    esr: [AtomicU64; LOG_LEN],
    value: [AtomicU64; LOG_LEN],
    posted: [AtomicU32; LOG_LEN],
    count: AtomicU32,
}

/// One log per PE, written by that PE's trap handler and drained by the
/// same PE's interpreter after the guest step.
static LOGS: [Log; MAX_CPUS] = [const {
    Log {
        esr: [const { AtomicU64::new(0) }; LOG_LEN],
        value: [const { AtomicU64::new(0) }; LOG_LEN],
        posted: [const { AtomicU32::new(0) }; LOG_LEN],
        count: AtomicU32::new(0),
    }
}; MAX_CPUS];

/// Virtual SGIs posted to each PE's vCPU and not yet put in a List
/// Register: `vINTID | source PE << 8`. Any PE may post, the owner takes.
/// heapless deprecates its mpmc queue because an operation preempted midway
/// can make others fail (never block or corrupt); a post that fails is not
/// reported as posted (`Trap::posted`), so the case sees it.
#[expect(deprecated)]
static INBOX: [Queue<u32, 8>; MAX_CPUS] = [const { Queue::new() }; MAX_CPUS];

/// Number of PEs the case runs on (set once at boot).
static CPUS: AtomicU32 = AtomicU32::new(1);

/// Registers [`on_trap`] with the exception vectors; called once at boot
/// with the number of PEs.
pub fn init(cpus: u32) {
    CPUS.store(cpus, Ordering::Relaxed);
    platform::exceptions::set_trap_handler(on_trap);
}

/// The `ICC_SGI1R_EL1` encoding: Op0 3, Op1 0, CRn 12, CRm 11, Op2 5 (IHI 0069H 12.1.4).
const SGI1R: (u8, u8, u8, u8, u8) = (3, 0, 12, 11, 5);

fn on_trap(esr: u64, value: u64) -> u64 {
    let mut t = Trap { esr, value: if esr & 1 != 0 { 0 } else { value }, posted: 0 };
    if !t.is_read() && t.encoding() == SGI1R {
        t.posted = emulate_sgi1r(value);
    }
    let log = &LOGS[cpu_index()];
    let n = log.count.fetch_add(1, Ordering::Relaxed) as usize;
    if n < LOG_LEN {
        log.esr[n].store(t.esr, Ordering::Relaxed);
        log.value[n].store(t.value, Ordering::Relaxed);
        log.posted[n].store(t.posted as u32, Ordering::Relaxed);
    }
    0
}

/// Emulates a guest `ICC_SGI1R_EL1` write (IHI 0069H 12.11, field layout as
/// for the physical register): INTID \[27:24\]; IRM \[40\] = 1 targets every
/// vCPU but the sender, else TargetList \[15:0\] names vCPUs by Aff0 (the
/// Aff1-Aff3 fields are 0 for every vCPU of this model). Returns the PEs it posted to.
fn emulate_sgi1r(v: u64) -> u8 {
    let intid = ((v >> 24) & 0xf) as u32;
    let me = cpu_index();
    let cpus = CPUS.load(Ordering::Relaxed) as usize;
    let affinity_zero = (v >> 16) & 0xff == 0 && (v >> 32) & 0xff == 0 && (v >> 48) & 0xff == 0;
    let mut posted = 0u8;
    for (pe, inbox) in INBOX.iter().enumerate().take(cpus) {
        let target = if v & (1 << 40) != 0 { pe != me } else { affinity_zero && v & (1 << pe) != 0 };
        if target && inbox.enqueue(intid | (me as u32) << 8).is_ok() {
            posted |= 1 << pe;
        }
    }
    posted
}

/// Takes the traps the executing PE recorded since the last call, in order,
/// and how many did not fit in the log.
pub fn drain(mut each: impl FnMut(Trap)) -> u32 {
    let log = &LOGS[cpu_index()];
    let n = log.count.swap(0, Ordering::Relaxed) as usize;
    for i in 0..n.min(LOG_LEN) {
        each(Trap {
            esr: log.esr[i].load(Ordering::Relaxed),
            value: log.value[i].load(Ordering::Relaxed),
            posted: log.posted[i].load(Ordering::Relaxed) as u8,
        });
    }
    n.saturating_sub(LOG_LEN) as u32
}

/// The oldest virtual SGI posted to the executing PE's vCPU: (vINTID, source PE).
pub fn take_sgi() -> Option<(u32, u32)> {
    INBOX[cpu_index()].dequeue().map(|w| (w & 0xff, w >> 8))
}
