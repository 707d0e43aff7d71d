//! Compiles the C interop sources in `c/` for the tests: one static library (the records of
//! ABI 1.0 and 1.1 in C, and the upstream Linux structures with kernel-like writers), linked into
//! the crate, and the `linux_upstream` program (the `LX_MAIN` build of `c/linux_upstream.c`) whose path
//! the tests find in `LINUX_UPSTREAM_BIN`. Warnings are errors.

use std::env;
use std::path::PathBuf;

const INCLUDE: &str = "../abi/include";

fn main() {
    println!("cargo::rerun-if-changed=c");
    println!("cargo::rerun-if-changed={INCLUDE}/liveupdate_abi.h");
    cc::Build::new()
        .files(["c/liveupdate_c.c", "c/linux_upstream.c"])
        .include(INCLUDE)
        .include("c")
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("liveupdate_c");

    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("linux_upstream");
    let status = cc::Build::new()
        .get_compiler()
        .to_command()
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-DLX_MAIN",
            "-Ic",
            "-I",
            INCLUDE,
        ])
        .arg("c/linux_upstream.c")
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling c/linux_upstream.c failed");
    println!("cargo::rustc-env=LINUX_UPSTREAM_BIN={}", out.display());
    // The tests start `luo` and `linux_upstream` through this target's runner, when one is
    // configured (tests/common/mod.rs).
    let target = env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo::rustc-env=LIVEUPDATE_TARGET={target}");
}
