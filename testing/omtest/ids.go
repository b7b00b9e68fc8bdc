package omtest

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"sync/atomic"
	"time"
)

// idEncoding is lower-case base32hex: ids use only [0-9a-v], like xid.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// idGen mints 20-character ids shaped like Open-Match's xids: 4 bytes of
// seconds, 5 random bytes fixed per generator and a 3-byte counter.
type idGen struct {
	machine [5]byte
	counter atomic.Uint32
}

func newIDGen() *idGen {
	g := &idGen{}
	var seed [4]byte
	_, _ = rand.Read(g.machine[:])
	_, _ = rand.Read(seed[:])
	g.counter.Store(binary.BigEndian.Uint32(seed[:]))
	return g
}

func (g *idGen) next(now time.Time) string {
	var raw [12]byte
	binary.BigEndian.PutUint32(raw[0:4], uint32(now.Unix()))
	copy(raw[4:9], g.machine[:])
	c := g.counter.Add(1)
	raw[9], raw[10], raw[11] = byte(c>>16), byte(c>>8), byte(c)
	return strings.ToLower(idEncoding.EncodeToString(raw[:]))
}
