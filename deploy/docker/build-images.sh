#!/usr/bin/env bash
# Builds the container images of the six services with podman, then smoke-tests
# them together: each container starts (read-only root, no capabilities, UID
# 65532) against a throwaway PostgreSQL, answers the gRPC health check and
# serves /metrics, and drains on SIGTERM.
#
#   deploy/docker/build-images.sh              build (committed HEAD) + smoke test
#   deploy/docker/build-images.sh --worktree   build the working tree instead
#   deploy/docker/build-images.sh --no-smoke   build only
#
# Images: localhost/mlops-<service>:{<git short sha>,dev,<chart appVersion>} and
# localhost/mlopsctl:{<sha>,dev}. The Debian base localhost/debian:bookworm-minbase
# is made with debootstrap when absent. podman runs with a config and storage of
# our own (.local/podman/, see /work/shared/TOOLCHAIN.md); MLOPS_PODMAN_DIR moves it.
# Exit codes: 0 ok, 1 failed, 77 skipped (podman not usable here; CTest SKIP).
# CTest: label "image" (not in scripts/test.sh's default run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SERVICES=(ingestion features training registry gateway monitoring)
BASE_IMAGE=localhost/debian:bookworm-minbase
EXIT_SKIP=77
HEALTH_WAIT=${MLOPS_IMAGE_HEALTH_WAIT:-120s}
BUILD_JOBS=${MLOPS_IMAGE_BUILD_JOBS:-2}

MODE="head"
SMOKE=1
for arg in "$@"; do
  case "$arg" in
    --worktree) MODE=worktree ;;
    --no-smoke) SMOKE=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

log() { echo "build-images: $*" >&2; }
skip() { echo "build-images: SKIP: $*" >&2; exit "$EXIT_SKIP"; }

# --- podman with our own configuration ---------------------------------------
command -v podman >/dev/null ||
  skip "podman is not installed (apt-get install podman buildah runc catatonit debootstrap)"
STATE=${MLOPS_PODMAN_DIR:-$ROOT/.local/podman}
mkdir -p "$STATE"
if [[ ! -f "$STATE/containers.conf" ]]; then
  # crun refuses this host's hybrid cgroups; systemd is absent; the default
  # ulimits cannot be set here.
  cat >"$STATE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
fi
if [[ ! -f "$STATE/storage.conf" ]]; then
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' \
    "$STATE" "$STATE" >"$STATE/storage.conf"
fi
export CONTAINERS_CONF=$STATE/containers.conf CONTAINERS_STORAGE_CONF=$STATE/storage.conf
podman info >"$STATE/info.log" 2>&1 || skip "podman is not usable here: $(tail -n 1 "$STATE/info.log")"

# --- the Debian base ---------------------------------------------------------
# The mirror this machine's apt uses (deb.debian.org when none is found).
apt_mirror() {  # apt_mirror SUFFIX  (debian | debian-security)
  local m
  m=$(grep -h -o -E "https?://[^ ]+/$1/?( |$)" /etc/apt/sources.list /etc/apt/sources.list.d/* \
        2>/dev/null | head -n 1 | tr -d ' ' || true)
  echo "${m:-http://deb.debian.org/$1}"
}

build_base() {
  command -v debootstrap >/dev/null || { log "debootstrap is needed to make $BASE_IMAGE"; return 1; }
  [[ $(id -u) -eq 0 ]] || { log "debootstrap needs root to make $BASE_IMAGE"; return 1; }
  local dir mirror security start=$SECONDS
  mirror=$(apt_mirror debian)
  security=$(apt_mirror debian-security)
  dir=$(mktemp -d /var/tmp/mlops-minbase.XXXXXX)
  log "making $BASE_IMAGE with debootstrap from $mirror"
  if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$STATE/debootstrap.log" 2>&1; then
    tail -n 20 "$STATE/debootstrap.log" >&2
    rm -rf "$dir"
    return 1
  fi
  # Point releases and security updates too: the runtime images copy their libraries.
  cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | podman import --quiet - "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
  log "$BASE_IMAGE made in $((SECONDS - start)) s"
}

podman image exists "$BASE_IMAGE" || build_base

# --- the build context -------------------------------------------------------
work=$(mktemp -d /var/tmp/mlops-images.XXXXXX)
CONTAINERS=()
PG_DIR=""
cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do podman rm -f -t 5 "$c" >/dev/null 2>&1 || true; done
  if [[ -n "$PG_DIR" ]]; then scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SHA=$(git rev-parse --short HEAD)
# Exactly the committed tree, with a .git that only answers `git rev-parse HEAD`
# (the build records the commit), made byte-for-byte and mtime-for-mtime the
# same for the same commit: then an unchanged commit hits podman's layer cache.
make_context() {  # make_context DIR
  local dir=$1 pack ts
  git clone --quiet --depth 1 "file://$ROOT" "$dir"
  rm -rf "$dir/.git/index" "$dir/.git/logs" "$dir/.git/hooks"
  mkdir "$work/packs"
  mv "$dir"/.git/objects/pack/* "$work/packs/"
  for pack in "$work"/packs/*.pack; do git -C "$dir" unpack-objects -q <"$pack"; done
  rm -rf "$work/packs"
  ts=$(git -C "$dir" log -1 --format=%ct)
  find "$dir" -exec touch -h -d "@$ts" {} +
}
if [[ "$MODE" == head ]]; then
  CONTEXT=$work/context
  make_context "$CONTEXT"
else
  CONTEXT=$ROOT
  [[ -z "$(git status --porcelain --untracked-files=no)" ]] || SHA=$SHA-dirty
fi
VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' helm/mlops/Chart.yaml)
# ccache: the host's cache when there is one (objects are keyed by content, and
# the builder's paths match the host's build-*/ dirs); else the Dockerfile's
# cache mount. MLOPS_IMAGE_CCACHE=DIR picks another, =none the cache mount.
CCACHE_HOST=${MLOPS_IMAGE_CCACHE:-$(ccache -k cache_dir 2>/dev/null || true)}
VOLUMES=()
if [[ -n "$CCACHE_HOST" && "$CCACHE_HOST" != none ]]; then
  mkdir -p "$CCACHE_HOST"
  VOLUMES=(-v "$CCACHE_HOST:/ccache-host")
fi
BUILD=(podman build --network host --layers "${VOLUMES[@]}" -f "$CONTEXT/deploy/docker/Dockerfile"
       --ignorefile "$CONTEXT/deploy/docker/.dockerignore"
       --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg BUILD_JOBS="$BUILD_JOBS"
       --build-arg VERSION="$VERSION" --build-arg COMMIT="$SHA")

# --- build -------------------------------------------------------------------
start=$SECONDS
log "builder stage (the seven binaries; context $MODE at $SHA)"
if ! "${BUILD[@]}" --target builder -t localhost/mlops-builder:dev "$CONTEXT" \
    >"$work/builder.log" 2>&1; then
  tail -n 40 "$work/builder.log" >&2
  log "FAIL: the builder stage did not build"
  exit 1
fi
grep -E '^builder: compiled' "$work/builder.log" >&2 || log "builder stage: from the layer cache"
log "builder stage done in $((SECONDS - start)) s"

default_ports() {  # default_ports SERVICE -> "GRPC METRICS" from services/<s>/main.cc
  sed -n "s/.*spec\.defaults = {\"$1\", *\([0-9]*\), *\([0-9]*\).*/\1 \2/p" "services/$1/main.cc"
}

for s in "${SERVICES[@]}"; do
  read -r g m <<<"$(default_ports "$s")"
  [[ -n "$g" && -n "$m" ]] || { log "FAIL: no spec.defaults ports in services/$s/main.cc"; exit 1; }
  image=localhost/mlops-$s
  if ! "${BUILD[@]}" --target runtime --build-arg SERVICE="$s" --build-arg GRPC_PORT="$g" \
      --build-arg METRICS_PORT="$m" -t "$image:$SHA" -t "$image:dev" -t "$image:$VERSION" \
      "$CONTEXT" >"$work/$s.log" 2>&1; then
    tail -n 30 "$work/$s.log" >&2
    log "FAIL: image $image did not build"
    exit 1
  fi
done
if ! "${BUILD[@]}" --target cli -t "localhost/mlopsctl:$SHA" -t localhost/mlopsctl:dev \
    "$CONTEXT" >"$work/cli.log" 2>&1; then
  tail -n 30 "$work/cli.log" >&2
  log "FAIL: image localhost/mlopsctl did not build"
  exit 1
fi
log "all images built in $((SECONDS - start)) s"

# Keep the storage bounded (each commit's builder holds ~1.4 GB): drop the
# images of other commits and what only they used (MLOPS_IMAGE_KEEP_OLD=1 keeps them).
if [[ -z "${MLOPS_IMAGE_KEEP_OLD:-}" ]]; then
  podman images --format '{{.Repository}}:{{.Tag}}' |
    grep -E '^localhost/mlops(-[a-z]+|ctl):[0-9a-f]{7,}(-dirty)?$' |
    while read -r ref; do
      [[ "${ref##*:}" == "$SHA" ]] || podman rmi "$ref" >/dev/null 2>&1 || true
    done
  podman image prune -f >/dev/null 2>&1 || true
fi

size_of() { podman image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }
printf '%-32s %10s\n' IMAGE SIZE
for s in "${SERVICES[@]}"; do printf '%-32s %10s\n' "mlops-$s:$SHA" "$(size_of "localhost/mlops-$s:$SHA")"; done
printf '%-32s %10s\n' "mlopsctl:$SHA" "$(size_of "localhost/mlopsctl:$SHA")"

[[ "$SMOKE" == 1 ]] || exit 0

# --- smoke test: the six containers as one platform ---------------------------
log "smoke test: Postgres, then the six containers on free ports (--network host)"
PG_DIR=$work/pg
DSN=$(scripts/pg.sh start "$PG_DIR")

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -A TAKEN=()
free_port() {
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if [[ -z "${TAKEN[$p]:-}" ]] && ! port_in_use "$p"; then
      TAKEN[$p]=1
      echo "$p"
      return 0
    fi
  done
  return 1
}
declare -A GRPC_PORT=() METRICS_PORT=()
for s in "${SERVICES[@]}"; do
  GRPC_PORT[$s]=$(free_port)
  METRICS_PORT[$s]=$(free_port)
done

# Tokens as scripts/run-local.sh makes them; readable by the containers' UID.
secrets=$work/secrets
mkdir -p "$secrets"
new_token() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
hash_token() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
admin_token=$(new_token)
service_token=$(new_token)
printf '%s\n' "$admin_token" >"$secrets/admin.token"
printf '%s\n' "$service_token" >"$secrets/service.token"
printf '%s smoke-admin admin\n%s platform-services admin\n' \
  "$(hash_token "$admin_token")" "$(hash_token "$service_token")" >"$secrets/tokens"
chmod 0755 "$work" "$secrets"
chmod 0644 "$secrets"/*

peer_env=()
ctl_addrs=()
for s in "${SERVICES[@]}"; do
  peer_env+=(-e "MLOPS_${s^^}_ADDR=127.0.0.1:${GRPC_PORT[$s]}")
  ctl_addrs+=("--${s}_addr=127.0.0.1:${GRPC_PORT[$s]}")
done
run_id=$$
smoke_start=$SECONDS
for s in "${SERVICES[@]}"; do
  name=mlops-smoke-$s-$run_id
  # As the chart runs them: read-only root, /tmp writable, no capabilities.
  podman run -d --name "$name" --network host --read-only --tmpfs /tmp:rw,size=256m \
    --cap-drop ALL --security-opt no-new-privileges \
    -v "$secrets:/secrets:ro" \
    -e MLOPS_DATABASE_URL="$DSN" -e MLOPS_AUTH_TOKENS_FILE=/secrets/tokens \
    -e MLOPS_PEER_TOKEN_FILE=/secrets/service.token "${peer_env[@]}" \
    "localhost/mlops-$s:$SHA" \
    --grpc_host=127.0.0.1 --grpc_port="${GRPC_PORT[$s]}" --metrics_port="${METRICS_PORT[$s]}" \
    >/dev/null
  CONTAINERS+=("$name")
done

health_json=$(podman run --rm --network host -v "$secrets:/secrets:ro" "localhost/mlopsctl:$SHA" \
  --token_file=/secrets/admin.token --json "${ctl_addrs[@]}" status --wait="$HEALTH_WAIT" || true)
healthy_after=$((SECONDS - smoke_start))

failed=0
printf '%-11s %-10s %-12s %-9s %-8s %s\n' SERVICE SIZE HEALTH METRICS USER SIGTERM
for s in "${SERVICES[@]}"; do
  name=mlops-smoke-$s-$run_id
  health=$(grep -o "\"name\":\"$s\",\"address\":\"[^\"]*\",\"status\":\"[A-Z_]*\"" <<<"$health_json" |
             sed 's/.*"status":"\([A-Z_]*\)"/\1/' || true)
  page=$(curl -sf --max-time 5 "http://127.0.0.1:${METRICS_PORT[$s]}/metrics" || true)
  if grep -q "^mlops_build_info{" <<<"$page"; then metrics=ok; else metrics=FAIL; fi
  user=$(podman top "$name" huser 2>/dev/null | sed -n 2p || true)
  printf '%-11s %-10s %-12s %-9s %-8s ' "$s" "$(size_of "localhost/mlops-$s:$SHA")" \
    "${health:-NONE}" "$metrics" "${user:-?}"
  # Drain: SIGTERM, then the exit code (0 = drained cleanly).
  podman stop -t 30 "$name" >/dev/null 2>&1 || true
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name" 2>/dev/null || echo '?')
  echo "exit $code"
  if [[ "$health" != SERVING || "$metrics" != ok || "$user" != 65532 || "$code" != 0 ]]; then
    failed=$((failed + 1))
    log "$s failed its smoke test; its log:"
    podman logs --tail 20 "$name" 2>&1 | sed 's/^/    /' >&2 || true
  fi
done
log "all six SERVING (or the wait ended) ${healthy_after} s after the first container started"
if [[ $failed -gt 0 ]]; then
  log "FAIL: $failed of ${#SERVICES[@]} services failed the smoke test"
  exit 1
fi
log "ok: ${#SERVICES[@]} images built and smoke-tested ($SHA)"
