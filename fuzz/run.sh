#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS (default 20) seconds, starting from a scratch
# copy of its committed corpus (new inputs never land in the repository), with the magics
# dictionary. Fails when any target crashes, hangs or runs out of memory; the input is left
# in fuzz/artifacts/<target>/, to be committed with the fix (tests/fuzz_replay.rs replays it).
# Prints, per target, total executions, executions per second and libFuzzer's final cov/ft.
#
# Needs nightly (cargo-fuzz builds with -Zsanitizer=address); without it, skips and exits 0.
# FUZZ_TARGETS="root pci" limits the run to those targets.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-20}
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: SKIPPED: no nightly toolchain ('cargo +nightly' fails); cargo-fuzz needs nightly"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo +nightly install cargo-fuzz --locked
fi

targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
echo "fuzz: building $(echo "$targets" | wc -w) targets"
cargo +nightly fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
report=()
for target in $targets; do
    mkdir -p "$scratch/corpus/$target"
    if [ -d "corpus/$target" ]; then
        cp -R "corpus/$target/." "$scratch/corpus/$target/"
    fi
    log="$scratch/$target.log"
    echo "fuzz: $target for ${seconds}s"
    if cargo +nightly fuzz run "$target" "$scratch/corpus/$target" -- \
        -max_total_time="$seconds" -dict=magics.dict -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        tail -n 40 "$log"
    fi
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+) .*/\1/p' <<<"$last")
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -n 1)
    report+=("$(printf '%-16s %-6s %12s %10s %6s %6s' "$target" "$status" \
        "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}")")
done

echo
printf '%-16s %-6s %12s %10s %6s %6s\n' target status execs exec/s cov ft
printf '%s\n' "${report[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}; inputs are in fuzz/artifacts/<target>/" >&2
    exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a crash"
