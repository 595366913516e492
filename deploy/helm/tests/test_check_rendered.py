"""Each check of check_rendered.py passes the chart as rendered and names the flaw in a
rendering broken on purpose."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import check_rendered as checks
import pytest
import yaml
from check_netpol import simulation_job
from check_rendered import CHECKS, main
from rendering import CHART, NotARendering, Obj, Rendering, key_ref, read_rendering

from simlab.v1 import simulation_pb2 as pb

Render = Callable[[str], Rendering]
VALUES_FILES = sorted(path.name for path in (CHART / "ci").glob("*-values.yaml"))


@pytest.fixture
def chart(render: Render) -> Rendering:
    return render("default-values.yaml")


def named(r: Rendering, kind: str, name: str) -> Obj:
    obj = r.named(kind, name)
    assert obj is not None
    return obj


def pod(r: Rendering, kind: str, name: str) -> Obj:
    return named(r, kind, name)["spec"]["template"]["spec"]


def container(r: Rendering, kind: str, name: str) -> Obj:
    return pod(r, kind, name)["containers"][0]


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_the_chart_passes_every_check(render: Render, values_file: str) -> None:
    r = render(values_file)
    assert [problem for check in CHECKS for problem in check(r)] == []


def test_a_file_that_is_not_yaml_or_not_objects_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    with pytest.raises(NotARendering, match=r"broken\.yaml: not valid YAML"):
        read_rendering(broken, {})
    broken.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: Pod\n")
    with pytest.raises(NotARendering) as refused:
        read_rendering(broken, {})
    assert str(refused.value) == (
        "document 1: not a Kubernetes object (apiVersion, kind, metadata.name)"
    )


def test_an_object_rendered_twice(chart: Rendering) -> None:
    chart.docs.append(named(chart, "Service", "simlab-nats"))
    assert list(checks.check_unique(chart)) == [
        "('Service', 'simlab', 'simlab-nats') rendered 2 times"
    ]


def test_a_missing_object(chart: Rendering) -> None:
    chart.docs.remove(named(chart, "Deployment", "simlab-jobstore"))
    chart.docs.remove(named(chart, "StatefulSet", "simlab-nats"))
    assert list(checks.check_expected_objects(chart)) == [
        "Deployment jobstore missing",
        "StatefulSet nats missing",
        "2 StatefulSets, expected 3",
    ]


def test_a_bundled_dependency_rendered_while_external(chart: Rendering) -> None:
    chart.values["minio"]["enabled"] = False
    chart.docs.remove(named(chart, "RoleBinding", "simlab-runner"))
    assert list(checks.check_expected_objects(chart)) == [
        "no RoleBinding",
        "3 StatefulSets, expected 2",
    ]


def test_no_helm_test_pod(chart: Rendering) -> None:
    del named(chart, "Pod", "simlab-test-simulation")["metadata"]["annotations"]["helm.sh/hook"]
    assert list(checks.check_helm_test_pod(chart)) == ["one helm test hook Pod"]


def test_network_policies_are_rendered_by_default(chart: Rendering) -> None:
    """Item 4: default-deny and the policies of every component without any value set."""
    assert chart.values["networkPolicy"]["enabled"] is True
    assert chart.kinds["NetworkPolicy"] >= 6
    assert "simlab-default-deny" in chart.names("NetworkPolicy")
    assert list(checks.check_network_policy_objects(chart)) == []


def test_network_policies_rendered_while_disabled(chart: Rendering, render: Render) -> None:
    without = render("no-networkpolicies-values.yaml")
    assert without.kinds["NetworkPolicy"] == 0
    without.docs.append(chart.of_kind("NetworkPolicy")[0])
    assert list(checks.check_network_policy_objects(without)) == [
        "NetworkPolicies rendered while disabled"
    ]


def test_network_policies_missing(render: Render) -> None:
    r = render("networkpolicies-values.yaml")
    r.docs.remove(named(r, "NetworkPolicy", "simlab-default-deny"))
    assert list(checks.check_network_policy_objects(r)) == ["default-deny NetworkPolicy missing"]
    for policy in r.of_kind("NetworkPolicy")[1:]:
        r.docs.remove(policy)
    assert list(checks.check_network_policy_objects(r)) == [
        "NetworkPolicies missing",
        "default-deny NetworkPolicy missing",
    ]


def test_an_unexpected_kind(chart: Rendering) -> None:
    chart.docs.append({"apiVersion": "v1", "kind": "Ingress", "metadata": {"name": "x"}})
    assert list(checks.check_known_kinds(chart)) == ["unexpected kinds ['Ingress']"]


def test_a_pod_outside_pod_security_restricted(chart: Rendering) -> None:
    spec = pod(chart, "Deployment", "simlab-gateway")
    del spec["securityContext"]["runAsNonRoot"]
    spec["hostNetwork"] = True
    spec["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    assert list(checks.check_pod_security(chart)) == [
        "Deployment/simlab-gateway: pod securityContext.runAsNonRoot",
        "Deployment/simlab-gateway: hostNetwork",
        "Deployment/simlab-gateway: no hostPath volumes",
    ]


def test_a_container_outside_pod_security_restricted(chart: Rendering) -> None:
    spec = pod(chart, "Deployment", "simlab-jobstore")
    spec["securityContext"].pop("runAsUser", None)
    sc = spec["containers"][0]["securityContext"]
    sc.pop("runAsUser", None)
    sc["privileged"] = True
    sc["capabilities"]["drop"] = ["NET_RAW"]
    where = "Deployment/simlab-jobstore/jobstore"
    assert list(checks.check_container_security(chart)) == [
        f"{where}: numeric non-root runAsUser",
        f"{where}: drop ALL",
        f"{where}: not privileged",
    ]


def test_a_container_without_limits(chart: Rendering) -> None:
    del container(chart, "StatefulSet", "simlab-nats")["resources"]["limits"]
    assert list(checks.check_resources(chart)) == [
        "StatefulSet/simlab-nats/nats: resources.limits.cpu",
        "StatefulSet/simlab-nats/nats: resources.limits.memory",
    ]


def test_a_tmp_that_is_not_an_empty_dir(chart: Rendering) -> None:
    spec = pod(chart, "Deployment", "simlab-runner")
    tmp = next(v for v in spec["volumes"] if v["name"] == "tmp")
    tmp.pop("emptyDir")
    tmp["configMap"] = {"name": "simlab-runner"}
    assert list(checks.check_tmp_empty_dir(chart)) == [
        "Deployment/simlab-runner/runner: /tmp emptyDir"
    ]


def test_an_image_without_a_tag(chart: Rendering) -> None:
    container(chart, "StatefulSet", "simlab-minio")["image"] = "docker.io/simlab/minio"
    assert list(checks.check_image_tags(chart)) == [
        "StatefulSet/simlab-minio/minio: image with a tag"
    ]


def test_references_to_what_is_not_there(chart: Rendering) -> None:
    env = container(chart, "Deployment", "simlab-runner")["env"]
    env[0]["valueFrom"]["secretKeyRef"]["name"] = "nowhere"
    spec = pod(chart, "Deployment", "simlab-gateway")
    spec["volumes"].append({"name": "extra", "configMap": {"name": "missing"}})
    assert list(checks.check_references(chart)) == [
        "volume ConfigMap missing unknown",
        "runner: Secret nowhere unknown",
    ]


def test_a_declared_existing_secret_is_known(chart: Rendering) -> None:
    env = container(chart, "Deployment", "simlab-runner")["env"]
    env[0]["valueFrom"]["secretKeyRef"]["name"] = "users-own"
    chart.values["auth"]["existingSecret"] = "users-own"
    assert list(checks.check_references(chart)) == []


def test_a_service_with_another_entrypoint(chart: Rendering) -> None:
    container(chart, "Deployment", "simlab-gateway")["command"] = ["simlab-gateway"]
    assert list(checks.check_entrypoints(chart)) == ["gateway: command"]


def test_a_service_that_does_not_roll_on_configuration_changes(chart: Rendering) -> None:
    deployment = named(chart, "Deployment", "simlab-runner")
    del deployment["spec"]["template"]["metadata"]["annotations"]["checksum/secrets"]
    assert list(checks.check_config_checksums(chart)) == ["runner: checksum annotations"]


def test_a_grpc_server_without_grpc_probes_or_with_an_api_token(chart: Rendering) -> None:
    spec = pod(chart, "Deployment", "simlab-jobstore")
    spec["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 50051}}
    del spec["containers"][0]["livenessProbe"]
    spec["automountServiceAccountToken"] = True
    assert list(checks.check_grpc_servers(chart)) == [
        "jobstore: gRPC readinessProbe",
        "jobstore: livenessProbe",
        "jobstore: no API token",
    ]


def test_the_gateways_liveness_does_not_follow_nats(chart: Rendering) -> None:
    """Item 10: readiness is the gRPC health (SERVING while NATS is reached); liveness asks the
    process alone, so a NATS outage takes gateways out of the Service but restarts none."""
    gateway = container(chart, "Deployment", "simlab-gateway")
    assert "grpc" in gateway["readinessProbe"]
    assert "exec" in gateway["livenessProbe"]
    assert list(checks.check_gateway_liveness(chart)) == []
    gateway["livenessProbe"] = dict(gateway["readinessProbe"])
    assert list(checks.check_gateway_liveness(chart)) == [
        "gateway: liveness must not be the health that follows NATS (readiness)"
    ]


def test_generated_secrets_are_kept_and_existing_ones_replace_them(
    chart: Rendering, render: Render
) -> None:
    """Item 10: every generated Secret is kept on uninstall; with every existingSecret set the
    chart generates none, and the pods read the Secrets named."""
    assert chart.names("Secret") == {
        "simlab-platform",
        "simlab-gateway-tokens",
        "simlab-gateway-session",
        "simlab-postgresql",
        "simlab-minio",
        "simlab-nats",
    }
    assert list(checks.check_generated_secrets_kept(chart)) == []
    del named(chart, "Secret", "simlab-minio")["metadata"]["annotations"]
    assert list(checks.check_generated_secrets_kept(chart)) == [
        "Secret simlab-minio: helm.sh/resource-policy keep"
    ]
    own = render("existing-secrets-values.yaml")
    assert not {"simlab-platform", "simlab-gateway-tokens", "simlab-gateway-session"} & own.names(
        "Secret"
    )
    assert not {"simlab-postgresql", "simlab-minio", "simlab-nats"} & own.names("Secret")
    refs = {
        ref["name"]
        for _, template in own.workloads()
        for c in template["spec"]["containers"]
        for e in c.get("env", [])
        if (found := key_ref(e)) and found[0] == "Secret"
        for ref in [found[1]]
    }
    assert {
        "my-platform",
        "my-tokens",
        "my-session",
        "my-postgresql",
        "my-minio",
        "my-nats",
    } <= refs
    volumes = {
        v["secret"]["secretName"]
        for _, template in own.workloads()
        for v in template["spec"].get("volumes", [])
        if "secret" in v
    }
    assert "my-postgresql" in volumes


def test_the_database_url_carries_the_password_url_encoded(render: Render) -> None:
    """Item 10: a password with URL delimiters in it still makes a URL of the same password."""
    r = render("existing-secrets-values.yaml")
    assert r.component("Secret", "postgresql") is None
    chart = render("default-values.yaml")
    secret = named(chart, "Secret", "simlab-postgresql")["stringData"]
    assert list(checks.check_database_url(chart)) == []
    secret["password"] = "p@ss:/w rd%+'"
    assert list(checks.check_database_url(chart)) == [
        "postgresql: database-url does not carry the user and password (URL-encoded)"
    ]


def test_simulation_namespace_quota_and_limits(chart: Rendering, render: Render) -> None:
    """Item 7: a ResourceQuota and a LimitRange in the simulation namespace, the LimitRange's
    max the simulation pods' limits; none when simulations share the release namespace."""
    [quota] = chart.of_kind("ResourceQuota")
    [limits] = chart.of_kind("LimitRange")
    assert quota["metadata"]["namespace"] == limits["metadata"]["namespace"] == "simlab-jobs"
    assert quota["spec"]["hard"]["pods"] == "80"
    assert list(checks.check_simulation_limits(chart)) == []
    limits["spec"]["limits"][0]["max"]["cpu"] = "500m"
    assert list(checks.check_simulation_limits(chart)) == [
        "LimitRange max {'cpu': '500m', 'memory': '1Gi'} is not the simulation pods' "
        "{'cpu': '1', 'memory': '1Gi'}"
    ]
    shared = render("networkpolicies-one-namespace-values.yaml")
    assert shared.kinds["ResourceQuota"] == shared.kinds["LimitRange"] == 0
    chart.docs.remove(quota)
    assert "ResourceQuota missing in the simulation namespace simlab-jobs" in list(
        checks.check_simulation_limits(chart)
    )


def test_a_runner_not_configured_for_the_cluster(chart: Rendering) -> None:
    data = named(chart, "ConfigMap", "simlab-runner")["data"]
    data["SIMLAB_RUNNER_KUBECONFIG"] = "/etc/kubeconfig"
    data["SIMLAB_RUNNER_LAUNCHER"] = "local"
    data["SIMLAB_RUNNER_WORKER_JOBSTORE"] = "simlab-jobstore:50051"
    del data["SIMLAB_RUNNER_CPU_LIMIT"]
    pod(chart, "Deployment", "simlab-runner")["automountServiceAccountToken"] = False
    chart.values["simulations"]["worker"]["tag"] = "other"
    assert list(checks.check_runner_settings(chart)) == [
        "runner: KUBECONFIG must be unset (in-cluster)",
        "runner: needs its API token",
        "runner: kubernetes launcher",
        "runner: SIMLAB_RUNNER_WORKER_IMAGE",
        "runner: WORKER_JOBSTORE is the Service FQDN",
        "runner: SIMLAB_RUNNER_CPU_LIMIT missing",
    ]


def test_a_service_without_the_object_store(chart: Rendering) -> None:
    data = named(chart, "ConfigMap", "simlab-jobstore")["data"]
    del data["SIMLAB_S3_ENDPOINT"]
    env = container(chart, "Deployment", "simlab-jobstore")["env"]
    env[:] = [e for e in env if e["name"] != "SIMLAB_S3_SECRET_KEY"]
    assert list(checks.check_object_store_settings(chart)) == [
        "jobstore: SIMLAB_S3_ENDPOINT missing",
        "jobstore: SIMLAB_S3_SECRET_KEY missing",
    ]


def test_simulation_pods_with_object_store_settings(
    chart: Rendering, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pods are the runner's code's: a runner that handed workers the object store (as
    it once did) is caught, whatever it hands them."""
    secret_key = named(chart, "Secret", "simlab-minio")["stringData"]["secret-key"]

    def leaky_job(runner_env: dict[str, str], kind: pb.JobKind = pb.JOB_KIND_RUN) -> Obj:
        job = simulation_job(runner_env, kind)
        spec = job["spec"]["template"]["spec"]
        spec["containers"][0]["env"] += [
            {"name": "SIMLAB_WORKER_S3_ENDPOINT", "value": "http://simlab-minio:9000"},
            {"name": "AWS_SECRET", "value": secret_key},
            {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "simlab-minio", "key": "k"}}},
        ]
        if kind == pb.JOB_KIND_REGISTRATION:
            spec["containers"][0]["envFrom"] = [{"secretRef": {"name": "simlab-minio"}}]
            spec["volumes"].append({"name": "s3", "secret": {"secretName": "simlab-minio"}})
        return job

    monkeypatch.setattr(checks, "simulation_job", leaky_job)
    run, registration = "simulation pod (JOB_KIND_RUN)", "simulation pod (JOB_KIND_REGISTRATION)"
    leaks = [
        "SIMLAB_WORKER_S3_ENDPOINT",
        "AWS_SECRET holds an object-store credential",
        "KEY from secretKeyRef",
    ]
    assert list(checks.check_workers_hold_no_object_store_settings(chart)) == [
        *(f"{run}: {leak}" for leak in leaks),
        f"{registration}: envFrom",
        *(f"{registration}: {leak}" for leak in leaks),
        f"{registration}: Secret volume simlab-minio",
    ]


def test_a_runner_role_out_of_step_with_the_runner(chart: Rendering) -> None:
    role = named(chart, "Role", "simlab-runner")
    role["rules"].pop()
    named(chart, "RoleBinding", "simlab-runner")["metadata"]["namespace"] = "simlab"
    assert list(checks.check_runner_rbac(chart)) == [
        "runner: RoleBinding to its ServiceAccount in the simulation namespace",
        f"runner Role rules differ from runner_rbac(): {role['rules']}",
    ]


def test_the_runner_role_reads_no_secret(chart: Rendering) -> None:
    """The runner writes its per-job token Secrets and never reads one back (item 10)."""
    secrets = [
        r for r in named(chart, "Role", "simlab-runner")["rules"] if "secrets" in r["resources"]
    ]
    assert [sorted(r["verbs"]) for r in secrets] == [["create", "delete", "patch"]]
    secrets[0]["verbs"].append("get")
    problems = list(checks.check_runner_rbac(chart))
    assert problems[-1] == "runner Role reads Secrets: ['get']"


def test_a_helm_test_run_the_gateway_refuses(chart: Rendering) -> None:
    chart.values["tests"]["shards"] = chart.values["gateway"]["maxShards"] + 1
    found = list(checks.check_helm_test_run(chart))
    assert len(found) == 1
    assert found[0].startswith("tests: the gateway would refuse the test run:")
    assert "shards" in found[0]


def test_main_reports_every_problem_and_fails(
    render: Render, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = render("networkpolicies-values.yaml")
    values_file = str(CHART / "ci/networkpolicies-values.yaml")
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(r.docs))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", ["check_rendered.py", str(rendered), "--values", values_file])
        assert main() == 0
        assert "39 objects OK" in capsys.readouterr().out
        container(r, "Deployment", "simlab-gateway")["image"] = "untagged"
        r.docs.remove(named(r, "NetworkPolicy", "simlab-default-deny"))
        rendered.write_text(yaml.safe_dump_all(r.docs))
        assert main() == 1
    out = capsys.readouterr().out
    assert "   check: rendered.yaml: " in out
    assert "     - Deployment/simlab-gateway/gateway: image with a tag" in out
    assert "     - default-deny NetworkPolicy missing" in out
    assert "     - NetworkPolicy lets a stranger in the release namespace -> test" in out
