package xdsbootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	return Wait{}.File(ctx, path)
}

// Wait says how Wait.File looks for a bootstrap file. The zero value looks
// every 25 ms for a file that passes Validate.
type Wait struct {
	// Interval is how often the file is read; zero means 25 ms.
	Interval time.Duration
	// Check, when set, must also accept the bootstrap.
	Check func([]byte) error
	// Skip, when set, is content that is passed over even if valid: the
	// bootstrap the caller already tried, so that only a rewrite counts.
	Skip []byte
}

// File reads the bootstrap file at path until it holds a bootstrap that w
// accepts or ctx is done; the error then wraps ctx's error and the last
// reason the file was not taken.
func (w Wait) File(ctx context.Context, path string) ([]byte, error) {
	interval := w.Interval
	if interval <= 0 {
		interval = pollInterval
	}
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
		b, err := w.read(path)
		if err == nil {
			return b, nil
		}
		last = err
		t.Reset(interval)
	}
}

// errUnchanged is why a file that still holds Wait.Skip is passed over.
var errUnchanged = errors.New("xdsbootstrap: file not rewritten since it failed")

func (w Wait) read(path string) ([]byte, error) {
	b, err := readValid(path)
	switch {
	case err != nil:
		return nil, err
	case w.Skip != nil && bytes.Equal(b, w.Skip):
		return nil, errUnchanged
	case w.Check != nil:
		if err := w.Check(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// CheckDir reports an error wrapping fs.ErrNotExist when the directory
// that would hold the file at path does not exist. The Istio agent writes
// its bootstrap into a volume mounted when the container starts, so a
// missing directory means a mistyped path, not a file still to come.
func CheckDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("xdsbootstrap: directory %s does not exist: %w", dir, fs.ErrNotExist)
	case err != nil:
		return fmt.Errorf("xdsbootstrap: %w", err)
	case !st.IsDir():
		return fmt.Errorf("xdsbootstrap: %s is not a directory: %w", dir, fs.ErrNotExist)
	}
	return nil
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
