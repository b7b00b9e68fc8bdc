package kubetest

import "github.com/meshmatch/meshmatch/testing/proctest"

// The pinned control-plane versions; .ci/controlplane.sh builds these.
const (
	EtcdVersion          = "v3.6.5"
	KubeAPIServerVersion = "v1.37.2"
	CoreDNSVersion       = "1.15.0"
	IstiodVersion        = "v0.0.0-20260827124520-eed52ebb66ad"
)

// The control-plane binaries, found through the environment variables
// .ci/controlplane.sh prints (with a MESHMATCH_ prefix).
var (
	EtcdBinary = proctest.Binary{
		Name: "etcd", Env: "MESHMATCH_ETCD", VersionArgs: []string{"-version"}, Version: "etcd " + EtcdVersion,
		Hint: "build or reuse it with MESHMATCH_ETCD=$(.ci/controlplane.sh etcd | sed -n 's/^ETCD=//p')",
	}
	KubeAPIServerBinary = proctest.Binary{
		Name: "kube-apiserver", Env: "MESHMATCH_KUBE_APISERVER", VersionArgs: []string{"--version"}, Version: "Kubernetes " + KubeAPIServerVersion,
		Hint: "build or reuse it with MESHMATCH_KUBE_APISERVER=$(.ci/controlplane.sh kube-apiserver | sed -n 's/^KUBE_APISERVER=//p')",
	}
	CoreDNSBinary = proctest.Binary{
		Name: "coredns", Env: "MESHMATCH_COREDNS", VersionArgs: []string{"-version"}, Version: "CoreDNS-" + CoreDNSVersion,
		Hint: "build or reuse it with MESHMATCH_COREDNS=$(.ci/controlplane.sh coredns | sed -n 's/^COREDNS=//p')",
	}
	IstiodBinary = proctest.Binary{
		Name: "pilot-discovery", Env: "MESHMATCH_ISTIOD", VersionArgs: []string{"version", "-s"}, Version: IstiodVersion,
		Hint: "build or reuse it with MESHMATCH_ISTIOD=$(.ci/istiod.sh)",
	}
)
