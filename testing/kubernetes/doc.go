// Package kubernetes holds meshmatch's tests against a real Kubernetes
// control plane (testing/kubetest): every strategy run on Services and
// EndpointSlices created through a real kube-apiserver, with CoreDNS as the
// cluster DNS and istiod in Kubernetes mode, inside a network namespace whose
// lo carries the pod addresses.
//
// Every file but this one carries the build tag kubernetes. Run them, as
// root, with the binaries from .ci/controlplane.sh:
//
//	eval "$(.ci/controlplane.sh | sed 's/^/export MESHMATCH_/')"
//	go test -race -tags kubernetes ./testing/kubernetes/
//
// Without root or without a binary each test skips with the reason, unless
// MESHMATCH_INTEGRATION_REQUIRED is set (as in CI): then it fails.
package kubernetes
