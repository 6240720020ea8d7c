// Validates every object of a Kubernetes manifest against the API schema, with the
// kubernetes-models package (npm): exits 1 naming each invalid object.
"use strict";
const fs = require("fs");
const yaml = require("js-yaml");

const groups = {
  v1: require("kubernetes-models/v1"),
  "apps/v1": require("kubernetes-models/apps/v1"),
  "rbac.authorization.k8s.io/v1": require("kubernetes-models/rbac.authorization.k8s.io/v1"),
};

let failed = 0, passed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc) continue;
    const what = `${file}: ${doc.kind}/${doc.metadata && doc.metadata.name}`;
    const group = groups[doc.apiVersion];
    const Model = group && group[doc.kind];
    if (!Model) {
      console.log(`not ok - ${what}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
      failed++;
      continue;
    }
    try {
      new Model(doc).validate();
      console.log(`ok - ${what}`);
      passed++;
    } catch (e) {
      console.log(`not ok - ${what}: ${e.message}`);
      failed++;
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
