package timeseries

import (
	"fmt"
	"math"
	"strconv"
)

// scale maps a domain [lo, hi] onto pixels [p0, p1].
type scale struct{ lo, hi, p0, p1 float64 }

func (s scale) at(v float64) float64 {
	v = min(max(v, s.lo), s.hi)
	return s.p0 + (v-s.lo)/(s.hi-s.lo)*(s.p1-s.p0)
}

// timeSteps are the steps of the time axis, in seconds, up to an hour.
var timeSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}

// timeStep returns a step that cuts span seconds into at most about 8 ticks.
func timeStep(span float64) float64 {
	for _, s := range timeSteps {
		if span/s <= 8 {
			return s
		}
	}
	return 3600 * niceStep(span/3600/8, 1)
}

// timeLabel labels the tick at sec seconds on an axis of the given step.
func timeLabel(sec, step float64) string {
	n := int(sec)
	switch {
	case step < 60 || n == 0:
		return strconv.Itoa(n) + "s"
	case n < 3600:
		return strconv.Itoa(n/60) + "m"
	case n%3600 == 0:
		return strconv.Itoa(n/3600) + "h"
	default:
		return fmt.Sprintf("%dh%02dm", n/3600, n%3600/60)
	}
}

// niceStep returns the smallest of 1, 2 or 5 times a power of ten that is
// at least raw, and at least floor.
func niceStep(raw, floor float64) float64 {
	if raw <= floor {
		return floor
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// valueAxis returns the top of a value axis from 0 that holds top, and its
// step: about five ticks, never finer than floor.
func valueAxis(top, floor float64) (hi, step float64) {
	if top <= 0 {
		top = floor
	}
	step = niceStep(top/5, floor)
	return math.Ceil(top/step-1e-9) * step, step
}

// valueLabel formats a tick of a value axis with the decimals its step needs.
func valueLabel(v, step float64) string {
	dec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// px formats a pixel coordinate.
func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
