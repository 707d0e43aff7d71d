//! The annotated hex dumps of SPEC.md are generated here from the encoder's output (the golden
//! vectors), and SPEC.md must contain them verbatim, so the specification cannot drift from the
//! code. To write them to a scratch file (only the dumps, no test output) (e.g. after adding a record kind):
//!
//! ```text
//! LIVEUPDATE_WRITE_DUMPS=/tmp/dumps.md cargo test -p liveupdate-abi --test v1 spec::
//! ```

use liveupdate_abi::RecordKind;

use crate::common::{golden, golden_name};
use crate::dump::{Def, Layout, Show, check_spec, render, test_runner_lines};

const HEADER_FIELDS: [Def; 14] = [
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
    Def("ro_compat", 4, Show::Hex),
    Def("incompat", 4, Show::Hex),
    Def("crc", 4, Show::Hex),
    Def("reserved", 16, Show::Reserved),
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

const PCI_FIELDS: [Def; 3] = [
    Def("domain", 4, Show::Hex),
    Def("bdf", 2, Show::Bdf),
    Def("refcount", 2, Show::Dec),
];

const V1_0: Layout = Layout {
    header: &HEADER_FIELDS,
    dir: &DIR_FIELDS,
    flb: &FLB_FIELDS,
    pci: &PCI_FIELDS,
};

/// A dump's title: the golden vector it shows, and what that is.
fn title(kind: RecordKind, what: &str) -> String {
    format!("abi/tests/golden/v1/{}: {what}", golden_name(kind))
}

fn dumps() -> [String; 3] {
    [
        render(
            &V1_0,
            RecordKind::Root,
            "root_v1",
            &title(RecordKind::Root, "root record"),
            &golden(RecordKind::Root),
        ),
        render(
            &V1_0,
            RecordKind::FlbTable,
            "flb_v1",
            &title(RecordKind::FlbTable, "FLB table"),
            &golden(RecordKind::FlbTable),
        ),
        render(
            &V1_0,
            RecordKind::PciTable,
            "pci_v1",
            &title(RecordKind::PciTable, "PCI table"),
            &golden(RecordKind::PciTable),
        ),
    ]
}

#[test]
fn spec_shows_the_golden_vectors_byte_by_byte() {
    check_spec(&dumps());
}

#[test]
fn spec_holds_no_test_runner_output() {
    let spec = include_str!("../../SPEC.md");
    assert_eq!(
        test_runner_lines(spec),
        Vec::<&str>::new(),
        "SPEC.md holds test-runner output"
    );
    // The detector finds what was once pasted into SPEC.md.
    let pasted = "x\ntest spec::spec_shows_the_golden_vectors_byte_by_byte ... FAILED\n\nfailures:\n\
                  test result: FAILED. 0 passed; 1 failed; 0 ignored\nrunning 1 test\ntest a ... ok\n";
    assert_eq!(test_runner_lines(pasted).len(), 5);
}

/// Sections 1 to 11 state rules, not examples of them: no "for example", "typically", "e.g."
/// or "for instance" (issue 15). Section 12 describes upstream formats and is not checked.
#[test]
fn the_rules_of_spec_sections_1_to_11_are_normative() {
    let spec = include_str!("../../SPEC.md");
    let end = spec.find("\n## 12.").expect("SPEC.md has a section 12");
    let vague: Vec<(usize, &str)> = spec[..end]
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.to_lowercase();
            ["for example", "typically", "e.g.", "for instance"]
                .iter()
                .any(|w| line.contains(w))
        })
        .map(|(i, line)| (i + 1, line))
        .collect();
    assert_eq!(vague, Vec::<(usize, &str)>::new());
}
