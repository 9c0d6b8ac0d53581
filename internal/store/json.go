package store

import (
	"encoding/json"
	"iter"
)

// jsonArray encodes v for the bulk statements that take a JSON array.
func jsonArray[T any](v []T) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("store: cannot encode " + err.Error()) // only plain values reach here
	}
	return b
}

// chunks yields s in pieces of at most n.
func chunks[T any](s []T, n int) iter.Seq[[]T] {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
