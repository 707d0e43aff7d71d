//! Across ABI versions: every version this crate writes is read back by the current reader,
//! and the golden image of every released version stays readable, forever.
//!
//! The golden images under `host-tests/golden/` were written by `luo write` with the
//! arguments in [`GOLDEN`]; they are never regenerated. A newer writer reads every older
//! image (upgrade) and still writes every older version (rollback), byte for byte.

use std::path::Path;
use std::process::Command;

use liveupdate_abi::AbiVersion;
use liveupdate_host_tests::scenario::Scenario;
use liveupdate_host_tests::{image, inspect, sim};

const LUO: &str = env!("CARGO_BIN_EXE_luo");

/// (file, ABI version, devices, FLBs, seed) of each released version's golden image. The v2
/// image's PCI table spans two chained blocks.
const GOLDEN: &[(&str, u16, usize, usize, u64)] =
    &[("v1.img", 1, 12, 3, 2026), ("v2.img", 2, 200, 3, 2026)];

/// Every ABI version `luo write --abi` accepts.
const WRITABLE: &[u16] = &[1, 2];

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
        let mem = inspect::load(&bytes).unwrap_or_else(|e| panic!("{file} (ABI v{abi}): {e}"));
        let scenario = Scenario::generate(seed, devices, flbs);
        let mem = Box::leak(Box::new(mem));
        let report = sim::incoming(mem, &scenario).unwrap();
        assert_eq!(report.mismatches, Vec::<String>::new(), "{file}");
        assert_eq!(report.devices_confirmed, devices, "{file}");
        assert_eq!(report.flbs_finished, flbs + 1, "{file}");
        assert_eq!(report.abi, Some(abi), "{file}");
        let identities = if abi >= 2 { devices } else { 0 };
        assert_eq!(report.identities_matched, identities, "{file}");
    }
}

#[test]
fn golden_images_are_what_the_writer_of_their_version_still_writes() {
    for &(file, abi, devices, flbs, seed) in GOLDEN {
        let scenario = Scenario::generate(seed, devices, flbs);
        let version = AbiVersion::from_number(abi).unwrap();
        let mem = sim::outgoing(&scenario, version).unwrap();
        assert_eq!(
            image::save(&mem),
            golden(file),
            "{file}: the v{abi} writer changed"
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
            let img = dir.join(format!("versions-{}-v{abi}-{seed}.img", std::process::id()));
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
            let out = Command::new(LUO)
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
            let out = Command::new(LUO)
                .arg("incoming")
                .args(&args[2..])
                .arg(&img)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "v{abi} {devices}/{flbs}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            std::fs::remove_file(img).unwrap();
        }
    }
}
