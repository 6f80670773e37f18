#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, starts a
# throwaway PostgreSQL, runs every test (unit, pg, integration, fuzz) and stops
# the database again. Extra arguments go to ctest (e.g. -L unit, -R registry).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
scripts/build.sh

BUILD_DIR=${MLOPS_BUILD_DIR:-build}
exec scripts/with-pg.sh ctest --test-dir "$BUILD_DIR" --output-on-failure \
  --parallel "$(nproc)" --label-exclude image "$@"
