package timeseries

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Chart geometry, in pixels.
const (
	width, height  = 960, 560
	left, right    = 72, width - 24
	top1, bottom1  = 68, 340 // calls and errors
	top2, bottom2  = 380, 500
	colorCalls     = "#1f77b4"
	colorErrors    = "#d62728"
	colorP99       = "#6a3d9a"
	colorFault     = "#ff9800"
	faultOpacity   = "0.22"
	faultLabelRows = 3
)

// WriteSVG draws secs as a self-contained SVG chart titled title: calls per
// second (a line) and errors per second (red bars) above, p99 latency in
// milliseconds below, over one time axis, with each fault window shaded
// across both and labelled with its kind. Offsets of the fault windows are
// taken from start, the Recorder's start; an open window runs to the end of
// the chart. The output depends only on the arguments.
func WriteSVG(w io.Writer, title string, secs []Second, faults []Fault, start time.Time) error {
	c := &chart{}
	c.x = scale{lo: 0, hi: 1, p0: left, p1: right}
	if len(secs) > 0 {
		c.x.lo = secs[0].At.Seconds()
		c.x.hi = (secs[len(secs)-1].At + time.Second).Seconds()
	}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&c.b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&c.b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	fmt.Fprintf(&c.b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", left, esc(title))
	c.legend()
	c.timeAxis()
	c.faults(faults, start) // under the lines, which stay readable through the bands
	c.callsPanel(secs)
	c.p99Panel(secs)
	if len(secs) == 0 {
		fmt.Fprintf(&c.b, `<text x="%s" y="%s" text-anchor="middle" fill="#666">no calls recorded</text>`+"\n", px((left+right)/2), px((top1+bottom1)/2))
	}
	c.b.WriteString("</svg>\n")
	_, err := io.WriteString(w, c.b.String())
	return err
}

// chart is an SVG being drawn.
type chart struct {
	b strings.Builder
	x scale // seconds since start
}

func (c *chart) legend() {
	items := []struct{ label, swatch string }{
		{"calls/s", `<line x1="0" y1="-4" x2="18" y2="-4" stroke="` + colorCalls + `" stroke-width="2"/>`},
		{"errors/s", `<rect class="legend" x="4" y="-9" width="10" height="10" fill="` + colorErrors + `"/>`},
		{"p99 latency (ms)", `<line x1="0" y1="-4" x2="18" y2="-4" stroke="` + colorP99 + `" stroke-width="2"/>`},
		{"fault window", `<rect class="legend" x="2" y="-9" width="14" height="10" fill="` + colorFault + `" fill-opacity="` + faultOpacity + `"/>`},
	}
	x := left
	for _, it := range items {
		fmt.Fprintf(&c.b, `<g transform="translate(%d 48)">%s<text x="24" y="0">%s</text></g>`+"\n", x, it.swatch, esc(it.label))
		x += 40 + 7*len(it.label)
	}
}

// timeAxis draws vertical grid lines through both panels and the tick
// labels under the lower one.
func (c *chart) timeAxis() {
	step := timeStep(c.x.hi - c.x.lo)
	c.b.WriteString(`<g class="time-axis" stroke="#e5e5e5">` + "\n")
	first := step * float64(int((c.x.lo+step-1e-9)/step))
	var labels strings.Builder
	for t := first; t <= c.x.hi+1e-9; t += step {
		x := px(c.x.at(t))
		for _, p := range [][2]int{{top1, bottom1}, {top2, bottom2}} {
			fmt.Fprintf(&c.b, `<line x1="%s" y1="%d" x2="%s" y2="%d"/>`+"\n", x, p[0], x, p[1])
		}
		fmt.Fprintf(&labels, `<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", x, bottom2+16, timeLabel(t, step))
	}
	c.b.WriteString("</g>\n")
	c.b.WriteString(labels.String())
	fmt.Fprintf(&c.b, `<text x="%s" y="%d" text-anchor="middle">time since start</text>`+"\n", px((left+right)/2), bottom2+36)
}

// valueAxis draws the horizontal grid, tick labels, frame and name of a
// panel from top to bottom showing 0 to hi.
func (c *chart) valueAxis(name string, top, bottom int, hi, step float64) scale {
	y := scale{lo: 0, hi: hi, p0: float64(bottom), p1: float64(top)}
	c.b.WriteString(`<g class="value-axis">` + "\n")
	for i := 0; float64(i)*step <= hi+step*1e-9; i++ {
		v := float64(i) * step
		fmt.Fprintf(&c.b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e5e5e5"/>`+"\n", left, px(y.at(v)), right, px(y.at(v)))
		fmt.Fprintf(&c.b, `<text x="%d" y="%s" text-anchor="end">%s</text>`+"\n", left-6, px(y.at(v)+4), valueLabel(v, step))
	}
	fmt.Fprintf(&c.b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", left, top, right-left, bottom-top)
	mid := (top + bottom) / 2
	fmt.Fprintf(&c.b, `<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">%s</text>`+"\n", mid, mid, esc(name))
	c.b.WriteString("</g>\n")
	return y
}

// callsPanel draws calls per second as a step line over the errors per
// second as bars.
func (c *chart) callsPanel(secs []Second) {
	top := 0
	for _, s := range secs {
		top = max(top, s.Calls)
	}
	hi, step := valueAxis(float64(top), 1)
	y := c.valueAxis("calls per second", top1, bottom1, hi, step)
	var bars, line strings.Builder
	prev := time.Duration(-1)
	for _, s := range secs {
		x0, x1 := px(c.x.at(s.At.Seconds())), px(c.x.at((s.At + time.Second).Seconds()))
		if n := s.ErrorCount(); n > 0 {
			fmt.Fprintf(&bars, "M%s %s V%s H%s V%s Z ", x0, px(y.at(0)), px(y.at(float64(n))), x1, px(y.at(0)))
		}
		if s.At != prev+time.Second {
			fmt.Fprintf(&line, "M%s %s ", x0, px(y.at(float64(s.Calls))))
		} else {
			fmt.Fprintf(&line, "V%s ", px(y.at(float64(s.Calls))))
		}
		fmt.Fprintf(&line, "H%s ", x1)
		prev = s.At
	}
	if bars.Len() > 0 {
		fmt.Fprintf(&c.b, `<path class="errors" d="%s" fill="%s"/>`+"\n", strings.TrimSpace(bars.String()), colorErrors)
	}
	if line.Len() > 0 {
		fmt.Fprintf(&c.b, `<path class="calls" d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", strings.TrimSpace(line.String()), colorCalls)
	}
}

// p99Panel draws the p99 latency as a step line, broken over seconds
// without calls (which have no latency).
func (c *chart) p99Panel(secs []Second) {
	var top time.Duration
	for _, s := range secs {
		top = max(top, s.P99)
	}
	hi, step := valueAxis(float64(top)/float64(time.Millisecond), 0.001)
	y := c.valueAxis("p99 latency (ms)", top2, bottom2, hi, step)
	var line strings.Builder
	prev := time.Duration(-1)
	for _, s := range secs {
		if s.Calls == 0 {
			continue
		}
		v := px(y.at(float64(s.P99) / float64(time.Millisecond)))
		if s.At != prev+time.Second {
			fmt.Fprintf(&line, "M%s %s ", px(c.x.at(s.At.Seconds())), v)
		} else {
			fmt.Fprintf(&line, "V%s ", v)
		}
		fmt.Fprintf(&line, "H%s ", px(c.x.at((s.At + time.Second).Seconds())))
		prev = s.At
	}
	if line.Len() > 0 {
		fmt.Fprintf(&c.b, `<path class="p99" d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", strings.TrimSpace(line.String()), colorP99)
	}
}

// faults shades each fault window across both panels, at least a pixel
// wide, and labels it with its kind; labels take turns over three rows so
// that neighbouring windows stay readable.
func (c *chart) faults(faults []Fault, start time.Time) {
	for i, f := range faults {
		from := f.Start.Sub(start).Seconds()
		to := c.x.hi
		if !f.End.IsZero() {
			to = f.End.Sub(start).Seconds()
		}
		x0, x1 := c.x.at(from), c.x.at(to)
		w := max(x1-x0, 1)
		x0 = min(x0, right-w)
		end := "the end"
		if !f.End.IsZero() {
			end = fmtOffset(f.End.Sub(start))
		}
		desc := fmt.Sprintf("%s %s: %s to %s", f.Kind, f.Target, fmtOffset(f.Start.Sub(start)), end)
		fmt.Fprintf(&c.b, `<rect class="fault" x="%s" y="%d" width="%s" height="%d" fill="%s" fill-opacity="%s"><title>%s</title></rect>`+"\n",
			px(x0), top1, px(w), bottom2-top1, colorFault, faultOpacity, esc(desc))
		anchor, tx := "start", x0+3
		if tx > right-80 {
			anchor, tx = "end", x0+w-3
		}
		fmt.Fprintf(&c.b, `<text class="fault-label" x="%s" y="%d" text-anchor="%s" fill="#a65c00">%s</text>`+"\n",
			px(tx), top1+13+12*(i%faultLabelRows), anchor, esc(f.Kind))
	}
}

// fmtOffset formats an offset from the start to the millisecond.
func fmtOffset(d time.Duration) string { return d.Round(time.Millisecond).String() }

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
