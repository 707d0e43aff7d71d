//! Across ABI versions: every version this crate writes is read back by the current reader,
//! and the golden image of every released version stays readable, forever.
//!
//! The golden images under `host-tests/golden/` were written by `luo write` with the
//! arguments in [`GOLDEN`]; they are never regenerated. A newer writer reads every older
//! image (upgrade) and still writes every older version (rollback), byte for byte.

mod common;

use std::path::Path;

use liveupdate_abi::AbiVersion;
use liveupdate_host_tests::scenario::Scenario;
use liveupdate_host_tests::{image, inspect, sim};

const LUO: &str = env!("CARGO_BIN_EXE_luo");

/// (file, wire version, devices, FLBs, seed) of each released version's golden image. The 1.1
/// image (`v2.img`, named before versions were named by the wire) has a PCI table that spans
/// two chained blocks.
const GOLDEN: &[(&str, AbiVersion, usize, usize, u64)] = &[
    ("v1.img", AbiVersion::V1_0, 12, 3, 2026),
    ("v2.img", AbiVersion::V1_1, 200, 3, 2026),
];

/// Every wire version `luo write --abi` accepts.
const WRITABLE: &[AbiVersion] = &AbiVersion::ALL;

fn golden(file: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn golden_images_of_released_versions_stay_readable() {
    for &(file, abi, devices, flbs, seed) in GOLDEN {
        let bytes = golden(file);
        let mem = inspect::load(&bytes).unwrap_or_else(|e| panic!("{file} (ABI {abi}): {e}"));
        let scenario = Scenario::generate(seed, devices, flbs);
        let mem = Box::leak(Box::new(mem));
        let report = sim::incoming(mem, &scenario).unwrap();
        assert_eq!(report.mismatches, Vec::<String>::new(), "{file}");
        assert_eq!(report.devices_confirmed, devices, "{file}");
        assert_eq!(report.flbs_finished, flbs + 1, "{file}");
        assert_eq!(report.abi, Some(abi), "{file}");
        let identities = if abi >= AbiVersion::V1_1 { devices } else { 0 };
        assert_eq!(report.identities_matched, identities, "{file}");
    }
}

#[test]
fn golden_images_are_what_the_writer_of_their_version_still_writes() {
    for &(file, abi, devices, flbs, seed) in GOLDEN {
        let scenario = Scenario::generate(seed, devices, flbs);
        let mem = sim::outgoing(&scenario, abi).unwrap();
        assert_eq!(
            image::save(&mem),
            golden(file),
            "{file}: the {abi} writer changed"
        );
    }
}

#[test]
fn every_writable_version_is_read_back_by_the_current_reader() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for &abi in WRITABLE {
        for (devices, flbs, seed) in [
            (0usize, 0usize, 1u64),
            (7, 2, 2),
            (300, 10, 3),
            (5000, 1, 4),
        ] {
            let img = dir.join(format!("versions-{}-{abi}-{seed}.img", std::process::id()));
            let args = [
                "--abi".to_string(),
                abi.to_string(),
                "--devices".into(),
                devices.to_string(),
                "--flbs".into(),
                flbs.to_string(),
                "--seed".into(),
                seed.to_string(),
            ];
            let out = common::command(LUO)
                .arg("write")
                .args(&args)
                .arg(&img)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let out = common::command(LUO)
                .arg("incoming")
                .args(&args[2..])
                .arg(&img)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{abi} {devices}/{flbs}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            std::fs::remove_file(img).unwrap();
        }
    }
}

/// Writes an image with `luo write ARGS` and returns its bytes, or the exit code and stderr.
fn write_with(args: &[&str], name: &str) -> Result<Vec<u8>, (Option<i32>, String)> {
    let img = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("versions-{}-{name}.img", std::process::id()));
    let out = common::command(LUO)
        .arg("write")
        .args(args)
        .arg(&img)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err((
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    let bytes = std::fs::read(&img).unwrap();
    std::fs::remove_file(img).unwrap();
    Ok(bytes)
}

#[test]
fn luo_abi_takes_wire_versions_and_the_deprecated_numbers_as_aliases() {
    let common = ["--devices", "40", "--flbs", "2", "--seed", "7"];
    let with = |abi: &str| {
        let mut args = vec!["--abi", abi];
        args.extend(common);
        write_with(&args, &abi.replace('.', "_"))
    };
    let v1_0 = with("1.0").unwrap();
    let v1_1 = with("1.1").unwrap();
    assert_ne!(v1_0, v1_1);
    // The old names of earlier releases: 1 is 1.0 and 2 is 1.1, byte for byte.
    assert_eq!(with("1").unwrap(), v1_0);
    assert_eq!(with("2").unwrap(), v1_1);
    // The default is the newest.
    assert_eq!(write_with(&common, "default").unwrap(), v1_1);
    // Anything else is a usage error naming the accepted values.
    for bad in ["3", "1.2", "2.0", "v2", ""] {
        let (code, stderr) = with(bad).unwrap_err();
        assert_eq!(code, Some(2), "--abi {bad:?}");
        assert!(
            stderr.contains("expected 1.0 or 1.1"),
            "--abi {bad:?}: {stderr}"
        );
    }
}
