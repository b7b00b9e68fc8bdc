package omclient

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Backend is the Open-Match BackendService client used by directors: fetch
// matches, assign tickets, release tickets.
type Backend struct {
	raw pb.BackendServiceClient
	s   settings
}

// NewBackend returns a Backend over cc. When cc is a *Conn, its retry policy
// and logger apply.
func NewBackend(cc grpc.ClientConnInterface) *Backend {
	cc = usable("NewBackend", cc)
	return &Backend{raw: pb.NewBackendServiceClient(cc), s: settingsFor(cc)}
}

// DialBackend connects to the backend at addr (BackendAddr(addr) picks the
// default when addr is empty). Close releases the connection.
func DialBackend(addr string, opts ...Option) (*Backend, error) {
	addr, hint := dialAddr(addr, envBackendAddr, defaultBackendAddr)
	c, err := NewConn(addr, append(opts, hint)...)
	if err != nil {
		return nil, err
	}
	b := NewBackend(c)
	b.s.owned = c
	return b, nil
}

// Close closes the connection if DialBackend made it; otherwise it does nothing.
func (b *Backend) Close() error { return b.s.close() }

// Decision reports which strategy the connection uses, why and since when
// (see Conn.Decision). A Backend made over a connection that is not a *Conn
// reports an empty Strategy.
func (b *Backend) Decision() balancer.Decision { return b.s.decision() }

// Raw returns the generated client, for calls without the SDK's retry rules.
func (b *Backend) Raw() pb.BackendServiceClient { return b.raw }

// FetchMatches runs the match function at cfg with profile and returns the
// matches the evaluator accepted. Their tickets are pending afterwards.
//
// The call is retried on Unavailable only until the first match arrives. Once
// a match has arrived it is never run again: the matches received so far are
// returned together with the error, because their tickets are already pending.
func (b *Backend) FetchMatches(ctx context.Context, cfg *pb.FunctionConfig, profile *pb.MatchProfile) ([]*pb.Match, error) {
	if cfg == nil {
		return nil, invalidArg("fetch matches", "function config is required")
	}
	if profile == nil {
		return nil, invalidArg("fetch matches", "profile is required")
	}
	req := &pb.FetchMatchesRequest{Config: cfg, Profile: profile}
	var matches []*pb.Match
	_, err := retry(ctx, b.s.retry, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, b.fetchOnce(ctx, req, &matches)
	})
	if err != nil && len(matches) > 0 {
		return matches, wrap("fetch matches for profile "+profile.GetName()+": partial result", err)
	}
	return matches, wrap("fetch matches for profile "+profile.GetName(), err)
}

// fetchOnce runs one FetchMatches stream, appending what arrives to matches.
// After the first match its errors are made permanent.
func (b *Backend) fetchOnce(ctx context.Context, req *pb.FetchMatchesRequest, matches *[]*pb.Match) error {
	s, err := b.raw.FetchMatches(ctx, req)
	if err != nil {
		return err
	}
	for {
		resp, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if len(*matches) > 0 {
				return &partialError{err}
			}
			return err
		}
		*matches = append(*matches, resp.GetMatch())
	}
}

// partialError marks an error that arrived after part of a result was
// delivered; retryable never accepts it.
type partialError struct{ err error }

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

// AssignTickets writes assignments onto tickets and takes the tickets out of
// matchmaking. Tickets that do not exist come back as failures; the call still
// succeeds. Retried on Unavailable (assigning twice gives the same result).
func (b *Backend) AssignTickets(ctx context.Context, groups []*pb.AssignmentGroup) ([]*pb.AssignmentFailure, error) {
	req := &pb.AssignTicketsRequest{Assignments: groups}
	resp, err := retry(ctx, b.s.retry, func(ctx context.Context) (*pb.AssignTicketsResponse, error) {
		return b.raw.AssignTickets(ctx, req)
	})
	return resp.GetFailures(), wrap("assign tickets", err)
}

// ReleaseTickets moves the tickets from pending back to active, so queries
// return them again. Unknown ids are ignored. Retried on Unavailable.
func (b *Backend) ReleaseTickets(ctx context.Context, ids []string) error {
	req := &pb.ReleaseTicketsRequest{TicketIds: ids}
	_, err := retry(ctx, b.s.retry, func(ctx context.Context) (*pb.ReleaseTicketsResponse, error) {
		return b.raw.ReleaseTickets(ctx, req)
	})
	return wrap("release tickets", err)
}

// ReleaseAllTickets moves every pending ticket back to active. Retried on
// Unavailable.
func (b *Backend) ReleaseAllTickets(ctx context.Context) error {
	_, err := retry(ctx, b.s.retry, func(ctx context.Context) (*pb.ReleaseAllTicketsResponse, error) {
		return b.raw.ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{})
	})
	return wrap("release all tickets", err)
}
