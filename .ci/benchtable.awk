# Renders README's Performance table from the output of .ci/bench.
# Each value is m[package "." benchmark, unit]; a missing one prints "n/a".
/^pkg: / { n = split($2, p, "/"); pkg = p[n] }
/^# .*load average before/ { sub(/^# /, ""); header = $0 }
/^# load average after/ { sub(/^# /, ""); footer = $0 }
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i += 2) m[pkg "." name, $(i + 1)] = $i
}
function v(key, unit, fmt,   k) {
  k = key SUBSEP unit
  if (!(k in m)) return "n/a"
  return sprintf(fmt == "" ? "%.3g" : fmt, m[k])
}
function each(pkg, bench, subs, unit, fmt,   n, s, i, r) {
  n = split(subs, s, ",")
  for (i = 1; i <= n; i++) r = r (i > 1 ? " / " : "") v(pkg "." bench "/" s[i], unit, fmt)
  return r
}
END {
  print "One run of `.ci/bench` (" header "; " footer ")."
  print ""
  print "| goal | benchmark (options) | result | baseline in the same run |"
  print "|---|---|---|---|"
  o = "omclient.BenchmarkUnaryOverhead"
  printf "| SDK overhead ≤ 1.03 | `omclient` `BenchmarkUnaryOverhead/{static,headless,xds,auto}`: GetTicket through `Frontend` (default retry policy; auto = default chain, no sidecar agent or istiod) | overhead-ratio (totals) **%s**; of medians **%s**; split into path-ratio %s × wrapper-ratio %s | raw generated stub on a plain `grpc.ClientConn` to the same server, calls rotating; path = the raw stub on the strategy's own connection; raw %s µs per call |\n", \
    each("omclient", "BenchmarkUnaryOverhead", "static,headless,xds,auto", "overhead-ratio"), each("omclient", "BenchmarkUnaryOverhead", "static,headless,xds,auto", "overhead-p50-ratio"), \
    each("omclient", "BenchmarkUnaryOverhead", "static,headless,xds,auto", "path-ratio"), each("omclient", "BenchmarkUnaryOverhead", "static,headless,xds,auto", "wrapper-ratio"), \
    sprintf("%.0f / %.0f / %.0f / %.0f", m[o "/static", "raw-ns/call"] / 1000, m[o "/headless", "raw-ns/call"] / 1000, m[o "/xds", "raw-ns/call"] / 1000, m[o "/auto", "raw-ns/call"] / 1000)
  printf "| spread max/min ≤ 1.05 over 3 backends | `BenchmarkSpread/{headless,sidecar,static}` (balancer), `/xds` (xds, fake istiod) | **%s** / **%s** | — |\n", \
    each("balancer", "BenchmarkSpread", "headless,sidecar,static", "max/min-share"), v("xds.BenchmarkSpread/xds", "max/min-share")
  printf "| new backend gets traffic within refresh + 1 s | `BenchmarkScaleUp/{headless,sidecar}` (refresh 0.5 s), `/xds` (fake istiod pushes) | pickup **%s** / **%s** s | stock `dns://` + round_robin, same DNS server: %s s watched, new backend picked: %s (1 = yes) |\n", \
    each("balancer", "BenchmarkScaleUp", "headless,sidecar", "pickup-s"), v("xds.BenchmarkScaleUp/xds", "pickup-s"), \
    v("balancer.BenchmarkScaleUp/stock-dns", "stock-pickup-s"), v("balancer.BenchmarkScaleUp/stock-dns", "stock-picked", "%d")
  printf "| failover: 0 failed idempotent calls, recovery ≤ 1 s | `omclient` `BenchmarkFailover/{static,headless,sidecar,xds}`: 8 callers through `Frontend` (default retry policy, 5 s deadline per call), 1 of 3 backends killed | failed **%s** of %s calls; recovery **%s** s (survivors at 90%% of the pre-kill rate over 50 ms) | pre-kill rate %s calls/s |\n", \
    each("omclient", "BenchmarkFailover", "static,headless,sidecar,xds", "failed-calls", "%d"), each("omclient", "BenchmarkFailover", "static,headless,sidecar,xds", "calls", "%d"), \
    each("omclient", "BenchmarkFailover", "static,headless,sidecar,xds", "recovery-s"), each("omclient", "BenchmarkFailover", "static,headless,sidecar,xds", "prekill-calls/s", "%.0f")
  printf "| istiod down at start: first success within gate + 1 s | `BenchmarkXDSUnavailable/{refused,silent,probe-silent}` (Auto: xds then static, gate 1 s) | **%s** s | stock grpc-go `xds:///` in a fresh process with `GRPC_XDS_BOOTSTRAP` (none for probe-silent): first result after %s s, succeeded: %s |\n", \
    each("xds", "BenchmarkXDSUnavailable", "refused,silent,probe-silent", "first-success-s"), \
    each("xds", "BenchmarkXDSUnavailable", "refused,silent,probe-silent", "stock-xds-first-result-s"), each("xds", "BenchmarkXDSUnavailable", "refused,silent,probe-silent", "stock-xds-ok", "%d")
  printf "| bootstrap file written after start | `BenchmarkBootstrapLate` (xds strategy, default BootstrapWait) | first success **%s** s after the file appears | stock grpc-go, fresh process: **%s** of %s calls succeeded in the %s s after (it cached the missing file) |\n", \
    v("xds.BenchmarkBootstrapLate", "first-success-after-create-s"), v("xds.BenchmarkBootstrapLate", "stock-successes", "%d"), \
    v("xds.BenchmarkBootstrapLate", "stock-attempts", "%d"), v("xds.BenchmarkBootstrapLate", "stock-window-s", "%g")
  h = "integration.BenchmarkProxyHop"
  printf "| proxy hop vs proxyless | `BenchmarkProxyHop` (tag integration): 3 backends through nginx (sidecar stand-in) vs Headless vs xds, one call at a time | through nginx: p50 **×%s**, p99 **×%s**, CPU/call **×%s** (nginx included); xds: p50 **×%s**, p99 **×%s**, CPU/call **×%s** | direct Headless: p50 %s µs, p99 %s µs, %s µs CPU per call |\n", \
    v(h, "proxy-p50-ratio"), v(h, "proxy-p99-ratio"), v(h, "proxy-cpu-ratio"), v(h, "xds-p50-ratio"), v(h, "xds-p99-ratio"), v(h, "xds-cpu-ratio"), \
    v(h, "direct-p50-us", "%d"), v(h, "direct-p99-us", "%d"), v(h, "direct-cpu-us/call", "%.0f")
  printf "| 100 000-ticket cycle < 1 s | `BenchmarkFetchMatches/{1000,10000,100000}` (in-memory core, default options: 50 ms registration window, 1000-ticket pages; pairing MMF) | cycle **%s** ms; %s bytes, %s allocations per ticket | — |\n", \
    each("omtest", "BenchmarkFetchMatches", "1000,10000,100000", "cycle-ms", "%.0f"), each("omtest", "BenchmarkFetchMatches", "1000,10000,100000", "bytes-per-ticket", "%.0f"), \
    each("omtest", "BenchmarkFetchMatches", "1000,10000,100000", "allocs-per-ticket", "%.0f")
  printf "| | `BenchmarkFetchMatchesFast/…` (fast-test options: 1 ms window, 10 000-ticket pages) | cycle **%s** ms | — |\n", \
    each("omtest", "BenchmarkFetchMatchesFast", "1000,10000,100000", "cycle-ms", "%.0f")
  printf "| memory per stored ticket < 2 KiB | the fills of `BenchmarkFetchMatches/{1000,10000,100000}` (live heap after GC ÷ tickets; 1 double, 1 string, 1 tag each) | **%s** bytes | — |\n", \
    each("omtest", "BenchmarkFetchMatches", "1000,10000,100000", "stored-bytes-per-ticket", "%.0f")
  printf "| | `BenchmarkQueryPools/{1000,10000,100000}` (omclient QueryPools, 2 pools, default options) / `…Fast` | default **%s**; fast %s ns per ticket | — |\n", \
    each("omtest", "BenchmarkQueryPools", "1000,10000,100000", "ns-per-ticket", "%.0f"), each("omtest", "BenchmarkQueryPoolsFast", "1000,10000,100000", "ns-per-ticket", "%.0f")
  printf "| | `BenchmarkCreateTicket` (8 concurrent clients, empty core); the fills at 1k/10k/100k | %s tickets/s; %s tickets/s | — |\n", \
    v("omtest.BenchmarkCreateTicket", "tickets/s", "%.0f"), each("omtest", "BenchmarkFetchMatches", "1000,10000,100000", "create-tickets/s", "%.0f")
  f = "omtest.BenchmarkCoreFloor"
  printf "| the core costs nothing beyond gRPC: create-ratio ≥ 0.95, query-ratio ≤ 1.2 | `BenchmarkCoreFloor` (in-memory core, default options; 20 000 tickets, 8 client connections; the sides take turns over 100 slices of CreateTicket and 12 rounds of QueryTickets, 3 iterations) | create-ratio **%s**, query-ratio **%s**; of process CPU time %s / %s | no-op FrontendService (sets id and create_time) and QueryService (streams the same tickets encoded beforehand), same grpc-go and messages: %s tickets/s created (core %s), %s ms of queries per iteration (core %s) |\n", \
    v(f, "create-ratio"), v(f, "query-ratio"), v(f, "create-cpu-ratio"), v(f, "query-cpu-ratio"), \
    v(f, "noop-create-tickets/s", "%.0f"), v(f, "core-create-tickets/s", "%.0f"), v(f, "noop-query-ms", "%.0f"), v(f, "core-query-ms", "%.0f")
  i = "istiod."
  if ((i "BenchmarkSpread", "max/min-share") in m)
    printf "| spread, scale-up, failover against a **real istiod** | `testing/istiod` `BenchmarkSpread`, `BenchmarkScaleUp`, `BenchmarkFailover` (tag istiod, 3 iterations) | spread **%s**; pickup **%s** s after the ServiceEntry edit; **%s** failed idempotent calls (one retry) | — |\n", \
      v(i "BenchmarkSpread", "max/min-share"), v(i "BenchmarkScaleUp", "pickup-s"), v(i "BenchmarkFailover", "failed-idempotent-calls", "%d")
  k = "kubernetes."
  ks = "headless-coredns,xds-istiod-kubernetes,endpointslice"
  if ((k "BenchmarkKubernetesPickup/headless-coredns", "pickup-s") in m)
    printf "| on a **real cluster**: pickup and stop ≤ TTL 5 s + refresh 0.5 s + 1 s; spread ≤ 1.05; 0 failed calls across restarts | `testing/kubernetes` (tag kubernetes; kube-apiserver, CoreDNS, istiod in Kubernetes mode; pods on 10.244.0.x in a network namespace) `BenchmarkKubernetesPickup`, `BenchmarkKubernetesSpread`, `BenchmarkKubernetesRestart`, each `/{headless-coredns,xds-istiod-kubernetes,endpointslice}` | pickup **%s** s, stop **%s** s after the EndpointSlice change; spread **%s**; failed calls **%s** across a CoreDNS / istiod kill and restart / kube-apiserver stop and start | pickup ÷ goal %s, stop ÷ goal %s; restart took %s s |\n", \
      each("kubernetes", "BenchmarkKubernetesPickup", ks, "pickup-s"), each("kubernetes", "BenchmarkKubernetesPickup", ks, "stop-s"), \
      each("kubernetes", "BenchmarkKubernetesSpread", ks, "max/min-share"), each("kubernetes", "BenchmarkKubernetesRestart", ks, "failed-calls", "%d"), \
      each("kubernetes", "BenchmarkKubernetesPickup", ks, "pickup/goal"), each("kubernetes", "BenchmarkKubernetesPickup", ks, "stop/goal"), \
      each("kubernetes", "BenchmarkKubernetesRestart", ks, "restart-s")
  e = "endpointslice.BenchmarkEndpointSlicePickup"
  if ((e, "p99-pickup-s") in m)
    printf "| endpointslice: new ready pod gets calls p99 ≤ 0.5 s after the EndpointSlice update | `balancer/endpointslice` `BenchmarkEndpointSlicePickup` (tag kubernetes, real kube-apiserver, 100 pickups) | p50 **%s** s, p99 **%s** s | the API server's own apply: p50 %s s; pickup ÷ apply %s |\n", \
      v(e, "p50-pickup-s"), v(e, "p99-pickup-s"), v(e, "p50-apply-s"), v(e, "p50-pickup/apply")
}
