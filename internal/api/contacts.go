package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/contacts"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// ContactBody creates a contact or, in a PATCH, changes the fields given.
type ContactBody struct {
	Name       *string           `json:"name,omitempty" maxLength:"200" example:"Fulana de Teste"`
	Phone      *string           `json:"phone,omitempty" maxLength:"40" doc:"Any common form; stored in E.164" example:"(11) 90000-0001"`
	OwnerID    *int64            `json:"owner_id,omitempty" doc:"The operator responsible for the contact (0 clears it)"`
	Fields     map[string]string `json:"fields,omitempty" doc:"Custom fields for templates"`
	Tags       []string          `json:"tags,omitempty"`
	OptedOut   *bool             `json:"opted_out,omitempty" doc:"Receives no marketing messages"`
	Deceased   *bool             `json:"deceased,omitempty" doc:"Never messaged"`
	ExternalID *string           `json:"external_id,omitempty" maxLength:"100" doc:"The contact's id in another system (a CRM); unique; empty clears it"`
}

func (b ContactBody) input() contacts.Input {
	return contacts.Input{Name: b.Name, Phone: b.Phone, OwnerID: b.OwnerID, Fields: b.Fields, Tags: b.Tags,
		OptedOut: b.OptedOut, Deceased: b.Deceased, ExternalID: b.ExternalID}
}

type contactOutput struct{ Body sms.Contact }

type contactsOutput struct {
	Body struct {
		Contacts   []sms.Contact `json:"contacts"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}
}

func (s *Server) registerContacts() {
	create := op("create-contact", http.MethodPost, "/contacts", "Create a contact", auth.ContactsWrite, "Contacts")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		IdemHeader
		Body ContactBody
	}) (*contactOutput, error) {
		c, err := s.Contacts.Create(ctx, in.Body.input())
		if err != nil {
			return nil, s.problem(err)
		}
		return &contactOutput{Body: c}, nil
	})

	huma.Register(s.api, op("list-contacts", http.MethodGet, "/contacts", "List or search contacts, newest first", auth.ContactsRead, "Contacts"),
		func(ctx context.Context, in *struct {
			Q       string `query:"q" maxLength:"200" doc:"Part of the name (any case) or of the phone's digits"`
			Tag     string `query:"tag" maxLength:"64" doc:"Only contacts with this tag"`
			List    int64  `query:"list" minimum:"0" doc:"Only contacts in this list"`
			Segment int64  `query:"segment" minimum:"0" doc:"Only contacts the saved filter (segment) selects"`
			Cursor  int64  `query:"cursor" minimum:"0"`
			Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*contactsOutput, error) {
			f, err := s.contactFilter(ctx, in.Tag, in.List, in.Segment)
			if err != nil {
				return nil, s.problem(err)
			}
			f.Query, f.Before, f.Limit = in.Q, in.Cursor, in.Limit
			cs, err := s.DB.ListContacts(ctx, f)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &contactsOutput{}
			out.Body.Contacts = cs
			if out.Body.Contacts == nil {
				out.Body.Contacts = []sms.Contact{}
			}
			if len(cs) == in.Limit {
				out.Body.NextCursor = strconv.FormatInt(cs[len(cs)-1].ID, 10)
			}
			return out, nil
		})

	huma.Register(s.api, op("get-contact", http.MethodGet, "/contacts/{id}", "Get a contact with its SMS statistics", auth.ContactsRead, "Contacts"),
		func(ctx context.Context, in *IDParam) (*contactOutput, error) {
			c, err := s.DB.GetContact(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &contactOutput{Body: c}, nil
		})

	huma.Register(s.api, op("update-contact", http.MethodPatch, "/contacts/{id}", "Change a contact", auth.ContactsWrite, "Contacts"),
		func(ctx context.Context, in *struct {
			IDParam
			Body ContactBody
		}) (*contactOutput, error) {
			c, err := s.Contacts.Update(ctx, in.ID, in.Body.input())
			if err != nil {
				return nil, s.problem(err)
			}
			return &contactOutput{Body: c}, nil
		})

	del := op("delete-contact", http.MethodDelete, "/contacts/{id}", "Delete a contact (its messages stay)", auth.ContactsDelete, "Contacts")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		if err := s.DB.DeleteContact(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})

	huma.Register(s.api, op("contact-messages", http.MethodGet, "/contacts/{id}/messages", "A contact's messages, newest first", auth.MessagesRead, "Contacts"),
		func(ctx context.Context, in *struct {
			IDParam
			Cursor int64 `query:"cursor" minimum:"0"`
			Limit  int   `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*messagesOutput, error) {
			if _, err := s.DB.GetContact(ctx, in.ID); err != nil {
				return nil, s.problem(err)
			}
			return s.listMessages(ctx, store.MessageFilter{ContactID: &in.ID, Before: in.Cursor, Limit: in.Limit})
		})
}
