# Shared by the scripts that install what they lack (.ci/cross.sh, host-tests/boot/run.sh,
# host-tests/boot/x86_64/run.sh, host-tests/boot/kexec.sh, host-tests/firmware/stack-report.sh).
# Sourced, not run.

# have_or_install CHECK PACKAGE...: succeeds when CHECK (a shell command line) succeeds,
# installing the PACKAGEs first, in one apt-get, if it does not. Give one package group per
# call: asking for qemu-system-arm, qemu-system-x86 and qemu-user at once fails on this kind of
# machine ("Resolve generated breaks"). Runs `apt-get update` only when an install fails (the
# index may be stale or absent), then tries once more. As root, or through `sudo -n`.
have_or_install() {
  local check=$1 sudo=
  shift
  eval "$check" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || return 1
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
      return 1
  fi
  eval "$check" >/dev/null 2>&1
}

# have_target TARGET: the rustup target is installed, or gets installed.
have_target() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
  rustup target add "$1" >/dev/null 2>&1
}
