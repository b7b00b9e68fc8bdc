package omclient

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RetryPolicy is the backoff the SDK uses between attempts of a call it is
// allowed to retry. The zero value uses the defaults in the field comments.
type RetryPolicy struct {
	// InitialBackoff is the first wait (default 50 ms).
	InitialBackoff time.Duration
	// MaxBackoff caps any single wait (default 2 s).
	MaxBackoff time.Duration
	// Multiplier grows the wait after each attempt (default 2).
	Multiplier float64
	// Jitter is the randomization factor applied to each wait (default 0.2).
	Jitter float64
	// MaxElapsed bounds retrying when the caller's context has no deadline
	// (default 30 s). A negative value retries until the context is done.
	MaxElapsed time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = 50 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 2 * time.Second
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	if p.Jitter <= 0 || p.Jitter > 1 {
		p.Jitter = 0.2
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = 30 * time.Second
	}
	return p
}

// newBackOff returns the backoff for one call. MaxElapsed applies only when
// the call has no deadline: a deadline is the caller's own bound.
func (p RetryPolicy) newBackOff(ctx context.Context) *backoff.ExponentialBackOff {
	elapsed := p.MaxElapsed
	if _, ok := ctx.Deadline(); ok || elapsed < 0 {
		elapsed = 0 // never stop on elapsed time
	}
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialBackoff),
		backoff.WithMaxInterval(p.MaxBackoff),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(p.Jitter),
		backoff.WithMaxElapsedTime(elapsed),
	)
}

// retryable reports whether err is worth another attempt of an idempotent call.
func retryable(err error) bool {
	var partial *partialError
	if errors.As(err, &partial) {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return true
	case codes.ResourceExhausted:
		return !overSizeLimit(err)
	}
	return false
}

// overSizeLimit reports whether err is grpc-go's ResourceExhausted for a
// message over the size limit ("received message larger than max", "trying
// to send message larger than max"), raised locally or by the server for the
// request. The same message is as large next time, so it is never retried;
// other ResourceExhausted answers (a server shedding load) are.
func overSizeLimit(err error) bool {
	return status.Code(err) == codes.ResourceExhausted && strings.Contains(status.Convert(err).Message(), "larger than max")
}

// waiter paces the attempts of one call.
type waiter struct {
	b     *backoff.ExponentialBackOff
	timer *time.Timer
}

func (p RetryPolicy) waiter(ctx context.Context) *waiter { return &waiter{b: p.newBackOff(ctx)} }

// wait sleeps for the next backoff interval. It returns false, without
// sleeping, when the policy is exhausted or the wait would end after ctx's
// deadline; it returns false as soon as ctx is done.
func (w *waiter) wait(ctx context.Context) bool {
	d := w.b.NextBackOff()
	if d == backoff.Stop {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		w.timer.Stop()
		return false
	case <-w.timer.C:
		return true
	}
}

// reset starts the backoff over, after progress was made.
func (w *waiter) reset() { w.b.Reset() }

func (w *waiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// retry runs call until it succeeds, fails with an error that is not
// retryable, or the policy or ctx runs out. The last call's error is returned.
func retry[T any](ctx context.Context, p RetryPolicy, call func(context.Context) (T, error)) (T, error) {
	res, err := call(ctx)
	if err == nil || !retryable(err) {
		return res, err
	}
	w := p.waiter(ctx)
	defer w.stop()
	for w.wait(ctx) {
		res, err = call(retried(ctx))
		if err == nil || !retryable(err) {
			return res, err
		}
	}
	return res, err
}
