package omclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
)

// TestMaxElapsedOnlyWithoutDeadline: RetryPolicy.MaxElapsed bounds retrying
// a call whose context has no deadline, and is ignored when it has one (the
// deadline is the caller's bound).
func TestMaxElapsedOnlyWithoutDeadline(t *testing.T) {
	policy := omclient.RetryPolicy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxElapsed: time.Millisecond}
	unavailable := func(n int) []error {
		errs := make([]error, n)
		for i := range errs {
			errs[i] = errUnavailable
		}
		return errs
	}
	t.Run("with a deadline", func(t *testing.T) {
		fe, srv := startFrontend(t)
		fe.fail("GetTicket", unavailable(20)...)
		f := omclient.NewFrontend(dial(t, srv.addr, omclient.WithRetryPolicy(policy)))
		_, err := f.GetTicket(testContext(t), "t1")
		require.NoError(t, err, "GetTicket() with a 10 s deadline and MaxElapsed 1 ms")
		assert.Equal(t, 21, fe.count("GetTicket"), "GetTicket calls the server saw")
	})
	t.Run("without a deadline", func(t *testing.T) {
		fe, srv := startFrontend(t)
		fe.fail("GetTicket", unavailable(1000)...)
		f := omclient.NewFrontend(dial(t, srv.addr, omclient.WithRetryPolicy(policy)))
		_, err := f.GetTicket(context.Background(), "t1")
		assert.Equal(t, codes.Unavailable, status.Code(err), "GetTicket() without a deadline = %v, want code Unavailable once MaxElapsed ran out", err)
		assert.Less(t, fe.count("GetTicket"), 1000, "GetTicket calls the server saw")
	})
}
