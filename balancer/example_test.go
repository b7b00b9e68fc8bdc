package balancer_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	mmbalancer "github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/dnstest"
)

// serveHealth starts a gRPC server with the health service on 127.0.0.1 and
// returns its port and a function that stops it.
func serveHealth() (port string, stop func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	_, port, _ = net.SplitHostPort(lis.Addr().String())
	return port, srv.Stop
}

// closedPort returns a loopback address nothing listens on.
func closedPort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Headless balances over every address a headless Service's name returns,
// looked up again every RefreshInterval. Here the name is served by a
// loopback DNS server from package dnstest. Import the package as
// mmbalancer next to grpc-go's own balancer package.
func ExampleHeadless() {
	port, stop := serveHealth()
	defer stop()
	dns, err := dnstest.Start()
	if err != nil {
		panic(err)
	}
	defer dns.Close()
	dns.Set("frontend.meshmatch.test", "127.0.0.1")

	s := mmbalancer.Headless{DNS: mmbalancer.DNS{Server: dns.Addr(), RefreshInterval: time.Second}}
	conn, err := s.Dial("frontend.meshmatch.test:"+port, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	// Output: SERVING <nil>
}

// Auto detects which strategy of its chain works in this environment. Here
// no sidecar answers, so calls go through Headless; Decision says why.
func ExampleAuto() {
	port, stop := serveHealth()
	defer stop()
	dns, err := dnstest.Start()
	if err != nil {
		panic(err)
	}
	defer dns.Close()
	dns.Set("frontend.meshmatch.test", "127.0.0.1")

	nothing := closedPort()
	a := mmbalancer.Auto{Strategies: []mmbalancer.Strategy{
		mmbalancer.Sidecar{ProbeAddr: nothing, AdminAddr: nothing},
		mmbalancer.Headless{DNS: mmbalancer.DNS{Server: dns.Addr()}},
	}}
	conn, err := a.Dial("frontend.meshmatch.test:"+port, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	d := conn.(mmbalancer.Reporter).Decision()
	fmt.Println(d.Strategy)
	for _, det := range d.Detections {
		fmt.Println(det.Strategy, det.Available)
	}
	// Output:
	// SERVING <nil>
	// headless
	// sidecar false
	// headless true
}
