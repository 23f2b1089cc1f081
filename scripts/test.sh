#!/usr/bin/env bash
# Install what the tests need, build, and run every test with CTest.
# This is what CI runs (.ci/run); it ends with CTest's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" ${LEAKWATCH_TEST_PACKAGES:-}
"$root/scripts/build.sh"
cd "${LEAKWATCH_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j 2 "$@"
