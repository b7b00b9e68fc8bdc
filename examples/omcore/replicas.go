package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshmatch/meshmatch/testing/omtest"
)

// defaultDrainTimeout bounds POST /replicas/…/drain without ?timeout: the
// default termination grace period of a Kubernetes pod.
const defaultDrainTimeout = 30 * time.Second

// listenFlags are -replicas and the -frontend, -backend and -query
// addresses, each one address or a comma-separated list with one address
// per replica.
type listenFlags struct {
	replicas     int
	frontend     string
	backend      string
	query        string
	replicasSeen bool // -replicas was given
}

func (l *listenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.frontend, "frontend", loopback(omtest.FrontendPort), "FrontendService listen address, or one per replica, comma-separated")
	fs.StringVar(&l.backend, "backend", loopback(omtest.BackendPort), "BackendService listen address, or one per replica, comma-separated")
	fs.StringVar(&l.query, "query", loopback(omtest.QueryPort), "QueryService listen address, or one per replica, comma-separated")
	fs.IntVar(&l.replicas, "replicas", 1, "replicas of each of frontend, backend and query over the one state; replica i listens on the host i after the flag's (127.0.0.1, 127.0.0.2, …) on its port, unless the flag lists the addresses")
}

// apply sets cfg's listeners. One replica keeps the one-listener-per-service
// layout; more set cfg.Replicas. A list sets the replica count when
// -replicas is not given.
func (l *listenFlags) apply(cfg *omtest.Config) error {
	if l.replicas < 1 {
		return fmt.Errorf("-replicas must be at least 1, got %d", l.replicas)
	}
	flags := []struct {
		name string
		list []string
		base *string
		many *[]string
	}{
		{name: "frontend", list: split(l.frontend), base: &cfg.FrontendAddr},
		{name: "backend", list: split(l.backend), base: &cfg.BackendAddr},
		{name: "query", list: split(l.query), base: &cfg.QueryAddr},
	}
	n := l.replicas
	for _, f := range flags {
		if !l.replicasSeen && n == 1 && len(f.list) > 1 {
			n = len(f.list)
		}
	}
	reps := &omtest.Replicas{Count: n}
	flags[0].many, flags[1].many, flags[2].many = &reps.FrontendAddrs, &reps.BackendAddrs, &reps.QueryAddrs
	for _, f := range flags {
		if len(f.list) == 0 || slices.Contains(f.list, "") {
			return fmt.Errorf("-%s: empty address in %q", f.name, strings.Join(f.list, ","))
		}
		switch {
		case len(f.list) == 1:
			*f.base = f.list[0]
		case len(f.list) == n:
			*f.many = f.list
		default:
			return fmt.Errorf("-%s lists %d addresses for %d replicas", f.name, len(f.list), n)
		}
	}
	if n > 1 {
		cfg.Replicas = reps
	}
	return nil
}

// loopback is port on 127.0.0.1.
func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func split(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// replicaJSON is one replica as the admin endpoint shows it.
type replicaJSON struct {
	Services []omtest.Service `json:"services"`
	Index    int              `json:"index"`
	Addr     string           `json:"addr"`
	Running  bool             `json:"running"`
}

func toJSON(info omtest.ReplicaInfo) replicaJSON {
	return replicaJSON{Services: info.Services, Index: info.Index, Addr: info.Addr, Running: info.Running}
}

// replicaRoutes serves GET /replicas (every gRPC server of the core and
// whether it runs) and POST /replicas/{service}/{index}/{stop|drain|restart}
// (omtest.Server.StopReplica, DrainReplica bounded by ?timeout=, default
// 30 s, and RestartReplica). A replica that does not exist is 404, a
// refused operation (already stopped, running, address taken) 409.
func replicaRoutes(mux *http.ServeMux, s *omtest.Server) {
	mux.HandleFunc("GET /replicas", func(w http.ResponseWriter, _ *http.Request) {
		var out []replicaJSON
		for _, info := range s.Replicas() {
			out = append(out, toJSON(info))
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("POST /replicas/{service}/{index}/{action}", func(w http.ResponseWriter, r *http.Request) {
		svc := omtest.Service(r.PathValue("service"))
		i, err := strconv.Atoi(r.PathValue("index"))
		if err != nil {
			http.Error(w, fmt.Sprintf("omcore: replica index %q is not a number", r.PathValue("index")), http.StatusBadRequest)
			return
		}
		if err := replicaAction(r, s, svc, i); err != nil {
			http.Error(w, err.Error(), statusOf(err))
			return
		}
		for _, info := range s.Replicas() {
			if slices.Contains(info.Services, svc) && info.Index == i {
				writeJSON(w, toJSON(info))
				return
			}
		}
	})
}

// errBadRequest marks a malformed admin request.
var errBadRequest = errors.New("bad request")

func replicaAction(r *http.Request, s *omtest.Server, svc omtest.Service, i int) error {
	switch action := r.PathValue("action"); action {
	case "stop":
		return s.StopReplica(svc, i)
	case "drain":
		timeout := defaultDrainTimeout
		if v := r.URL.Query().Get("timeout"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("omcore: drain timeout %q is not a positive duration: %w", v, errBadRequest)
			}
			timeout = d
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		return s.DrainReplica(ctx, svc, i)
	case "restart":
		return s.RestartReplica(svc, i)
	default:
		return fmt.Errorf("omcore: unknown replica action %q (want stop, drain or restart): %w", action, errBadRequest)
	}
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, omtest.ErrNoReplica):
		return http.StatusNotFound
	default:
		return http.StatusConflict
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
