#!/usr/bin/env bash
# Install, build, and show leakwatch at work: a worker pool whose shutdown
# forgets to wake its idle workers, run under `leakwatch run`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
build=${LEAKWATCH_BUILD_DIR:-$root/build}
echo "\$ leakwatch run -- examples/pool_shutdown"
set +e
"$root/scripts/leakwatch" run -- "$build/examples/example_pool_shutdown"
status=$?
set -e
echo "(exit status $status: leakwatch's exitcode, because there were findings)"
echo
echo "\$ leakwatch run -- examples/pool_shutdown_fixed"
"$root/scripts/leakwatch" run -- "$build/examples/example_pool_shutdown_fixed"
echo "(exit status $?: nothing to report)"
