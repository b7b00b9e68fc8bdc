// Package kubetest runs a real Kubernetes control plane for tests: etcd,
// kube-apiserver, CoreDNS and istiod in Kubernetes mode, the pinned binaries
// that .ci/controlplane.sh builds, each started with proctest and torn down
// with the test. Objects are created through the API server as a user's
// cluster has them: Services and hand-made EndpointSlices (no
// controller-manager runs, so nothing makes slices from Pods), manifests
// applied server-side, ServiceAccount tokens from the TokenRequest API,
// RBAC enforced.
//
// EndpointSlices refuse loopback addresses, so the tests run inside a
// network namespace of their own: Main re-executes the test binary under
// `unshare -n -m`, brings lo up, puts the pod addresses (PodAddr) and the
// cluster DNS address (DNSAddr) on it, and points /etc/resolv.conf (a bind
// mount private to the namespace) at CoreDNS with a pod's search path, so a
// client resolves names the way it does in a pod. Nothing leaves the
// namespace. Without root, or without the binaries, the tests skip with the
// reason, or fail when MESHMATCH_INTEGRATION_REQUIRED is set (CI).
//
// Where the binaries are: MESHMATCH_ETCD, MESHMATCH_KUBE_APISERVER,
// MESHMATCH_COREDNS and MESHMATCH_ISTIOD, as `.ci/controlplane.sh` prints
// them:
//
//	eval "$(.ci/controlplane.sh | sed 's/^/export MESHMATCH_/')"
//	go test -tags kubernetes ./...
package kubetest
