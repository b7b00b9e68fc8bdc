package xds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

// Detect reports whether proxyless gRPC can be used: a bootstrap was given,
// GRPC_XDS_BOOTSTRAP names a file that holds a valid bootstrap (waiting for
// it at most BootstrapWait, but not at all when the file's directory does
// not exist), GRPC_XDS_BOOTSTRAP_CONFIG holds a valid one, or
// istiod completes an HTTP/2 handshake at IstiodAddr within ProbeTimeout. It
// returns by ctx's deadline at the latest.
//
// istiod is only probed at its default address inside a Kubernetes pod
// (KUBERNETES_SERVICE_HOST set): elsewhere the default name cannot belong to
// istiod, and looking it up would send a query to whatever DNS the machine
// uses. An IstiodAddr set explicitly is always probed.
func (s Strategy) Detect(ctx context.Context, _ string) balancer.Detection {
	ok, reason := s.detect(ctx)
	s.logger().Debug("xds: detect", "available", ok, "reason", reason)
	return balancer.Detection{Strategy: s.Name(), Available: ok, Reason: reason, At: time.Now()}
}

func (s Strategy) detect(ctx context.Context) (bool, string) {
	src := s.source()
	switch {
	case src.compose && s.IstiodAddr == "" && s.env(envKubernetesHost) == "":
		return false, "no bootstrap set and not in a Kubernetes pod (" + envKubernetesHost + " unset), so no istiod to ask"
	case src.compose:
		if _, err := s.compose(); err != nil {
			return false, fmt.Sprintf("no bootstrap set and none can be composed for istiod: %v", err)
		}
		ctx, cancel := context.WithTimeout(ctx, s.probeTimeout())
		defer cancel()
		if err := probe(ctx, s.istiodAddr()); err != nil {
			return false, fmt.Sprintf("no bootstrap set and istiod not answering at %s: %v", s.istiodAddr(), err)
		}
		return true, "istiod answered at " + s.istiodAddr()
	case src.json != nil:
		if err := validate(src.json); err != nil {
			return false, fmt.Sprintf("%s invalid: %v", src.what, err)
		}
		return true, src.what + " set"
	}
	return s.detectFile(ctx, src)
}

// detectFile waits, bounded, for the bootstrap file to hold a bootstrap
// grpc-go accepts. A missing directory is reported at once.
func (s Strategy) detectFile(ctx context.Context, src source) (bool, string) {
	if err := xdsbootstrap.CheckDir(src.path); err != nil {
		return false, fmt.Sprintf("%s: %v", src.what, err)
	}
	bound := s.bootstrapWait()
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < bound {
		bound = time.Until(dl).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, s.bootstrapWait())
	defer cancel()
	if _, err := (xdsbootstrap.Wait{Check: validate}).File(ctx, src.path); err != nil {
		return false, fmt.Sprintf("%s not usable within %v: %v", src.what, bound, err)
	}
	return true, src.what + " read"
}

// envKubernetesHost is set by the kubelet in every container of a pod.
const envKubernetesHost = "KUBERNETES_SERVICE_HOST"

// probe reports whether an HTTP/2 server answers at addr before ctx is done.
// A TCP connection is not enough: grpc-go reports READY only after the
// server's HTTP/2 preface (its SETTINGS frame) has arrived, so an address
// that accepts connections but never speaks is not mistaken for istiod.
func probe(ctx context.Context, addr string) error {
	var mu sync.Mutex
	var dialErr error
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		mu.Lock()
		dialErr = err
		mu.Unlock()
		return c, err
	}
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dial))
	if err != nil {
		return err
	}
	defer cc.Close()
	cc.Connect()
	for {
		st := cc.GetState()
		switch st {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure:
			mu.Lock()
			defer mu.Unlock()
			if dialErr != nil {
				return dialErr
			}
			return errors.New("connection failed")
		}
		if !cc.WaitForStateChange(ctx, st) {
			mu.Lock()
			defer mu.Unlock()
			if dialErr != nil {
				return fmt.Errorf("%w (last dial: %w)", ctx.Err(), dialErr)
			}
			return fmt.Errorf("no http/2 answer: %w", ctx.Err())
		}
	}
}
