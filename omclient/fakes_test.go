package omclient_test

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// scriptedFrontend counts the calls it receives and answers them from a
// script of errors; once the script runs out it answers normally. Its
// tickets and assignments survive a server restart.
type scriptedFrontend struct {
	pb.UnimplementedFrontendServiceServer

	mu      sync.Mutex
	calls   map[string]int
	script  map[string][]error
	assign  map[string]*pb.Assignment
	changed chan struct{} // closed and replaced on every assignment change
	watches chan string   // receives a ticket id when a watch stream starts
}

func newScriptedFrontend() *scriptedFrontend {
	return &scriptedFrontend{
		calls:   map[string]int{},
		script:  map[string][]error{},
		assign:  map[string]*pb.Assignment{},
		changed: make(chan struct{}),
		watches: make(chan string, 16),
	}
}

// fail makes the next len(errs) calls of method fail with errs, in order.
func (f *scriptedFrontend) fail(method string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[method] = append(f.script[method], errs...)
}

func (f *scriptedFrontend) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// next records a call of method and returns the scripted error, if any.
func (f *scriptedFrontend) next(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if errs := f.script[method]; len(errs) > 0 {
		f.script[method] = errs[1:]
		return errs[0]
	}
	return nil
}

func (f *scriptedFrontend) setAssignment(id string, a *pb.Assignment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assign[id] = a
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *scriptedFrontend) CreateTicket(_ context.Context, req *pb.CreateTicketRequest) (*pb.Ticket, error) {
	if err := f.next("CreateTicket"); err != nil {
		return nil, err
	}
	t := proto.Clone(req.GetTicket()).(*pb.Ticket)
	t.Id = "ticket-1"
	return t, nil
}

func (f *scriptedFrontend) GetTicket(_ context.Context, req *pb.GetTicketRequest) (*pb.Ticket, error) {
	if err := f.next("GetTicket"); err != nil {
		return nil, err
	}
	return &pb.Ticket{Id: req.GetTicketId()}, nil
}

func (f *scriptedFrontend) DeleteTicket(context.Context, *pb.DeleteTicketRequest) (*emptypb.Empty, error) {
	if err := f.next("DeleteTicket"); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (f *scriptedFrontend) CreateBackfill(_ context.Context, req *pb.CreateBackfillRequest) (*pb.Backfill, error) {
	if err := f.next("CreateBackfill"); err != nil {
		return nil, err
	}
	return &pb.Backfill{Id: "backfill-1", Generation: 1}, nil
}

// WatchAssignments pushes each new assignment of the ticket. A ticket id that
// starts with "missing" is not found.
func (f *scriptedFrontend) WatchAssignments(req *pb.WatchAssignmentsRequest, stream pb.FrontendService_WatchAssignmentsServer) error {
	if err := f.next("WatchAssignments"); err != nil {
		return err
	}
	id := req.GetTicketId()
	if len(id) >= 7 && id[:7] == "missing" {
		return status.Errorf(codes.NotFound, "Ticket id: %s not found", id)
	}
	f.watches <- id
	var last *pb.Assignment
	for {
		f.mu.Lock()
		a, changed := f.assign[id], f.changed
		f.mu.Unlock()
		if a != nil && !proto.Equal(a, last) {
			if err := stream.Send(&pb.WatchAssignmentsResponse{Assignment: a}); err != nil {
				return err
			}
			last = a
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}
