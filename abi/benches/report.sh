#!/usr/bin/env bash
# Prints the medians of the last criterion run of the abi and core benchmarks, with the ratios
# the targets are stated in (all within one group, i.e. measured in the same run).
#
#   cargo bench -p liveupdate-abi && cargo bench -p liveupdate-core && abi/benches/report.sh
#
# Reads $CARGO_TARGET_DIR/criterion (default <repo>/target/criterion). Needs jq.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${CARGO_TARGET_DIR:-$repo/target}/criterion
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.3f", a / b }'; }

echo "Medians of per-thread CPU time per iteration; GB/s = 1e9 bytes/s."
echo
echo "| group | benchmark | median | GB/s | throughput vs memcpy |"
echo "|---|---|---|---|---|"
for g in $(ls "$dir" | grep -E '^(crc32c|pci_decode|flb_decode|root_decode|handover_load)_' | sort -t_ -k3 -V); do
    n=$(bytes "$g")
    memcpy=$(median "$g" memcpy)
    for b in $(ls "$dir/$g" | grep -v report); do
        m=$(median "$g" "$b")
        [ -n "$m" ] || continue
        awk -v g="$g" -v b="$b" -v m="$m" -v n="$n" -v c="$memcpy" 'BEGIN {
            t = m >= 1e6 ? sprintf("%.1f us", m / 1e3) : (m >= 1e3 ? sprintf("%.2f us", m / 1e3) : sprintf("%.1f ns", m))
            gbs = n > 0 ? sprintf("%.2f", n / m) : "-"
            r = (c != "" && n > 0) ? sprintf("%.3f", c / m) : "-"
            printf "| %s | %s | %s | %s | %s |\n", g, b, t, gbs, r }'
    done
done

echo
echo "| table decode with the table engine vs bare crc Table<16> over the same bytes | ratio |"
echo "|---|---|"
for g in $(ls "$dir" | grep -E '^(pci|flb|root)_decode_' | sort -t_ -k3 -n); do
    echo "| $g | $(ratio "$(median "$g" crc_table16)" "$(median "$g" decode_table16)") |"
done

echo
echo "| lookup (ns per query, 256 queries per iteration) | is_preserved | PciTable search | binary_search | linear | is_preserved / binary_search |"
echo "|---|---|---|---|---|---|"
for g in $(ls "$dir" | grep -E '^pci_lookup_' | sort -t_ -k3 -n); do
    for k in hit miss; do
        i=$(median "$g" "is_preserved_$k")
        t=$(median "$g" "table_is_preserved_$k")
        s=$(median "$g" "binary_search_$k")
        l=$(median "$g" "linear_$k")
        awk -v g="$g $k" -v i="$i" -v t="$t" -v s="$s" -v l="$l" '
            function per(x) { return x == "" ? "-" : sprintf("%.1f", x / 256) }
            BEGIN { printf "| %s | %s | %s | %s | %s | %s |\n", g, per(i), per(t), per(s), per(l),
                (i == "" || s == "") ? "-" : sprintf("%.2f", i / s) }'
    done
done

echo
echo "| PCI encode vs validation | encode | validate | ns per device (encode) | encode / validate |"
echo "|---|---|---|---|---|"
for g in $(ls "$dir" | grep -E '^pci_encode_' | sort -t_ -k3 -n); do
    e=$(median "$g" encode)
    v=$(median "$g" validate)
    n=${g##*_}
    awk -v g="$g" -v e="$e" -v v="$v" -v n="$n" 'BEGIN {
        printf "| %s | %.1f us | %.1f us | %.2f | %.2f |\n", g, e / 1e3, v / 1e3, e / n, e / v }'
done

echo
echo "| PCI tracker (preserve + unpreserve) | new device (insert + remove) | existing device (refcount) |"
echo "|---|---|---|"
for g in $(ls "$dir" | grep -E '^pci_tracker_' | sort -t_ -k3 -n); do
    awk -v g="$g" -v a="$(median "$g" preserve_unpreserve_new)" -v b="$(median "$g" preserve_unpreserve_existing)" \
        'BEGIN { printf "| %s | %.1f ns | %.1f ns |\n", g, a, b }'
done
