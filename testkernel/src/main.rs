//! The EL2 test kernel of the GIC virtualization conformance suite.
//!
//! Boots at EL2 on QEMU `virt` (`virtualization=on`), identifies and
//! initialises the GIC, starts the PEs the case asks for, then interprets
//! the compiled case the runner loaded at `gic_case::proto::CASE_LOAD_ADDR`,
//! printing a header and one JSON event per observable result over
//! semihosting. Layers, each using only those below it: `platform` (boot,
//! vectors, PSCI, semihosting) ← `gic` (v2, v3, ITS drivers) ← `dispatch`
//! (EL2 interrupts), `hyp` (the scripted hypervisor loop), `guest` (EL1) ←
//! `interp` (the case interpreter). `traps` (guest accesses trapped to EL2,
//! and the emulation of guest SGIs) sits with `dispatch` and `hyp`.
//!
//! With the `guest` feature (and without the default `el2`) the same crate
//! builds the guest-mode kernel instead: entered at EL1 as a Linux arm64
//! Image, hardware from the device tree and the compiled case from the
//! initrd (`guest_view`), it runs the case's physical ops with the same
//! `gic` drivers, `dispatch` and `interp` at EL1, as a VM sees the GIC, and
//! refuses the ops that need the hypervisor's view. The items marked
//! `cfg(not(feature = "guest"))` are the EL2 kernel's only (`guest`, `hyp`,
//! `traps`, the EL2 header and case loader).
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

#[cfg(all(feature = "guest", feature = "el2"))]
compile_error!("`guest` builds the EL1 guest-mode kernel: build it with --no-default-features --features guest");

mod dispatch;
// Guest mode builds the GIC drivers whole but uses only their physical
// side: the virtual interface's (List Registers, `ICH_*`/`GICH_*`, vPE
// residency) is the EL2 kernel's, and `interp` refuses the ops that need it.
#[cfg_attr(feature = "guest", allow(dead_code))]
mod gic;
#[cfg(not(feature = "guest"))]
mod guest;
#[cfg(feature = "guest")]
mod guest_view;
#[cfg(not(feature = "guest"))]
mod hyp;
mod interp;
mod platform;
#[cfg(not(feature = "guest"))]
mod traps;

#[cfg(not(feature = "guest"))]
use core::sync::atomic::Ordering;

use gic_case::op::TimerKind;
use gic_case::proto;
use gic_case::proto::KernelExit;
#[cfg(not(feature = "guest"))]
use gic_case::vif::VifReg;
use gic_case::GicVersion;

use platform::out::{exit, Line};

use aarch64_rt::entry;
#[cfg(not(feature = "guest"))]
entry!(main);
#[cfg(feature = "guest")]
entry!(guest_view::main);

/// Per-PE initialisation: the timers' outputs off, the GIC CPU interface,
/// and in the EL2 kernel the virtual interface and the EL1 guest state.
pub fn init_this_pe() {
    // Timers off: their PPIs must stay quiet unless a case drives them. At
    // EL1 (guest mode) the EL2 timer's registers do not exist.
    for kind in TimerKind::ALL {
        if gic::HYP_VIEW || kind != TimerKind::Hyp {
            platform::timer::timer_output(kind, false);
        }
    }
    gic::init_cpu();
    #[cfg(not(feature = "guest"))]
    guest::init();
}

#[cfg(not(feature = "guest"))]
fn load_case() -> (GicVersion, u32, &'static [u32]) {
    let base = proto::CASE_LOAD_ADDR as *const u32;
    // SAFETY: the runner loads the case image at CASE_LOAD_ADDR, in RAM that
    // the kernel image (linked at 0x4008_0000, 32 MiB at most) does not use;
    // if nothing was loaded the words read as zero and fail the magic check.
    let hdr = unsafe { core::slice::from_raw_parts(base, proto::HEADER_WORDS) };
    let (v, cpus, n) = case_header(hdr, "no compiled case at CASE_LOAD_ADDR (bad magic)");
    // SAFETY: as above; n is bounded by MAX_CASE_WORDS.
    let ops = unsafe { core::slice::from_raw_parts(base.add(proto::HEADER_WORDS), n) };
    (v, cpus, ops)
}

/// Checks a compiled case's header (`gic_case::proto`: magic, format
/// version, GIC version, PEs, op-word count) and returns the GIC version,
/// the number of PEs and the number of op words; a bad header ends the run
/// with an `error` record and `KernelExit::BadCase` (`bad_magic` is the
/// message for a wrong magic, which names where the case was looked for).
pub fn case_header(hdr: &[u32], bad_magic: &str) -> (GicVersion, u32, usize) {
    if hdr[0] != proto::CASE_MAGIC {
        interp::fatal(KernelExit::BadCase, bad_magic);
    }
    if hdr[1] != proto::FORMAT_VERSION {
        interp::fatal(KernelExit::BadCase, "compiled case format version differs from the kernel's");
    }
    let Some(v) = GicVersion::from_number(hdr[2]) else {
        interp::fatal(KernelExit::BadCase, "compiled case names an unknown GIC version");
    };
    let cpus = hdr[3];
    let n = hdr[4] as usize;
    if cpus == 0 || cpus > proto::MAX_CPUS || n > proto::MAX_CASE_WORDS {
        interp::fatal(KernelExit::BadCase, "compiled case header out of range");
    }
    (v, cpus, n)
}

#[cfg(not(feature = "guest"))]
fn header(cpus: u32) {
    let a = gic::advertised();
    let mut l = Line::new();
    l.raw("{").key("header").raw("{");
    l.num("schema", proto::EVENT_SCHEMA as u64);
    l.str("kernel", env!("CARGO_PKG_VERSION"));
    l.str("gic", gic::version().name());
    l.num("cpus", cpus as u64);
    if !gic::group0_at_boot() {
        // gic_case::proto::BOOT_NO_GROUP0: Group 0 left disabled.
        l.num("ICC_IGRPEN0_at_boot", 0);
    }
    l.num("ArchRev", a.arch_rev as u64);
    for f in VifReg::Vtr.fields() {
        l.num(f.name, f.get(a.vtr));
    }
    // Which PPIs exist is IMPLEMENTATION DEFINED (a GIC-400 has 25-31 only):
    // the mask of PPIs 16-31 whose enable bit sticks, enables restored.
    l.num("PPIs", gic::probe_ppis() as u64);
    if gic::version().is_v3_family() {
        // ICH_VTR_EL2.TDS [19]: whether ICH_HCR_EL2.TDIR exists (IHI 0069H 12.4.12).
        l.num("TDS", (a.vtr >> 19) & 1);
    }
    l.hex("GICD_IIDR", a.gicd_iidr as u64);
    l.hex("GICD_TYPER", a.gicd_typer as u64);
    if gic::version().is_v3_family() {
        gicr_fields(&mut l, a.gicr_typer);
        gits_fields(&mut l);
    }
    l.raw("}}");
    l.emit();
}

/// The header's Redistributor fields (GICv3/v4): `GICR_TYPER` of the first
/// Redistributor, and its `PLPIS` and `VLPIS` bits.
pub fn gicr_fields(l: &mut Line, gicr_typer: u64) {
    l.hex("GICR_TYPER", gicr_typer);
    l.bool("PLPIS", gicr_typer & 1 != 0);
    l.bool("VLPIS", gicr_typer & 2 != 0);
}

/// The header's ITS fields (GICv3/v4): what the ITS advertises (IHI 0069H
/// 12.19), read-only ID registers, harmless to read whether or not the case
/// uses the ITS.
pub fn gits_fields(l: &mut Line) {
    let t = gic_case::its::GitsTyper(gic::its::typer());
    l.hex("GITS_TYPER", t.0).hex("GITS_IIDR", gic::its::iidr() as u64);
    l.bool("ITS_Physical", t.physical()).bool("ITS_Virtual", t.virtual_());
    l.num("ITT_entry_size", t.itt_entry_size() as u64).num("ITS_ID_bits", t.id_bits() as u64);
    l.num("Devbits", t.dev_bits() as u64).bool("PTA", t.pta()).bool("VMOVP", t.vmovp());
    // A number, so that cases can `requires:` it: the vLPI statements build
    // GICv4.0's commands.
    l.num("ITS_VMAPP", t.vmapp() as u64);
}

/// The EL2 kernel's entry. `x1` = [`gic_case::proto::BATCH_MAGIC`] makes it
/// run `x2` of a VMM's batch; `x3` holds boot flags
/// ([`gic_case::proto::BOOT_NO_GROUP0`]). QEMU's `-kernel` enters with
/// both 0.
#[cfg(not(feature = "guest"))]
fn main(_x0: u64, x1: u64, x2: u64, x3: u64) -> ! {
    if x1 == gic_case::proto::BATCH_MAGIC {
        platform::out::start_batch_run(x2 as u32);
        gic::set_group0_at_boot(x3 & gic_case::proto::BOOT_NO_GROUP0 == 0);
    }
    let (want, cpus, ops) = load_case();
    let found = gic::detect();
    if found != want {
        let mut l = Line::new();
        l.raw("{").str("error", "GIC version differs from the one the runner asked QEMU for");
        l.str("asked", want.name()).str("found", found.name()).raw("}");
        l.emit_now();
        exit(KernelExit::BadPlatform);
    }
    dispatch::init();
    traps::init(cpus);
    gic::init_distributor();
    init_this_pe();
    for cpu in 1..cpus as usize {
        if let Err(e) = platform::psci::start(cpu, interp::secondary_main) {
            let mut l = Line::new();
            let _ = core::fmt::Write::write_fmt(
                &mut l,
                format_args!("{{\"error\":\"PSCI CPU_ON of cpu{} failed: {:?}\"}}", cpu, e),
            );
            l.emit_now();
            exit(KernelExit::BadPlatform);
        }
        if !platform::timer::wait_until(2000, || interp::READY[cpu].load(Ordering::Acquire)) {
            interp::fatal(KernelExit::BadPlatform, "a secondary PE did not come up within 2 s");
        }
    }
    header(cpus);
    interp::run(ops);
    let mut l = Line::new();
    l.raw("{\"end\":\"ok\"}");
    l.emit();
    exit(KernelExit::Done)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut msg = Line::new();
    let _ = core::fmt::Write::write_fmt(&mut msg, format_args!("{}", info));
    let mut l = Line::new();
    l.raw("{").key("crash").raw("{").str("kind", "panic").num("cpu", platform::cpu_index() as u64);
    l.num("step", platform::current_step() as u64).str("message", msg.as_str()).raw("}}");
    l.emit_now();
    exit(KernelExit::Panic)
}
