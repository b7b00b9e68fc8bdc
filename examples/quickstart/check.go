package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// probePool selects no ticket: no ticket has this tag.
var probePool = &pb.Pool{Name: "probe", TagPresentFilters: []*pb.TagPresentFilter{{Tag: "meshmatch.examples/never-set"}}}

// check makes one harmless call on each service, so that an unreachable
// Open-Match is reported by name before any player starts.
func (s *services) check(ctx context.Context) error {
	_, err := omclient.NewFrontend(s.fe.Conn).GetTicket(ctx, "meshmatch-quickstart-probe")
	if status.Code(err) == codes.NotFound {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("frontend at %s unreachable: %w", s.fe.Addr(), err)
	}
	if err := omclient.NewBackend(s.be.Conn).ReleaseTickets(ctx, nil); err != nil {
		return fmt.Errorf("backend at %s unreachable: %w", s.be.Addr(), err)
	}
	if _, err := omclient.NewQuery(s.q.Conn).QueryTicketIds(ctx, probePool); err != nil {
		return fmt.Errorf("query service at %s unreachable: %w", s.q.Addr(), err)
	}
	return nil
}
