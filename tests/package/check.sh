#!/usr/bin/env bash
# The package installs anywhere: install the build tree BUILD into a fresh temporary prefix, then
# build and run tests/package/hello.cpp against it twice, once with find_package(cpustop) and once
# with `pkg-config --cflags --libs cpustop`. Nothing may point back at the configure-time prefix.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/some/where
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name cpustop.pc)
if grep -q "/usr/local" "$pc"; then
  echo "cpustop.pc names /usr/local:" >&2
  cat "$pc" >&2
  exit 1
fi
# find_package
cmake -S "$here" -B "$tmp/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/hello"
# pkg-config
export PKG_CONFIG_PATH=$(dirname "$pc")
c++ -std=c++20 "$here/hello.cpp" -o "$tmp/hello-pc" $(pkg-config --cflags --libs cpustop)
"$tmp/hello-pc"
echo "package: find_package and pkg-config builds of an outside program run"
