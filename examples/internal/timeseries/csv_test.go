package timeseries_test

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
)

// sample is a short run with errors, a strategy change, a gap and two
// fault windows, one with characters CSV and XML must quote.
func sample() *timeseries.Recorder {
	r := timeseries.New(t0)
	r.SetStrategy(t0, "headless")
	for i := range 10 {
		r.Observe(at(time.Duration(i)*time.Millisecond), "/m", codes.OK, 2*time.Millisecond)
	}
	r.Observe(at(1100*time.Millisecond), "/m", codes.Unavailable, 40*time.Millisecond)
	r.Observe(at(1200*time.Millisecond), "/m", codes.Unavailable, 40*time.Millisecond)
	r.Observe(at(1300*time.Millisecond), "/m", codes.DeadlineExceeded, time.Second)
	r.Observe(at(1400*time.Millisecond), "/m", codes.Unavailable, 40*time.Millisecond)
	r.Observe(at(1500*time.Millisecond), "/m", codes.Unavailable, 40*time.Millisecond)
	r.Mark(timeseries.Fault{Kind: "kill", Target: "core-1", Start: at(time.Second), End: at(2 * time.Second)})
	r.Mark(timeseries.Fault{Kind: `drop "50%"`, Target: "a,b <&>", Start: at(1500 * time.Millisecond)})
	r.SetStrategy(at(2*time.Second), "xds")
	r.Observe(at(3*time.Second), "/m", codes.OK, 1500*time.Microsecond)
	return r
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "output differs from %s (go test -update rewrites it)", path)
}

// TestCSVRoundTrip: WriteCSV's output is the golden file, and parses back
// with encoding/csv into the header and one row per second with the
// expected fields, latencies within the Recorder's Resolution.
func TestCSVRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, timeseries.WriteCSV(&buf, sample().Seconds()))
	golden(t, "sample.csv", buf.Bytes())
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	want := [][]string{
		{"second", "calls", "errors", "errors_by_code", "p50_ms", "p99_ms", "strategy", "faults"},
		{"0", "10", "0", "", "2", "2", "headless", ""},
		{"1", "5", "5", "Unavailable=4;DeadlineExceeded=1", "40", "1000", "headless", `kill core-1;drop "50%" a,b <&>`},
		{"2", "0", "0", "", "0", "0", "xds", `drop "50%" a,b <&>`},
		{"3", "1", "0", "", "1.5", "1.5", "xds", `drop "50%" a,b <&>`},
	}
	require.Len(t, rows, len(want))
	assert.Equal(t, want[0], rows[0], "header")
	for i := 1; i < len(want); i++ {
		require.Len(t, rows[i], len(want[0]), "row %d", i)
		for j, f := range want[i] {
			if j == 4 || j == 5 {
				assertMillis(t, "second "+rows[i][0]+" "+rows[0][j], rows[i][j], f)
				continue
			}
			assert.Equal(t, f, rows[i][j], "second %s %s", rows[i][0], rows[0][j])
		}
	}
}

// assertMillis checks a latency field is the latency it stands for, within
// the Recorder's Resolution.
func assertMillis(t *testing.T, what, got, want string) {
	t.Helper()
	g, err := time.ParseDuration(got + "ms")
	require.NoError(t, err, "%s = %q", what, got)
	w, _ := time.ParseDuration(want + "ms")
	within(t, what, g, w)
}

// TestCSVEmpty: no seconds is a header alone.
func TestCSVEmpty(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, timeseries.WriteCSV(&buf, nil))
	assert.Equal(t, "second,calls,errors,errors_by_code,p50_ms,p99_ms,strategy,faults\n", buf.String())
}
