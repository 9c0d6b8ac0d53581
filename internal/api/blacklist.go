package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

type blacklistOutput struct {
	Body struct {
		Entries   []store.BlacklistEntry `json:"entries"`
		NextAfter string                 `json:"next_after,omitempty" doc:"Pass as after to get the next page"`
	}
}

func (s *Server) registerBlacklist() {
	huma.Register(s.api, op("list-blacklist", http.MethodGet, "/blacklist", "List blacklisted numbers", auth.BlacklistRead, "Blacklist"),
		func(ctx context.Context, in *struct {
			Q     string `query:"q" maxLength:"40" doc:"Part of the number"`
			After string `query:"after" maxLength:"40"`
			Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*blacklistOutput, error) {
			es, err := s.DB.ListBlacklist(ctx, store.BlacklistFilter{Query: in.Q, After: in.After, Limit: in.Limit})
			if err != nil {
				return nil, s.problem(err)
			}
			out := &blacklistOutput{}
			out.Body.Entries = es
			if len(es) == in.Limit {
				out.Body.NextAfter = es[len(es)-1].Phone
			}
			return out, nil
		})

	add := op("add-blacklist", http.MethodPost, "/blacklist", "Put numbers on the blacklist (no marketing messages)", auth.BlacklistWrite, "Blacklist")
	huma.Register(s.api, add, func(ctx context.Context, in *struct {
		IdemHeader
		Body struct {
			Phones []string `json:"phones" minItems:"1" maxItems:"1000"`
			Reason string   `json:"reason,omitempty" maxLength:"200"`
		}
	}) (*struct {
		Body struct {
			Added []string `json:"added" doc:"The numbers, in E.164, that were not on the list yet"`
		}
	}, error) {
		p, _ := PrincipalFrom(ctx)
		added, err := s.Dispatch.Blacklist(ctx, in.Body.Phones, in.Body.Reason, &p.ID)
		if err != nil {
			return nil, s.problem(err)
		}
		out := &struct {
			Body struct {
				Added []string `json:"added" doc:"The numbers, in E.164, that were not on the list yet"`
			}
		}{}
		out.Body.Added = added
		if added == nil {
			out.Body.Added = []string{}
		}
		return out, nil
	})

	del := op("remove-blacklist", http.MethodDelete, "/blacklist/{phone}", "Take a number off the blacklist", auth.BlacklistWrite, "Blacklist")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *struct {
		Phone string `path:"phone" maxLength:"40"`
	}) (*struct{}, error) {
		if err := s.Dispatch.Unblacklist(ctx, in.Phone); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})

	huma.Register(s.api, op("inbox", http.MethodGet, "/inbox", "Replies, newest first: all, or those of your contacts", auth.MessagesRead, "Messages"),
		func(ctx context.Context, in *struct {
			Mine   bool  `query:"mine" doc:"Only replies from contacts you own"`
			Unread bool  `query:"unread" doc:"Only replies not yet marked read"`
			Cursor int64 `query:"cursor" minimum:"0"`
			Limit  int   `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*messagesOutput, error) {
			f := store.InboxFilter{Unread: in.Unread, Before: in.Cursor, Limit: in.Limit}
			if in.Mine {
				p, _ := PrincipalFrom(ctx)
				f.OwnerID = &p.ID
			}
			ms, err := s.DB.Inbox(ctx, f)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &messagesOutput{}
			out.Body.Messages = make([]Message, len(ms))
			for i, m := range ms {
				out.Body.Messages[i] = messageOut(m)
			}
			if len(ms) == in.Limit {
				out.Body.NextCursor = strconv.FormatInt(ms[len(ms)-1].ID, 10)
			}
			return out, nil
		})

	huma.Register(s.api, op("mark-read", http.MethodPost, "/messages/{id}/read", "Mark an inbound message read", auth.MessagesWrite, "Messages"),
		func(ctx context.Context, in *struct {
			IdemHeader
			IDParam
		}) (*messageOutput, error) {
			if err := s.DB.MarkRead(ctx, in.ID); err != nil {
				if sms.KindOf(err) == sms.KindInternal {
					err = sms.Errorf(sms.KindConflict, "message %d is not an inbound message", in.ID)
				}
				return nil, s.problem(err)
			}
			m, err := s.DB.GetMessage(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &messageOutput{Body: messageOut(m)}, nil
		})
}
