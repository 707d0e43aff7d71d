//! The annotated hex dumps of SPEC.md: a record's bytes rendered as a C array initializer, one
//! line per field (at most 8 bytes a line), from a table of the fields of the record's minor.
//! Shared by the v1 and v2 suites, whose `spec` modules hold those tables and require SPEC.md
//! to contain every dump verbatim, so the specification cannot drift from the code.

use std::fmt::Write;

use liveupdate_abi::RecordKind;

const SPEC: &str = include_str!("../../SPEC.md");

/// How a field's value is annotated.
#[derive(Clone, Copy)]
pub enum Show {
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

pub struct Def(pub &'static str, pub usize, pub Show);

/// The fields of the header and of each kind's entries, at one minor.
pub struct Layout {
    pub header: &'static [Def],
    pub dir: &'static [Def],
    pub flb: &'static [Def],
    pub pci: &'static [Def],
}

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

/// The annotated dump of a record of `kind` whose fields `layout` defines, as a C array
/// initializer headed by `title`.
pub fn render(
    layout: &Layout,
    kind: RecordKind,
    c_name: &str,
    title: &str,
    bytes: &[u8],
) -> String {
    let fields: &[Def] = match kind {
        RecordKind::Root => layout.dir,
        RecordKind::FlbTable => layout.flb,
        _ => layout.pci,
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
    for def in layout.header {
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

/// Writes the dumps to the file `LIVEUPDATE_WRITE_DUMPS` names (never to SPEC.md, never to
/// standard output, so no test-runner line can be copied along with them), and requires SPEC.md
/// to contain each dump and no test-runner output.
pub fn check_spec(dumps: &[String]) {
    if let Some(path) = std::env::var_os("LIVEUPDATE_WRITE_DUMPS") {
        let path = std::path::PathBuf::from(path);
        assert!(
            path.file_name() != Some(std::ffi::OsStr::new("SPEC.md")),
            "LIVEUPDATE_WRITE_DUMPS must name a scratch file, not SPEC.md"
        );
        let mut text = String::new();
        for dump in dumps {
            text.push_str("```c\n");
            text.push_str(dump);
            text.push_str("```\n\n");
        }
        std::fs::write(&path, text).expect("write the dumps file");
    }
    assert_eq!(
        test_runner_lines(SPEC),
        Vec::<&str>::new(),
        "SPEC.md holds test-runner output"
    );
    for dump in dumps {
        assert!(
            SPEC.contains(dump.as_str()),
            "SPEC.md lacks this dump (or shows an outdated one):\n{dump}"
        );
    }
}

/// The lines of `text` that look like the output of the test runner (`test NAME ... ok`,
/// `test result: ...`, `failures:`, `running N tests`), which never belong in SPEC.md.
pub fn test_runner_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| {
            let outcome = line.starts_with("test ")
                && [" ... ok", " ... FAILED", " ... ignored"]
                    .iter()
                    .any(|end| line.contains(end));
            outcome
                || line.starts_with("test result:")
                || *line == "failures:"
                || (line.starts_with("running ")
                    && (line.ends_with(" test") || line.ends_with(" tests")))
        })
        .collect()
}
