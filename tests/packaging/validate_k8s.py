#!/usr/bin/python3
"""Validates every object of Kubernetes manifests against the API's own types, offline: the
model classes of Debian's python3-kubernetes (generated from the API's OpenAPI schema) give
each field's name and type. Unknown fields, wrong types and missing required fields fail,
naming where; so do a pod or container without a seccomp profile, a privileged container and
an RBAC rule granting nodes/proxy. Ends "N passed, N failed"; exits 1 if any object is
invalid."""
import datetime
import re
import sys

import yaml
from kubernetes import client

ALIASES = {  # apiVersion -> the model classes' version prefix
    "v1": "V1",
    "apps/v1": "V1",
    "rbac.authorization.k8s.io/v1": "V1",
    "policy/v1": "V1",
    "scheduling.k8s.io/v1": "V1",
}
PRIMITIVE = {"str": str, "int": int, "float": (int, float), "bool": bool}


def model_class(name):
    return getattr(client.models, name, None)


def check(value, typ, where, problems):
    """Appends to problems each way value does not fit the OpenAPI type string typ."""
    if value is None:
        return
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            problems.append("%s: want a list, got %s" % (where, type(value).__name__))
            return
        for i, v in enumerate(value):
            check(v, m.group(1), "%s[%d]" % (where, i), problems)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            problems.append("%s: want a mapping, got %s" % (where, type(value).__name__))
            return
        for k, v in value.items():
            check(v, m.group(1), "%s.%s" % (where, k), problems)
        return
    if typ == "object":  # IntOrString, Quantity, RawExtension: any scalar or mapping
        return
    if typ == "datetime":
        if not isinstance(value, (str, datetime.datetime)):
            problems.append("%s: want a timestamp" % where)
        return
    if typ in PRIMITIVE:
        # YAML booleans are not ints here, though Python says True is an int
        ok = isinstance(value, PRIMITIVE[typ]) and not (typ != "bool" and isinstance(value, bool))
        if not ok:
            problems.append("%s: want %s, got %r" % (where, typ, value))
        return
    cls = model_class(typ)
    if cls is None:
        problems.append("%s: unknown type %s" % (where, typ))
        return
    if not isinstance(value, dict):
        problems.append("%s: want a %s mapping, got %r" % (where, typ, value))
        return
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for key, v in value.items():
        attr = by_json.get(key)
        if attr is None:
            problems.append("%s: unknown field %r of %s" % (where, key, typ))
            continue
        check(v, cls.openapi_types[attr], "%s.%s" % (where, key), problems)


def required(doc, typ, problems):
    """The generated models refuse a missing required field when built: build the object."""
    try:
        client.ApiClient()._ApiClient__deserialize(doc, typ)
    except (ValueError, TypeError) as e:
        problems.append("%s: %s" % (typ, e))


def validate(doc):
    prefix = ALIASES.get(doc.get("apiVersion"))
    typ = prefix and prefix + str(doc.get("kind"))
    if not typ or not model_class(typ):
        return ["unknown apiVersion/kind %s %s" % (doc.get("apiVersion"), doc.get("kind"))]
    problems = []
    check(doc, typ, doc.get("kind"), problems)
    if not problems:
        required(doc, typ, problems)
    return problems


def workloads(doc):
    """The pod templates of a workload (DaemonSet, Deployment...) or a Pod's own spec."""
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        return [spec]
    tpl = (spec.get("template") or {}).get("spec")
    return [tpl] if tpl else []


def hardening(doc):
    """What the security model asks of every manifest: a seccomp profile on every pod and
    container (RuntimeDefault or Localhost, never Unconfined or unset), no privileged
    container, and no RBAC rule granting nodes/proxy (a kubelet's whole API)."""
    problems = []
    for pod in workloads(doc):
        pod_sc = ((pod.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            sc = c.get("securityContext") or {}
            typ = (sc.get("seccompProfile") or {}).get("type") or pod_sc
            if typ not in ("RuntimeDefault", "Localhost"):
                problems.append("container %s: seccompProfile %s, want RuntimeDefault" %
                                (c.get("name"), typ))
            if sc.get("privileged"):
                problems.append("container %s is privileged" % c.get("name"))
    for i, rule in enumerate(doc.get("rules") or []):
        if doc.get("kind") in ("ClusterRole", "Role") and "nodes/proxy" in rule.get(
                "resources", []):
            problems.append("rules[%d] grants nodes/proxy" % i)
    return problems


def main(paths):
    passed = failed = 0
    for path in paths:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            what = "%s: %s/%s" % (path, doc.get("kind"), (doc.get("metadata") or {}).get("name"))
            problems = validate(doc) + hardening(doc)
            if problems:
                failed += 1
                print("not ok - %s: %s" % (what, "; ".join(problems)))
            else:
                passed += 1
                print("ok - " + what)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
