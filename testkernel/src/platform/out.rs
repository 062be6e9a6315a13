//! Event output: JSON lines over Arm semihosting, printed by CPU0 only.
//!
//! Other PEs append their lines to their own outbox, which CPU0 prints after
//! the PE reports its block done, so output order follows step order.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};

use super::{cpu_index, MAX_CPUS};

/// Longest event line, in bytes.
pub const LINE_MAX: usize = 1024;
const OUTBOX_SIZE: usize = 16 * 1024;

/// One JSON line being built; overlong content is cut and marked.
pub struct Line {
    buf: [u8; LINE_MAX + 2],
    len: usize,
    overflow: bool,
}

impl Line {
    /// An empty line.
    pub const fn new() -> Self {
        Line { buf: [0; LINE_MAX + 2], len: 0, overflow: false }
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
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// Appends raw text.
    pub fn raw(&mut self, s: &str) -> &mut Self {
        let _ = self.write_str(s);
        self
    }

    /// Appends `,"key":` (a leading comma unless right after `{`).
    pub fn key(&mut self, k: &str) -> &mut Self {
        if self.len > 0 && self.buf[self.len - 1] != b'{' && self.buf[self.len - 1] != b'[' {
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

    fn finish(&mut self) -> &[u8] {
        if self.overflow {
            // Keep the line valid JSON-lines framing; the runner reports it as truncated output.
            self.len = self.len.min(LINE_MAX - 16);
        }
        self.buf[self.len] = b'\n';
        self.buf[self.len + 1] = 0;
        &self.buf[..self.len + 2]
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
        self.len = 0;
        self.overflow = false;
    }

    /// Prints the line directly, from any PE (used for crash records only).
    pub fn emit_now(&mut self) {
        let bytes = self.finish();
        write0(bytes);
        self.len = 0;
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        let room = LINE_MAX - self.len;
        let n = b.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
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

/// The lines a secondary PE produced for its current block.
pub struct Outbox {
    buf: UnsafeCell<[u8; OUTBOX_SIZE]>,
    len: AtomicUsize,
}

// SAFETY: an outbox is written only by its own PE while CPU0 waits for the
// block to finish, and read by CPU0 only after the PE published completion
// with a Release store that CPU0 observes with Acquire (see interp.rs).
unsafe impl Sync for Outbox {}

impl Outbox {
    const fn new() -> Self {
        Outbox { buf: UnsafeCell::new([0; OUTBOX_SIZE]), len: AtomicUsize::new(0) }
    }

    fn push(&self, line: &[u8]) {
        let len = self.len.load(Ordering::Relaxed);
        let n = line.len().min(OUTBOX_SIZE - len);
        // SAFETY: only the owning PE writes, and CPU0 does not read until the
        // owner publishes completion (see the Sync impl).
        unsafe { (&mut *self.buf.get())[len..len + n].copy_from_slice(&line[..n]) };
        self.len.store(len + n, Ordering::Relaxed);
    }

    /// Prints and empties the outbox (CPU0, after the owner finished).
    pub fn flush(&self) {
        let len = self.len.load(Ordering::Acquire);
        let mut start = 0;
        // SAFETY: the owner finished its block (Acquire above), so no one writes now.
        let buf = unsafe { &*self.buf.get() };
        while start < len {
            let end = buf[start..len].iter().position(|&b| b == b'\n').map_or(len, |p| start + p + 1);
            let mut line = Line::new();
            if let Ok(s) = core::str::from_utf8(&buf[start..end]) {
                line.raw(s.trim_end_matches('\n'));
                line.emit();
            }
            start = end;
        }
        self.len.store(0, Ordering::Release);
    }
}

/// One outbox per PE (index 0 unused).
pub static OUTBOXES: [Outbox; MAX_CPUS] = [const { Outbox::new() }; MAX_CPUS];

/// Ends the run with a semihosting exit status (`gic_case::proto::KernelExit`).
pub fn exit(code: gic_case::proto::KernelExit) -> ! {
    semihosting::process::exit(code as i32)
}
