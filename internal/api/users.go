package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

type userOutput struct{ Body store.User }

// Me is the caller: who they are and what they may do.
type Me struct {
	ID          int64    `json:"id"`
	Username    string   `json:"username"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	TokenID     *int64   `json:"token_id,omitempty" doc:"The API token used, if any"`
	Permissions []string `json:"permissions"`
}

// NewToken is a token just made: Token is shown this once.
type NewToken struct {
	store.Token
	Plain string `json:"token" doc:"The token itself: store it now, it is never shown again"`
}

type tokenOutput struct{ Body NewToken }

type tokensOutput struct {
	Body struct {
		Tokens []store.Token `json:"tokens"`
	}
}

type tokenBody struct {
	Name string `json:"name" minLength:"1" maxLength:"100" example:"crm"`
}

func (s *Server) registerUsers() {
	huma.Register(s.api, op("me", http.MethodGet, "/me", "Who am I", auth.MessagesRead, "Users"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body Me }, error) {
			p, _ := PrincipalFrom(ctx)
			me := Me{ID: p.ID, Username: p.Username, Name: p.Name, Role: string(p.Role), TokenID: p.TokenID}
			for _, perm := range auth.Permissions() {
				if p.Can(perm) {
					me.Permissions = append(me.Permissions, string(perm))
				}
			}
			return &struct{ Body Me }{Body: me}, nil
		})

	create := op("create-user", http.MethodPost, "/users", "Create a user", auth.UsersWrite, "Users")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		IdemHeader
		Body struct {
			Username string `json:"username" example:"ana"`
			Name     string `json:"name,omitempty" example:"Ana Operadora"`
			Role     string `json:"role" enum:"user,manager"`
			Password string `json:"password" doc:"8 to 256 characters"`
		}
	}) (*userOutput, error) {
		u, err := s.Accounts.CreateUser(ctx, in.Body.Username, in.Body.Name, auth.Role(in.Body.Role), in.Body.Password)
		if err != nil {
			return nil, s.problem(err)
		}
		return &userOutput{Body: u}, nil
	})

	huma.Register(s.api, op("list-users", http.MethodGet, "/users", "List users", auth.UsersRead, "Users"),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Users []store.User `json:"users"`
			}
		}, error) {
			us, err := s.DB.ListUsers(ctx)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Users []store.User `json:"users"`
				}
			}{}
			out.Body.Users = us
			return out, nil
		})

	huma.Register(s.api, op("get-user", http.MethodGet, "/users/{id}", "Get a user", auth.UsersRead, "Users"),
		func(ctx context.Context, in *IDParam) (*userOutput, error) {
			u, err := s.DB.GetUser(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &userOutput{Body: u}, nil
		})

	huma.Register(s.api, op("update-user", http.MethodPatch, "/users/{id}", "Change a user: name, role, password, or deactivate", auth.UsersWrite, "Users"),
		func(ctx context.Context, in *struct {
			IDParam
			Body struct {
				Name     *string `json:"name,omitempty"`
				Role     *string `json:"role,omitempty" enum:"user,manager"`
				Active   *bool   `json:"active,omitempty"`
				Password *string `json:"password,omitempty"`
			}
		}) (*userOutput, error) {
			p := accounts.UserPatch{Name: in.Body.Name, Active: in.Body.Active, Password: in.Body.Password}
			if in.Body.Role != nil {
				r := auth.Role(*in.Body.Role)
				p.Role = &r
			}
			if me, _ := PrincipalFrom(ctx); me.ID == in.ID && ((p.Active != nil && !*p.Active) || (p.Role != nil && *p.Role != auth.RoleManager)) {
				return nil, s.problem(sms.Errorf(sms.KindConflict, "you cannot deactivate or demote yourself"))
			}
			u, err := s.Accounts.UpdateUser(ctx, in.ID, p)
			if err != nil {
				return nil, s.problem(err)
			}
			return &userOutput{Body: u}, nil
		})

	mk := op("create-user-token", http.MethodPost, "/users/{id}/tokens", "Make an API token for a user (shown once)", auth.UsersWrite, "Users")
	mk.DefaultStatus = http.StatusCreated
	huma.Register(s.api, mk, func(ctx context.Context, in *struct {
		IdemHeader
		IDParam
		Body tokenBody
	}) (*tokenOutput, error) {
		return s.makeToken(ctx, in.ID, in.Body.Name)
	})

	huma.Register(s.api, op("list-user-tokens", http.MethodGet, "/users/{id}/tokens", "List a user's API tokens", auth.UsersRead, "Users"),
		func(ctx context.Context, in *IDParam) (*tokensOutput, error) { return s.listTokens(ctx, in.ID) })

	mine := op("create-my-token", http.MethodPost, "/me/tokens", "Make an API token for yourself (shown once)", auth.TokensManage, "Users")
	mine.DefaultStatus = http.StatusCreated
	huma.Register(s.api, mine, func(ctx context.Context, in *struct {
		IdemHeader
		Body tokenBody
	}) (*tokenOutput, error) {
		p, _ := PrincipalFrom(ctx)
		return s.makeToken(ctx, p.ID, in.Body.Name)
	})

	huma.Register(s.api, op("list-my-tokens", http.MethodGet, "/me/tokens", "List your API tokens", auth.TokensManage, "Users"),
		func(ctx context.Context, _ *struct{}) (*tokensOutput, error) {
			p, _ := PrincipalFrom(ctx)
			return s.listTokens(ctx, p.ID)
		})

	rv := op("revoke-token", http.MethodDelete, "/tokens/{id}", "Revoke an API token (your own, or anyone's for managers)", auth.TokensManage, "Users")
	rv.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, rv, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		p, _ := PrincipalFrom(ctx)
		if !p.Can(auth.UsersWrite) {
			toks, err := s.DB.ListTokens(ctx, p.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			own := false
			for _, t := range toks {
				own = own || t.ID == in.ID
			}
			if !own {
				return nil, s.problem(sms.Errorf(sms.KindNotFound, "token %d not found", in.ID))
			}
		}
		if err := s.DB.RevokeToken(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})
}

func (s *Server) makeToken(ctx context.Context, userID int64, name string) (*tokenOutput, error) {
	if _, err := s.DB.GetUser(ctx, userID); err != nil {
		return nil, s.problem(err)
	}
	plain, t, err := s.Accounts.CreateToken(ctx, userID, name)
	if err != nil {
		return nil, s.problem(err)
	}
	return &tokenOutput{Body: NewToken{Token: t, Plain: plain}}, nil
}

func (s *Server) listTokens(ctx context.Context, userID int64) (*tokensOutput, error) {
	ts, err := s.DB.ListTokens(ctx, userID)
	if err != nil {
		return nil, s.problem(err)
	}
	out := &tokensOutput{}
	out.Body.Tokens = ts
	if ts == nil {
		out.Body.Tokens = []store.Token{}
	}
	return out, nil
}
