#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the local run need.
# `--bench` adds the optional benchmark packages. Idempotent: runs
# `apt-get update` and `apt-get install` only when something is missing, and
# prints nothing when everything is present.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config ccache make
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc grpc-proto
  libpqxx-dev prometheus-cpp-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libxgboost-dev
  postgresql-15 postgresql-client-15
  curl
)
# Optional, with --bench: the Python baselines the benchmarks measure side by
# side: gateway_benchmark's grpcio + xgboost server, the drift benchmark's
# SciPy loop, the historical benchmark's pandas merge_asof. Not needed by the
# build or the tests.
if [[ "${1:-}" == "--bench" ]]; then
  PACKAGES+=(python3-grpcio python3-xgboost python3-protobuf python3-numpy python3-scipy python3-pandas)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
