"""The host side of the pod network: the bridge (made before the first pod, so the host
address exists), the DNAT that forwards pods' TCP to the bridge address on to 127.0.0.1, the
rule that refuses unprogrammed ClusterIPs, the CNI config; and their removal."""

from __future__ import annotations

import ipaddress
import re
import shlex
from pathlib import Path

from .configs import cni_conflist, json_text
from .constants import BIN, BRIDGE, HOST_ADDRESS, IPT_COMMENT, POD_SUBNET, SERVICE_SUBNET
from .host import run
from .layout import Paths
from .procs import Say


def host_dnat_rule() -> list[str]:
    """The nat rule (chain first) that sends pods' TCP to HOST_ADDRESS on to 127.0.0.1."""
    return [
        "PREROUTING",
        "-i",
        BRIDGE,
        "-s",
        POD_SUBNET,
        "-d",
        HOST_ADDRESS,
        "-p",
        "tcp",
        "-m",
        "comment",
        "--comment",
        IPT_COMMENT,
        "-j",
        "DNAT",
        "--to-destination",
        "127.0.0.1",
    ]


def unrouted_service_rule() -> list[str]:
    """The filter rule (chain first) that refuses ClusterIPs kube-proxy has not programmed."""
    return [
        "FORWARD",
        "-d",
        SERVICE_SUBNET,
        "-m",
        "comment",
        "--comment",
        IPT_COMMENT,
        "-j",
        "REJECT",
    ]


def is_ours(rule: str) -> bool:
    """Whether an iptables-save line is a rule `down` removes: ours, or a jump to kube-proxy's
    (or the kubelet's) KUBE- chains."""
    return rule.startswith("-A ") and (f"--comment {IPT_COMMENT}" in rule or " -j KUBE-" in rule)


def delete_command(rule: str) -> list[str]:
    """iptables' arguments that delete the rule of an iptables-save line "-A ..."."""
    return shlex.split("-D" + rule[2:])


def setup_network(paths: Paths) -> None:
    """The pod bridge (made here so the host address exists before the first pod), the DNAT
    that forwards pods' TCP to the bridge address on to 127.0.0.1, and the CNI config."""
    if run(["ip", "link", "show", BRIDGE], check=False).returncode != 0:
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addrs = run(["ip", "-4", "-o", "addr", "show", "dev", BRIDGE]).stdout
    if f" {HOST_ADDRESS}/" not in addrs:
        run(["ip", "addr", "add", f"{HOST_ADDRESS}/{POD_SUBNET.split('/')[1]}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    # Let packets from the bridge be routed to 127.0.0.1 (after the DNAT below).
    Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet").write_text("1\n")
    rule = host_dnat_rule()
    if run(["iptables", "-t", "nat", "-C", *rule], check=False).returncode != 0:
        run(["iptables", "-t", "nat", "-A", *rule])
    # A ClusterIP that kube-proxy has not programmed yet (a Service just made) is refused at
    # once, rather than routed out of the machine to time out; what kube-proxy DNATs has a pod
    # or host address by the time the filter table sees it.
    unrouted = unrouted_service_rule()
    if run(["iptables", "-C", *unrouted], check=False).returncode != 0:
        run(["iptables", "-I", *unrouted[:1], "1", *unrouted[1:]])
    paths.cni_conflist.parent.mkdir(parents=True, exist_ok=True)
    (paths.cni_dir / "ipam").mkdir(parents=True, exist_ok=True)
    paths.cni_conflist.write_text(json_text(cni_conflist(paths)))


def teardown_network() -> None:
    """Every iptables rule and chain of the cluster, the veths on the bridge, the bridge."""
    # kube-proxy's chains (KUBE-*) are removed by kube-proxy itself; what is left (the
    # kubelet's KUBE-FIREWALL) goes after it: jumps first, then the chains.
    if (BIN / "kube-proxy").exists():
        run([str(BIN / "kube-proxy"), "--cleanup", "--v=0"], check=False)
    # Then, in every table: each rule with our comment and each jump to a KUBE- chain, then
    # those chains.
    for table in ("filter", "nat", "mangle"):
        dump = run(["iptables-save", "-t", table], check=False).stdout
        for line in dump.splitlines():
            if is_ours(line):
                run(["iptables", "-t", table, *delete_command(line)], check=False)
        for chain in re.findall(r"^:(KUBE-\S+)", dump, re.M):
            run(["iptables", "-t", table, "-F", chain], check=False)
            run(["iptables", "-t", table, "-X", chain], check=False)
    # veths attached to our bridge, then the bridge.
    if run(["ip", "link", "show", BRIDGE], check=False).returncode == 0:
        for line in run(
            ["ip", "-o", "link", "show", "master", BRIDGE], check=False
        ).stdout.splitlines():
            dev = line.split(":")[1].strip().split("@")[0]
            run(["ip", "link", "del", dev], check=False)
        run(["ip", "link", "del", BRIDGE], check=False)


def remove_netns(say: Say) -> None:
    """Network namespaces of our pods that the kubelet did not get to delete: those whose
    eth0 has an address of our pod subnet (containerd names them cni-<uuid>)."""
    netns_dir = Path("/var/run/netns")
    if not netns_dir.is_dir():
        return
    subnet = ipaddress.ip_network(POD_SUBNET)
    for ns in netns_dir.iterdir():
        p = run(
            ["ip", "netns", "exec", ns.name, "ip", "-4", "-o", "addr", "show", "dev", "eth0"],
            check=False,
        )
        addrs = re.findall(r"inet ([0-9.]+)/", p.stdout) if p.returncode == 0 else []
        if any(ipaddress.ip_address(a) in subnet for a in addrs):
            run(["umount", str(ns)], check=False)
            ns.unlink(missing_ok=True)
            say(f"removed leftover network namespace {ns.name}")
