#!/usr/bin/env bash
# Cross-architecture tests: the workspace's tests built for aarch64 (little-endian, the CRC-32C
# hardware engine) and s390x (big-endian), run under qemu-user.
#
# The linker, the runner and the C compiler of the `cc` crate (host-tests/c) are set through
# cargo's and cc's environment variables, not a committed .cargo/config. Tests that spawn a
# target program (`luo`, the C `linux_upstream`) start it through the same runner
# (host-tests/tests/common/mod.rs reads CARGO_TARGET_<TRIPLE>_RUNNER).
#
# Installs what it lacks (Debian packages, rustup targets). When an install fails, that target
# is skipped with a line "SKIPPED: ..." and the script still exits 0 for that reason only; a
# build or test failure exits non-zero.
#
# The whole workspace on both targets. Left out under emulation, to stay within a 10-minute
# budget on a 2-core machine (the native run of `.ci/run` covers all of it):
# - doc tests (`--lib --bins --tests` only): each doc test is its own build, and they exercise
#   no architecture-dependent code the unit and integration tests do not;
# - benches and examples (`cargo test` would only build them);
# - debug info (CARGO_PROFILE_DEV_DEBUG=0, CARGO_INCREMENTAL=0): smaller objects, faster
#   links of the ~30 test binaries, nothing kept for a later rebuild;
# - proptest cases: PROPTEST_CASES=${CROSS_PROPTEST_CASES:-16} instead of 256;
# - tests starting a program once per case try every ${CROSS_SPAWN_STRIDE:-997}th case
#   (LIVEUPDATE_SPAWN_STRIDE; verify_mutations: ~45 of ~45,000 bit flips and truncations of
#   an image; linux_cli: 4 truncations of each upstream sample instead of up to 64): each run
#   starts an emulator, 0.2-0.5 s instead of 3 ms; the decoders see every mutation in-process
#   in other tests;
# - core/tests/stress.rs (`gets_puts_and_lookups_race_the_last_finish`, ~1 min emulated):
#   qemu-user runs the guest's atomics with the x86 host's ordering, so the race it probes
#   tells nothing about the emulated architecture's weaker memory model.
#
# Usage: bash .ci/cross.sh [TARGET...]   (default: aarch64-unknown-linux-gnu s390x-unknown-linux-gnu)
# CARGO_TARGET_DIR is honoured (default target/). A log per target: <target dir>/cross-T.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-unknown-linux-gnu s390x-unknown-linux-gnu)

# shellcheck source=lib.sh
. .ci/lib.sh

skipped=()
passed=()
for t in "${targets[@]}"; do
  case "$t" in
  aarch64-unknown-linux-gnu)
    qemu=qemu-aarch64 gnu=aarch64-linux-gnu deb=arm64 crc=Arm64Pmull
    ;;
  s390x-unknown-linux-gnu)
    qemu=qemu-s390x gnu=s390x-linux-gnu deb=s390x crc=Table
    ;;
  *)
    echo "cross: unknown target $t" >&2
    exit 2
    ;;
  esac
  printf '\n--- cross: %s\n' "$t"
  why=""
  if ! have_or_install "command -v $qemu" qemu-user; then
    why="apt-get install qemu-user failed: no $qemu"
  elif ! have_or_install "command -v $gnu-gcc" "gcc-$gnu"; then
    why="apt-get install gcc-$gnu failed"
  elif ! have_or_install "test -e /usr/$gnu/lib/libc.so.6 -a -e /usr/$gnu/include/stdio.h" "libc6-dev-$deb-cross"; then
    why="apt-get install libc6-dev-$deb-cross failed"
  elif ! have_target "$t"; then
    why="rustup target add $t failed"
  fi
  if [ -n "$why" ]; then
    skipped+=("$t ($why)")
    echo "SKIPPED: $t ($why)"
    continue
  fi

  T=$(echo "$t" | tr 'a-z-' 'A-Z_')
  u=$(echo "$t" | tr '-' '_')
  log="${CARGO_TARGET_DIR:-target}/cross-$t.log"
  mkdir -p "$(dirname "$log")"
  start=$SECONDS
  # The runner of the target: cargo uses it for the test binaries, the tests for what they
  # spawn. LIVEUPDATE_EXPECT_CRC_ENGINE makes abi/tests/arch.rs require that engine
  # (on aarch64, the CRC extension and PMULL must actually run: qemu's default CPU has them).
  set +e
  env "CARGO_TARGET_${T}_LINKER=$gnu-gcc" \
    "CARGO_TARGET_${T}_RUNNER=$qemu -L /usr/$gnu" \
    "CC_${u}=$gnu-gcc" "AR_${u}=$gnu-ar" \
    CARGO_PROFILE_DEV_DEBUG=0 CARGO_INCREMENTAL=0 \
    PROPTEST_CASES="${CROSS_PROPTEST_CASES:-16}" \
    LIVEUPDATE_SPAWN_STRIDE="${CROSS_SPAWN_STRIDE:-997}" \
    LIVEUPDATE_EXPECT_CRC_ENGINE="$crc" \
    nice cargo test --workspace --locked --target "$t" --lib --bins --tests \
    -- --skip gets_puts_and_lookups_race_the_last_finish 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" != 0 ]; then
    echo "cross: $t: FAILED (cargo test exit $status; log $log)" >&2
    exit 1
  fi
  read -r p f i s < <(awk '/^test result:/ { p += $4; f += $6; i += $8; s += $12 }
    END { print p + 0, f + 0, i + 0, s + 0 }' "$log")
  passed+=("$t: $p tests passed, $f failed, $i ignored, $s left out, $((SECONDS - start)) s")
  echo "cross: $t: PASS ($p tests passed, $s left out) in $((SECONDS - start)) s"
done

echo
for p in "${passed[@]}"; do echo "cross: PASS $p"; done
for s in "${skipped[@]}"; do echo "cross: SKIPPED: $s"; done
