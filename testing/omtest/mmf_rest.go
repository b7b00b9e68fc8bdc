package omtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// restTimeout is the timeout of Open-Match's HTTP client for REST match
// functions (internal/rpc/clients.go, hard-coded 3 s): the whole call,
// body included, must finish within it.
const restTimeout = 3 * time.Second

// restClient calls match functions of type REST the way Open-Match's backend
// does: POST the RunRequest as JSON with proto field names to
// http://host:port/v1/matchfunction:run and read the body as grpc-gateway's
// stream of {"result": RunResponse} or {"error": Status} objects.
type restClient struct {
	http *http.Client
}

func newRESTClient() *restClient {
	return &restClient{http: &http.Client{Timeout: restTimeout, Transport: &http.Transport{}}}
}

func (c *restClient) close() { c.http.CloseIdleConnections() }

var restMarshal = protojson.MarshalOptions{UseProtoNames: true}

func (c *restClient) run(ctx context.Context, target string, profile *pb.MatchProfile, emit func(*pb.Match)) error {
	body, err := restMarshal.Marshal(&pb.RunRequest{Profile: profile})
	if err != nil {
		return fmt.Errorf("omtest: marshal run request: %w", err)
	}
	url := "http://" + target + "/v1/matchfunction:run"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("omtest: match function request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("failed to get response from mmf run for profile %s: %w", profile.GetName(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("failed to execute matchfunction.Run: HTTP status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return decodeRunStream(resp.Body, emit)
}

// restItem is one object of grpc-gateway's server-streaming JSON body.
type restItem struct {
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

func decodeRunStream(r io.Reader, emit func(*pb.Match)) error {
	dec := json.NewDecoder(r)
	for {
		var item restItem
		err := dec.Decode(&item)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to read response from HTTP JSON stream: %w", err)
		}
		if len(item.Error) != 0 {
			return fmt.Errorf("failed to execute matchfunction.Run: %s", item.Error)
		}
		var resp pb.RunResponse
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(item.Result, &resp); err != nil {
			return fmt.Errorf("failed to unmarshal match function response %s: %w", item.Result, err)
		}
		emit(resp.GetProposal())
	}
}
