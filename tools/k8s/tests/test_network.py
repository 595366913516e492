"""The iptables rules the cluster adds, and how `down` recognises what to remove."""

from __future__ import annotations

from localcluster.constants import BRIDGE, HOST_ADDRESS, IPT_COMMENT, POD_SUBNET, SERVICE_SUBNET
from localcluster.network import delete_command, host_dnat_rule, is_ours, unrouted_service_rule


def option(rule: list[str], name: str) -> str:
    return rule[rule.index(name) + 1]


def test_pods_tcp_to_the_host_address_goes_to_loopback() -> None:
    rule = host_dnat_rule()
    assert rule[0] == "PREROUTING"
    assert option(rule, "-i") == BRIDGE
    assert option(rule, "-s") == POD_SUBNET
    assert option(rule, "-d") == HOST_ADDRESS
    assert option(rule, "-p") == "tcp"
    assert option(rule, "--to-destination") == "127.0.0.1"
    assert option(rule, "--comment") == IPT_COMMENT


def test_unprogrammed_cluster_ips_are_refused() -> None:
    rule = unrouted_service_rule()
    assert rule[0] == "FORWARD"
    assert option(rule, "-d") == SERVICE_SUBNET
    assert option(rule, "-j") == "REJECT"
    assert option(rule, "--comment") == IPT_COMMENT


def test_down_removes_our_rules_and_jumps_to_kube_chains_only() -> None:
    ours = "-A PREROUTING " + " ".join(host_dnat_rule()[1:])
    jump = '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'
    assert is_ours(ours)
    assert is_ours(jump)
    assert not is_ours("-A FORWARD -j DOCKER-USER")
    assert not is_ours(":KUBE-SERVICES - [0:0]")
    assert delete_command(jump) == [
        "-D",
        "OUTPUT",
        "-m",
        "comment",
        "--comment",
        "kubernetes service portals",
        "-j",
        "KUBE-SERVICES",
    ]
    assert delete_command(ours) == ["-D", *host_dnat_rule()]
