package web

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// contactScope is the contacts page's choice of a tag, a list or a saved
// filter, as the URL carries it, with what the pickers offer.
type contactScope struct {
	Tag      string
	List     string
	Segment  string
	Tags     []string
	Lists    []store.List
	Segments []store.Segment
}

// readContactScope reads tag, list_id and segment_id into f. A list or
// saved filter that does not exist is an invalid-input error.
func (s *Server) readContactScope(ctx context.Context, q url.Values, f *store.ContactFilter) (contactScope, error) {
	sc := contactScope{Tag: strings.TrimSpace(q.Get("tag")), List: q.Get("list_id"), Segment: q.Get("segment_id")}
	if len(sc.Tag) > 64 {
		return sc, sms.Invalid("tag too long", sms.FieldError{Field: "tag", Message: "at most 64 characters"})
	}
	f.Tag = sc.Tag
	if sc.List != "" {
		n, err := strconv.ParseInt(sc.List, 10, 64)
		if err != nil || n < 1 {
			return sc, sms.Invalid("invalid list", sms.FieldError{Field: "list_id", Message: "not a valid list"})
		}
		if _, err := s.DB.GetList(ctx, n); err != nil {
			return sc, err
		}
		f.ListID = n
	}
	if sc.Segment != "" {
		n, err := strconv.ParseInt(sc.Segment, 10, 64)
		if err != nil || n < 1 {
			return sc, sms.Invalid("invalid saved filter", sms.FieldError{Field: "segment_id", Message: "not a valid saved filter"})
		}
		g, err := s.DB.GetSegment(ctx, n)
		if err != nil {
			return sc, err
		}
		f.Filter = &g.Filter
	}
	var err error
	if sc.Tags, err = s.DB.Tags(ctx, 500); err != nil {
		return sc, err
	}
	if sc.Lists, err = s.DB.Lists(ctx); err != nil {
		return sc, err
	}
	sc.Segments, err = s.DB.Segments(ctx)
	return sc, err
}
