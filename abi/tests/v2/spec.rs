//! The annotated hex dumps of SPEC.md section 11 are generated here from the encoder's output
//! (the v2 golden vectors), and SPEC.md must contain them verbatim. To write them to a scratch file (only the dumps, no test output):
//!
//! ```text
//! LIVEUPDATE_WRITE_DUMPS=/tmp/dumps.md cargo test -p liveupdate-abi --test v2 spec::
//! ```

use liveupdate_abi::RecordKind;

use crate::common::{CHAIN_PHYS, block_len, chain_golden, flb_golden, pci_golden, root_golden};
use crate::dump::{Def, Layout, Show, check_spec, render};

const HEADER_FIELDS: [Def; 16] = [
    Def("magic", 4, Show::Magic),
    Def("major", 2, Show::Dec),
    Def("minor", 2, Show::Dec),
    Def("header_len", 2, Show::Dec),
    Def("entry_size", 2, Show::Dec),
    Def("entry_count", 4, Show::Dec),
    Def("entry_capacity", 4, Show::Dec),
    Def("record_len", 4, Show::Dec),
    Def("generation", 8, Show::Dec),
    Def("compat", 4, Show::Hex),
    Def("ro_compat", 4, Show::Features),
    Def("incompat", 4, Show::Features),
    Def("crc", 4, Show::Hex),
    Def("next_block", 8, Show::Hex),
    Def("block_index", 4, Show::Dec),
    Def("reserved", 4, Show::Reserved),
];

const DIR_FIELDS: [Def; 5] = [
    Def("kind", 4, Show::Kind),
    Def("crc", 4, Show::Hex),
    Def("phys_addr", 8, Show::Hex),
    Def("length", 4, Show::Dec),
    Def("reserved", 4, Show::Reserved),
];

const FLB_FIELDS: [Def; 5] = [
    Def("name", 48, Show::Name),
    Def("data", 8, Show::Hex),
    Def("file_count", 8, Show::Dec),
    Def("flags", 4, Show::FlbFlags),
    Def("reserved", 4, Show::Reserved),
];

const PCI_FIELDS: [Def; 8] = [
    Def("domain", 4, Show::Hex),
    Def("bdf", 2, Show::Bdf),
    Def("refcount", 2, Show::Dec),
    Def("vendor_id", 2, Show::Hex),
    Def("device_id", 2, Show::Hex),
    Def("class_code", 4, Show::Class),
    Def("flags", 4, Show::PciFlags),
    Def("reserved", 4, Show::Reserved),
];

const V1_1: Layout = Layout {
    header: &HEADER_FIELDS,
    dir: &DIR_FIELDS,
    flb: &FLB_FIELDS,
    pci: &PCI_FIELDS,
};

fn dumps() -> Vec<String> {
    let mut dumps = vec![
        render(
            &V1_1,
            RecordKind::Root,
            "root_v2",
            "abi/tests/golden/v2/root.bin: root record",
            &root_golden(),
        ),
        render(
            &V1_1,
            RecordKind::FlbTable,
            "flb_v2",
            "abi/tests/golden/v2/flb.bin: FLB table",
            &flb_golden(),
        ),
        render(
            &V1_1,
            RecordKind::PciTable,
            "pci_v2",
            "abi/tests/golden/v2/pci.bin: PCI table",
            &pci_golden(),
        ),
    ];
    let chain = chain_golden();
    let len = block_len() as usize;
    for (index, &phys) in CHAIN_PHYS.iter().enumerate() {
        let at = usize::try_from(phys - CHAIN_PHYS[0]).unwrap();
        dumps.push(render(
            &V1_1,
            RecordKind::PciTable,
            &format!("pci_chain_block{index}"),
            &format!("abi/tests/golden/v2/pci-chain.bin at {at:#x}: block {index} at {phys:#x}"),
            &chain[at..at + len],
        ));
    }
    dumps
}

#[test]
fn spec_shows_the_golden_vectors_byte_by_byte() {
    check_spec(&dumps());
}
