//go:build istiod

package istiod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// StartTimeout bounds NewServer's wait for istiod to be ready. istiod is
// ready in about 0.2 s on a quiet machine; a loaded one takes seconds.
const StartTimeout = 60 * time.Second

// stopGrace is how long istiod gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// Options configures a Server. The zero value works.
type Options struct {
	// NoStart makes NewServer return the Server without starting istiod, so
	// that a test can begin with istiod down; call Start later.
	NoStart bool
}

// Server is one istiod (pilot-discovery) process on loopback in file-config
// mode. Its xDS and monitoring addresses are chosen when it is created and
// stay the same across Kill and Start. Its methods are safe for concurrent
// use.
type Server struct {
	bin      string
	dir      string // holds mesh.yaml and config/
	xdsAddr  string
	monAddr  string
	dumpHTTP httpGetter

	mu     sync.Mutex
	proc   *proctest.Process
	closed bool
}

// NewServer creates a Server with the binary from EnvBinary (skipping or
// failing t as RequireBinary does), starts it unless opts.NoStart, and
// closes it when t's test ends. When t failed, istiod's last lines of output
// are logged.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(RequireBinary(t))
	if err != nil {
		t.Fatalf("istiod: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("istiod output (last lines):\n%s", s.LogTail(60))
		}
		s.Close()
	})
	if !opts.NoStart {
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		if err := s.Start(ctx); err != nil {
			t.Fatalf("istiod: %v", err)
		}
	}
	return s
}

// New prepares a Server that runs the pilot-discovery binary bin: a
// temporary directory for its mesh config and ServiceEntry files, and free
// loopback ports. It does not start istiod; the caller must Close it.
func New(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "meshmatch-istiod-")
	if err != nil {
		return nil, fmt.Errorf("istiod: %w", err)
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.prepare(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) prepare() error {
	if err := os.Mkdir(s.configDir(), 0o700); err != nil {
		return fmt.Errorf("istiod: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "mesh.yaml"), []byte(meshConfig), 0o600); err != nil {
		return fmt.Errorf("istiod: %w", err)
	}
	var err error
	if s.xdsAddr, err = freeAddr(); err != nil {
		return err
	}
	if s.monAddr, err = freeAddr(); err != nil {
		return err
	}
	s.dumpHTTP = newHTTPGetter()
	return nil
}

// meshConfig is istiod's mesh configuration: Istio's defaults for a
// plaintext mesh whose proxies find istiod on loopback.
const meshConfig = `rootNamespace: istio-system
trustDomain: cluster.local
enableAutoMtls: false
defaultConfig:
  discoveryAddress: 127.0.0.1:15010
`

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
// istiod's monitoring listener does not report the port it got for port 0,
// and tests need the xDS address before istiod starts, so both are chosen
// here.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("istiod: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// XDSAddr returns istiod's plaintext xDS address ("127.0.0.1:port"), which
// is the same before Start and across Kill and Start.
func (s *Server) XDSAddr() string { return s.xdsAddr }

// MonitoringAddr returns the address of istiod's monitoring port, which
// serves /debug/config_dump.
func (s *Server) MonitoringAddr() string { return s.monAddr }

func (s *Server) configDir() string { return filepath.Join(s.dir, "config") }

// Start starts istiod and waits, within ctx, until it serves xDS and its
// monitoring port answers. Starting a running Server is an error.
func (s *Server) Start(ctx context.Context) error {
	p, err := s.spawn()
	if err != nil {
		return err
	}
	if err := s.waitReady(ctx, p); err != nil {
		p.Kill()
		return fmt.Errorf("istiod: start: %w", err)
	}
	return nil
}

// spawn starts the process under s.mu; the wait for readiness is not
// under the lock, so that Kill, Close and LogTail do not wait for it.
func (s *Server) spawn() (*proctest.Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, errors.New("istiod: start: server closed")
	case s.proc != nil && s.proc.Running():
		return nil, errors.New("istiod: start: already running")
	}
	p, err := proctest.Start(proctest.Config{
		Name: "istiod", Path: s.bin, Args: s.args(), Env: s.env(), StopGrace: stopGrace,
	})
	if err != nil {
		return nil, err
	}
	s.proc = p
	return p, nil
}

func (s *Server) args() []string {
	return []string{
		"discovery", "--registries=", "--configDir=" + s.configDir(),
		"--meshConfig=" + filepath.Join(s.dir, "mesh.yaml"),
		"--networksConfig=" + filepath.Join(s.dir, "no-networks.yaml"),
		"--domain=cluster.local", "--namespace=istio-system",
		"--grpcAddr=" + s.xdsAddr, "--secureGRPCAddr=",
		"--httpAddr=127.0.0.1:0", "--httpsAddr=127.0.0.1:0",
		"--monitoringAddr=" + s.monAddr,
		"--ctrlz_address=127.0.0.1", "--ctrlz_port=0",
	}
}

// env is istiod's whole environment: nothing of the caller's (no
// KUBECONFIG), no CA, no Gateway API controller.
func (s *Server) env() []string {
	return []string{
		"HOME=" + s.dir, "PATH=/usr/bin:/bin",
		"POD_NAMESPACE=istio-system", "ENABLE_CA_SERVER=false", "PILOT_ENABLE_GATEWAY_API=false",
	}
}

// waitReady waits until istiod serves xDS and its monitoring port answers.
// Either wait fails at once, with istiod's last lines of output, when istiod
// exits.
func (s *Server) waitReady(ctx context.Context, p *proctest.Process) error {
	if _, _, err := p.WaitLine(ctx, 0, "starting gRPC discovery service at"); err != nil {
		return err
	}
	url := "http://" + s.monAddr + "/version"
	return p.WaitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		_, err := s.dumpHTTP.get(ctx, url)
		return err
	})
}

// Kill kills istiod with SIGKILL, the way a crashed or evicted pod goes, and
// waits for it to exit. Clients keep the configuration they got. Killing a
// Server that is not running does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// Running reports whether istiod is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && s.proc.Running()
}

// LogTail returns the last n lines istiod printed.
func (s *Server) LogTail(n int) string {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return "(istiod never started)"
	}
	return p.Tail(n)
}

// Close stops istiod (SIGTERM, then SIGKILL after a grace period) and
// removes its directory. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		p.Stop()
	}
	s.dumpHTTP.close()
	os.RemoveAll(s.dir)
}
