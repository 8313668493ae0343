#!/usr/bin/env bash
# Builds the release preset and runs the headline demo. Extra arguments go to `cpustop demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec build/release/bin/cpustop demo "$@"
