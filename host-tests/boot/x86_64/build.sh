#!/usr/bin/env bash
# Builds the x86-64 boot stub (release) and converts it to the ELF32 file the multiboot
# loaders accept: QEMU's -kernel refuses ELF64 ("Cannot load x86-64 image, give a 32bit
# one"); kexec-tools' multiboot-x86 loader wants an ELF (it refuses the a.out kludge). The
# code is 64-bit except the 32-bit entry; only the container changes (addresses < 4 GiB).
# Prints the path of the ELF32 file on stdout (build output goes to stderr).
# Builds in BOOT_TARGET_DIR (default <repo>/target/boot, as host-tests/boot/run.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
boot=$(dirname "$here")
repo=$(cd "$boot/../.." && pwd)
target_dir=${BOOT_TARGET_DIR:-$repo/target/boot}
target=x86_64-unknown-none
(cd "$boot" && CARGO_TARGET_DIR=$target_dir nice cargo build --release --locked \
  -p liveupdate-boot-x86_64 --target "$target" >&2)
elf64="$target_dir/$target/release/liveupdate-boot-x86_64"
elf32="$elf64.elf32"
if command -v objcopy >/dev/null; then
  objcopy -O elf32-i386 "$elf64" "$elf32"
else
  # llvm-objcopy (rust-objcopy from llvm-tools) converts the class as well.
  objcopy=$(command -v llvm-objcopy || find "$(rustc --print sysroot)" -name rust-objcopy | head -1)
  "$objcopy" -O elf32-i386 "$elf64" "$elf32"
fi
echo "$elf32"
