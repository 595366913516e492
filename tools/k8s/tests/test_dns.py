"""The kube-dns objects and the minimal DNS client `up` checks CoreDNS with."""

from __future__ import annotations

import socket
import threading

import pytest
from localcluster.constants import COREDNS_USER, DNS_SERVICE_IP, HOST_ADDRESS
from localcluster.dns import a_query, a_records, dns_objects, dns_query_a
from localcluster.host import ClusterError


def test_kube_dns_service_points_at_coredns_on_the_host() -> None:
    objects = {obj["kind"]: (path, obj) for path, obj in dns_objects(5353)}
    _, service = objects["Service"]
    assert service["spec"]["clusterIP"] == DNS_SERVICE_IP
    assert {(p["protocol"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("UDP", 53, 5353),
        ("TCP", 53, 5353),
    }
    path, slice_ = objects["EndpointSlice"]
    assert path.endswith("/namespaces/kube-system/endpointslices")
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert slice_["endpoints"][0]["addresses"] == [HOST_ADDRESS]
    assert {p["port"] for p in slice_["ports"]} == {5353}
    _, binding = objects["ClusterRoleBinding"]
    assert binding["subjects"][0]["name"] == COREDNS_USER
    assert binding["roleRef"]["name"] == objects["ClusterRole"][1]["metadata"]["name"]


def reply(query: bytes, addresses: list[str], rcode: int = 0) -> bytes:
    """A server's answer to QUERY: the question echoed, one compressed A record per address."""
    header = query[:2] + bytes([0x81, 0x80 | rcode]) + b"\x00\x01"
    header += len(addresses).to_bytes(2, "big") + b"\x00\x00\x00\x00"
    answers = b"".join(
        b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04" + socket.inet_aton(a) for a in addresses
    )
    return header + query[12:] + answers


def test_a_records_are_read_from_the_answer() -> None:
    query = a_query(0x1234, "kubernetes.default.svc.cluster.local")
    assert query[:2] == b"\x12\x34"
    assert query.endswith(b"\x07cluster\x05local\x00\x00\x01\x00\x01")
    name = "kubernetes.default.svc.cluster.local"
    assert a_records(reply(query, ["10.251.0.1", "10.0.0.2"]), 0x1234, name) == [
        "10.251.0.1",
        "10.0.0.2",
    ]


def test_errors_and_replies_to_other_queries_are_refused() -> None:
    query = a_query(7, "a.b")
    with pytest.raises(ClusterError, match="another query"):
        a_records(reply(query, []), 8, "a.b")
    with pytest.raises(ClusterError, match="rcode 3"):
        a_records(reply(query, [], rcode=3), 7, "a.b")


def test_dns_query_a_over_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))

        def answer() -> None:
            query, client = server.recvfrom(512)
            server.sendto(reply(query, ["10.251.0.1"]), client)

        t = threading.Thread(target=answer)
        t.start()
        assert dns_query_a(server.getsockname(), "kubernetes.default") == ["10.251.0.1"]
        t.join()
