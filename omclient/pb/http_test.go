package pb_test

import (
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// httpRules is Open-Match v1's REST surface (its google.api.http options):
// "VERB path body" per gRPC method, body "*" on every POST and PATCH.
var httpRules = map[string]string{
	"/openmatch.FrontendService/CreateTicket":        "POST /v1/frontendservice/tickets *",
	"/openmatch.FrontendService/DeleteTicket":        "DELETE /v1/frontendservice/tickets/{ticket_id} ",
	"/openmatch.FrontendService/GetTicket":           "GET /v1/frontendservice/tickets/{ticket_id} ",
	"/openmatch.FrontendService/WatchAssignments":    "GET /v1/frontendservice/tickets/{ticket_id}/assignments ",
	"/openmatch.FrontendService/AcknowledgeBackfill": "POST /v1/frontendservice/backfills/{backfill_id}/acknowledge *",
	"/openmatch.FrontendService/CreateBackfill":      "POST /v1/frontendservice/backfills *",
	"/openmatch.FrontendService/DeleteBackfill":      "DELETE /v1/frontendservice/backfills/{backfill_id} ",
	"/openmatch.FrontendService/GetBackfill":         "GET /v1/frontendservice/backfills/{backfill_id} ",
	"/openmatch.FrontendService/UpdateBackfill":      "PATCH /v1/frontendservice/backfills *",
	"/openmatch.BackendService/FetchMatches":         "POST /v1/backendservice/matches:fetch *",
	"/openmatch.BackendService/AssignTickets":        "POST /v1/backendservice/tickets:assign *",
	"/openmatch.BackendService/ReleaseTickets":       "POST /v1/backendservice/tickets:release *",
	"/openmatch.BackendService/ReleaseAllTickets":    "POST /v1/backendservice/tickets:releaseall *",
	"/openmatch.QueryService/QueryTickets":           "POST /v1/queryservice/tickets:query *",
	"/openmatch.QueryService/QueryTicketIds":         "POST /v1/queryservice/ticketids:query *",
	"/openmatch.QueryService/QueryBackfills":         "POST /v1/queryservice/backfills:query *",
	"/openmatch.MatchFunction/Run":                   "POST /v1/matchfunction:run *",
	"/openmatch.Evaluator/Evaluate":                  "POST /v1/evaluator/matches:evaluate *",
}

func TestHTTPRules(t *testing.T) {
	got := map[string]string{}
	for _, f := range files {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(f)
		if err != nil {
			t.Fatalf("FindFileByPath(%q) = %v", f, err)
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				opts, _ := md.Options().(*descriptorpb.MethodOptions)
				rule, _ := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
				got[fmt.Sprintf("/%s/%s", sd.FullName(), md.Name())] = describeRule(rule)
			}
		}
	}
	compareMaps(t, "google.api.http", got, httpRules)
}

// describeRule formats rule as "VERB path body"; "" when rule is unset.
func describeRule(rule *annotations.HttpRule) string {
	verbs := []struct{ verb, path string }{
		{verb: "GET", path: rule.GetGet()}, {verb: "POST", path: rule.GetPost()},
		{verb: "PUT", path: rule.GetPut()}, {verb: "DELETE", path: rule.GetDelete()},
		{verb: "PATCH", path: rule.GetPatch()},
	}
	for _, v := range verbs {
		if v.path != "" {
			return fmt.Sprintf("%s %s %s", v.verb, v.path, rule.GetBody())
		}
	}
	return ""
}
