//! `luo verify` on every single-bit flip and every truncation of a `luo write` image: exit 1
//! each time, never 0 (accepted), 101 (panic) or a signal.
//!
//! `LIVEUPDATE_SPAWN_STRIDE=N` tries every Nth mutation only (default 1: all of them):
//! `.ci/cross.sh` sets it under emulation, where each of the ~45,000 `luo` processes starts
//! an emulator. The decoders themselves see every mutation in-process in other tests.

mod common;

use std::path::PathBuf;

use std::sync::atomic::{AtomicUsize, Ordering};

const LUO: &str = env!("CARGO_BIN_EXE_luo");

fn verify(path: &str) -> (Option<i32>, String) {
    let out = common::command(LUO)
        .args(["verify", path])
        .output()
        .expect("run luo");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_bit_flip_and_truncation_exits_1() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mutations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("base.img");
    let status = common::command(LUO)
        .args(["write", "--devices", "3", "--flbs", "1", "--seed", "11"])
        .arg(&img)
        .status()
        .unwrap();
    assert!(status.success());
    let base = std::fs::read(&img).unwrap();
    assert_eq!(verify(img.to_str().unwrap()).0, Some(0));

    // Mutation i < bits: flip bit i; otherwise truncate to i - bits bytes.
    let bits = base.len() * 8;
    let total = bits + base.len();
    let stride = common::spawn_stride();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get) * 2;
    std::thread::scope(|s| {
        for w in 0..workers {
            let (dir, base, next) = (&dir, &base, &next);
            s.spawn(move || {
                let path = dir.join(format!("w{w}.img"));
                let path_str = path.to_str().unwrap();
                loop {
                    let i = next.fetch_add(stride, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let bytes = if i < bits {
                        let mut b = base.clone();
                        b[i / 8] ^= 1 << (i % 8);
                        b
                    } else {
                        base[..i - bits].to_vec()
                    };
                    std::fs::write(&path, &bytes).unwrap();
                    let (code, stderr) = verify(path_str);
                    let what = if i < bits {
                        format!("flip of bit {i}")
                    } else {
                        format!("truncation to {}", i - bits)
                    };
                    assert_eq!(code, Some(1), "{what}: exit {code:?}, stderr: {stderr}");
                    assert_eq!(stderr.lines().count(), 1, "{what}: not one line: {stderr}");
                }
            });
        }
    });
    println!(
        "luo verify refused {bits} bit flips and {} truncations (every {stride})",
        base.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
