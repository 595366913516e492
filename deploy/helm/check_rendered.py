"""Checks a `helm template` rendering of deploy/helm/simlab: every document is valid YAML and
a Kubernetes object; the expected kinds are there for the values used; every pod passes Pod
Security `restricted` and has resources and a /tmp emptyDir; probes, checksum annotations,
references to ConfigMaps and Secrets, the runner's settings and its Role (the same rules as
runner_rbac() in simlab.devstack.kube), and a `helm test` run the gateway accepts.

With NetworkPolicies on, it also evaluates them (netpol.py, the Kubernetes semantics): every
connection a component is configured to open (each address in its environment, resolved
through the Services to a pod and port; DNS; the runner to the API server) must be allowed,
and every other connection to a pod of the release must be denied: the chart's own pods, a
simulation pod as the runner creates it, and strangers in the release, simulation and other
namespaces all try every port.

    check_rendered.py RENDERED.yaml [--values CI-VALUES.yaml]

The API server's own validation is `make helm-validate` (server-side dry run).
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from netpol import NAMESPACE_NAME_LABEL, Pod, Target, allowed, selects

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/simlab"

Obj = dict[str, Any]


class Problems(list[str]):
    def check(self, ok: object, message: str) -> None:
        if not ok:
            self.append(message)


def merged_values(values_file: Path | None) -> Obj:
    def merge(base: Obj, over: Obj) -> Obj:
        out = dict(base)
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    if values_file is not None:
        values = merge(values, yaml.safe_load(values_file.read_text()) or {})
    return values


def pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] == "Pod":
        return obj["spec"]
    if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return obj["spec"]["template"]["spec"]
    return None


def check_pod(name: str, spec: Obj, p: Problems) -> None:
    psc = spec.get("securityContext") or {}
    p.check(psc.get("runAsNonRoot") is True, f"{name}: pod securityContext.runAsNonRoot")
    p.check(
        (psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
        f"{name}: seccompProfile RuntimeDefault",
    )
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        p.check(not spec.get(key), f"{name}: {key}")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    p.check(not any("hostPath" in v for v in volumes.values()), f"{name}: no hostPath volumes")
    for c in spec.get("initContainers", []) + spec["containers"]:
        where = f"{name}/{c['name']}"
        sc = c.get("securityContext") or {}
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        p.check(isinstance(uid, int) and uid > 0, f"{where}: numeric non-root runAsUser")
        p.check(sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation")
        p.check(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
        p.check((sc.get("capabilities") or {}).get("drop") == ["ALL"], f"{where}: drop ALL")
        p.check(not sc.get("privileged"), f"{where}: not privileged")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                p.check((res.get(kind) or {}).get(r), f"{where}: resources.{kind}.{r}")
        tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        p.check(tmp and "emptyDir" in volumes.get(tmp[0]["name"], {}), f"{where}: /tmp emptyDir")
        p.check(":" in c["image"], f"{where}: image with a tag")


def env_of(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env", [])}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("rendered", type=Path)
    parser.add_argument("--values", type=Path)
    args = parser.parse_args()
    values = merged_values(args.values)
    p = Problems()

    try:
        docs = [d for d in yaml.safe_load_all(args.rendered.read_text()) if d is not None]
    except yaml.YAMLError as error:
        print(f"{args.rendered}: not valid YAML: {error}")
        return 1
    for i, d in enumerate(docs):
        p.check(
            isinstance(d, dict)
            and d.get("apiVersion")
            and d.get("kind")
            and (d.get("metadata") or {}).get("name"),
            f"document {i}: not a Kubernetes object (apiVersion, kind, metadata.name)",
        )
    if p:
        print("\n".join(p))
        return 1

    ns_default = "simlab"
    keys = Counter(
        (d["kind"], d["metadata"].get("namespace", ns_default), d["metadata"]["name"]) for d in docs
    )
    for object_key, n in keys.items():
        p.check(n == 1, f"{object_key} rendered {n} times")

    by_kind: dict[str, list[Obj]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    kinds = Counter(d["kind"] for d in docs)

    def component(kind: str, comp: str) -> Obj | None:
        for d in by_kind.get(kind, []):
            if d["metadata"]["labels"].get("app.kubernetes.io/component") == comp:
                return d
        return None

    # Expected objects for these values.
    deps = [n for n in ("postgresql", "nats", "minio") if values[n]["enabled"]]
    for comp in ("gateway", "jobstore", "runner"):
        p.check(component("Deployment", comp), f"Deployment {comp} missing")
        p.check(component("ConfigMap", comp), f"ConfigMap {comp} missing")
    for comp in ("gateway", "jobstore", *deps):
        p.check(component("Service", comp), f"Service {comp} missing")
    for comp in deps:
        p.check(component("StatefulSet", comp), f"StatefulSet {comp} missing")
    for kind in ("ServiceAccount", "Role", "RoleBinding", "Secret"):
        p.check(kinds[kind] >= 1, f"no {kind}")
    p.check(
        kinds["StatefulSet"] == len(deps),
        f"{kinds['StatefulSet']} StatefulSets, expected {len(deps)}",
    )
    tests = [
        d
        for d in by_kind.get("Pod", [])
        if d["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
    ]
    p.check(len(tests) == 1, "one helm test hook Pod")
    if values["networkPolicy"]["enabled"]:
        p.check(kinds["NetworkPolicy"] >= 6, "NetworkPolicies missing")
        p.check(
            any(d["metadata"]["name"].endswith("-default-deny") for d in by_kind["NetworkPolicy"]),
            "default-deny NetworkPolicy missing",
        )
    else:
        p.check(kinds["NetworkPolicy"] == 0, "NetworkPolicies rendered while disabled")
    allowed = {
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "StatefulSet",
        "Pod",
        "NetworkPolicy",
    }
    p.check(set(kinds) <= allowed, f"unexpected kinds {sorted(set(kinds) - allowed)}")

    # Pods: Pod Security restricted, resources, /tmp.
    for d in docs:
        spec = pod_spec(d)
        if spec is not None:
            check_pod(f"{d['kind']}/{d['metadata']['name']}", spec, p)

    # References to ConfigMaps and Secrets resolve (to the rendering or a declared Secret).
    configmaps = {d["metadata"]["name"] for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"] for d in by_kind.get("Secret", [])}
    secrets |= {
        s
        for s in (
            values["auth"]["existingSecret"],
            values["gateway"]["existingTokensSecret"],
            values["postgresql"]["external"]["existingSecret"],
            values["nats"]["external"]["existingSecret"],
            values["objectStore"]["external"]["existingSecret"],
        )
        if s
    }
    for d in docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        for c in spec["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    p.check(
                        ref["secretKeyRef"]["name"] in secrets,
                        f"{c['name']}: Secret {ref['secretKeyRef']['name']} unknown",
                    )
                if "configMapKeyRef" in ref:
                    p.check(
                        ref["configMapKeyRef"]["name"] in configmaps,
                        f"{c['name']}: ConfigMap unknown",
                    )
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    p.check(
                        src["configMapRef"]["name"] in configmaps,
                        f"{c['name']}: ConfigMap {src['configMapRef']['name']} unknown",
                    )
        for v in spec.get("volumes", []):
            if "secret" in v:
                p.check(
                    v["secret"]["secretName"] in secrets,
                    f"volume Secret {v['secret']['secretName']} unknown",
                )
            if "configMap" in v:
                p.check(
                    v["configMap"]["name"] in configmaps,
                    f"volume ConfigMap {v['configMap']['name']} unknown",
                )

    # Services: gRPC health probes, rolling on configuration changes, entrypoints.
    for comp in ("gateway", "jobstore", "runner"):
        dep = component("Deployment", comp)
        if dep is None:
            continue
        tpl = dep["spec"]["template"]
        c = tpl["spec"]["containers"][0]
        p.check(c["command"] == ["python", "-m", f"simlab_{comp}"], f"{comp}: command")
        ann = tpl["metadata"].get("annotations", {})
        p.check(
            "checksum/config" in ann and "checksum/secrets" in ann, f"{comp}: checksum annotations"
        )
        if comp != "runner":
            for probe in ("readinessProbe", "livenessProbe"):
                p.check("grpc" in (c.get(probe) or {}), f"{comp}: gRPC {probe}")
            p.check(
                tpl["spec"].get("automountServiceAccountToken") is False, f"{comp}: no API token"
            )

    # The runner: in-cluster config, its worker settings, its Role.
    runner = component("Deployment", "runner")
    cm = component("ConfigMap", "runner")
    if runner and cm:
        spec = runner["spec"]["template"]["spec"]
        env = {**cm["data"], **env_of(spec["containers"][0])}
        p.check(
            "SIMLAB_RUNNER_KUBECONFIG" not in env, "runner: KUBECONFIG must be unset (in-cluster)"
        )
        p.check(spec.get("automountServiceAccountToken") is True, "runner: needs its API token")
        p.check(env.get("SIMLAB_RUNNER_LAUNCHER") == "kubernetes", "runner: kubernetes launcher")
        worker = values["simulations"]["worker"]
        p.check(
            env.get("SIMLAB_RUNNER_WORKER_IMAGE") == f"{worker['repository']}:{worker['tag']}",
            "runner: SIMLAB_RUNNER_WORKER_IMAGE",
        )
        p.check(
            ".svc." in env.get("SIMLAB_RUNNER_WORKER_JOBSTORE", ""),
            "runner: WORKER_JOBSTORE is the Service FQDN",
        )
        for key in (
            "JOBSTORE",
            "K8S_NAMESPACE",
            "CPU_REQUEST",
            "MEMORY_REQUEST",
            "CPU_LIMIT",
            "MEMORY_LIMIT",
            "NATS_URL",
            "SERVICE_TOKEN",
            "JOB_TOKEN_SECRET",
        ):
            p.check(f"SIMLAB_RUNNER_{key}" in env, f"runner: SIMLAB_RUNNER_{key} missing")
        sim_ns = str(env.get("SIMLAB_RUNNER_K8S_NAMESPACE"))
        account = spec.get("serviceAccountName")
        role = next((r for r in by_kind.get("Role", []) if r["metadata"]["name"] == account), None)
        binding = next(
            (r for r in by_kind.get("RoleBinding", []) if r["metadata"]["name"] == account), None
        )
        p.check(
            role and role["metadata"].get("namespace") == sim_ns,
            "runner: Role in the simulation namespace",
        )
        p.check(
            binding
            and binding["metadata"].get("namespace") == sim_ns
            and binding["subjects"][0]["name"] == account,
            "runner: RoleBinding to its ServiceAccount in the simulation namespace",
        )
        try:
            sys.path.insert(0, str(ROOT / "services/runner/src"))
            from simlab.devstack.kube import runner_rbac
        except ImportError as error:
            p.append(f"cannot import runner_rbac: {error}")
        else:
            expected = next(o for o in runner_rbac(sim_ns) if o["kind"] == "Role")["rules"]
            p.check(
                role and role["rules"] == expected,
                f"runner Role rules differ from runner_rbac(): {role and role['rules']}",
            )

    # The `helm test` run is one the gateway accepts (model, parameters, shards vs blocks).
    try:
        sys.path.insert(0, str(ROOT / "services/gateway/src"))
        from simlab.models.registry import catalogue
        from simlab_gateway.core.submission import plan_job

        t = values["tests"]
        plan_job(
            catalogue(),
            values["gateway"]["maxShards"],
            t["model"],
            t["parameters"],
            1,
            t["shards"],
            "helm-test",
        )
    except ImportError as error:
        p.append(f"cannot import the gateway's plan_job: {error}")
    except Exception as error:  # the gateway's own INVALID_ARGUMENT
        p.append(f"tests: the gateway would refuse the test run: {error}")

    evaluated = ""
    if values["networkPolicy"]["enabled"]:
        evaluated = "; " + check_network_policies(docs, values, p)

    name = args.rendered.name
    if p:
        print(f"   check: {name}: {len(p)} problem(s)")
        for problem in p:
            print(f"     - {problem}")
        return 1
    summary = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    print(f"   check: {name}: {len(docs)} objects OK ({summary}){evaluated}")
    return 0


# host:port in a URL or an address, e.g. postgresql://u:pw@simlab-postgresql.ns.svc:5432/db
ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]*@)?([a-z0-9][a-z0-9.-]*):(\d+)")


@dataclass(frozen=True)
class External:
    """A dependency outside the cluster, and how a component's configuration names it: by a
    key of the user's Secret, or by its host in a URL."""

    name: str
    target: Target
    fenced: bool  # a CIDR is given, so nothing but its egress rule reaches it
    secret: tuple[str, str] | None = None
    host: str | None = None


# An address outside every CIDR a test would use (TEST-NET-3), standing for "anywhere".
ANYWHERE = "203.0.113.7"


def external_endpoints(values: Obj) -> list[External]:
    out = []

    def add(name: str, section: Obj, secret: tuple[str, str] | None, url: str = "") -> None:
        cidr = section.get("cidr") or ""
        ip = str(ipaddress.ip_network(cidr)[0]) if cidr else ANYWHERE
        target = Target(int(section["port"]), ip=ip)
        out.append(External(name, target, bool(cidr), secret, urlsplit(url).hostname))

    if not values["postgresql"]["enabled"]:
        pg = values["postgresql"]["external"]
        add("postgresql.external", pg, (pg["existingSecret"], pg["urlKey"]))
    if not values["nats"]["enabled"]:
        nats = values["nats"]["external"]
        secret = (nats["existingSecret"], nats["urlKey"]) if nats["existingSecret"] else None
        add("nats.external", nats, secret, nats["url"])
    if not values["minio"]["enabled"]:
        store = values["objectStore"]["external"]
        add("objectStore.external", store, None, store["endpoint"])
    return out


def secret_refs(spec: Obj) -> dict[str, tuple[str, str]]:
    """Variables a pod takes from Secrets: name -> (Secret, key)."""
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for c in spec["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def workload_config(spec: Obj, docs: list[Obj]) -> dict[str, str]:
    """What a pod's containers are configured with: env values, and the ConfigMap and Secret
    data they read, by variable name."""

    def data(kind: str, name: str) -> dict[str, str]:
        for d in docs:
            if d["kind"] == kind and d["metadata"]["name"] == name:
                out = dict(d.get("stringData") or {})
                for k, v in (d.get("data") or {}).items():
                    out[k] = base64.b64decode(v).decode() if kind == "Secret" else v
                return out
        return {}  # an existing Secret of the user's: not rendered

    config: dict[str, str] = {}
    for c in spec["containers"]:
        for src in c.get("envFrom", []):
            if "configMapRef" in src:
                config.update(data("ConfigMap", src["configMapRef"]["name"]))
            if "secretRef" in src:
                config.update(data("Secret", src["secretRef"]["name"]))
        for e in c.get("env", []):
            ref = e.get("valueFrom", {})
            if "value" in e:
                config[e["name"]] = str(e["value"])
            elif "configMapKeyRef" in ref or "secretKeyRef" in ref:
                kind, r = (
                    ("ConfigMap", ref["configMapKeyRef"])
                    if "configMapKeyRef" in ref
                    else ("Secret", ref["secretKeyRef"])
                )
                value = data(kind, r["name"]).get(r["key"])
                if value is not None:
                    config[e["name"]] = value
    return config


def check_network_policies(docs: list[Obj], values: Obj, p: Problems) -> str:
    """Appends what the policies get wrong to `p`; returns how much was evaluated."""
    from simlab.common.settings import Env
    from simlab.v1 import simulation_pb2 as pb
    from simlab_runner.core.manifests import indexed_job
    from simlab_runner.settings import kube_settings

    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    release_ns = next(d["metadata"]["namespace"] for d in docs if d["kind"] == "Deployment")

    # The chart's pods, and the configuration each one is started with.
    pods: list[Pod] = []
    config: dict[str, dict[str, str]] = {}
    secrets: dict[str, dict[str, tuple[str, str]]] = {}
    for d in docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        meta = d["metadata"] if d["kind"] == "Pod" else d["spec"]["template"]["metadata"]
        ports = {
            port.get("name", str(port["containerPort"])): port["containerPort"]
            for c in spec["containers"]
            for port in c.get("ports", [])
        }
        pod = Pod(
            meta["labels"]["app.kubernetes.io/component"],
            d["metadata"]["namespace"],
            meta["labels"],
            ports,
        )
        pods.append(pod)
        config[pod.name] = workload_config(spec, docs)
        secrets[pod.name] = secret_refs(spec)
    # The runner's own addresses are its; those for workers are the worker's.
    runner_env = config["runner"]
    config["runner"] = {k: v for k, v in runner_env.items() if "_WORKER_" not in k}
    job = indexed_job(
        pb.Job(job_id="0" * 16, model="pi", shards=1),
        kube_settings(Env("SIMLAB_RUNNER", runner_env)),
    )
    template = job["spec"]["template"]
    worker = Pod("simulation", job["metadata"]["namespace"], template["metadata"]["labels"])
    config[worker.name] = workload_config(template["spec"], docs)
    sim_ns = worker.namespace

    def resolve(host: str, port: int, from_ns: str) -> Target | None:
        """An address as a Service name (short, or with its namespace) -> the pod's port."""
        name, _, rest = host.partition(".")
        ns = rest.split(".")[0] if rest else from_ns
        svc = next(
            (
                d
                for d in docs
                if d["kind"] == "Service"
                and (d["metadata"]["name"], d["metadata"]["namespace"]) == (name, ns)
            ),
            None,
        )
        if svc is None:
            return None
        service_port = next((sp for sp in svc["spec"]["ports"] if sp["port"] == port), None)
        selector = {"matchLabels": svc["spec"]["selector"]}
        pod = next((q for q in pods if q.namespace == ns and selects(selector, q.labels)), None)
        if service_port is None or pod is None:
            return None
        target_port = service_port.get("targetPort", port)
        number = pod.ports.get(target_port) if isinstance(target_port, str) else target_port
        if number is None:
            p.append(f"Service {name}: targetPort {target_port} not a port of {pod.name}")
            return None
        return Target(number, service_port.get("protocol", "TCP"), pod=pod)

    # What each pod is configured to reach, and why: (source, target) -> (target, reason).
    np = values["networkPolicy"]
    needed: dict[tuple[str, str], tuple[Target, str]] = {}

    def need(source_name: str, target: Target, why: str) -> None:
        needed[(source_name, str(target))] = (target, why)

    sources = {pod.name: pod for pod in [*pods, worker]}
    for source_name, env in config.items():
        for key, value in env.items():
            for host, port in ADDRESS.findall(value):
                resolved = resolve(host, int(port), sources[source_name].namespace)
                if resolved is not None:
                    need(source_name, resolved, key)
    externals = external_endpoints(values)
    for ext in externals:
        for source_name, env in config.items():
            for key, value in env.items():
                if ext.host and ext.host in value:
                    need(source_name, ext.target, f"{ext.name} ({key})")
            for key, ref in secrets.get(source_name, {}).items():
                if ref == ext.secret:
                    need(source_name, ext.target, f"{ext.name} ({key})")
    if np["allowDNS"]:
        dns = Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
        for source_name in sources:
            for protocol in ("UDP", "TCP"):
                need(source_name, Target(53, protocol, pod=dns), "DNS")
    api_address = ipaddress.ip_network(np["apiServerCIDR"] or "10.96.0.1")[0]
    api_server = Target(np["apiServerPort"], ip=str(api_address))
    need("runner", api_server, "the Kubernetes API")

    # Who else is there: strangers, and the gateway's ingress peers.
    strangers = [
        Pod("a stranger in the release namespace", release_ns, {"app": "other"}),
        Pod("a stranger in the simulation namespace", sim_ns, {"app": "other"}),
        Pod("a stranger in another namespace", "elsewhere", {"app": "other"}),
    ]
    namespace_labels: dict[str, dict[str, str]] = {}
    gateway = next(pod for pod in pods if pod.name == "gateway")
    public = [Target(port, pod=gateway) for port in gateway.ports.values()]
    for i, peer in enumerate(np["gatewayIngressFrom"]):
        ns_labels = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
        ns = ns_labels.get(NAMESPACE_NAME_LABEL, f"ingress-{i}" if ns_labels else release_ns)
        namespace_labels[ns] = ns_labels
        pod_labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
        peer_pod = Pod(f"ingress peer {i}", ns, pod_labels)
        strangers.append(peer_pod)
        sources[peer_pod.name] = peer_pod
        for target in public:
            need(peer_pod.name, target, "gateway.ingressFrom")

    def passes(source: Pod, target: Target) -> bool:
        return allowed(policies, source, target, namespace_labels)

    for (source_name, target_name), (target, why) in sorted(needed.items(), key=lambda n: n[0]):
        if not passes(sources[source_name], target):
            p.append(f"NetworkPolicy blocks {source_name} -> {target_name}, needed for {why}")
    # Everything else is denied (the gateway's port is everyone's when no ingressFrom is set).
    destinations = [*pods, worker]
    others = 0
    for source in [*pods, worker, *strangers]:
        for dest in destinations:
            # A pod that listens on nothing (the runner) is tried on an arbitrary port.
            for port in dest.ports.values() or [8080]:
                target = Target(port, pod=dest)
                if (source.name, str(target)) in needed or (
                    not np["gatewayIngressFrom"] and target in public
                ):
                    continue
                others += 1
                if passes(source, target):
                    p.append(f"NetworkPolicy lets {source.name} -> {target} through, not needed")
        own = source in pods or source == worker
        if own and source.name != "runner":
            others += 1
            if passes(source, api_server):
                p.append(f"NetworkPolicy lets {source.name} reach the Kubernetes API")
        for ext in externals:
            if own and ext.fenced and (source.name, str(ext.target)) not in needed:
                others += 1
                if passes(source, ext.target):
                    p.append(f"NetworkPolicy lets {source.name} reach {ext.name}, not needed")
    return f"NetworkPolicies: {len(needed)} needed connections, {others} others tried"


if __name__ == "__main__":
    sys.exit(main())
