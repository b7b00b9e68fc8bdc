package faulttest

import (
	"fmt"
	"net"
	"strconv"
)

// ListenLoopback binds 127.0.0.1 … 127.0.0.n on one TCP port, so that a DNS
// name listing those IPs plus that port reaches all n listeners. It tries a
// few ports before giving up.
func ListenLoopback(n int) ([]net.Listener, error) {
	if n < 1 || n > 250 {
		return nil, fmt.Errorf("faulttest: ListenLoopback(%d): n must be in [1, 250]", n)
	}
	var lastErr error
	for range 20 {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("faulttest: listen on 127.0.0.1: %w", err)
		}
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		lis := []net.Listener{first}
		for i := 2; i <= n; i++ {
			l, err := net.Listen("tcp", net.JoinHostPort(fmt.Sprintf("127.0.0.%d", i), port))
			if err != nil {
				lastErr = err
				break
			}
			lis = append(lis, l)
		}
		if len(lis) == n {
			return lis, nil
		}
		for _, l := range lis {
			l.Close()
		}
	}
	return nil, fmt.Errorf("faulttest: no port free on 127.0.0.1-127.0.0.%d: %w", n, lastErr)
}
