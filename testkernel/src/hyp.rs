//! A scripted minimal hypervisor loop: a per-PE software queue of pending
//! virtual interrupts that do not fit in the List Registers, refilled into
//! free LRs from the maintenance interrupt handler, as KVM, Xen and other
//! hypervisors do (IHI 0069H 6.3; IHI 0048B 5.2.2).

use core::cell::UnsafeCell;

use aarch64_cpu::registers::ICH_HCR_EL2;
use gic_case::lr::{Lr, LrState};
use gic_case::op::{Group, GuestOp};
use gic_case::vif::VifReg;
use heapless::binary_heap::{BinaryHeap, Min};

use crate::gic;
use crate::guest;
use crate::platform::exceptions::ExitKind;
use crate::platform::{cpu_index, MAX_CPUS};

const QUEUE_LEN: usize = 32;
/// How long the loop lets an asserted maintenance interrupt arrive.
const MAINT_POLL_MS: u32 = 5;
/// How long the guest waits for a virtual interrupt in one step.
const VIRQ_WAIT_MS: u32 = 20;

/// A queued virtual interrupt. Entries compare by priority value, then by
/// queueing order (`seq`), so the min-heap hands out the highest priority
/// (lowest value) first and, among equal priorities, the first queued.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    prio: u8,
    seq: u32,
    vintid: u32,
    group: u8,
}

struct Queue {
    heap: BinaryHeap<Entry, Min, QUEUE_LEN>,
    /// `seq` of the next entry (a case has at most 65535 statements, so it never wraps).
    next_seq: u32,
}

struct Queues(UnsafeCell<[Queue; MAX_CPUS]>);
// SAFETY: queue `i` is only used by PE `i`, from the interpreter (never from
// an exception handler), so there is no concurrent access.
unsafe impl Sync for Queues {}
static QUEUES: Queues = Queues(UnsafeCell::new([const { Queue { heap: BinaryHeap::new(), next_seq: 0 } }; MAX_CPUS]));

fn queue() -> &'static mut Queue {
    // SAFETY: see `Queues`: only this PE touches its own entry, and callers
    // do not keep the reference across calls.
    unsafe { &mut (*QUEUES.0.get())[cpu_index()] }
}

/// Adds a virtual interrupt to this PE's queue; false when it is full.
pub fn enqueue(vintid: u32, group: u8, prio: u8) -> bool {
    let q = queue();
    if q.heap.push(Entry { prio, seq: q.next_seq, vintid, group }).is_err() {
        return false;
    }
    q.next_seq += 1;
    true
}

/// Number of queued interrupts.
pub fn queued() -> usize {
    queue().heap.len()
}

/// Moves queued interrupts into free List Registers (ELRSR), highest
/// priority first (the first queued among equals), as pending, HW = 0.
/// Once the queue is empty, clears UIE and NPIE: nothing is left to refill,
/// so their conditions must not keep the level-sensitive maintenance
/// interrupt asserted.
pub fn refill() {
    let q = queue();
    let free = gic::vif_read(VifReg::Elrsr);
    for n in 0..gic::lr_count() {
        if free & (1 << n) == 0 {
            continue;
        }
        let Some(e) = q.heap.pop() else {
            break;
        };
        gic::lr_write(
            n,
            Lr { state: LrState::Pending, group: e.group, priority: e.prio, vintid: e.vintid, ..Lr::EMPTY },
        );
    }
    if q.heap.is_empty() {
        // UIE and NPIE in the version-neutral HCR, which has the GICv3
        // layout (IHI 0069H 12.4.3; GICH_HCR has the same bits, IHI 0048B 5.3.2).
        let hcr = gic::vif_read(VifReg::Hcr);
        if (ICH_HCR_EL2::UIE::SET + ICH_HCR_EL2::NPIE::SET).any_matching_bits_set(hcr) {
            gic::vif_write(VifReg::Hcr, (ICH_HCR_EL2::UIE::CLEAR + ICH_HCR_EL2::NPIE::CLEAR).modify(hcr));
        }
    }
}

/// What one `serve` run did.
pub struct Served {
    /// Maintenance interrupts taken.
    pub maintenance: u32,
    /// Whether it stopped at its bound rather than running out of work.
    pub bounded: bool,
}

/// Runs the loop for at most `max` guest interrupts; `delivered` is called
/// with each vINTID the guest acknowledged, in order.
pub fn serve(max: u32, mut delivered: impl FnMut(u32)) -> Served {
    let mut maintenance = 0;
    refill();
    for _ in 0..max {
        if crate::dispatch::take_maintenance(MAINT_POLL_MS).is_some() {
            maintenance += 1;
            refill();
        }
        let exit = guest::run(&GuestOp::WaitVirq(VIRQ_WAIT_MS));
        let group = match exit.kind {
            ExitKind::Irq => Group::G1,
            ExitKind::Fiq => Group::G0,
            _ => {
                if queued() == 0 {
                    return Served { maintenance, bounded: false };
                }
                continue;
            }
        };
        let ack = guest::run(&GuestOp::Ack(group));
        let intid = (ack.values[0] & 0xff_ffff) as u32;
        if intid >= 1020 {
            continue;
        }
        delivered(intid);
        guest::run(&GuestOp::Eoi(intid, group));
    }
    let empty = queued() == 0 && gic::vif_read(VifReg::Elrsr).count_ones() >= gic::lr_count();
    Served { maintenance, bounded: !empty }
}
