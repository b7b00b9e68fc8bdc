package omtest

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// poolFilter is a validated Pool, ready to test tickets and backfills.
type poolFilter struct {
	pool          *pb.Pool
	before, after time.Time
	hasBefore     bool
	hasAfter      bool
}

// newPoolFilter validates pool's timestamps the way Open-Match does.
func newPoolFilter(pool *pb.Pool) (*poolFilter, error) {
	f := &poolFilter{pool: pool}
	if ts := pool.GetCreatedBefore(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, status.Error(codes.InvalidArgument, ".invalid created_before value")
		}
		f.before, f.hasBefore = ts.AsTime(), true
	}
	if ts := pool.GetCreatedAfter(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, status.Error(codes.InvalidArgument, ".invalid created_after value")
		}
		f.after, f.hasAfter = ts.AsTime(), true
	}
	return f, nil
}

func (f *poolFilter) ticket(t *pb.Ticket) bool {
	return f.matches(t.GetSearchFields(), t.GetCreateTime())
}

func (f *poolFilter) backfill(b *pb.Backfill) bool {
	return f.matches(b.GetSearchFields(), b.GetCreateTime())
}

// matches reports whether an entity passes every filter of the pool. A nil
// SearchFields behaves as an empty one; an invalid create_time skips the
// time checks.
func (f *poolFilter) matches(sf *pb.SearchFields, created *timestamppb.Timestamp) bool {
	if (f.hasBefore || f.hasAfter) && created.CheckValid() == nil {
		ct := created.AsTime()
		if f.hasBefore && !ct.Before(f.before) {
			return false
		}
		if f.hasAfter && !ct.After(f.after) {
			return false
		}
	}
	for _, d := range f.pool.GetDoubleRangeFilters() {
		if !inRange(sf, d) {
			return false
		}
	}
	for _, s := range f.pool.GetStringEqualsFilters() {
		v, ok := sf.GetStringArgs()[s.GetStringArg()]
		if !ok || v != s.GetValue() {
			return false
		}
	}
	for _, tf := range f.pool.GetTagPresentFilters() {
		if !hasTag(sf.GetTags(), tf.GetTag()) {
			return false
		}
	}
	return true
}

// inRange applies a DoubleRangeFilter. Comparisons are written so that NaN in
// the value or a bound always rejects; an unknown Exclude checks presence only.
func inRange(sf *pb.SearchFields, d *pb.DoubleRangeFilter) bool {
	v, ok := sf.GetDoubleArgs()[d.GetDoubleArg()]
	if !ok {
		return false
	}
	lo, hi := d.GetMin(), d.GetMax()
	switch d.GetExclude() {
	case pb.DoubleRangeFilter_NONE:
		return v >= lo && v <= hi
	case pb.DoubleRangeFilter_MIN:
		return v > lo && v <= hi
	case pb.DoubleRangeFilter_MAX:
		return v >= lo && v < hi
	case pb.DoubleRangeFilter_BOTH:
		return v > lo && v < hi
	default:
		return true
	}
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}
