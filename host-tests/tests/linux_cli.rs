//! `luo verify --linux` and `luo dump --linux` on blobs written by the C program that writes
//! upstream structs as the kernel does (`host-tests/c/linux_upstream.c`).

use std::path::PathBuf;
use std::process::{Command, Stdio};

const LUO: &str = env!("CARGO_BIN_EXE_luo");

fn samples() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("linux-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new(env!("LINUX_UPSTREAM_BIN"))
        .arg("samples")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn luo(args: &[&str]) -> std::process::Output {
    Command::new(LUO).args(args).output().unwrap()
}

/// (file written by the C program, KIND, what `dump --json` must report)
const SAMPLES: &[(&str, &str, &str)] = &[
    ("luo-v3.bin", "luo", r#""compatible": "luo-v3""#),
    (
        "luo-v5-block-v1.bin",
        "luo",
        r#""compatible": "luo-v5;block-v1""#,
    ),
    ("flb.bin", "flb", r#""kind": "flb""#),
    (
        "pci-v2.bin",
        "pci-v2-array",
        r#""address": "10000:01:00.0""#,
    ),
    ("pci-v1-u64.bin", "pci-v1-u64", r#""layout": "array-u64""#),
    ("pci-chain.img", "pci-v2-chain", r#""layout": "chain""#),
];

#[test]
fn upstream_blobs_verify_and_dump() {
    let dir = samples();
    for (file, kind, expect) in SAMPLES {
        let path = dir.join(file);
        let path = path.to_str().unwrap();
        let out = luo(&["verify", "--linux", kind, path]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = luo(&["dump", "--linux", kind, "--json", path]);
        assert_eq!(out.status.code(), Some(0), "{file}");
        let json = String::from_utf8(out.stdout).unwrap();
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
        assert!(json.contains(expect), "{file}: {expect} not in {json}");
        let out = luo(&["dump", "--linux", kind, path]);
        assert_eq!(out.status.code(), Some(0), "{file}");
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn truncated_upstream_blobs_exit_1_with_one_line() {
    let dir = samples();
    for (file, kind, _) in SAMPLES {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let cut = dir.join(format!("cut-{file}"));
        // Every length for the small blobs; a sample of lengths for the larger ones.
        let step = (bytes.len() / 64).max(1);
        for n in (0..bytes.len()).step_by(step) {
            if *kind == "flb" {
                // An FLB area may stop short of its page: only header and entries must be there.
                let count = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
                if n as u64 >= 16 + 64 * count {
                    continue;
                }
            }
            std::fs::write(&cut, &bytes[..n]).unwrap();
            let out = luo(&["verify", "--linux", kind, cut.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{file} cut to {n}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{file} cut to {n}: {stderr}");
        }
    }
}

#[test]
fn unknown_kind_is_a_usage_error() {
    let dir = samples();
    let out = luo(&[
        "verify",
        "--linux",
        "pci-v9",
        dir.join("pci-v2.bin").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pci-v1-u64"));
}

#[test]
fn a_closed_stdout_ends_output_quietly() {
    let img = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/v1.img");
    for args in [
        &["dump", img][..],
        &["dump", "--json", img],
        &["simulate", "--devices", "5000"],
    ] {
        let mut child = Command::new(LUO)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away before luo writes
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_compatible_of_several_layouts_is_no_kind() {
    let dir = samples();
    let out = luo(&[
        "verify",
        "--linux",
        "pci-v2",
        dir.join("pci-v2.bin").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pci-v2-array, pci-v2-chain"), "{stderr}");
}
