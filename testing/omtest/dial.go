package omtest

import (
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/telemetry"
	"github.com/meshmatch/meshmatch/omclient"
)

// defaultDialer dials through meshmatch's headless strategy: round_robin over
// every address the target's host resolves to, re-resolved on a timer, so
// that match functions scaled up behind one name get calls. Its
// connections record telemetry with p's providers.
func defaultDialer(p telemetry.Providers) Dialer {
	opts := []omclient.Option{omclient.WithStrategy(balancer.Headless{})}
	if p.Meter != nil {
		opts = append(opts, omclient.WithMeterProvider(p.Meter))
	}
	if p.Tracer != nil {
		opts = append(opts, omclient.WithTracerProvider(p.Tracer))
	}
	return func(target string) (grpc.ClientConnInterface, io.Closer, error) {
		c, err := omclient.NewConn(target, opts...)
		if err != nil {
			return nil, nil, err
		}
		return c, c, nil
	}
}

// dialCache keeps one connection per target and closes them all on close.
type dialCache struct {
	dial Dialer

	mu     sync.Mutex
	conns  map[string]grpc.ClientConnInterface
	closer []io.Closer
	closed bool
}

func newDialCache(d Dialer) *dialCache {
	return &dialCache{dial: d, conns: make(map[string]grpc.ClientConnInterface)}
}

var errDialCacheClosed = errors.New("omtest: server closed")

func (d *dialCache) get(target string) (grpc.ClientConnInterface, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errDialCacheClosed
	}
	if cc, ok := d.conns[target]; ok {
		return cc, nil
	}
	cc, closer, err := d.dial(target)
	if err != nil {
		return nil, err
	}
	d.conns[target] = cc
	if closer != nil {
		d.closer = append(d.closer, closer)
	}
	return cc, nil
}

func (d *dialCache) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, c := range d.closer {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
