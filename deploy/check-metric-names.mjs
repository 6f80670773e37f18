// Checks that deploy/prometheus/metric_names.txt lists exactly the metric
// names used by the Prometheus rules and the Grafana dashboards, and that
// every recording rule a dashboard or rule uses is defined.
// Usage: node deploy/check-metric-names.mjs  (the yaml package from
// deploy/tools.sh, in $MLOPS_TOOLS_DIR/node or .local/tools/node)
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const nodeDir = path.join(process.env.MLOPS_TOOLS_DIR ?? path.join(root, ".local/tools"), "node");
const YAML = createRequire(path.join(nodeDir, "package.json"))("yaml");
const rules = YAML.parse(fs.readFileSync(path.join(root, "deploy/prometheus/rules.yml"), "utf8"));
const dashDir = path.join(root, "deploy/grafana");

const exprs = []; // [where, expr]
const recorded = new Set();
for (const g of rules.groups) for (const r of g.rules) {
  exprs.push([`rules.yml ${r.record ?? r.alert}`, r.expr]);
  if (r.record) recorded.add(r.record);
}
for (const f of fs.readdirSync(dashDir).filter((f) => f.endsWith(".json"))) {
  const d = JSON.parse(fs.readFileSync(path.join(dashDir, f), "utf8"));
  for (const p of d.panels) for (const t of p.targets ?? []) exprs.push([`${f} "${p.title}"`, t.expr]);
  for (const v of d.templating.list) {
    const query = typeof v.query === "string" ? v.query : v.query?.query;
    if (v.type === "query" && query) exprs.push([`${f} $${v.name}`, query]);
  }
}

const used = new Map(); // metric name -> first place it is used
const errors = [];
for (const [where, expr] of exprs) {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/\[[^\]]*\]/g, "");
  for (const token of code.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) {
    if (token.includes(":")) {
      if (!recorded.has(token)) errors.push(`${where}: recording rule ${token} is not defined in rules.yml`);
    } else if (token.startsWith("mlops_") && !used.has(token)) {
      used.set(token, where);
    }
  }
}

const listed = new Map();
for (const line of fs.readFileSync(path.join(root, "deploy/prometheus/metric_names.txt"), "utf8").split("\n")) {
  const fields = line.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
  if (fields.length === 0) continue;
  if (fields.length !== 3 || !["exported", "planned"].includes(fields[2]) || !line.includes("#"))
    errors.push(`metric_names.txt: malformed line: ${line}`);
  listed.set(fields[0], fields[2]);
}
for (const [name, where] of used) if (!listed.has(name)) errors.push(`${where}: ${name} is not in metric_names.txt`);
for (const name of listed.keys()) if (!used.has(name)) errors.push(`metric_names.txt: ${name} is used nowhere`);

if (errors.length) { for (const e of errors) console.error(e); process.exit(1); }
const planned = [...listed.values()].filter((s) => s === "planned").length;
console.log(`${used.size} metric names in ${exprs.length} expressions agree with metric_names.txt (${planned} planned, not exported yet)`);
