package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/omclient"
)

// roleEnv, set to roleMMF, makes the soak's own executable run as one match
// function replica: the replicas are processes of their own, so that a
// SIGKILL kills one the way the kubelet kills a pod's container.
const (
	roleEnv = "MESHMATCH_SOAK_ROLE"
	roleMMF = "mmf"
)

// readyLine is what a replica prints once it serves.
const readyLine = "soak-mmf: serving"

// rules are the match function's: teams of two, short-handed after 2 s.
func rules() game.Rules {
	return game.Rules{TeamSize: 2, MaxWait: 2 * time.Second, Function: "soak-teams"}
}

// runMMF is main for a match function replica: it serves on -listen and
// queries the core's replicas -query (comma-separated "host:port", round
// robin) until SIGTERM (drain) or SIGKILL.
func runMMF(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soak-mmf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "address to serve on")
	query := fs.String("query", "", "comma-separated addresses of the query service's replicas")
	reuse := fs.Bool("reuseport", false, "listen with SO_REUSEPORT, sharing the port with the other replicas")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := cli.SignalContext()
	defer stop()
	addrs := strings.Split(*query, ",")
	q, err := omclient.DialQuery(addrs[0], omclient.WithStrategy(balancer.Static{Addrs: addrs}))
	if err != nil {
		return cli.Exit(stderr, "soak-mmf", err)
	}
	defer q.Close()
	var lc net.ListenConfig
	if *reuse {
		lc.Control = reusePort
	}
	lis, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return cli.Exit(stderr, "soak-mmf", fmt.Errorf("listen: %w", err))
	}
	srv := omclient.NewMatchFunctionServer(q, rules().MatchFunc())
	fmt.Fprintf(stdout, "%s on %s\n", readyLine, lis.Addr())
	return cli.Exit(stderr, "soak-mmf", cli.Serve(ctx, srv, lis))
}

// mmfReplicas are the match function replica processes.
type mmfReplicas struct {
	exe   string
	query string
	addrs []string
	log   io.Writer // the replicas' stderr
	extra []string  // more flags for each replica

	mu    sync.Mutex
	procs []*exec.Cmd
	done  []chan struct{}
}

// startMMFs starts a replica on each of addrs.
func startMMFs(addrs []string, query []string, log io.Writer, extra ...string) (*mmfReplicas, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("match function replicas: %w", err)
	}
	m := &mmfReplicas{exe: exe, query: strings.Join(query, ","), addrs: addrs, log: log, extra: extra,
		procs: make([]*exec.Cmd, len(addrs)), done: make([]chan struct{}, len(addrs))}
	for i := range addrs {
		if err := m.start(i); err != nil {
			m.close()
			return nil, err
		}
	}
	return m, nil
}

// start starts replica i and waits until it serves.
func (m *mmfReplicas) start(i int) error {
	cmd := exec.Command(m.exe, append([]string{"-listen", m.addrs[i], "-query", m.query}, m.extra...)...)
	cmd.Env = append(os.Environ(), roleEnv+"="+roleMMF)
	cmd.SysProcAttr = childAttr()
	cmd.Stderr = m.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("match function replica %d: %w", i, err)
	}
	done := make(chan struct{})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.HasPrefix(sc.Text(), readyLine) {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		_ = cmd.Wait()
		close(done)
	}()
	m.mu.Lock()
	m.procs[i], m.done[i] = cmd, done
	m.mu.Unlock()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case ok := <-ready:
		if !ok {
			return fmt.Errorf("match function replica %d on %s exited before serving", i, m.addrs[i])
		}
		return nil
	case <-t.C:
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("match function replica %d on %s not serving after 30s", i, m.addrs[i])
	}
}

// signal sends sig to replica i and waits (at most bound) for it to exit,
// killing it then.
func (m *mmfReplicas) signal(i int, sig syscall.Signal, bound time.Duration) error {
	m.mu.Lock()
	cmd, done := m.procs[i], m.done[i]
	m.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("match function replica %d is not running", i)
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = cmd.Process.Kill()
		<-done
	}
	m.mu.Lock()
	m.procs[i] = nil
	m.mu.Unlock()
	return nil
}

// fault kills (SIGKILL) or drains (SIGTERM) replica i, waits hold and
// starts it again.
func (m *mmfReplicas) fault(ctx context.Context, i int, sig syscall.Signal, d time.Duration) error {
	if err := m.signal(i, sig, cli.ShutdownTimeout+time.Second); err != nil {
		return err
	}
	hold(ctx, d)
	return m.start(i)
}

// close stops every replica (SIGTERM, then SIGKILL after the shutdown
// bound).
func (m *mmfReplicas) close() {
	var wg sync.WaitGroup
	for i := range m.procs {
		m.mu.Lock()
		running := m.procs[i] != nil
		m.mu.Unlock()
		if running {
			wg.Go(func() { _ = m.signal(i, syscall.SIGTERM, cli.ShutdownTimeout+time.Second) })
		}
	}
	wg.Wait()
}
