# Shared by host-tests/boot/x86_64/run.sh and host-tests/boot/kexec.sh (sourced, not run).

# have_or_install and have_target: the repository's one copy.
# shellcheck source=../../../.ci/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/.ci/lib.sh"

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
