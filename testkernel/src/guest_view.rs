//! Guest mode: the test kernel booted as a VM would be, at EL1, finding its
//! hardware from the device tree.
//!
//! The image follows the Linux arm64 boot protocol (Linux
//! `Documentation/arch/arm64/booting.rst`): it starts with the 64-byte
//! Image header below, so a loader that boots Linux (QEMU `-kernel` on a
//! flat image, a hypervisor's domain builder) loads it at RAM base +
//! `text_offset` and enters `code0` at EL1 with MMU off and x0 = the
//! physical address of the DTB. The kernel parses the DTB with
//! `gic_devtree`, starts the other CPUs with PSCI CPU_ON through the
//! conduit `/psci` names (HVC on QEMU without EL2 and under a hypervisor,
//! SMC where firmware at EL3 answers), reads the distributor's ID
//! registers, prints one header line and the end record over semihosting,
//! and exits through semihosting like the EL2 kernel.
//!
//! Build, convert and boot (from the repository root; `Q` is either QEMU,
//! `target/qemu-bookworm/usr/bin/qemu-system-aarch64` (7.2) or
//! `target/qemu-backports/usr/bin/qemu-system-aarch64` (10.0), and `N` is 2
//! or 3):
//!
//! ```text
//! (cd testkernel && cargo build --profile guest --no-default-features --features guest)
//! cargo run -q -p gic-devtree --features host --bin elf2image -- \
//!     testkernel/target/aarch64-unknown-none/guest/testkernel target/testkernel-guest.img
//! $Q -M virt,virtualization=off,gic-version=N -cpu max -smp 2 -nic none -nographic \
//!     -nodefaults -display none \
//!     -semihosting-config enable=on,target=native,chardev=semi -chardev stdio,id=semi \
//!     -kernel target/testkernel-guest.img
//! ```
//!
//! The header is `{"header":{"schema":…,"kernel":…,"view":"guest","EL":1,
//! "gic":"v3","GICD":…,…,"psci":"hvc","cpus":2,"online":[MPIDR_EL1 of each
//! PE that came up],…}}`, then `{"end":"ok"}`; a device tree the kernel
//! cannot use gives `{"error":…}` and the exit code `BadPlatform`.
//!
//! The image is linked for 0x4008_0000 and not relocatable: it runs where
//! RAM starts at 0x4000_0000 (QEMU `virt`, Xen's guest layout), which the
//! header's `text_offset` (0x8_0000) and `flags` (placement bit 3 = 0:
//! "as close as possible to the base of DRAM") ask a loader for.
//!
//! Output without semihosting (a Xen domU, real hardware): every line goes
//! through `platform::out::write0`, the one place that writes bytes out. A
//! PL011 writer plugs in there: this module would hand it
//! `Platform::uart` (the device tree's `arm,pl011` / `arm,sbsa-uart`
//! `reg`) at boot, and `write0` would send the bytes to `UARTDR`, polling
//! `UARTFR.TXFF` with a bounded wait, when that writer is set; the exit
//! would then be PSCI SYSTEM_OFF over the same conduit instead of
//! semihosting `SYS_EXIT`. Semihosting stays the default because it reaches
//! the outermost QEMU even from a nested guest under TCG.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use aarch64_cpu::registers::{CurrentEL, Readable, ELR_EL1, ESR_EL1, FAR_EL1, MPIDR_EL1};
use aarch64_rt::{ExceptionHandlers, RegisterStateRef};
use gic_case::proto::{self, KernelExit};
use gic_devtree::{Error, Platform, PsciConduit};

use crate::platform::out::{exit, Line};
use crate::platform::{self, psci, timer, MAX_CPUS};

// The arm64 Image header (booting.rst, "Call the kernel image"): code0
// branches to aarch64-rt's entry code; text_offset 0x8_0000 (memory.ld's
// link address minus RAM base); image_size from here to the end of .bss
// and the stacks (`dma_region`, image.ld's end of everything; `. - 16` is
// the header's start, so the value is PC-relative, fixed at link time);
// flags 0b0010: little-endian, 4 KiB pages, placed near the base of DRAM;
// magic "ARM\x64" at 0x38.
global_asm!(
    r#"
.section .image_header, "ax"
.global guest_image_header
guest_image_header:
    b entry
    .long 0
    .quad 0x80000
    .quad dma_region - . + 16
    .quad 0x2
    .quad 0
    .quad 0
    .quad 0
    .ascii "ARM\x64"
    .long 0
"#
);

unsafe extern "C" {
    /// First byte of the image (the header above).
    static guest_image_header: u8;
    /// End of the image, `.bss` and stacks included (aarch64-rt's image.ld).
    static dma_region: u8;
}

/// `MPIDR_EL1` of each PE that came up, by start order (0: not yet; the
/// register's bit 31 is RES1, so a reported value is never 0).
static ONLINE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The PSCI conduit the secondaries use to power themselves off: 0 HVC, 1 SMC.
static CONDUIT: AtomicU8 = AtomicU8::new(0);

/// Affinity fields of an MPIDR (Aff3 in 39:32, Aff2..Aff0 in 23:0), as the
/// device tree's `cpu` `reg` holds them.
const MPIDR_AFFINITY: u64 = 0xff_00ff_ffff;

/// How long a secondary PE may take to report, in milliseconds.
const CPU_ON_BOUND_MS: u32 = 2000;

fn fail(msg: &str, detail: Option<&dyn core::fmt::Display>) -> ! {
    let mut text = Line::new();
    let _ = match detail {
        Some(d) => core::fmt::Write::write_fmt(&mut text, format_args!("{msg}: {d}")),
        None => core::fmt::Write::write_str(&mut text, msg),
    };
    let mut l = Line::new();
    l.raw("{").str("error", text.as_str()).raw("}");
    l.emit_now();
    exit(KernelExit::BadPlatform)
}

/// The guest-mode entry (aarch64-rt's `entry!`): x0 is the DTB's address.
pub fn main(x0: u64, _x1: u64, _x2: u64, _x3: u64) -> ! {
    let el = CurrentEL.read(CurrentEL::EL);
    if el != 1 {
        fail("guest mode must be entered at EL1", Some(&el));
    }
    let platform = discover(x0).unwrap_or_else(|e| fail("the device tree (x0) cannot be used", Some(&e)));
    let online = start_secondaries(&platform);
    header(&platform, x0, online);
    let mut l = Line::new();
    l.raw("{\"end\":\"ok\"}");
    l.emit();
    exit(KernelExit::Done)
}

/// Parses the DTB at `dtb` after checking what the boot protocol promises:
/// 8-byte aligned, not inside this image.
fn discover(dtb: u64) -> Result<Platform, Error> {
    let start = &raw const guest_image_header as u64;
    let end = &raw const dma_region as u64;
    if dtb == 0 || !dtb.is_multiple_of(8) {
        fail("x0 holds no 8-byte aligned DTB address (loaded as an ELF, not as a Linux Image?)", Some(&Hex(dtb)));
    }
    if (start..end).contains(&dtb) {
        fail("the DTB lies inside the kernel image (its .bss was zeroed over it)", Some(&Hex(dtb)));
    }
    // SAFETY: the loader passes in x0 the physical address of a DTB, 8-byte
    // aligned (checked above) and outside the image (checked above), in RAM
    // it leaves alone (booting.rst); the MMU is off, so the address is
    // usable as is. `from_ptr` checks the magic before believing the size
    // and reads at most 2 MiB.
    unsafe { Platform::from_ptr(dtb as *const u8) }
}

/// A `0x…` number for error messages.
struct Hex(u64);

impl core::fmt::Display for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Starts every CPU the device tree lists besides this one (up to
/// `MAX_CPUS` in all) and waits, bounded, for each to report; returns how
/// many PEs are online, this one included.
fn start_secondaries(p: &Platform) -> usize {
    let me = MPIDR_EL1.get();
    ONLINE[0].store(me, Ordering::Relaxed);
    let Some(psci_node) = p.psci else {
        return 1;
    };
    if !psci_node.standard_ids {
        // aarch64-rt's start_core uses the PSCI 0.2 CPU_ON ID (0xc400_0003).
        fail("/psci is PSCI 0.1 only (compatible lacks arm,psci-0.2); its function IDs are not supported", None);
    }
    CONDUIT.store(matches!(psci_node.conduit, PsciConduit::Smc) as u8, Ordering::Relaxed);
    let mut online = 1;
    for &mpidr in p.cpus.mpidrs() {
        if mpidr & MPIDR_AFFINITY == me & MPIDR_AFFINITY {
            continue;
        }
        if online == MAX_CPUS {
            break;
        }
        let slot = online;
        let started = match psci_node.conduit {
            PsciConduit::Hvc => psci::start_via::<smccc::Hvc>(slot, mpidr, secondary_main),
            PsciConduit::Smc => psci::start_via::<smccc::Smc>(slot, mpidr, secondary_main),
        };
        if let Err(e) = started {
            let mut l = Line::new();
            let _ = core::fmt::Write::write_fmt(
                &mut l,
                format_args!("{{\"error\":\"PSCI CPU_ON of MPIDR {:#x} failed: {:?}\"}}", mpidr, e),
            );
            l.emit_now();
            exit(KernelExit::BadPlatform);
        }
        if !timer::wait_until(CPU_ON_BOUND_MS, || ONLINE[slot].load(Ordering::Acquire) != 0) {
            fail("a secondary PE did not report within 2 s of CPU_ON; MPIDR", Some(&Hex(mpidr)));
        }
        online += 1;
    }
    online
}

/// A secondary PE: reports its `MPIDR_EL1`, then powers itself off.
fn secondary_main(slot: usize) -> ! {
    ONLINE[slot].store(MPIDR_EL1.get(), Ordering::Release);
    let _ = if CONDUIT.load(Ordering::Relaxed) == 1 {
        smccc::psci::cpu_off::<smccc::Smc>()
    } else {
        smccc::psci::cpu_off::<smccc::Hvc>()
    };
    // CPU_OFF does not return when it succeeds. If it failed, this PE has
    // nothing left to do: it idles until CPU0 ends the run.
    loop {
        aarch64_cpu::asm::wfe();
    }
}

/// Reads a 32-bit distributor register (offset `off` from `GICD`).
fn gicd_read(p: &Platform, off: u64) -> u32 {
    // SAFETY: GICD_TYPER (0x004) and GICD_IIDR (0x008) are read-only ID
    // registers of the distributor the device tree names, present in both
    // GICv2 and GICv3 frames (IHI 0048B 4.3, IHI 0069H 12.9); reading them
    // has no side effect. The MMU is off, so the access is Device-nGnRnE.
    unsafe { core::ptr::read_volatile((p.gic.gicd.base + off) as *const u32) }
}

fn header(p: &Platform, dtb: u64, online: usize) {
    let g = &p.gic;
    let mut l = Line::new();
    l.raw("{").key("header").raw("{");
    l.num("schema", proto::EVENT_SCHEMA as u64);
    l.str("kernel", env!("CARGO_PKG_VERSION"));
    l.str("view", "guest");
    l.num("EL", CurrentEL.read(CurrentEL::EL));
    l.str("gic", g.version.name());
    l.hex("GICD", g.gicd.base);
    for (name, frame) in [("GICC", g.gicc), ("GICH", g.gich), ("GICV", g.gicv)] {
        if let Some(r) = frame {
            l.hex(name, r.base);
        }
    }
    if let Some(r) = g.redistributors().first() {
        l.hex("GICR", r.base).num("GICR_regions", g.redistributors().len() as u64);
    }
    if let Some(r) = g.its {
        l.hex("ITS", r.base);
    }
    l.hex("GICD_TYPER", gicd_read(p, 0x004) as u64).hex("GICD_IIDR", gicd_read(p, 0x008) as u64);
    if let Some(r) = p.uart {
        l.hex("UART", r.base);
    }
    l.hex("RAM", p.ram.base).hex("RAM_size", p.ram.size).hex("DTB", dtb);
    match p.psci {
        Some(s) => l.str("psci", s.conduit.name()),
        None => l.str("psci", "none"),
    };
    if let Some(t) = p.timer {
        l.key("timer").raw("{").num("phys", t.phys as u64).num("virt", t.virt as u64);
        if let Some(h) = t.hyp_phys {
            l.num("hyp_phys", h as u64);
        }
        l.raw("}");
    }
    l.num("cpus", p.cpus.count as u64);
    l.key("online").raw("[");
    for (i, cpu) in ONLINE[..online].iter().enumerate() {
        if i > 0 {
            l.raw(",");
        }
        let _ = core::fmt::Write::write_fmt(&mut l, format_args!("\"{:#x}\"", cpu.load(Ordering::Acquire)));
    }
    l.raw("]}}");
    l.emit();
}

/// Prints a `crash` record for an exception taken at EL1 and ends the run.
fn crash(kind: &str) -> ! {
    let esr = ESR_EL1.get();
    let mut l = Line::new();
    l.raw("{").key("crash").raw("{");
    l.num("EL", 1).str("kind", kind).num("cpu", platform::cpu_index() as u64);
    l.hex("EC", ESR_EL1::EC.read(esr)).hex("ESR", esr).hex("ELR", ELR_EL1.get()).hex("FAR", FAR_EL1.get());
    l.raw("}}");
    l.emit_now();
    exit(KernelExit::Crash)
}

/// Guest mode takes no exception on purpose: every one is a crash record.
struct Handlers;

impl ExceptionHandlers for Handlers {
    extern "C" fn sync_current(_state: RegisterStateRef) {
        crash("sync")
    }
    extern "C" fn irq_current(_state: RegisterStateRef) {
        crash("irq")
    }
    extern "C" fn fiq_current(_state: RegisterStateRef) {
        crash("fiq")
    }
    extern "C" fn serror_current(_state: RegisterStateRef) {
        crash("serror")
    }
    extern "C" fn sync_lower(_state: RegisterStateRef) {
        crash("sync from EL0")
    }
    extern "C" fn irq_lower(_state: RegisterStateRef) {
        crash("irq from EL0")
    }
    extern "C" fn fiq_lower(_state: RegisterStateRef) {
        crash("fiq from EL0")
    }
    extern "C" fn serror_lower(_state: RegisterStateRef) {
        crash("serror from EL0")
    }
}

aarch64_rt::exception_handlers!(Handlers);
