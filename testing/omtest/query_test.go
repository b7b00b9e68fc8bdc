package omtest_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestQueryFilters(t *testing.T) {
	ctx := testCtx(t)
	s, clock := newCore(t)
	mk := func(sf *pb.SearchFields) string {
		t.Helper()
		id := createTicket(ctx, t, s, sf).GetId()
		clock.Advance(time.Second) // distinct create times: t0, t0+1s, ...
		return id
	}
	v5 := mk(&pb.SearchFields{DoubleArgs: map[string]float64{"x": 5}})
	v75 := mk(&pb.SearchFields{DoubleArgs: map[string]float64{"x": 7.5}})
	v10 := mk(&pb.SearchFields{DoubleArgs: map[string]float64{"x": 10}})
	v1001 := mk(&pb.SearchFields{DoubleArgs: map[string]float64{"x": 10.01}})
	nan := mk(&pb.SearchFields{DoubleArgs: map[string]float64{"x": math.NaN()}})
	strs := mk(&pb.SearchFields{StringArgs: map[string]string{"mode": "ranked"}, Tags: []string{"eu", "beta"}})
	bare := mk(nil)

	all := []string{v5, v75, v10, v1001, nan, strs, bare}
	rng := func(lo, hi float64, ex pb.DoubleRangeFilter_Exclude) *pb.Pool {
		return &pb.Pool{DoubleRangeFilters: []*pb.DoubleRangeFilter{{DoubleArg: "x", Min: lo, Max: hi, Exclude: ex}}}
	}
	at := func(i int) *timestamppb.Timestamp { return timestamppb.New(t0.Add(time.Duration(i) * time.Second)) }

	tests := []struct {
		name string
		pool *pb.Pool
		want []string
	}{
		{name: "empty pool matches everything", pool: &pb.Pool{}, want: all},
		{name: "range inclusive by default", pool: rng(5, 10, pb.DoubleRangeFilter_NONE), want: []string{v5, v75, v10}},
		{name: "exclude min", pool: rng(5, 10, pb.DoubleRangeFilter_MIN), want: []string{v75, v10}},
		{name: "exclude max", pool: rng(5, 10, pb.DoubleRangeFilter_MAX), want: []string{v5, v75}},
		{name: "exclude both", pool: rng(5, 10, pb.DoubleRangeFilter_BOTH), want: []string{v75}},
		{name: "exclude out of range checks presence only", pool: rng(100, 0, pb.DoubleRangeFilter_Exclude(7)), want: []string{v5, v75, v10, v1001, nan}},
		{name: "NaN min rejects everything", pool: rng(math.NaN(), 100, pb.DoubleRangeFilter_NONE), want: []string{}},
		{name: "NaN max rejects everything", pool: rng(0, math.NaN(), pb.DoubleRangeFilter_NONE), want: []string{}},
		{name: "infinite bounds", pool: rng(math.Inf(-1), math.Inf(1), pb.DoubleRangeFilter_NONE), want: []string{v5, v75, v10, v1001}},
		{name: "missing key rejects", pool: &pb.Pool{DoubleRangeFilters: []*pb.DoubleRangeFilter{{DoubleArg: "y", Min: math.Inf(-1), Max: math.Inf(1)}}}, want: []string{}},
		{name: "string equals", pool: &pb.Pool{StringEqualsFilters: []*pb.StringEqualsFilter{{StringArg: "mode", Value: "ranked"}}}, want: []string{strs}},
		{name: "string equals is case sensitive", pool: &pb.Pool{StringEqualsFilters: []*pb.StringEqualsFilter{{StringArg: "mode", Value: "Ranked"}}}, want: []string{}},
		{name: "string missing key with empty value rejects", pool: &pb.Pool{StringEqualsFilters: []*pb.StringEqualsFilter{{StringArg: "other", Value: ""}}}, want: []string{}},
		{name: "tag present", pool: &pb.Pool{TagPresentFilters: []*pb.TagPresentFilter{{Tag: "eu"}, {Tag: "beta"}}}, want: []string{strs}},
		{name: "tag absent", pool: &pb.Pool{TagPresentFilters: []*pb.TagPresentFilter{{Tag: "us"}}}, want: []string{}},
		{name: "filters are ANDed", pool: &pb.Pool{
			StringEqualsFilters: []*pb.StringEqualsFilter{{StringArg: "mode", Value: "ranked"}},
			TagPresentFilters:   []*pb.TagPresentFilter{{Tag: "us"}},
		}, want: []string{}},
		{name: "created_before is strict", pool: &pb.Pool{CreatedBefore: at(2)}, want: []string{v5, v75}},
		{name: "created_after is strict", pool: &pb.Pool{CreatedAfter: at(4)}, want: []string{strs, bare}},
		{name: "created window", pool: &pb.Pool{CreatedAfter: at(0), CreatedBefore: at(3)}, want: []string{v75, v10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := queryIDs(ctx, t, s, tc.pool)
			assert.ElementsMatch(t, tc.want, got, "QueryTicketIds(%v) = %v, want %v", tc.pool, got, tc.want)

			stream, err := s.Query().QueryTickets(ctx, &pb.QueryTicketsRequest{Pool: tc.pool})
			require.NoError(t, err)
			pages, err := recvAll(stream)
			require.NoError(t, err)
			var ids []string
			for _, p := range pages {
				for _, tk := range p.GetTickets() {
					ids = append(ids, tk.GetId())
				}
			}
			assert.ElementsMatch(t, tc.want, ids, "QueryTickets(%v) ids = %v, want %v", tc.pool, ids, tc.want)
		})
	}
}

func TestQueryInvalidArguments(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t)
	bad := &timestamppb.Timestamp{Seconds: 1, Nanos: 2_000_000_000}
	tests := []struct {
		name string
		pool *pb.Pool
		msg  string
	}{
		{name: "nil pool", pool: nil, msg: ".pool is required"},
		{name: "invalid created_before", pool: &pb.Pool{CreatedBefore: bad}, msg: ".invalid created_before value"},
		{name: "invalid created_after", pool: &pb.Pool{CreatedAfter: bad}, msg: ".invalid created_after value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := queryIDsErr(ctx, s, tc.pool)
			assertStatus(t, err, codes.InvalidArgument, tc.msg)

			ts, err := s.Query().QueryTickets(ctx, &pb.QueryTicketsRequest{Pool: tc.pool})
			require.NoError(t, err)
			_, err = recvAll(ts)
			assertStatus(t, err, codes.InvalidArgument, tc.msg)

			bs, err := s.Query().QueryBackfills(ctx, &pb.QueryBackfillsRequest{Pool: tc.pool})
			require.NoError(t, err)
			_, err = recvAll(bs)
			assertStatus(t, err, codes.InvalidArgument, tc.msg)
		})
	}
}

func TestQueryPaging(t *testing.T) {
	tests := []struct {
		name      string
		pageSize  int
		tickets   int
		wantPages []int
	}{
		{name: "no results means no messages", pageSize: 10, tickets: 0, wantPages: nil},
		{name: "exact pages", pageSize: 10, tickets: 20, wantPages: []int{10, 10}},
		{name: "partial last page", pageSize: 10, tickets: 25, wantPages: []int{10, 10, 5}},
		{name: "small sizes clamp to 10", pageSize: 3, tickets: 12, wantPages: []int{10, 2}},
		{name: "default page size is 1000", pageSize: 0, tickets: 1001, wantPages: []int{1000, 1}},
		{name: "large sizes clamp to 10000", pageSize: 20000, tickets: 10001, wantPages: []int{10000, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			s, _ := newCore(t, omtest.WithQueryPageSize(tc.pageSize))
			createTickets(ctx, t, s, tc.tickets)
			stream, err := s.Query().QueryTicketIds(ctx, &pb.QueryTicketIdsRequest{Pool: &pb.Pool{}})
			require.NoError(t, err)
			pages, err := recvAll(stream)
			require.NoError(t, err, "stream must end with a clean EOF")
			var sizes []int
			for _, p := range pages {
				sizes = append(sizes, len(p.GetIds()))
			}
			assert.Equal(t, tc.wantPages, sizes, "page sizes = %v, want %v", sizes, tc.wantPages)
		})
	}
}

func TestQueryBackfills(t *testing.T) {
	ctx := testCtx(t)
	s, clock := newCore(t, omtest.WithPendingReleaseTimeout(10*time.Second))
	mk := func(mode string) string {
		b, err := s.Frontend().CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{
			SearchFields: &pb.SearchFields{StringArgs: map[string]string{"mode": mode}},
		}})
		require.NoError(t, err)
		return b.GetId()
	}
	query := func(pool *pb.Pool) []string {
		stream, err := s.Query().QueryBackfills(ctx, &pb.QueryBackfillsRequest{Pool: pool})
		require.NoError(t, err)
		pages, err := recvAll(stream)
		require.NoError(t, err)
		ids := []string{}
		for _, p := range pages {
			for _, b := range p.GetBackfills() {
				ids = append(ids, b.GetId())
			}
		}
		return ids
	}
	ranked := mk("ranked")
	clock.Advance(5 * time.Second)
	casual := mk("casual")
	assert.ElementsMatch(t, []string{ranked, casual}, query(&pb.Pool{}))
	assert.Equal(t, []string{casual}, query(&pb.Pool{StringEqualsFilters: []*pb.StringEqualsFilter{{StringArg: "mode", Value: "casual"}}}))
	assert.Equal(t, []string{casual}, query(&pb.Pool{CreatedAfter: timestamppb.New(t0)}))

	// TTL is 0.8 × 10s = 8s since the last acknowledgement.
	clock.Advance(3*time.Second + time.Nanosecond)
	assert.Equal(t, []string{casual}, query(&pb.Pool{}), "expired backfills are not returned")
	_, err := s.Frontend().GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: ranked})
	assert.NoError(t, err, "expired backfills can still be read until cleanup")
}
