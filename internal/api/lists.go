package api

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// contactFilter builds the filter of GET /contacts from a tag, a list and a
// segment (0: none).
func (s *Server) contactFilter(ctx context.Context, tag string, list, segment int64) (store.ContactFilter, error) {
	f := store.ContactFilter{Tag: strings.TrimSpace(tag), ListID: list}
	if list != 0 {
		if _, err := s.DB.GetList(ctx, list); err != nil {
			return f, notFoundAsInvalid(err, "list", list)
		}
	}
	if segment != 0 {
		g, err := s.DB.GetSegment(ctx, segment)
		if err != nil {
			return f, notFoundAsInvalid(err, "segment", segment)
		}
		f.Filter = &g.Filter
	}
	return f, nil
}

// notFoundAsInvalid turns "no such thing" named in a request's field into an
// invalid-input error on that field.
func notFoundAsInvalid(err error, field string, v any) error {
	if sms.KindOf(err) == sms.KindNotFound {
		return sms.Invalid("no such "+field, sms.FieldError{Field: field, Message: err.Error(), Value: v})
	}
	return err
}

// ListBody creates or changes a list.
type ListBody struct {
	Name        string `json:"name" minLength:"1" maxLength:"100" example:"Clientes 2026"`
	Description string `json:"description,omitempty" maxLength:"500"`
}

func (b ListBody) check() error {
	if strings.TrimSpace(b.Name) == "" {
		return sms.Invalid("invalid list", sms.FieldError{Field: "name", Message: "must not be blank"})
	}
	return nil
}

// SegmentBody creates or replaces a segment.
type SegmentBody struct {
	Name        string     `json:"name" minLength:"1" maxLength:"100" example:"Campinas, sem resposta"`
	Description string     `json:"description,omitempty" maxLength:"500"`
	Filter      sms.Filter `json:"filter"`
}

func (b SegmentBody) segment() (store.Segment, error) {
	g := store.Segment{Name: strings.TrimSpace(b.Name), Description: b.Description, Filter: b.Filter}
	if g.Name == "" || utf8.RuneCountInString(g.Name) > 100 {
		return g, sms.Invalid("invalid segment", sms.FieldError{Field: "name", Message: "1 to 100 characters"})
	}
	return g, b.Filter.Validate()
}

// SegmentView is a segment with how many contacts it selects now.
type SegmentView struct {
	store.Segment
	Contacts int64 `json:"contacts" doc:"How many contacts it selects now"`
}

func (s *Server) segmentView(ctx context.Context, g store.Segment) (*struct{ Body SegmentView }, error) {
	n, err := s.DB.CountContacts(ctx, store.ContactFilter{Filter: &g.Filter})
	if err != nil {
		return nil, s.problem(err)
	}
	return &struct{ Body SegmentView }{Body: SegmentView{Segment: g, Contacts: n}}, nil
}

func (s *Server) registerLists() {
	huma.Register(s.api, op("list-lists", http.MethodGet, "/lists", "List contact lists", auth.ContactsRead, "Lists"),
		func(ctx context.Context, in *struct{}) (*struct {
			Body struct {
				Lists []store.List `json:"lists"`
			}
		}, error) {
			ls, err := s.DB.Lists(ctx)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Lists []store.List `json:"lists"`
				}
			}{}
			out.Body.Lists = ls
			return out, nil
		})

	create := op("create-list", http.MethodPost, "/lists", "Create a contact list", auth.ContactsWrite, "Lists")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		IdemHeader
		Body ListBody
	}) (*struct{ Body store.List }, error) {
		if err := in.Body.check(); err != nil {
			return nil, s.problem(err)
		}
		p, _ := PrincipalFrom(ctx)
		l, err := s.DB.CreateList(ctx, strings.TrimSpace(in.Body.Name), in.Body.Description, &p.ID)
		if err != nil {
			return nil, s.problem(err)
		}
		return &struct{ Body store.List }{Body: l}, nil
	})

	huma.Register(s.api, op("get-list", http.MethodGet, "/lists/{id}", "Get a list with its member count", auth.ContactsRead, "Lists"),
		func(ctx context.Context, in *IDParam) (*struct{ Body store.List }, error) {
			l, err := s.DB.GetList(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &struct{ Body store.List }{Body: l}, nil
		})

	huma.Register(s.api, op("update-list", http.MethodPatch, "/lists/{id}", "Rename a list or change its description", auth.ContactsWrite, "Lists"),
		func(ctx context.Context, in *struct {
			IDParam
			Body ListBody
		}) (*struct{ Body store.List }, error) {
			if err := in.Body.check(); err != nil {
				return nil, s.problem(err)
			}
			l, err := s.DB.UpdateList(ctx, in.ID, strings.TrimSpace(in.Body.Name), in.Body.Description)
			if err != nil {
				return nil, s.problem(err)
			}
			return &struct{ Body store.List }{Body: l}, nil
		})

	del := op("delete-list", http.MethodDelete, "/lists/{id}", "Delete a list (its contacts stay)", auth.ContactsDelete, "Lists")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		if err := s.DB.DeleteList(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})

	huma.Register(s.api, op("change-list-members", http.MethodPost, "/lists/{id}/members", "Add contacts to a list and remove others", auth.ContactsWrite, "Lists"),
		func(ctx context.Context, in *struct {
			IdemHeader
			IDParam
			Body struct {
				Add    []int64 `json:"add,omitempty" maxItems:"10000"`
				Remove []int64 `json:"remove,omitempty" maxItems:"10000"`
			}
		}) (*struct{ Body store.List }, error) {
			if err := s.DB.ChangeMembers(ctx, in.ID, in.Body.Add, in.Body.Remove); err != nil {
				return nil, s.problem(err)
			}
			l, err := s.DB.GetList(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &struct{ Body store.List }{Body: l}, nil
		})

	huma.Register(s.api, op("list-segments", http.MethodGet, "/segments", "List saved contact filters (segments)", auth.ContactsRead, "Lists"),
		func(ctx context.Context, in *struct{}) (*struct {
			Body struct {
				Segments []store.Segment `json:"segments"`
			}
		}, error) {
			gs, err := s.DB.Segments(ctx)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Segments []store.Segment `json:"segments"`
				}
			}{}
			out.Body.Segments = gs
			return out, nil
		})

	createSeg := op("create-segment", http.MethodPost, "/segments", "Save a contact filter (segment)", auth.ContactsWrite, "Lists")
	createSeg.DefaultStatus = http.StatusCreated
	createSeg.Description = "Conditions on name, phone, external_id, field.<key> (custom fields), opted_out, deceased, owner, tag, list, " +
		"replied (within_days / not_within_days N), last_sms (before / after a date, never), created (before / after). " +
		"match is all (default) or any."
	huma.Register(s.api, createSeg, func(ctx context.Context, in *struct {
		IdemHeader
		Body SegmentBody
	}) (*struct{ Body SegmentView }, error) {
		g, err := in.Body.segment()
		if err != nil {
			return nil, s.problem(err)
		}
		p, _ := PrincipalFrom(ctx)
		g.CreatedBy = &p.ID
		if g, err = s.DB.SaveSegment(ctx, g); err != nil {
			return nil, s.problem(err)
		}
		return s.segmentView(ctx, g)
	})

	huma.Register(s.api, op("get-segment", http.MethodGet, "/segments/{id}", "Get a segment with how many contacts it selects", auth.ContactsRead, "Lists"),
		func(ctx context.Context, in *IDParam) (*struct{ Body SegmentView }, error) {
			g, err := s.DB.GetSegment(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return s.segmentView(ctx, g)
		})

	huma.Register(s.api, op("update-segment", http.MethodPut, "/segments/{id}", "Replace a segment", auth.ContactsWrite, "Lists"),
		func(ctx context.Context, in *struct {
			IDParam
			Body SegmentBody
		}) (*struct{ Body SegmentView }, error) {
			g, err := in.Body.segment()
			if err != nil {
				return nil, s.problem(err)
			}
			g.ID = in.ID
			if g, err = s.DB.SaveSegment(ctx, g); err != nil {
				return nil, s.problem(err)
			}
			return s.segmentView(ctx, g)
		})

	delSeg := op("delete-segment", http.MethodDelete, "/segments/{id}", "Delete a segment", auth.ContactsDelete, "Lists")
	delSeg.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, delSeg, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		if err := s.DB.DeleteSegment(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})

	huma.Register(s.api, op("count-filter", http.MethodPost, "/segments/count", "Count the contacts a filter selects, without saving it", auth.ContactsRead, "Lists"),
		func(ctx context.Context, in *struct {
			IdemHeader
			Body struct {
				Filter sms.Filter `json:"filter"`
			}
		}) (*struct {
			Body struct {
				Contacts int64 `json:"contacts"`
			}
		}, error) {
			if err := in.Body.Filter.Validate(); err != nil {
				return nil, s.problem(err)
			}
			n, err := s.DB.CountContacts(ctx, store.ContactFilter{Filter: &in.Body.Filter})
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Contacts int64 `json:"contacts"`
				}
			}{}
			out.Body.Contacts = n
			return out, nil
		})
}
