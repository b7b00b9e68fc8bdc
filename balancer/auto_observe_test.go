package balancer_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// decisions records what Auto.OnDecision reports.
type decisions struct {
	mu   sync.Mutex
	list []balancer.Decision
}

func (d *decisions) add(dec balancer.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list = append(d.list, dec)
}

// kinds returns "strategy/kind" of every decision so far.
func (d *decisions) kinds() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, dec := range d.list {
		out = append(out, dec.Strategy+"/"+dec.Kind)
	}
	return out
}

// TestAutoOnDecisionKinds: OnDecision sees every decision with its kind,
// in order: a fallback past a dead primary, the move up once it is back,
// and the move down when it dies again; and Decision() carries the kind.
func TestAutoOnDecisionKinds(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 2)
	bs[0].Stop()
	var got decisions
	a := balancer.Auto{
		Strategies: []balancer.Strategy{named{static(bs[0]), "primary"}, named{static(bs[1]), "secondary"}},
		Gate:       50 * time.Millisecond, Stable: 20 * time.Millisecond, RedetectInterval: 50 * time.Millisecond,
		OnDecision: got.add,
	}
	conn := balancertest.Dial(t, a, "svc.meshmatch.test:50504")
	waitServedBy(t, ctx, conn, bs[1].Name)
	bs[0].Restart(t)
	waitServedBy(t, ctx, conn, bs[0].Name)
	bs[0].Stop()
	waitServedBy(t, ctx, conn, bs[1].Name)

	want := []string{"secondary/fallback", "primary/move_up", "secondary/move_down"}
	if k := got.kinds(); !slices.Equal(k, want) {
		t.Errorf("OnDecision saw %q, want %q", k, want)
	}
	if d := decision(t, conn); d.Kind != "move_down" {
		t.Errorf("Decision().Kind = %q, want move_down", d.Kind)
	}
}

// TestAutoOnDecisionNone: a chain with nothing available reports "none".
func TestAutoOnDecisionNone(t *testing.T) {
	var got decisions
	conn := balancertest.Dial(t, balancer.Auto{Strategies: []balancer.Strategy{balancer.Static{}}, OnDecision: got.add}, "svc.meshmatch.test:50504")
	_, _ = calltest.GetTicket(testContext(t), conn)
	if k := got.kinds(); !slices.Equal(k, []string{"/none"}) {
		t.Errorf("OnDecision saw %q, want [\"/none\"]", k)
	}
}
