package xdsbootstrap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// The environment variables grpc-go reads its bootstrap from.
const (
	EnvFile   = "GRPC_XDS_BOOTSTRAP"
	EnvConfig = "GRPC_XDS_BOOTSTRAP_CONFIG"
)

// pollInterval is how often WaitFile looks for the file.
const pollInterval = 25 * time.Millisecond

// WaitFile reads the bootstrap file at path, waiting until it exists and
// holds a valid bootstrap or ctx is done. The Istio agent writes the file
// shortly after the pod starts, so an application that starts first must
// wait rather than fail; grpc-go itself reads the file once and caches a
// missing file as a failure for the life of the process.
func WaitFile(ctx context.Context, path string) ([]byte, error) {
	return WaitFileEvery(ctx, path, pollInterval)
}

// WaitFileEvery is WaitFile looking for the file every interval.
func WaitFileEvery(ctx context.Context, path string, interval time.Duration) ([]byte, error) {
	t := time.NewTimer(0)
	defer t.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			if last == nil {
				return nil, fmt.Errorf("xdsbootstrap: waiting for %s: %w", path, ctx.Err())
			}
			return nil, fmt.Errorf("xdsbootstrap: waiting for %s: %w: %w", path, ctx.Err(), last)
		case <-t.C:
		}
		b, err := readValid(path)
		if err == nil {
			return b, nil
		}
		last = err
		t.Reset(interval)
	}
}

// ReadFile reads and validates the bootstrap file at path without waiting.
func ReadFile(path string) ([]byte, error) {
	b, err := readValid(path)
	if err != nil {
		return nil, fmt.Errorf("xdsbootstrap: %s: %w", path, err)
	}
	return b, nil
}

func readValid(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fs.ErrNotExist
		}
		return nil, err
	}
	if err := Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}
