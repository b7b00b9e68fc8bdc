package endpointslice

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWatchDecoding decodes a recorded watch stream: events in order, a
// 410 ERROR event as errGone, then the end of the stream.
func TestWatchDecoding(t *testing.T) {
	stream := `{"type":"ADDED","object":{"kind":"EndpointSlice","metadata":{"name":"a","resourceVersion":"5"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"]}]}}
{"type":"BOOKMARK","object":{"kind":"EndpointSlice","metadata":{"resourceVersion":"9"}}}
{"type":"DELETED","object":{"kind":"EndpointSlice","metadata":{"name":"a","resourceVersion":"10"}}}
{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}
{"type":"ERROR","object":{"kind":"Status","code":500,"message":"internal"}}
`
	w := &watcher{body: io.NopCloser(strings.NewReader(stream))}
	w.dec = json.NewDecoder(w.body)
	for _, want := range []struct{ typ, name, rv string }{{"ADDED", "a", "5"}, {"BOOKMARK", "", "9"}, {"DELETED", "a", "10"}} {
		typ, s, err := w.next()
		require.NoError(t, err, "next()")
		assert.Equal(t, want.typ, typ, "event type")
		assert.Equal(t, want.name, s.Name, "slice name")
		assert.Equal(t, want.rv, s.ResourceVersion, "resourceVersion")
	}
	_, _, err := w.next()
	assert.ErrorIs(t, err, errGone, "410 ERROR event")
	_, _, err = w.next()
	assert.ErrorContains(t, err, "watch error event: 500 internal")
	_, _, err = w.next()
	assert.True(t, errors.Is(err, io.EOF), "next() at the end = %v, want io.EOF", err)
}
