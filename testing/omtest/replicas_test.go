package omtest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// dialAddr connects to one address, closed at cleanup.
func dialAddr(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func frontendAt(t *testing.T, addr string) pb.FrontendServiceClient {
	return pb.NewFrontendServiceClient(dialAddr(t, addr))
}

// replicaMeters gives every replica a meter of its own and reads its calls.
type replicaMeters struct {
	mu      sync.Mutex
	readers map[string]*sdkmetric.ManualReader // by replica address
	infos   []omtest.ReplicaInfo
	mps     []*sdkmetric.MeterProvider
}

func (m *replicaMeters) provider(info omtest.ReplicaInfo) metric.MeterProvider {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	if m.readers == nil {
		m.readers = map[string]*sdkmetric.ManualReader{}
	}
	m.readers[info.Addr] = r
	m.infos = append(m.infos, info)
	m.mps = append(m.mps, mp)
	return mp
}

func (m *replicaMeters) shutdown() {
	for _, mp := range m.mps {
		_ = mp.Shutdown(context.Background())
	}
}

// calls returns the calls of method the replica at addr started.
func (m *replicaMeters) calls(t *testing.T, addr, method string) int64 {
	t.Helper()
	m.mu.Lock()
	r := m.readers[addr]
	m.mu.Unlock()
	require.NotNil(t, r, "no meter for replica %s", addr)
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			sum, ok := mt.Data.(metricdata.Sum[int64])
			if !ok || mt.Name != "grpc.server.call.started" {
				continue
			}
			for _, dp := range sum.DataPoints {
				if v, ok := dp.Attributes.Value(attribute.Key("grpc.method")); ok && v.AsString() == method {
					n += dp.Value
				}
			}
		}
	}
	return n
}

const createMethod = "openmatch.FrontendService/CreateTicket"

// Replicas share one port per service on consecutive loopback addresses, and
// one state: what one replica writes, every other reads, and FetchMatches
// calls through different backend replicas share one synchronizer cycle.
func TestReplicasShareOneState(t *testing.T) {
	ctx := testCtx(t)
	var evals [][]string
	var evalMu sync.Mutex
	hold, all := barrier(2)
	s, clock := newCore(t, omtest.WithReplicas(3),
		omtest.WithMatchFunction(hold(func(_ context.Context, p *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
			return []*pb.Match{{MatchId: p.GetName()}}, nil
		})),
		omtest.WithEvaluator(func(_ context.Context, ms []*pb.Match) ([]string, error) {
			evalMu.Lock()
			defer evalMu.Unlock()
			evals = append(evals, matchIDs(ms))
			return matchIDs(ms), nil
		}))
	for _, svc := range []omtest.Service{omtest.ServiceFrontend, omtest.ServiceBackend, omtest.ServiceQuery} {
		addrs := s.ReplicaAddrs(svc)
		require.Len(t, addrs, 3, "%s replicas", svc)
		_, port, err := net.SplitHostPort(addrs[0])
		require.NoError(t, err)
		for i, a := range addrs {
			assert.Equal(t, net.JoinHostPort(fmt.Sprintf("127.0.0.%d", i+1), port), a, "%s replica %d", svc, i)
		}
	}
	assert.Len(t, s.Replicas(), 9)

	fes, bes, qs := s.ReplicaAddrs(omtest.ServiceFrontend), s.ReplicaAddrs(omtest.ServiceBackend), s.ReplicaAddrs(omtest.ServiceQuery)
	tk, err := frontendAt(t, fes[1]).CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	got, err := frontendAt(t, fes[2]).GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err, "a ticket created on frontend/1 is read on frontend/2")
	assert.Equal(t, tk.GetId(), got.GetId())
	stream, err := pb.NewQueryServiceClient(dialAddr(t, qs[0])).QueryTicketIds(ctx, &pb.QueryTicketIdsRequest{Pool: &pb.Pool{}})
	require.NoError(t, err)
	resp, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, []string{tk.GetId()}, resp.GetIds(), "query/0 sees it")

	var wg sync.WaitGroup
	outs := make([]fetchOut, 2)
	for i, name := range []string{"via-backend-0", "via-backend-2"} {
		be := pb.NewBackendServiceClient(dialAddr(t, bes[2*i]))
		wg.Go(func() {
			st, err := be.FetchMatches(ctx, &pb.FetchMatchesRequest{Config: &pb.FunctionConfig{Host: "127.0.0.1", Port: 1}, Profile: &pb.MatchProfile{Name: name}})
			if err != nil {
				outs[i] = fetchOut{err: err}
				return
			}
			rs, err := recvAll(st)
			var ms []*pb.Match
			for _, r := range rs {
				ms = append(ms, r.GetMatch())
			}
			outs[i] = fetchOut{matches: ms, err: err}
		})
	}
	waitFor(ctx, t, all, "both MMFs in one cycle")
	clock.Advance(windowStep)
	wg.Wait()
	for i, o := range outs {
		require.NoError(t, o.err, "call %d", i)
	}
	assert.Equal(t, [][]string{{"via-backend-0", "via-backend-2"}}, evals, "one evaluation for the calls of both backend replicas")
}

// The core's own clients balance round robin over the replicas, and each
// replica's server metrics go to the meter ReplicaMeterProvider gave it.
func TestReplicasBalancedConnAndMetrics(t *testing.T) {
	ctx := testCtx(t)
	meters := &replicaMeters{}
	s := omtest.NewServer(t, omtest.WithReplicas(3), omtest.WithReplicaMeterProvider(meters.provider))
	t.Cleanup(meters.shutdown)
	require.Len(t, meters.infos, 9, "one meter per replica")
	for i, info := range meters.infos {
		assert.Len(t, info.Services, 1)
		assert.Equal(t, i%3, info.Index)
	}
	fes := s.ReplicaAddrs(omtest.ServiceFrontend)
	counts := func() []int64 {
		out := make([]int64, len(fes))
		for i, a := range fes {
			out[i] = meters.calls(t, a, createMethod)
		}
		return out
	}
	// Round robin picks among the connected replicas; wait until a call
	// has reached each, so that all three are connected.
	for {
		c := counts()
		if c[0] > 0 && c[1] > 0 && c[2] > 0 {
			break
		}
		_, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}}, grpc.WaitForReady(true))
		require.NoError(t, err)
	}
	before := counts()
	for range 30 {
		_, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
		require.NoError(t, err)
	}
	after := counts()
	for i := range fes {
		assert.Equal(t, int64(10), after[i]-before[i], "CreateTicket calls on frontend/%d", i)
	}
}

// StopReplica resets the replica's connections (no GOAWAY) and the others
// keep serving; RestartReplica serves again on the same address over the
// same state.
func TestReplicaStopAndRestart(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t, omtest.WithReplicas(3))
	fes := s.ReplicaAddrs(omtest.ServiceFrontend)
	victim := frontendAt(t, fes[1])
	tk, err := victim.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	raw := dialHTTP2(ctx, t, fes[1])
	watch, err := victim.WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	// The watch has reached the replica once a call sent after it on the
	// same connection has been answered.
	_, err = victim.GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)

	require.NoError(t, s.StopReplica(omtest.ServiceFrontend, 1))
	_, err = watch.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err), "the open watch on the stopped replica = %v, want Unavailable", err)
	frames, err := raw.readUntilError()
	assert.ErrorIs(t, err, syscall.ECONNRESET, "an idle connection is reset")
	assert.NotContains(t, frames, http2GoAway, "no GOAWAY before the reset (frames %v)", frames)
	_, err = victim.GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	assert.Equal(t, codes.Unavailable, status.Code(err), "a new call to the stopped replica = %v, want Unavailable", err)
	assert.False(t, s.Replicas()[1].Running)
	for _, i := range []int{0, 2} {
		_, err := frontendAt(t, fes[i]).GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
		assert.NoError(t, err, "frontend/%d keeps serving", i)
	}

	require.NoError(t, s.RestartReplica(omtest.ServiceFrontend, 1))
	assert.True(t, s.Replicas()[1].Running)
	got, err := frontendAt(t, fes[1]).GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()}, grpc.WaitForReady(true))
	require.NoError(t, err, "the restarted replica serves the same state")
	assert.Equal(t, tk.GetId(), got.GetId())
}

// DrainReplica sends GOAWAY: the calls in flight finish, new ones go
// elsewhere, and it returns once the last call has ended.
func TestReplicaDrain(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t, omtest.WithReplicas(2))
	fes := s.ReplicaAddrs(omtest.ServiceFrontend)
	fe0 := frontendAt(t, fes[0])
	tk, err := fe0.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := fe0.WatchAssignments(watchCtx, &pb.WatchAssignmentsRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	// The watch's stream is open on the server once GetTicket on the same
	// connection, sent after it, has been answered.
	_, err = fe0.GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)

	raw := dialHTTP2(ctx, t, fes[0])

	drained := make(chan error, 1)
	go func() { drained <- s.DrainReplica(ctx, omtest.ServiceFrontend, 0) }()
	require.NoError(t, raw.waitFor(http2GoAway), "an idle connection gets GOAWAY")
	require.NoError(t, raw.Close())
	_, err = s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{
		{TicketIds: []string{tk.GetId()}, Assignment: &pb.Assignment{Connection: "10.0.0.1:7777"}},
	}})
	require.NoError(t, err)
	resp, err := watch.Recv()
	require.NoError(t, err, "the watch in flight on the draining replica still gets its assignment")
	assert.Equal(t, "10.0.0.1:7777", resp.GetAssignment().GetConnection())
	select {
	case err := <-drained:
		t.Fatalf("DrainReplica returned %v while a call was in flight", err)
	default:
	}
	stopWatch()
	require.NoError(t, waitFor(ctx, t, drained, "the drain to end"))
	assert.False(t, s.Replicas()[0].Running)
	_, err = frontendAt(t, fes[1]).GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	assert.NoError(t, err, "frontend/1 keeps serving")
}

// openWatch creates a ticket on s's one frontend replica and opens its
// assignment watch; a GetTicket after it makes sure the replica has the
// stream before the test goes on.
func openWatch(ctx context.Context, t *testing.T, s *omtest.Server) pb.FrontendService_WatchAssignmentsClient {
	t.Helper()
	fe := frontendAt(t, s.FrontendAddr())
	tk, err := fe.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	watch, err := fe.WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	_, err = fe.GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	return watch
}

// A drain bounded by a context that ends stops the replica at once.
func TestReplicaDrainDeadline(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t, omtest.WithReplicas(1))
	watch := openWatch(ctx, t, s)
	drainCtx, cancel := context.WithCancel(ctx)
	drained := make(chan error, 1)
	go func() { drained <- s.DrainReplica(drainCtx, omtest.ServiceFrontend, 0) }()
	cancel()
	require.NoError(t, waitFor(ctx, t, drained, "the drain to end"))
	_, err := watch.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err), "the watch once the grace period ended = %v, want Unavailable", err)
}

// StopReplica during a drain cuts the drain short; the replica can then be
// restarted, and the ended drain does not mark it stopped again.
func TestReplicaStopDuringDrain(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t, omtest.WithReplicas(1))
	watch := openWatch(ctx, t, s)
	raw := dialHTTP2(ctx, t, s.FrontendAddr())
	drained := make(chan error, 1)
	go func() { drained <- s.DrainReplica(ctx, omtest.ServiceFrontend, 0) }()
	require.NoError(t, raw.waitFor(http2GoAway), "the drain has begun")
	err := s.DrainReplica(ctx, omtest.ServiceFrontend, 0)
	require.Error(t, err)
	assert.Equal(t, "omtest: replica frontend/0 ("+s.FrontendAddr()+") is already draining", err.Error())
	err = s.RestartReplica(omtest.ServiceFrontend, 0)
	require.Error(t, err)
	assert.Equal(t, "omtest: replica frontend/0 ("+s.FrontendAddr()+") is draining", err.Error())

	require.NoError(t, s.StopReplica(omtest.ServiceFrontend, 0))
	require.NoError(t, waitFor(ctx, t, drained, "the drain to end"))
	_, err = watch.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err), "the watch cut by the stop = %v, want Unavailable", err)
	require.NoError(t, s.RestartReplica(omtest.ServiceFrontend, 0))
	assert.True(t, s.Replicas()[0].Running)
}

func TestReplicaBadInput(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t, omtest.WithReplicas(3))
	require.NoError(t, s.StopReplica(omtest.ServiceQuery, 2))
	fes := s.ReplicaAddrs(omtest.ServiceFrontend)
	tests := []struct {
		name string
		op   func() error
		msg  string
	}{
		{name: "stop a stopped replica", op: func() error { return s.StopReplica(omtest.ServiceQuery, 2) },
			msg: "omtest: replica query/2 (" + s.ReplicaAddrs(omtest.ServiceQuery)[2] + ") is already stopped"},
		{name: "drain a stopped replica", op: func() error { return s.DrainReplica(ctx, omtest.ServiceQuery, 2) },
			msg: "omtest: replica query/2 (" + s.ReplicaAddrs(omtest.ServiceQuery)[2] + ") is already stopped"},
		{name: "stop a replica past the last", op: func() error { return s.StopReplica(omtest.ServiceFrontend, 3) },
			msg: "omtest: no replica frontend/3: frontend has 3 (0 to 2): no such replica"},
		{name: "stop a negative index", op: func() error { return s.StopReplica(omtest.ServiceBackend, -1) },
			msg: "omtest: no replica backend/-1: backend has 3 (0 to 2): no such replica"},
		{name: "restart an unknown service", op: func() error { return s.RestartReplica("synchronizer", 0) },
			msg: `omtest: unknown service "synchronizer" (want frontend, backend or query): no such replica`},
		{name: "restart a running replica", op: func() error { return s.RestartReplica(omtest.ServiceFrontend, 0) },
			msg: "omtest: replica frontend/0 (" + fes[0] + ") is running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			require.Error(t, err)
			assert.Equal(t, tc.msg, err.Error())
		})
	}
	for i, info := range s.Replicas() {
		assert.Equal(t, i != 8, info.Running, "replica %v: only query/2 is stopped", info)
	}
}

// A replica restarted on an address another program took meanwhile fails
// with an error naming the address; the other replicas keep serving, and
// the restart works once the address is free.
func TestReplicaRestartAddressTaken(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t, omtest.WithReplicas(3))
	fes := s.ReplicaAddrs(omtest.ServiceFrontend)
	require.NoError(t, s.StopReplica(omtest.ServiceFrontend, 1))
	squatter, err := net.Listen("tcp", fes[1])
	require.NoError(t, err)
	err = s.RestartReplica(omtest.ServiceFrontend, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "omtest: restart replica frontend/1: listen on "+fes[1]+": ")
	assert.Contains(t, err.Error(), "address already in use")
	assert.False(t, s.Replicas()[1].Running)
	for _, i := range []int{0, 2} {
		_, err := frontendAt(t, fes[i]).CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
		assert.NoError(t, err, "frontend/%d keeps serving", i)
	}
	require.NoError(t, squatter.Close())
	require.NoError(t, s.RestartReplica(omtest.ServiceFrontend, 1))
	_, err = frontendAt(t, fes[1]).CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}}, grpc.WaitForReady(true))
	assert.NoError(t, err)
}

func TestReplicasStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	defer busy.Close()
	tests := []struct {
		name     string
		cfg      omtest.Config
		msg      string // exact, when set
		contains string
	}{
		{name: "zero replicas", cfg: omtest.Config{Replicas: &omtest.Replicas{}},
			msg: "omtest: replicas: count must be at least 1, got 0"},
		{name: "negative replicas", cfg: omtest.Config{Replicas: &omtest.Replicas{Count: -2}},
			msg: "omtest: replicas: count must be at least 1, got -2"},
		{name: "too few addresses", cfg: omtest.Config{Replicas: &omtest.Replicas{Count: 3, BackendAddrs: []string{"127.0.0.1:0"}}},
			msg: "omtest: replicas: 1 backend addresses for 3 replicas"},
		{name: "host name to count from", cfg: omtest.Config{QueryAddr: "localhost:0", Replicas: &omtest.Replicas{Count: 2}},
			msg: `omtest: replicas: query address "localhost:0": the host must be an IPv4 address to place 2 replicas on consecutive addresses; list them in Replicas.QueryAddrs`},
		{name: "malformed address", cfg: omtest.Config{FrontendAddr: "127.0.0.1", Replicas: &omtest.Replicas{Count: 2}},
			contains: `omtest: replicas: frontend address "127.0.0.1": `},
		{name: "address taken", cfg: omtest.Config{Replicas: &omtest.Replicas{Count: 2, FrontendAddrs: []string{"127.0.0.1:0", busy.Addr().String()}}},
			contains: "omtest: listen on " + busy.Addr().String() + ": "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := omtest.Start(tc.cfg)
			if err == nil {
				_ = s.Close()
			}
			require.Error(t, err)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, err.Error())
			}
			assert.Contains(t, err.Error(), tc.contains)
		})
	}
	s, err := omtest.Start(omtest.Config{})
	require.NoError(t, err, "a failed start leaves nothing listening that blocks the next")
	require.NoError(t, s.Close())
}

// Given addresses are used as they are, and one listener serving every
// service counts as replica 0 of each: stopping it stops them all.
func TestReplicaAddressesAndSingleListener(t *testing.T) {
	ctx := testCtx(t)
	one := omtest.NewServer(t)
	require.Len(t, one.Replicas(), 1)
	info := one.Replicas()[0]
	assert.Equal(t, []omtest.Service{omtest.ServiceFrontend, omtest.ServiceBackend, omtest.ServiceQuery}, info.Services)
	assert.Equal(t, one.Addr(), info.Addr)
	require.NoError(t, one.StopReplica(omtest.ServiceQuery, 0))
	_, err := one.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: "x"})
	assert.Equal(t, codes.Unavailable, status.Code(err), "the frontend on the stopped listener = %v, want Unavailable", err)
	err = one.StopReplica(omtest.ServiceFrontend, 0)
	require.Error(t, err)
	assert.Equal(t, "omtest: replica core/0 ("+one.Addr()+") is already stopped", err.Error())

	given, err := omtest.Start(omtest.Config{Replicas: &omtest.Replicas{Count: 2,
		FrontendAddrs: []string{"127.0.0.1:0", "127.0.0.1:0"}}})
	require.NoError(t, err)
	defer func() { require.NoError(t, given.Close()) }()
	fes := given.ReplicaAddrs(omtest.ServiceFrontend)
	require.Len(t, fes, 2)
	assert.NotEqual(t, fes[0], fes[1], "two listeners of their own")
	for _, a := range fes {
		_, err := frontendAt(t, a).CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
		assert.NoError(t, err, "frontend at %s", a)
	}
}

// rawHTTP2 is a bare HTTP/2 connection to a replica that reads frame types.
type rawHTTP2 struct {
	net.Conn
}

// Frame types of RFC 9113.
const (
	http2Settings byte = 0x4
	http2GoAway   byte = 0x7
)

// dialHTTP2 connects to addr, sends the client preface and empty settings,
// and returns once the server's settings arrived: the server has accepted
// the connection. The connection never writes again, so its reads see
// exactly what the server does.
func dialHTTP2(ctx context.Context, t *testing.T, addr string) *rawHTTP2 {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	if dl, ok := ctx.Deadline(); ok {
		require.NoError(t, c.SetDeadline(dl))
	}
	_, err = c.Write(append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, http2Settings, 0, 0, 0, 0, 0))
	require.NoError(t, err)
	r := &rawHTTP2{Conn: c}
	require.NoError(t, r.waitFor(http2Settings), "the server's settings")
	return r
}

// frame reads one frame and returns its type.
func (r *rawHTTP2) frame() (byte, error) {
	var h [9]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err
	}
	n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
		return 0, err
	}
	return h[3], nil
}

// waitFor reads frames until one of type typ.
func (r *rawHTTP2) waitFor(typ byte) error {
	for {
		got, err := r.frame()
		if err != nil {
			return err
		}
		if got == typ {
			return nil
		}
	}
}

// readUntilError reads frames until the connection fails.
func (r *rawHTTP2) readUntilError() ([]byte, error) {
	var types []byte
	for {
		got, err := r.frame()
		if err != nil {
			return types, err
		}
		types = append(types, got)
	}
}
