"""Checks a `helm template` rendering of deploy/helm/simlab: every document is valid YAML and
a Kubernetes object; the expected kinds are there for the values used; every pod passes Pod
Security `restricted` and has resources and a /tmp emptyDir; probes, checksum annotations,
references to ConfigMaps and Secrets, the runner's settings and its Role (the same rules as
runner_rbac() in simlab.devstack.kube), simulation pods without object-store settings or
credentials, and a `helm test` run the gateway accepts.
With NetworkPolicies on, it also evaluates what they let through (check_netpol.py).

    check_rendered.py RENDERED.yaml [--values CI-VALUES.yaml]

Each check_* function yields what is wrong with one property of the rendering; CHECKS runs
them in order. The runner's and the gateway's code come from the installed project (the
venv). The API server's own validation is `make helm-validate` (server-side dry run).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from check_netpol import check_network_policies, simulation_job, workload_config
from rendering import NotARendering, Obj, Rendering, key_ref, merged_values, read_rendering

from simlab.devstack.kube import runner_rbac
from simlab.models.registry import catalogue
from simlab.v1 import simulation_pb2 as pb
from simlab_gateway.core.submission import Runnable, plan_job

SERVICES = ("gateway", "jobstore", "runner")
DEPENDENCIES = ("postgresql", "nats", "minio")
KNOWN_KINDS = {
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
    "ResourceQuota",
    "LimitRange",
}
# Objects without a namespace are counted in the release's.
DEFAULT_NAMESPACE = "simlab"
RUNNER_SETTINGS = (
    "JOBSTORE",
    "K8S_NAMESPACE",
    "CPU_REQUEST",
    "MEMORY_REQUEST",
    "CPU_LIMIT",
    "MEMORY_LIMIT",
    "NATS_URL",
    "SERVICE_TOKEN",
    "JOB_TOKEN_SECRET",
    "REGISTRATION_CPU_S",
    "MAX_WORKERS",
    "WORKER_TOKEN_TTL_S",
)
# The object-store credentials of the services, which no simulation pod may hold.
OBJECT_STORE_CREDENTIALS = ("SIMLAB_S3_ACCESS_KEY", "SIMLAB_S3_SECRET_KEY")
OBJECT_STORE_SETTINGS = ("SIMLAB_S3_ENDPOINT", "SIMLAB_S3_BUCKET", *OBJECT_STORE_CREDENTIALS)

# Verbs that read a Secret's data: the runner only writes its per-job token Secrets.
SECRET_READS = {"get", "list", "watch", "*"}

Check = Callable[[Rendering], Iterator[str]]


def check_unique(r: Rendering) -> Iterator[str]:
    keys = Counter(
        (d["kind"], d["metadata"].get("namespace", DEFAULT_NAMESPACE), d["metadata"]["name"])
        for d in r.docs
    )
    for key, n in keys.items():
        if n != 1:
            yield f"{key} rendered {n} times"


def bundled(values: Obj) -> list[str]:
    """The dependencies the chart runs itself for these values."""
    return [name for name in DEPENDENCIES if values[name]["enabled"]]


def check_expected_objects(r: Rendering) -> Iterator[str]:
    deps = bundled(r.values)
    for comp in SERVICES:
        for kind in ("Deployment", "ConfigMap"):
            if not r.component(kind, comp):
                yield f"{kind} {comp} missing"
    for comp in ("gateway", "jobstore", *deps):
        if not r.component("Service", comp):
            yield f"Service {comp} missing"
    for comp in deps:
        if not r.component("StatefulSet", comp):
            yield f"StatefulSet {comp} missing"
    # Secrets: every one may be the user's own (check_references finds those missing).
    for kind in ("ServiceAccount", "Role", "RoleBinding"):
        if r.kinds[kind] < 1:
            yield f"no {kind}"
    if r.kinds["StatefulSet"] != len(deps):
        yield f"{r.kinds['StatefulSet']} StatefulSets, expected {len(deps)}"


def check_helm_test_pod(r: Rendering) -> Iterator[str]:
    tests = [
        d
        for d in r.of_kind("Pod")
        if d["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
    ]
    if len(tests) != 1:
        yield "one helm test hook Pod"


def check_network_policy_objects(r: Rendering) -> Iterator[str]:
    """The policies are rendered when enabled, default-deny among them, and only then."""
    if not r.values["networkPolicy"]["enabled"]:
        if r.kinds["NetworkPolicy"] != 0:
            yield "NetworkPolicies rendered while disabled"
        return
    if r.kinds["NetworkPolicy"] < 6:
        yield "NetworkPolicies missing"
    names = [d["metadata"]["name"] for d in r.of_kind("NetworkPolicy")]
    if not any(name.endswith("-default-deny") for name in names):
        yield "default-deny NetworkPolicy missing"


def check_known_kinds(r: Rendering) -> Iterator[str]:
    if not set(r.kinds) <= KNOWN_KINDS:
        yield f"unexpected kinds {sorted(set(r.kinds) - KNOWN_KINDS)}"


def containers(r: Rendering) -> Iterator[tuple[str, Obj, Obj]]:
    """Every container (init containers first) of every pod: Kind/name/container, the
    container, and its pod's spec."""
    for obj, template in r.workloads():
        spec = template["spec"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            yield f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}", c, spec


def check_pod_security(r: Rendering) -> Iterator[str]:
    """Pod Security `restricted`, for the pod as a whole."""
    for obj, template in r.workloads():
        spec = template["spec"]
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        psc = spec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True:
            yield f"{name}: pod securityContext.runAsNonRoot"
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            yield f"{name}: seccompProfile RuntimeDefault"
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                yield f"{name}: {key}"
        if any("hostPath" in v for v in spec.get("volumes", [])):
            yield f"{name}: no hostPath volumes"


def check_container_security(r: Rendering) -> Iterator[str]:
    """Pod Security `restricted`, for each container."""
    for where, c, spec in containers(r):
        sc = c.get("securityContext") or {}
        uid = sc.get("runAsUser", (spec.get("securityContext") or {}).get("runAsUser"))
        if not (isinstance(uid, int) and uid > 0):
            yield f"{where}: numeric non-root runAsUser"
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation"
        if sc.get("readOnlyRootFilesystem") is not True:
            yield f"{where}: readOnlyRootFilesystem"
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
            yield f"{where}: drop ALL"
        if sc.get("privileged"):
            yield f"{where}: not privileged"


def check_resources(r: Rendering) -> Iterator[str]:
    for where, c, _ in containers(r):
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if not (res.get(kind) or {}).get(resource):
                    yield f"{where}: resources.{kind}.{resource}"


def check_tmp_empty_dir(r: Rendering) -> Iterator[str]:
    """A writable /tmp on the read-only root filesystem."""
    for where, c, spec in containers(r):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        if not (tmp and "emptyDir" in volumes.get(tmp[0]["name"], {})):
            yield f"{where}: /tmp emptyDir"


def check_image_tags(r: Rendering) -> Iterator[str]:
    for where, c, _ in containers(r):
        if ":" not in c["image"]:
            yield f"{where}: image with a tag"


def known_secrets(r: Rendering) -> set[str]:
    """The Secrets of the rendering and those the values say exist already."""
    values = r.values
    declared = (
        values["auth"]["existingSecret"],
        values["gateway"]["existingTokensSecret"],
        values["gateway"]["existingSessionSecret"],
        values["postgresql"]["existingSecret"],
        values["minio"]["existingSecret"],
        values["postgresql"]["external"]["existingSecret"],
        values["nats"]["external"]["existingSecret"],
        values["nats"]["auth"]["existingSecret"],
        values["objectStore"]["external"]["existingSecret"],
    )
    return r.names("Secret") | {s for s in declared if s}


def check_references(r: Rendering) -> Iterator[str]:
    """Every ConfigMap and Secret a pod reads is rendered (or a declared Secret)."""
    configmaps = r.names("ConfigMap")
    secrets = known_secrets(r)
    for _, template in r.workloads():
        spec = template["spec"]
        for c in spec["containers"]:
            for e in c.get("env", []):
                match key_ref(e):
                    case ("Secret", ref) if ref["name"] not in secrets:
                        yield f"{c['name']}: Secret {ref['name']} unknown"
                    case ("ConfigMap", ref) if ref["name"] not in configmaps:
                        yield f"{c['name']}: ConfigMap unknown"
            for src in c.get("envFrom", []):
                if "configMapRef" in src and src["configMapRef"]["name"] not in configmaps:
                    yield f"{c['name']}: ConfigMap {src['configMapRef']['name']} unknown"
        for v in spec.get("volumes", []):
            if "secret" in v and v["secret"]["secretName"] not in secrets:
                yield f"volume Secret {v['secret']['secretName']} unknown"
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                yield f"volume ConfigMap {v['configMap']['name']} unknown"


def service_pods(r: Rendering, services: tuple[str, ...] = SERVICES) -> Iterator[tuple[str, Obj]]:
    """The pod template of each of these services' Deployments that is rendered."""
    for comp in services:
        deployment = r.component("Deployment", comp)
        if deployment is not None:
            yield comp, deployment["spec"]["template"]


def check_entrypoints(r: Rendering) -> Iterator[str]:
    for comp, template in service_pods(r):
        if template["spec"]["containers"][0]["command"] != ["python", "-m", f"simlab_{comp}"]:
            yield f"{comp}: command"


def check_config_checksums(r: Rendering) -> Iterator[str]:
    """Checksums of the configuration in the pods, so that `helm upgrade` rolls them."""
    for comp, template in service_pods(r):
        annotations = template["metadata"].get("annotations", {})
        if not ("checksum/config" in annotations and "checksum/secrets" in annotations):
            yield f"{comp}: checksum annotations"


def check_grpc_servers(r: Rendering) -> Iterator[str]:
    """The gRPC servers are ready by their gRPC health and have no Kubernetes API token."""
    for comp, template in service_pods(r, ("gateway", "jobstore")):
        c = template["spec"]["containers"][0]
        if "grpc" not in (c.get("readinessProbe") or {}):
            yield f"{comp}: gRPC readinessProbe"
        if not c.get("livenessProbe"):
            yield f"{comp}: livenessProbe"
        if template["spec"].get("automountServiceAccountToken") is not False:
            yield f"{comp}: no API token"


def check_gateway_liveness(r: Rendering) -> Iterator[str]:
    """The gateway's gRPC health follows NATS (readiness): its liveness must ask the process
    alone, or a NATS outage restarts every gateway."""
    for comp, template in service_pods(r, ("gateway",)):
        c = template["spec"]["containers"][0]
        liveness = c.get("livenessProbe") or {}
        if "grpc" in liveness or liveness == c.get("readinessProbe"):
            yield f"{comp}: liveness must not be the health that follows NATS (readiness)"


def check_generated_secrets_kept(r: Rendering) -> Iterator[str]:
    """Every Secret the chart generates outlives `helm uninstall` (a reinstall reads its values
    back, and a kept database volume still has the password in it)."""
    for secret in r.of_kind("Secret"):
        annotations = secret["metadata"].get("annotations") or {}
        if annotations.get("helm.sh/resource-policy") != "keep":
            yield f"Secret {secret['metadata']['name']}: helm.sh/resource-policy keep"


def check_database_url(r: Rendering) -> Iterator[str]:
    """The bundled database's URL carries its password URL-encoded, as the job store's user."""
    pg = r.values["postgresql"]
    secret = r.component("Secret", "postgresql")
    if not (pg["enabled"] and secret):
        return
    data = secret["stringData"]
    url = urlsplit(data["database-url"])
    if url.username != pg["username"] or unquote(url.password or "") != data["password"]:
        yield "postgresql: database-url does not carry the user and password (URL-encoded)"


def check_simulation_limits(r: Rendering) -> Iterator[str]:
    """A ResourceQuota and a LimitRange in a simulation namespace of its own, the LimitRange
    letting through the pods the runner makes (its limits are the runner's)."""
    found = runner_config(r)
    if found is None:
        return
    _, env = found
    sim_ns = env.get("SIMLAB_RUNNER_K8S_NAMESPACE")
    sim = r.values["simulations"]
    if sim_ns == DEFAULT_NAMESPACE:
        if r.kinds["ResourceQuota"] or r.kinds["LimitRange"]:
            yield "ResourceQuota/LimitRange in the release namespace"
        return
    for kind, key in (("ResourceQuota", "quota"), ("LimitRange", "limitRange")):
        objs = [o for o in r.of_kind(kind) if o["metadata"]["namespace"] == sim_ns]
        if sim[key]["enabled"] and not objs:
            yield f"{kind} missing in the simulation namespace {sim_ns}"
    for limit_range in r.of_kind("LimitRange"):
        for limit in limit_range["spec"]["limits"]:
            pods = {k: env.get(f"SIMLAB_RUNNER_{k.upper()}_LIMIT") for k in ("cpu", "memory")}
            if limit.get("max") != pods:
                yield f"LimitRange max {limit.get('max')} is not the simulation pods' {pods}"


def runner_config(r: Rendering) -> tuple[Obj, Obj] | None:
    """The runner's pod spec and its settings: its ConfigMap's data, where a variable its
    container sets itself stands as that env entry (a dict: present, its value not read);
    None when either is not rendered."""
    runner = r.component("Deployment", "runner")
    cm = r.component("ConfigMap", "runner")
    if not (runner and cm):
        return None
    spec = runner["spec"]["template"]["spec"]
    env = {e["name"]: e for e in spec["containers"][0].get("env", [])}
    return spec, {**cm["data"], **env}


def check_runner_settings(r: Rendering) -> Iterator[str]:
    """In-cluster API access, the Kubernetes launcher and the settings it gives workers."""
    found = runner_config(r)
    if found is None:
        return
    spec, env = found
    if "SIMLAB_RUNNER_KUBECONFIG" in env:
        yield "runner: KUBECONFIG must be unset (in-cluster)"
    if spec.get("automountServiceAccountToken") is not True:
        yield "runner: needs its API token"
    if env.get("SIMLAB_RUNNER_LAUNCHER") != "kubernetes":
        yield "runner: kubernetes launcher"
    worker = r.values["simulations"]["worker"]
    if env.get("SIMLAB_RUNNER_WORKER_IMAGE") != f"{worker['repository']}:{worker['tag']}":
        yield "runner: SIMLAB_RUNNER_WORKER_IMAGE"
    if ".svc." not in env.get("SIMLAB_RUNNER_WORKER_JOBSTORE", ""):
        yield "runner: WORKER_JOBSTORE is the Service FQDN"
    for key in RUNNER_SETTINGS:
        if f"SIMLAB_RUNNER_{key}" not in env:
            yield f"runner: SIMLAB_RUNNER_{key} missing"


def check_object_store_settings(r: Rendering) -> Iterator[str]:
    """The services have the object store: the gateway (downloads), the job store (bundles
    and results, which workers send through it) and the runner (workers' logs)."""
    for comp, template in service_pods(r):
        config = workload_config(template["spec"], r)
        env = {e["name"] for c in template["spec"]["containers"] for e in c.get("env", [])}
        for key in OBJECT_STORE_SETTINGS:
            if key not in config and key not in env:  # env: from a Secret of the user's
                yield f"{comp}: {key} missing"


def check_workers_hold_no_object_store_settings(r: Rendering) -> Iterator[str]:
    """Simulation pods, as the runner makes them from its rendered settings (a run's and a
    registration's), carry no object-store setting, Secret or credential: workers reach
    bundles and results through the job store, with nothing but their job's token."""
    runner = r.component("Deployment", "runner")
    if runner is None:
        return
    runner_env = workload_config(runner["spec"]["template"]["spec"], r)
    credentials = {runner_env[k] for k in OBJECT_STORE_CREDENTIALS if runner_env.get(k)}
    for kind in (pb.JOB_KIND_RUN, pb.JOB_KIND_REGISTRATION):
        where = f"simulation pod ({pb.JobKind.Name(kind)})"
        job = simulation_job(runner_env, kind)
        spec = job["spec"]["template"]["spec"]
        token_secret = f"{job['metadata']['name']}-token"
        for c in spec["containers"]:
            if c.get("envFrom"):
                yield f"{where}: envFrom"
            for e in c.get("env", []):
                if "S3_" in e["name"] or "OBJECTS_DIR" in e["name"]:
                    yield f"{where}: {e['name']}"
                # The downward API (the pod's own index) is fine; a Secret or ConfigMap is not.
                if "valueFrom" in e and "fieldRef" not in e["valueFrom"]:
                    yield f"{where}: {e['name']} from {next(iter(e['valueFrom']))}"
                if e.get("value") in credentials:
                    yield f"{where}: {e['name']} holds an object-store credential"
        for v in spec.get("volumes", []):
            if "secret" in v and v["secret"]["secretName"] != token_secret:
                yield f"{where}: Secret volume {v['secret']['secretName']}"


def check_runner_rbac(r: Rendering) -> Iterator[str]:
    """The runner's Role and RoleBinding: in the simulation namespace, for its
    ServiceAccount, with the rules of runner_rbac()."""
    found = runner_config(r)
    if found is None:
        return
    spec, env = found
    sim_ns = str(env.get("SIMLAB_RUNNER_K8S_NAMESPACE"))
    account = spec.get("serviceAccountName")
    role = r.named("Role", account)
    binding = r.named("RoleBinding", account)
    if not (role and role["metadata"].get("namespace") == sim_ns):
        yield "runner: Role in the simulation namespace"
    if not (
        binding
        and binding["metadata"].get("namespace") == sim_ns
        and binding["subjects"][0]["name"] == account
    ):
        yield "runner: RoleBinding to its ServiceAccount in the simulation namespace"
    expected = next(o for o in runner_rbac(sim_ns) if o["kind"] == "Role")["rules"]
    if not (role and role["rules"] == expected):
        yield f"runner Role rules differ from runner_rbac(): {role and role['rules']}"
    for rule in (role or {}).get("rules", []):
        if {"secrets", "*"} & set(rule["resources"]) and SECRET_READS & set(rule["verbs"]):
            yield f"runner Role reads Secrets: {sorted(SECRET_READS & set(rule['verbs']))}"


def check_helm_test_run(r: Rendering) -> Iterator[str]:
    """The `helm test` run is one the gateway accepts (model, parameters, shards vs blocks)."""
    try:
        t = r.values["tests"]
        model = catalogue()[t["model"]]
        plan_job(
            Runnable(model.name, 0, "", model),
            r.values["gateway"]["maxShards"],
            t["parameters"],
            1,
            t["shards"],
            "helm-test",
        )
    except Exception as error:  # the gateway's own INVALID_ARGUMENT
        yield f"tests: the gateway would refuse the test run: {error}"


CHECKS: tuple[Check, ...] = (
    check_unique,
    check_expected_objects,
    check_helm_test_pod,
    check_network_policy_objects,
    check_known_kinds,
    check_pod_security,
    check_container_security,
    check_resources,
    check_tmp_empty_dir,
    check_image_tags,
    check_references,
    check_entrypoints,
    check_config_checksums,
    check_grpc_servers,
    check_gateway_liveness,
    check_generated_secrets_kept,
    check_database_url,
    check_simulation_limits,
    check_runner_settings,
    check_object_store_settings,
    check_workers_hold_no_object_store_settings,
    check_runner_rbac,
    check_helm_test_run,
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("rendered", type=Path)
    parser.add_argument("--values", type=Path)
    args = parser.parse_args()
    try:
        r = read_rendering(args.rendered, merged_values(args.values))
    except NotARendering as error:
        print(error)
        return 1
    problems = [problem for check in CHECKS for problem in check(r)]
    evaluated = ""
    if r.values["networkPolicy"]["enabled"]:
        policies = check_network_policies(r)
        problems += policies.problems
        evaluated = f"; {policies}"

    name = args.rendered.name
    if problems:
        print(f"   check: {name}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"     - {problem}")
        return 1
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(r.kinds.items()))
    print(f"   check: {name}: {len(r.docs)} objects OK ({summary}){evaluated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
