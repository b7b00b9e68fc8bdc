package omtest

import (
	"context"

	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// call is one FetchMatches call registered in a cycle. Fields marked "cycle"
// are guarded by the cycle's mutex.
type call struct {
	mmfCtx    context.Context // the caller's context; the cycle may cancel it
	cancelMMF context.CancelFunc
	out       *queue[*pb.Match] // accepted matches; closed when the call ends

	seen      map[string]struct{} // cycle: match ids this call proposed
	proposing bool                // cycle: its MMF has not returned
	late      bool                // cycle: cancelled when the proposal window ended
	gone      bool                // cycle: the caller left
	syncErr   error               // cycle: this call's own synchronizer error

	result error // the syncErr the call ends with; set before out closes
}

func newCall(ctx context.Context) *call {
	mctx, cancel := context.WithCancel(ctx)
	return &call{
		mmfCtx: mctx, cancelMMF: cancel, out: newQueue[*pb.Match](),
		seen: make(map[string]struct{}), proposing: true,
	}
}

// stream sends the call's accepted matches until the cycle has ended the
// call and the MMF has returned, and then gives the call's outcome.
func (cl *call) stream(ctx context.Context, mmfDone <-chan error, send func(*pb.Match) error) (outcome, error) {
	var out outcome
	ended := false
	for mmfDone != nil || !ended {
		select {
		case <-cl.out.ready:
			ms, closed := cl.out.take()
			for _, m := range ms {
				if err := send(m); err != nil {
					cl.abandon(mmfDone)
					return out, err
				}
			}
			ended = closed
		case out.mmfErr = <-mmfDone:
			mmfDone = nil
		case <-ctx.Done():
			cl.abandon(mmfDone)
			return out, status.FromContextError(ctx.Err()).Err()
		}
	}
	out.syncErr = cl.result
	return out, nil
}

// abandon cancels the MMF and waits for it to return.
func (cl *call) abandon(mmfDone <-chan error) {
	cl.cancelMMF()
	if mmfDone != nil {
		<-mmfDone
	}
}
