// Package calltest holds the call and counting helpers that the conformance
// suite (testing/balancertest) and the integration tests share: one
// GetTicket call that says which backend served it, an idempotent variant
// with one retry, and per-backend call counts. It is for tests only.
package calltest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Backend is a server that counts the calls it serves, such as
// *balancertest.Backend.
type Backend interface {
	Calls() int64
}

// GetTicket makes one GetTicket call on conn and returns the name of the
// backend that served it (the test backends answer with Ticket.Id = name).
func GetTicket(ctx context.Context, conn grpc.ClientConnInterface, opts ...grpc.CallOption) (string, error) {
	tk, err := pb.NewFrontendServiceClient(conn).GetTicket(ctx, &pb.GetTicketRequest{TicketId: "t"}, opts...)
	if err != nil {
		return "", err
	}
	return tk.GetId(), nil
}

// GetTicketRetry is an idempotent call with one retry on Unavailable, the way
// omclient retries GetTicket. firstErr is the first attempt's error.
func GetTicketRetry(ctx context.Context, conn grpc.ClientConnInterface) (name string, firstErr, err error) {
	name, err = GetTicket(ctx, conn)
	if status.Code(err) != codes.Unavailable {
		return name, err, err
	}
	firstErr = err
	name, err = GetTicket(ctx, conn)
	return name, firstErr, err
}

// Counts returns each backend's call count.
func Counts[B Backend](bs []B) []int64 {
	c := make([]int64, len(bs))
	for i, b := range bs {
		c[i] = b.Calls()
	}
	return c
}

// Deltas returns the calls each backend served since before (a result of
// Counts).
func Deltas[B Backend](bs []B, before []int64) []int64 {
	d := Counts(bs)
	for i := range d {
		d[i] -= before[i]
	}
	return d
}

// WaitServed issues calls until every backend in want has served at least
// one call since the function started, or ctx ends. Calls wait for the
// connection to be ready.
func WaitServed[B Backend](ctx context.Context, conn grpc.ClientConnInterface, want []B) error {
	before := Counts(want)
	var lastErr error
	for {
		if slices.Min(Deltas(want, before)) > 0 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("calls served per backend %v (since start of wait), last error %v: %w", Deltas(want, before), lastErr, ctx.Err())
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := GetTicket(cctx, conn, grpc.WaitForReady(true))
		cancel()
		if err != nil {
			lastErr = err
		}
	}
}

// MaxWaitCalls bounds the calls of a wait that the caller's deadline is
// meant to end: at loopback call rates the deadline comes long before.
const MaxWaitCalls = 1 << 20

// WaitNotServed issues calls until window consecutive calls succeed and
// none is served by the backend named gone. It gives up when ctx ends or
// after maxCalls calls. opts go on every call.
func WaitNotServed(ctx context.Context, conn grpc.ClientConnInterface, gone string, window, maxCalls int, opts ...grpc.CallOption) error {
	run := 0
	var lastErr error
	for range maxCalls {
		if run == window {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s still served calls, last error %v: %w", gone, lastErr, ctx.Err())
		}
		name, err := GetTicket(ctx, conn, opts...)
		switch {
		case err != nil:
			lastErr = err
			run = 0
		case name == gone:
			run = 0
		default:
			run++
		}
	}
	if run == window {
		return nil
	}
	return fmt.Errorf("%s still served calls after %d calls, last error %v", gone, maxCalls, lastErr)
}
