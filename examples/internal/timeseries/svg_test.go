package timeseries_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
)

// run returns a Recorder of n seconds at about 100 calls a second, with
// errors in the seconds errs says and a fault window every period seconds
// (none when period is 0).
func run(n int, errs func(s int) bool, period int) *timeseries.Recorder {
	r := timeseries.New(t0)
	r.SetStrategy(t0, "headless")
	for s := range n {
		for i := range 100 - s%7 {
			code := codes.OK
			if errs(s) && i%4 == 0 {
				code = codes.Unavailable
			}
			r.Observe(at(time.Duration(s)*time.Second+time.Duration(i)*time.Millisecond), "/m", code, time.Duration(1+s%5)*time.Millisecond)
		}
	}
	for s := period; period > 0 && s+period/2 < n; s += 2 * period {
		r.Mark(timeseries.Fault{Kind: "kill", Target: fmt.Sprintf("core-%d", s), Start: at(time.Duration(s) * time.Second), End: at(time.Duration(s+period/2) * time.Second)})
	}
	return r
}

// svgOf is what a test reads back from an SVG.
type svgOf struct {
	title      string // of the <title> child of <svg>
	texts      []string
	faultRects int
	faults     [][2]float64 // x and width of each fault rect
	frame      [2]float64   // x and width of the first panel's frame
}

// parseSVG decodes b as XML to the end, which fails unless it is well-formed.
func parseSVG(t *testing.T, b []byte) svgOf {
	t.Helper()
	var out svgOf
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "decoding the SVG")
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				require.Equal(t, xml.Name{Space: "http://www.w3.org/2000/svg", Local: "svg"}, tok.Name, "root element")
			}
			stack = append(stack, tok.Name.Local)
			if tok.Name.Local == "rect" {
				out.rect(t, tok.Attr)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			switch {
			case strings.Join(stack, "/") == "svg/title":
				out.title = string(tok)
			case len(stack) > 0 && stack[len(stack)-1] == "text":
				out.texts = append(out.texts, string(tok))
			}
		}
	}
	return out
}

// rect notes the geometry of a fault rect or a panel frame.
func (s *svgOf) rect(t *testing.T, attrs []xml.Attr) {
	var class string
	var x, w float64
	for _, a := range attrs {
		switch a.Name.Local {
		case "class":
			class = a.Value
		case "x":
			x = parseFloat(t, a.Value)
		case "width":
			w = parseFloat(t, a.Value)
		}
	}
	switch {
	case class == "fault":
		s.faultRects++
		s.faults = append(s.faults, [2]float64{x, w})
	case class == "frame" && s.frame == [2]float64{}:
		s.frame = [2]float64{x, w}
	}
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "a coordinate")
	return v
}

// TestSVG: the chart is well-formed XML with the title, one shaded rect per
// fault window and its kind, for short and long runs, without errors, and
// for a single second or none; and the same input gives the same bytes.
func TestSVG(t *testing.T) {
	some := func(s int) bool { return s%11 == 3 }
	none := func(int) bool { return false }
	for _, tc := range []struct {
		name string
		r    *timeseries.Recorder
	}{
		{name: "60s", r: run(60, some, 10)},
		{name: "600s", r: run(600, some, 90)},
		{name: "3600s", r: run(3600, some, 600)},
		{name: "no errors", r: run(60, none, 10)},
		{name: "one second", r: run(1, some, 0)},
		{name: "empty", r: timeseries.New(t0)},
		{name: "open and escaped windows", r: sample()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			title := `soak <seed 7> & "friends"`
			secs, faults := tc.r.Seconds(), tc.r.Faults()
			var a, b bytes.Buffer
			require.NoError(t, timeseries.WriteSVG(&a, title, secs, faults, t0))
			require.NoError(t, timeseries.WriteSVG(&b, title, secs, faults, t0))
			assert.True(t, bytes.Equal(a.Bytes(), b.Bytes()), "two WriteSVG of the same input differ")
			got := parseSVG(t, a.Bytes())
			assert.Equal(t, title, got.title, "<title>")
			assert.Contains(t, got.texts, title, "the title drawn as text")
			assert.Equal(t, len(faults), got.faultRects, "rects of class fault")
			for _, f := range faults {
				assert.Contains(t, got.texts, f.Kind, "label of fault %s %s", f.Kind, f.Target)
			}
			for i, f := range got.faults {
				assert.GreaterOrEqual(t, f[0], got.frame[0], "fault rect %d starts left of the panels", i)
				assert.LessOrEqual(t, f[0]+f[1], got.frame[0]+got.frame[1]+1e-9, "fault rect %d ends right of the panels", i)
			}
			assert.Contains(t, got.texts, "calls/s", "legend")
			assert.Contains(t, got.texts, "0s", "first time tick")
		})
	}
}

// TestSVGFaultPlacement: a window of the run's seconds [10s, 15s) out of
// 60 s is shaded over that twelfth of the panels' width.
func TestSVGFaultPlacement(t *testing.T) {
	r := run(60, func(int) bool { return false }, 10)
	var buf bytes.Buffer
	require.NoError(t, timeseries.WriteSVG(&buf, "placement", r.Seconds(), r.Faults(), t0))
	got := parseSVG(t, buf.Bytes())
	require.NotEmpty(t, got.faults)
	x0, w := got.frame[0], got.frame[1]
	assert.InDelta(t, x0+w*10/60, got.faults[0][0], 0.1, "x of the window at 10s")
	assert.InDelta(t, w*5/60, got.faults[0][1], 0.1, "width of a 5 s window")
}
