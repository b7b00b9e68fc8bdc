#!/usr/bin/env bash
# Regenerates the Go code for the Open-Match v1 API from api/*.proto.
# Needs protoc (Debian: protobuf-compiler). The Go plugins are pinned in tools/go.mod.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$root/tools" && go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc)
protoc -I . \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --go_out=. --go_opt=module=github.com/meshmatch/meshmatch/omclient/pb \
  --go-grpc_out=. --go-grpc_opt=module=github.com/meshmatch/meshmatch/omclient/pb \
  api/*.proto
