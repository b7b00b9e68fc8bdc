package xds_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The stock grpc-go baselines run in a child process, the test binary run
// again with envStockHelper naming the helper mode, because stock grpc-go
// reads GRPC_XDS_BOOTSTRAP once at init and caches the bootstrap for the
// whole process: only a fresh process shows what a user's program sees.
const (
	envStockHelper = "MESHMATCH_BENCH_STOCK_XDS"
	// stockTarget is the stock dial target: the same service over xds:///.
	stockTarget = "xds:///" + svcAddr
	// stockWindow is how long the late-file helper keeps trying after the
	// file exists.
	stockWindow = 3 * time.Second
)

// stockHelper runs the helper mode and returns the exit code. It writes one
// result line to stdout.
func stockHelper(mode string) int {
	var err error
	switch mode {
	case "first-result":
		err = stockFirstResult(os.Stdout)
	case "late-file":
		err = stockLateFile(os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stock helper:", err)
		return 1
	}
	return 0
}

// stockFirstResult dials stockTarget the way a user does and reports how
// long its first call took to succeed or fail: "<seconds> <code>".
func stockFirstResult(w io.Writer) error {
	start := time.Now()
	conn, err := grpc.NewClient(stockTarget, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		_, err = fmt.Fprintf(w, "%f NewClient:%v\n", time.Since(start).Seconds(), err)
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), unavailableBenchTimeout)
	defer cancel()
	_, err = getTicket(ctx, conn)
	_, werr := fmt.Fprintf(w, "%f %s\n", time.Since(start).Seconds(), status.Code(err))
	return werr
}

// stockLateFile makes one call while the bootstrap file is missing, writes
// "waiting <code>", waits for a line on r (the parent has created the
// file), then for stockWindow keeps making calls on the first connection and
// on fresh ones, and writes "<successes> <attempts> <last code>".
func stockLateFile(r io.Reader, w io.Writer) error {
	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
	first, err := grpc.NewClient(stockTarget, creds)
	if err != nil {
		return err
	}
	defer first.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_, err = getTicket(ctx, first)
	cancel()
	fmt.Fprintf(w, "waiting %s\n", status.Code(err))
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		return err
	}
	ok, attempts, last := 0, 0, status.Code(err)
	for start := time.Now(); time.Since(start) < stockWindow; attempts++ {
		err := stockAttempt(first, creds, attempts%2 == 0)
		last = status.Code(err)
		if err == nil {
			ok++
		}
	}
	_, err = fmt.Fprintf(w, "%d %d %s\n", ok, attempts, last)
	return err
}

// stockAttempt makes one call with a 300 ms deadline on first, or on a new
// connection when fresh is set.
func stockAttempt(first *grpc.ClientConn, creds grpc.DialOption, fresh bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	conn := first
	if fresh {
		c, err := grpc.NewClient(stockTarget, creds)
		if err != nil {
			return err
		}
		defer c.Close()
		conn = c
	}
	_, err := getTicket(ctx, conn)
	return err
}

// stockCmd returns the test binary run as helper mode with the given
// GRPC_XDS_BOOTSTRAP ("" leaves it unset) and none of the parent's own
// GRPC_XDS_* variables.
func stockCmd(ctx context.Context, mode, bootstrapFile string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GRPC_XDS_") && !strings.HasPrefix(kv, envStockHelper+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envStockHelper+"="+mode)
	if bootstrapFile != "" {
		cmd.Env = append(cmd.Env, "GRPC_XDS_BOOTSTRAP="+bootstrapFile)
	}
	cmd.Stderr = os.Stderr
	return cmd
}

// stockFirstResultRun runs the first-result helper and returns how long its
// first call took and whether it succeeded.
func stockFirstResultRun(b *testing.B, bootstrapFile string) (time.Duration, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), unavailableBenchTimeout+10*time.Second)
	defer cancel()
	out, err := stockCmd(ctx, "first-result", bootstrapFile).Output()
	if err != nil {
		b.Fatalf("stock grpc-go helper: %v (output %q)", err, out)
	}
	var secs float64
	var code string
	if _, err := fmt.Sscanf(string(out), "%f %s", &secs, &code); err != nil {
		b.Fatalf("stock grpc-go helper printed %q: %v", out, err)
	}
	b.Logf("stock grpc-go xds:/// (GRPC_XDS_BOOTSTRAP=%q): first call after %.3f s: %s", bootstrapFile, secs, code)
	return time.Duration(secs * float64(time.Second)), code == "OK"
}
