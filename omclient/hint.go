package omclient

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// withHint adds the connection's hint to err when the service could not be
// reached (Unavailable, DeadlineExceeded); the gRPC status stays reachable.
func withHint(hint string, err error) error {
	if hint == "" || err == nil {
		return err
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("%w (%s)", err, hint)
	}
	return err
}

// hintStream adds its connection's hint to the errors of a stream.
type hintStream struct {
	grpc.ClientStream
	hint string
}

func (s hintStream) RecvMsg(m any) error { return withHint(s.hint, s.ClientStream.RecvMsg(m)) }

func (s hintStream) SendMsg(m any) error { return withHint(s.hint, s.ClientStream.SendMsg(m)) }
