#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster:
#   scripts/with-pg.sh ctest --test-dir build -L pg
# Starts a cluster in a fresh folder under <repo>/.local/, exports
# MLOPS_TEST_PG_DSN (its DSN) and MLOPS_TEST_PG_DIR (its folder, for
# `scripts/pg.sh restart`), runs the command, then stops the cluster and
# removes the folder whatever happens. Exits with the command's exit code.
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: scripts/with-pg.sh COMMAND [ARGS...]" >&2; exit 2; }

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPTS")
mkdir -p "$REPO_ROOT/.local"
PG_DIR=$(mktemp -d "$REPO_ROOT/.local/pgtest.XXXXXX")

cleanup() {
  "$SCRIPTS/pg.sh" stop "$PG_DIR" || echo "with-pg.sh: could not stop the cluster in $PG_DIR" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MLOPS_TEST_PG_DSN=$("$SCRIPTS/pg.sh" start "$PG_DIR")
export MLOPS_TEST_PG_DSN
export MLOPS_TEST_PG_DIR=$PG_DIR

set +e
"$@"
rc=$?
set -e
exit "$rc"
