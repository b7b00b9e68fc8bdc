package balancertest

import (
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
)

// FastReconnect makes a connection retry a dead backend within 20–200 ms
// instead of grpc-go's default backoff of up to 120 s, so that tests that
// stop and start backends see them back at once.
var FastReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

// Dial dials addr with s in plaintext with FastReconnect, then opts, and
// closes the connection on t.Cleanup.
func Dial(t testing.TB, s balancer.Strategy, addr string, opts ...grpc.DialOption) balancer.Conn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), FastReconnect}, opts...)
	conn, err := s.Dial(addr, opts...)
	if err != nil {
		t.Fatalf("%s.Dial(%q) = %v, want nil error", s.Name(), addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
