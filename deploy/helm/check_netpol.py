"""What the chart's NetworkPolicies let through, evaluated on a rendering with netpol.py (the
Kubernetes semantics): every connection a component is configured to open (each address in
its environment, resolved through the Services to a pod and port; DNS; the runner to the API
server) must be allowed, and every other connection to a pod of the release must be denied:
the chart's own pods, a simulation pod as the runner creates it, and strangers in the
release, simulation and other namespaces all try every port. Run by check_rendered.py when
the values turn the policies on."""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from netpol import NAMESPACE_NAME_LABEL, Pod, Target, allowed, selects
from rendering import COMPONENT_LABEL, Obj, Rendering, key_ref

from simlab.common.settings import Env
from simlab.v1 import simulation_pb2 as pb
from simlab_runner.core.manifests import indexed_job
from simlab_runner.settings import kube_settings

# host:port in a URL or an address, e.g. postgresql://u:pw@simlab-postgresql.ns.svc:5432/db
ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]*@)?([a-z0-9][a-z0-9.-]*):(\d+)")

# An address outside every CIDR a test would use (TEST-NET-3), standing for "anywhere".
ANYWHERE = "203.0.113.7"

# The API server's address when networkPolicy.apiServerCIDR is empty (kubeadm's default).
DEFAULT_API_SERVER = "10.96.0.1"

# The port a pod that listens on nothing (the runner) is tried on.
ANY_PORT = 8080


@dataclass(frozen=True)
class External:
    """A dependency outside the cluster, and how a component's configuration names it: by a
    key of the user's Secret, or by its host in a URL."""

    name: str
    target: Target
    fenced: bool  # a CIDR is given, so nothing but its egress rule reaches it
    secret: tuple[str, str] | None = None
    host: str | None = None


def first_address(cidr: str) -> str:
    """The address that stands for a CIDR given in the values."""
    return str(ipaddress.ip_network(cidr)[0])


def external_endpoints(values: Obj) -> list[External]:
    out = []

    def add(name: str, section: Obj, secret: tuple[str, str] | None, url: str = "") -> None:
        cidr = section.get("cidr") or ""
        ip = first_address(cidr) if cidr else ANYWHERE
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
    refs = {}
    for c in spec["containers"]:
        for e in c.get("env", []):
            match key_ref(e):
                case ("Secret", ref):
                    refs[e["name"]] = (ref["name"], ref["key"])
    return refs


def workload_config(spec: Obj, rendering: Rendering) -> dict[str, str]:
    """What a pod's containers are configured with: env values, and the ConfigMap and Secret
    data they read, by variable name."""

    def data(kind: str, name: str) -> dict[str, str]:
        d = rendering.named(kind, name)
        if d is None:
            return {}  # an existing Secret of the user's: not rendered
        out = dict(d.get("stringData") or {})
        for k, v in (d.get("data") or {}).items():
            out[k] = base64.b64decode(v).decode() if kind == "Secret" else v
        return out

    config: dict[str, str] = {}
    for c in spec["containers"]:
        for src in c.get("envFrom", []):
            if "configMapRef" in src:
                config.update(data("ConfigMap", src["configMapRef"]["name"]))
            if "secretRef" in src:
                config.update(data("Secret", src["secretRef"]["name"]))
        for e in c.get("env", []):
            if "value" in e:
                config[e["name"]] = str(e["value"])
            elif found := key_ref(e):
                kind, ref = found
                value = data(kind, ref["name"]).get(ref["key"])
                if value is not None:
                    config[e["name"]] = value
    return config


@dataclass(frozen=True)
class Cluster:
    """Everyone the policies are tried with, as they see them."""

    pods: list[Pod]  # the chart's own
    worker: Pod  # a simulation pod as the runner creates it
    config: dict[str, dict[str, str]]  # pod name -> the variables it starts with
    secrets: dict[str, dict[str, tuple[str, str]]]  # pod name -> variable -> (Secret, key)
    peers: list[Pod]  # one for each entry of gateway.ingressFrom
    strangers: list[Pod]  # pods of no one's in the release, simulation and other namespaces
    namespace_labels: dict[str, dict[str, str]]
    api_server: Target
    externals: list[External]

    @property
    def own(self) -> list[Pod]:
        """The release's pods: the chart's and the simulations'."""
        return [*self.pods, self.worker]

    @property
    def public(self) -> list[Target]:
        """The gateway's ports."""
        gateway = next(pod for pod in self.pods if pod.name == "gateway")
        return [Target(port, pod=gateway) for port in gateway.ports.values()]


def chart_pod(obj: Obj, template: Obj) -> Pod:
    """The pod an object of the chart runs: its component, namespace, labels and ports."""
    labels = template["metadata"]["labels"]
    ports = {
        port.get("name", str(port["containerPort"])): port["containerPort"]
        for c in template["spec"]["containers"]
        for port in c.get("ports", [])
    }
    return Pod(labels[COMPONENT_LABEL], obj["metadata"]["namespace"], labels, ports)


def ingress_peers(
    ingress_from: list[Obj], release_ns: str
) -> tuple[list[Pod], dict[str, dict[str, str]]]:
    """A pod for each gateway.ingressFrom entry, and the labels of the namespaces they are in
    (each namespaceSelector's own, in a namespace of its name when it gives one)."""
    peers: list[Pod] = []
    namespace_labels: dict[str, dict[str, str]] = {}
    for i, peer in enumerate(ingress_from):
        ns_labels = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
        ns = ns_labels.get(NAMESPACE_NAME_LABEL, f"ingress-{i}" if ns_labels else release_ns)
        namespace_labels[ns] = ns_labels
        pod_labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
        peers.append(Pod(f"ingress peer {i}", ns, pod_labels))
    return peers, namespace_labels


def simulation_job(runner_env: dict[str, str], kind: pb.JobKind = pb.JOB_KIND_RUN) -> Obj:
    """The Kubernetes Job the runner with these settings creates for a job of this kind."""
    return indexed_job(
        pb.Job(job_id="0" * 16, model="pi", shards=1, kind=kind),
        kube_settings(Env("SIMLAB_RUNNER", runner_env)),
    )


def simulation_pod(rendering: Rendering, runner_env: dict[str, str]) -> tuple[Pod, dict[str, str]]:
    """A simulation pod as the runner with these settings creates it, and its configuration."""
    job = simulation_job(runner_env)
    template = job["spec"]["template"]
    worker = Pod("simulation", job["metadata"]["namespace"], template["metadata"]["labels"])
    return worker, workload_config(template["spec"], rendering)


def cluster(rendering: Rendering) -> Cluster:
    np = rendering.values["networkPolicy"]
    pods: list[Pod] = []
    config: dict[str, dict[str, str]] = {}
    secrets: dict[str, dict[str, tuple[str, str]]] = {}
    for obj, template in rendering.workloads():
        pod = chart_pod(obj, template)
        pods.append(pod)
        config[pod.name] = workload_config(template["spec"], rendering)
        secrets[pod.name] = secret_refs(template["spec"])
    pg = rendering.values["postgresql"]
    if pg["enabled"] and pg["existingSecret"]:
        # The bundled database's URL is in a Secret of the user's: at the address the values
        # document for it.
        service = rendering.component("Service", "postgresql")
        assert service is not None
        url = f"postgresql://{pg['username']}@{service['metadata']['name']}:5432/{pg['database']}"
        config["jobstore"].setdefault("SIMLAB_JOBSTORE_DATABASE_URL", url)
    worker, config_of_worker = simulation_pod(rendering, config["runner"])
    config[worker.name] = config_of_worker
    # The runner's own addresses are its; those for workers are the worker's.
    config["runner"] = {k: v for k, v in config["runner"].items() if "_WORKER_" not in k}

    release_ns = rendering.of_kind("Deployment")[0]["metadata"]["namespace"]
    strangers = [
        Pod("a stranger in the release namespace", release_ns, {"app": "other"}),
        Pod("a stranger in the simulation namespace", worker.namespace, {"app": "other"}),
        Pod("a stranger in another namespace", "elsewhere", {"app": "other"}),
    ]
    peers, namespace_labels = ingress_peers(np["gatewayIngressFrom"], release_ns)
    return Cluster(
        pods=pods,
        worker=worker,
        config=config,
        secrets=secrets,
        peers=peers,
        strangers=[*strangers, *peers],
        namespace_labels=namespace_labels,
        api_server=Target(
            np["apiServerPort"], ip=first_address(np["apiServerCIDR"] or DEFAULT_API_SERVER)
        ),
        externals=external_endpoints(rendering.values),
    )


class Misrouted(Exception):
    """A Service's targetPort is no port of the pod it selects."""


def resolve(
    rendering: Rendering, pods: list[Pod], host: str, port: int, from_ns: str
) -> Target | None:
    """An address as a Service name (short, or with its namespace) -> the pod's port; None
    when it names no Service of the rendering."""
    name, _, rest = host.partition(".")
    ns = rest.split(".")[0] if rest else from_ns
    svc = rendering.named("Service", name, ns)
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
        raise Misrouted(f"Service {name}: targetPort {target_port} not a port of {pod.name}")
    return Target(number, service_port.get("protocol", "TCP"), pod=pod)


# (source pod, target) -> (target, why the source needs it)
Needs = dict[tuple[str, str], tuple[Target, str]]


def needed_connections(rendering: Rendering, c: Cluster) -> tuple[Needs, list[str]]:
    """What each pod is configured to reach, and why; and the addresses that resolve to no
    port."""
    needed: Needs = {}
    problems: list[str] = []

    def need(source_name: str, target: Target, why: str) -> None:
        needed[(source_name, str(target))] = (target, why)

    namespaces = {pod.name: pod.namespace for pod in c.own}
    for source_name, env in c.config.items():
        for key, value in env.items():
            for host, port in ADDRESS.findall(value):
                try:
                    resolved = resolve(rendering, c.pods, host, int(port), namespaces[source_name])
                except Misrouted as error:
                    problems.append(str(error))
                    continue
                if resolved is not None:
                    need(source_name, resolved, key)
    for ext in c.externals:
        for source_name, env in c.config.items():
            for key, value in env.items():
                if ext.host and ext.host in value:
                    need(source_name, ext.target, f"{ext.name} ({key})")
            for key, ref in c.secrets.get(source_name, {}).items():
                if ref == ext.secret:
                    need(source_name, ext.target, f"{ext.name} ({key})")
    if rendering.values["networkPolicy"]["allowDNS"]:
        dns = Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
        for pod in c.own:
            for protocol in ("UDP", "TCP"):
                need(pod.name, Target(53, protocol, pod=dns), "DNS")
    need("runner", c.api_server, "the Kubernetes API")
    for peer in c.peers:
        for target in c.public:
            need(peer.name, target, "gateway.ingressFrom")
    return needed, problems


def unneeded_connections(
    c: Cluster, needed: Needs, gateway_open: bool
) -> Iterator[tuple[Pod, Target, str]]:
    """Every other connection to the release's pods, the API server and the fenced external
    dependencies, with what to say if it passes. The gateway's ports are everyone's when
    `gateway_open` (no ingressFrom is set)."""
    public = c.public
    for source in [*c.own, *c.strangers]:
        for dest in c.own:
            for port in dest.ports.values() or [ANY_PORT]:
                target = Target(port, pod=dest)
                if (source.name, str(target)) in needed or (gateway_open and target in public):
                    continue
                yield (
                    source,
                    target,
                    f"NetworkPolicy lets {source.name} -> {target} through, not needed",
                )
        if source not in c.own:
            continue
        if source.name != "runner":
            yield source, c.api_server, f"NetworkPolicy lets {source.name} reach the Kubernetes API"
        for ext in c.externals:
            if ext.fenced and (source.name, str(ext.target)) not in needed:
                yield (
                    source,
                    ext.target,
                    f"NetworkPolicy lets {source.name} reach {ext.name}, not needed",
                )


@dataclass(frozen=True)
class Evaluation:
    problems: list[str]
    needed: int
    tried: int  # connections that must be denied

    def __str__(self) -> str:
        return f"NetworkPolicies: {self.needed} needed connections, {self.tried} others tried"


def check_network_policies(rendering: Rendering) -> Evaluation:
    """Every needed connection the policies block, and every other one they let through."""
    policies = rendering.of_kind("NetworkPolicy")
    c = cluster(rendering)
    needed, problems = needed_connections(rendering, c)

    def passes(source: Pod, target: Target) -> bool:
        return allowed(policies, source, target, c.namespace_labels)

    sources = {pod.name: pod for pod in [*c.own, *c.peers]}
    for (source_name, target_name), (target, why) in sorted(needed.items(), key=lambda n: n[0]):
        if not passes(sources[source_name], target):
            problems.append(
                f"NetworkPolicy blocks {source_name} -> {target_name}, needed for {why}"
            )
    gateway_open = not rendering.values["networkPolicy"]["gatewayIngressFrom"]
    tried = list(unneeded_connections(c, needed, gateway_open))
    problems += [message for source, target, message in tried if passes(source, target)]
    return Evaluation(problems, len(needed), len(tried))
