package omtest

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// openMatchEnforcement is the keepalive enforcement policy of Open-Match's
// servers (internal/rpc/server.go): a client may ping every 10 s, with or
// without streams. grpc-go's default (5 min, no pings without streams) would
// send GOAWAY "too_many_pings" to Open-Match's own clients, which ping every
// 20 s. Config.ServerOptions can replace it.
var openMatchEnforcement = keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}

// serverOptions returns the options of every gRPC server of the core; codec
// is the core's wire codec (see wireCodec).
func serverOptions(codec wireCodec, extra []grpc.ServerOption) []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.WaitForHandlers(true), grpc.KeepaliveEnforcementPolicy(openMatchEnforcement), grpc.ForceServerCodecV2(codec),
	}
	return append(opts, extra...)
}
