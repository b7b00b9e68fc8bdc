// Package telemetry holds meshmatch's own OpenTelemetry instruments and the
// glue to grpc-go's stats/opentelemetry. Nothing here touches the global
// providers: every instrument comes from the provider a user passes in, and
// with none the instruments are no-ops.
package telemetry

// ScopeName is the instrumentation scope of meshmatch's meters and tracers.
const ScopeName = "github.com/meshmatch/meshmatch"

// Names of meshmatch's instruments.
const (
	Decisions     = "meshmatch.strategy.decisions"
	Fallbacks     = "meshmatch.strategy.fallbacks"
	MoveUps       = "meshmatch.strategy.move_ups"
	InUse         = "meshmatch.strategy.in_use"
	Retries       = "meshmatch.rpc.retries"
	QueryRestarts = "meshmatch.query.restarts"
	WatchResumes  = "meshmatch.watch.resumes"
)

// Attribute keys, following OpenTelemetry's semantic conventions where one
// exists (server.address, rpc.system, rpc.service, rpc.method).
const (
	AttrStrategy = "meshmatch.strategy"
	AttrKind     = "meshmatch.decision.kind"
	AttrAddress  = "server.address"
)
