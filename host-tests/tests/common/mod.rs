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
