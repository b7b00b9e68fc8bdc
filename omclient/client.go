package omclient

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
)

// settings are what a typed client takes from its connection.
type settings struct {
	retry  RetryPolicy
	logger *slog.Logger
	grace  time.Duration
	owned  *Conn // closed by the typed client's Close when it dialled it
	conn   *Conn // the connection, when it is a *Conn
}

// settingsFor returns the retry policy and logger of cc when it is a *Conn, and
// the defaults for any other grpc.ClientConnInterface.
func settingsFor(cc grpc.ClientConnInterface) settings {
	if c, ok := cc.(*Conn); ok {
		return settings{retry: c.retry, logger: c.logger, grace: c.grace, conn: c}
	}
	cfg, _ := newConfig(nil)
	return settings{retry: cfg.retry, logger: cfg.logger, grace: cfg.watchGrace}
}

// decision is the connection's Decision, or says why there is none.
func (s settings) decision() balancer.Decision {
	if s.conn == nil {
		return balancer.Decision{Reason: "not made over an *omclient.Conn"}
	}
	return s.conn.Decision()
}

func (s settings) close() error {
	if s.owned == nil {
		return nil
	}
	return s.owned.Close()
}

// usable returns cc, or, when cc is nil (or a nil *Conn), a connection whose
// every call fails with FailedPrecondition naming the constructor, so that
// NewFrontend(nil) and friends give an error instead of a panic on the
// first call.
func usable(ctor string, cc grpc.ClientConnInterface) grpc.ClientConnInterface {
	if c, ok := cc.(*Conn); cc == nil || ok && c == nil {
		return nilConn{ctor: ctor}
	}
	return cc
}

// nilConn is the connection of a client made over a nil one.
type nilConn struct{ ctor string }

func (n nilConn) err() error {
	return status.Errorf(codes.FailedPrecondition, "omclient: %s was given a nil connection", n.ctor)
}

func (n nilConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return n.err()
}

func (n nilConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, n.err()
}
