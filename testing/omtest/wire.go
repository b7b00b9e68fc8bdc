package omtest

import (
	"slices"
	"sync"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protov2 "google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Field numbers of the ticket lists the codec writes itself.
const (
	fieldFetchMatch   protowire.Number = 1 // FetchMatchesResponse.match
	fieldMatchTickets protowire.Number = 4 // Match.tickets
	fieldQueryTickets protowire.Number = 1 // QueryTicketsResponse.tickets
)

// wireCache holds the encoding of every stored ticket, keyed by the stored
// *pb.Ticket. A stored ticket is never modified (a change stores a new
// copy), so its encoding stays valid for as long as the pointer lives.
// A plain map under a read-write lock: a lookup is one hash probe, cheaper
// than sync.Map's trie walk over a large store.
type wireCache struct {
	mu sync.RWMutex
	m  map[*pb.Ticket][]byte

	pagesMu sync.Mutex
	pages   map[*pb.QueryTicketsResponse][][]byte // see withPage
}

// add encodes t, which must be stored and never modified again, and
// returns the encoding (nil if t cannot be encoded).
func (w *wireCache) add(t *pb.Ticket) []byte {
	b, err := protov2.Marshal(t)
	if err != nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[*pb.Ticket][]byte)
	}
	w.m[t] = b
	return b
}

// withPage calls send with page registered as encoded by encs (one per
// ticket, in order), so that the codec writes the page from them without
// looking each ticket up.
func (w *wireCache) withPage(page *pb.QueryTicketsResponse, encs [][]byte, send func() error) error {
	w.pagesMu.Lock()
	if w.pages == nil {
		w.pages = make(map[*pb.QueryTicketsResponse][][]byte)
	}
	w.pages[page] = encs
	w.pagesMu.Unlock()
	defer func() {
		w.pagesMu.Lock()
		delete(w.pages, page)
		w.pagesMu.Unlock()
	}()
	return send()
}

func (w *wireCache) page(page *pb.QueryTicketsResponse) ([][]byte, bool) {
	w.pagesMu.Lock()
	defer w.pagesMu.Unlock()
	encs, ok := w.pages[page]
	return encs, ok
}

func (w *wireCache) drop(t *pb.Ticket) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, t)
}

func (w *wireCache) clear() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.m)
}

func (w *wireCache) lookup(t *pb.Ticket) ([]byte, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	b, ok := w.m[t]
	return b, ok
}

// encodings returns the encoding of every ticket of ts, taking the lock
// once, and the size of ts as a repeated message field.
func (w *wireCache) encodings(ts []*pb.Ticket) ([][]byte, int, error) {
	out := make([][]byte, len(ts))
	size := 0
	w.mu.RLock()
	for i, t := range ts {
		out[i] = w.m[t]
	}
	w.mu.RUnlock()
	for i, b := range out {
		if b == nil {
			var err error
			if b, err = protov2.Marshal(ts[i]); err != nil {
				return nil, 0, err
			}
			out[i] = b
		}
		size += 1 + protowire.SizeBytes(len(b))
	}
	return out, size, nil
}

// appendField appends b as the length-delimited field num.
func appendField(buf []byte, num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(buf, num, protowire.BytesType), b)
}

// wireCodec is the core's server codec: gRPC's proto codec, except that the
// messages carrying stored tickets (a stored ticket itself, as CreateTicket
// and GetTicket return it, QueryTickets pages, FetchMatches responses) reuse
// each ticket's cached encoding instead of encoding it again for every
// message. The bytes decode to the same message.
type wireCodec struct {
	base  encoding.CodecV2
	cache *wireCache
}

func newWireCodec(cache *wireCache) wireCodec {
	return wireCodec{base: encoding.GetCodecV2(proto.Name), cache: cache}
}

func (c wireCodec) Name() string { return proto.Name }

func (c wireCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.base.Unmarshal(data, v) }

func (c wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	var b []byte
	var ok bool
	var err error
	switch m := v.(type) {
	case *pb.Ticket:
		b, ok = c.cache.lookup(m)
	case *pb.QueryTicketsResponse:
		if out, ok := c.queryTickets(m); ok {
			return out, nil
		}
	case *pb.FetchMatchesResponse:
		b, ok, err = c.fetchMatches(m)
	}
	if err != nil || !ok {
		return c.base.Marshal(v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

// plain reports whether ts can be written from the cache: no nil entries.
func plain(ts []*pb.Ticket) bool {
	for _, t := range ts {
		if t == nil {
			return false
		}
	}
	return true
}

// queryTickets writes a page of stored tickets from their cached encodings
// into one buffer of pagePool, which gRPC gives back once it has sent it; ok is false when a ticket has no cached encoding (the page is then
// encoded as usual).
func (c wireCodec) queryTickets(r *pb.QueryTicketsResponse) (mem.BufferSlice, bool) {
	ts := r.GetTickets()
	if len(r.ProtoReflect().GetUnknown()) > 0 || !plain(ts) {
		return nil, false
	}
	if encs, ok := c.cache.page(r); ok && len(encs) == len(ts) && !slices.ContainsFunc(encs, func(b []byte) bool { return b == nil }) {
		return writePage(encs), true
	}
	encs := encScratch.Get().(*[][]byte)
	defer func() { clear(*encs); encScratch.Put(encs) }()
	*encs = (*encs)[:0]
	w := c.cache
	w.mu.RLock()
	for _, t := range ts {
		b, ok := w.m[t]
		if !ok {
			w.mu.RUnlock()
			return nil, false
		}
		*encs = append(*encs, b)
	}
	w.mu.RUnlock()
	return writePage(*encs), true
}

// writePage writes encs as QueryTicketsResponse.tickets into one buffer of
// pagePool, which gRPC gives back once it has sent it.
func writePage(encs [][]byte) mem.BufferSlice {
	size := 0
	for _, b := range encs {
		size += 1 + protowire.SizeBytes(len(b))
	}
	buf := pagePool.Get(size)
	out := (*buf)[:0]
	for _, b := range encs {
		out = appendField(out, fieldQueryTickets, b)
	}
	*buf = out
	return mem.BufferSlice{mem.NewBuffer(buf, pagePool)}
}

// encScratch holds the slices queryTickets gathers a page's encodings in.
var encScratch = sync.Pool{New: func() any { return new([][]byte) }}

// pagePool holds the buffers of query pages: every power of two from 4 KiB
// to 64 MiB, so that a page of a thousand tickets (about 100 KiB) takes a
// 128 KiB buffer (gRPC's default pool would hand it a 1 MiB one).
var pagePool = func() mem.BufferPool {
	var exps []uint8
	for e := uint8(12); e <= 26; e++ {
		exps = append(exps, e)
	}
	p, err := mem.NewBinaryTieredBufferPool(exps...)
	if err != nil {
		panic(err)
	}
	return p
}()

func (c wireCodec) fetchMatches(r *pb.FetchMatchesResponse) ([]byte, bool, error) {
	m := r.GetMatch()
	if m == nil || len(r.ProtoReflect().GetUnknown()) > 0 || len(m.ProtoReflect().GetUnknown()) > 0 || !plain(m.GetTickets()) {
		return nil, false, nil
	}
	head, err := protov2.Marshal(withoutTickets(m))
	if err != nil {
		return nil, false, err
	}
	encs, size, err := c.cache.encodings(m.GetTickets())
	if err != nil {
		return nil, false, err
	}
	body := len(head) + size
	out := make([]byte, 0, 1+protowire.SizeBytes(body))
	out = protowire.AppendVarint(protowire.AppendTag(out, fieldFetchMatch, protowire.BytesType), uint64(body))
	out = append(out, head...)
	for _, b := range encs {
		out = appendField(out, fieldMatchTickets, b)
	}
	return out, true, nil
}

// withoutTickets is m with every field but its tickets (matchFields lists
// them; a test checks the list is complete).
func withoutTickets(m *pb.Match) *pb.Match {
	return &pb.Match{
		MatchId: m.GetMatchId(), MatchProfile: m.GetMatchProfile(), MatchFunction: m.GetMatchFunction(),
		Extensions: m.GetExtensions(), Backfill: m.GetBackfill(), AllocateGameserver: m.GetAllocateGameserver(),
	}
}

// matchFields are the fields of pb.Match that withoutTickets copies, plus tickets.
var matchFields = []string{"match_id", "match_profile", "match_function", "tickets", "extensions", "backfill", "allocate_gameserver"}
