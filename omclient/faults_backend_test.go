package omclient_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/faulttest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// holdServer serves FetchMatches and QueryTickets. The first call of each
// sends part of its answer and then holds the stream open until the client
// goes away, reporting the IP it came from on held; later calls send
// everything.
type holdServer struct {
	pb.UnimplementedBackendServiceServer
	pb.UnimplementedQueryServiceServer

	held chan string // buffered; receives the IP of each held call

	matches   []*pb.Match
	fetchHold int
	fetches   atomic.Int32

	pages   [][]*pb.Ticket
	queries atomic.Int32
}

func (h *holdServer) FetchMatches(_ *pb.FetchMatchesRequest, stream pb.BackendService_FetchMatchesServer) error {
	first := h.fetches.Add(1) == 1
	n := len(h.matches)
	if first {
		n = h.fetchHold
	}
	for _, m := range h.matches[:n] {
		if err := stream.Send(&pb.FetchMatchesResponse{Match: m}); err != nil {
			return err
		}
	}
	if first {
		return h.hold(stream.Context())
	}
	return nil
}

// hold reports the call's IP on held and waits until the client goes away.
func (h *holdServer) hold(ctx context.Context) error {
	ip := ""
	if p, ok := peer.FromContext(ctx); ok {
		ip, _, _ = net.SplitHostPort(p.Addr.String())
	}
	h.held <- ip
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

// heldPod waits until h holds a call and returns the pod it came through.
func (h *holdServer) heldPod(t *testing.T, ctx context.Context, pods []*faulttest.Proxy) *faulttest.Proxy {
	t.Helper()
	select {
	case ip := <-h.held:
		p := podAt(pods, ip)
		require.NotNil(t, p, "pod with IP %s", ip)
		return p
	case <-ctx.Done():
		t.Fatalf("no call held: %v", ctx.Err())
		return nil
	}
}

func (h *holdServer) QueryTickets(_ *pb.QueryTicketsRequest, stream pb.QueryService_QueryTicketsServer) error {
	first := h.queries.Add(1) == 1
	for i, page := range h.pages {
		if first && i == 1 {
			return h.hold(stream.Context())
		}
		if err := stream.Send(&pb.QueryTicketsResponse{Tickets: page}); err != nil {
			return err
		}
	}
	return nil
}

// startHold serves h on 127.0.0.1 with rec's interceptors and returns the
// address.
func startHold(t *testing.T, h *holdServer, rec *recorder) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(rec.options()...)
	pb.RegisterBackendServiceServer(gs, h)
	pb.RegisterQueryServiceServer(gs, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return lis.Addr().String()
}

func matchesN(n int) []*pb.Match {
	ms := make([]*pb.Match, n)
	for i := range ms {
		ms[i] = &pb.Match{MatchId: fmt.Sprintf("match-%d", i+1), Tickets: []*pb.Ticket{{Id: fmt.Sprintf("t-%d", i+1)}}}
	}
	return ms
}

var (
	fetchConfig  = &pb.FunctionConfig{Host: "mmf.meshmatch.test", Port: 50502, Type: pb.FunctionConfig_GRPC}
	fetchProfile = &pb.MatchProfile{Name: "1v1", Pools: []*pb.Pool{{Name: "all"}}}
)

// TestFaultBackendKilled kills the pod serving a call while the call runs
// (or between two calls) under every strategy, and checks what the caller
// gets: watches and idempotent calls carry on through the other pods, a
// FetchMatches is run again only if no match had arrived, and nothing is
// created twice.
func TestFaultBackendKilled(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name string
		run  func(t *testing.T, st faultStrategy)
	}{
		{name: "during WatchAssignments", run: killDuringWatch},
		{name: "during FetchMatches before the first match", run: killFetchBeforeFirstMatch},
		{name: "during FetchMatches after the first match", run: killFetchAfterFirstMatch},
		{name: "during QueryTickets", run: killDuringQuery},
		{name: "between unary calls", run: killBetweenUnaryCalls},
	}
	for _, st := range podStrategies {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range faults {
				t.Run(f.name, func(t *testing.T) { f.run(t, st) })
			}
		})
	}
}

// killDuringWatch: assignments made before, during and after the outage of
// the pod carrying the watch all reach the watcher, once each, in order.
func killDuringWatch(t *testing.T, st faultStrategy) {
	ctx := testContext(t)
	rec := newRecorder()
	core := omtest.NewServer(t, omtest.WithServerOptions(rec.options()...))
	pods := faulttest.NewProxies(t, 3, core.Addr())
	s, addr := st.build(t, pods)
	fe := omclient.NewFrontend(faultConn(t, s, addr))

	tk, err := fe.CreateTicket(ctx, &pb.Ticket{})
	require.NoError(t, err, "CreateTicket()")
	got := make(chan *pb.Assignment, 8)
	ended := make(chan error, 1)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for a, err := range fe.WatchAssignments(wctx, tk.GetId()) {
			if err != nil {
				ended <- err
				return
			}
			got <- a
		}
		ended <- nil
	}()
	assign := func(conn string) {
		t.Helper()
		_, err := core.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{
			{TicketIds: []string{tk.GetId()}, Assignment: &pb.Assignment{Connection: conn}},
		}})
		require.NoError(t, err, "AssignTickets(%s)", conn)
	}
	expect := func(conn string) {
		t.Helper()
		select {
		case a := <-got:
			assert.Equal(t, conn, a.GetConnection(), "next assignment watched")
		case err := <-ended:
			t.Fatalf("watch ended with %v, want assignment %s", err, conn)
		case <-ctx.Done():
			t.Fatalf("assignment %s not watched: %v", conn, ctx.Err())
		}
	}

	assign("gs-1")
	expect("gs-1")
	killed := podAt(pods, rec.wait(t, ctx, "WatchAssignments", 1)[0])
	require.NotNil(t, killed, "pod carrying the watch")
	killed.Stop()
	assign("gs-2")
	expect("gs-2")
	assign("gs-3")
	expect("gs-3")

	stop()
	assert.Equal(t, codes.Canceled, status.Code(<-ended), "watch end after cancel")
	assert.Empty(t, got, "assignments watched after gs-3")
	killedIP, _, _ := net.SplitHostPort(killed.Addr())
	for i, ip := range rec.wait(t, ctx, "WatchAssignments", 2)[1:] {
		assert.NotEqual(t, killedIP, ip, "pod of resumed watch stream %d", i+1)
	}
	assert.Equal(t, 1, rec.count("CreateTicket"), "CreateTicket calls the server saw")
}

type fetchResult struct {
	matches []*pb.Match
	err     error
}

func fetchAsync(ctx context.Context, be *omclient.Backend) <-chan fetchResult {
	res := make(chan fetchResult, 1)
	go func() {
		m, err := be.FetchMatches(ctx, fetchConfig, fetchProfile)
		res <- fetchResult{m, err}
	}()
	return res
}

// killFetchBeforeFirstMatch: the call is run again on another pod and
// returns every match.
func killFetchBeforeFirstMatch(t *testing.T, st faultStrategy) {
	ctx := testContext(t)
	rec := newRecorder()
	h := &holdServer{matches: matchesN(3), fetchHold: 0, held: make(chan string, 1)}
	pods := faulttest.NewProxies(t, 3, startHold(t, h, rec))
	s, addr := st.build(t, pods)
	be := omclient.NewBackend(faultConn(t, s, addr))

	res := fetchAsync(ctx, be)
	killed := h.heldPod(t, ctx, pods)
	killed.Stop()
	r := <-res
	require.NoError(t, r.err, "FetchMatches() after its pod was killed before the first match")
	assertMatches(t, h.matches, r.matches)
	ips := rec.wait(t, ctx, "FetchMatches", 2)
	assert.Len(t, ips, 2, "FetchMatches calls the server saw")
	killedIP, _, _ := net.SplitHostPort(killed.Addr())
	assert.NotEqual(t, killedIP, ips[1], "pod of the second FetchMatches")
}

// killFetchAfterFirstMatch: the call is not run again; the caller gets the
// match that arrived and the error.
func killFetchAfterFirstMatch(t *testing.T, st faultStrategy) {
	ctx := testContext(t)
	rec := newRecorder()
	h := &holdServer{matches: matchesN(3), fetchHold: 1, held: make(chan string, 1)}
	pods := faulttest.NewProxies(t, 3, startHold(t, h, rec))
	s, addr := st.build(t, pods)
	first := newFirstMessage("FetchMatches")
	be := omclient.NewBackend(faultConn(t, s, addr, first.option()))

	res := fetchAsync(ctx, be)
	select {
	case <-first.received:
	case <-ctx.Done():
		t.Fatalf("first match never arrived: %v", ctx.Err())
	}
	killed := h.heldPod(t, ctx, pods)
	killed.Stop()
	r := <-res
	assert.Equal(t, codes.Unavailable, status.Code(r.err), "FetchMatches() error = %v, want code Unavailable", r.err)
	assert.ErrorContains(t, r.err, "partial result")
	assertMatches(t, h.matches[:1], r.matches)
	assert.Equal(t, 1, rec.count("FetchMatches"), "FetchMatches calls the server saw")
}

func assertMatches(t *testing.T, want, got []*pb.Match) {
	t.Helper()
	if !assert.Len(t, got, len(want), "matches returned") {
		return
	}
	for i := range want {
		assert.True(t, proto.Equal(want[i], got[i]), "match %d = %v, want %v", i, got[i], want[i])
	}
}

// killDuringQuery: the query starts over on another pod; the page that
// arrived before the kill is not returned twice.
func killDuringQuery(t *testing.T, st faultStrategy) {
	ctx := testContext(t)
	rec := newRecorder()
	all := tickets("q", 25)
	h := &holdServer{pages: [][]*pb.Ticket{all[:10], all[10:20], all[20:]}, held: make(chan string, 1)}
	pods := faulttest.NewProxies(t, 3, startHold(t, h, rec))
	s, addr := st.build(t, pods)
	first := newFirstMessage("QueryTickets")
	q := omclient.NewQuery(faultConn(t, s, addr, first.option()))

	type result struct {
		ts  []*pb.Ticket
		err error
	}
	res := make(chan result, 1)
	go func() {
		ts, err := q.QueryTickets(ctx, &pb.Pool{Name: "all"})
		res <- result{ts, err}
	}()
	select {
	case <-first.received:
	case <-ctx.Done():
		t.Fatalf("first page never arrived: %v", ctx.Err())
	}
	killed := h.heldPod(t, ctx, pods)
	killed.Stop()
	r := <-res
	require.NoError(t, r.err, "QueryTickets() after its pod was killed mid-stream")
	assert.Equal(t, ids(all), ids(r.ts), "QueryTickets() ids")
	ips := rec.wait(t, ctx, "QueryTickets", 2)
	assert.Len(t, ips, 2, "QueryTickets calls the server saw")
	killedIP, _, _ := net.SplitHostPort(killed.Addr())
	assert.NotEqual(t, killedIP, ips[1], "pod of the restarted query")
}

// killBetweenUnaryCalls: after one pod dies, idempotent calls all succeed
// and CreateTicket is never sent twice.
func killBetweenUnaryCalls(t *testing.T, st faultStrategy) {
	ctx := testContext(t)
	rec := newRecorder()
	core := omtest.NewServer(t, omtest.WithServerOptions(rec.options()...))
	pods := faulttest.NewProxies(t, 3, core.Addr())
	s, addr := st.build(t, pods)
	fe := omclient.NewFrontend(faultConn(t, s, addr))

	tk, err := fe.CreateTicket(ctx, &pb.Ticket{})
	require.NoError(t, err, "CreateTicket()")
	// Call until every pod has served a call, so the pod killed next is
	// one the connection uses.
	waitPodsServed(t, ctx, fe, rec, pods)
	pods[1].Stop()

	const calls = 12
	var created, failed int
	seen := map[string]bool{tk.GetId(): true}
	for i := range calls {
		_, err := fe.GetTicket(ctx, tk.GetId())
		assert.NoError(t, err, "GetTicket() call %d after the kill", i)
		got, err := fe.CreateTicket(ctx, &pb.Ticket{})
		if err != nil {
			failed++
			assert.Equal(t, codes.Unavailable, status.Code(err), "CreateTicket() call %d after the kill = %v, want code Unavailable", i, err)
			continue
		}
		created++
		assert.False(t, seen[got.GetId()], "CreateTicket() call %d returned id %s twice", i, got.GetId())
		seen[got.GetId()] = true
	}
	t.Logf("after the kill: %d CreateTicket calls succeeded, %d failed", created, failed)
	// A failed CreateTicket was written to the dead pod's connection, so
	// it never reached the core; every success reached it exactly once.
	assert.Equal(t, 1+created, rec.count("CreateTicket"), "CreateTicket calls the server saw")
}
