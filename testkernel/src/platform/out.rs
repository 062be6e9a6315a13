//! Event output: JSON lines over Arm semihosting, printed by CPU0 only.
//!
//! Other PEs append their lines to their own outbox, which CPU0 prints after
//! the PE reports its block done, so output order follows step order.
//! Lines are `heapless::Vec`s of bytes, outboxes `heapless::spsc` queues.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};

use heapless::spsc::{Consumer, Producer, Queue};
use heapless::Vec;

use super::{cpu_index, MAX_CPUS};

/// Longest event line, in bytes.
pub const LINE_MAX: usize = 1024;
/// Bytes an outbox holds.
const OUTBOX_SIZE: usize = 16 * 1024;

/// One JSON line being built; overlong content is cut and marked.
///
/// The content holds at most [`LINE_MAX`] bytes; the two spare bytes are
/// for the `\n` and the NUL that `SYS_WRITE0` needs. Bytes, not a
/// `heapless::String`: an overlong write keeps the prefix that fits, as a
/// byte count, like it always did.
pub struct Line {
    buf: Vec<u8, { LINE_MAX + 2 }>,
    overflow: bool,
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Line { buf: Vec::new(), overflow: false }
    }

    /// Appends a JSON string literal (quotes and escapes added).
    pub fn string(&mut self, s: &str) -> &mut Self {
        let _ = self.write_char('"');
        for c in s.chars() {
            let _ = match c {
                '"' => self.write_str("\\\""),
                '\\' => self.write_str("\\\\"),
                '\n' => self.write_str("\\n"),
                c if (c as u32) < 0x20 => write!(self, "\\u{:04x}", c as u32),
                c => self.write_char(c),
            };
        }
        let _ = self.write_char('"');
        self
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf).unwrap_or("")
    }

    /// Appends raw text.
    pub fn raw(&mut self, s: &str) -> &mut Self {
        let _ = self.write_str(s);
        self
    }

    /// Appends `,"key":` (a leading comma unless right after `{`).
    pub fn key(&mut self, k: &str) -> &mut Self {
        if !matches!(self.buf.last(), None | Some(b'{' | b'[')) {
            self.raw(",");
        }
        self.string(k).raw(":")
    }

    /// Appends `"key":<unsigned>`.
    pub fn num(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        let _ = write!(self, "{}", v);
        self
    }

    /// Appends `"key":"0x<hex>"`.
    pub fn hex(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        let _ = write!(self, "\"{:#x}\"", v);
        self
    }

    /// Appends `"key":"<text>"`.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).string(v)
    }

    /// Appends `"key":true|false`.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k).raw(if v { "true" } else { "false" })
    }

    /// The line with its `\n` and NUL; the caller then starts a new line.
    fn finish(&mut self) -> &[u8] {
        if self.overflow {
            // Keep the line valid JSON-lines framing; the runner reports it as truncated output.
            self.buf.truncate(LINE_MAX - 16);
        }
        // Cannot fail: the content is at most LINE_MAX bytes, the capacity LINE_MAX + 2.
        let _ = self.buf.extend_from_slice(b"\n\0");
        &self.buf
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.overflow = false;
    }

    /// Sends the line: printed at once on CPU0, queued in the outbox elsewhere.
    pub fn emit(&mut self) {
        let cpu = cpu_index();
        let bytes = self.finish();
        if cpu == 0 {
            write0(bytes);
        } else {
            OUTBOXES[cpu.min(MAX_CPUS - 1)].push(&bytes[..bytes.len() - 1]);
        }
        self.clear();
    }

    /// Prints the line directly, from any PE (used for crash records only).
    pub fn emit_now(&mut self) {
        write0(self.finish());
        self.clear();
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        let n = b.len().min(LINE_MAX - self.buf.len());
        // Cannot fail: n bytes fit below LINE_MAX.
        let _ = self.buf.extend_from_slice(&b[..n]);
        if n < b.len() {
            self.overflow = true;
        }
        Ok(())
    }
}

fn write0(bytes_with_nul: &[u8]) {
    if let Ok(s) = CStr::from_bytes_with_nul(bytes_with_nul) {
        semihosting::sys::arm_compat::sys_write0(s);
    }
}

/// The lines a secondary PE produced for its current block: a
/// single-producer single-consumer byte queue whose producer end only the
/// owning PE uses and whose consumer end only CPU0 uses.
pub struct Outbox {
    producer: UnsafeCell<Producer<'static, u8>>,
    consumer: UnsafeCell<Consumer<'static, u8>>,
}

// SAFETY: the producer end is used only by the owning PE (from `Line::emit`
// on that PE, never from an exception handler) and the consumer end only by
// CPU0 (`flush`), so neither end is used from two places at once; the queue
// orders the two ends with acquire/release atomics, so CPU0 may even flush
// while a PE that overran its block's time bound still writes.
unsafe impl Sync for Outbox {}

impl Outbox {
    const fn new(queue: &'static mut OutboxQueue) -> Self {
        let (p, c) = queue.split_const();
        Outbox { producer: UnsafeCell::new(p), consumer: UnsafeCell::new(c) }
    }

    /// Appends a line (with its `\n`); what does not fit is dropped.
    fn push(&self, line: &[u8]) {
        // SAFETY: only the owning PE pushes (see the Sync impl).
        let producer = unsafe { &mut *self.producer.get() };
        for &b in line {
            if producer.enqueue(b).is_err() {
                break;
            }
        }
    }

    /// Prints and empties the outbox (CPU0, after the owner finished, or
    /// gave up waiting for it). Takes only the bytes there when it starts,
    /// so it ends even if the owner still writes.
    pub fn flush(&self) {
        // SAFETY: only CPU0 flushes (see the Sync impl).
        let consumer = unsafe { &mut *self.consumer.get() };
        // One more byte than a line holds, so that an overlong one still
        // overflows the `Line` it is printed with and is cut as such.
        let mut text: Vec<u8, { LINE_MAX + 1 }> = Vec::new();
        let print = |text: &mut Vec<u8, { LINE_MAX + 1 }>| {
            if let Ok(s) = core::str::from_utf8(text) {
                Line::new().raw(s).emit();
            }
            text.clear();
        };
        for _ in 0..consumer.len() {
            let Some(b) = consumer.dequeue() else {
                break;
            };
            if b == b'\n' {
                print(&mut text);
            } else {
                let _ = text.push(b);
            }
        }
        if !text.is_empty() {
            print(&mut text);
        }
    }
}

/// An outbox's queue: one slot more than [`OUTBOX_SIZE`], as an spsc
/// queue of N slots holds N - 1 bytes.
type OutboxQueue = Queue<u8, { OUTBOX_SIZE + 1 }>;

/// One outbox per PE (index 0 unused).
pub static OUTBOXES: [Outbox; MAX_CPUS] = {
    static mut QUEUES: [OutboxQueue; MAX_CPUS] = [const { Queue::new() }; MAX_CPUS];
    let queues: *mut [OutboxQueue; MAX_CPUS] = &raw mut QUEUES;
    // SAFETY: QUEUES is reachable only in this initializer, which runs once
    // (at compile time) and splits each queue once; afterwards only the two
    // ends kept in OUTBOXES use it. Spelled out for MAX_CPUS = 4: another
    // count fails to compile here.
    let [q0, q1, q2, q3] = unsafe { &mut *queues };
    [Outbox::new(q0), Outbox::new(q1), Outbox::new(q2), Outbox::new(q3)]
};

/// Whether the host file `path` (relative to QEMU's working directory) can
/// be opened for reading, through semihosting `SYS_OPEN` (closed again at
/// once); used to wait for the runner at a migration point.
pub fn host_file_exists(path: &CStr) -> bool {
    semihosting::sys::arm_compat::sys_open(path, semihosting::sys::arm_compat::OpenMode::RDONLY).is_ok()
}

/// The number of this run in a batch of KVM runs, or [`NOT_IN_A_BATCH`].
static BATCH_RUN: AtomicU32 = AtomicU32::new(NOT_IN_A_BATCH);
const NOT_IN_A_BATCH: u32 = u32::MAX;

/// Marks this run as run `n` of a batch (the VMM's `/chosen` `gicv,run`):
/// prints `{"gicv-run":n}` before anything else of the run, so the runner
/// can split the batch's one semihosting stream into runs, and makes
/// [`exit`] end only this VM.
pub fn start_batch_run(n: u32) {
    BATCH_RUN.store(n, Ordering::Relaxed);
    let mut l = Line::new();
    l.raw("{").num("gicv-run", u64::from(n)).raw("}");
    l.emit_now();
}

/// Ends the run with an exit status (`gic_case::proto::KernelExit`): a
/// semihosting exit, which ends the machine; in a batch run
/// ([`start_batch_run`]) `{"gicv-exit":code}` and PSCI SYSTEM_OFF, which
/// end only this VM (its VMM then starts the next run). Should SYSTEM_OFF
/// fail, the semihosting exit ends the machine after all: the runner then
/// reports the batch's later runs as never started.
pub fn exit(code: gic_case::proto::KernelExit) -> ! {
    if BATCH_RUN.load(Ordering::Relaxed) != NOT_IN_A_BATCH {
        let mut l = Line::new();
        l.raw("{").num("gicv-exit", code as u64).raw("}");
        l.emit_now();
        let _ = super::psci::system_off();
    }
    semihosting::process::exit(code as i32)
}
