#!/usr/bin/env bash
# The boot stubs under QEMU system emulation, as CI runs them (host-tests/boot/README.md):
#   1. installs what it lacks (qemu-system-arm, the aarch64-unknown-none-softfloat target,
#      python3); an install that fails prints "SKIPPED: ..." and skips that machine, exit 0;
#   2. builds `luo` (release) and the aarch64 stub; lints and host-tests the boot workspace;
#   3. per scenario: `luo write --base 0x48000000 --flat FLAT IMAGE`, QEMU virt (4 CPUs,
#      multi-threaded TCG, semihosting) loads FLAT at 0x48000000, the stub's report is compared
#      with `luo dump --json IMAGE` (compare.py; every entry point's stack mark under 2 KiB);
#      then a copy with one bit flipped inside the PCI table must end with result=error and
#      status 1; QEMU without the file must refuse it (status 1), and a data abort on purpose
#      must be reported by the exception vectors (status 2);
#   4. runs host-tests/boot/x86_64/run.sh when it exists (the x86-64 stub's own script).
# One summary line per machine and scenario; exits non-zero on any failure.
# Environment: CARGO_TARGET_DIR (default <repo>/target) for luo; the stubs build in
# BOOT_TARGET_DIR (default <repo>/target/boot). Exported for x86_64/run.sh: LUO,
# BOOT_TARGET_DIR, BOOT_COMPARE.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TERM_COLOR=never
target_dir=${CARGO_TARGET_DIR:-$repo/target}
export BOOT_TARGET_DIR=${BOOT_TARGET_DIR:-$repo/target/boot}
export LUO=$target_dir/release/luo
export BOOT_COMPARE=$here/compare.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS
failures=0

step() { printf '\n--- boot: %s\n' "$*"; }
fail() {
    echo "error: $*" >&2
    failures=$((failures + 1))
}

# shellcheck source=../../.ci/lib.sh
. "$repo/.ci/lib.sh"

step "tools"
have_or_install 'command -v python3' python3 ||
    { echo "SKIPPED: every boot stub (python3 missing and 'apt-get install python3' failed)"; exit 0; }
aarch64=1
have_or_install 'command -v qemu-system-aarch64' qemu-system-arm ||
    { echo "SKIPPED: boot aarch64 ('apt-get install qemu-system-arm' failed)"; aarch64=; }
if [ -n "$aarch64" ] && ! have_target aarch64-unknown-none-softfloat; then
    echo "SKIPPED: boot aarch64 ('rustup target add aarch64-unknown-none-softfloat' failed)"
    aarch64=
fi
command -v qemu-system-aarch64 >/dev/null && qemu-system-aarch64 --version | head -1

step "build: luo (release), the boot workspace's format, lints and host tests"
(cd "$repo" && cargo build --release --locked -p liveupdate-host-tests --bin luo)
(
    cd "$here"
    export CARGO_TARGET_DIR=$BOOT_TARGET_DIR
    cargo fmt --all --check
    cargo test --locked -p liveupdate-boot
    # The host build of the common crate and its tests; the stub itself for its target (a
    # host build of a stub crate compiles nothing of it).
    cargo clippy --locked -p liveupdate-boot --all-targets -- -D warnings
    if [ -n "$aarch64" ]; then
        cargo clippy --locked --release -p liveupdate-boot-aarch64 \
            --target aarch64-unknown-none-softfloat -- -D warnings
    fi
)

# One QEMU run of the aarch64 stub on FLAT: serial report to $2, exit status echoed.
run_aarch64() {
    local flat=$1 report=$2 status=0
    timeout 120 qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 4 -m 256M \
        -accel tcg,thread=multi -display none -monitor none -serial stdio \
        -semihosting-config enable=on,target=native \
        -kernel "$stub" \
        -device loader,file="$flat",addr=0x48000000,force-raw=on \
        </dev/null >"$report" 2>&1 || status=$?
    echo "$status"
}

# Scenario SLUG ("what it is") LUO-WRITE-OPTIONS...: writes FLAT and IMAGE, runs, compares.
# (The slug names the directory: QEMU's -device option cannot take a comma in a path.)
scenario_aarch64() {
    local slug=$1 name=$2
    shift 2
    local dir=$work/aarch64-$slug
    mkdir -p "$dir"
    "$LUO" write --base 0x48000000 --flat "$dir/flat.bin" "$@" "$dir/image.img"
    "$LUO" dump --json "$dir/image.img" >"$dir/dump.json"
    local status
    status=$(run_aarch64 "$dir/flat.bin" "$dir/report.txt")
    if ! python3 "$here/compare.py" --dump "$dir/dump.json" --report "$dir/report.txt" \
        --status "$status" --smp 4 --stack-out "$dir/stack.txt" --stack-limit 2048 \
        --machine "aarch64 (qemu virt, 4 CPUs, MMU off+on, $name)"; then
        sed 's/^/    /' "$dir/report.txt" >&2
        fail "aarch64 $name"
    fi
}

if [ -n "$aarch64" ]; then
    step "build: the aarch64 stub (aarch64-unknown-none-softfloat)"
    (cd "$here" && CARGO_TARGET_DIR=$BOOT_TARGET_DIR cargo build --release --locked \
        -p liveupdate-boot-aarch64 --target aarch64-unknown-none-softfloat)
    stub=$BOOT_TARGET_DIR/aarch64-unknown-none-softfloat/release/liveupdate-boot-aarch64

    step "aarch64: QEMU virt, cortex-a57, 4 CPUs, multi-threaded TCG"
    scenario_aarch64 default "64 devices, ABI 1.1"
    scenario_aarch64 chained "1000 devices in a chained PCI table, 12 FLBs" \
        --devices 1000 --flbs 11 --seed 7
    scenario_aarch64 abi10 "100 devices, ABI 1.0" --abi 1.0 --devices 100 --seed 3

    step "aarch64: one bit flipped inside a record"
    dir=$work/aarch64-corrupt
    mkdir -p "$dir"
    "$LUO" write --base 0x48000000 --flat "$dir/flat.bin" "$dir/image.img"
    "$LUO" dump --json "$dir/image.img" >"$dir/dump.json"
    # Bit 4 of the first PCI entry's refcount (entry 0 starts after the 64-byte header).
    python3 - "$dir/flat.bin" "$dir/dump.json" <<'EOF'
import json, sys
flat, dump = sys.argv[1], json.load(open(sys.argv[2]))
data = bytearray(open(flat, "rb").read())
base = int.from_bytes(data[8:16], "little")
at = dump["pci_table"]["phys"] - base + 64 + 6
data[at] ^= 0x10
open(flat, "wb").write(data)
EOF
    status=$(run_aarch64 "$dir/flat.bin" "$dir/report.txt")
    if ! python3 "$here/compare.py" --dump "$dir/dump.json" --report "$dir/report.txt" \
        --status "$status" --expect refused \
        --machine "aarch64 (qemu virt, corrupted PCI table)"; then
        sed 's/^/    /' "$dir/report.txt" >&2
        fail "aarch64 corrupted record"
    fi

    step "aarch64: no file loaded; a data abort"
    # No loader: the locator's typed error (bad magic), status 1.
    status=0
    timeout 60 qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 4 -m 256M \
        -display none -monitor none -serial stdio -semihosting-config enable=on,target=native \
        -kernel "$stub" </dev/null >"$work/nofile.txt" 2>&1 || status=$?
    if [ "$status" -eq 1 ] && grep -q '^luo-stub: result=error error="locator: bad magic' "$work/nofile.txt"; then
        echo "boot aarch64 (qemu virt, no flat file loaded): PASS refused, status 1: locator: bad magic"
    else
        sed 's/^/    /' "$work/nofile.txt" >&2
        fail "aarch64 without a flat file: status $status"
    fi
    # -append fault=unmapped: a read outside the identity map; the vectors must report the
    # data abort (EC 0x25) and exit 2.
    status=0
    timeout 60 qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 4 -m 256M \
        -display none -monitor none -serial stdio -semihosting-config enable=on,target=native \
        -kernel "$stub" -append fault=unmapped </dev/null >"$work/fault.txt" 2>&1 || status=$?
    if [ "$status" -eq 2 ] && grep -q '^luo-stub: exception .* ec=0x25 .*far=0x100000000' "$work/fault.txt" &&
        grep -q '^luo-stub: result=fault' "$work/fault.txt"; then
        echo "boot aarch64 (qemu virt, data abort on purpose): PASS $(grep -o 'esr=0x[0-9a-f]* ec=0x25' "$work/fault.txt"), status 2"
    else
        sed 's/^/    /' "$work/fault.txt" >&2
        fail "aarch64 fault report: status $status"
    fi

    step "aarch64: stack high-water marks (bytes, largest over passes and scenarios)"
    cat "$work"/aarch64-*/stack.txt 2>/dev/null |
        awk '{ name = $0; sub(/ [0-9]+$/, "", name); if ($NF + 0 > max[name] + 0) max[name] = $NF }
             END { for (n in max) printf "  %-34s %6d\n", n, max[n] }' | sort
fi

if [ -f "$here/x86_64/run.sh" ]; then
    step "x86_64: host-tests/boot/x86_64/run.sh"
    bash "$here/x86_64/run.sh" || fail "x86_64 (host-tests/boot/x86_64/run.sh)"
fi

echo
echo "boot stubs: $((SECONDS - started)) s"
if [ "$failures" -gt 0 ]; then
    echo "boot stubs: $failures failure(s)" >&2
    exit 1
fi
