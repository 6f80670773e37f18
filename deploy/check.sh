#!/usr/bin/env bash
# The offline checks of everything we ship besides the images: the Helm chart,
# the plain manifests, the Prometheus configuration and rules, the Grafana
# dashboards. Installs its tools first (deploy/tools.sh). Prints one line per
# check ("ok" or "FAIL" with the tool's output below it) and a closing
# "N passed, M failed" line; exits 1 when any check failed.
# Usage: deploy/check.sh        (CTest: label "deploy")
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TOOLS=$(deploy/tools.sh) || { echo "FAIL tools: deploy/tools.sh could not install the tools"; exit 1; }
export MLOPS_TOOLS_DIR=$TOOLS
HELM=$TOOLS/bin/helm
KUBECTL=$TOOLS/bin/kubectl
CHART=helm/mlops
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
# check NAME COMMAND...: runs the command, prints one line, keeps its output on failure.
check() {
  local name=$1
  shift
  local start=$SECONDS
  if "$@" >"$work/out" 2>&1; then
    printf 'ok    %-70s %3ds\n' "$name" $((SECONDS - start))
    passed=$((passed + 1))
  else
    printf 'FAIL  %-70s %3ds\n' "$name" $((SECONDS - start))
    sed 's/^/      /' "$work/out" | head -40
    failed=$((failed + 1))
  fi
}
# expect_failure NAME PATTERN COMMAND...: the command must fail and say PATTERN.
expect_failure() {
  local name=$1 pattern=$2
  shift 2
  check "$name" bash -c 'pattern=$1; shift
    "$@" >"$0.log" 2>&1 && { echo "unexpectedly succeeded"; exit 1; }
    grep -E -q -- "$pattern" "$0.log" || { echo "no message matching: $pattern"; cat "$0.log"; exit 1; }' \
    "$work/expect" "$pattern" "$@"
}
render() { # render VALUES_FILE OUT
  "$HELM" template mlops "$CHART" --namespace mlops -f "$1" >"$2"
}

check "helm lint --strict (default values)" "$HELM" lint --strict "$CHART"
for v in minimal all off; do
  check "helm lint --strict (deploy/ci/values-$v.yaml)" "$HELM" lint --strict "$CHART" -f deploy/ci/values-$v.yaml
  check "helm template (deploy/ci/values-$v.yaml)" render deploy/ci/values-$v.yaml "$work/$v.yaml"
done
check "rendered manifests valid (Kubernetes, Prometheus Operator schemas)" \
  node deploy/validate-manifests.mjs "$work/minimal.yaml" "$work/all.yaml" "$work/off.yaml"
expect_failure "values.schema.json rejects wrong types" \
  "got string, want integer" \
  "$HELM" template mlops "$CHART" -f deploy/ci/values-minimal.yaml -f tests/deploy/values-bad-types.yaml
expect_failure "values.schema.json rejects unknown keys" \
  "additional properties 'replica' not allowed" \
  "$HELM" template mlops "$CHART" -f deploy/ci/values-minimal.yaml --set services.gateway.replica=3
expect_failure "values.schema.json rejects a flag the service does not have" \
  "additional properties 'alert_eval_interval_ms' not allowed" \
  "$HELM" template mlops "$CHART" -f deploy/ci/values-minimal.yaml \
  --set services.gateway.flags.alert_eval_interval_ms=1000
expect_failure "a missing DSN secret name fails with a clear message" \
  "database.existingSecret is required" \
  "$HELM" template mlops "$CHART" --set auth.existingSecret=mlops-auth
expect_failure "a missing auth secret name fails with a clear message" \
  "auth.existingSecret is required" \
  "$HELM" template mlops "$CHART" --set database.existingSecret=mlops-database
check "helm package: the packaged chart renders the same" \
  bash -c "'$HELM' package '$CHART' -d '$work/pkg' >/dev/null &&
           '$HELM' template mlops '$work'/pkg/mlops-*.tgz --namespace mlops -f deploy/ci/values-all.yaml |
             diff -u '$work/all.yaml' -"
check "chart policies (tests/deploy/chart_policy.mjs)" node tests/deploy/chart_policy.mjs
check "deploy/k8s is up to date with the chart" \
  bash -c "deploy/render-k8s.sh '$work/k8s' && diff -ru deploy/k8s '$work/k8s' ||
           { echo 'deploy/k8s is stale: run deploy/render-k8s.sh and commit deploy/k8s'; exit 1; }"
check "kubectl kustomize deploy/k8s + schemas" \
  bash -c "'$KUBECTL' kustomize deploy/k8s >'$work/kustomized.yaml' &&
           node deploy/validate-manifests.mjs '$work/kustomized.yaml' deploy/k8s/migrations/jobs.yaml"
check "promtool check config (prometheus-local.yml)" promtool check config deploy/prometheus/prometheus-local.yml
check "promtool check rules (rules.yml)" promtool check rules deploy/prometheus/rules.yml
check "promtool test rules (rules_test.yml)" promtool test rules deploy/prometheus/rules_test.yml
check "metric names of rules and dashboards = metric_names.txt" node deploy/check-metric-names.mjs
check "dashboards are valid JSON" \
  bash -c 'for f in deploy/grafana/*.json; do node -e "JSON.parse(require(\"fs\").readFileSync(process.argv[1]))" "$f" || exit 1; done'
check "yamllint (chart values, deploy YAML, manifests)" \
  yamllint --strict -c deploy/yamllint.yaml helm/mlops/Chart.yaml helm/mlops/values.yaml \
    helm/mlops/files deploy/ci deploy/prometheus deploy/k8s deploy/yamllint.yaml tests/deploy

echo "deploy: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
