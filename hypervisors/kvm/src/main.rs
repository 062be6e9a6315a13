//! The KVM target's VMM: runs the guest-mode test kernel (an arm64 Linux
//! Image) with one compiled case as a KVM virtual machine, the way a VMM
//! such as Firecracker or crosvm runs a Linux guest, so that the GIC the
//! guest sees is KVM's in-kernel vGIC.
//!
//! ```text
//! gicv-kvm-vmm --image /guest.img --case /case.bin --gic 3 --smp 2 [--run N] [--timeout-ms MS] [--el2 [--no-group0-at-boot]]
//! ```
//!
//! In a batch (several cases in one Linux boot, one VM each, the runner's
//! `/init` starting this process once per case) `--run N` writes `/chosen`
//! `gicv,run = <N>`, which makes the guest mark its output as run N and end
//! with PSCI SYSTEM_OFF instead of semihosting SYS_EXIT; `--timeout-ms`
//! bounds the VM's life: when it has not ended in time this process says
//! so on stderr and exits 124 (as `timeout(1)` does), which ends the VM.
//! A VM stopped at its bound first has the host-kernel stacks of this
//! process's running threads printed (`/proc/self/task/*/stack`, four
//! samples 50 ms apart), which name the KVM function a vCPU that no longer
//! runs guest code is stuck in. `--el2` starts the vCPUs at virtual EL2
//! (`KVM_ARM_VCPU_HAS_EL2` with `HAS_EL2_E2H0`: nested virtualization,
//! without VHE), for the EL2 test kernel as a guest hypervisor; its flat
//! image goes where the Image goes (its link address, 0x4008_0000) and
//! its case at 0x4800_0000 (the initrd's place, the EL2 kernel's
//! `CASE_LOAD_ADDR`). The EL2 kernel reads no device tree: with `--run N`
//! it gets x1 = `gic_case::proto::BATCH_MAGIC`, x2 = N and x3 = its boot
//! flags, `BOOT_NO_GROUP0` with `--no-group0-at-boot` (see there why).
//! Every exit prints `gicv-run N vm-ms T` on stderr first (T: the
//! milliseconds since this process started, the VM's creation and life;
//! N is 0 without `--run`).
//!
//! The VM: RAM at 0x4000_0000 (256 MiB; 288 MiB with `--el2`); the Image at RAM + 0x8_0000 (its
//! `text_offset`); the case as the initrd at 0x4800_0000; a device tree at
//! 0x4820_0000 (vm-fdt) naming the memory, the CPUs (vCPU n has MPIDR
//! Aff0 = n, `enable-method = "psci"`), PSCI 0.2 over HVC (KVM answers it
//! in the kernel, CPU_ON included), the vGIC (v3: Distributor 0x0800_0000,
//! Redistributors from 0x080a_0000; v2: Distributor 0x0800_0000, CPU
//! interface 0x0801_0000, the QEMU `virt` addresses), the generic timer's
//! PPIs, with a vGICv3 KVM's vITS (`GITS` at 0x0808_0000, QEMU `virt`'s,
//! a child `msi-controller` node of the GIC), a PL011 UART at 0x0900_0000
//! with its interrupt on SPI 1 (INTID 33, level, as on QEMU `virt`), whose
//! registers this process emulates just enough for its interrupt line
//! ([`Pl011`], driven with `KVM_IRQ_LINE`), and `/chosen`
//! `linux,initrd-start`/`-end`. vCPU 0 starts at the
//! Image with x0 = the device tree (Linux arm64 boot protocol); the others
//! are powered off until the guest's PSCI CPU_ON.
//!
//! The guest reports through semihosting (HLT #0xF000), which the outermost
//! QEMU answers directly; without `--run` it ends the whole machine with
//! semihosting SYS_EXIT. This process only runs the vCPUs. It exits 0 when
//! the guest powers the VM off (PSCI SYSTEM_OFF), 124 at `--timeout-ms`, 3
//! on an exit it cannot handle, 2 on bad arguments or a KVM call that
//! fails, each with a message on stderr.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kvm_bindings::*;
use kvm_ioctls::{DeviceFd, Kvm, VcpuExit, VcpuFd, VmFd};
use vm_fdt::FdtWriter;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

const RAM_BASE: u64 = 0x4000_0000;
/// The guest-mode kernel's RAM.
const RAM_SIZE: u64 = 256 << 20;
/// The EL2 kernel's RAM (`--el2`): up to its ITS tables' 16 MiB at
/// 0x5000_0000, and a little more.
const RAM_SIZE_EL2: u64 = 288 << 20;
const IMAGE_AT: u64 = RAM_BASE + 0x8_0000;
const INITRD_AT: u64 = 0x4800_0000;
const DTB_AT: u64 = 0x4820_0000;
const GICD: u64 = 0x0800_0000;
const GICD_SIZE_V3: u64 = 0x1_0000;
const GICR: u64 = 0x080a_0000;
const GICR_STRIDE: u64 = 0x2_0000;
const GICC: u64 = 0x0801_0000;
const GITS: u64 = 0x0808_0000;
const GITS_SIZE: u64 = 0x2_0000;
const UART: u64 = 0x0900_0000;
const UART_SIZE: u64 = 0x1000;
/// The UART's SPI: 1, INTID 33.
const UART_SPI: u32 = 1;

/// The PL011's interrupt output, as its registers define it (Arm PrimeCell
/// UART (PL011) TRM, DDI 0183, 3.3 and 3.4): transmitting a byte while
/// `UARTCR.UARTEN` and `TXE` are set raises the raw transmit interrupt
/// (`UARTRIS.TXRIS`, bit 5: with the FIFOs disabled the holding register
/// empties at once here, no byte goes anywhere), `UARTICR` clears raw
/// interrupts, and the line `UARTINTR` is `UARTRIS & UARTIMSC` != 0. Other
/// registers read their stored value or 0; the flag register says the
/// transmitter is empty (`TXFE`, bit 7) and not busy; the identification
/// registers read the PL011's (3.3.14-3.3.15).
#[derive(Default)]
struct Pl011 {
    cr: u32,
    imsc: u32,
    ris: u32,
    level: bool,
}

impl Pl011 {
    const DR: u64 = 0x000;
    const FR: u64 = 0x018;
    const CR: u64 = 0x030;
    const IMSC: u64 = 0x038;
    const RIS: u64 = 0x03c;
    const MIS: u64 = 0x040;
    const ICR: u64 = 0x044;
    const TXRIS: u32 = 1 << 5;
    const TX_ON: u32 = 1 | (1 << 8);

    fn read(&self, off: u64) -> u32 {
        const ID: [u32; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];
        match off {
            Self::FR => 1 << 7,
            Self::CR => self.cr,
            Self::IMSC => self.imsc,
            Self::RIS => self.ris,
            Self::MIS => self.ris & self.imsc,
            0xfe0..=0xffc => ID[((off - 0xfe0) / 4) as usize],
            _ => 0,
        }
    }

    /// Applies a write; returns the line's new level if it changed.
    fn write(&mut self, off: u64, v: u32) -> Option<bool> {
        match off {
            Self::DR if self.cr & Self::TX_ON == Self::TX_ON => self.ris |= Self::TXRIS,
            Self::CR => self.cr = v,
            Self::IMSC => self.imsc = v,
            Self::ICR => self.ris &= !v,
            _ => {}
        }
        let level = self.ris & self.imsc != 0;
        (level != self.level).then(|| {
            self.level = level;
            level
        })
    }
}

struct Args {
    image: PathBuf,
    case: PathBuf,
    gic: u32,
    smp: u32,
    run: Option<u32>,
    timeout_ms: Option<u64>,
    el2: bool,
    no_group0: bool,
}

impl Args {
    fn ram_size(&self) -> u64 {
        if self.el2 {
            RAM_SIZE_EL2
        } else {
            RAM_SIZE
        }
    }
}

/// The batch run number (`--run`), for [`finish`].
static RUN: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
/// When this process started, for [`finish`].
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
/// `KVM_CAP_ARM_EL2` (Linux `include/uapi/linux/kvm.h`, since 6.16; not in
/// kvm-bindings 0.14): non-zero when KVM can give a vCPU virtual EL2.
const KVM_CAP_ARM_EL2: u64 = 240;

/// The exit status when the VM outlives `--timeout-ms`.
const TIMED_OUT: i32 = 124;

/// Set by the watchdog when the VM outlived `--timeout-ms`: from then on
/// only the watchdog ends the process (with [`TIMED_OUT`]), even if the
/// guest ends the VM while the watchdog samples the threads' stacks.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints the run's time in the VM (`gicv-run N vm-ms T`) and exits with `code`.
fn finish(code: i32) -> ! {
    if code != TIMED_OUT && STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    let ms = START.get().map_or(0, |s| s.elapsed().as_millis());
    eprintln!("gicv-run {} vm-ms {ms}", RUN.get().copied().unwrap_or(0));
    std::process::exit(code)
}

fn fail(msg: impl std::fmt::Display, code: i32) -> ! {
    eprintln!("gicv-kvm-vmm: {msg}");
    finish(code)
}

fn args() -> Args {
    let mut a = Args {
        image: PathBuf::new(),
        case: PathBuf::new(),
        gic: 3,
        smp: 1,
        run: None,
        timeout_ms: None,
        el2: false,
        no_group0: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        if k == "--el2" || k == "--no-group0-at-boot" {
            a.el2 |= k == "--el2";
            a.no_group0 |= k == "--no-group0-at-boot";
            continue;
        }
        let v = it.next().unwrap_or_else(|| fail(format!("{k} needs a value"), 2));
        match k.as_str() {
            "--image" => a.image = v.into(),
            "--case" => a.case = v.into(),
            "--gic" => a.gic = v.parse().unwrap_or_else(|_| fail("--gic takes 2 or 3", 2)),
            "--smp" => a.smp = v.parse().unwrap_or_else(|_| fail("--smp takes a number", 2)),
            "--run" => a.run = Some(v.parse().unwrap_or_else(|_| fail("--run takes a number", 2))),
            "--timeout-ms" => a.timeout_ms = Some(v.parse().unwrap_or_else(|_| fail("--timeout-ms takes a number", 2))),
            _ => fail(
                format!(
                    "unknown option {k}; usage: --image IMG --case BIN --gic 2|3 --smp N [--run N] [--timeout-ms MS] [--el2 \
                     [--no-group0-at-boot]]"
                ),
                2,
            ),
        }
    }
    if !(1..=8).contains(&a.smp) || !(a.gic == 2 || a.gic == 3) {
        fail("--smp 1-8 and --gic 2 or 3", 2);
    }
    a
}

fn core_reg(offset_bytes: u64) -> u64 {
    KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE as u64 | (offset_bytes / 4)
}
/// `offsetof(struct kvm_regs, regs.regs[n])`, `regs.pc`.
const fn x_reg(n: u64) -> u64 {
    n * 8
}
const REG_PC: u64 = 32 * 8;

fn set_attr(dev: &DeviceFd, group: u32, attr: u64, addr: u64) {
    dev.set_device_attr(&kvm_device_attr { group, attr, addr, flags: 0 })
        .unwrap_or_else(|e| fail(format!("vGIC attribute {group}/{attr}: {e}"), 2));
}

/// Creates the in-kernel vGIC of version `gic` with its frames where the
/// device tree says; `CTRL_INIT` comes after every vCPU exists.
fn create_vgic(vm: &VmFd, gic: u32) -> DeviceFd {
    let type_ =
        if gic == 3 { kvm_device_type_KVM_DEV_TYPE_ARM_VGIC_V3 } else { kvm_device_type_KVM_DEV_TYPE_ARM_VGIC_V2 };
    let mut cd = kvm_create_device { type_, fd: 0, flags: 0 };
    let dev = vm
        .create_device(&mut cd)
        .unwrap_or_else(|e| fail(format!("KVM offers no vGICv{gic} here ({e}); on a GICv3 host KVM has no vGICv2"), 2));
    let addrs: [(u64, u64); 2] = if gic == 3 {
        [(KVM_VGIC_V3_ADDR_TYPE_DIST as u64, GICD), (KVM_VGIC_V3_ADDR_TYPE_REDIST as u64, GICR)]
    } else {
        [(KVM_VGIC_V2_ADDR_TYPE_DIST as u64, GICD), (KVM_VGIC_V2_ADDR_TYPE_CPU as u64, GICC)]
    };
    for (attr, base) in addrs {
        set_attr(&dev, KVM_DEV_ARM_VGIC_GRP_ADDR, attr, &base as *const u64 as u64);
    }
    dev
}

/// Creates KVM's vITS at [`GITS`] (after the vGICv3's `CTRL_INIT`).
fn create_vits(vm: &VmFd) -> DeviceFd {
    let mut cd = kvm_create_device { type_: kvm_device_type_KVM_DEV_TYPE_ARM_VGIC_ITS, fd: 0, flags: 0 };
    let dev = vm.create_device(&mut cd).unwrap_or_else(|e| fail(format!("KVM offers no vITS here: {e}"), 2));
    set_attr(&dev, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE as u64, &GITS as *const u64 as u64);
    set_attr(&dev, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT as u64, 0);
    dev
}

/// The guest's device tree (see the module docs).
fn device_tree(a: &Args, initrd_len: u64) -> Result<Vec<u8>, vm_fdt::Error> {
    let mut f = FdtWriter::new()?;
    let root = f.begin_node("")?;
    f.property_string("compatible", "linux,dummy-virt")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_u32("interrupt-parent", 1)?;

    let chosen = f.begin_node("chosen")?;
    f.property_u64("linux,initrd-start", INITRD_AT)?;
    f.property_u64("linux,initrd-end", INITRD_AT + initrd_len)?;
    if let Some(n) = a.run {
        f.property_u32("gicv,run", n)?;
    }
    f.end_node(chosen)?;

    let mem = f.begin_node(&format!("memory@{RAM_BASE:x}"))?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &[RAM_BASE, a.ram_size()])?;
    f.end_node(mem)?;

    let cpus = f.begin_node("cpus")?;
    f.property_u32("#address-cells", 1)?;
    f.property_u32("#size-cells", 0)?;
    for n in 0..a.smp {
        let cpu = f.begin_node(&format!("cpu@{n}"))?;
        f.property_string("device_type", "cpu")?;
        f.property_string("compatible", "arm,armv8")?;
        f.property_u32("reg", n)?;
        f.property_string("enable-method", "psci")?;
        f.end_node(cpu)?;
    }
    f.end_node(cpus)?;

    let psci = f.begin_node("psci")?;
    f.property_string_list("compatible", vec!["arm,psci-0.2".into(), "arm,psci".into()])?;
    f.property_string("method", "hvc")?;
    f.end_node(psci)?;

    let intc = f.begin_node(&format!("intc@{GICD:x}"))?;
    if a.gic == 3 {
        f.property_string("compatible", "arm,gic-v3")?;
        f.property_array_u64("reg", &[GICD, GICD_SIZE_V3, GICR, GICR_STRIDE * u64::from(a.smp)])?;
    } else {
        f.property_string("compatible", "arm,cortex-a15-gic")?;
        f.property_array_u64("reg", &[GICD, 0x1000, GICC, 0x2000])?;
    }
    f.property_u32("#interrupt-cells", 3)?;
    f.property_null("interrupt-controller")?;
    f.property_u32("phandle", 1)?;
    if a.gic == 3 {
        f.property_u32("#address-cells", 2)?;
        f.property_u32("#size-cells", 2)?;
        f.property_null("ranges")?;
        let its = f.begin_node(&format!("msi-controller@{GITS:x}"))?;
        f.property_string("compatible", "arm,gic-v3-its")?;
        f.property_array_u64("reg", &[GITS, GITS_SIZE])?;
        f.property_null("msi-controller")?;
        f.property_u32("#msi-cells", 1)?;
        f.end_node(its)?;
    }
    f.end_node(intc)?;

    let uart = f.begin_node(&format!("pl011@{UART:x}"))?;
    f.property_string_list("compatible", vec!["arm,pl011".into(), "arm,primecell".into()])?;
    f.property_array_u64("reg", &[UART, UART_SIZE])?;
    // SPI 1, level-sensitive active high (4).
    f.property_array_u32("interrupts", &[0, UART_SPI, 4])?;
    f.end_node(uart)?;

    // Secure and non-secure physical, virtual and hypervisor timer PPIs
    // (13, 14, 11, 10 + 16), level-sensitive.
    let timer = f.begin_node("timer")?;
    f.property_string("compatible", "arm,armv8-timer")?;
    f.property_array_u32("interrupts", &[1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4])?;
    f.property_null("always-on")?;
    f.end_node(timer)?;

    f.end_node(root)?;
    f.finish()
}

fn run_vcpu(mut vcpu: VcpuFd, id: u32, vm: &VmFd, uart: &Mutex<Pl011>) -> ! {
    loop {
        match vcpu.run() {
            Ok(VcpuExit::SystemEvent(ty, _)) => {
                // SYSTEM_OFF or SYSTEM_RESET from the guest: the VM is over.
                eprintln!("gicv-kvm-vmm: vCPU {id}: system event {ty}");
                finish(0);
            }
            Ok(VcpuExit::MmioRead(addr, data)) if (UART..UART + UART_SIZE).contains(&addr) => {
                let v = uart.lock().expect("UART state").read(addr - UART).to_le_bytes();
                let n = data.len().min(4);
                data[..n].copy_from_slice(&v[..n]);
            }
            Ok(VcpuExit::MmioWrite(addr, data)) if (UART..UART + UART_SIZE).contains(&addr) => {
                let mut v = [0u8; 4];
                let n = data.len().min(4);
                v[..n].copy_from_slice(&data[..n]);
                // The lock is held across KVM_IRQ_LINE so that two vCPUs' writes set the line in order.
                let mut u = uart.lock().expect("UART state");
                if let Some(level) = u.write(addr - UART, u32::from_le_bytes(v)) {
                    // KVM_IRQ_LINE on arm64: irq_type SPI (1) in bits [31:24], the INTID in [15:0].
                    let irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (32 + UART_SPI);
                    vm.set_irq_line(irq, level).unwrap_or_else(|e| fail(format!("KVM_IRQ_LINE {irq:#x}: {e}"), 3));
                }
            }
            // Devices the device tree does not name: reads as zero, writes ignored.
            Ok(VcpuExit::MmioRead(_, data)) => data.fill(0),
            Ok(VcpuExit::MmioWrite(..)) => {}
            Ok(other) => fail(format!("vCPU {id}: unexpected exit {other:?}"), 3),
            Err(e) if e.errno() == libc_eintr() => {}
            Err(e) => {
                let mut pc = [0u8; 8];
                let _ = vcpu.get_one_reg(core_reg(REG_PC), &mut pc);
                fail(format!("vCPU {id}: KVM_RUN: {e} (guest PC {:#x})", u64::from_le_bytes(pc)), 3)
            }
        }
    }
}

/// Prints where each thread of this process is in the host kernel
/// (`/proc/self/task/*/stack`, root only): for a VM that stopped running
/// guest code, the vCPU thread's kernel stack names the KVM function it is
/// stuck in.
fn print_thread_stacks() {
    let tasks = match std::fs::read_dir("/proc/self/task") {
        Ok(t) => t,
        Err(e) => return eprintln!("gicv-kvm-vmm: /proc/self/task: {e}"),
    };
    for t in tasks.flatten() {
        let read = |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap_or_default();
        let stat = read("stat");
        // The state letter follows the command's closing parenthesis; sleeping threads are not stuck.
        let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.get(..1)).unwrap_or("?");
        if state == "S" {
            continue;
        }
        eprintln!(
            "gicv-kvm-vmm: thread {} ({}): state {state}, wchan {}",
            t.file_name().to_string_lossy(),
            read("comm").trim(),
            read("wchan").trim()
        );
        for l in read("stack").lines() {
            eprintln!("gicv-kvm-vmm:   {l}");
        }
    }
}

const fn libc_eintr() -> i32 {
    4
}

fn main() {
    let _ = START.set(std::time::Instant::now());
    let a = args();
    if let Some(n) = a.run {
        let _ = RUN.set(n);
    }
    let image = std::fs::read(&a.image).unwrap_or_else(|e| fail(format!("{}: {e}", a.image.display()), 2));
    let case = std::fs::read(&a.case).unwrap_or_else(|e| fail(format!("{}: {e}", a.case.display()), 2));
    let kvm = Kvm::new().unwrap_or_else(|e| fail(format!("/dev/kvm: {e}"), 2));
    let vm = Arc::new(kvm.create_vm().unwrap_or_else(|e| fail(format!("KVM_CREATE_VM: {e}"), 2)));

    let ram_size = a.ram_size();
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(RAM_BASE), ram_size as usize)])
        .unwrap_or_else(|e| fail(format!("guest memory: {e}"), 2));
    let host = mem.get_host_address(GuestAddress(RAM_BASE)).unwrap_or_else(|e| fail(e, 2));
    let region = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: RAM_BASE,
        memory_size: ram_size,
        userspace_addr: host as u64,
    };
    // SAFETY: `mem` maps ram_size bytes at `host` and lives until the process exits.
    unsafe { vm.set_user_memory_region(region) }.unwrap_or_else(|e| fail(format!("memory region: {e}"), 2));
    let dtb = device_tree(&a, case.len() as u64).unwrap_or_else(|e| fail(format!("device tree: {e}"), 2));
    for (at, bytes) in [(IMAGE_AT, &image), (INITRD_AT, &case), (DTB_AT, &dtb)] {
        mem.write_slice(bytes, GuestAddress(at)).unwrap_or_else(|e| fail(format!("loading at {at:#x}: {e}"), 2));
    }

    let vgic = create_vgic(&vm, a.gic);
    if a.el2 && kvm.check_extension_raw(KVM_CAP_ARM_EL2) == 0 {
        fail(
            "KVM offers no nested virtualization here (KVM_CAP_ARM_EL2 is 0): the host needs a CPU with FEAT_NV2 \
             and Linux booted with kvm-arm.mode=nested",
            2,
        );
    }
    let mut kvi = kvm_vcpu_init::default();
    vm.get_preferred_target(&mut kvi).unwrap_or_else(|e| fail(format!("KVM_ARM_PREFERRED_TARGET: {e}"), 2));
    kvi.features[0] |= 1 << KVM_ARM_VCPU_PSCI_0_2;
    let mut vcpus = Vec::new();
    for id in 0..a.smp {
        let vcpu = vm.create_vcpu(u64::from(id)).unwrap_or_else(|e| fail(format!("vCPU {id}: {e}"), 2));
        let mut init = kvi;
        if a.el2 {
            // Nested virtualization: the vCPU starts at (virtual) EL2, without
            // VHE (HCR_EL2.E2H 0, as the test kernel programs EL2).
            init.features[0] |= (1 << KVM_ARM_VCPU_HAS_EL2) | (1 << KVM_ARM_VCPU_HAS_EL2_E2H0);
        }
        if id > 0 {
            // Off until the guest's PSCI CPU_ON (answered by KVM).
            init.features[0] |= 1 << KVM_ARM_VCPU_POWER_OFF;
        }
        vcpu.vcpu_init(&init).unwrap_or_else(|e| fail(format!("vCPU {id} init: {e}"), 2));
        vcpus.push(vcpu);
    }
    set_attr(&vgic, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT as u64, 0);
    let _vits = (a.gic == 3).then(|| create_vits(&vm));
    vcpus[0].set_one_reg(core_reg(REG_PC), &IMAGE_AT.to_le_bytes()).unwrap_or_else(|e| fail(e, 2));
    vcpus[0].set_one_reg(core_reg(x_reg(0)), &DTB_AT.to_le_bytes()).unwrap_or_else(|e| fail(e, 2));
    if a.el2 {
        // The EL2 kernel reads no device tree: the batch run and the boot
        // flags come in x1-x3 (gic_case::proto::BATCH_MAGIC, BOOT_NO_GROUP0).
        let flags = if a.no_group0 { gic_case::proto::BOOT_NO_GROUP0 } else { 0 };
        if let Some(n) = a.run {
            for (x, v) in [(1, gic_case::proto::BATCH_MAGIC), (2, u64::from(n)), (3, flags)] {
                vcpus[0].set_one_reg(core_reg(x_reg(x)), &v.to_le_bytes()).unwrap_or_else(|e| fail(e, 2));
            }
        }
    }

    let uart = Arc::new(Mutex::new(Pl011::default()));
    if let Some(ms) = a.timeout_ms {
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
            eprintln!("gicv-kvm-vmm: the VM did not end within {ms} ms (the case's timeout); stopped");
            for _ in 0..4 {
                print_thread_stacks();
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            finish(TIMED_OUT)
        });
    }
    let threads: Vec<_> = vcpus
        .into_iter()
        .enumerate()
        .map(|(id, v)| {
            let (vm, uart) = (Arc::clone(&vm), Arc::clone(&uart));
            std::thread::spawn(move || run_vcpu(v, id as u32, &vm, &uart))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}
