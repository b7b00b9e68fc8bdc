package xds_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// BenchmarkBootstrapLate: GRPC_XDS_BOOTSTRAP names a file that does not exist
// when the program starts (the Istio agent writes it after the app's
// container has started); it is created after the first call failed. The xDS
// strategy (default BootstrapWait) is timed from the file's creation to its
// first successful call ("first-success-after-create-s"). The baseline is
// stock grpc-go in a fresh process with the same environment: after the
// file exists it keeps calling for stockWindow on its first connection and
// on new ones, and "stock-successes" of "stock-attempts" succeeded (grpc-go
// caches the missing file as a failure for the process). As a control, the
// same stock helper must succeed when the file exists from its start.
func BenchmarkBootstrapLate(b *testing.B) {
	bs := balancertest.StartBackends(b, 1)
	srv := xdstest.NewServer(b)
	setEndpoints(srv)(b, bs)
	var ours time.Duration
	var ok, attempts int
	b.ResetTimer()
	for range b.N {
		ours += lateOurs(b, srv)
		o, a := lateStock(b, srv)
		ok, attempts = ok+o, attempts+a
	}
	b.StopTimer()
	// The control: the same helper succeeds when the file exists at start.
	control := filepath.Join(b.TempDir(), "bootstrap.json")
	writeBootstrap(b, srv, control)
	if _, controlOK := stockFirstResultRun(b, control); !controlOK {
		b.Fatal("stock grpc-go failed with the bootstrap file present from the start: the baseline is broken")
	}
	b.ReportMetric(ours.Seconds()/float64(b.N), "first-success-after-create-s")
	b.ReportMetric(float64(ok), "stock-successes")
	b.ReportMetric(float64(attempts), "stock-attempts")
	b.ReportMetric(stockWindow.Seconds(), "stock-window-s")
	b.ReportMetric(0, "ns/op")
}

// writeBootstrap writes srv's bootstrap to file in one rename, the way an
// agent makes it appear whole.
func writeBootstrap(b *testing.B, srv *xdstest.Server, file string) {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, srv.Bootstrap(xdstest.DefaultNodeID), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		b.Fatal(err)
	}
}

// lateOurs dials with the file missing, makes one failing call, creates the
// file and returns the time from then to the first successful call.
func lateOurs(b *testing.B, srv *xdstest.Server) time.Duration {
	file := filepath.Join(b.TempDir(), "bootstrap.json")
	x := xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": file})}
	conn, err := x.Dial(svcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	defer conn.Close()
	if err := callWithin(conn, 300*time.Millisecond); err == nil {
		b.Fatal("a call succeeded before the bootstrap file existed")
	}
	writeBootstrap(b, srv, file)
	created := time.Now()
	for time.Since(created) < unavailableBenchTimeout {
		if callWithin(conn, 300*time.Millisecond) == nil {
			return time.Since(created)
		}
	}
	b.Fatalf("no successful call within %v of creating the bootstrap file", unavailableBenchTimeout)
	return 0
}

func callWithin(conn grpc.ClientConnInterface, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := getTicket(ctx, conn, grpc.WaitForReady(true))
	return err
}

// lateStock runs the late-file helper: it creates the file once the helper's
// first call has failed and returns the helper's successes and attempts.
func lateStock(b *testing.B, srv *xdstest.Server) (ok, attempts int) {
	ctx, cancel := context.WithTimeout(context.Background(), unavailableBenchTimeout)
	defer cancel()
	file := filepath.Join(b.TempDir(), "bootstrap.json")
	cmd := stockCmd(ctx, "late-file", file)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		b.Fatalf("stock helper printed nothing: %v", lines.Err())
	}
	b.Logf("stock grpc-go, bootstrap file missing: %s", lines.Text())
	writeBootstrap(b, srv, file)
	if _, err := fmt.Fprintln(in, "created"); err != nil {
		b.Fatal(err)
	}
	if !lines.Scan() {
		b.Fatalf("stock helper printed no result: %v", lines.Err())
	}
	var last string
	if _, err := fmt.Sscanf(lines.Text(), "%d %d %s", &ok, &attempts, &last); err != nil {
		b.Fatalf("stock helper printed %q: %v", lines.Text(), err)
	}
	b.Logf("stock grpc-go, %v after creating the file: %d of %d calls succeeded, last %s", stockWindow, ok, attempts, last)
	return ok, attempts
}
