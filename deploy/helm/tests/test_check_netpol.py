"""The chart's NetworkPolicy check finds what it should: the chart as rendered passes, and
each policy broken on purpose is named with the connection it blocks or lets through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from check_netpol import check_network_policies
from rendering import Rendering

Docs = list[dict[str, Any]]
Render = Callable[[str], Rendering]


def problems(rendering: Rendering, mutate: Callable[[Docs], None]) -> list[str]:
    mutate(rendering.docs)
    return check_network_policies(rendering).problems


def policy(docs: Docs, suffix: str) -> dict[str, Any]:
    return next(
        d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith(suffix)
    )


@pytest.fixture
def separate(render: Render) -> Rendering:
    return render("networkpolicies-values.yaml")


@pytest.fixture
def external(render: Render) -> Rendering:
    return render("networkpolicies-external-values.yaml")


@pytest.mark.parametrize(
    "values_file", ["networkpolicies-values.yaml", "networkpolicies-one-namespace-values.yaml"]
)
def test_the_chart_allows_what_each_component_needs_and_nothing_else(
    render: Render, values_file: str
) -> None:
    assert problems(render(values_file), lambda docs: None) == []


def test_a_missing_peer_is_named_with_the_setting_that_needs_it(separate: Rendering) -> None:
    def without_jobstore(docs: Docs) -> None:
        peers = policy(docs, "-minio")["spec"]["ingress"][0]["from"]
        peers[:] = [p for p in peers if "jobstore" not in str(p)]

    assert problems(separate, without_jobstore) == [
        "NetworkPolicy blocks jobstore -> minio:9000/TCP, needed for SIMLAB_S3_ENDPOINT"
    ]


def test_workers_reaching_the_object_store_are_caught(separate: Rendering) -> None:
    """Workers hold no object-store settings: a way to the store is a way for nobody's use."""

    def open_the_store_to_workers(docs: Docs) -> None:
        minio = policy(docs, "-minio")["spec"]["ingress"][0]["from"]
        minio.append(policy(docs, "-jobstore")["spec"]["ingress"][0]["from"][-1])
        egress = policy(docs, "-simulations")["spec"]["egress"]
        egress.append({"ports": [{"port": 9000, "protocol": "TCP"}]})

    assert problems(separate, open_the_store_to_workers) == [
        "NetworkPolicy lets simulation -> minio:9000/TCP through, not needed"
    ]


def test_a_wrong_port_blocks_every_client(separate: Rendering) -> None:
    def wrong_port(docs: Docs) -> None:
        policy(docs, "-jobstore")["spec"]["ingress"][0]["ports"][0]["port"] = 50052

    assert sorted(problems(separate, wrong_port)) == [
        f"NetworkPolicy blocks {who} -> jobstore:50051/TCP, needed for SIMLAB_{var}_JOBSTORE"
        for who, var in [("gateway", "GATEWAY"), ("runner", "RUNNER"), ("simulation", "WORKER")]
    ]


def test_a_database_open_to_all_is_caught(separate: Rendering) -> None:
    found = problems(
        separate, lambda docs: policy(docs, "-postgresql")["spec"]["ingress"][0].pop("from")
    )
    assert (
        "NetworkPolicy lets a stranger in another namespace -> postgresql:5432/TCP through, "
        "not needed" in found
    )
    assert not any("-> postgresql" in f and "jobstore" in f for f in found)


def test_without_the_simulation_policy_workers_are_open(separate: Rendering) -> None:
    found = problems(separate, lambda docs: docs.remove(policy(docs, "-simulations")))
    assert "NetworkPolicy lets simulation reach the Kubernetes API" in found
    assert any(
        f.startswith("NetworkPolicy lets a stranger in another namespace -> simulation")
        for f in found
    )


def test_without_default_deny_the_test_pod_is_open(separate: Rendering) -> None:
    found = problems(separate, lambda docs: docs.remove(policy(docs, "-default-deny")))
    assert (
        "NetworkPolicy lets a stranger in the release namespace -> test:8080/TCP through, "
        "not needed" in found
    )


def test_external_dependencies_are_reached_by_who_uses_them(render: Render) -> None:
    values_file = "networkpolicies-external-values.yaml"
    assert problems(render(values_file), lambda docs: None) == []

    def jobstore_without_database(docs: Docs) -> None:
        egress = policy(docs, "-jobstore")["spec"]["egress"]
        egress[:] = [rule for rule in egress if rule["ports"][0]["port"] != 5432]

    assert problems(render(values_file), jobstore_without_database) == [
        "NetworkPolicy blocks jobstore -> 10.20.0.10:5432/TCP, needed for "
        "postgresql.external (SIMLAB_JOBSTORE_DATABASE_URL)"
    ]
    found = problems(render(values_file), lambda docs: docs.remove(policy(docs, "-simulations")))
    assert "NetworkPolicy lets simulation reach nats.external, not needed" in found
    assert "NetworkPolicy lets simulation reach postgresql.external, not needed" in found
    assert "NetworkPolicy lets simulation reach objectStore.external, not needed" in found

    def jobstore_without_object_store(docs: Docs) -> None:
        egress = policy(docs, "-jobstore")["spec"]["egress"]
        egress[:] = [rule for rule in egress if rule["ports"][0]["port"] != 443]

    assert problems(render(values_file), jobstore_without_object_store) == [
        "NetworkPolicy blocks jobstore -> 10.20.0.30:443/TCP, needed for "
        "objectStore.external (SIMLAB_S3_ENDPOINT)"
    ]


def test_an_external_store_fenced_by_its_cidr_is_only_for_its_users(external: Rendering) -> None:
    def gateway_to_database(docs: Docs) -> None:
        egress = policy(docs, "-gateway")["spec"]["egress"]
        egress.append({"ports": [{"port": 5432}], "to": [{"ipBlock": {"cidr": "10.20.0.0/24"}}]})

    assert problems(external, gateway_to_database) == [
        "NetworkPolicy lets gateway reach postgresql.external, not needed"
    ]
