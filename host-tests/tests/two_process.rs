//! The simulation that matters: the outgoing and the incoming kernel in two separate
//! processes, connected only by the image file (and the scenario's seed).

mod common;

use std::path::PathBuf;

const LUO: &str = env!("CARGO_BIN_EXE_luo");

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(format!("{}-{name}", std::process::id()))
}

fn luo(args: &[&str]) -> std::process::Output {
    common::command(LUO).args(args).output().expect("run luo")
}

#[test]
fn outgoing_and_incoming_processes_agree_through_the_image_alone() {
    for (devices, flbs, seed) in [
        ("64", "4", "1"),
        ("1000", "20", "77"),
        ("0", "3", "5"),
        ("5000", "0", "9"),
    ] {
        let img = scratch(&format!("two-process-{seed}.img"));
        let img = img.to_str().unwrap();
        let scenario = ["--devices", devices, "--flbs", flbs, "--seed", seed];
        let out = luo(&[&["write"][..], &scenario, &[img]].concat());
        assert!(
            out.status.success(),
            "write: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = luo(&[&["incoming", "--json"][..], &scenario, &[img]].concat());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "incoming: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let n: u64 = devices.parse().unwrap();
        let m: u64 = flbs.parse::<u64>().unwrap() + u64::from(n > 0);
        assert_eq!(report["devices_found"], n);
        assert_eq!(report["devices_confirmed"], n);
        assert_eq!(report["flbs_retrieved"], m);
        assert_eq!(report["flbs_finished"], m);
        assert_eq!(report["mismatches"], serde_json::json!([]));
        std::fs::remove_file(img).unwrap();
    }
}

#[test]
fn incoming_with_another_scenario_reports_the_differences() {
    let img = scratch("other-scenario.img");
    let img = img.to_str().unwrap();
    assert!(
        luo(&["write", "--devices", "10", "--seed", "3", img])
            .status
            .success()
    );
    let out = luo(&["incoming", "--devices", "10", "--seed", "4", img]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("result: FAILED"), "{stdout}");
    assert!(stdout.contains("generation: came in"), "{stdout}");
    std::fs::remove_file(img).unwrap();
}

#[test]
fn simulate_is_the_default_and_prints_its_report() {
    let out = luo(&[]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "luo simulate: seed 1",
        "pci table",
        "64/64 preserved confirmed",
        "result: OK",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[test]
fn usage_and_io_errors_exit_2_and_help_exits_0() {
    assert_eq!(luo(&["verify"]).status.code(), Some(2));
    assert_eq!(
        luo(&["verify", "/nonexistent/luo.img"]).status.code(),
        Some(2)
    );
    assert_eq!(luo(&["simulate", "--abi", "9"]).status.code(), Some(2));
    assert_eq!(
        luo(&["simulate", "--devices", "70000"]).status.code(),
        Some(2)
    );
    for sub in ["simulate", "write", "incoming", "verify", "dump"] {
        let out = luo(&[sub, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{sub} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Exit codes"),
            "{sub}"
        );
    }
}

/// `simulate` is the default command and takes its options without being named.
#[test]
fn the_default_command_takes_simulates_options() {
    let opts = [
        "--devices",
        "1000",
        "--flbs",
        "2",
        "--abi",
        "1.0",
        "--seed",
        "3",
    ];
    let plain = luo(&opts);
    let named = luo(&[&["simulate"][..], &opts].concat());
    assert_eq!(
        plain.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    // The same report, but for the time the validation took.
    let untimed = |out: &std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.contains("validated in"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(untimed(&plain), untimed(&named));
    let report = String::from_utf8_lossy(&plain.stdout);
    assert!(report.contains("1000 PCI devices preserved"), "{report}");
    assert!(report.contains("ABI 1.0"), "{report}");
    let json = luo(&["--json", "--devices", "7"]);
    assert_eq!(json.status.code(), Some(0));
    // Options of the default command before another command are a usage error.
    assert_eq!(
        luo(&["--devices", "5", "dump", "x.img"]).status.code(),
        Some(2)
    );
}
