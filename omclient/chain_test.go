package omclient

import (
	"slices"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
)

// TestDefaultChainMatchesZeroAuto: omclient's default chain is the zero
// balancer.Auto's chain with proxyless xDS added after the sidecar (package
// balancer cannot import xds), and nothing else differs. The zero Auto's
// chain is read from the Decision of a connection it dialled to a closed
// loopback port (Detections lists the chain from the start).
func TestDefaultChainMatchesZeroAuto(t *testing.T) {
	cc, err := balancer.Auto{}.Dial("127.0.0.1:1")
	if err != nil {
		t.Fatalf("Auto{}.Dial() = %v", err)
	}
	defer cc.Close()
	r, ok := cc.(balancer.Reporter)
	if !ok {
		t.Fatalf("Auto{}.Dial() = %T, not a balancer.Reporter", cc)
	}
	var zero []string
	for _, d := range r.Decision().Detections {
		zero = append(zero, d.Strategy)
	}
	var ours []string
	for _, s := range defaultChain(nil) {
		ours = append(ours, s.Name())
	}
	i := slices.Index(ours, "xds")
	if i >= 0 && (i == 0 || ours[i-1] != "sidecar") {
		t.Errorf("default chain %v: xds is not right after sidecar", ours)
	}
	if without := slices.DeleteFunc(slices.Clone(ours), func(n string) bool { return n == "xds" }); !slices.Equal(without, zero) {
		t.Errorf("default chain without xds = %v, want the zero Auto's chain %v", without, zero)
	}
}
