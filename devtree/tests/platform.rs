//! `gic_devtree::Platform` on QEMU's own device trees and on trees in Xen's
//! guest layout.
//!
//! Fixtures (`tests/data/`), QEMU's `dumpdtb` output with QEMU 7.2.22
//! (Debian 1:7.2+dfsg-7+deb12u18), packed with `dtc` (device-tree-compiler
//! 1.6.1) because QEMU pads the blob to 1 MiB (`dtc -I dtb -O dts` prints
//! the same tree for the packed and the raw blob):
//!
//! ```text
//! qemu-system-aarch64 -M virt,gic-version=2,dumpdtb=raw.dtb -cpu max -smp 2 -nic none -display none
//! dtc -I dtb -O dtb -o qemu72-virt-gicv2.dtb raw.dtb
//! qemu-system-aarch64 -M virt,gic-version=3,dumpdtb=raw.dtb -cpu max -smp 2 -nic none -display none
//! dtc -I dtb -O dtb -o qemu72-virt-gicv3.dtb raw.dtb
//! qemu-system-aarch64 -M virt,virtualization=on,gic-version=2,dumpdtb=raw.dtb -cpu max -smp 2 -nic none -display none
//! dtc -I dtb -O dtb -o qemu72-virt-el2-gicv2.dtb raw.dtb
//! ```
//!
//! With an initrd (QEMU accepts `-initrd` only with `-kernel`; any file
//! will do for both, here zeros), with QEMU 7.2.22 and with QEMU 10.0.2
//! (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1, bookworm-backports), the same
//! `dtc`:
//!
//! ```text
//! head -c 64 /dev/zero > kernel.bin; head -c 4096 /dev/zero > initrd.bin
//! qemu-system-aarch64 -M virt,virtualization=off,gic-version=3,dumpdtb=raw.dtb -cpu max -smp 2 -nic none \
//!     -display none -kernel kernel.bin -initrd initrd.bin
//! dtc -I dtb -O dtb -o qemu72-virt-gicv3-initrd.dtb raw.dtb    # and qemu10-… with QEMU 10.0.2
//! ```
//!
//! QEMU places the initrd at RAM base + min(RAM / 2, 128 MiB)
//! (`hw/arm/boot.c`), 0x4400_0000 with the default 128 MiB, and writes
//! `/chosen` `linux,initrd-start` = 0x4400_0000 and `linux,initrd-end` =
//! 0x4400_1000: QEMU 7.2 as one 32-bit cell each, QEMU 10.0 as two cells
//! (the root's `#address-cells`), as `dtc -I dtb -O dts` shows.
//!
//! The expected values below were read from those fixtures with
//! `dtc -I dtb -O dts` (and agree with `hw/arm/virt.c`'s memmap): GICD
//! 0x0800_0000, GICC 0x0801_0000, GICH 0x0803_0000, GICV 0x0804_0000, ITS
//! 0x0808_0000, GICR 0x080a_0000 (size 0xf6_0000), PL011 0x0900_0000, RAM
//! 0x4000_0000 (128 MiB, QEMU's default `-m`), PSCI `method = "hvc"` without
//! EL2 (`virtualization=off`: QEMU itself answers HVCs) and `"smc"` with it.

use gic_devtree::{Error, GicVersion, Platform, PsciConduit, Region, TimerIntids};
use vm_fdt::FdtWriter;

const V2: &[u8] = include_bytes!("data/qemu72-virt-gicv2.dtb");
const V3: &[u8] = include_bytes!("data/qemu72-virt-gicv3.dtb");
const V2_EL2: &[u8] = include_bytes!("data/qemu72-virt-el2-gicv2.dtb");
const V3_INITRD_72: &[u8] = include_bytes!("data/qemu72-virt-gicv3-initrd.dtb");
const V3_INITRD_10: &[u8] = include_bytes!("data/qemu10-virt-gicv3-initrd.dtb");

const MIB: u64 = 1 << 20;

fn r(base: u64, size: u64) -> Region {
    Region { base, size }
}

/// The timer of QEMU's virt: PPIs 13, 14, 11, 10 (secure physical,
/// physical, virtual, hypervisor physical).
const QEMU_TIMER: TimerIntids = TimerIntids { secure_phys: 29, phys: 30, virt: 27, hyp_phys: Some(26), hyp_virt: None };

fn assert_qemu_common(p: &Platform) {
    assert_eq!(p.uart, Some(r(0x0900_0000, 0x1000)));
    assert_eq!(p.ram, r(0x4000_0000, 128 * MIB));
    assert_eq!(p.cpus.count, 2);
    assert_eq!(p.cpus.mpidrs(), &[0, 1]);
    assert_eq!(p.timer, Some(QEMU_TIMER));
    let psci = p.psci.expect("QEMU's virt has /psci");
    assert!(psci.standard_ids);
    assert_eq!(psci.cpu_on, Some(0xc400_0003));
    assert_eq!(psci.cpu_off, Some(0x8400_0002));
}

#[test]
fn qemu_virt_gicv2() {
    let p = Platform::from_bytes(V2).unwrap();
    assert_qemu_common(&p);
    assert_eq!(p.gic.version, GicVersion::V2);
    assert_eq!(p.gic.gicd, r(0x0800_0000, 0x1_0000));
    assert_eq!(p.gic.gicc, Some(r(0x0801_0000, 0x1_0000)));
    assert_eq!((p.gic.gich, p.gic.gicv), (None, None), "no virtualization extensions without EL2");
    assert_eq!(p.gic.maintenance_intid, None);
    assert!(p.gic.redistributors().is_empty());
    assert_eq!(p.gic.its, None);
    assert_eq!(p.psci.unwrap().conduit, PsciConduit::Hvc);
}

#[test]
fn qemu_virt_gicv3() {
    let p = Platform::from_bytes(V3).unwrap();
    assert_qemu_common(&p);
    assert_eq!(p.gic.version, GicVersion::V3);
    assert_eq!(p.gic.gicd, r(0x0800_0000, 0x1_0000));
    assert_eq!(p.gic.redistributors(), &[r(0x080a_0000, 0xf6_0000)]);
    assert_eq!(p.gic.its, Some(r(0x0808_0000, 0x2_0000)));
    assert_eq!((p.gic.gicc, p.gic.gich, p.gic.gicv), (None, None, None));
    assert_eq!(p.psci.unwrap().conduit, PsciConduit::Hvc);
    assert_eq!(p.initrd, None, "no -initrd, no linux,initrd-* in /chosen");
}

#[test]
fn qemu_initrd_in_chosen_with_32_and_64_bit_cells() {
    for (qemu, dtb) in [("7.2", V3_INITRD_72), ("10.0", V3_INITRD_10)] {
        let p = Platform::from_bytes(dtb).unwrap_or_else(|e| panic!("QEMU {qemu}: {e}"));
        assert_eq!(p.initrd, Some(r(0x4400_0000, 0x1000)), "QEMU {qemu}");
        // The rest of the tree is what QEMU's virt always gives.
        assert_qemu_common(&p);
        assert_eq!(p.gic.version, GicVersion::V3, "QEMU {qemu}");
        assert_eq!(p.gic.gicd, r(0x0800_0000, 0x1_0000), "QEMU {qemu}");
        assert_eq!(p.gic.its, Some(r(0x0808_0000, 0x2_0000)), "QEMU {qemu}");
        assert_eq!(p.psci.unwrap().conduit, PsciConduit::Hvc, "QEMU {qemu}");
    }
}

#[test]
fn qemu_virt_with_el2_gicv2_has_the_virtual_interface_and_smc() {
    let p = Platform::from_bytes(V2_EL2).unwrap();
    assert_qemu_common(&p);
    assert_eq!(p.gic.gicc, Some(r(0x0801_0000, 0x1_0000)));
    assert_eq!(p.gic.gich, Some(r(0x0803_0000, 0x1_0000)));
    assert_eq!(p.gic.gicv, Some(r(0x0804_0000, 0x1_0000)));
    assert_eq!(p.gic.maintenance_intid, Some(25));
    assert_eq!(p.psci.unwrap().conduit, PsciConduit::Smc);
}

#[test]
fn qemu_blob_padded_as_in_memory_and_through_a_pointer() {
    // QEMU hands the guest a blob padded to 1 MiB; the pointer API reads
    // the header's totalsize and nothing past it.
    let mut padded = V3.to_vec();
    padded.resize(MIB as usize, 0);
    let words: Vec<u32> = padded.chunks(4).map(|c| u32::from_ne_bytes(c.try_into().unwrap())).collect();
    // SAFETY: `words` is 4-byte aligned and holds the whole blob.
    let p = unsafe { Platform::from_ptr(words.as_ptr().cast()) }.unwrap();
    assert_eq!(p, Platform::from_bytes(V3).unwrap());
}

// Xen's guest layout (xen/include/public/arch-arm.h and
// tools/libs/light/libxl_arm.c): root #address-cells = #size-cells = 2;
// the GIC node `interrupt-controller@3001000` with `#address-cells = 0` and
// no `ranges`; the vPL011 `sbsa-pl011` compatible with "arm,sbsa-uart";
// /psci "arm,psci-1.0", "arm,psci-0.2", "arm,psci" with method "hvc" and
// the PSCI 0.1 IDs cpu_off = 1, cpu_on = 2; a timer with 3 PPIs
// (13, 14, 11); RAM banks at 0x4000_0000 and 0x2_0000_0000.
const XEN_GICD: u64 = 0x0300_1000;
const XEN_GICC: u64 = 0x0300_2000;
const XEN_GICR0: u64 = 0x0302_0000;
const XEN_PL011: u64 = 0x2200_0000;

enum XenGic {
    V2,
    V3,
    None,
}

/// `/chosen` properties of a synthetic tree: (name, value bytes).
type Chosen<'a> = &'a [(&'a str, &'a [u8])];

fn xen_guest_dtb(gic: XenGic, cpus: u32) -> Vec<u8> {
    xen_guest_dtb_with(gic, cpus, &[])
}

fn xen_guest_dtb_with(gic: XenGic, cpus: u32, chosen_props: Chosen<'_>) -> Vec<u8> {
    let mut f = FdtWriter::new().unwrap();
    let root = f.begin_node("").unwrap();
    f.property_string_list("compatible", vec!["xen,xenvm-4.19".into(), "xen,xenvm".into()]).unwrap();
    f.property_u32("interrupt-parent", 65000).unwrap();
    f.property_u32("#address-cells", 2).unwrap();
    f.property_u32("#size-cells", 2).unwrap();

    let chosen = f.begin_node("chosen").unwrap();
    for (name, value) in chosen_props {
        f.property(name, value).unwrap();
    }
    f.end_node(chosen).unwrap();

    let cpus_node = f.begin_node("cpus").unwrap();
    f.property_u32("#address-cells", 1).unwrap();
    f.property_u32("#size-cells", 0).unwrap();
    for i in 0..cpus {
        let cpu = f.begin_node(&format!("cpu@{i:x}")).unwrap();
        f.property_string("device_type", "cpu").unwrap();
        f.property_string_list("compatible", vec!["arm,armv8".into()]).unwrap();
        f.property_string("enable-method", "psci").unwrap();
        f.property_u32("reg", i).unwrap();
        f.end_node(cpu).unwrap();
    }
    f.end_node(cpus_node).unwrap();

    let psci = f.begin_node("psci").unwrap();
    f.property_string_list("compatible", vec!["arm,psci-1.0".into(), "arm,psci-0.2".into(), "arm,psci".into()])
        .unwrap();
    f.property_string("method", "hvc").unwrap();
    f.property_u32("cpu_off", 1).unwrap();
    f.property_u32("cpu_on", 2).unwrap();
    f.end_node(psci).unwrap();

    for (base, size) in [(0x4000_0000u64, 256 * MIB), (0x2_0000_0000, 0)] {
        let mem = f.begin_node(&format!("memory@{base:x}")).unwrap();
        f.property_string("device_type", "memory").unwrap();
        f.property_array_u64("reg", &[base, size]).unwrap();
        f.end_node(mem).unwrap();
    }

    let regs = match gic {
        XenGic::V2 => Some(("arm,cortex-a15-gic", [XEN_GICD, 0x1000, XEN_GICC, 0x2000])),
        XenGic::V3 => Some(("arm,gic-v3", [XEN_GICD, 0x1_0000, XEN_GICR0, 0x100_0000])),
        XenGic::None => None,
    };
    if let Some((compatible, reg)) = regs {
        let intc = f.begin_node(&format!("interrupt-controller@{XEN_GICD:x}")).unwrap();
        let mut compat = vec![compatible.to_string()];
        if compatible == "arm,cortex-a15-gic" {
            compat.push("arm,cortex-a9-gic".into());
        }
        f.property_string_list("compatible", compat).unwrap();
        f.property_u32("#interrupt-cells", 3).unwrap();
        f.property_u32("#address-cells", 0).unwrap();
        f.property_null("interrupt-controller").unwrap();
        f.property_array_u64("reg", &reg).unwrap();
        f.property_u32("linux,phandle", 65000).unwrap();
        f.property_u32("phandle", 65000).unwrap();
        f.end_node(intc).unwrap();
    }

    let timer = f.begin_node("timer").unwrap();
    f.property_string_list("compatible", vec!["arm,armv8-timer".into()]).unwrap();
    f.property_array_u32("interrupts", &[1, 13, 0xf08, 1, 14, 0xf08, 1, 11, 0xf08]).unwrap();
    f.end_node(timer).unwrap();

    let uart = f.begin_node("sbsa-pl011").unwrap();
    f.property_string_list("compatible", vec!["arm,sbsa-uart".into()]).unwrap();
    f.property_array_u64("reg", &[XEN_PL011, 0x1000]).unwrap();
    f.property_array_u32("interrupts", &[0, 0, 4]).unwrap();
    f.property_u32("current-speed", 115200).unwrap();
    f.end_node(uart).unwrap();

    f.end_node(root).unwrap();
    f.finish().unwrap()
}

fn assert_xen_common(p: &Platform, cpus: usize) {
    assert_eq!(p.uart, Some(r(XEN_PL011, 0x1000)));
    assert_eq!(p.ram, r(0x4000_0000, 256 * MIB));
    assert_eq!(p.cpus.count, cpus);
    let psci = p.psci.unwrap();
    assert_eq!(psci.conduit, PsciConduit::Hvc);
    assert!(psci.standard_ids);
    assert_eq!((psci.cpu_on, psci.cpu_off), (Some(2), Some(1)));
    assert_eq!(p.timer, Some(TimerIntids { secure_phys: 29, phys: 30, virt: 27, hyp_phys: None, hyp_virt: None }));
}

#[test]
fn xen_guest_layout_gicv3() {
    let p = Platform::from_bytes(&xen_guest_dtb(XenGic::V3, 4)).unwrap();
    assert_xen_common(&p, 4);
    assert_eq!(p.cpus.mpidrs(), &[0, 1, 2, 3]);
    assert_eq!(p.gic.version, GicVersion::V3);
    assert_eq!(p.gic.gicd, r(XEN_GICD, 0x1_0000));
    assert_eq!(p.gic.redistributors(), &[r(XEN_GICR0, 0x100_0000)]);
    assert_eq!((p.gic.gicc, p.gic.its), (None, None));
}

#[test]
fn xen_guest_layout_gicv2() {
    let p = Platform::from_bytes(&xen_guest_dtb(XenGic::V2, 2)).unwrap();
    assert_xen_common(&p, 2);
    assert_eq!(p.gic.version, GicVersion::V2);
    assert_eq!(p.gic.gicd, r(XEN_GICD, 0x1000));
    assert_eq!(p.gic.gicc, Some(r(XEN_GICC, 0x2000)));
    assert_eq!((p.gic.gich, p.gic.gicv, p.gic.maintenance_intid), (None, None, None));
}

#[test]
fn a_tree_without_a_gic_names_the_gic() {
    let err = Platform::from_bytes(&xen_guest_dtb(XenGic::None, 1)).unwrap_err();
    assert_eq!(err, Error::NoGic);
    let text = err.to_string();
    assert!(text.contains("interrupt controller") && text.contains("arm,gic-v3"), "{text}");
}

#[test]
fn not_a_device_tree() {
    assert_eq!(Platform::from_bytes(&[0; 64]), Err(Error::BadMagic { found: 0 }));
    let mut short = V3.to_vec();
    short.truncate(100);
    assert!(matches!(Platform::from_bytes(&short), Err(Error::BadSize { .. })));
}

#[test]
fn a_gicv2_without_its_cpu_interface_is_refused() {
    let mut f = FdtWriter::new().unwrap();
    let root = f.begin_node("").unwrap();
    f.property_u32("#address-cells", 2).unwrap();
    f.property_u32("#size-cells", 2).unwrap();
    let intc = f.begin_node("intc@8000000").unwrap();
    f.property_string("compatible", "arm,gic-400").unwrap();
    f.property_array_u64("reg", &[0x0800_0000, 0x1000]).unwrap();
    f.end_node(intc).unwrap();
    f.end_node(root).unwrap();
    let dtb = f.finish().unwrap();
    assert_eq!(Platform::from_bytes(&dtb), Err(Error::MissingGicReg { frame: "GICC" }));
}

#[test]
fn initrd_cells_of_either_width_and_bad_ones() {
    let start32 = 0x4800_0000u32.to_be_bytes();
    let end32 = 0x4800_0050u32.to_be_bytes();
    let start64 = 0x1_4800_0000u64.to_be_bytes();
    let end64 = 0x1_4800_0050u64.to_be_bytes();
    let parse = |props: Chosen<'_>| Platform::from_bytes(&xen_guest_dtb_with(XenGic::V3, 1, props)).map(|p| p.initrd);
    let bad = |property| Err(Error::BadProperty { node: "chosen", property });
    assert_eq!(parse(&[]), Ok(None));
    let one_cell = [("linux,initrd-start", &start32[..]), ("linux,initrd-end", &end32[..])];
    assert_eq!(parse(&one_cell), Ok(Some(r(0x4800_0000, 0x50))));
    let two_cells = [("linux,initrd-start", &start64[..]), ("linux,initrd-end", &end64[..])];
    assert_eq!(parse(&two_cells), Ok(Some(r(0x1_4800_0000, 0x50))));
    // Mixed widths are still two addresses.
    assert_eq!(
        parse(&[("linux,initrd-start", &start32), ("linux,initrd-end", &end64)]),
        Ok(Some(r(0x4800_0000, 0x1_0000_0050)))
    );
    assert_eq!(parse(&[("linux,initrd-start", &start32)]), bad("linux,initrd-end"));
    assert_eq!(parse(&[("linux,initrd-end", &end32)]), bad("linux,initrd-start"));
    assert_eq!(parse(&[("linux,initrd-start", &end32), ("linux,initrd-end", &start32)]), bad("linux,initrd-end"));
    assert_eq!(parse(&[("linux,initrd-start", &[0; 12]), ("linux,initrd-end", &end32)]), bad("linux,initrd-start"));
    let text = bad("linux,initrd-end").unwrap_err().to_string();
    assert!(text.contains("chosen") && text.contains("linux,initrd-end"), "{text}");
}

#[test]
fn a_batch_run_number_in_chosen() {
    let parse =
        |props: Chosen<'_>| Platform::from_bytes(&xen_guest_dtb_with(XenGic::V3, 1, props)).map(|p| p.batch_run);
    assert_eq!(parse(&[]), Ok(None));
    assert_eq!(parse(&[("gicv,run", &7u32.to_be_bytes())]), Ok(Some(7)));
    assert_eq!(parse(&[("gicv,run", &[0; 3])]), Err(Error::BadProperty { node: "chosen", property: "gicv,run" }));
}
