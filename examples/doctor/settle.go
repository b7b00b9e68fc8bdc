package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc/connectivity"

	"github.com/meshmatch/meshmatch/balancer"
)

// settle dials c.addr with Auto over the chain and waits until the
// connection is READY or the bound (-timeout to detect, then -gate and
// -timeout to connect) has passed, and returns Auto's decision then and the
// connection's state.
func settle(ctx context.Context, c config) (balancer.Decision, connectivity.State, error) {
	auto := balancer.Auto{Strategies: strategies(c), DetectTimeout: c.timeout, Gate: c.gate}
	conn, err := auto.Dial(c.addr)
	if err != nil {
		return balancer.Decision{}, 0, err
	}
	defer conn.Close()
	r, ok := conn.(balancer.Reporter)
	if !ok {
		return balancer.Decision{}, 0, fmt.Errorf("auto connection of type %T does not report its decision", conn)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*c.timeout+c.gate)
	defer cancel()
	conn.Connect()
	st := conn.GetState()
	for !settled(st, r.Decision()) && conn.WaitForStateChange(ctx, st) {
		conn.Connect()
		st = conn.GetState()
	}
	return r.Decision(), st, nil
}

// settled reports whether waiting longer cannot change the answer: the
// connection is READY or closed, or no strategy is available.
func settled(st connectivity.State, dec balancer.Decision) bool {
	switch {
	case st == connectivity.Ready, st == connectivity.Shutdown:
		return true
	case st == connectivity.TransientFailure && dec.Strategy == "" && dec.Reason != "detecting":
		return true
	}
	return false
}
