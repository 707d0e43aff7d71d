//! The annotated hex dumps of SPEC.md section 11 are generated here from the encoder's output
//! (the v2 golden vectors), and SPEC.md must contain them verbatim. To print them:
//!
//! ```text
//! LIVEUPDATE_PRINT_DUMPS=1 cargo test -p liveupdate-abi --test v2 spec:: -- --nocapture
//! ```

use std::fmt::Write;

use liveupdate_abi::RecordKind;

use crate::common::{CHAIN_PHYS, block_len, chain_golden, flb_golden, pci_golden, root_golden};

const SPEC: &str = include_str!("../../SPEC.md");

#[derive(Clone, Copy)]
enum Show {
    Dec,
    Hex,
    Magic,
    Kind,
    Name,
    Reserved,
    FlbFlags,
    PciFlags,
    Features,
    Bdf,
    Class,
}

struct Def(&'static str, usize, Show);

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

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

fn quoted(bytes: &[u8]) -> String {
    let text: String = bytes
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| char::from(b))
        .collect();
    format!("\"{text}\"")
}

/// The names of the set bits of `v`, lowest first.
fn names(v: u64, table: &[&str]) -> String {
    let set: Vec<&str> = (0..table.len())
        .filter(|&i| v & (1 << i) != 0)
        .map(|i| table[i])
        .collect();
    if set.is_empty() {
        String::new()
    } else {
        format!(" ({})", set.join(" | "))
    }
}

/// The annotation of a field's first line; `name` tells `ro_compat` from `incompat`.
fn describe(def: &Def, bytes: &[u8]) -> String {
    let Def(name, width, show) = *def;
    let v = le(bytes);
    match show {
        Show::Dec => format!("{name} = {v}"),
        Show::Hex => format!("{name} = {v:#0w$x}", w = 2 + 2 * width),
        Show::Magic | Show::Name => format!("{name} = {}", quoted(bytes)),
        Show::Kind => {
            let kind = u32::try_from(v)
                .ok()
                .and_then(RecordKind::from_magic)
                .map_or("unknown".into(), |k| k.to_string());
            format!("{name} = {} ({kind})", quoted(bytes))
        }
        Show::Reserved => format!("{name}, zero"),
        Show::FlbFlags => format!("{name} = {v:#010x}{}", names(v, &["DATA_IS_PHYS"])),
        Show::PciFlags => format!(
            "{name} = {v:#010x}{}",
            names(v, &["BRIDGE", "DESCENDANT", "BUS_MASTER"])
        ),
        Show::Features if name == "ro_compat" => {
            format!("{name} = {v:#010x}{}", names(v, &["HIERARCHY"]))
        }
        Show::Features => format!("{name} = {v:#010x}{}", names(v, &["CHAINED"])),
        Show::Bdf => format!(
            "{name} = {v:#06x} (bus {:#04x}, device {:#04x}, function {})",
            v >> 8,
            (v >> 3) & 0x1f,
            v & 7
        ),
        Show::Class => format!(
            "{name} = {v:#010x} (class {:#04x}, sub-class {:#04x}, prog-if {:#04x})",
            (v >> 16) & 0xff,
            (v >> 8) & 0xff,
            v & 0xff
        ),
    }
}

/// Appends `bytes` (at record offset `at`) as lines of at most 8 bytes.
fn lines(out: &mut String, at: usize, bytes: &[u8], first: &str, rest: &str) {
    for (i, chunk) in bytes.chunks(8).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:#04x},")).collect();
        let label = if i == 0 { first } else { rest };
        let sep = if label.is_empty() { "" } else { ": " };
        writeln!(
            out,
            "    {:<48}// {:04x}{sep}{label}",
            hex.join(" "),
            at + 8 * i
        )
        .unwrap();
    }
}

/// The annotated dump of a v1.1 record, as a C array initializer.
fn render(kind: RecordKind, c_name: &str, title: &str, bytes: &[u8]) -> String {
    let fields: &[Def] = match kind {
        RecordKind::Root => &DIR_FIELDS,
        RecordKind::FlbTable => &FLB_FIELDS,
        _ => &PCI_FIELDS,
    };
    let size: usize = fields.iter().map(|d| d.1).sum();
    let count = usize::try_from(le(&bytes[12..16])).unwrap();
    let capacity = usize::try_from(le(&bytes[16..20])).unwrap();
    let mut out = format!(
        "/* {title}, {} bytes */\nstatic const unsigned char {c_name}[{}] = {{\n",
        bytes.len(),
        bytes.len()
    );
    let mut at = 0;
    let field = |out: &mut String, def: &Def, at: &mut usize| {
        let b = &bytes[*at..*at + def.1];
        let rest = format!("{} (cont.)", def.0);
        lines(out, *at, b, &describe(def, b), &rest);
        *at += def.1;
    };
    out.push_str("    // header\n");
    for def in &HEADER_FIELDS {
        field(&mut out, def, &mut at);
    }
    assert_eq!(at, 64);
    for slot in 0..capacity {
        if slot < count {
            writeln!(out, "    // entry {slot}").unwrap();
            for def in fields {
                field(&mut out, def, &mut at);
            }
        } else {
            writeln!(out, "    // slot {slot}: unused, zero").unwrap();
            lines(&mut out, at, &bytes[at..at + size], "", "");
            at += size;
        }
    }
    assert_eq!(at, bytes.len());
    out.push_str("};\n");
    out
}

fn dumps() -> Vec<String> {
    let mut dumps = vec![
        render(
            RecordKind::Root,
            "root_v2",
            "abi/tests/golden/v2/root.bin: root record",
            &root_golden(),
        ),
        render(
            RecordKind::FlbTable,
            "flb_v2",
            "abi/tests/golden/v2/flb.bin: FLB table",
            &flb_golden(),
        ),
        render(
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
    let dumps = dumps();
    if std::env::var_os("LIVEUPDATE_PRINT_DUMPS").is_some() {
        for dump in &dumps {
            println!("```c\n{dump}```\n");
        }
    }
    for dump in dumps {
        assert!(
            SPEC.contains(&dump),
            "SPEC.md lacks this dump (or shows an outdated one):\n{dump}"
        );
    }
}
