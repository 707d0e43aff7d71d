# Shared by host-tests/boot/x86_64/run.sh and host-tests/boot/kexec.sh (sourced, not run).

# have_or_install CHECK PACKAGE: succeeds when `CHECK` (a shell test) holds, installing
# PACKAGE with apt-get first if it does not. One package per apt-get (DESIGN.md: asking for
# several qemu packages at once fails on this kind of machine).
# As root, or through sudo otherwise.
have_or_install() {
  local check=$1 package=$2 sudo=
  eval "$check" && return 0
  command -v apt-get >/dev/null || return 1
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1 ||
      return 1
  fi
  eval "$check"
}

# have_target TARGET: the rustup target is installed (or gets installed).
have_target() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
  rustup target add "$1" >/dev/null 2>&1
}

# exit_status CODE: what a QEMU exit code means. The stub ends QEMU through isa-debug-exit
# (iobase 0xf4) by writing its status s, and QEMU exits with (s << 1) | 1:
#   1 -> status 0 (ok)          3 -> status 1 (handover refused, typed error)
#   5 -> status 2 (stub fault)  7 -> status 3 (mismatch)
# 124 is `timeout` (a hang); 0 means the machine reset or powered off without the device
# (a triple fault under -no-reboot, or Linux rebooting when kexec failed).
exit_status() {
  case $1 in
  1) echo "status 0 (ok)" ;;
  3) echo "status 1 (handover refused)" ;;
  5) echo "status 2 (stub fault)" ;;
  7) echo "status 3 (mismatch)" ;;
  124) echo "timeout (hang)" ;;
  0) echo "no status (reset or power-off without isa-debug-exit: triple fault or failed kexec)" ;;
  *) echo "QEMU exit code $1" ;;
  esac
}

# stub_lines LOG: the report lines, without the serial port's carriage returns.
stub_lines() {
  tr -d '\r' <"$1" | grep -a -E '^(luo-stub|luo-init): ' || true
}

# stub_status CODE: the stub's status for host-tests/boot/compare.py --status: 0-3 from
# isa-debug-exit, 124 for a timeout, 255 when the stub never reported one.
stub_status() {
  case $1 in
  1 | 3 | 5 | 7) echo $((($1 - 1) / 2)) ;;
  124) echo 124 ;;
  *) echo 255 ;;
  esac
}
