#!/usr/bin/env bash
# The public API of liveupdate-abi and liveupdate-core, as committed listings: every public
# item, one per line, from `cargo public-api` (rustdoc JSON, so it needs a nightly toolchain).
#
#   host-tests/api/check.sh          regenerate and compare with the committed listings
#   host-tests/api/check.sh --bless  regenerate and overwrite them (then review `git diff`)
#
# Flags, fixed so the listing is deterministic: `-s` (= `--omit blanket-impls`: `impl<T> Any
# for T` and the like say nothing about these crates), auto-trait impls (Send, Sync, Unpin,
# ...) and derived impls (Clone, Debug, Eq, ...) KEPT: losing one breaks users; default
# features; the host target; `--color never`. Function parameter names are left out
# (cargo-public-api's default): renaming a parameter is not an API change.
#
# Skips, with "SKIPPED: reason" and status 0, when there is no nightly toolchain, when
# cargo-public-api cannot be installed, or when it cannot read this nightly's rustdoc JSON
# format (pin a matching CARGO_PUBLIC_API_VERSION then). Any other failure fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=host-tests/api
crates=(liveupdate-abi liveupdate-core)
# The cargo-public-api release that reads the rustdoc JSON of the nightly used here
# (rustc 1.97.0-nightly 2026-05-19: 0.52.0). A newer nightly may need a newer release.
version="${CARGO_PUBLIC_API_VERSION:-0.52.0}"
bless=false
case "${1:-}" in
  --bless) bless=true ;;
  "") ;;
  *) echo "usage: $0 [--bless]" >&2; exit 2 ;;
esac

skip() {
  echo "API listing check: SKIPPED: $*"
  exit 0
}

cargo +nightly --version >/dev/null 2>&1 ||
  skip "no nightly toolchain (cargo public-api reads nightly rustdoc JSON)"
if [[ "$(cargo public-api --version 2>/dev/null)" != "cargo-public-api $version" ]]; then
  echo "installing cargo-public-api $version"
  cargo install cargo-public-api --version "=$version" --locked ||
    skip "cargo install cargo-public-api $version failed"
fi

# Own target directory: nightly rustdoc output stays apart from the stable builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/api}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failed=()
for crate in "${crates[@]}"; do
  if ! cargo public-api -p "$crate" -s --color never >"$tmp/$crate.txt" 2>"$tmp/$crate.err"; then
    if grep -qiE 'format[ _-]?version|rustdoc[ _-]json|unsupported|incompatible' "$tmp/$crate.err"; then
      tail -n 5 "$tmp/$crate.err"
      skip "cargo-public-api $version cannot read this nightly's rustdoc JSON ($(cargo +nightly --version))"
    fi
    cat "$tmp/$crate.err" >&2
    echo "error: cargo public-api failed for $crate" >&2
    exit 1
  fi
  if $bless; then
    cp "$tmp/$crate.txt" "$dir/$crate.txt"
    echo "blessed $dir/$crate.txt: $(wc -l <"$dir/$crate.txt") items"
  elif ! diff -u "$dir/$crate.txt" "$tmp/$crate.txt" >"$tmp/$crate.diff"; then
    cat "$tmp/$crate.diff"
    failed+=("$crate")
  else
    echo "$crate: public API as committed ($(wc -l <"$dir/$crate.txt") items)"
  fi
done

if ((${#failed[@]})); then
  cat >&2 <<MSG
error: the public API of ${failed[*]} differs from the committed listing (diff above: '-'
is committed, '+' is the code). If the change is deliberate, update the listing with
    host-tests/api/check.sh --bless
and commit it with the code (and a CHANGELOG entry in abi/ or core/).
MSG
  exit 1
fi
