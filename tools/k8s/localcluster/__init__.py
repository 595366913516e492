"""A real single-node Kubernetes cluster on this machine, bound to loopback, without Docker.

    tools/k8s/cluster.py build              build the pinned Kubernetes binaries (once, cached)
    tools/k8s/cluster.py up [--state-dir D] start etcd, kube-apiserver, kube-controller-manager,
                                            kube-scheduler, containerd, kubelet, kube-proxy and
                                            CoreDNS; wait until the node is Ready, Services and
                                            cluster DNS answer and namespace simlab-jobs is usable
    tools/k8s/cluster.py down [--purge]     stop all of it; unmount, delete the bridge, the
                                            iptables rules and the cgroups it made
    tools/k8s/cluster.py status             say what runs
    tools/k8s/cluster.py env                print the settings a client needs (shell syntax)

`make cluster-up`, `make cluster-down` and the pytest fixture in tests/k8s/ all call
tools/k8s/cluster.py, the entry point of this package. Standard library only: it runs with any
python3 >= 3.9, before the project's venv exists.

Everything lives in <state>/k8s (default state dir: .simlab in the repository root):
  admin.kubeconfig     cluster-admin credentials (client certificate)
  cluster.json         ports, addresses and versions of the running cluster
  pki/                 a small CA and the certificates of every component (openssl)
  etcd/ containerd/ kubelet/ cni/    data of each component;  logs/  one log per process
Binaries and caches live in .tools/ (git-ignored): .tools/k8s/bin holds the binaries built from
the wrapper Go module tools/k8s/gomod, whose go.mod is the one place the version is pinned.

Pods reach services on the host through the bridge's address (HOST_ADDRESS, also in
cluster.json as "host_address"): a DNAT rule sends TCP from pods to that address on to
127.0.0.1, same port, so a platform service listening on 127.0.0.1:PORT is reachable from a pod
at HOST_ADDRESS:PORT without changing what it binds. Pods have no route beyond the host.

Services work as on any cluster: kube-proxy (iptables mode) runs on the host and CoreDNS, also
on the host, answers for cluster.local behind the usual kube-dns Service (DNS_SERVICE_IP), so a
Helm chart's `postgresql.<ns>.svc` names and ClusterIPs resolve and connect from pods. The
kube-apiserver listens on HOST_ADDRESS (not 127.0.0.1) because that is the address the
`kubernetes` Service forwards in-cluster clients to; it is on the bridge only, not on any
outside interface.

Modules, in the order `up` uses them:
  constants  fixed names, addresses and paths of the repository
  host       running commands, the prerequisites (root, cgroups, Debian packages), sysctls
  build      the pinned Kubernetes components and CoreDNS, built once into .tools/k8s/bin
  layout     the plain data every command line is made from: Paths (a state dir) and Ports
  commands   each component's command line, a pure function of Paths and Ports
  configs    each component's config file contents, pure functions of Paths and Ports
  pki        the CA, the certificates (openssl) and the kubeconfigs
  procs      starting, finding, waiting for and stopping the component processes
  state      one state dir's cluster: its processes, cluster.json and the API
  network    the bridge, the DNAT to the host and the iptables rules; and their removal
  up         `up`: everything in order, the node Ready, namespace simlab-jobs usable
  dns        kube-proxy, CoreDNS and the kube-dns Service in front of it
  down       `down`: every process, mount, namespace, rule, bridge and cgroup removed
  cli        the command line
"""
