package dispatch

import (
	"crypto/rand"
	"encoding/base32"
	"io"
	"sync"
)

// refSource makes message and batch references: "rc" followed by 20 base32
// characters (100 random bits), unique without asking the database.
type refSource struct {
	mu  sync.Mutex
	r   io.Reader
	buf [12]byte
}

func newRefSource(r io.Reader) *refSource {
	if r == nil {
		r = rand.Reader
	}
	return &refSource{r: r}
}

var refEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

func (s *refSource) next(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
		panic("dispatch: random source failed: " + err.Error())
	}
	return prefix + refEncoding.EncodeToString(s.buf[:])[:20]
}
