"""Kubernetes NetworkPolicy semantics as pure functions, so that a rendering of the chart can
be checked for what its policies let through without a policy-enforcing CNI.

`allowed()` answers one question the way an enforcing CNI would: may this pod open this
connection? A connection passes when the source's egress policies allow it (or none selects
the source for egress) and the destination's ingress policies allow it (or none selects the
destination for ingress). Destinations outside the cluster are IP addresses; only egress is
checked for them. Traffic between a node and its pods (kubelet probes) is out of scope, as it
is for most CNIs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    """A pod as policies see it: where it is, its labels and its named container ports."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """One end of a connection: a pod's port, or an address outside the cluster."""

    port: int
    protocol: str = "TCP"
    pod: Pod | None = None
    ip: str | None = None

    def __str__(self) -> str:
        where = self.pod.name if self.pod else self.ip
        return f"{where}:{self.port}/{self.protocol}"


def selects(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector: matchLabels and matchExpressions all hold; an empty one selects all."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def namespace_labels(namespace: str, extra: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Every namespace carries its name as a label (Kubernetes ≥ 1.22 sets it)."""
    return {**extra.get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}


def peer_matches(
    peer: Obj,
    policy_namespace: str,
    target: Pod | str,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    """One `from`/`to` entry. podSelector alone: pods of the policy's namespace;
    namespaceSelector alone: every pod of those namespaces; both: those pods in those
    namespaces; ipBlock: addresses (pod addresses are not modelled, so pods never match)."""
    if "ipBlock" in peer:
        if not isinstance(target, str):
            return False
        address = ipaddress.ip_address(target)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except") or []
        )
    if isinstance(target, str):
        return False
    if "namespaceSelector" in peer:
        in_namespace = selects(
            peer["namespaceSelector"], namespace_labels(target.namespace, namespaces)
        )
    else:
        in_namespace = target.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector"), target.labels)


def port_matches(rule_ports: list[Obj] | None, target: Target) -> bool:
    """A rule's ports: none means every port; a named port is the destination pod's."""
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != target.protocol:
            continue
        given = p.get("port")
        if given is None:
            return True
        named = isinstance(given, str)
        first = (target.pod.ports if target.pod else {}).get(given) if named else int(given)
        if first is not None and first <= target.port <= int(p.get("endPort", first)):
            return True
    return False


def policy_types(policy: Obj) -> list[str]:
    """Ingress always, Egress when there is an egress section, unless said otherwise."""
    spec = policy["spec"]
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def _selecting(policies: Iterable[Obj], pod: Pod, direction: str) -> list[Obj]:
    return [
        p
        for p in policies
        if p["metadata"].get("namespace") == pod.namespace
        and direction in policy_types(p)
        and selects(p["spec"].get("podSelector"), pod.labels)
    ]


def _admits(
    selecting: list[Obj],
    section: str,
    peers: str,
    other_end: Pod | str,
    target: Target,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    """Whether a rule in `section` (egress/ingress) of these policies admits the other end:
    its ports match and its `peers` (to/from) are empty or one of them matches."""
    return any(
        port_matches(rule.get("ports"), target)
        and (
            not rule.get(peers)
            or any(
                peer_matches(peer, p["metadata"]["namespace"], other_end, namespaces)
                for peer in rule[peers]
            )
        )
        for p in selecting
        for rule in p["spec"].get(section) or []
    )


def allowed(
    policies: Iterable[Obj],
    source: Pod,
    target: Target,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> bool:
    """Whether an enforcing CNI lets `source` connect to `target`."""
    policies = list(policies)
    namespaces = namespaces or {}
    egress = _selecting(policies, source, "Egress")
    destination: Pod | str = target.pod if target.pod else str(target.ip)
    if egress and not _admits(egress, "egress", "to", destination, target, namespaces):
        return False
    if target.pod is None:
        return True
    ingress = _selecting(policies, target.pod, "Ingress")
    return not ingress or _admits(ingress, "ingress", "from", source, target, namespaces)
