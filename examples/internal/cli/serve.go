package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/meshmatch/meshmatch/omclient"
)

// ShutdownTimeout bounds how long Serve waits for calls in flight once its
// context is done.
const ShutdownTimeout = 5 * time.Second

// Serve serves srv on lis until ctx is done, then shuts it down gracefully,
// waiting at most ShutdownTimeout for the calls in flight. It returns nil
// after a graceful stop.
func Serve(ctx context.Context, srv *omclient.Server, lis net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", lis.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
