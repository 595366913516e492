"""The command line of each component: pure functions of the cluster's Paths and Ports."""

from __future__ import annotations

from .constants import HOST_ADDRESS, NODE_NAME, SERVICE_SUBNET
from .layout import Paths, Ports


def etcd_args(paths: Paths, ports: Ports) -> list[str]:
    """Debian's etcd 3.4, TLS with client certificates."""
    pki = paths.pki
    return [
        "--name",
        "simlab",
        "--data-dir",
        str(paths.etcd_data),
        "--listen-client-urls",
        ports.etcd_url,
        "--advertise-client-urls",
        ports.etcd_url,
        "--listen-peer-urls",
        ports.etcd_peer_url,
        "--initial-advertise-peer-urls",
        ports.etcd_peer_url,
        "--initial-cluster",
        f"simlab={ports.etcd_peer_url}",
        "--initial-cluster-state",
        "new",
        "--cert-file",
        str(pki / "etcd.crt"),
        "--key-file",
        str(pki / "etcd.key"),
        "--client-cert-auth",
        "--trusted-ca-file",
        str(pki / "ca.crt"),
        "--log-level",
        "warn",
        "--logger",
        "zap",
        "--snapshot-count",
        "10000",
        "--quota-backend-bytes",
        str(2 << 30),
    ]


def containerd_args(paths: Paths) -> list[str]:
    return ["--config", str(paths.containerd_config), "--log-level", "warn"]


def apiserver_args(paths: Paths, ports: Ports) -> list[str]:
    pki = paths.pki
    return [
        f"--bind-address={HOST_ADDRESS}",
        f"--secure-port={ports.apiserver}",
        f"--advertise-address={HOST_ADDRESS}",
        f"--etcd-servers={ports.etcd_url}",
        f"--etcd-cafile={pki / 'ca.crt'}",
        f"--etcd-certfile={pki / 'apiserver-etcd-client.crt'}",
        f"--etcd-keyfile={pki / 'apiserver-etcd-client.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        # The node's hostname (simlab-node) resolves nowhere: reach it by its IP.
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction,PodSecurity",
        # So that PodSecurity, not this flag, is what refuses privileged pods.
        "--allow-privileged=true",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_SUBNET}",
        # The aggregation layer's front proxy (also what other components read as the
        # request-header CA).
        f"--requestheader-client-ca-file={pki / 'ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
        "--profiling=false",
        "--v=1",
    ]


def controller_manager_args(paths: Paths, ports: Ports) -> list[str]:
    pki = paths.pki
    kubeconfig = paths.component_kubeconfig("controller-manager")
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.controller_manager}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        "--use-service-account-credentials=true",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--service-cluster-ip-range={SERVICE_SUBNET}",
        "--cluster-name=simlab",
        "--leader-elect=false",
        "--controllers=*",
        "--v=1",
    ]


def scheduler_args(paths: Paths, ports: Ports) -> list[str]:
    kubeconfig = paths.component_kubeconfig("scheduler")
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.scheduler}",
        "--leader-elect=false",
        "--v=1",
    ]


def kubelet_args(paths: Paths) -> list[str]:
    """The rest of its settings are in its config file (configs.kubelet_config)."""
    return [
        f"--config={paths.kubelet_config}",
        f"--kubeconfig={paths.component_kubeconfig('kubelet')}",
        f"--root-dir={paths.kubelet_dir}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={HOST_ADDRESS}",
        "--v=1",
    ]


def kube_proxy_args(paths: Paths) -> list[str]:
    return [f"--config={paths.kube_proxy_config}", "--v=1"]


def coredns_args(paths: Paths) -> list[str]:
    return ["-conf", str(paths.corefile)]
