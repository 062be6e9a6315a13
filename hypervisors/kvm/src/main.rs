//! The KVM target's VMM: runs the guest-mode test kernel (an arm64 Linux
//! Image) with one compiled case as a KVM virtual machine, the way a VMM
//! such as Firecracker or crosvm runs a Linux guest, so that the GIC the
//! guest sees is KVM's in-kernel vGIC.
//!
//! ```text
//! gicv-kvm-vmm --image /guest.img --case /case.bin --gic 3 --smp 2
//! ```
//!
//! The VM: RAM at 0x4000_0000 (256 MiB); the Image at RAM + 0x8_0000 (its
//! `text_offset`); the case as the initrd at 0x4800_0000; a device tree at
//! 0x4820_0000 (vm-fdt) naming the memory, the CPUs (vCPU n has MPIDR
//! Aff0 = n, `enable-method = "psci"`), PSCI 0.2 over HVC (KVM answers it
//! in the kernel, CPU_ON included), the vGIC (v3: Distributor 0x0800_0000,
//! Redistributors from 0x080a_0000; v2: Distributor 0x0800_0000, CPU
//! interface 0x0801_0000, the QEMU `virt` addresses), the generic timer's
//! PPIs and `/chosen` `linux,initrd-start`/`-end`. vCPU 0 starts at the
//! Image with x0 = the device tree (Linux arm64 boot protocol); the others
//! are powered off until the guest's PSCI CPU_ON.
//!
//! The guest reports through semihosting (HLT #0xF000), which the outermost
//! QEMU answers directly, and ends the whole machine with semihosting
//! SYS_EXIT; this process only runs the vCPUs. It exits 0 when the guest
//! powers the VM off (PSCI SYSTEM_OFF), 3 on an exit it cannot handle, 2 on
//! bad arguments or a KVM call that fails, each with a message on stderr.

use std::path::PathBuf;
use std::sync::Arc;

use kvm_bindings::*;
use kvm_ioctls::{DeviceFd, Kvm, VcpuExit, VcpuFd, VmFd};
use vm_fdt::FdtWriter;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

const RAM_BASE: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 256 << 20;
const IMAGE_AT: u64 = RAM_BASE + 0x8_0000;
const INITRD_AT: u64 = 0x4800_0000;
const DTB_AT: u64 = 0x4820_0000;
const GICD: u64 = 0x0800_0000;
const GICD_SIZE_V3: u64 = 0x1_0000;
const GICR: u64 = 0x080a_0000;
const GICR_STRIDE: u64 = 0x2_0000;
const GICC: u64 = 0x0801_0000;

struct Args {
    image: PathBuf,
    case: PathBuf,
    gic: u32,
    smp: u32,
}

fn fail(msg: impl std::fmt::Display, code: i32) -> ! {
    eprintln!("gicv-kvm-vmm: {msg}");
    std::process::exit(code)
}

fn args() -> Args {
    let mut a = Args { image: PathBuf::new(), case: PathBuf::new(), gic: 3, smp: 1 };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| fail(format!("{k} needs a value"), 2));
        match k.as_str() {
            "--image" => a.image = v.into(),
            "--case" => a.case = v.into(),
            "--gic" => a.gic = v.parse().unwrap_or_else(|_| fail("--gic takes 2 or 3", 2)),
            "--smp" => a.smp = v.parse().unwrap_or_else(|_| fail("--smp takes a number", 2)),
            _ => fail(format!("unknown option {k}; usage: --image IMG --case BIN --gic 2|3 --smp N"), 2),
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
    f.end_node(chosen)?;

    let mem = f.begin_node(&format!("memory@{RAM_BASE:x}"))?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &[RAM_BASE, RAM_SIZE])?;
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
    f.end_node(intc)?;

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

fn run_vcpu(mut vcpu: VcpuFd, id: u32) -> ! {
    loop {
        match vcpu.run() {
            Ok(VcpuExit::SystemEvent(ty, _)) => {
                // SYSTEM_OFF or SYSTEM_RESET from the guest: the VM is over.
                eprintln!("gicv-kvm-vmm: vCPU {id}: system event {ty}");
                std::process::exit(0);
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

const fn libc_eintr() -> i32 {
    4
}

fn main() {
    let a = args();
    let image = std::fs::read(&a.image).unwrap_or_else(|e| fail(format!("{}: {e}", a.image.display()), 2));
    let case = std::fs::read(&a.case).unwrap_or_else(|e| fail(format!("{}: {e}", a.case.display()), 2));
    let kvm = Kvm::new().unwrap_or_else(|e| fail(format!("/dev/kvm: {e}"), 2));
    let vm = Arc::new(kvm.create_vm().unwrap_or_else(|e| fail(format!("KVM_CREATE_VM: {e}"), 2)));

    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(RAM_BASE), RAM_SIZE as usize)])
        .unwrap_or_else(|e| fail(format!("guest memory: {e}"), 2));
    let host = mem.get_host_address(GuestAddress(RAM_BASE)).unwrap_or_else(|e| fail(e, 2));
    let region = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: RAM_BASE,
        memory_size: RAM_SIZE,
        userspace_addr: host as u64,
    };
    // SAFETY: `mem` maps RAM_SIZE bytes at `host` and lives until the process exits.
    unsafe { vm.set_user_memory_region(region) }.unwrap_or_else(|e| fail(format!("memory region: {e}"), 2));
    let dtb = device_tree(&a, case.len() as u64).unwrap_or_else(|e| fail(format!("device tree: {e}"), 2));
    for (at, bytes) in [(IMAGE_AT, &image), (INITRD_AT, &case), (DTB_AT, &dtb)] {
        mem.write_slice(bytes, GuestAddress(at)).unwrap_or_else(|e| fail(format!("loading at {at:#x}: {e}"), 2));
    }

    let vgic = create_vgic(&vm, a.gic);
    let mut kvi = kvm_vcpu_init::default();
    vm.get_preferred_target(&mut kvi).unwrap_or_else(|e| fail(format!("KVM_ARM_PREFERRED_TARGET: {e}"), 2));
    kvi.features[0] |= 1 << KVM_ARM_VCPU_PSCI_0_2;
    let mut vcpus = Vec::new();
    for id in 0..a.smp {
        let vcpu = vm.create_vcpu(u64::from(id)).unwrap_or_else(|e| fail(format!("vCPU {id}: {e}"), 2));
        let mut init = kvi;
        if id > 0 {
            // Off until the guest's PSCI CPU_ON (answered by KVM).
            init.features[0] |= 1 << KVM_ARM_VCPU_POWER_OFF;
        }
        vcpu.vcpu_init(&init).unwrap_or_else(|e| fail(format!("vCPU {id} init: {e}"), 2));
        vcpus.push(vcpu);
    }
    set_attr(&vgic, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT as u64, 0);
    vcpus[0].set_one_reg(core_reg(REG_PC), &IMAGE_AT.to_le_bytes()).unwrap_or_else(|e| fail(e, 2));
    vcpus[0].set_one_reg(core_reg(x_reg(0)), &DTB_AT.to_le_bytes()).unwrap_or_else(|e| fail(e, 2));

    let threads: Vec<_> =
        vcpus.into_iter().enumerate().map(|(id, v)| std::thread::spawn(move || run_vcpu(v, id as u32))).collect();
    for t in threads {
        let _ = t.join();
    }
}
