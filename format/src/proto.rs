//! Protocol constants shared by the runner and the kernel.
//!
//! The runner loads the compiled case as raw little-endian 32-bit words at
//! [`CASE_LOAD_ADDR`] (QEMU `-device loader,file=…,addr=…,force-raw=on`).
//! Layout, in words:
//!
//! | word | meaning |
//! |------|---------|
//! | 0 | [`CASE_MAGIC`] |
//! | 1 | [`FORMAT_VERSION`] |
//! | 2 | GIC version the runner asked QEMU for (2, 3 or 4) |
//! | 3 | number of PEs the case uses (1..=[`MAX_CPUS`]) |
//! | 4 | number of op words that follow |
//! | 5.. | ops, see [`crate::op`] |
//!
//! The kernel answers with JSON lines over semihosting `SYS_WRITE0` and ends
//! with semihosting `SYS_EXIT` (`ADP_Stopped_ApplicationExit`, subcode =
//! one of [`KernelExit`]), which QEMU turns into its own exit status.

/// Guest-physical address where the runner loads the compiled case.
///
/// QEMU `virt` RAM starts at 0x4000_0000; the kernel image is linked at
/// 0x4008_0000 and is far smaller than the 128 MiB in between.
pub const CASE_LOAD_ADDR: u64 = 0x4800_0000;

/// `x1` at the EL2 kernel's entry when a VMM runs it as run `x2` of a batch
/// (several cases in one boot of the VMM's host, one VM each: the KVM
/// target's nested-virtualization flavour): ASCII "gicv-run" read as a
/// little-endian u64. The kernel then opens its output with
/// `{"gicv-run":N}` and ends with `{"gicv-exit":C}` and PSCI SYSTEM_OFF
/// (the VM's end) instead of semihosting SYS_EXIT (the machine's). The
/// guest-mode kernel learns the same from its device tree's `/chosen`
/// `gicv,run`.
pub const BATCH_MAGIC: u64 = u64::from_le_bytes(*b"gicv-run");

/// A bit of `x3` at the EL2 kernel's entry: leave `ICC_IGRPEN0_EL1` 0 at
/// boot instead of enabling Group 0. Under KVM's nested virtualization
/// (Linux 7.3, QEMU 10.0.2 TCG) writing 1 to it at virtual EL2 while
/// Group 1 is disabled, as the boot does (it enables Group 0 first), makes
/// the vCPU's thread spin in KVM's world switch without running guest code
/// again (case `groups/physical-group0-enabled-while-group1-disabled`), so
/// that VMM passes this bit; cases that use Group 0 physically cannot pass
/// there.
pub const BOOT_NO_GROUP0: u64 = 1;

/// Largest compiled case the kernel accepts, in 32-bit words.
pub const MAX_CASE_WORDS: usize = 16 * 1024;

/// First word of a compiled case: ASCII "GICV" read as a little-endian u32.
pub const CASE_MAGIC: u32 = u32::from_le_bytes(*b"GICV");

/// Version of the compiled-case encoding; bump on any change to [`crate::op`].
pub const FORMAT_VERSION: u32 = 5;

/// Version of the JSON event schema the kernel prints (header field `schema`).
pub const EVENT_SCHEMA: u32 = 1;

/// Number of words in the compiled-case header.
pub const HEADER_WORDS: usize = 5;

/// Most PEs a case may use (QEMU `-smp`).
pub const MAX_CPUS: u32 = 4;

/// Exit codes of the kernel (the semihosting `SYS_EXIT` subcode, which QEMU
/// uses as its process exit status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum KernelExit {
    /// Every op ran; the events are complete.
    Done = 0,
    /// An unexpected exception at EL2 or EL1; a `crash` record was printed.
    Crash = 3,
    /// The compiled case was rejected (bad magic, version, op); an `error` record was printed.
    BadCase = 4,
    /// The kernel panicked; a `crash` record with the message was printed.
    Panic = 5,
    /// The hardware is not what the runner asked for (e.g. no GICH frame).
    BadPlatform = 6,
}

impl KernelExit {
    /// The exit code for a process exit status, if it is one of ours.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Self::Done),
            3 => Some(Self::Crash),
            4 => Some(Self::BadCase),
            5 => Some(Self::Panic),
            6 => Some(Self::BadPlatform),
            _ => None,
        }
    }
}

/// The closed set of outcomes a (case, GIC version, QEMU) run can have.
///
/// The kernel never decides an outcome; it is listed here so that the
/// runner, its reports and the docs use one vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Events equal the golden.
    Pass,
    /// Events differ from the golden and no known deviation covers it.
    Fail,
    /// Events differ from the golden exactly where a known deviation says the model is wrong.
    XFail,
    /// A known deviation is listed but the events now equal the golden.
    XPass,
    /// The case does not apply (GIC version, missing hardware feature); has a reason.
    Skip,
    /// Unexpected exception in the kernel or guest, a kernel panic, or QEMU dying.
    Crash,
    /// The run did not finish within its time limit.
    Timeout,
    /// `--migrate`: the machine saved at a migration point did not come back
    /// in a fresh QEMU (the restore failed); has QEMU's message.
    Restore,
    /// The case or its golden could not be used (parse error, missing golden).
    Error,
}

impl Outcome {
    /// Every outcome, in report order (passing first, then failing, then the rest).
    pub const ALL: [Outcome; 9] = [
        Self::Pass,
        Self::Fail,
        Self::XFail,
        Self::XPass,
        Self::Skip,
        Self::Crash,
        Self::Timeout,
        Self::Restore,
        Self::Error,
    ];

    /// The outcome printed as `name` ([`Outcome::name`]); `None` for anything else.
    pub fn from_name(name: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Upper-case name as printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::XFail => "XFAIL",
            Self::XPass => "XPASS",
            Self::Skip => "SKIP",
            Self::Crash => "CRASH",
            Self::Timeout => "TIMEOUT",
            Self::Restore => "RESTORE",
            Self::Error => "ERROR",
        }
    }

    /// Whether this outcome makes the whole run fail.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Fail | Self::XPass | Self::Crash | Self::Timeout | Self::Restore | Self::Error)
    }
}
