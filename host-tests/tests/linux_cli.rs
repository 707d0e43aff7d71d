//! `luo verify --linux` and `luo dump --linux` on blobs written by the C program that writes
//! upstream structs as the kernel does (`host-tests/c/linux_upstream.c`).

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use liveupdate_abi::linux::ByteOrder;

const LUO: &str = env!("CARGO_BIN_EXE_luo");

/// The byte order the C program writes in: this host's (its structs are native).
const NATIVE: &str = ByteOrder::NATIVE.name();

fn samples() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("linux-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = common::command(env!("LINUX_UPSTREAM_BIN"))
        .arg("samples")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn luo(args: &[&str]) -> std::process::Output {
    common::command(LUO).args(args).output().unwrap()
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
    ("pci.img", "pci", r#""version": 2"#),
    ("pci-empty.bin", "pci", r#""layout": "versioned""#),
];

#[test]
fn upstream_blobs_verify_and_dump() {
    let dir = samples();
    for (file, kind, expect) in SAMPLES {
        let path = dir.join(file);
        let path = path.to_str().unwrap();
        let out = luo(&["verify", "--linux", kind, "--byte-order", NATIVE, path]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = luo(&[
            "dump",
            "--linux",
            kind,
            "--byte-order",
            NATIVE,
            "--json",
            path,
        ]);
        assert_eq!(out.status.code(), Some(0), "{file}");
        let json = String::from_utf8(out.stdout).unwrap();
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
        assert!(json.contains(expect), "{file}: {expect} not in {json}");
        let out = luo(&["dump", "--linux", kind, "--byte-order", NATIVE, path]);
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
        // Every length for the small blobs; a sample of 64 lengths for the larger ones (fewer
        // under emulation, at least 4: common::spawn_stride).
        let cuts = (64 / common::spawn_stride()).max(4);
        let step = (bytes.len() / cuts).max(1);
        for n in (0..bytes.len()).step_by(step) {
            if *kind == "flb" {
                // An FLB area may stop short of its page: only header and entries must be there.
                let count = u64::from_ne_bytes(bytes[8..16].try_into().unwrap());
                if n as u64 >= 16 + 64 * count {
                    continue;
                }
            }
            std::fs::write(&cut, &bytes[..n]).unwrap();
            let out = luo(&[
                "verify",
                "--linux",
                kind,
                "--byte-order",
                NATIVE,
                cut.to_str().unwrap(),
            ]);
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
        let mut child = common::command(LUO)
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

/// Writes `bytes` to a fresh file named `name`; returns its path.
fn file(name: &str, bytes: &[u8]) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("linux-cli-findings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

fn luo_ser(compat: &str, field: usize) -> Vec<u8> {
    let mut b = compat.as_bytes().to_vec();
    b.resize(field, 0);
    for v in [7u64, 0x1000, 0x2000] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

fn flb_entry(name: &[u8], data: u64, count: u64) -> Vec<u8> {
    let mut b = name.to_vec();
    b.resize(48, 0);
    b.extend_from_slice(&data.to_le_bytes());
    b.extend_from_slice(&count.to_le_bytes());
    b
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn warnings_pass_errors_fail_and_strict_fails_on_warnings() {
    // An FLB area the kernel accepts: a count of 0, a 48-byte name with no NUL, a name twice.
    let mut area = [1u64.to_le_bytes(), 4u64.to_le_bytes()].concat();
    area.extend(flb_entry(b"pci", 0x1000, 0));
    area.extend(flb_entry(&[b'n'; 48], 0x2000, 1));
    area.extend(flb_entry(b"iommu-v1", 0x3000, 1));
    area.extend(flb_entry(b"iommu-v1", 0x4000, 1));
    let path = file("lenient-flb.bin", &area);
    let out = luo(&["verify", "--linux", "flb", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches(": warning: ").count(), 3, "{err}");
    assert!(err.contains("count is zero"), "{err}");
    assert!(err.contains("no terminating NUL"), "{err}");
    assert!(err.contains("repeats entry 2"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 warning(s)"));

    let out = luo(&["verify", "--linux", "flb", "--strict", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("refused by --strict"));

    let out = luo(&["verify", "--linux", "flb", "--json", &path]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    assert!(findings.iter().all(|f| f["severity"] == "warning"));

    // The dump shows it too, and says the same on standard error.
    let out = luo(&["dump", "--linux", "flb", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&"n".repeat(48)));

    // A luo_ser longer than sizeof(luo_ser): accepted by the kernel.
    let mut long = luo_ser("luo-v5", 8);
    long.extend_from_slice(&[0; 8]);
    let out = luo(&["verify", "--linux", "luo", &file("long-luo.bin", &long)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning: luo_ser: too long: at most 32 bytes, found 40"));
}

#[test]
fn root_compatibles_are_named_and_unknown_ones_refused() {
    for (compat, field) in [("luo-v3-kho-block-v1", 24), ("luo-v4-kho-block-v1", 24)] {
        let path = file(&format!("{compat}.bin"), &luo_ser(compat, field));
        let out = luo(&["verify", "--linux", "luo", &path]);
        assert_eq!(out.status.code(), Some(0), "{compat}: {}", stderr(&out));
        assert!(out.stderr.is_empty(), "{compat}: {}", stderr(&out));
    }
    let path = file("luo-v9.bin", &luo_ser("luo-v9", 8));
    let out = luo(&["verify", "--linux", "luo", &path]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("\"luo-v9\" is not one this version reads"),
        "{err}"
    );
    assert!(err.contains("\"luo-v3-kho-block-v1\""), "{err}");
    let out = luo(&["verify", "--linux", "luo", "--json", &path]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["findings"][0]["severity"], "error");
    // The dump still shows its raw fields, then refuses.
    let out = luo(&["dump", "--linux", "luo", "--json", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""compatible": "luo-v9""#));
}

fn pci_ser(version: u32, nr: u32, devices: u64) -> Vec<u8> {
    [
        &version.to_le_bytes()[..],
        &nr.to_le_bytes(),
        &devices.to_le_bytes(),
    ]
    .concat()
}

#[test]
fn the_pci_form_is_read_as_told() {
    let empty = file("pci-empty.bin", &pci_ser(1, 0, 0));
    let out = luo(&["verify", "--linux", "pci", &empty]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = luo(&["dump", "--linux", "pci", "--json", &empty]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&json["layout"], &json["version"], &json["compatible"]),
        (
            &serde_json::json!("versioned"),
            &serde_json::json!(1),
            &serde_json::json!("pci")
        )
    );
    // The same 16 bytes told as an array are an array of one slot.
    let out = luo(&["dump", "--linux", "pci-v2-array", "--json", &empty]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["max_nr_devices"], 1);

    let v3 = file("pci-v3-version.bin", &pci_ser(3, 0, 0));
    let out = luo(&["verify", "--linux", "pci", &v3]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("version 3 is not one this reader knows"));

    let short = file("pci-12.bin", &pci_ser(1, 0, 0)[..12]);
    let out = luo(&["verify", "--linux", "pci", &short]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("need 16 bytes, found 12"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_byte_order_is_read_as_told() {
    // A luo-v5 root a big-endian kernel wrote: liveupdate_num 7, most significant byte first.
    let mut be = b"luo-v5\0\0".to_vec();
    for v in [7u64, 0x1000, 0x2000] {
        be.extend_from_slice(&v.to_be_bytes());
    }
    let path = file("luo-v5-big.bin", &be);
    let out = luo(&[
        "dump",
        "--linux",
        "luo",
        "--byte-order",
        "big",
        "--json",
        &path,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&json["liveupdate_num"], &json["flbs_pa"]),
        (&7.into(), &0x2000.into())
    );
    // Read as little-endian (the default), the same bytes are other numbers.
    let out = luo(&["dump", "--linux", "luo", "--json", &path]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["liveupdate_num"], 7u64 << 56);
    let out = luo(&["verify", "--linux", "luo", "--byte-order", "big", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A big-endian FLB area is refused as little-endian: its pgcnt of 1 reads 2^56.
    let mut area = [1u64.to_be_bytes(), 1u64.to_be_bytes()].concat();
    area.extend_from_slice(b"pci");
    area.resize(16 + 48, 0);
    area.extend_from_slice(&0x1000u64.to_be_bytes());
    area.extend_from_slice(&2u64.to_be_bytes());
    let path = file("flb-big.bin", &area);
    let out = luo(&["verify", "--linux", "flb", "--byte-order", "big", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = luo(&["verify", "--linux", "flb", "--byte-order", "little", &path]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // Not an order, or without --linux: usage errors.
    let out = luo(&["verify", "--linux", "flb", "--byte-order", "middle", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected little or big"),
        "{}",
        stderr(&out)
    );
    let img = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/v1.img");
    let out = luo(&["verify", "--byte-order", "big", img]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
