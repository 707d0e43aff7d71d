#!/usr/bin/env bash
# One command for the README's benchmark tables: runs every abi and core benchmark twice, as
# the workspace builds them (profile `bench`: release, lto = true, codegen-units = 1) and as a
# downstream crate usually does (profile `bench-nolto`: lto = false, codegen-units = 16), each
# into its own criterion directory, then prints abi/benches/report.sh for both.
#
#   nice abi/benches/run.sh [criterion options, e.g. --measurement-time 1]
#
# Default target CPU (no -C target-cpu). RUSTFLAGS is passed through; say so when quoting.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo "$PWD/target")
for profile in bench bench-nolto; do
    CRITERION_HOME="$target/criterion-$profile" \
        cargo bench --locked --profile "$profile" -p liveupdate-abi -p liveupdate-core --bench '*' -- "$@" >&2
done
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; rustc $(rustc --version | cut -d' ' -f2)"
echo "RUSTFLAGS: ${RUSTFLAGS:-(none)}"
for profile in bench bench-nolto; do
    echo
    echo "## profile $profile"
    echo
    bash abi/benches/report.sh "$target/criterion-$profile"
done
