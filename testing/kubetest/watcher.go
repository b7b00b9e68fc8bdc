package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// watcherRBAC is what deploy/overlays/endpointslice grants meshmatch's
// clients: list and watch on EndpointSlices in one namespace, nothing else.
const watcherRBAC = `apiVersion: v1
kind: ServiceAccount
metadata: {name: %[2]s, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[2]s, namespace: %[1]s}
rules:
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[2]s, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[2]s}
subjects:
- {kind: ServiceAccount, name: %[2]s, namespace: %[1]s}
`

// ServiceAccountToken creates ServiceAccount sa in namespace ns (and ns),
// with a Role and RoleBinding granting exactly list and watch on
// EndpointSlices in ns when watch is set, and writes one of its tokens
// (TokenRequest API, one hour) to a file in dir, as the kubelet mounts one
// into a pod. It returns the file's path.
func (c *Cluster) ServiceAccountToken(ctx context.Context, ns, sa string, watch bool, dir string) (string, error) {
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		return "", err
	}
	manifest := fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s, namespace: %s}\n", sa, ns)
	if watch {
		manifest = fmt.Sprintf(watcherRBAC, ns, sa)
	}
	if err := c.Apply(ctx, []byte(manifest)); err != nil {
		return "", err
	}
	tok, err := c.Token(ctx, ns, sa)
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, sa+".token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		return "", fmt.Errorf("kubetest: token of %s/%s: %w", ns, sa, err)
	}
	return file, nil
}
