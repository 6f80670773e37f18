// Policy tests of the Helm chart helm/mlops: renders it with the values files
// of deploy/ci and checks what the platform promises of its deployment, where
// schema validation (deploy/validate-manifests.mjs) cannot see it: hardened
// pods, probes, the architecture's network edges, real flags only, the
// training service's RBAC, and monitoring objects identical to the files the
// offline checks test. Usage: node tests/deploy/chart_policy.mjs
// (helm and the yaml package from deploy/tools.sh). Exit 1 on any failure.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const tools = process.env.MLOPS_TOOLS_DIR ?? path.join(root, ".local/tools");
const YAML = createRequire(path.join(tools, "node/package.json"))("yaml");
const SERVICES = ["ingestion", "features", "training", "registry", "gateway", "monitoring"];
// Caller -> callees, as stated independently of the chart (DESIGN.md and the
// contracts): the NetworkPolicies must allow exactly these gRPC edges.
const EDGES = {
  ingestion: [], features: ["ingestion"], training: ["ingestion", "features", "registry"],
  registry: ["ingestion", "features", "training", "monitoring"],
  gateway: ["ingestion", "features", "registry", "monitoring"],
  monitoring: ["ingestion", "features", "training", "registry", "gateway"],
};
// Flags the chart may use before they are defined in the code (a note is
// printed while that is so).
const PENDING_FLAGS = new Set(["migrate_only"]);
// Every ABSL_FLAG defined in the code under common/ and services/.
const FLAGS = new Set(["common", "services"].flatMap((dir) =>
  fs.readdirSync(path.join(root, dir), { recursive: true }).filter((f) => f.endsWith(".cc"))
    .flatMap((f) => [...fs.readFileSync(path.join(root, dir, f), "utf8").matchAll(/ABSL_FLAG\(\s*[\w:]+\s*,\s*(\w+)/g)])
    .map((m) => m[1])));

function render(valuesFile) {
  const out = execFileSync(path.join(tools, "bin/helm"),
    ["template", "mlops", path.join(root, "helm/mlops"), "-f", path.join(root, valuesFile)], { encoding: "utf8" });
  return YAML.parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
}
const component = (o) => o.spec.template?.metadata.labels["app.kubernetes.io/component"];
const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);

let checks = 0;
function check(name, fn) {
  try { fn(); checks++; } catch (e) { console.error(`FAIL ${name}: ${e.message}`); process.exitCode = 1; }
}

for (const [file, features] of [["deploy/ci/values-minimal.yaml", { np: true, tls: false, migrations: true, rbac: true }],
                                ["deploy/ci/values-all.yaml", { np: true, tls: true, migrations: true, rbac: true, monitoring: true }],
                                ["deploy/ci/values-off.yaml", { np: false, tls: false, migrations: false, rbac: false }]]) {
  const objs = render(file);
  const values = YAML.parse(fs.readFileSync(path.join(root, file), "utf8"));
  const kind = (k) => objs.filter((o) => o.kind === k);
  const deployments = kind("Deployment"), jobs = kind("Job"), services = kind("Service");
  const t = (name, fn) => check(`${path.basename(file)}: ${name}`, fn);

  t("one Deployment and one Service per service", () => {
    assert.deepEqual(deployments.map(component).sort(), [...SERVICES].sort());
    assert.equal(services.length, 6);
  });
  t("pods are hardened", () => {
    for (const o of [...deployments, ...jobs]) {
      const pod = o.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true, o.metadata.name);
      assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault", o.metadata.name);
      const tmp = pod.volumes.find((v) => v.name === "tmp");
      assert.ok(tmp?.emptyDir, `${o.metadata.name}: /tmp emptyDir`);
      for (const c of pod.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
        assert.ok(c.volumeMounts.some((m) => m.name === "tmp" && m.mountPath === "/tmp"));
        assert.ok(c.resources?.requests && c.resources?.limits, `${o.metadata.name}: resources`);
      }
    }
  });
  t("probes: gRPC health readiness (TCP under TLS), liveness, drain time", () => {
    for (const d of deployments) {
      const pod = d.spec.template.spec, c = pod.containers[0];
      const grpcPort = c.ports.find((p) => p.name === "grpc").containerPort;
      if (features.tls) assert.equal(c.readinessProbe.tcpSocket.port, "grpc");
      else assert.deepEqual(c.readinessProbe.grpc, { port: grpcPort, service: "" });
      assert.ok(c.livenessProbe.grpc || c.livenessProbe.tcpSocket);
      const grace = Number(c.env.find((e) => e.name === "MLOPS_SHUTDOWN_GRACE_SECONDS").value);
      const sleep = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
      assert.ok(pod.terminationGracePeriodSeconds > grace + sleep, d.metadata.name);
    }
  });
  t("only real flags: every MLOPS_ variable and argument", () => {
    for (const o of [...deployments, ...jobs]) {
      for (const c of o.spec.template.spec.containers) {
        for (const e of c.env) {
          assert.ok(FLAGS.has(e.name.replace(/^MLOPS_/, "").toLowerCase()), `${o.metadata.name}: ${e.name}`);
        }
        for (const a of c.args ?? []) {
          const flag = a.replace(/^--/, "").replace(/=.*/, "");
          assert.ok(FLAGS.has(flag) || PENDING_FLAGS.has(flag), `${o.metadata.name}: ${a}`);
        }
      }
    }
  });
  t("peer addresses name the peers' Services and ports", () => {
    for (const d of deployments) {
      const env = d.spec.template.spec.containers[0].env;
      const peers = env.filter((e) => /^MLOPS_[A-Z]+_ADDR$/.test(e.name));
      assert.deepEqual(peers.map((e) => e.name.split("_")[1].toLowerCase()).sort(), [...EDGES[component(d)]].sort());
      for (const e of peers) {
        const [host, port] = e.value.split(":");
        const svc = services.find((s) => s.metadata.name === host);
        assert.ok(svc?.spec.ports.some((p) => p.name === "grpc" && p.port === Number(port)), e.value);
      }
    }
  });
  t("Services, PDBs and Prometheus annotations select the right pods", () => {
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels, c = d.spec.template.spec.containers[0];
      const svc = services.filter((s) => matches(s.spec.selector, labels));
      assert.equal(svc.length, 1, d.metadata.name);
      assert.deepEqual(svc[0].spec.ports.map((p) => p.name), ["grpc", "metrics"]);
      const metricsPort = c.ports.find((p) => p.name === "metrics").containerPort;
      const ann = d.spec.template.metadata.annotations ?? {};
      if (values.metrics?.podAnnotations === false) assert.equal(ann["prometheus.io/scrape"], undefined);
      else assert.equal(ann["prometheus.io/port"], String(metricsPort));
    }
    for (const p of kind("PodDisruptionBudget")) {
      assert.equal(deployments.filter((d) => matches(p.spec.selector.matchLabels, d.spec.template.metadata.labels)).length, 1);
    }
  });
  t("HPAs scale the gateway and the feature service", () => {
    const scaled = kind("HorizontalPodAutoscaler").map((h) => h.spec.scaleTargetRef.name.replace(/^mlops-/, ""));
    const expected = file.endsWith("off.yaml") ? ["features"] : file.endsWith("all.yaml") ? ["features", "gateway", "registry"] : ["features", "gateway"];
    assert.deepEqual(scaled.sort(), expected);
    for (const d of deployments) assert.equal(d.spec.replicas === undefined, scaled.includes(component(d)), d.metadata.name);
  });
  t("NetworkPolicies allow exactly the architecture's edges", () => {
    const policies = kind("NetworkPolicy");
    if (!features.np) return assert.equal(policies.length, 0);
    assert.equal(policies.length, 6);
    for (const callee of SERVICES) {
      const np = policies.find((p) => p.spec.podSelector.matchLabels["app.kubernetes.io/component"] === callee);
      const callers = np.spec.ingress.flatMap((r) => (r.from ?? []).map((f) => f.podSelector?.matchLabels?.["app.kubernetes.io/component"]))
        .filter(Boolean);
      assert.deepEqual(callers.sort(), SERVICES.filter((s) => EDGES[s].includes(callee)).sort(), `callers of ${callee}`);
      const egressPeers = np.spec.egress.flatMap((r) => (r.to ?? []).map((t) => t.podSelector?.matchLabels?.["app.kubernetes.io/component"]))
        .filter(Boolean);
      assert.deepEqual(egressPeers.sort(), [...EDGES[callee]].sort(), `egress of ${callee}`);
      const ports = np.spec.egress.flatMap((r) => (r.ports ?? []).map((p) => p.port));
      assert.ok(ports.includes(53) && ports.includes(values.database?.port ?? 5432), `${callee}: DNS and PostgreSQL egress`);
    }
  });
  t("migration hook Jobs run --migrate_only before install and upgrade", () => {
    if (!features.migrations) return assert.equal(jobs.length, 0);
    assert.equal(jobs.length, 6);
    for (const j of jobs) {
      assert.equal(j.metadata.annotations["helm.sh/hook"], "pre-install,pre-upgrade");
      assert.deepEqual(j.spec.template.spec.containers[0].args, ["--migrate_only"]);
      assert.equal(j.spec.template.spec.restartPolicy, "Never");
    }
  });
  t("training alone may manage Jobs", () => {
    const roles = kind("Role");
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      assert.equal(pod.automountServiceAccountToken, features.rbac && component(d) === "training", d.metadata.name);
    }
    if (!features.rbac) return assert.equal(roles.length, 0);
    assert.equal(roles.length, 1);
    const verbs = (res) => roles[0].rules.filter((r) => r.resources.includes(res)).flatMap((r) => r.verbs);
    for (const v of ["create", "watch", "delete", "get"]) assert.ok(verbs("jobs").includes(v), v);
    assert.ok(verbs("pods/log").includes("get"));
    const binding = kind("RoleBinding")[0];
    const trainingSa = deployments.find((d) => component(d) === "training").spec.template.spec.serviceAccountName;
    assert.equal(binding.subjects[0].name, trainingSa);
    assert.equal(binding.roleRef.name, roles[0].metadata.name);
  });
  if (features.monitoring) {
    t("ServiceMonitor names jobs mlops-<service>; PrometheusRule = rules.yml; dashboards = deploy/grafana", () => {
      const sm = kind("ServiceMonitor")[0];
      for (const s of services) assert.equal(s.metadata.labels[sm.spec.jobLabel], `mlops-${s.metadata.labels["app.kubernetes.io/component"]}`);
      const rules = YAML.parse(fs.readFileSync(path.join(root, "deploy/prometheus/rules.yml"), "utf8"));
      assert.deepEqual(kind("PrometheusRule")[0].spec.groups, rules.groups);
      const maps = kind("ConfigMap").filter((c) => c.metadata.labels.grafana_dashboard === "1");
      const files = fs.readdirSync(path.join(root, "deploy/grafana")).filter((f) => f.endsWith(".json"));
      assert.equal(maps.length, files.length);
      for (const f of files) {
        const m = maps.find((c) => c.data[f] !== undefined);
        assert.deepEqual(JSON.parse(m.data[f]), JSON.parse(fs.readFileSync(path.join(root, "deploy/grafana", f), "utf8")));
      }
    });
  }
}
for (const flag of PENDING_FLAGS) {
  if (!FLAGS.has(flag)) console.error(`note: the chart uses --${flag}, which no ABSL_FLAG defines yet`);
}
console.log(`${checks} policy checks passed${process.exitCode ? " (some FAILED)" : ""}`);
