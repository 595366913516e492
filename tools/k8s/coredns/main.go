// A CoreDNS with only the plugins the local cluster's DNS uses (tools/k8s/cluster.py runs it on
// the host as the cluster DNS): the same build as upstream's, without the dozens of cloud
// plugins that would triple its build time.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func init() {
	// In upstream's plugin.cfg order: a request passes through them in this order.
	dnsserver.Directives = []string{"bind", "errors", "cache", "kubernetes"}
}

func main() {
	coremain.Run()
}
