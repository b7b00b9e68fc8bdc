package omclient

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrClosed is returned (wrapped, with gRPC code Canceled) by calls on a Conn
// after Close.
var ErrClosed = errors.New("omclient: connection closed")

// closedError carries ErrClosed and answers status.Code with Canceled.
type closedError struct{}

func (closedError) Error() string              { return ErrClosed.Error() }
func (closedError) Unwrap() error              { return ErrClosed }
func (closedError) GRPCStatus() *status.Status { return status.New(codes.Canceled, ErrClosed.Error()) }

// invalidArg returns an InvalidArgument error for a request rejected before it
// was sent.
func invalidArg(op, msg string) error {
	return status.Errorf(codes.InvalidArgument, "omclient: %s: %s", op, msg)
}

// wrap prefixes err with the operation; the gRPC status stays reachable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("omclient: %s: %w", op, err)
}
