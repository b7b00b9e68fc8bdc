// Package pb is the Open-Match v1 API: messages and gRPC service stubs generated
// from this package's own api/*.proto files.
//
// The protos use proto package "openmatch" with the same service, method, message,
// field and enum names and numbers as Open-Match v1.8, so the code here talks to a
// real Open-Match core and the Go identifiers match open-match.dev/open-match/pkg/pb:
// migrating is an import-path change.
//
// Both packages register the "openmatch.*" full names with protobuf-go, so they must
// not be linked into the same binary (protobuf-go panics at init on the conflict).
//
// The *.pb.gw.go files are grpc-gateway v2 handlers for the same API as
// HTTP/JSON at Open-Match's REST paths (the protos' google.api.http options),
// e.g. RegisterFrontendServiceHandlerFromEndpoint; examples/omcore serves them.
//
// Regenerate with "go generate ./omclient/pb" (needs protoc on PATH).
package pb

//go:generate bash generate.sh
