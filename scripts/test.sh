#!/usr/bin/env bash
# Install what the tests need, build, and run every test with CTest.
# This is what CI runs (.ci/run); it ends with CTest's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Real programs the tests run under the shim (tests/test_realprograms.py;
# ffmpeg, gio and GLib's headers for a GObject program of the tests'),
# strace to count the threads they start, util-linux for mount (a tiny
# tmpfs in tests/test_faults.py).
test_packages=(pigz xz-utils zstd pbzip2 coreutils python3 redis-server redis-tools strace util-linux
               rustc ripgrep ffmpeg libglib2.0-dev libglib2.0-bin pkg-config libgtest-dev)
"$root/scripts/setup.sh" "${test_packages[@]}" ${LEAKWATCH_TEST_PACKAGES:-}
"$root/scripts/build.sh"
cd "${LEAKWATCH_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j 2 "$@"
