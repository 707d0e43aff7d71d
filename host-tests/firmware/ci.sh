#!/usr/bin/env bash
# The firmware-grade proofs, as CI runs them:
#   1. the freestanding image builds with no std, no libc and no allocator, and runs;
#   2. panic freedom: the release image links with a panic handler that calls a missing
#      symbol (and a planted panic makes that link fail, so the check can fail);
#   3. abi and core build for x86_64-unknown-none, when that target can be installed;
#   4. the code-size report, with the 8 KiB limit on the decoders;
#   5. the stack report: every entry point's worst-case static stack under 2 KiB on
#      aarch64-unknown-none-softfloat and x86_64-unknown-none (a target that cannot be
#      installed or disassembled is SKIPPED with the reason).
# Exits non-zero when a proof fails. Environment: CARGO_TARGET_DIR (default
# <repo>/target/firmware-image).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/firmware-image}
export CARGO_TERM_COLOR=never
bin=$CARGO_TARGET_DIR/release/liveupdate-firmware
cd "$here"

step() { printf '\n--- firmware: %s\n' "$*"; }
fail() {
    echo "error: $*" >&2
    exit 1
}

step "format and lints of the image"
cargo fmt --check
cargo clippy --release --locked -- -D warnings

step "freestanding image: build (no std, no libc, no allocator) and run"
cargo build --release --locked
# No dynamic section, no undefined symbol: nothing comes from libc. No allocator symbol: the
# `alloc` crate is linked nowhere (linking it without a global allocator would not build).
if readelf -d "$bin" | grep -q NEEDED; then fail "the image needs a shared library"; fi
undefined=$(nm -u "$bin")
[ -z "$undefined" ] || fail "undefined symbols in the image: $undefined"
if nm "$bin" | grep -E '__rust_alloc|__rdl_alloc|__rg_alloc'; then fail "an allocator is linked"; fi
status=0
"$bin" || status=$?
[ "$status" -eq 0 ] || fail "the image failed check $status (see src/exercise.rs)"
echo "image ran every check: exit 0"

step "panic freedom: release image whose panic handler calls a missing symbol"
# Covers every luo_* function of src/probes.rs: the decoders, Root::open, Handover::load, the
# incoming FLB and PCI accessors (PciIncoming::load with and without its key index), the
# encoders and the outgoing side.
cargo build --release --locked --features prove-no-panic
echo "proof links: no panic path in the image"

step "panic freedom catches a planted panic (this build must fail to link)"
if cargo build --release --locked --features prove-no-panic,planted-panic \
    2>"$CARGO_TARGET_DIR/planted.log"; then
    fail "the image with a planted panic linked: the proof does not work"
fi
grep -q __proof_failed_a_panic_path_is_reachable "$CARGO_TARGET_DIR/planted.log" ||
    { cat "$CARGO_TARGET_DIR/planted.log" >&2; fail "the planted-panic build failed for another reason"; }
echo "planted panic caught: undefined symbol __proof_failed_a_panic_path_is_reachable"
# Leave the ordinary image in place for the size report.
cargo build --release --locked --quiet

step "bare-metal target: abi and core for x86_64-unknown-none"
if command -v rustup >/dev/null && rustup target add x86_64-unknown-none >/dev/null 2>&1; then
    (cd "$repo" && CARGO_TARGET_DIR="$repo/target/firmware-none" \
        cargo build --release --locked -p liveupdate-abi -p liveupdate-core --target x86_64-unknown-none)
    echo "abi and core build for x86_64-unknown-none"
else
    echo "SKIPPED: 'rustup target add x86_64-unknown-none' failed (no rustup or no download);"
    echo "         the freestanding image above is the no_std proof on this machine"
fi

step "code size"
"$here/size-report.sh"

step "stack (worst case per entry point, bare-metal targets)"
"$here/stack-report.sh"
