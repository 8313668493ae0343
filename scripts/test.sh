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
# The attach protocol's request parser under libFuzzer (clang-14, ASan+UBSan, leak checks):
# a crash, a leak or a wrong round trip fails the run.
fuzz_seconds=${CPUSTOP_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ]; then
  echo "=== fuzz (${fuzz_seconds}s) ==="
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  mkdir -p build/fuzz/corpus
  build/fuzz/bin/request_fuzz -max_total_time="$fuzz_seconds" -detect_leaks=1 \
    -print_final_stats=1 build/fuzz/corpus fuzz/corpus
fi
echo "all suites passed: $presets, fuzz ${fuzz_seconds}s"
