package balancer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Static balances calls round robin over a fixed list of addresses. Use it in
// tests and local runs, where the backends are known and do not change.
type Static struct {
	// Addrs are the backends, "host:port" each.
	Addrs []string
}

// Name returns "static".
func (Static) Name() string { return "static" }

// Detect reports Static available when Addrs is non-empty and every address
// in it is valid. It does no I/O.
func (s Static) Detect(_ context.Context, addr string) Detection {
	d := Detection{Strategy: s.Name(), At: time.Now()}
	if err := s.check(addr); err != nil {
		d.Reason = err.Error()
		return d
	}
	d.Available = true
	d.Reason = fmt.Sprintf("%d fixed addresses", len(s.Addrs))
	return d
}

// Dial returns a round_robin connection over Addrs. addr is checked and used
// as the connection's authority only. Without transport credentials in opts
// the connection is plaintext.
func (s Static) Dial(addr string, opts ...grpc.DialOption) (Conn, error) {
	if err := s.check(addr); err != nil {
		return nil, fmt.Errorf("balancer: static: %w", err)
	}
	b := dnsresolver.NewStaticBuilder(staticScheme, s.Addrs)
	cc, err := dialRoundRobin(b, addr, insecureDefault(), opts, nil)
	if err != nil {
		return nil, fmt.Errorf("balancer: static: %w", err)
	}
	return cc, nil
}

// check validates addr and Addrs.
func (s Static) check(addr string) error {
	if _, _, err := dnsresolver.SplitHostPort(addr); err != nil {
		return err
	}
	if len(s.Addrs) == 0 {
		return errors.New("no addresses")
	}
	for _, a := range s.Addrs {
		if _, _, err := dnsresolver.SplitHostPort(a); err != nil {
			return err
		}
	}
	return nil
}
