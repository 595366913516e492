"""The components' config files: pure functions of the cluster's Paths and Ports that return
their contents (text, or the JSON object to write)."""

from __future__ import annotations

import base64
import json
from typing import Any

from .constants import (
    BRIDGE,
    CLUSTER_DOMAIN,
    DNS_SERVICE_IP,
    HOST_ADDRESS,
    NAMESPACE,
    NODE_NAME,
    POD_SUBNET,
    SANDBOX_IMAGE,
    SERVICE_SUBNET,
)
from .layout import Paths, Ports


def json_text(obj: Any) -> str:
    """How the config files are written (JSON is YAML: the components read either)."""
    return json.dumps(obj, indent=2) + "\n"


def containerd_config(paths: Paths, runc: str) -> str:
    """A containerd of the cluster's own, apart from any system one; RUNC: the runc binary."""
    c = paths.ctr_dir
    return f"""# Written by tools/k8s/cluster.py: a containerd of its own for the Simlab
# cluster, apart from any system containerd (own socket, root and state dirs).
version = 2
root = "{c}/root"
state = "{c}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{paths.ctr_sock}"

[ttrpc]
  address = "{c}/containerd.sock.ttrpc"

[debug]
  address = "{c}/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{c}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{SANDBOX_IMAGE}"
  enable_selinux = false
  # Pod network namespaces under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  # Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE, which this machine does not
  # grant (runc fails with "failed to update /proc/self/oom_score_adj: Permission denied"):
  # keep every container's score at or above containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{c}/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{paths.cni_dir}/net.d"
    max_conf_num = 1
"""


def cni_conflist(paths: Paths) -> dict[str, Any]:
    """The pod network: Debian's CNI bridge on BRIDGE, addresses from POD_SUBNET."""
    return {
        "cniVersion": "0.4.0",
        "name": "simlab",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                # No default route and no masquerade: pods reach the host (HOST_ADDRESS) and
                # each other, nothing beyond this machine.
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET, "gateway": HOST_ADDRESS}]],
                    # Pods reach ClusterIPs through the host.
                    "routes": [{"dst": SERVICE_SUBNET}],
                    "dataDir": str(paths.cni_dir / "ipam"),
                },
            }
        ],
    }


def kubelet_config(paths: Paths, ports: Ports) -> dict[str, Any]:
    pki = paths.pki
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": HOST_ADDRESS,
        "port": ports.kubelet,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": ports.kubelet_healthz,
        "tlsCertFile": str(pki / "kubelet.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{paths.ctr_sock}",
        "imageServiceEndpoint": f"unix://{paths.ctr_sock}",
        "cgroupDriver": "cgroupfs",
        # This machine has hybrid cgroups (v1 controllers) and no swap accounting to rely on.
        "failCgroupV1": False,
        "failSwapOn": False,
        "podLogsDir": str(paths.pod_logs),
        # Our images cannot be pulled again: never garbage-collect them, and keep disk
        # pressure evictions for a nearly full disk.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
            "nodefs.inodesFree": "2%",
        },
        # No iptables chains of the kubelet's own: cluster-down has only our rule to remove.
        "makeIPTablesUtilChains": False,
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "registerNode": True,
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [DNS_SERVICE_IP],
        "resolvConf": "/etc/resolv.conf",
        "staticPodPath": "",
        "maxPods": 110,
        "nodeStatusUpdateFrequency": "5s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        "shutdownGracePeriod": "0s",
    }


def kube_proxy_config(paths: Paths, ports: Ports) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(paths.component_kubeconfig("kube-proxy"))},
        "hostnameOverride": NODE_NAME,
        "bindAddress": HOST_ADDRESS,
        "healthzBindAddress": f"127.0.0.1:{ports.kube_proxy_healthz}",
        "metricsBindAddress": f"127.0.0.1:{ports.kube_proxy_metrics}",
        "mode": "iptables",
        "clusterCIDR": POD_SUBNET,
        "nodePortAddresses": [f"{HOST_ADDRESS}/32"],
        "iptables": {
            # Pod -> ClusterIP -> pod on the same bridge answers through the host, and so does
            # a pod reaching its own Service (hairpin).
            "masqueradeAll": True,
            "localhostNodePorts": False,
            "minSyncPeriod": "0s",
            "syncPeriod": "30s",
        },
        # Leave the machine's conntrack settings alone (not ours to change).
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def corefile(paths: Paths, ports: Ports) -> str:
    """CoreDNS on the bridge address; no forwarding beyond the cluster domain (pods have no
    route beyond this machine)."""
    return f""".:{ports.dns} {{
    bind {HOST_ADDRESS}
    errors
    cache 5
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {paths.component_kubeconfig("coredns")} simlab
        pods insecure
        ttl 5
    }}
}}
"""


def kubeconfig(server: str, user: str, ca: bytes, cert: bytes, key: bytes) -> dict[str, Any]:
    """A kubeconfig for USER with its client certificate CERT and KEY (PEM), the CA's CA."""

    def b64(pem: bytes) -> str:
        return base64.b64encode(pem).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "simlab",
                "cluster": {"server": server, "certificate-authority-data": b64(ca)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)},
            }
        ],
        "contexts": [{"name": "simlab", "context": {"cluster": "simlab", "user": user}}],
        "current-context": "simlab",
    }


def jobs_namespace() -> dict[str, Any]:
    """The namespace the platform runs jobs in, under the restricted Pod Security profile."""
    modes = ("enforce", "audit", "warn")
    labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in modes}
    labels |= {f"pod-security.kubernetes.io/{mode}-version": "latest" for mode in modes}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": labels},
    }
