package dnstest_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/meshmatch/meshmatch/testing/dnstest"
)

func Example() {
	srv, err := dnstest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.Set("frontend.meshmatch.test", "127.0.0.1")

	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip4", "frontend.meshmatch.test.")
	fmt.Println(ips, err)
	// Output: [127.0.0.1] <nil>
}
