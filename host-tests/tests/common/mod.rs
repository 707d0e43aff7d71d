//! Starting the programs the tests build (`luo`, the C `linux_upstream`) the way cargo starts
//! the test binaries: through the target's runner when one is configured, so that the tests
//! also pass cross-compiled under an emulator (`.ci/cross.sh`: `qemu-aarch64`, `qemu-s390x`).

use std::ffi::OsStr;
use std::process::Command;

/// The target these tests were built for (`host-tests/build.rs` records it).
const TARGET: &str = env!("LIVEUPDATE_TARGET");

/// The runner configured for [`TARGET`] in `CARGO_TARGET_<TRIPLE>_RUNNER` (the environment
/// variable cargo reads, inherited by the test process), split on whitespace as cargo does.
/// Empty when none is set: the program runs directly.
pub fn runner() -> Vec<String> {
    let var = format!(
        "CARGO_TARGET_{}_RUNNER",
        TARGET.to_ascii_uppercase().replace(['-', '.'], "_")
    );
    std::env::var(var)
        .map(|r| r.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A command running `program` (a binary built for [`TARGET`]), through the runner if any.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let runner = runner();
    match runner.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// For tests that start a program once per case (every truncation, every bit flip): try every
/// Nth case only, N from `LIVEUPDATE_SPAWN_STRIDE` (default 1, every case). `.ci/cross.sh`
/// sets it under emulation, where each start is an emulator's (about 0.2 s instead of 3 ms).
#[allow(
    dead_code,
    reason = "used by some of the test files that include this module"
)]
pub fn spawn_stride() -> usize {
    std::env::var("LIVEUPDATE_SPAWN_STRIDE")
        .map_or(1, |s| {
            s.parse::<usize>()
                .expect("LIVEUPDATE_SPAWN_STRIDE: a number")
        })
        .max(1)
}
