package omtest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	protov2 "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// The load of BenchmarkCoreFloor.
const (
	floorTickets = 20000
	floorClients = 8
	floorSlices  = 100 // CreateTicket measured in this many alternating slices
	floorRounds  = 12  // QueryTickets rounds, alternating, one call per client each
)

// BenchmarkCoreFloor compares the core with the floor a stand-in for tests
// cannot go below, gRPC itself, in the same run with the same grpc-go and
// messages and floorClients clients, each on its own connection:
//
//   - CreateTicket of floorTickets tickets (benchTicket's fields) on an
//     empty core, and on a FrontendService that only sets id and
//     create_time; "create-ratio" is the core's throughput ÷ the no-op's
//     (goal ≥ 0.95).
//   - QueryTickets of every ticket (an empty pool, the core's default 1000
//     per page), every client at once, on the filled core, and on a
//     QueryService that streams the same tickets' pages encoded beforehand;
//     "query-ratio" is the core's time ÷ the no-op's (goal ≤ 1.2).
//
// "create-cpu-ratio" and "query-cpu-ratio" are the same ratios of the
// process's CPU time instead of wall time (the no-op's ÷ the core's for
// creates, the core's ÷ the no-op's for queries): what the core costs
// beyond gRPC, less exposed to other load on the machine.
//
// The two sides take turns, in floorSlices slices of the tickets and
// floorRounds query rounds, the first side changing every turn, so that load
// from elsewhere on a shared machine falls on both; the ratios are of the
// totals over all iterations.
func BenchmarkCoreFloor(b *testing.B) {
	var coreCreate, noopCreate, coreQuery, noopQuery cost
	turn := 0
	for b.Loop() {
		core := omtest.NewServer(b)
		feAddr, stopFE := startNoopFrontend(b)
		coreFE, closeCoreFE := frontendClients(b, core.FrontendAddr())
		noopFE, closeNoopFE := frontendClients(b, feAddr)
		per := floorTickets / floorSlices
		for k := range floorSlices {
			from, to := k*per, (k+1)*per
			turn++
			if turn%2 == 0 {
				noopCreate = noopCreate.add(timeCreates(b, noopFE, from, to))
				coreCreate = coreCreate.add(timeCreates(b, coreFE, from, to))
			} else {
				coreCreate = coreCreate.add(timeCreates(b, coreFE, from, to))
				noopCreate = noopCreate.add(timeCreates(b, noopFE, from, to))
			}
		}
		qAddr, stopQ := startNoopQuery(b, encodePages(b, core))
		coreQ, closeCoreQ := queryClients(b, core.QueryAddr())
		noopQ, closeNoopQ := queryClients(b, qAddr)
		for range floorRounds {
			turn++
			if turn%2 == 0 {
				noopQuery = noopQuery.add(timeQueries(b, noopQ))
				coreQuery = coreQuery.add(timeQueries(b, coreQ))
			} else {
				coreQuery = coreQuery.add(timeQueries(b, coreQ))
				noopQuery = noopQuery.add(timeQueries(b, noopQ))
			}
		}
		closeCoreFE()
		closeNoopFE()
		closeCoreQ()
		closeNoopQ()
		stopFE()
		stopQ()
		if err := core.Close(); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(noopCreate.wall.Seconds()/coreCreate.wall.Seconds(), "create-ratio")
	b.ReportMetric(coreQuery.wall.Seconds()/noopQuery.wall.Seconds(), "query-ratio")
	b.ReportMetric(noopCreate.cpu.Seconds()/coreCreate.cpu.Seconds(), "create-cpu-ratio")
	b.ReportMetric(coreQuery.cpu.Seconds()/noopQuery.cpu.Seconds(), "query-cpu-ratio")
	b.ReportMetric(floorTickets*n/coreCreate.wall.Seconds(), "core-create-tickets/s")
	b.ReportMetric(floorTickets*n/noopCreate.wall.Seconds(), "noop-create-tickets/s")
	b.ReportMetric(float64(coreQuery.wall.Milliseconds())/n, "core-query-ms")
	b.ReportMetric(float64(noopQuery.wall.Milliseconds())/n, "noop-query-ms")
}

// cost is what a measured phase took: wall time, and the CPU time of the
// whole process (clients and server), which load from other processes on a
// shared machine does not inflate.
type cost struct {
	wall, cpu time.Duration
}

func (c cost) add(d cost) cost { return cost{wall: c.wall + d.wall, cpu: c.cpu + d.cpu} }

// costStart is the start of a measured phase.
type costStart struct {
	wall time.Time
	cpu  time.Duration
}

func startCost() costStart { return costStart{wall: time.Now(), cpu: processCPU()} }

func (s costStart) since() cost {
	return cost{wall: time.Since(s.wall), cpu: processCPU() - s.cpu}
}

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorConns opens floorClients connections to addr; close closes them.
func floorConns(b *testing.B, addr string) (ccs []*grpc.ClientConn, close func()) {
	b.Helper()
	close = func() {
		for _, cc := range ccs {
			_ = cc.Close()
		}
	}
	for range floorClients {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			close()
			b.Fatal(err)
		}
		ccs = append(ccs, cc)
	}
	return ccs, close
}

// warmClients connects floorClients clients to addr, each made by newClient
// and warmed by one call of warm.
func warmClients[C any](b *testing.B, addr string, newClient func(grpc.ClientConnInterface) C, warm func(context.Context, C) error) ([]C, func()) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ccs, closeConns := floorConns(b, addr)
	clients := make([]C, len(ccs))
	for i, cc := range ccs {
		clients[i] = newClient(cc)
		if err := warm(ctx, clients[i]); err != nil {
			closeConns()
			b.Fatal(err)
		}
	}
	return clients, closeConns
}

// frontendClients are warmClients of the FrontendService, warmed by a
// GetTicket that must find nothing.
func frontendClients(b *testing.B, addr string) ([]pb.FrontendServiceClient, func()) {
	return warmClients(b, addr, pb.NewFrontendServiceClient, func(ctx context.Context, c pb.FrontendServiceClient) error {
		if _, err := c.GetTicket(ctx, &pb.GetTicketRequest{TicketId: "warm-up"}, grpc.WaitForReady(true)); err == nil {
			return errors.New("GetTicket(warm-up) found a ticket")
		}
		return nil
	})
}

// queryClients are warmClients of the QueryService, warmed by a query.
func queryClients(b *testing.B, addr string) ([]pb.QueryServiceClient, func()) {
	return warmClients(b, addr, pb.NewQueryServiceClient, func(ctx context.Context, c pb.QueryServiceClient) error {
		_, err := queryAll(ctx, c, grpc.WaitForReady(true))
		return err
	})
}

// timeCreates creates tickets [from, to) over the clients and returns how
// long that took.
func timeCreates(b *testing.B, clients []pb.FrontendServiceClient, from, to int) cost {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var created atomic.Int64
	errs := make(chan error, len(clients))
	var wg sync.WaitGroup
	start := startCost()
	for w, fe := range clients {
		wg.Go(func() {
			for i := from + w; i < to; i += len(clients) {
				t, err := fe.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: benchTicket(i)})
				if err != nil {
					errs <- err
					return
				}
				if len(t.GetId()) != 20 || t.GetCreateTime() == nil {
					errs <- errors.New("created ticket lacks id or create_time")
					return
				}
				created.Add(1)
			}
		})
	}
	wg.Wait()
	d := start.since()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	if got := created.Load(); got != int64(to-from) {
		b.Fatalf("created %d tickets, want %d", got, to-from)
	}
	return d
}

// timeQueries has every client query every ticket at once and returns how
// long that took.
func timeQueries(b *testing.B, clients []pb.QueryServiceClient) cost {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, len(clients))
	var wg sync.WaitGroup
	start := startCost()
	for _, q := range clients {
		wg.Go(func() {
			n, err := queryAll(ctx, q)
			if err == nil && n != floorTickets {
				err = errors.New("query returned " + strconv.Itoa(n) + " tickets, want " + strconv.Itoa(floorTickets))
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	d := start.since()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return d
}

// queryAll streams every ticket of an empty pool and counts them.
func queryAll(ctx context.Context, q pb.QueryServiceClient, opts ...grpc.CallOption) (int, error) {
	stream, err := q.QueryTickets(ctx, &pb.QueryTicketsRequest{Pool: &pb.Pool{}}, opts...)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += len(resp.GetTickets())
	}
}

// serveFloor serves on a loopback port and returns the address and a
// function that stops the server.
func serveFloor(b *testing.B, gs *grpc.Server) (addr string, stop func()) {
	b.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(lis) }()
	return lis.Addr().String(), func() { gs.Stop(); <-done }
}

// noopFrontend does the least a FrontendService can: set id and
// create_time on the ticket it was sent and return it.
type noopFrontend struct {
	pb.UnimplementedFrontendServiceServer
	n atomic.Uint64
}

func (f *noopFrontend) CreateTicket(_ context.Context, req *pb.CreateTicketRequest) (*pb.Ticket, error) {
	t := req.GetTicket()
	var id [20]byte
	for i := range id {
		id[i] = '0'
	}
	s := strconv.AppendUint(nil, f.n.Add(1), 32)
	copy(id[len(id)-len(s):], s)
	t.Id = string(id[:])
	t.CreateTime = timestamppb.Now()
	return t, nil
}

func startNoopFrontend(b *testing.B) (string, func()) {
	gs := grpc.NewServer()
	pb.RegisterFrontendServiceServer(gs, &noopFrontend{})
	return serveFloor(b, gs)
}

// encodePages reads the core's tickets once and encodes them as
// QueryTicketsResponse pages of the core's default size.
func encodePages(b *testing.B, core *omtest.Server) [][]byte {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := core.Query().QueryTickets(ctx, &pb.QueryTicketsRequest{Pool: &pb.Pool{}})
	if err != nil {
		b.Fatal(err)
	}
	var pages [][]byte
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return pages
		}
		if err != nil {
			b.Fatal(err)
		}
		p, err := protov2.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, p)
	}
}

// rawPage is a QueryTicketsResponse already encoded.
type rawPage []byte

// rawCodec sends a rawPage's bytes as they are and everything else as
// gRPC's proto codec does.
type rawCodec struct{ base encoding.CodecV2 }

func (c rawCodec) Name() string { return proto.Name }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if p, ok := v.(rawPage); ok {
		return mem.BufferSlice{mem.SliceBuffer(p)}, nil
	}
	return c.base.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.base.Unmarshal(data, v) }

// noopQuery streams pages, whatever the pool.
type noopQuery struct {
	pb.UnimplementedQueryServiceServer
	pages [][]byte
}

func (q *noopQuery) QueryTickets(_ *pb.QueryTicketsRequest, stream grpc.ServerStreamingServer[pb.QueryTicketsResponse]) error {
	for _, p := range q.pages {
		if err := stream.SendMsg(rawPage(p)); err != nil {
			return err
		}
	}
	return nil
}

func startNoopQuery(b *testing.B, pages [][]byte) (string, func()) {
	gs := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{base: encoding.GetCodecV2(proto.Name)}))
	pb.RegisterQueryServiceServer(gs, &noopQuery{pages: pages})
	return serveFloor(b, gs)
}
