#!/usr/bin/env bash
# Prints the medians of a criterion run of the abi and core benchmarks, with the ratios the
# targets of issue 14 are stated in (every ratio within one group: measured in the same run).
#
#   abi/benches/report.sh [CRITERION_DIR]
#
# CRITERION_DIR defaults to $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion (default
# <repo>/target/criterion). abi/benches/run.sh runs the benchmarks with and without LTO and
# calls this for each. Needs jq.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-${CRITERION_HOME:-${CARGO_TARGET_DIR:-$repo/target}/criterion}}
[ -d "$dir" ] || { echo "no criterion results in $dir: run cargo bench first" >&2; exit 1; }

# Median ns per iteration of group $1, function $2 (empty when absent).
median() {
    local f="$dir/$1/$2/new/estimates.json"
    [ -f "$f" ] && jq -r '.median.point_estimate' "$f" || true
}
# Bytes per iteration of the group (0 when its throughput is not in bytes).
bytes() {
    local f
    f=$(ls "$dir/$1"/*/new/benchmark.json 2>/dev/null | head -1)
    [ -n "$f" ] && jq -r '.throughput.Bytes // 0' "$f" || echo 0
}
groups() { ls "$dir" | grep -E "$1" | sort -V || true; }
# a / b with 3 decimals, "-" when either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.3f", a / b }'; }
time_of() { awk -v m="$1" 'BEGIN { if (m == "") print "-"; else if (m >= 1e6) printf "%.0f us", m / 1e3; else if (m >= 1e3) printf "%.2f us", m / 1e3; else printf "%.1f ns", m }'; }

echo "Criterion results in $dir: medians of per-thread CPU time per iteration; GB/s = 1e9 B/s;"
echo "\"x memcpy\" = memcpy time / this time for the same bytes in the same group (throughput ratio)."
echo
echo "| CRC-32C | memcpy GB/s | automatic, update (x memcpy) | narrow hardware (x memcpy) | wide() engine (x memcpy) | table16 (x memcpy) | crc Table<16> GB/s | table16 / crc Table<16> |"
echo "|---|---|---|---|---|---|---|---|"
for g in $(groups '^crc32c_'); do
    n=$(bytes "$g"); c=$(median "$g" memcpy); u=$(median "$g" update); h=$(median "$g" hardware)
    t=$(median "$g" table16); k=$(median "$g" crc_table16)
    # The wide row is named after the engine wide() returns on this CPU (wide_<Engine>).
    wn=$(ls "$dir/$g" | grep '^wide_' | head -1 || true); w=; [ -z "$wn" ] || w=$(median "$g" "$wn")
    awk -v g="${g#crc32c_}" -v n="$n" -v c="$c" -v u="$u" -v h="$h" -v w="$w" -v wn="${wn#wide_}" -v t="$t" -v k="$k" '
        function gbs(x) { return x == "" ? "-" : sprintf("%.2f", n / x) }
        function x(v) { return v == "" ? "-" : sprintf("%.3f", c / v) }
        BEGIN { printf "| %s | %s | %s (%s) | %s (%s) | %s %s (%s) | %s (%s) | %s | %s |\n", g, gbs(c), gbs(u), x(u), gbs(h), x(h), wn, gbs(w), x(w), gbs(t), x(t), gbs(k),
            (t == "" || k == "") ? "-" : sprintf("%.2f", k / t) }'
done

echo
echo "| validate + decode | bytes | memcpy | automatic CRC | x memcpy | wide() installed | x memcpy | table CRC | x memcpy | table CRC vs bare crc Table<16> |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for g in $(groups '^(pci|flb|root)_decode_') $(groups '^handover_load_'); do
    n=$(bytes "$g"); c=$(median "$g" memcpy)
    h=$(median "$g" decode_hardware); [ -n "$h" ] || h=$(median "$g" load_hardware)
    w=$(median "$g" decode_wide); [ -n "$w" ] || w=$(median "$g" load_wide)
    t=$(median "$g" decode_table16); [ -n "$t" ] || t=$(median "$g" load_table16)
    k=$(median "$g" crc_table16)
    echo "| $g | $n | $(time_of "$c") | $(time_of "$h") | $(ratio "$c" "$h") | $(time_of "$w") | $(ratio "$c" "$w") | $(time_of "$t") | $(ratio "$c" "$t") | $(ratio "$k" "$t") |"
done

echo
echo "| lookup, ns per query (256 per iteration) | is_preserved, index N=65536 | is_preserved, default N=0 | table search | binary_search | index / bs | default / bs |"
echo "|---|---|---|---|---|---|---|"
for g in $(groups '^pci_lookup_'); do
    for k in hit miss; do
        i=$(median "$g" "is_preserved_$k"); d=$(median "$g" "is_preserved_default_$k")
        t=$(median "$g" "table_is_preserved_$k"); s=$(median "$g" "binary_search_$k")
        awk -v g="$g $k" -v i="$i" -v d="$d" -v t="$t" -v s="$s" '
            function per(x) { return x == "" ? "-" : sprintf("%.1f", x / 256) }
            function r(x) { return (x == "" || s == "") ? "-" : sprintf("%.2f", x / s) }
            BEGIN { printf "| %s | %s | %s | %s | %s | %s | %s |\n", g, per(i), per(d), per(t), per(s), r(i), r(d) }'
    done
done

echo
echo "| PCI encode | from PciDevice | from PciEntry | validate | ns/device (PciDevice) | ns/device (PciEntry) | device / entry | encode (PciDevice) / validate |"
echo "|---|---|---|---|---|---|---|---|"
for g in $(groups '^pci_encode_'); do
    e=$(median "$g" encode_device); p=$(median "$g" encode_entry); v=$(median "$g" validate)
    n=${g##*_}
    awk -v g="$g" -v e="$e" -v p="$p" -v v="$v" -v n="$n" 'BEGIN {
        printf "| %s | %.1f us | %.1f us | %.1f us | %.2f | %.2f | %.2f | %.2f |\n", g, e / 1e3, p / 1e3, v / 1e3, e / n, p / n, e / p, e / v }'
done

echo
echo "| PCI tracker (preserve + unpreserve) | new device (insert + remove) | existing device (refcount) |"
echo "|---|---|---|"
for g in $(groups '^pci_tracker_'); do
    echo "| $g | $(time_of "$(median "$g" preserve_unpreserve_new)") | $(time_of "$(median "$g" preserve_unpreserve_existing)") |"
done
