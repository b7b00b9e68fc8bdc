package omclient_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestMatchFunctionServerNilParts: a match function server built with a nil
// Query client or a nil MatchFunc answers every Run with FailedPrecondition
// and keeps serving, instead of crashing the process.
func TestMatchFunctionServerNilParts(t *testing.T) {
	ctx := testContext(t)
	core := omtest.NewServer(t)
	q := omclient.NewQuery(dial(t, core.Addr()))
	req := &pb.RunRequest{Profile: &pb.MatchProfile{Name: "p", Pools: []*pb.Pool{{Name: "a"}, {Name: "b"}}}}
	tests := []struct {
		name string
		q    *omclient.Query
		fn   omclient.MatchFunc
		want string
	}{
		{name: "nil query", q: nil, fn: pairUp, want: "nil *Query"},
		{name: "nil func", q: q, fn: nil, want: "nil MatchFunc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, port := serve(t, omclient.NewMatchFunctionServer(tc.q, tc.fn))
			client := pb.NewMatchFunctionClient(rawConn(t, net.JoinHostPort(host, strconv.Itoa(port))))
			for i := range 2 {
				stream, err := client.Run(ctx, req)
				require.NoError(t, err, "Run() call %d", i)
				_, err = stream.Recv()
				assert.Equal(t, codes.FailedPrecondition, status.Code(err), "Run() call %d = %v, want code FailedPrecondition", i, err)
				assert.ErrorContains(t, err, tc.want)
			}
		})
	}
}

// TestNilConnection: clients made over a nil connection fail each call with
// FailedPrecondition naming the constructor.
func TestNilConnection(t *testing.T) {
	ctx := testContext(t)
	var nilConn *omclient.Conn
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{name: "NewFrontend(nil)", want: "NewFrontend was given a nil connection", call: func() error {
			_, err := omclient.NewFrontend(nil).GetTicket(ctx, "t")
			return err
		}},
		{name: "NewFrontend(nil *Conn)", want: "NewFrontend was given a nil connection", call: func() error {
			_, err := omclient.NewFrontend(nilConn).CreateTicket(ctx, &pb.Ticket{})
			return err
		}},
		{name: "NewBackend(nil)", want: "NewBackend was given a nil connection", call: func() error {
			_, err := omclient.NewBackend(nil).FetchMatches(ctx, fetchConfig, fetchProfile)
			return err
		}},
		{name: "NewQuery(nil)", want: "NewQuery was given a nil connection", call: func() error {
			_, err := omclient.NewQuery(nil).QueryPools(ctx, []*pb.Pool{{Name: "a"}, {Name: "b"}})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%s call = %v, want code FailedPrecondition", tc.name, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestNilOptions: a nil Option is an error from NewConn, and a nil
// ServerOption an error from Serve.
func TestNilOptions(t *testing.T) {
	c, err := omclient.NewConn("127.0.0.1:50504", omclient.WithLogger(nil), nil)
	assert.Nil(t, c, "NewConn() with a nil option")
	assert.EqualError(t, err, "omclient: option 1 is nil", "NewConn() with a nil option")

	s := omclient.NewEvaluatorServer(nil, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	assert.EqualError(t, s.Serve(lis), "omclient: server option 0 is nil", "Serve() of a server built with a nil option")
	assert.NoError(t, s.Shutdown(context.Background()), "Shutdown()")
}
