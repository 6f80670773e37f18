#!/usr/bin/env bash
# Configures (once) and builds every target into ${MLOPS_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ccache (when installed) shares objects between clones of the repo: paths are
# made relative to the checkout and the build dir is not part of the hash.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

BUILD_DIR=${MLOPS_BUILD_DIR:-build}
BUILD_TYPE=${MLOPS_BUILD_TYPE:-RelWithDebInfo}
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
fi
start=$(date +%s)
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
echo "build: done in $(( $(date +%s) - start )) s ($BUILD_DIR)" >&2
