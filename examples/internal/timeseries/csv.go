package timeseries

import (
	"cmp"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// header is the header row of WriteCSV.
var header = []string{"second", "calls", "errors", "errors_by_code", "p50_ms", "p99_ms", "strategy", "faults"}

// WriteCSV writes secs as CSV (RFC 4180) under the header
//
//	second,calls,errors,errors_by_code,p50_ms,p99_ms,strategy,faults
//
// one row per second: its offset in whole seconds, its calls and errors,
// the errors by code as "Unavailable=3;DeadlineExceeded=1" (most frequent
// first, ties by name), p50 and p99 in milliseconds, the strategy, and the
// faults joined by ";".
func WriteCSV(w io.Writer, secs []Second) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, s := range secs {
		row := []string{
			strconv.FormatInt(int64(s.At/time.Second), 10),
			strconv.Itoa(s.Calls),
			strconv.Itoa(s.ErrorCount()),
			errorsByCode(s.Errors),
			millis(s.P50),
			millis(s.P99),
			s.Strategy,
			strings.Join(s.Faults, ";"),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// errorsByCode formats counts by code as WriteCSV does.
func errorsByCode(errs map[codes.Code]int) string {
	type count struct {
		name string
		n    int
	}
	var cs []count
	for c, n := range errs {
		cs = append(cs, count{name: c.String(), n: n})
	}
	slices.SortFunc(cs, func(a, b count) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name))
	})
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.name + "=" + strconv.Itoa(c.n)
	}
	return strings.Join(parts, ";")
}

// millis formats d in milliseconds with microsecond precision.
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}
