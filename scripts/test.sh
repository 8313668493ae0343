#!/usr/bin/env bash
# Builds and runs every test suite: release, then ASan+UBSan, then TSan, then the simulator.
# Installs what it needs first (Debian packages), so it works on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
presets=${CPUSTOP_TEST_PRESETS:-"release asan tsan sim"}
jobs=$(nproc)
for preset in $presets; do
  echo "=== $preset ==="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  # Tests check order and the machine's own accounting, never the wall clock, so they may share
  # the host cores with each other.
  ctest --preset "$preset" -j "$jobs"
done
echo "all suites passed: $presets"
