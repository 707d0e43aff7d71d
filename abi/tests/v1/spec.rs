//! The annotated hex dumps of SPEC.md are generated here from the encoder's output (the golden
//! vectors), and SPEC.md must contain them verbatim, so the specification cannot drift from the
//! code. To print them (e.g. after adding a record kind):
//!
//! ```text
//! LIVEUPDATE_PRINT_DUMPS=1 cargo test -p liveupdate-abi --test v1 spec:: -- --nocapture
//! ```

use std::fmt::Write;

use liveupdate_abi::RecordKind;

use crate::common::{HEADER, golden, golden_name};

const SPEC: &str = include_str!("../../SPEC.md");

#[derive(Clone, Copy)]
enum Show {
    Dec,
    Hex,
    Magic,
    Kind,
    Name,
    Reserved,
    Flags,
    Bdf,
}

struct Def(&'static str, usize, Show);

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
    Def("flags", 4, Show::Flags),
    Def("reserved", 4, Show::Reserved),
];

const PCI_FIELDS: [Def; 3] = [
    Def("domain", 4, Show::Hex),
    Def("bdf", 2, Show::Bdf),
    Def("refcount", 2, Show::Dec),
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

/// The annotation of a field's first line.
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
        Show::Flags if v == 1 => format!("{name} = {v:#010x} (DATA_IS_PHYS)"),
        Show::Flags => format!("{name} = {v:#010x}"),
        Show::Bdf => format!(
            "{name} = {v:#06x} (bus {:#04x}, device {:#04x}, function {})",
            v >> 8,
            (v >> 3) & 0x1f,
            v & 7
        ),
    }
}

/// Appends `bytes` (at record offset `at`) as lines of at most 8 bytes; the first line says
/// `first`, the others `rest`.
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

/// The annotated dump of a v1.0 record, as a C array initializer.
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
        "/* abi/tests/golden/v1/{}: {title}, {} bytes */\nstatic const unsigned char {c_name}[{}] = {{\n",
        golden_name(kind),
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
    assert_eq!(at, HEADER);
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

fn dumps() -> [String; 3] {
    [
        render(
            RecordKind::Root,
            "root_v1",
            "root record",
            &golden(RecordKind::Root),
        ),
        render(
            RecordKind::FlbTable,
            "flb_v1",
            "FLB table",
            &golden(RecordKind::FlbTable),
        ),
        render(
            RecordKind::PciTable,
            "pci_v1",
            "PCI table",
            &golden(RecordKind::PciTable),
        ),
    ]
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
