package endpointslice

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/chain"
	"github.com/meshmatch/meshmatch/internal/endpointslice"
)

func init() {
	chain.Add(func(logger *slog.Logger) balancer.Strategy { return &Strategy{Logger: logger} })
}

// scheme is the per-connection resolver's scheme; it is never registered
// globally.
const scheme = "meshmatch-endpointslice"

const roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// Strategy watches the EndpointSlices of the Service an address names and
// balances round robin over the ready endpoints.
//
// Addresses are "name.namespace.svc.cluster.local:port" (any cluster
// domain), "name.namespace:port" or "name:port" (the pod's namespace). The
// port is a number, matched against the EndpointSlices' port numbers, which
// are the ports the pods listen on (the Service's ports for a headless
// Service whose targetPort equals its port); or the name of a Service port,
// such as "grpc", whose number each EndpointSlice gives (the pods'
// targetPort, which may differ between slices). Detect reports a port the
// Service's slices do not have, naming the ports they have.
//
// While the API server cannot be reached the connection keeps the last
// endpoints it knew and watches again with backoff; it lists again when
// its watch expired (410 Gone). The token file is read again for every list
// and watch, as bound service account tokens rotate.
//
// The zero value works in a pod with the service account's credentials.
type Strategy struct {
	// APIServer is the API server's https URL; "" means
	// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
	APIServer string
	// CAFile is the API server's CA bundle; "" means
	// /var/run/secrets/kubernetes.io/serviceaccount/ca.crt.
	CAFile string
	// TokenFile holds the bearer token; "" means
	// /var/run/secrets/kubernetes.io/serviceaccount/token.
	TokenFile string
	// Namespace is the namespace of addresses that name none; "" means the
	// pod's (/var/run/secrets/kubernetes.io/serviceaccount/namespace).
	Namespace string
	// Logger receives address changes (debug) and failed watches that keep
	// the last endpoints (warn). nil discards.
	Logger *slog.Logger
}

// Name returns "endpointslice".
func (*Strategy) Name() string { return "endpointslice" }

func (s *Strategy) config() endpointslice.Config {
	return endpointslice.Config{APIServer: s.APIServer, CAFile: s.CAFile, TokenFile: s.TokenFile, Namespace: s.Namespace}
}

// Detect lists the Service's EndpointSlices once within ctx: the strategy
// is available when the credentials exist, the list succeeds and the
// Service has EndpointSlices. A refused list names the missing permission.
func (s *Strategy) Detect(ctx context.Context, addr string) balancer.Detection {
	d := balancer.Detection{Strategy: s.Name()}
	t, err := endpointslice.ParseTarget(addr)
	if err == nil {
		d.Reason, err = endpointslice.Probe(ctx, s.config(), t)
	}
	if err != nil {
		d.Reason = err.Error()
	}
	d.Available = err == nil
	d.At = time.Now()
	return d
}

// Dial returns a round_robin connection over the ready endpoints of addr's
// Service. It does no I/O: the list and watch start in the background, and
// calls fail with the reason while no endpoint is known. Without transport
// credentials in opts the connection is plaintext.
func (s *Strategy) Dial(addr string, opts ...grpc.DialOption) (balancer.Conn, error) {
	t, err := endpointslice.ParseTarget(addr)
	if err != nil {
		return nil, err
	}
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	all := []grpc.DialOption{
		grpc.WithDefaultServiceConfig(roundRobin),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	all = append(all, opts...)
	why := new(endpointslice.Why)
	all = append(all, why.DialOptions()...)
	all = append(all, grpc.WithResolvers(endpointslice.NewBuilder(scheme, s.config(), t, why, logger)))
	cc, err := grpc.NewClient(scheme+":///"+addr, all...)
	if err != nil {
		return nil, fmt.Errorf("endpointslice: %w", err)
	}
	return cc, nil
}
