#!/usr/bin/env bash
# Worst-case static stack of each entry point, on the bare-metal targets a kernel or a boot
# stub builds for: `aarch64-unknown-none-softfloat` and `x86_64-unknown-none`.
#
# Method: the release image of this directory (fat LTO, opt-level 3, panic = "abort": what
# a kernel links) is built for the target; its machine code is disassembled; each function's
# frame is read from its prologue and its calls from its branches; each `luo_*` probe
# (src/probes.rs: one never-inlined function per entry point) is the root of a walk that
# sums the frames along the deepest path of calls.
#   frame (aarch64): every `stp/str ..., [sp, #-N]!` and `sub sp, sp, #N` (`lsl #12` too)
#                    in the function, summed (shrink-wrapped prologues are counted once each);
#   frame (x86_64):  8 for the return address, 8 per `push`, and every `sub $N, %rsp`;
#   depth(f)       = max(frame(f) + max depth(callee) over `bl`/`call`,
#                        max depth(target) over tail calls: `b`/`jmp`/a conditional branch
#                        into another function, made after the frame is popped).
# A call back into a function already on the path (recursion) is not followed and is flagged
# with `(recursive)`. Indirect calls (`blr`, `call *`; also `br`, `jmp *`, which may be jump
# tables) go through `dyn PhysMem` (the memory's `read`/`write`, here `SliceMemory`'s), the
# installed CRC-32C engine and the FLB callbacks (here the image's own): each is charged, on
# top of its caller's frame, the deepest of the functions whose address the code takes
# (`adr`, `adrp` + `add`, `lea`) or that nothing calls directly (reached through a vtable);
# the report names it. The C memory functions (memcpy...) are
# counted like any function (compiler_builtins' here; a kernel brings its own).
#
# Usage: stack-report.sh [--verbose] [--llvm] [TARGET...]   (default: both targets;
#        --verbose prints each entry point's deepest path with every frame; --llvm checks the
#        frame reader: it builds with nightly, `-Z emit-stack-sizes` and `-Z build-std=core`
#        (rust-src), and compares every frame read from the code with the size LLVM recorded
#        in `.stack_sizes` (plus 8 on x86_64: LLVM leaves out the return address); any
#        frame read smaller than LLVM's fails the script; needs python3)
# Environment: CARGO_TARGET_DIR (default <repo>/target/stack-report); STACK_LIMIT (default
# 2048): the script fails when an entry point's worst case reaches it.
# STACK_REPORT_KEEP=1 keeps the work files (frames, call edges) and names their directory.
# Needs: rustup targets and GNU objdump for each (binutils; aarch64-linux-gnu-objdump from
# binutils-aarch64-linux-gnu), installed when missing; a target whose install fails is
# SKIPPED with the reason.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/stack-report}
export CARGO_TERM_COLOR=never
limit=${STACK_LIMIT:-2048}
verbose=
llvm=
targets=()
for arg in "$@"; do
    case $arg in
    --verbose) verbose=1 ;;
    --llvm) llvm=1 ;;
    -*) echo "usage: $0 [--verbose] [--llvm] [TARGET...]" >&2 && exit 2 ;;
    *) targets+=("$arg") ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-unknown-none-softfloat x86_64-unknown-none)

work=$(mktemp -d)
[ -z "${STACK_REPORT_KEEP:-}" ] || echo "work files: $work" >&2
trap '[ -n "${STACK_REPORT_KEEP:-}" ] || rm -rf "$work"' EXIT
demangle() { c++filt 2>/dev/null || cat; }

# The entry points, in report order: probe symbol and what it stands for.
entries=(
    "luo_decode_root        Root::decode"
    "luo_decode_flb         FlbTable::decode"
    "luo_decode_pci         PciTable::decode"
    "luo_open_pci           Root::open (PCI)"
    "luo_handover_load      Handover::load"
    "luo_pci_load           PciIncoming::load"
    "luo_pci_load_indexed   PciIncoming::load (key index 16)"
    "luo_pci_is_preserved   PciIncoming::is_preserved"
    "luo_pci_is_preserved_indexed PciIncoming::is_preserved (index)"
    "luo_pci_find           PciTable::find"
    "luo_pci_finish         PciIncoming::finish"
    "luo_flb_load           FlbRegistry::load"
    "luo_flb_get_put        FlbRegistry::get + drop"
    "luo_flb_finish_file    FlbRegistry::finish_file"
    "luo_flb_peek           FlbRegistry::peek"
    "luo_flb_unclaimed      FlbRegistry::unclaimed"
    "luo_flb_find           FlbTable::find"
    "luo_encode_root        Root::encode"
    "luo_encode_flb         FlbTable::encode"
    "luo_encode_pci         PciTable::encode"
    "luo_seal               seal"
    "luo_crc32c             checksum::crc32c"
    "luo_pci_preserve       PciTracker::preserve"
    "luo_pci_unpreserve     PciTracker::unpreserve"
    "luo_flb_preserve_file  FlbRegistry::preserve_file"
    "luo_pci_serialize      PciTracker::serialize"
    "luo_flb_serialize      FlbRegistry::serialize"
    "luo_write_root         write_root"
)

# "function frame" and "caller callee call|tail|indirect" of one disassembly (stdin), each
# function's address ("address function") and the addresses the code takes ("address": x86
# `lea` rip-relative, aarch64 `adr` or `adrp` + `add`), all addresses in decimal.
analyse() {
    awk -v frames="$work/frames" -v edges="$work/edges" -v starts="$work/starts" \
        -v taken="$work/taken" '
        function flush() { if (fn != "") print fn, frame > frames }
        /^[0-9a-f]+ <.*>:$/ {
            flush()
            fn = substr($2, 2, length($2) - 3); frame = (arch == "x86_64") ? 8 : 0
            print hex($1), fn > starts
            delete page
            next
        }
        fn == "" || !/^ +[0-9a-f]+:\t/ { next }
        {
            split($0, f, "\t"); op = f[2]; args = f[3]
            # GNU objdump separates an x86 mnemonic from its operands by spaces.
            if (args == "" && match(op, / +/)) { args = substr(op, RSTART + RLENGTH); op = substr(op, 1, RSTART - 1) }
            sub(/ +$/, "", op); sub(/ +$/, "", args)
            if (arch == "aarch64" && op == "adrp") {
                split(args, r, /, /); n = r[2]; sub(/ .*/, "", n); page[r[1]] = hex(n)
            } else if (arch == "aarch64" && op == "add" && args ~ /^x[0-9]+, x[0-9]+, #0x[0-9a-f]+$/) {
                split(args, r, /, /)
                if (r[2] in page) { n = r[3]; sub(/^#0x/, "", n); print page[r[2]] + hex(n) > taken }
            } else if (arch == "aarch64" && op == "adr") {
                split(args, r, /, /); n = r[2]; sub(/ .*/, "", n); print hex(n) > taken
            } else if (arch == "x86_64" && op == "lea" && args ~ /# [0-9a-f]+ </) {
                n = args; sub(/.*# /, "", n); sub(/ .*/, "", n); print hex(n) > taken
            }
            if (arch == "aarch64") {
                if (args ~ /\[sp, #-[0-9]+\]!$/ && (op == "stp" || op == "str")) {
                    n = args; sub(/.*\[sp, #-/, "", n); sub(/\]!$/, "", n); frame += n
                } else if (op == "sub" && args ~ /^sp, sp, #0x[0-9a-f]+/) {
                    n = args; sub(/^sp, sp, #0x/, "", n); shift = (n ~ /lsl #12/); sub(/,.*/, "", n)
                    n = hex(n); frame += shift ? n * 4096 : n
                } else if (op == "sub" && args ~ /^sp, sp, [xw]/) {
                    print fn, "DYNAMIC", "dynamic" > edges
                }
                if (op == "blr") { print fn, "-", "indirect" > edges; next }
                # `br` is a jump table or an indirect tail call: charged as a call.
                if (op == "br") { print fn, "-", "indirect-tail" > edges; next }
                if (op == "bl") { kind = "call" }
                else if (op == "b" || op ~ /^b\./ || op ~ /^(cbz|cbnz|tbz|tbnz)$/) { kind = "tail" }
                else next
            } else {
                if (op == "push") { frame += 8 }
                else if (op == "sub" && args ~ /^\$0x[0-9a-f]+,%rsp$/) {
                    n = args; sub(/^\$0x/, "", n); sub(/,%rsp$/, "", n); frame += hex(n)
                } else if (op == "sub" && args ~ /^%[a-z0-9]+,%rsp$/) {
                    print fn, "DYNAMIC", "dynamic" > edges
                }
                if (op ~ /^(call|jmp)$/ && args ~ /^\*/) {
                    print fn, "-", (op == "call") ? "indirect" : "indirect-tail" > edges; next
                }
                if (op == "call") { kind = "call" }
                else if (op ~ /^j[a-z]+$/) { kind = "tail" }
                else next
            }
            if (args !~ /<[^>]+>$/) next
            target = args; sub(/.*</, "", target); sub(/>$/, "", target)
            sub(/\+0x[0-9a-f]+$/, "", target)
            if (target != fn) print fn, target, kind > edges
        }
        function hex(s,   i, v) {
            v = 0; s = tolower(s)
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v
        }
        END { flush() }' arch="$1"
}

# Depth of each probe named on stdin ("symbol label..."): prints
# "symbol depth indirect-calls path(f1:frame1,f2:frame2,...)".
depths() {
    awk -v frames="$work/frames" -v edges="$work/edges" -v indirect_targets="$work/indirect" '
        BEGIN {
            while ((getline l < frames) > 0) { split(l, a, " "); frame[a[1]] = a[2] }
            while ((getline l < edges) > 0) {
                split(l, a, " ")
                if (a[3] == "indirect" || a[3] == "indirect-tail") { nind[a[1]]++; continue }
                if (a[3] == "dynamic") { dyn[a[1]] = 1; continue }
                key = a[1] SUBSEP a[2]
                if (key in seen) { if (a[3] == "call") kind[key] = "call"; continue }
                seen[key] = 1; kind[key] = a[3]; out[a[1]] = out[a[1]] " " a[2]
            }
            # The deepest of the functions an indirect call may reach (see the header).
            ind = 0; indname = "-"
            while ((getline l < indirect_targets) > 0) {
                if (l in frame && depth(l) > ind) { ind = depth(l); indname = l }
            }
            delete memo; delete onpath
            printf "INDIRECT %d %s\n", ind, indname
        }
        # Worst-case bytes from entering f, ignoring a call back into the current path.
        function depth(f,   m, i, g, d, best, tail, k, c) {
            if (f in memo) return memo[f]
            if (f in onpath) { recursive = 1; return 0 }
            onpath[f] = 1
            best = 0; tail = 0; m = split(out[f], c, " ")
            cnt[f] = nind[f] + 0
            for (i = 1; i <= m; i++) {
                g = c[i]; d = depth(g); k = kind[f SUBSEP g]
                if (k == "call" && d > best) { best = d; via[f] = g }
                if (k == "tail" && d > tail) { tail = d; viat[f] = g }
            }
            if (nind[f] > 0 && ind > best) { best = ind; via[f] = "*" indname }
            d = frame[f] + best
            if (tail > d) { d = tail; via[f] = viat[f]; tailpick[f] = 1 }
            delete onpath[f]
            memo[f] = d
            return d
        }
        {
            recursive = 0
            d = depth($1)
            # The path: each function with its frame (a tail call replaces the frame).
            p = ""; f = $1; n = 0; calls = 0
            while (f != "" && n < 64) {
                g = f; sub(/^\*/, "", g)
                if (g in tailpick && substr(f, 1, 1) != "*") {
                    p = p (p == "" ? "" : ",") g ":0(tail)"
                } else {
                    p = p (p == "" ? "" : ",") g ":" frame[g]
                }
                if (substr(f, 1, 1) == "*") { calls++; f = via[g] } else { calls += nind[g]; f = via[g] }
                if (dyn[g]) p = p "(DYNAMIC)"
                n++
            }
            printf "%s %d %d %s%s\n", $1, d, calls, p, recursive ? "(recursive)" : ""
        }'
}

# Compares the frames read from the code of "$1" with LLVM's `.stack_sizes` section in it.
compare_llvm() {
    python3 - "$1" "$2" "$work/starts" "$work/frames" <<'PY'
import struct, subprocess, sys
binary, arch, starts, frames = sys.argv[1:]
sections = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True).stdout
found = [l.split("]", 1)[1].split() for l in sections.splitlines() if " .stack_sizes " in l]
if not found:
    sys.exit(f"{arch}: no .stack_sizes section in {binary}")
offset, size = int(found[0][3], 16), int(found[0][4], 16)
with open(binary, "rb") as f:
    f.seek(offset)
    raw = f.read(size)
llvm, i = {}, 0
while i < len(raw):  # entries: 8-byte function address, ULEB128 frame size
    address = struct.unpack_from("<Q", raw, i)[0]
    i += 8
    value = shift = 0
    while True:
        byte = raw[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    llvm[address] = value
name = {int(a): n for a, n in (l.split() for l in open(starts))}
mine = {n: int(f) for n, f in (l.split() for l in open(frames))}
extra = 8 if arch == "x86_64" else 0
same = larger = smaller = 0
for address, size in llvm.items():
    if address not in name:
        continue
    read = mine[name[address]]
    if read == size + extra:
        same += 1
    elif read > size + extra:
        larger += 1
        print(f"  {arch}: {name[address]}: read {read}, LLVM {size} + {extra} (read larger: safe)")
    else:
        smaller += 1
        print(f"  {arch}: {name[address]}: read {read}, LLVM {size} + {extra} (READ SMALLER)")
print(f"{arch}: frames read = LLVM's .stack_sizes for {same} of {same + larger + smaller} "
      f"functions, larger for {larger}, smaller for {smaller}")
sys.exit(1 if smaller else 0)
PY
}

# shellcheck source=../../.ci/lib.sh
. "$repo/.ci/lib.sh"

status=0
results=()
for target in "${targets[@]}"; do
    case $target in
    aarch64-*) arch=aarch64 ;;
    x86_64-*) arch=x86_64 ;;
    *) echo "error: no frame reader for $target" >&2 && exit 2 ;;
    esac
    if command -v rustup >/dev/null && ! have_target "$target"; then
        echo "SKIPPED: $target ('rustup target add $target' failed)"
        continue
    fi
    if [ $arch = aarch64 ]; then
        objdump=aarch64-linux-gnu-objdump
        if ! have_or_install "command -v $objdump" binutils-aarch64-linux-gnu; then
            echo "SKIPPED: $target (no $objdump, and 'apt-get install binutils-aarch64-linux-gnu' failed)"
            continue
        fi
    else
        objdump=objdump
    fi
    if [ -n "$llvm" ]; then
        llvm_dir=$CARGO_TARGET_DIR/llvm-stack-sizes
        (cd "$here" && RUSTFLAGS="-Z emit-stack-sizes" CARGO_TARGET_DIR=$llvm_dir \
            cargo +nightly build --release --quiet --target "$target" \
            -Z build-std=core,compiler_builtins -Z build-std-features=compiler-builtins-mem)
        bin=$llvm_dir/$target/release/liveupdate-firmware
    else
        (cd "$here" && cargo build --release --locked --quiet --target "$target")
        bin=$CARGO_TARGET_DIR/$target/release/liveupdate-firmware
    fi
    : >"$work/frames"
    : >"$work/edges"
    : >"$work/starts"
    : >"$work/taken"
    "$objdump" -d --no-show-raw-insn "$bin" | analyse $arch
    # Indirect-call targets: the functions no instruction calls or jumps to (reached through
    # vtables), and those whose address the code takes (function pointers), except the entry
    # symbols.
    awk -v edges="$work/edges" -v starts="$work/starts" -v taken="$work/taken" '
        BEGIN {
            while ((getline l < edges) > 0) { split(l, a, " "); called[a[2]] = 1 }
            while ((getline l < starts) > 0) { split(l, a, " "); at[a[1]] = a[2] }
            while ((getline l < taken) > 0) if (l in at) pointer[at[l]] = 1
        }
        (!($1 in called) || ($1 in pointer)) && $1 !~ /^(luo_|_start$|rust_eh_personality$)/ { print $1 }
    ' "$work/frames" >"$work/indirect"
    if [ -n "$llvm" ]; then
        compare_llvm "$bin" $arch || status=1
    fi
    printf '%s\n' "${entries[@]}" | depths >"$work/depths.$arch"
    results+=("$arch")
done

[ ${#results[@]} -gt 0 ] || exit 0
echo "Worst-case static stack per entry point, bytes (release no_std image; method: $0)."
echo
header="| entry point                                 |"
rule="|---------------------------------------------|"
for a in "${results[@]}"; do
    header+=$(printf ' %8s |' "$a")
    rule+="----------|"
done
echo "$header"
echo "$rule"
for e in "${entries[@]}"; do
    sym=${e%% *}
    label=$(echo "${e#* }" | sed 's/^ *//')
    line=$(printf '| %-43s |' "$label")
    for a in "${results[@]}"; do
        read -r _ d _ < <(grep "^$sym " "$work/depths.$a")
        mark=" "
        if [ "$d" -ge "$limit" ]; then mark="!"; status=1; fi
        line+=$(printf ' %7d%s |' "$d" "$mark")
    done
    echo "$line"
done
echo
for a in "${results[@]}"; do
    read -r _ d name < <(grep "^INDIRECT " "$work/depths.$a")
    echo "$a: each call through a pointer is charged $d bytes ($(echo "$name" | demangle | sed 's/::h[0-9a-f]\{16\}$//'))."
done
if [ -n "$verbose" ]; then
    for a in "${results[@]}"; do
        echo
        echo "Deepest paths on $a (function: frame bytes):"
        while read -r sym d _ path; do
            echo "  $sym $d"
            echo "$path" | tr ',' '\n' | while IFS= read -r step; do
                name=${step%:*}
                printf '    %8s  %s\n' "${step##*:}" "$(echo "$name" | demangle | sed 's/::h[0-9a-f]\{16\}$//')"
            done
        done < <(grep -v '^INDIRECT ' "$work/depths.$a")
    done
fi
echo
if [ $status -ne 0 ]; then
    echo "FAIL: an entry point (marked !) needs $limit bytes of stack or more." >&2
else
    echo "OK: every entry point needs less than $limit bytes of stack."
fi
exit $status
