package omclient_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestUnknownIDs: calls about ids the core does not know give Open-Match's
// answers through the typed clients, with the gRPC code intact.
func TestUnknownIDs(t *testing.T) {
	ctx := testContext(t)
	core := omtest.NewServer(t)
	c := dial(t, core.Addr(), omclient.WithWatchGrace(0))
	fe, be := omclient.NewFrontend(c), omclient.NewBackend(c)

	if _, err := fe.GetTicket(ctx, "nope"); status.Code(err) != codes.NotFound {
		t.Errorf("GetTicket(unknown) = %v, want code NotFound", err)
	}
	if err := fe.DeleteTicket(ctx, "nope"); err != nil {
		t.Errorf("DeleteTicket(unknown) = %v, want nil (Open-Match deletes unknown ids without error)", err)
	}
	if _, err := fe.GetBackfill(ctx, "nope"); status.Code(err) != codes.NotFound {
		t.Errorf("GetBackfill(unknown) = %v, want code NotFound", err)
	}
	if _, err := fe.AcknowledgeBackfill(ctx, "nope", &pb.Assignment{}); status.Code(err) != codes.NotFound {
		t.Errorf("AcknowledgeBackfill(unknown) = %v, want code NotFound", err)
	}
	if _, err := fe.UpdateBackfill(ctx, &pb.Backfill{Id: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("UpdateBackfill(unknown) = %v, want code NotFound", err)
	}
	var watchErr error
	for _, err := range fe.WatchAssignments(ctx, "nope") {
		watchErr = err
	}
	if status.Code(watchErr) != codes.NotFound {
		t.Errorf("WatchAssignments(unknown) ended with %v, want code NotFound", watchErr)
	}
	failures, err := be.AssignTickets(ctx, []*pb.AssignmentGroup{{TicketIds: []string{"nope"}, Assignment: &pb.Assignment{Connection: "gs:1"}}})
	if err != nil || len(failures) != 1 || failures[0].GetTicketId() != "nope" || failures[0].GetCause() != pb.AssignmentFailure_TICKET_NOT_FOUND {
		t.Errorf("AssignTickets(unknown) = %v, %v; want one TICKET_NOT_FOUND failure for nope", failures, err)
	}
	if err := be.ReleaseTickets(ctx, []string{"nope"}); err != nil {
		t.Errorf("ReleaseTickets(unknown) = %v, want nil", err)
	}
}
