#!/usr/bin/env bash
# Builds the pinned Kubernetes test control plane once per machine, or reuses
# it: etcd, kube-apiserver and CoreDNS, each in its own scratch module outside
# the clone (never in meshmatch's go.mod), from the Go module proxy. istiod
# comes from .ci/istiod.sh. Binaries are cached by version (and by the sha256
# of the small mains under .ci/controlplane/) under
# ${MESHMATCH_CACHE:-$HOME/.cache/meshmatch}/<name>/<version>/.
#
# Prints one NAME=path line per binary on stdout (etcd, kube-apiserver,
# coredns, istiod), ready to export; progress goes to stderr.
# Usage: .ci/controlplane.sh [etcd|kube-apiserver|coredns|istiod ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${MESHMATCH_CACHE:-$HOME/.cache/meshmatch}
export GOWORK=off GOFLAGS=-buildvcs=false GO111MODULE=on

etcd_version=v3.6.5
kube_version=v1.37.2
coredns_version=v1.15.0

# cached NAME VERSION STAMP: prints the cached binary and returns 0 when it
# was built from the same inputs.
cached() {
  local bin=$cache/$1/$2/$1
  if [ -x "$bin" ] && [ "$(cat "$bin.stamp" 2>/dev/null)" = "$3" ]; then
    echo "$1 $2: reusing $bin" >&2
    echo "$bin"
    return 0
  fi
  return 1
}

# install NAME VERSION STAMP FILE: moves a built binary into the cache.
install_bin() {
  local dir=$cache/$1/$2
  mkdir -p "$dir"
  mv "$4" "$dir/$1.tmp.$$"
  mv "$dir/$1.tmp.$$" "$dir/$1"
  echo "$3" >"$dir/$1.stamp"
  echo "$1 $2: built $dir/$1" >&2
  echo "$dir/$1"
}

scratch() {
  work=$(mktemp -d)
  cd "$work"
  go mod init "meshmatch.invalid/$1-build" >/dev/null 2>&1
}

build_etcd() {
  local stamp
  stamp=$(sha256sum "$here/controlplane/etcd/main.go" | cut -d' ' -f1)
  cached etcd $etcd_version "$stamp" && return
  echo "etcd $etcd_version: building" >&2
  ( scratch etcd
    cp "$here/controlplane/etcd/main.go" .
    go get "go.etcd.io/etcd/server/v3@$etcd_version" >&2
    go mod tidy >&2
    go build -trimpath -o etcd . >&2
    install_bin etcd $etcd_version "$stamp" "$work/etcd"
    rm -rf "$work" )
}

build_kube_apiserver() {
  local stamp=k8s.io/kubernetes@$kube_version+version-ldflags
  cached kube-apiserver $kube_version "$stamp" && return
  echo "kube-apiserver $kube_version: building (about 12 min cold on 2 cores)" >&2
  ( scratch kube-apiserver
    gomod=$(go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
    # them with ./staging; a module that depends on it replaces them with the
    # published release of the same minor.
    staging=$(awk '/^\tk8s.io\/[a-z0-9-]+ v0.0.0$/ {print $1}' "$gomod" | sort -u)
    [ -n "$staging" ] || { echo "no staging modules found in $gomod" >&2; exit 1; }
    for m in $staging; do go mod edit -replace "$m=$m@v0${kube_version#v1}"; done
    go mod edit -require "k8s.io/kubernetes@$kube_version"
    printf 'package main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
    go mod tidy >&2 || true
    rm tools.go
    # The version the binary reports (--version, /version) and emulates.
    v=k8s.io/component-base/version
    minor=${kube_version#v1.}; minor=${minor%%.*}
    go build -trimpath -o kube-apiserver \
      -ldflags "-X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
      k8s.io/kubernetes/cmd/kube-apiserver >&2
    install_bin kube-apiserver $kube_version "$stamp" "$work/kube-apiserver"
    rm -rf "$work" )
}

build_coredns() {
  local stamp
  stamp=$(sha256sum "$here/controlplane/coredns/main.go" | cut -d' ' -f1)
  cached coredns $coredns_version "$stamp" && return
  echo "coredns $coredns_version: building" >&2
  ( scratch coredns
    cp "$here/controlplane/coredns/main.go" .
    go get "github.com/coredns/coredns@$coredns_version" >&2
    go mod tidy >&2
    go build -trimpath -o coredns . >&2
    install_bin coredns $coredns_version "$stamp" "$work/coredns"
    rm -rf "$work" )
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(etcd kube-apiserver coredns istiod)
for n in "${names[@]}"; do
  case $n in
    etcd) echo "ETCD=$(build_etcd | tail -1)" ;;
    kube-apiserver) echo "KUBE_APISERVER=$(build_kube_apiserver | tail -1)" ;;
    coredns) echo "COREDNS=$(build_coredns | tail -1)" ;;
    istiod) echo "ISTIOD=$("$here/istiod.sh" | tail -1)" ;;
    *) echo "unknown binary $n" >&2; exit 2 ;;
  esac
done
