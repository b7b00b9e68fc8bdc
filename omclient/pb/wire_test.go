package pb_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// The tables below are Open-Match v1's wire contract: gRPC method paths with
// their streaming kind, and every message field with its number, kind and
// label. A change to any of them breaks compatibility with a real core.

// methods maps each full method path to "unary", "server", "client" or "bidi".
var methods = map[string]string{
	"/openmatch.FrontendService/CreateTicket":        "unary",
	"/openmatch.FrontendService/DeleteTicket":        "unary",
	"/openmatch.FrontendService/GetTicket":           "unary",
	"/openmatch.FrontendService/WatchAssignments":    "server",
	"/openmatch.FrontendService/AcknowledgeBackfill": "unary",
	"/openmatch.FrontendService/CreateBackfill":      "unary",
	"/openmatch.FrontendService/DeleteBackfill":      "unary",
	"/openmatch.FrontendService/GetBackfill":         "unary",
	"/openmatch.FrontendService/UpdateBackfill":      "unary",
	"/openmatch.BackendService/FetchMatches":         "server",
	"/openmatch.BackendService/AssignTickets":        "unary",
	"/openmatch.BackendService/ReleaseTickets":       "unary",
	"/openmatch.BackendService/ReleaseAllTickets":    "unary",
	"/openmatch.QueryService/QueryTickets":           "server",
	"/openmatch.QueryService/QueryTicketIds":         "server",
	"/openmatch.QueryService/QueryBackfills":         "server",
	"/openmatch.MatchFunction/Run":                   "server",
	"/openmatch.Evaluator/Evaluate":                  "bidi",
}

// methodTypes maps each full method path to "Request -> Response".
var methodTypes = map[string]string{
	"/openmatch.FrontendService/CreateTicket":        "openmatch.CreateTicketRequest -> openmatch.Ticket",
	"/openmatch.FrontendService/DeleteTicket":        "openmatch.DeleteTicketRequest -> google.protobuf.Empty",
	"/openmatch.FrontendService/GetTicket":           "openmatch.GetTicketRequest -> openmatch.Ticket",
	"/openmatch.FrontendService/WatchAssignments":    "openmatch.WatchAssignmentsRequest -> openmatch.WatchAssignmentsResponse",
	"/openmatch.FrontendService/AcknowledgeBackfill": "openmatch.AcknowledgeBackfillRequest -> openmatch.AcknowledgeBackfillResponse",
	"/openmatch.FrontendService/CreateBackfill":      "openmatch.CreateBackfillRequest -> openmatch.Backfill",
	"/openmatch.FrontendService/DeleteBackfill":      "openmatch.DeleteBackfillRequest -> google.protobuf.Empty",
	"/openmatch.FrontendService/GetBackfill":         "openmatch.GetBackfillRequest -> openmatch.Backfill",
	"/openmatch.FrontendService/UpdateBackfill":      "openmatch.UpdateBackfillRequest -> openmatch.Backfill",
	"/openmatch.BackendService/FetchMatches":         "openmatch.FetchMatchesRequest -> openmatch.FetchMatchesResponse",
	"/openmatch.BackendService/AssignTickets":        "openmatch.AssignTicketsRequest -> openmatch.AssignTicketsResponse",
	"/openmatch.BackendService/ReleaseTickets":       "openmatch.ReleaseTicketsRequest -> openmatch.ReleaseTicketsResponse",
	"/openmatch.BackendService/ReleaseAllTickets":    "openmatch.ReleaseAllTicketsRequest -> openmatch.ReleaseAllTicketsResponse",
	"/openmatch.QueryService/QueryTickets":           "openmatch.QueryTicketsRequest -> openmatch.QueryTicketsResponse",
	"/openmatch.QueryService/QueryTicketIds":         "openmatch.QueryTicketIdsRequest -> openmatch.QueryTicketIdsResponse",
	"/openmatch.QueryService/QueryBackfills":         "openmatch.QueryBackfillsRequest -> openmatch.QueryBackfillsResponse",
	"/openmatch.MatchFunction/Run":                   "openmatch.RunRequest -> openmatch.RunResponse",
	"/openmatch.Evaluator/Evaluate":                  "openmatch.EvaluateRequest -> openmatch.EvaluateResponse",
}

// fields maps each message to its fields, written "name number type label".
// type is the proto kind, or the full name of a message or enum; map fields
// are written map<key,value>.
var fields = map[string][]string{
	"openmatch.Ticket": {
		"id 1 string optional", "assignment 3 openmatch.Assignment optional",
		"search_fields 4 openmatch.SearchFields optional", "extensions 5 map<string,google.protobuf.Any> repeated",
		"persistent_field 6 map<string,google.protobuf.Any> repeated", "create_time 7 google.protobuf.Timestamp optional",
	},
	"openmatch.SearchFields": {
		"double_args 1 map<string,double> repeated", "string_args 2 map<string,string> repeated", "tags 3 string repeated",
	},
	"openmatch.Assignment": {"connection 1 string optional", "extensions 4 map<string,google.protobuf.Any> repeated"},
	"openmatch.DoubleRangeFilter": {
		"double_arg 1 string optional", "max 2 double optional", "min 3 double optional",
		"exclude 4 openmatch.DoubleRangeFilter.Exclude optional",
	},
	"openmatch.StringEqualsFilter": {"string_arg 1 string optional", "value 2 string optional"},
	"openmatch.TagPresentFilter":   {"tag 1 string optional"},
	"openmatch.Pool": {
		"name 1 string optional", "double_range_filters 2 openmatch.DoubleRangeFilter repeated",
		"string_equals_filters 4 openmatch.StringEqualsFilter repeated", "tag_present_filters 5 openmatch.TagPresentFilter repeated",
		"created_before 6 google.protobuf.Timestamp optional", "created_after 7 google.protobuf.Timestamp optional",
	},
	"openmatch.MatchProfile": {
		"name 1 string optional", "pools 3 openmatch.Pool repeated", "extensions 5 map<string,google.protobuf.Any> repeated",
	},
	"openmatch.Match": {
		"match_id 1 string optional", "match_profile 2 string optional", "match_function 3 string optional",
		"tickets 4 openmatch.Ticket repeated", "extensions 7 map<string,google.protobuf.Any> repeated",
		"backfill 8 openmatch.Backfill optional", "allocate_gameserver 9 bool optional",
	},
	"openmatch.Backfill": {
		"id 1 string optional", "search_fields 2 openmatch.SearchFields optional",
		"extensions 3 map<string,google.protobuf.Any> repeated", "persistent_field 4 map<string,google.protobuf.Any> repeated",
		"create_time 5 google.protobuf.Timestamp optional", "generation 6 int64 optional",
	},
	"openmatch.DefaultEvaluationCriteria": {"score 1 double optional"},
	"openmatch.CreateTicketRequest":       {"ticket 1 openmatch.Ticket optional"},
	"openmatch.DeleteTicketRequest":       {"ticket_id 1 string optional"},
	"openmatch.GetTicketRequest":          {"ticket_id 1 string optional"},
	"openmatch.WatchAssignmentsRequest":   {"ticket_id 1 string optional"},
	"openmatch.WatchAssignmentsResponse":  {"assignment 1 openmatch.Assignment optional"},
	"openmatch.AcknowledgeBackfillRequest": {
		"backfill_id 1 string optional", "assignment 2 openmatch.Assignment optional",
	},
	"openmatch.AcknowledgeBackfillResponse": {
		"backfill 1 openmatch.Backfill optional", "tickets 2 openmatch.Ticket repeated",
	},
	"openmatch.CreateBackfillRequest": {"backfill 1 openmatch.Backfill optional"},
	"openmatch.DeleteBackfillRequest": {"backfill_id 1 string optional"},
	"openmatch.GetBackfillRequest":    {"backfill_id 1 string optional"},
	"openmatch.UpdateBackfillRequest": {"backfill 1 openmatch.Backfill optional"},
	"openmatch.FunctionConfig": {
		"host 1 string optional", "port 2 int32 optional", "type 3 openmatch.FunctionConfig.Type optional",
	},
	"openmatch.FetchMatchesRequest": {
		"config 1 openmatch.FunctionConfig optional", "profile 2 openmatch.MatchProfile optional",
	},
	"openmatch.FetchMatchesResponse":      {"match 1 openmatch.Match optional"},
	"openmatch.ReleaseTicketsRequest":     {"ticket_ids 1 string repeated"},
	"openmatch.ReleaseTicketsResponse":    {},
	"openmatch.ReleaseAllTicketsRequest":  {},
	"openmatch.ReleaseAllTicketsResponse": {},
	"openmatch.AssignmentGroup": {
		"ticket_ids 1 string repeated", "assignment 2 openmatch.Assignment optional",
	},
	"openmatch.AssignmentFailure": {
		"ticket_id 1 string optional", "cause 2 openmatch.AssignmentFailure.Cause optional",
	},
	"openmatch.AssignTicketsRequest":   {"assignments 1 openmatch.AssignmentGroup repeated"},
	"openmatch.AssignTicketsResponse":  {"failures 1 openmatch.AssignmentFailure repeated"},
	"openmatch.QueryTicketsRequest":    {"pool 1 openmatch.Pool optional"},
	"openmatch.QueryTicketsResponse":   {"tickets 1 openmatch.Ticket repeated"},
	"openmatch.QueryTicketIdsRequest":  {"pool 1 openmatch.Pool optional"},
	"openmatch.QueryTicketIdsResponse": {"ids 1 string repeated"},
	"openmatch.QueryBackfillsRequest":  {"pool 1 openmatch.Pool optional"},
	"openmatch.QueryBackfillsResponse": {"backfills 1 openmatch.Backfill repeated"},
	"openmatch.RunRequest":             {"profile 1 openmatch.MatchProfile optional"},
	"openmatch.RunResponse":            {"proposal 1 openmatch.Match optional"},
	"openmatch.EvaluateRequest":        {"match 1 openmatch.Match optional"},
	"openmatch.EvaluateResponse":       {"match_id 2 string optional"},
}

// enums maps each enum to its values, written "NAME number".
var enums = map[string][]string{
	"openmatch.DoubleRangeFilter.Exclude": {"NONE 0", "MIN 1", "MAX 2", "BOTH 3"},
	"openmatch.FunctionConfig.Type":       {"GRPC 0", "REST 1"},
	"openmatch.AssignmentFailure.Cause":   {"UNKNOWN 0", "TICKET_NOT_FOUND 1"},
}

// files are the descriptor file names, as upstream names them.
var files = []string{
	"api/messages.proto", "api/extensions.proto", "api/frontend.proto", "api/backend.proto",
	"api/query.proto", "api/matchfunction.proto", "api/evaluator.proto",
}

func TestMethods(t *testing.T) {
	got := map[string]string{}
	gotTypes := map[string]string{}
	for _, f := range files {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(f)
		if err != nil {
			t.Fatalf("FindFileByPath(%q) = %v", f, err)
		}
		if fd.Package() != "openmatch" {
			t.Errorf("%s: package = %q, want openmatch", f, fd.Package())
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				path := fmt.Sprintf("/%s/%s", sd.FullName(), md.Name())
				got[path] = streamKind(md)
				gotTypes[path] = fmt.Sprintf("%s -> %s", md.Input().FullName(), md.Output().FullName())
			}
		}
	}
	compareMaps(t, "streaming kind", got, methods)
	compareMaps(t, "request/response types", gotTypes, methodTypes)
}

// TestGeneratedMethodNames checks the constants grpc-go puts on the wire.
func TestGeneratedMethodNames(t *testing.T) {
	for path, got := range map[string]string{
		"/openmatch.FrontendService/CreateTicket":     pb.FrontendService_CreateTicket_FullMethodName,
		"/openmatch.FrontendService/WatchAssignments": pb.FrontendService_WatchAssignments_FullMethodName,
		"/openmatch.BackendService/FetchMatches":      pb.BackendService_FetchMatches_FullMethodName,
		"/openmatch.QueryService/QueryTickets":        pb.QueryService_QueryTickets_FullMethodName,
		"/openmatch.MatchFunction/Run":                pb.MatchFunction_Run_FullMethodName,
		"/openmatch.Evaluator/Evaluate":               pb.Evaluator_Evaluate_FullMethodName,
	} {
		if got != path {
			t.Errorf("generated method name = %q, want %q", got, path)
		}
	}
}

func TestMessages(t *testing.T) {
	for name, want := range fields {
		t.Run(name, func(t *testing.T) {
			d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
			if err != nil {
				t.Fatalf("FindDescriptorByName(%q) = %v", name, err)
			}
			md, ok := d.(protoreflect.MessageDescriptor)
			if !ok {
				t.Fatalf("%s is a %T, want a message", name, d)
			}
			if md.Oneofs().Len() != 0 {
				t.Errorf("%s has %d oneofs, want none", name, md.Oneofs().Len())
			}
			var got []string
			for i := 0; i < md.Fields().Len(); i++ {
				got = append(got, describeField(md.Fields().Get(i)))
			}
			compareSets(t, name, got, want)
		})
	}
	// Every message in the openmatch files must be in the table.
	for _, f := range files {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(f)
		if err != nil {
			t.Fatalf("FindFileByPath(%q) = %v", f, err)
		}
		for i := 0; i < fd.Messages().Len(); i++ {
			if _, ok := fields[string(fd.Messages().Get(i).FullName())]; !ok {
				t.Errorf("message %s is not in the wire table", fd.Messages().Get(i).FullName())
			}
		}
	}
}

func TestEnums(t *testing.T) {
	for name, want := range enums {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatalf("FindDescriptorByName(%q) = %v", name, err)
		}
		ed := d.(protoreflect.EnumDescriptor)
		var got []string
		for i := 0; i < ed.Values().Len(); i++ {
			v := ed.Values().Get(i)
			got = append(got, fmt.Sprintf("%s %d", v.Name(), v.Number()))
		}
		compareSets(t, name, got, want)
	}
}

// TestEvaluationInputAny checks that the default evaluator's input resolves
// from the type URL a real core and real match functions use.
func TestEvaluationInputAny(t *testing.T) {
	a, err := anypb.New(&pb.DefaultEvaluationCriteria{Score: 7.5})
	if err != nil {
		t.Fatalf("anypb.New() = %v", err)
	}
	const wantURL = "type.googleapis.com/openmatch.DefaultEvaluationCriteria"
	if a.GetTypeUrl() != wantURL {
		t.Errorf("type URL = %q, want %q", a.GetTypeUrl(), wantURL)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(wantURL)
	if err != nil {
		t.Fatalf("FindMessageByURL(%q) = %v", wantURL, err)
	}
	m := mt.New().Interface()
	if err := a.UnmarshalTo(m); err != nil {
		t.Fatalf("UnmarshalTo() = %v", err)
	}
	if got := m.(*pb.DefaultEvaluationCriteria).GetScore(); got != 7.5 {
		t.Errorf("score = %v, want 7.5", got)
	}
}

func streamKind(md protoreflect.MethodDescriptor) string {
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		return "bidi"
	case md.IsStreamingServer():
		return "server"
	case md.IsStreamingClient():
		return "client"
	}
	return "unary"
}

func describeField(fd protoreflect.FieldDescriptor) string {
	return fmt.Sprintf("%s %d %s %s", fd.Name(), fd.Number(), typeName(fd), fd.Cardinality())
}

func typeName(fd protoreflect.FieldDescriptor) string {
	if fd.IsMap() {
		return fmt.Sprintf("map<%s,%s>", typeName(fd.MapKey()), typeName(fd.MapValue()))
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(fd.Message().FullName())
	case protoreflect.EnumKind:
		return string(fd.Enum().FullName())
	}
	return fd.Kind().String()
}

func compareMaps(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s missing", what, k)
		} else if g != w {
			t.Errorf("%s of %s = %q, want %q", what, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected method %s", what, k)
		}
	}
}

func compareSets(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s fields:\n got: %q\nwant: %q", what, got, w)
	}
}
