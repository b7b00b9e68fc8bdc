package omclient

import (
	"log/slog"
	"time"

	"google.golang.org/grpc"
)

// settings are what a typed client takes from its connection.
type settings struct {
	retry  RetryPolicy
	logger *slog.Logger
	grace  time.Duration
	owned  *Conn // closed by the typed client's Close when it dialled it
}

// settingsFor returns the retry policy and logger of cc when it is a *Conn, and
// the defaults for any other grpc.ClientConnInterface.
func settingsFor(cc grpc.ClientConnInterface) settings {
	if c, ok := cc.(*Conn); ok {
		return settings{retry: c.retry, logger: c.logger, grace: c.grace}
	}
	cfg := newConfig(nil)
	return settings{retry: cfg.retry, logger: cfg.logger, grace: cfg.watchGrace}
}

func (s settings) close() error {
	if s.owned == nil {
		return nil
	}
	return s.owned.Close()
}
