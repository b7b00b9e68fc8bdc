//go:build istiod

package istiod_test

import (
	"testing"

	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// xdsHarness serves the suite's backends as a ServiceEntry of the shared
// istiod and dials them with the proxyless strategy; membership changes
// rewrite the ServiceEntry file.
func xdsHarness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	srv := sharedIstiod(t)
	svc := serviceFor(t, srv, "conformance", bs)
	return balancertest.Setup{
		Strategy: xdsStrategy(srv, uniqueName("conformance-pod")),
		Addr:     svc.Addr(),
		SetBackends: func(t testing.TB, live []*balancertest.Backend) {
			next := svc
			next.Endpoints = backendIPs(live)
			setService(t, srv, next)
		},
	}
}

// TestConformance runs the balancertest suite for the xds strategy against
// real istiod: spread, membership changes by editing the ServiceEntry, a
// dead backend, Detect's deadline, invalid addresses and Close.
func TestConformance(t *testing.T) {
	sharedIstiod(t) // skip or fail once, before the suite's subtests
	balancertest.Run(t, xdsHarness)
}

// The benchmarks measure, against real istiod, the figures the README
// quotes for the fakes.

func BenchmarkSpread(b *testing.B)   { balancertest.BenchSpread(b, xdsHarness) }
func BenchmarkScaleUp(b *testing.B)  { balancertest.BenchScaleUp(b, xdsHarness) }
func BenchmarkFailover(b *testing.B) { balancertest.BenchFailover(b, xdsHarness) }
