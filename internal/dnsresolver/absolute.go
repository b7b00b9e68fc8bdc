package dnsresolver

import (
	"bufio"
	"os"
	"strings"
	"sync"
)

// resolvConf is where Go's resolver, and so this package, reads the search
// path.
const resolvConf = "/etc/resolv.conf"

// searchDomains returns the domains of the search (or domain) line of the
// resolv.conf at path, lower case, without final dots. A missing file has
// none.
func searchDomains(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var domains []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || (fields[0] != "search" && fields[0] != "domain") {
			continue
		}
		domains = domains[:0] // the last search or domain line wins
		for _, d := range fields[1:] {
			domains = append(domains, strings.ToLower(strings.TrimSuffix(d, ".")))
		}
	}
	return domains
}

// absoluter returns a function that makes a host name absolute (final dot)
// when it is already fully qualified: it ends in one of the search domains,
// as "svc.ns.svc.cluster.local" ends in a pod's "cluster.local". Such a name
// then costs one query per record type instead of going through the search
// path first (with Kubernetes' ndots:5, 8 extra queries per lookup of a
// 4-dot name). Other names are returned as they are, so "svc" and "svc.ns"
// still resolve through the search path. The search path is read once, on
// the first lookup.
func absoluter(path string) func(host string) string {
	domains := sync.OnceValue(func() []string { return searchDomains(path) })
	return func(host string) string {
		if strings.HasSuffix(host, ".") {
			return host
		}
		lower := strings.ToLower(host)
		for _, d := range domains() {
			if strings.HasSuffix(lower, "."+d) {
				return host + "."
			}
		}
		return host
	}
}
