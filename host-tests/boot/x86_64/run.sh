#!/usr/bin/env bash
# The x86-64 boot stub under QEMU's own multiboot loader (no OS): `luo write --base
# 0x4000000 --flat F IMAGE`, then `qemu-system-x86_64 -kernel STUB -initrd F` (F becomes
# multiboot module 0). Three runs:
#   ok       the report must agree with `luo dump --json IMAGE` and end with status 0;
#   corrupt  one bit flipped inside the FLB table record: result=error and status 1;
#   fault    module command line "fault=x87" (an x87 instruction; CR0.EM traps it): the
#            exception is reported and QEMU ends with status 2, never a hang.
# Prints one summary line; exits non-zero on any failure, prints "SKIPPED: ..." and exits 0
# only when qemu-system-x86 or the rustup target cannot be installed.
# Called by host-tests/boot/run.sh (which exports LUO and BOOT_TARGET_DIR); runs alone too.
# BOOT_TIMEOUT: seconds per run (60); VERBOSE=1 prints the serial logs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
boot=$(dirname "$here")
root=$(cd "$boot/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
started=$(date +%s)
base=0x4000000
timeout_s=${BOOT_TIMEOUT:-60}
name="boot x86-64 (qemu q35, multiboot, 1 CPU, paging on)"

fail() {
  echo "$name: FAIL: $*"
  exit 1
}
have_or_install 'command -v qemu-system-x86_64 >/dev/null' qemu-system-x86 ||
  { echo "$name: SKIPPED: no qemu-system-x86_64 (installing qemu-system-x86 failed)"; exit 0; }
have_target x86_64-unknown-none ||
  { echo "$name: SKIPPED: rustup target add x86_64-unknown-none failed"; exit 0; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stub=$(bash "$here/build.sh")
luo=${LUO:-}
if [ -z "$luo" ]; then
  (cd "$root" && nice cargo build --release --locked -q -p liveupdate-host-tests --bin luo)
  luo=${CARGO_TARGET_DIR:-$root/target}/release/luo
fi
"$luo" write --base "$base" --flat "$work/flat.bin" "$work/image.luo"
"$luo" dump --json "$work/image.luo" >"$work/dump.json"
flipped=$(python3 "$here/flip.py" "$work/dump.json" "$work/flat.bin" "$work/flat-bad.bin" "flb table")

# run NAME MODULE: the stub with MODULE ("file [args]") as multiboot module 0.
run() {
  local rc
  set +e
  timeout "$timeout_s" qemu-system-x86_64 -machine q35 -m 256M -display none -nic none \
    -no-reboot -monitor none -serial stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$stub" -initrd "$2" </dev/null >"$work/$1.log" 2>&1
  rc=$?
  set -e
  echo "$rc" >"$work/$1.rc"
  if [ -n "${VERBOSE:-}" ]; then
    echo "run $1: $(exit_status "$rc")"
    stub_lines "$work/$1.log" | sed 's/^/  /'
  fi
}

run ok "$work/flat.bin"
run corrupt "$work/flat-bad.bin"
run fault "$work/flat.bin fault=x87"

rc=$(cat "$work/ok.rc")
if [ "$rc" != 1 ]; then
  stub_lines "$work/ok.log" >&2
  fail "intact handover: $(exit_status "$rc"), expected status 0"
fi
summary=$(python3 "$here/compare.py" "$work/ok.log" "$work/dump.json" "$base") || {
  stub_lines "$work/ok.log" >&2
  fail "the report differs from luo dump --json"
}
rc=$(cat "$work/corrupt.rc")
if [ "$rc" != 3 ] || ! tr -d '\r' <"$work/corrupt.log" | grep -aq '^luo-stub: result=error error=.*flb table'; then
  stub_lines "$work/corrupt.log" >&2
  fail "$flipped: $(exit_status "$rc"), expected result=error naming the FLB table and status 1"
fi
rc=$(cat "$work/fault.rc")
if [ "$rc" != 5 ] || ! tr -d '\r' <"$work/fault.log" | grep -aq '^luo-stub: exception vector=7 '; then
  stub_lines "$work/fault.log" >&2
  fail "x87 instruction: $(exit_status "$rc"), expected the #NM exception and status 2"
fi
echo "$name: PASS $summary; corrupted FLB table refused (status 1); x87 trapped (#NM, status 2); $(($(date +%s) - started)) s"
