//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// hopCPU is this process's CPU time plus, for the proxy path, nginx's.
func hopCPU(b *testing.B, p *hopPath) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	d := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if p.nginx != nil {
		n, err := nginxCPU(p.nginx)
		if err != nil {
			b.Fatalf("nginx CPU time: %v", err)
		}
		d += n
	}
	return d
}

// nginxCPU reads the user+system time of the nginx process from /proc.
func nginxCPU(n *nginx) (time.Duration, error) {
	pid, err := os.ReadFile(filepath.Join(n.dir, "nginx.pid"))
	if err != nil {
		return 0, err
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(pid)), "stat"))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which ends at the last ')':
	// state is field 3, utime 14 and stime 15.
	rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(rest) < 13 {
		return 0, fmt.Errorf("short /proc stat %q", stat)
	}
	var ticks int64
	for _, f := range rest[11:13] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat field %q: %w", f, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * clockTick, nil
}

// percentile returns the q-th quantile (0 < q < 1) of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// reportHop reports the ratios and per-path figures of BenchmarkProxyHop.
func reportHop(b *testing.B, paths []*hopPath) {
	p50, p99, cpu := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, p := range paths {
		slices.Sort(p.lat)
		p50[p.name] = float64(percentile(p.lat, 0.50).Microseconds())
		p99[p.name] = float64(percentile(p.lat, 0.99).Microseconds())
		cpu[p.name] = float64(p.cpu.Microseconds()) / float64(len(p.lat))
		b.ReportMetric(p50[p.name], p.name+"-p50-us")
		b.ReportMetric(p99[p.name], p.name+"-p99-us")
		b.ReportMetric(cpu[p.name], p.name+"-cpu-us/call")
	}
	b.ReportMetric(p50["proxy"]/p50["direct"], "proxy-p50-ratio")
	b.ReportMetric(p99["proxy"]/p99["direct"], "proxy-p99-ratio")
	b.ReportMetric(p50["xds"]/p50["direct"], "xds-p50-ratio")
	b.ReportMetric(p99["xds"]/p99["direct"], "xds-p99-ratio")
	if cpu["direct"] > 0 { // getrusage counts in µs; too few calls may show none
		b.ReportMetric(cpu["proxy"]/cpu["direct"], "proxy-cpu-ratio")
		b.ReportMetric(cpu["xds"]/cpu["direct"], "xds-cpu-ratio")
	}
	b.ReportMetric(0, "ns/op")
}
