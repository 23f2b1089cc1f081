#!/usr/bin/env bash
# Install what building and testing leakwatch needs, from Debian's packages.
# Idempotent: packages already present are not fetched again. Run as root
# (or through sudo) on Debian 12; elsewhere, install the same list by hand.
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # toolchain
  libunwind-dev uthash-dev libdw-dev # the shim's libraries
  python3                            # test cases, the leakwatch command
  graphviz                           # tests: leakwatch report --format dot
  clang libclang-rt-14-dev           # tests: libFuzzer for the parsers
  "$@"                               # extra packages a caller needs
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    SUDO=sudo
  else
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Packages such as redis-server start their service when installed; on a
# machine without an init system that fails the install. Say no for now.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | ${SUDO:-} tee "$policy" >/dev/null
  ${SUDO:-} chmod +x "$policy"
  own_policy=1
fi
${SUDO:-} apt-get update -qq
status=0
${SUDO:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ -n "$own_policy" ]; then
  ${SUDO:-} rm -f "$policy"
fi
exit $status
