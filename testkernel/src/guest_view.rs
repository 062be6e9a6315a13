//! Guest mode: the test kernel booted as a VM would be, at EL1, finding its
//! hardware from the device tree and its compiled case in the initrd, and
//! running the case against the GIC as a guest sees it.
//!
//! The image follows the Linux arm64 boot protocol (Linux
//! `Documentation/arch/arm64/booting.rst`): it starts with the 64-byte
//! Image header below, so a loader that boots Linux (QEMU `-kernel` on a
//! flat image, a hypervisor's domain builder) loads it at RAM base +
//! `text_offset` and enters `code0` at EL1 with MMU off and x0 = the
//! physical address of the DTB (or at EL2, which it leaves for EL1 with no
//! hypervisor: `guest_boot`). The kernel parses the DTB with
//! `gic_devtree`, takes the compiled case (the same image the EL2 kernel
//! loads, `gic_case::proto`) from the initrd (`/chosen`
//! `linux,initrd-start`/`-end`), points the GIC drivers at the frames the
//! tree names (`gic::layout`, the ITS, the PL011), starts the PEs the case
//! asks for with PSCI CPU_ON through the conduit `/psci` names (HVC on QEMU
//! without EL2 and under a hypervisor, SMC where firmware at EL3 answers),
//! prints the header and runs the case with the interpreter the EL2 kernel
//! uses, at EL1: every physical op through the physical CPU interface
//! (`ICC_*_EL1` with `ICC_SRE_EL1`, or the GICC frame), IRQs through the
//! EL1 vectors to the same dispatch. Ops that need the hypervisor's view
//! (List Registers, the virtual interface, guest steps, the maintenance
//! interrupt, the EL2 timer, vPEs) are refused before anything runs:
//! `{"error":"step N: … needs the hypervisor (EL2) view"}` and
//! `KernelExit::BadCase`, as is a missing or malformed case.
//!
//! Build, convert and boot (from the repository root; `Q` is either QEMU,
//! `target/qemu-bookworm/usr/bin/qemu-system-aarch64` (7.2) or
//! `target/qemu-backports/usr/bin/qemu-system-aarch64` (10.0), `N` is 2 or
//! 3 (for 4, `virtualization=on`: QEMU offers GICv4 only with EL2, and the
//! kernel then leaves EL2 for EL1 first, see `guest_boot` below), and `case.bin` a
//! compiled case, e.g. the one an EL2 run leaves in its log directory):
//!
//! ```text
//! (cd testkernel && cargo build --profile guest --no-default-features --features guest)
//! cargo run -q -p gic-devtree --features host --bin elf2image -- \
//!     testkernel/target/aarch64-unknown-none/guest/testkernel target/testkernel-guest.img
//! $Q -M virt,virtualization=off,gic-version=N -cpu max -smp 2 -m 512M -nodefaults -display none \
//!     -semihosting-config enable=on,target=native,chardev=semi -chardev stdio,id=semi \
//!     -kernel target/testkernel-guest.img -initrd case.bin
//! ```
//!
//! The header is `{"header":{"schema":…,"kernel":…,"view":"guest","EL":1,
//! "gic":"v3","cpus":2,"ArchRev":3,"PRIbits":…,"GICD_IIDR":…,"GICD_TYPER":…,
//! "ITLinesNumber":…,"SPIs":…,"PPIs":…,"GICR_TYPER":…,"PLPIS":…,"VLPIS":…,
//! "GITS_TYPER":…,…,"GICD":…,…,"psci":"hvc","cpu_nodes":2,"online":[MPIDR_EL1
//! of each PE that came up]}}`, then the case's events, then `{"end":"ok"}`;
//! a device tree the kernel cannot use gives `{"error":…}` and the exit
//! code `BadPlatform`. What the header reports of the GIC is what EL1 can
//! see: no `ListRegs`/`PREbits` (there is no virtual interface), and
//! `PRIbits` (implemented priority bits − 1) and `PPIs` (the implemented
//! PPIs 16–31, a bitmask) found by probing the distributor/redistributor.
//!
//! The image is linked for 0x4008_0000 and not relocatable: it runs where
//! RAM starts at 0x4000_0000 (QEMU `virt`, Xen's guest layout), which the
//! header's `text_offset` (0x8_0000) and `flags` (placement bit 3 = 0:
//! "as close as possible to the base of DRAM") ask a loader for. The ITS
//! tables go to 16 MiB of RAM that the image, the DTB (2 MiB at most) and
//! the initrd leave free: 0x5000_0000 as in the EL2 kernel when that is
//! free, else the lowest such place.
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
use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::registers::{CurrentEL, Readable, MPIDR_EL1};
use gic_case::proto::{self, KernelExit};
use gic_case::GicVersion;
use gic_devtree::{Error, Platform, PsciConduit, Region, MAX_DTB_SIZE};

use crate::gic::{self, layout};
use crate::platform::out::{exit, Line};
use crate::platform::{self, psci, timer, MAX_CPUS};
use crate::{dispatch, interp};

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
    b guest_boot
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

// Entered at EL2 (QEMU `virt,virtualization=on`, the only way QEMU offers
// a GICv4; booting.rst allows EL2 entry), the kernel makes itself an EL1
// kernel with no hypervisor: `guest_el2_to_el1` gives EL1 the machine
// (HCR_EL2.RW = 1 and nothing else: no stage 2, no traps, IMO/FMO = 0 so
// that physical interrupts go to EL1 and EL1's ICC_* registers are the
// physical CPU interface; CPTR_EL2 without the FP trap; CNTHCTL_EL2
// EL1PCTEN/EL1PCEN and CNTVOFF_EL2 = 0 for the EL1 timers; VMPIDR_EL2 and
// VPIDR_EL2 the PE's own IDs; ICC_SRE_EL2 SRE and Enable, when the GIC has
// a system-register interface, so EL1 may set ICC_SRE_EL1.SRE), then
// returns to EL1h with DAIF masked at the usual entry. x0-x3 (the DTB
// address and the boot protocol's zeros) pass through unchanged. A
// secondary PE started with CPU_ON enters at the same EL as the primary
// (`guest_secondary`, which `psci::start_at` gives CPU_ON in place of
// aarch64-rt's `secondary_entry`) and does the same, keeping x0 (its
// stack). Entered at EL1, both go straight on.
global_asm!(
    r#"
.section .text.guest_boot, "ax"
.global guest_boot
guest_boot:
    mrs x9, CurrentEL
    cmp x9, #(2 << 2)
    b.ne entry
    bl guest_el2_to_el1
    adr x9, entry
    msr elr_el2, x9
    eret

.global guest_secondary
guest_secondary:
    mrs x9, CurrentEL
    cmp x9, #(2 << 2)
    b.ne {secondary_entry}
    bl guest_el2_to_el1
    adr x9, {secondary_entry}
    msr elr_el2, x9
    eret

guest_el2_to_el1:
    mov x9, #(1 << 31)
    msr hcr_el2, x9
    mov x9, #0x33ff
    msr cptr_el2, x9
    mov x9, #3
    msr cnthctl_el2, x9
    msr cntvoff_el2, xzr
    msr vttbr_el2, xzr
    mrs x9, midr_el1
    msr vpidr_el2, x9
    mrs x9, mpidr_el1
    msr vmpidr_el2, x9
    mrs x9, id_aa64pfr0_el1
    ubfx x9, x9, #24, #4
    cbz x9, 1f
    mov x9, #0x9
    msr S3_4_C12_C9_5, x9
1:
    mov x9, #0x3c5
    msr spsr_el2, x9
    isb
    ret
"#,
    secondary_entry = sym aarch64_rt::secondary_entry,
);

unsafe extern "C" {
    /// The secondary PEs' entry (see `guest_boot` above).
    pub(crate) fn guest_secondary();
    /// First byte of the image (the header above).
    static guest_image_header: u8;
    /// End of the image, `.bss` and stacks included (aarch64-rt's image.ld).
    static dma_region: u8;
}

/// `MPIDR_EL1` of each PE that came up, by PE number (0: not yet; the
/// register's bit 31 is RES1, so a reported value is never 0).
static ONLINE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Affinity fields of an MPIDR (Aff3 in 39:32, Aff2..Aff0 in 23:0), as the
/// device tree's `cpu` `reg` holds them.
const MPIDR_AFFINITY: u64 = 0xff_00ff_ffff;

/// How long a secondary PE may take to report, in milliseconds.
const CPU_ON_BOUND_MS: u32 = 2000;

/// Alignment of the ITS memory (the ITS tables need 64 KiB).
const ITS_MEMORY_ALIGN: u64 = 64 * 1024;

/// Prints `{"error":"<msg>[: <detail>]"}` and ends the run with `code`.
fn fail_with(code: KernelExit, msg: &str, detail: Option<&dyn core::fmt::Display>) -> ! {
    let mut text = Line::new();
    let _ = match detail {
        Some(d) => core::fmt::Write::write_fmt(&mut text, format_args!("{msg}: {d}")),
        None => core::fmt::Write::write_str(&mut text, msg),
    };
    let mut l = Line::new();
    l.raw("{").str("error", text.as_str()).raw("}");
    l.emit_now();
    exit(code)
}

/// The platform is not one the kernel can run on: `KernelExit::BadPlatform`.
fn fail(msg: &str, detail: Option<&dyn core::fmt::Display>) -> ! {
    fail_with(KernelExit::BadPlatform, msg, detail)
}

/// The initrd holds no usable case: `KernelExit::BadCase`.
fn bad_case(msg: &str, detail: Option<&dyn core::fmt::Display>) -> ! {
    fail_with(KernelExit::BadCase, msg, detail)
}

/// The guest-mode entry (aarch64-rt's `entry!`): x0 is the DTB's address.
pub fn main(x0: u64, _x1: u64, _x2: u64, _x3: u64) -> ! {
    let el = CurrentEL.read(CurrentEL::EL);
    if el != 1 {
        fail("guest mode must be entered at EL1", Some(&el));
    }
    let platform = discover(x0).unwrap_or_else(|e| fail("the device tree (x0) cannot be used", Some(&e)));
    if let Some(n) = platform.batch_run {
        // The conduit first: even a bad case ends this VM with SYSTEM_OFF.
        if let Some(s) = platform.psci {
            psci::set_conduit_hvc(s.conduit == PsciConduit::Hvc);
        }
        crate::platform::out::start_batch_run(n);
    }
    let (want, cpus, ops) = load_case(&platform);
    interp::check_view(ops);
    configure(&platform, x0);
    let found = gic::detect();
    let dt_v3 = platform.gic.version == gic_devtree::GicVersion::V3;
    if found.is_v3_family() != dt_v3 {
        fail_with(
            KernelExit::BadPlatform,
            "the device tree's GIC and the CPU's (ID_AA64PFR0_EL1.GIC) disagree; the device tree says",
            Some(&platform.gic.version.name()),
        );
    }
    if found != want {
        let mut l = Line::new();
        l.raw("{").str("error", "GIC version differs from the one the case was compiled for");
        l.str("asked", want.name()).str("found", found.name()).raw("}");
        l.emit_now();
        exit(KernelExit::BadPlatform);
    }
    dispatch::init();
    gic::init_distributor();
    crate::init_this_pe();
    start_secondaries(&platform, cpus as usize);
    header(&platform, x0, cpus);
    interp::run(ops);
    let mut l = Line::new();
    l.raw("{\"end\":\"ok\"}");
    l.emit();
    exit(KernelExit::Done)
}

/// The kernel image in memory: its first byte and the first byte after it.
fn image() -> (u64, u64) {
    (&raw const guest_image_header as u64, &raw const dma_region as u64)
}

/// Parses the DTB at `dtb` after checking what the boot protocol promises:
/// 8-byte aligned, not inside this image.
fn discover(dtb: u64) -> Result<Platform, Error> {
    let (start, end) = image();
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

/// Whether `[a, a + a_len)` and `[b, b + b_len)` share a byte.
fn overlaps(a: u64, a_len: u64, b: u64, b_len: u64) -> bool {
    a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
}

/// The compiled case in the initrd, checked as the EL2 kernel checks the one
/// at `CASE_LOAD_ADDR` (magic, format version, GIC version, PEs, size), and
/// also against the initrd's extent: the GIC version it was compiled for,
/// its PEs and its op words. A missing or bad case ends the run with
/// `KernelExit::BadCase`.
fn load_case(p: &Platform) -> (GicVersion, u32, &'static [u32]) {
    let Some(r) = p.initrd else {
        bad_case(
            "no initrd: guest mode takes the compiled case as the initrd (QEMU -initrd CASE.bin), \
             and /chosen has no linux,initrd-start",
            None,
        );
    };
    if !r.base.is_multiple_of(4) {
        bad_case("the initrd (the compiled case) is not 4-byte aligned; it starts at", Some(&Hex(r.base)));
    }
    let ram_end = p.ram.base.saturating_add(p.ram.size);
    if r.base < p.ram.base || r.base.saturating_add(r.size) > ram_end {
        bad_case("the initrd lies outside the device tree's RAM; it starts at", Some(&Hex(r.base)));
    }
    let (start, end) = image();
    if overlaps(r.base, r.size, start, end - start) {
        bad_case("the initrd overlaps the kernel image; it starts at", Some(&Hex(r.base)));
    }
    let header_bytes = (proto::HEADER_WORDS * 4) as u64;
    if r.size < header_bytes {
        bad_case("the initrd is smaller than a compiled case's header; its size in bytes", Some(&r.size));
    }
    let base = r.base as *const u32;
    // SAFETY: the initrd is RAM the loader filled and leaves alone
    // (booting.rst), inside the device tree's RAM and outside this image
    // (checked above), 4-byte aligned (checked above) and at least
    // HEADER_WORDS words long (checked above); the MMU is off, so the
    // physical address is usable as is.
    let hdr = unsafe { core::slice::from_raw_parts(base, proto::HEADER_WORDS) };
    let (v, cpus, n) = crate::case_header(hdr, "no compiled case in the initrd (bad magic)");
    let needed = header_bytes + 4 * n as u64;
    if needed > r.size {
        bad_case("the initrd ends before the op words its header announces; bytes needed", Some(&needed));
    }
    // SAFETY: as above; the initrd holds the header and the n op words
    // (checked above), n at most MAX_CASE_WORDS, and nothing writes it.
    let ops = unsafe { core::slice::from_raw_parts(base.add(proto::HEADER_WORDS), n) };
    (v, cpus, ops)
}

/// Points the drivers at the device tree's hardware: the GIC frames, the
/// ITS and its memory, the PL011, and the PSCI conduit.
fn configure(p: &Platform, dtb: u64) {
    let g = &p.gic;
    let base = |r: Option<Region>| r.map(|r| r.base as usize);
    let mut gicr = [None; layout::MAX_GICR_REGIONS];
    for (slot, r) in gicr.iter_mut().zip(g.redistributors()) {
        *slot = Some((r.base as usize, r.size as usize));
    }
    layout::set(&layout::Layout {
        gicd: g.gicd.base as usize,
        gicc: base(g.gicc),
        gich: base(g.gich),
        gicv: base(g.gicv),
        gicr,
        gits: base(g.its),
    });
    platform::uart::set_base(p.uart.map(|r| r.base));
    gic::its::set_memory(its_memory(p, dtb).map(|a| a as usize));
    if let Some(s) = p.psci {
        psci::set_conduit_hvc(s.conduit == PsciConduit::Hvc);
    }
}

/// Where the ITS tables go: `gic::its::ITS_MEMORY_SIZE` bytes of the
/// device tree's RAM, 64 KiB aligned, clear of the image, the DTB (its 2 MiB
/// maximum) and the initrd; the EL2 kernel's 0x5000_0000 when that is
/// free, else the lowest such place (which starts at the RAM's base or
/// right after one of those).
fn its_memory(p: &Platform, dtb: u64) -> Option<u64> {
    let size = gic::its::ITS_MEMORY_SIZE as u64;
    let (start, end) = image();
    let initrd = p.initrd.unwrap_or_default();
    let taken = [(start, end - start), (dtb, MAX_DTB_SIZE as u64), (initrd.base, initrd.size)];
    let ram_end = p.ram.base.saturating_add(p.ram.size);
    let fits = |a: u64| {
        a >= p.ram.base && a.saturating_add(size) <= ram_end && taken.iter().all(|&(b, len)| !overlaps(a, size, b, len))
    };
    let preferred = gic::its::QEMU_VIRT_ITS_MEMORY as u64;
    if fits(preferred) {
        return Some(preferred);
    }
    core::iter::once(p.ram.base)
        .chain(taken.iter().map(|&(b, len)| b.saturating_add(len)))
        .map(|a| a.next_multiple_of(ITS_MEMORY_ALIGN))
        .filter(|&a| fits(a))
        .min()
}

/// A `0x…` number for error messages.
struct Hex(u64);

impl core::fmt::Display for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Starts PEs 1 to `cpus` − 1 (the case's PEs) and waits, bounded, for each
/// to initialise. The case language numbers PEs by `MPIDR_EL1.Aff0` (as QEMU
/// `virt` does, and as the SGI, routing and ITS ops use them), so PE n is
/// the device tree's CPU whose affinity is this PE's with Aff0 = n; this
/// PE must be PE 0.
fn start_secondaries(p: &Platform, cpus: usize) {
    let me = MPIDR_EL1.get();
    ONLINE[0].store(me, Ordering::Relaxed);
    if me & 0xff != 0 {
        fail("the boot PE's MPIDR_EL1.Aff0 is not 0 (the case language numbers PEs by Aff0)", Some(&Hex(me)));
    }
    if cpus <= 1 {
        return;
    }
    if cpus > p.cpus.count {
        fail("the case asks for more PEs than the device tree lists; it lists", Some(&p.cpus.count));
    }
    let Some(psci_node) = p.psci else {
        fail("the case needs more than one PE and the device tree has no /psci to start them", None);
    };
    if !psci_node.standard_ids {
        // aarch64-rt's start_core uses the PSCI 0.2 CPU_ON ID (0xc400_0003).
        fail("/psci is PSCI 0.1 only (compatible lacks arm,psci-0.2); its function IDs are not supported", None);
    }
    for cpu in 1..cpus {
        let mpidr = (me & MPIDR_AFFINITY & !0xff) | cpu as u64;
        if !p.cpus.mpidrs().iter().any(|&m| m & MPIDR_AFFINITY == mpidr) {
            fail("the device tree has no CPU for a PE the case uses; MPIDR", Some(&Hex(mpidr)));
        }
        if let Err(e) = psci::start_at(cpu, mpidr, secondary_main) {
            let mut l = Line::new();
            let _ = core::fmt::Write::write_fmt(
                &mut l,
                format_args!("{{\"error\":\"PSCI CPU_ON of MPIDR {:#x} failed: {:?}\"}}", mpidr, e),
            );
            l.emit_now();
            exit(KernelExit::BadPlatform);
        }
        if !timer::wait_until(CPU_ON_BOUND_MS, || interp::READY[cpu].load(Ordering::Acquire)) {
            fail("a secondary PE did not come up within 2 s of CPU_ON; MPIDR", Some(&Hex(mpidr)));
        }
        // The PE must read the identity it was started for: events, SGI
        // targets and routing all number PEs by MPIDR_EL1.Aff0. (Seen once
        // under KVM in Linux 6.1 on QEMU 7.2: vCPU 1 read vCPU 0's MPIDR.)
        let seen = ONLINE.get(cpu).map_or(0, |m| m.load(Ordering::Acquire));
        if seen & MPIDR_AFFINITY != mpidr {
            let mut l = Line::new();
            let _ = core::fmt::Write::write_fmt(
                &mut l,
                format_args!(
                    "{{\"error\":\"the PE started by PSCI CPU_ON for MPIDR {mpidr:#x} reads MPIDR_EL1 {seen:#x}: \
                     the platform gives it another PE's identity\"}}"
                ),
            );
            l.emit_now();
            exit(KernelExit::BadPlatform);
        }
    }
}

/// A secondary PE: records its `MPIDR_EL1`, then initialises and serves the
/// case's `on cpuN` blocks (powering itself off when left idle).
fn secondary_main(cpu: usize) -> ! {
    ONLINE[cpu].store(MPIDR_EL1.get(), Ordering::Release);
    interp::secondary_main(cpu)
}

fn header(p: &Platform, dtb: u64, cpus: u32) {
    let g = &p.gic;
    let a = gic::advertised();
    let mut l = Line::new();
    l.raw("{").key("header").raw("{");
    l.num("schema", proto::EVENT_SCHEMA as u64);
    l.str("kernel", env!("CARGO_PKG_VERSION"));
    l.str("view", "guest");
    l.num("EL", CurrentEL.read(CurrentEL::EL));
    l.str("gic", gic::version().name());
    l.num("cpus", cpus as u64);
    l.num("ArchRev", a.arch_rev as u64);
    // The EL2 header's convention (ICH_VTR_EL2.PRIbits): implemented bits − 1.
    l.num("PRIbits", gic::probe_priority_bits().count_ones().saturating_sub(1) as u64);
    l.hex("GICD_IIDR", a.gicd_iidr as u64);
    l.hex("GICD_TYPER", a.gicd_typer as u64);
    let it_lines = a.gicd_typer & 0x1f;
    l.num("ITLinesNumber", it_lines as u64);
    // SPI INTIDs 32 .. 32 × (ITLinesNumber + 1), the last below 1020.
    l.num("SPIs", (32 * (it_lines + 1) - 32).min(988) as u64);
    l.num("PPIs", gic::probe_ppis() as u64);
    // GICD_TYPER.SecurityExtn [10]: 0 when the GIC supports one Security
    // state only (IHI 0048B 4.3.2, IHI 0069H GICD_TYPER).
    l.num("SecurityExtn", ((a.gicd_typer >> 10) & 1) as u64);
    if gic::version().is_v3_family() {
        // ICC_CTLR_EL1.PRIbits [10:8]: the CPU interface's priority bits − 1,
        // which also sets its preemption bits and so how many
        // ICC_AP<n>R<m>_EL1 it has (IHI 0069H ICC_CTLR_EL1, 4.8).
        // SAFETY: the physical ICC_CTLR_EL1, accessible at EL1 with SRE set.
        let ctlr = unsafe { gic::sysreg::read(gic_case::regs::SysReg::IccCtlrEl1Phys) };
        l.num("ICC_PRIbits", (ctlr >> 8) & 7);
        // GICD_TYPER.No1N [25]: 1 of N distribution (IROUTER.IRM = 1) not
        // supported, IRM then RAZ/WI (IHI 0069H GICD_TYPER, GICD_IROUTER<n>).
        l.num("No1N", ((a.gicd_typer >> 25) & 1) as u64);
        crate::gicr_fields(&mut l, a.gicr_typer);
        if layout::gits().is_some() {
            crate::gits_fields(&mut l);
        }
    }
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
    if let Some(r) = p.uart {
        l.hex("UART", r.base);
    }
    // Whether the platform has an ITS and a UART whose interrupt line the
    // `its` and `uart irq` statements drive (a VM of KVM or Xen has neither
    // here): cases that need them `require` these.
    l.num("has_ITS", g.its.is_some() as u64).num("has_UART", p.uart.is_some() as u64);
    l.hex("RAM", p.ram.base).hex("RAM_size", p.ram.size).hex("DTB", dtb);
    if let Some(r) = p.initrd {
        l.hex("initrd", r.base).hex("initrd_size", r.size);
    }
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
    l.num("cpu_nodes", p.cpus.count as u64);
    l.key("online").raw("[");
    for (i, cpu) in ONLINE[..cpus as usize].iter().enumerate() {
        if i > 0 {
            l.raw(",");
        }
        let _ = core::fmt::Write::write_fmt(&mut l, format_args!("\"{:#x}\"", cpu.load(Ordering::Acquire)));
    }
    l.raw("]}}");
    l.emit();
}
