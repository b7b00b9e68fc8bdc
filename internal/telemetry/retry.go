package telemetry

import "context"

type retryKey struct{}

// MarkRetry returns ctx marked as the context of an attempt after the first,
// so that the connection the attempt goes through counts it.
func MarkRetry(ctx context.Context) context.Context {
	if IsRetry(ctx) {
		return ctx
	}
	return context.WithValue(ctx, retryKey{}, true)
}

// IsRetry reports whether ctx was marked by MarkRetry.
func IsRetry(ctx context.Context) bool {
	v, _ := ctx.Value(retryKey{}).(bool)
	return v
}
