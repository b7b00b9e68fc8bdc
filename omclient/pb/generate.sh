#!/usr/bin/env bash
# Regenerates the Go code for the Open-Match v1 API from api/*.proto: messages,
# gRPC stubs and the grpc-gateway HTTP/JSON handlers (*.pb.gw.go).
# Needs protoc (Debian: protobuf-compiler). The Go plugins are pinned in tools/go.mod.
# googleapis/ holds the google.api.http option that the protos import.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$root/tools" && go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway)
mod=github.com/meshmatch/meshmatch/omclient/pb
protoc -I . -I googleapis \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --plugin=protoc-gen-grpc-gateway="$bin/protoc-gen-grpc-gateway" \
  --go_out=. --go_opt=module=$mod \
  --go-grpc_out=. --go-grpc_opt=module=$mod \
  --grpc-gateway_out=. --grpc-gateway_opt=module=$mod,omit_package_doc=true \
  api/*.proto
