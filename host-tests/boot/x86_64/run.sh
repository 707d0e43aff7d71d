#!/usr/bin/env bash
# The x86-64 boot stub under QEMU's own multiboot loader (no OS): `luo write --base
# 0x4000000 --flat F IMAGE`, then `qemu-system-x86_64 -kernel STUB -initrd F` (F becomes
# multiboot module 0). Runs:
#   three scenarios (64 devices ABI 1.1; 1000 devices in a chained PCI table and 12 FLBs;
#            ABI 1.0): each report must agree with `luo dump --json IMAGE`
#            (host-tests/boot/compare.py), every stack mark stay under 2 KiB, and the run
#            end with status 0;
#   corrupt  one bit flipped inside the FLB table record: result=error naming the FLB table,
#            status 1;
#   fault    module command line "fault=x87" (an x87 instruction; CR0.EM traps it): the
#            exception is reported and QEMU ends with status 2, never a hang;
#   overflow "fault=stack" (push until the guard page below the stack): #DF on its own
#            stack, reported, status 2.
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
compare=${BOOT_COMPARE:-$boot/compare.py}
machine="x86-64 (qemu q35, multiboot, 1 CPU, paging on)"

fail() {
  echo "boot $machine: FAIL: $*"
  exit 1
}
have_or_install 'command -v qemu-system-x86_64 >/dev/null' qemu-system-x86 ||
  { echo "boot $machine: SKIPPED: no qemu-system-x86_64 (installing qemu-system-x86 failed)"; exit 0; }
have_target x86_64-unknown-none ||
  { echo "boot $machine: SKIPPED: rustup target add x86_64-unknown-none failed"; exit 0; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stub=$(bash "$here/build.sh")
# Lints for the stub's own target (run.sh lints the workspace for the host).
(cd "$boot" && CARGO_TARGET_DIR=${BOOT_TARGET_DIR:-$root/target/boot} nice cargo clippy --locked \
  --release -q -p liveupdate-boot -p liveupdate-boot-x86_64 --target x86_64-unknown-none \
  -- -D warnings) || fail "cargo clippy --target x86_64-unknown-none"
luo=${LUO:-}
if [ -z "$luo" ]; then
  (cd "$root" && nice cargo build --release --locked -q -p liveupdate-host-tests --bin luo)
  luo=${CARGO_TARGET_DIR:-$root/target}/release/luo
fi

# run NAME MODULE: the stub with MODULE ("file [args]") as multiboot module 0; the serial
# log goes to NAME.log, the stub's status (stub_status) to NAME.status.
run() {
  local rc
  set +e
  timeout "$timeout_s" qemu-system-x86_64 -machine q35 -m 256M -display none -nic none \
    -no-reboot -monitor none -serial stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$stub" -initrd "$2" </dev/null >"$work/$1.log" 2>&1
  rc=$?
  set -e
  stub_status "$rc" >"$work/$1.status"
  if [ -n "${VERBOSE:-}" ]; then
    echo "run $1: $(exit_status "$rc")"
    stub_lines "$work/$1.log" | sed 's/^/  /'
  fi
}

# scenario NAME LUO-ARGS...: writes the handover, runs the stub, compares.
details=()
scenario() {
  local name=$1 out
  shift
  "$luo" write --base "$base" --flat "$work/$name.flat" "$@" "$work/$name.luo"
  "$luo" dump --json "$work/$name.luo" >"$work/$name.json"
  run "$name" "$work/$name.flat"
  out=$(python3 "$compare" --dump "$work/$name.json" --report "$work/$name.log" \
    --status "$(cat "$work/$name.status")" --machine "$machine, $name" \
    --stack-out "$work/$name.stack" --stack-limit 2048) || {
    stub_lines "$work/$name.log" >&2
    fail "$out"
  }
  details+=("${out#*: PASS }")
}
# The largest stack mark over the scenarios: "bytes entry".
stack_max() {
  cat "$work"/*.stack | awk '{ b = $NF; sub(/ [0-9]+$/, ""); if (b + 0 > max + 0) { max = b; name = $0 } }
    END { printf "stack max %.1f KiB (%s)", max / 1024, name }'
}
scenario default
scenario chained --devices 1000 --flbs 11 --seed 7
scenario abi1.0 --abi 1.0 --devices 100 --seed 3

# One bit flipped inside the FLB table: the typed error, status 1.
flipped=$(python3 "$here/flip.py" "$work/default.json" "$work/default.flat" "$work/corrupt.flat" "flb table")
run corrupt "$work/corrupt.flat"
out=$(python3 "$compare" --dump "$work/default.json" --report "$work/corrupt.log" \
  --status "$(cat "$work/corrupt.status")" --machine "$machine, corrupt" --expect refused) || {
  stub_lines "$work/corrupt.log" >&2
  fail "$flipped: $out"
}
case $out in
*"flb table"*) ;;
*) fail "$flipped: the error does not name the FLB table: $out" ;;
esac

# An x87 instruction before the job: #NM reported, status 2.
run fault "$work/default.flat fault=x87"
if [ "$(cat "$work/fault.status")" != 2 ] || ! tr -d '\r' <"$work/fault.log" | grep -aq '^luo-stub: exception vector=7 '; then
  stub_lines "$work/fault.log" >&2
  fail "x87 instruction: status $(cat "$work/fault.status"), expected the #NM exception and status 2"
fi
# A stack overflow: the guard page, then #DF on its IST stack, reported, status 2.
run overflow "$work/default.flat fault=stack"
if [ "$(cat "$work/overflow.status")" != 2 ] || ! tr -d '\r' <"$work/overflow.log" | grep -aq '^luo-stub: exception vector=8 '; then
  stub_lines "$work/overflow.log" >&2
  fail "stack overflow: status $(cat "$work/overflow.status"), expected #DF reported and status 2"
fi
echo "boot $machine: PASS 3 scenarios (64 devices + 5 FLBs; 1000 devices chained + 12 FLBs; ABI 1.0), $(stack_max); corrupted FLB table refused (status 1); x87 trapped (#NM, status 2); stack overflow caught (#DF, status 2); $(($(date +%s) - started)) s"
