// Validates rendered Kubernetes manifests against the API schemas of the npm
// packages kubernetes-models (built-in kinds) and
// @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule):
// types, enums, required fields. Unknown fields are not caught.
// Usage: node deploy/validate-manifests.mjs FILE.yaml...   (exit 1 on any error)
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const nodeDir = path.join(process.env.MLOPS_TOOLS_DIR ?? path.join(root, ".local/tools"), "node");
const YAML = createRequire(path.join(nodeDir, "package.json"))("yaml");
const load = (pkg) => import(pathToFileURL(path.join(nodeDir, "node_modules", pkg, "index.js")).href);
const groups = { ...(await load("kubernetes-models")), ...(await load("@kubernetes-models/prometheus-operator")) };

let count = 0, errors = 0;
for (const file of process.argv.slice(2)) {
  const before = count;
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (doc.errors.length) { console.error(`${file}: ${doc.errors[0].message}`); errors++; continue; }
    const obj = doc.toJS();
    if (obj == null) continue;
    const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
    const ns = group === "" ? "v1" : group.replace(/\.(\w)/g, (_, c) => c.toUpperCase());
    const Model = group === "" ? groups.v1?.[obj.kind] : groups[ns]?.[version]?.[obj.kind];
    const where = `${path.basename(file)}: ${obj.kind}/${obj.metadata?.name}`;
    if (!Model) { console.error(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`); errors++; continue; }
    try { new Model(obj).validate(); count++; } catch (e) { console.error(`${where}: ${e.message}`); errors++; }
  }
  console.log(`${file}: ${count - before} objects valid`);
}
console.log(`${count} objects valid, ${errors} invalid`);
process.exit(errors || count === 0 ? 1 : 0);
