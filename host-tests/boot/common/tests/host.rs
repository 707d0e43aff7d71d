//! The whole job on the host (no painting, one CPU), on a flat file `luo write --base
//! 0x48000000 --flat` wrote (64 devices, 4 FLBs and the PCI core's, seed 1), and on a copy
//! with one bit flipped inside the PCI table.
#![allow(missing_docs)]

use core::fmt;
use core::ops::Range;

use liveupdate_boot::{Arch, Image, Status, run};

struct Host;

// SAFETY: `stack_bounds` is empty, so `measure` never paints.
unsafe impl Arch for Host {
    fn name(&self) -> &'static str {
        "host"
    }
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str(" test=1")
    }
    fn stack_pointer(&self) -> usize {
        0
    }
    fn stack_bounds(&self) -> Range<usize> {
        0..0
    }
}

static HOST: Host = Host;
const FLAT: &[u8] = include_bytes!("flat-64.bin");

fn stub(bytes: &'static [u8], pass: usize) -> (Status, String) {
    let mut report = String::new();
    let virt = bytes.as_ptr().expose_provenance();
    // SAFETY: a leaked, never written copy, its provenance exposed.
    let image = unsafe { Image::new(0x4800_0000, virt, bytes.len()) };
    let status = run(&mut report, image, &HOST, pass);
    (status, report)
}

#[test]
fn a_valid_and_a_damaged_handover() {
    let (status, report) = stub(FLAT, 0);
    print!("{report}");
    assert_eq!(status, Status::Ok);
    for line in [
        "luo-stub: start arch=host cpus=1 test=1",
        "luo-stub: locator base=0x48000000 len=12400 root=0x48003000 root_len=112",
        "luo-stub: record kind=root phys=0x48003000 len=112 crc=0x5f6b434d blocks=1",
        "luo-stub: record kind=flb-table phys=0x48002000 len=640 crc=0x523ee333 blocks=1",
        "luo-stub: record kind=pci-table phys=0x48001000 len=4096 crc=0x4bc55039 blocks=1",
        "luo-stub: generation=402486",
        "luo-stub: flb name=pci files=78 retrieved=1 finished=1",
        "luo-stub: result=ok",
    ] {
        assert!(report.lines().any(|l| l == line), "missing {line:?}");
    }
    assert!(report.contains("pci devices=64 preserved=64/64 absent_denied=64/64 identities=64"));

    // One bit inside the PCI table (an entry's refcount): its CRC refuses it.
    let mut bad = FLAT.to_vec();
    bad[0x1000 + 64 + 6] ^= 0x10;
    let (status, report) = stub(Vec::leak(bad), 1);
    print!("{report}");
    assert_eq!(status, Status::Refused);
    let last = report.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("luo-stub: result=error error=\"pci table") && last.contains("CRC"),
        "{last}"
    );
}
