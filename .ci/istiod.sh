#!/usr/bin/env bash
# Builds the pinned istiod (pilot-discovery) once per machine, or reuses it.
#
# The build happens in its own scratch module outside the clone (never in
# meshmatch's go.mod), from the Go module proxy, with the guard in
# istiod-nil-namespaces.patch applied to a copy of the istio module so that
# istiod runs in file-config mode with no Kubernetes API server. The binary is
# cached by version under ${MESHMATCH_CACHE:-$HOME/.cache/meshmatch}/istiod/;
# a cached binary built with the same patch is reused without building.
#
# Istio's CRDs (manifests/charts/base/files/crd-all.gen.yaml of the same
# module version), which istiod needs in Kubernetes mode, are copied next to
# the binary as crd-all.gen.yaml.
#
# The last line of stdout is the binary's path; progress goes to stderr.
# Usage: .ci/istiod.sh            (build or reuse, print the path)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v0.0.0-20260827124520-eed52ebb66ad
patchfile=$here/istiod-nil-namespaces.patch
dir=${MESHMATCH_CACHE:-$HOME/.cache/meshmatch}/istiod/$version
bin=$dir/pilot-discovery
stamp=$dir/patch.sha256
want=$(sha256sum "$patchfile" | cut -d' ' -f1)

export GOWORK=off GOFLAGS=-buildvcs=false GO111MODULE=on

# crds copies Istio's CRDs from the module cache (downloading the module if
# needed) next to the binary.
crds() {
  [ -s "$dir/crd-all.gen.yaml" ] && return
  local src
  src=$(cd "$dir" && go mod download -json "istio.io/istio@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  cp "$src/manifests/charts/base/files/crd-all.gen.yaml" "$dir/crd-all.gen.yaml.tmp.$$"
  chmod u+w "$dir/crd-all.gen.yaml.tmp.$$"
  mv "$dir/crd-all.gen.yaml.tmp.$$" "$dir/crd-all.gen.yaml"
}

if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  crds
  echo "istiod $version: reusing $bin" >&2
  echo "$bin"
  exit 0
fi

echo "istiod $version: building (several minutes on 2 cores)" >&2
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
go mod init meshmatch.invalid/istiod-build >/dev/null 2>&1
go get "istio.io/istio/pilot/cmd/pilot-discovery@$version" >&2
# Go refuses -overlay for files in the module cache: patch a copy instead.
src=$(go list -m -f '{{.Dir}}' istio.io/istio)
cp -r "$src" istio
chmod -R u+w istio
patch -s -d istio -p1 --forward <"$patchfile" >&2
go mod edit -replace istio.io/istio=./istio
v=istio.io/istio/pkg/version
go build -trimpath -o pilot-discovery \
  -ldflags "-X $v.buildVersion=$version -X $v.buildGitRevision=eed52ebb66ad -X $v.buildStatus=Modified -X $v.buildTag=$version+meshmatch-nil-namespaces" \
  istio.io/istio/pilot/cmd/pilot-discovery
mkdir -p "$dir"
mv pilot-discovery "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
echo "$want" >"$stamp"
crds
echo "istiod $version: built $bin" >&2
echo "$bin"
