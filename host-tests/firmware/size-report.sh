#!/usr/bin/env bash
# Machine-code size of each decode+validate path, of the graph validation and of the
# accessors, in the release no_std image (fat LTO, opt-level 3, panic = "abort").
#
# Each row is an exported `luo_*` probe (src/probes.rs) plus every function it reaches by
# direct calls and jumps, from `objdump -d`, with sizes from `nm -S`. A group's size counts each
# function once. Not counted: read-only data (the 16 KiB CRC tables, constants) and the C
# memory functions (memcpy, memmove, memset, memcmp, bcmp), which a kernel or firmware brings.
# A function whose address is taken counts as called (the CRC engines are called through a
# pointer); calls through pointers loaded from memory (an installed CRC engine, the FLB
# callbacks' vtables) are not followed.
#
# Usage: size-report.sh [--verbose]   (--verbose lists the functions of each group)
# Environment: CARGO_TARGET_DIR (default: <repo>/target/firmware-image); SIZE_LIMIT_DECODERS
# (default 8192): the script fails when all decoders together exceed it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/firmware-image}
limit=${SIZE_LIMIT_DECODERS:-8192}
verbose=${1:-}

(cd "$here" && cargo build --release --quiet)
bin=$CARGO_TARGET_DIR/release/liveupdate-firmware
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "address size name" of every function, sizes in decimal (mawk has no strtonum).
nm -S --defined-only "$bin" | while read -r addr size type name; do
    case $type in t | T) echo "$((16#$addr)) $((16#$size)) $name" ;; esac
done >"$work/sizes"

# "caller callee" for every direct call or jump from one function into another, and every
# address of a function taken (`lea sym(%rip)`: a function pointer about to be called).
objdump -d --no-show-raw-insn "$bin" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3); next }
    /\t(call|jmp|j[a-z]+) +[0-9a-f]+ <[^>]+>$/ || /# [0-9a-f]+ <[^>]+>$/ {
        target = $NF; sub(/^</, "", target); sub(/>$/, "", target); sub(/\+0x[0-9a-f]+$/, "", target)
        if (target != fn) print fn, target
    }' | sort -u >"$work/edges"

demangle() { c++filt 2>/dev/null || cat; }

# The functions reachable from the probes named in "$@", runtime memory functions excluded.
reach() {
    printf '%s\n' "$@" | awk -v edges="$work/edges" '
        BEGIN { while ((getline line < edges) > 0) { split(line, e, " "); out[e[1]] = out[e[1]] " " e[2] } }
        { todo[++n] = $1; seen[$1] = 1 }
        END {
            skip["memcpy"]; skip["memmove"]; skip["memset"]; skip["memcmp"]; skip["bcmp"]
            for (i = 1; i <= n; i++) {
                m = split(out[todo[i]], next_, " ")
                for (j = 1; j <= m; j++) if (!(next_[j] in seen) && !(next_[j] in skip)) { seen[next_[j]] = 1; todo[++n] = next_[j] }
            }
            for (f in seen) print f
        }'
}

# Bytes of the functions listed on stdin.
bytes() {
    awk -v sizes="$work/sizes" '
        BEGIN { while ((getline line < sizes) > 0) { split(line, s, " "); size[s[3]] = s[2] } }
        { total += size[$1] } END { print total + 0 }'
}

row() {
    local label=$1
    shift
    local own path
    own=$(printf '%s\n' "$@" | bytes)
    path=$(reach "$@" | bytes)
    printf '| %-44s | %9s | %9s |\n' "$label" "$own" "$path"
    if [ "$verbose" = --verbose ]; then
        reach "$@" | awk -v sizes="$work/sizes" '
            BEGIN { while ((getline line < sizes) > 0) { split(line, s, " "); size[s[3]] = s[2] } }
            $1 in size { printf "    %6d  %s\n", size[$1], $1 }' | sort -rn | demangle | sed 's/::h[0-9a-f]\{16\}$//'
    fi
}

decoders=(luo_decode_root luo_decode_flb luo_decode_pci)
accessors=(luo_pci_load luo_pci_is_preserved luo_pci_load_indexed luo_pci_is_preserved_indexed
    luo_pci_finish luo_pci_find luo_flb_load
    luo_flb_get_put luo_flb_finish_file luo_flb_peek luo_flb_unclaimed luo_flb_find)

echo "Release no_std image: $bin"
echo "Bytes of .text: the probe itself, and the probe with every function it calls."
echo
printf '| %-44s | %9s | %9s |\n' "path" "probe" "with calls"
printf '|%s|%s|%s|\n' "----------------------------------------------" "-----------" "-----------"
row "root decode+validate (Root::decode)" luo_decode_root
row "FLB table decode+validate (FlbTable::decode)" luo_decode_flb
row "PCI table decode+validate (PciTable::decode)" luo_decode_pci
row "all three decoders together" "${decoders[@]}"
row "Root::open (PCI table against the directory)" luo_open_pci
row "graph validation (Handover::load)" luo_handover_load
for a in "${accessors[@]}"; do row "  $a" "$a"; done
row "all incoming accessors together" "${accessors[@]}"
row "CRC-32C (engine selection, hardware, table)" luo_crc32c
echo
size -A "$bin" | awk '$1 == ".text" { text = $2 } $1 ~ /^\.(rodata|data\.rel\.ro)$/ { ro += $2 }
    END { printf "Whole image: %d bytes of .text, %d of read-only data (the 16 KiB CRC tables included).\n", text, ro }'

all=$(reach "${decoders[@]}" | bytes)
if [ "$all" -gt "$limit" ]; then
    echo "FAIL: the decoders together take $all bytes of .text, more than $limit." >&2
    exit 1
fi
echo "OK: the decoders together take $all bytes of .text (limit $limit)."
