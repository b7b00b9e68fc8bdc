package xds

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

// conn is the connection Dial returns: grpc-go's, with errors that say what
// the resolver is still waiting for when a call's deadline passes first.
// grpc-go holds calls while its xDS resolver has no configuration and then
// fails them with a bare DeadlineExceeded.
type conn struct {
	*grpc.ClientConn
	track *tracker
}

// Invoke is grpc.ClientConn.Invoke with the error explained.
func (c *conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.track.explain(c.ClientConn.Invoke(ctx, method, args, reply, opts...))
}

// NewStream is grpc.ClientConn.NewStream with the error explained.
func (c *conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := c.ClientConn.NewStream(ctx, desc, method, opts...)
	return s, c.track.explain(err)
}

// phase is how far a connection's resolver has got.
type phase int

const (
	phaseBootstrap  phase = iota // waiting for the bootstrap file
	phaseConfig                  // grpc-go's xDS client runs; no configuration yet
	phaseConfigured              // grpc-go's xDS resolver has sent a configuration
)

// tracker records how far one connection's resolver has got.
type tracker struct {
	listener string // the Listener the connection asks for: "host:port"

	mu     sync.Mutex
	phase  phase
	detail string // the bootstrap file while waiting, else the xDS server
}

func (t *tracker) waiting(path string) { t.set(phaseBootstrap, path) }

func (t *tracker) running(bootstrap []byte) {
	t.set(phaseConfig, xdsbootstrap.ServerURI(bootstrap))
}

func (t *tracker) configured() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = phaseConfigured
}

func (t *tracker) set(p phase, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase, t.detail = p, detail
}

// noEndpoints are the texts of grpc-go v1.85's balancers when the
// configuration has a cluster for the listener but no endpoint in it:
// weighted_target, priority, cluster_manager and round_robin pickers.
var noEndpoints = []string{"no targets to pick from", "no children to pick from", "produced zero addresses", "no priority"}

// explain adds to a DeadlineExceeded error what the resolver was still
// waiting for, and to an Unavailable error of an empty cluster which
// service has no endpoints, keeping the code.
func (t *tracker) explain(err error) error {
	if status.Code(err) == codes.Unavailable {
		return t.explainEmpty(err)
	}
	if status.Code(err) != codes.DeadlineExceeded {
		return err
	}
	t.mu.Lock()
	p, detail := t.phase, t.detail
	t.mu.Unlock()
	switch p {
	case phaseBootstrap:
		return fmt.Errorf("xds: still waiting for the bootstrap file %s: %w", detail, err)
	case phaseConfig:
		return fmt.Errorf("xds: no Listener (or no complete configuration) for %q from xDS server %s yet; "+
			"istiod sends a Listener only for a service in the mesh, named by its FQDN and port: %w", t.listener, detail, err)
	}
	return err
}

// explainEmpty names the listener when grpc-go failed a call because its
// cluster has no endpoints (istiod sends an empty one for a Service with no
// ready pods), which grpc-go's own text does not say.
func (t *tracker) explainEmpty(err error) error {
	msg := status.Convert(err).Message()
	for _, s := range noEndpoints {
		if strings.Contains(msg, s) {
			t.mu.Lock()
			detail := t.detail
			t.mu.Unlock()
			return fmt.Errorf("xds: no ready endpoint for %q in the configuration from xDS server %s (a Service with no ready pods?): %w", t.listener, detail, err)
		}
	}
	return err
}

// trackingCC is the resolver.ClientConn grpc-go's xDS resolver gets: it
// notes the first configuration. grpc-go v1.85's xDS resolver attaches its
// config selector to every state built from a Listener and its route, and
// sends a state without attributes, followed by ReportError, when it has
// none to offer.
type trackingCC struct {
	resolver.ClientConn
	t *tracker
}

// UpdateState notes a configuration and passes s on.
func (c *trackingCC) UpdateState(s resolver.State) error {
	if s.Attributes != nil {
		c.t.configured()
	}
	return c.ClientConn.UpdateState(s)
}
