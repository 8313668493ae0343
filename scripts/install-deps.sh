#!/usr/bin/env bash
# Installs every Debian package cpustop needs to build, test and benchmark.
# Idempotent: it skips apt when everything is already there.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config clang-14 clang-format-14 libclang-rt-14-dev
  libboost-context-dev libboost-fiber-dev libboost-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev libhwloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev systemtap-sdt-dev
  libfuse3-dev fuse3 libseccomp-dev liburing-dev
  procps util-linux trace-cmd kernelshark xvfb xauth linux-perf bpftrace spin wrk gnuplot-nox
)
# Optional peers for benchmarks; the build and tests never need them.
optional=(golang-go)

missing=()
for p in "${pkgs[@]}" "${optional[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
$SUDO apt-get install -y -qq --no-install-recommends "${optional[@]}" ||
  echo "install-deps: optional peers not installed: ${optional[*]}" >&2
