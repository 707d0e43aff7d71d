#!/usr/bin/env bash
# Issue 16: a real kernel hands over. Debian's Linux (6.1, kexec built in) boots in QEMU
# (software emulation) from a small initramfs made here; its /init loads the x86-64 boot
# stub with `kexec -l STUB --type multiboot-x86 --module=FLAT` and jumps to it with
# `kexec -e`. The handover (written by `luo write --base 0x4000000 --flat`) travels as
# multiboot module 0, placed by kexec; the stub finds it through the multiboot information,
# validates the whole graph through DirectMap, reports on COM1 and ends QEMU through
# isa-debug-exit with its status. This script compares the report with `luo dump --json`
# of the same image (host-tests/boot/compare.py), then does a second run whose PCI table
# has one bit flipped (before kexec), which must end with the typed error and status 1, and
# a third whose module command line asks the stub for an x87 instruction (fault=x87), which
# must be reported as #NM with status 2.
#
# Prints the serial lines (luo-init:, luo-stub:) of both runs and one summary line; exits
# non-zero on any failure (difference, hang, fault, failed kexec);
# prints "SKIPPED: ..." and exits 0 only when something it needs cannot be installed.
# Environment: KEXEC_TIMEOUT (seconds per guest run, default 150), KEEP=1 keeps the work dir,
# LUO (a built luo; default: cargo build --release), BOOT_TARGET_DIR (see x86_64/build.sh).
set -euo pipefail
boot=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$boot/../.." && pwd)
# shellcheck source=x86_64/lib.sh
. "$boot/x86_64/lib.sh"
started=$(date +%s)
base=0x4000000
timeout_s=${KEXEC_TIMEOUT:-150}

skip() {
  echo "kexec x86-64: SKIPPED: $*"
  exit 0
}
fail() {
  echo "kexec x86-64: FAIL: $*" >&2
  exit 1
}

# What it needs, installed when missing (one package per apt-get).
kernel_present='ls /boot/vmlinuz-* >/dev/null 2>&1'
have_or_install "$kernel_present" linux-image-cloud-amd64 ||
  skip "no /boot/vmlinuz-* (installing linux-image-cloud-amd64 failed)"
have_or_install '[ -x /usr/sbin/kexec ] || command -v kexec >/dev/null' kexec-tools ||
  skip "no kexec (installing kexec-tools failed)"
static_busybox='[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1'
have_or_install "$static_busybox" busybox-static ||
  skip "no static /bin/busybox (installing busybox-static failed)"
have_or_install 'command -v cpio >/dev/null' cpio || skip "no cpio (installing cpio failed)"
have_or_install 'command -v qemu-system-x86_64 >/dev/null' qemu-system-x86 ||
  skip "no qemu-system-x86_64 (installing qemu-system-x86 failed)"
have_target x86_64-unknown-none || skip "rustup target add x86_64-unknown-none failed"

vmlinuz=$(ls /boot/vmlinuz-* | sort -V | tail -1)
kexec_bin=$(command -v kexec || echo /usr/sbin/kexec)

work=$(mktemp -d)
cleanup() { if [ "${KEEP:-}" = 1 ]; then echo "kexec: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
if [ ! -r "$vmlinuz" ]; then
  # Debian installs the kernel readable by root only.
  sudo -n cat "$vmlinuz" >"$work/vmlinuz" 2>/dev/null ||
    fail "$vmlinuz is not readable (run as root, or with sudo without a password)"
  kernel=$work/vmlinuz
else
  kernel=$vmlinuz
fi

# The stub, luo, the handover and its corrupted copy.
stub=$(bash "$boot/x86_64/build.sh")
luo=${LUO:-}
if [ -z "$luo" ]; then
  (cd "$root" && nice cargo build --release --locked -q -p liveupdate-host-tests --bin luo)
  luo=${CARGO_TARGET_DIR:-$root/target}/release/luo
fi
"$luo" write --base "$base" --flat "$work/flat-ok.bin" "$work/image.luo"
"$luo" dump --json "$work/image.luo" >"$work/dump.json"
flipped=$(python3 "$boot/x86_64/flip.py" "$work/dump.json" "$work/flat-ok.bin" "$work/flat-bad.bin" "pci table")
echo "kexec: corrupted copy: $flipped"

# The initramfs: busybox, kexec and its libraries, the stub, both flat files, /init.
ird=$work/initramfs
mkdir -p "$ird"/{bin,sbin,proc,sys,dev,tmp}
cp /bin/busybox "$ird/bin/busybox"
cp "$kexec_bin" "$ird/sbin/kexec"
for lib in $(ldd "$kexec_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$ird$(dirname "$lib")"
  cp -L "$lib" "$ird$lib"
done
cp "$stub" "$ird/stub.elf"
cp "$work/flat-ok.bin" "$ird/flat-ok.bin"
cp "$work/flat-bad.bin" "$ird/flat-bad.bin"
# What /init prints it hands over (the locator and the records, from luo's dump).
for which in ok bad; do
  python3 - "$work/dump.json" "$work/flat-$which.bin" >"$ird/handover-$which.txt" <<'PY'
import json, sys
dump = json.load(open(sys.argv[1]))
loc = open(sys.argv[2], "rb").read(64)
f = [int.from_bytes(loc[i:i + 8], "little") for i in range(8, 40, 8)]
print(f"luo-init: locator base={f[0]:#x} len={f[1]} root={f[2]:#x} root_len={f[3]} "
      f"crc={int.from_bytes(loc[40:44], 'little'):#x}")
blocks = [dump["root"]] + dump["flb_table"]["blocks"] + dump["pci_table"]["blocks"]
print("luo-init: records " + " ".join(f"{b['kind'].replace(' ', '_')}@{b['phys']:#x}+{b['len']}" for b in blocks)
      + f" devices={len(dump['devices'])} flbs={len(dump['flbs'])} generation={dump['root']['generation']}")
PY
done
cat >"$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
which=ok
grep -q 'luo.flat=bad' /proc/cmdline && which=bad
# luo.fault=KIND: the stub's test hook (module command line), e.g. x87.
fault=$(sed -n 's/.*luo\.fault=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
args=
[ -n "$fault" ] && args=" fault=$fault"
flat=/flat-$which.bin
echo "luo-init: linux $(uname -r) handing over $flat bytes=$(stat -c %s $flat) sha256=$(sha256sum $flat | cut -d' ' -f1)"
cat /handover-$which.txt
if kexec -l /stub.elf --type multiboot-x86 --module="$flat$args" >/tmp/kexec.log 2>&1; then
  echo "luo-init: kexec -l /stub.elf --type multiboot-x86 --module=\"$flat$args\": loaded; kexec -e"
  kexec -e
fi
echo "luo-init: kexec failed:"
cat /tmp/kexec.log
reboot -f
INIT
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

# guest NAME WHICH [APPEND]: boots Linux, which kexecs into the stub with flat-WHICH.bin.
guest() {
  local name=$1 which=$2 extra=${3:-} t0 rc
  t0=$(date +%s)
  set +e
  timeout "$timeout_s" qemu-system-x86_64 -machine q35 -m 512M -display none -nic none \
    -no-reboot -monitor none -serial stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 luo.flat=$which$extra" </dev/null >"$work/$name.log" 2>&1
  rc=$?
  set -e
  echo "$rc" >"$work/$name.rc"
  echo "kexec: run $name ($((  $(date +%s) - t0 )) s): $(exit_status "$rc")"
  stub_lines "$work/$name.log" | sed 's/^/  /'
}

guest ok ok
guest bad bad
guest fault ok " luo.fault=x87"

# The ok run: status 0, entered by kexec, and the report agrees with luo dump --json.
compare=${BOOT_COMPARE:-$boot/compare.py}
machine="x86-64 kexec from Linux"
rc=$(cat "$work/ok.rc")
if [ "$rc" != 1 ]; then
  tail -30 "$work/ok.log" >&2
  fail "kexec with the intact handover: $(exit_status "$rc"), expected status 0"
fi
grep -aq '^luo-init: ' "$work/ok.log" || fail "the report did not come through Linux's /init"
grep -aq '^luo-stub: multiboot loader="kexec' "$work/ok.log" ||
  fail "the stub was not entered by kexec (no loader=\"kexec ...\" in its multiboot line)"
out=$(python3 "$compare" --dump "$work/dump.json" --report "$work/ok.log" \
  --status "$(stub_status "$rc")" --machine "$machine" --stack-limit 2048) ||
  fail "kexec with the intact handover: the report differs from luo dump --json: $out"
summary=${out#*: PASS }

# The corrupted run: the typed error naming the PCI table, and status 1.
rc=$(cat "$work/bad.rc")
out=$(python3 "$compare" --dump "$work/dump.json" --report "$work/bad.log" \
  --status "$(stub_status "$rc")" --machine "$machine, corrupted" --expect refused) || {
  tail -30 "$work/bad.log" >&2
  fail "kexec with a flipped bit in the PCI table ($(exit_status "$rc")): $out"
}
case $out in
*"pci table"*) ;;
*) fail "kexec with a flipped bit in the PCI table: the error does not name the PCI table: $out" ;;
esac

# The fault run: an x87 instruction in the stub entered by kexec is reported, status 2.
rc=$(cat "$work/fault.rc")
if [ "$(stub_status "$rc")" != 2 ] || ! tr -d '\r' <"$work/fault.log" | grep -aq '^luo-stub: exception vector=7 '; then
  tail -30 "$work/fault.log" >&2
  fail "kexec with fault=x87: $(exit_status "$rc"), expected the #NM exception and status 2"
fi

echo "kexec x86-64 ($(basename "$vmlinuz") in QEMU TCG, kexec --type multiboot-x86): PASS $summary; flipped PCI-table bit refused with status 1 (typed error); x87 fault reported (#NM, status 2); $(($(date +%s) - started)) s"
