"""The cluster's fixed names and addresses, and where its sources and binaries are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GOMOD = ROOT / "tools" / "k8s" / "gomod"
COREDNS_MOD = ROOT / "tools" / "k8s" / "coredns"
TOOLS = ROOT / ".tools"
BIN = TOOLS / "k8s" / "bin"
IMAGES_SH = ROOT / "deploy" / "images" / "build.sh"

NODE_NAME = "simlab-node"
NAMESPACE = "simlab-jobs"
BRIDGE = "simlab0"
POD_SUBNET = "10.250.0.0/24"
HOST_ADDRESS = "10.250.0.1"  # the bridge's address: pods reach the host here
SERVICE_SUBNET = "10.251.0.0/24"
# The `kubernetes` Service's ClusterIP (the first of the range) and the kube-dns Service's.
KUBERNETES_SERVICE_IP = SERVICE_SUBNET.rsplit(".", 1)[0] + ".1"
DNS_SERVICE_IP = SERVICE_SUBNET.rsplit(".", 1)[0] + ".10"
CLUSTER_DOMAIN = "cluster.local"
SANDBOX_IMAGE = "docker.io/simlab/pause:dev"
IPT_COMMENT = "simlab-k8s"
COREDNS_USER = "simlab:coredns"
CGROUP_ROOTS = ("kubepods", "kubepods.slice")
# One cluster per machine (they would share the bridge, the iptables rule and the kubelet's
# cgroups): this file names the state dir of the one that runs.
OWNER = Path("/run/simlab-k8s/owner")
COMPONENTS = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
]
# Started in this order, stopped in the reverse one.
PROCESSES = [
    "etcd",
    "containerd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "coredns",
]
# What `up` needs from Debian, by the command that proves it is there.
DEBIAN = {
    "etcd": "etcd-server",
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "openssl": "openssl",
    "iptables": "iptables",
    "conntrack": "conntrack",  # kube-proxy clears stale UDP (DNS) entries with it
    "ip": "iproute2",
    "buildah": "buildah",
    "mount": "mount",
}
# Kernel settings the kubelet rewrites when it starts (protectKernelDefaults: false);
# `up` records them and `down` puts them back.
KUBELET_SYSCTLS = [
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
]
