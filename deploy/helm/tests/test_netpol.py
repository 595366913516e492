"""NetworkPolicy semantics, case by case as the Kubernetes documentation states them."""

from __future__ import annotations

from typing import Any

from netpol import Pod, Target, allowed, selects

WEB = Pod("web", "shop", {"app": "web"}, {"http": 8080})
DB = Pod("db", "shop", {"app": "db"}, {"pg": 5432})
OTHER_NS = Pod("probe", "monitoring", {"app": "probe"})
TO_DB = Target(5432, pod=DB)


def policy(ns: str, selector: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": ns}, "spec": {"podSelector": selector, **spec}}


def test_no_policy_allows_everything() -> None:
    assert allowed([], WEB, TO_DB)
    assert allowed([], OTHER_NS, TO_DB)


def test_a_policy_with_no_ingress_rules_isolates_the_pods_it_selects() -> None:
    deny = policy("shop", {"matchLabels": {"app": "db"}}, ingress=[])
    assert not allowed([deny], WEB, TO_DB)
    assert allowed([deny], DB, Target(8080, pod=WEB))  # web is not selected


def test_policies_in_another_namespace_do_not_apply() -> None:
    deny = policy("elsewhere", {}, policyTypes=["Ingress"])
    assert allowed([deny], WEB, TO_DB)


def test_a_pod_selector_alone_means_pods_of_the_policys_namespace() -> None:
    p = policy("shop", {"matchLabels": {"app": "db"}}, ingress=[{"from": [{"podSelector": {}}]}])
    assert allowed([p], WEB, TO_DB)
    assert not allowed([p], OTHER_NS, TO_DB)


def test_namespace_and_pod_selector_in_one_peer_both_hold() -> None:
    both = {
        "namespaceSelector": {"matchLabels": {"team": "ops"}},
        "podSelector": {"matchLabels": {"app": "probe"}},
    }
    p = policy("shop", {"matchLabels": {"app": "db"}}, ingress=[{"from": [both]}])
    assert allowed([p], OTHER_NS, TO_DB, {"monitoring": {"team": "ops"}})
    assert not allowed([p], OTHER_NS, TO_DB)  # the namespace lacks the label
    stranger = Pod("x", "monitoring", {"app": "x"})
    assert not allowed([p], stranger, TO_DB, {"monitoring": {"team": "ops"}})


def test_two_peers_are_either() -> None:
    peers = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        {"podSelector": {"matchLabels": {"app": "web"}}},
    ]
    p = policy("shop", {"matchLabels": {"app": "db"}}, ingress=[{"from": peers}])
    assert allowed([p], OTHER_NS, TO_DB)  # every namespace carries its name as a label
    assert allowed([p], WEB, TO_DB)
    assert not allowed([p], Pod("x", "shop", {"app": "x"}), TO_DB)


def test_an_empty_from_allows_every_source_and_ports_still_apply() -> None:
    p = policy(
        "shop",
        {"matchLabels": {"app": "db"}},
        ingress=[{"from": [], "ports": [{"port": 5432, "protocol": "TCP"}]}],
    )
    assert allowed([p], OTHER_NS, TO_DB)
    assert not allowed([p], OTHER_NS, Target(5433, pod=DB))
    assert not allowed([p], OTHER_NS, Target(5432, "UDP", pod=DB))


def test_named_ports_are_the_destination_pods_and_ranges_include_their_ends() -> None:
    named = policy("shop", {}, ingress=[{"ports": [{"port": "pg"}]}])
    assert allowed([named], WEB, TO_DB)
    assert not allowed([named], DB, Target(8080, pod=WEB))  # web has no port named pg
    ranged = policy("shop", {}, ingress=[{"ports": [{"port": 5000, "endPort": 5432}]}])
    assert allowed([ranged], WEB, TO_DB)
    assert not allowed([ranged], DB, Target(8080, pod=WEB))


def test_egress_needs_a_rule_on_the_source_and_ingress_on_the_destination() -> None:
    egress_to_db = policy(
        "shop",
        {"matchLabels": {"app": "web"}},
        policyTypes=["Egress"],
        egress=[{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}],
    )
    db_from_nobody = policy("shop", {"matchLabels": {"app": "db"}}, ingress=[])
    assert allowed([egress_to_db], WEB, TO_DB)
    assert not allowed([egress_to_db], WEB, Target(8080, pod=WEB))
    assert not allowed([egress_to_db, db_from_nobody], WEB, TO_DB)


def test_an_egress_section_makes_a_policy_an_egress_policy() -> None:
    implicit = policy("shop", {"matchLabels": {"app": "web"}}, egress=[])
    assert not allowed([implicit], WEB, TO_DB)
    ingress_only = policy("shop", {"matchLabels": {"app": "web"}})
    assert allowed([ingress_only], WEB, TO_DB)


def test_ip_blocks_match_addresses_and_leave_out_their_exceptions() -> None:
    p = policy(
        "shop",
        {},
        policyTypes=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
    )
    assert allowed([p], WEB, Target(443, ip="10.2.3.4"))
    assert not allowed([p], WEB, Target(443, ip="10.1.2.3"))
    assert not allowed([p], WEB, Target(443, ip="192.168.0.1"))
    assert not allowed([p], WEB, TO_DB)  # an ipBlock does not stand for pods


def test_match_expressions() -> None:
    labels = {"tier": "db", "env": "prod"}
    assert selects(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, labels
    )
    assert not selects(
        {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, labels
    )
    assert selects({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, labels)
    assert selects({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)
    assert not selects(
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, labels
    )
