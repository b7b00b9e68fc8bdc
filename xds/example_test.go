package xds_test

import (
	"context"
	"fmt"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// A strategy given a bootstrap is available without probing istiod; Dial
// does no I/O.
func ExampleStrategy_Detect() {
	istiod, err := xdstest.Start()
	if err != nil {
		panic(err)
	}
	defer istiod.Close()

	s := xds.Strategy{Bootstrap: istiod.Bootstrap(xdstest.DefaultNodeID)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d := s.Detect(ctx, "open-match-frontend.open-match.svc.cluster.local:50504")
	fmt.Println(d.Strategy, d.Available, d.Reason)
	// Output: xds true explicit bootstrap set
}

// In an Auto chain the xDS strategy goes first and the headless strategy
// catches clusters without istiod. (Not run: it would look up istiod and the
// service in the cluster's DNS.)
func ExampleStrategy_auto() {
	auto := balancer.Auto{Strategies: []balancer.Strategy{
		xds.Strategy{},
		balancer.Headless{},
	}}
	conn, err := auto.Dial("open-match-frontend.open-match.svc.cluster.local:50504")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	// Use conn with the clients in omclient/pb, or through omclient.
}
