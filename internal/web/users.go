package web

import (
	"net/http"
	"strings"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// userForm is the form that creates a user.
type userForm struct {
	Username, Name, Role string
}

type usersData struct {
	Users    []store.User
	TwoFA    map[int64]bool // users who sign in with two factors
	Require  bool           // managers must
	Tokens   map[int64][]store.Token
	Form     userForm
	Errors   map[string]string
	NewToken *newTokenData // a token just made: shown this once
}

type newTokenData struct {
	Username string
	Name     string
	Token    string
}

func (s *Server) usersData(r *http.Request) (usersData, error) {
	ctx := r.Context()
	users, err := s.DB.ListUsers(ctx)
	if err != nil {
		return usersData{}, err
	}
	tokens, err := s.DB.ListTokens(ctx, 0)
	if err != nil {
		return usersData{}, err
	}
	d := usersData{Users: users, Tokens: map[int64][]store.Token{}, TwoFA: map[int64]bool{}, Form: userForm{Role: string(auth.RoleUser)}}
	for _, u := range users {
		if d.TwoFA[u.ID], err = s.TwoFactor.Enabled(ctx, u.ID); err != nil {
			return d, err
		}
	}
	if d.Require, err = s.TwoFactor.ManagersRequired(ctx); err != nil {
		return d, err
	}
	for _, t := range tokens {
		if t.RevokedAt == nil {
			d.Tokens[t.UserID] = append(d.Tokens[t.UserID], t)
		}
	}
	return d, nil
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.usersData(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "users", "layout", d)
	return nil
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := userForm{Username: strings.TrimSpace(r.PostFormValue("username")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Role: r.PostFormValue("role")}
	role, err := auth.ParseRole(f.Role)
	var errs map[string]string
	if err == nil {
		var u store.User
		u, err = s.Accounts.CreateUser(r.Context(), f.Username, f.Name, role, r.PostFormValue("password"))
		if err == nil {
			s.flash(w, r, s.tr(r, "User %s created.", u.Username))
			http.Redirect(w, r, "/users", http.StatusSeeOther)
			return nil
		}
	}
	if errs = fieldErrors(err); errs == nil {
		return err
	}
	d, derr := s.usersData(r)
	if derr != nil {
		return derr
	}
	d.Form, d.Errors = f, errs
	s.render(w, r, http.StatusUnprocessableEntity, "users", "layout", d)
	return nil
}

// userUpdate changes a user's role, active flag or password. A manager
// cannot demote or deactivate themselves: someone must be left to manage.
func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var patch accounts.UserPatch
	if v := r.PostFormValue("role"); v != "" {
		role, err := auth.ParseRole(v)
		if err != nil {
			return err
		}
		patch.Role = &role
	}
	if v := r.PostFormValue("active"); v != "" {
		active := v == "1"
		patch.Active = &active
	}
	if v := r.PostFormValue("password"); v != "" {
		patch.Password = &v
	}
	if id == p.ID && ((patch.Role != nil && *patch.Role != auth.RoleManager) || (patch.Active != nil && !*patch.Active)) {
		return sms.Errorf(sms.KindConflict, "you cannot demote or deactivate yourself")
	}
	u, err := s.Accounts.UpdateUser(r.Context(), id, patch)
	if err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "User %s saved.", u.Username))
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

// userTokenCreate makes an API token for a user (an integration account,
// say), shown once.
func (s *Server) userTokenCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := s.DB.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	plain, _, err := s.Accounts.CreateToken(r.Context(), id, name)
	if err != nil {
		return err
	}
	d, err := s.usersData(r)
	if err != nil {
		return err
	}
	d.NewToken = &newTokenData{Username: u.Username, Name: name, Token: plain}
	s.render(w, r, http.StatusOK, "users", "layout", d)
	return nil
}

// tokenRevoke revokes a token: one's own, or anyone's for a manager.
func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	owner := p.ID
	if p.Can(auth.UsersWrite) {
		owner = 0
	}
	tokens, err := s.DB.ListTokens(ctx, owner)
	if err != nil {
		return err
	}
	found := false
	for _, t := range tokens {
		found = found || t.ID == id
	}
	if !found {
		return sms.Errorf(sms.KindNotFound, "no such token")
	}
	if err := s.DB.RevokeToken(ctx, id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Token revoked."))
	next := "/settings"
	if strings.HasPrefix(r.PostFormValue("next"), "/users") {
		next = "/users"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

type settingsData struct {
	Tokens    []store.Token
	NewToken  *newTokenData
	Errors    map[string]string
	TwoFactor secondFactorData
}

func (s *Server) settingsData(r *http.Request, p auth.Principal) (settingsData, error) {
	tokens, err := s.DB.ListTokens(r.Context(), p.ID)
	if err != nil {
		return settingsData{}, err
	}
	d := settingsData{}
	if d.TwoFactor.Registered, err = s.TwoFactor.Enabled(r.Context(), p.ID); err != nil {
		return d, err
	}
	if d.TwoFactor.Required, err = s.TwoFactor.RequiredFor(r.Context(), p.Role); err != nil {
		return d, err
	}
	for _, t := range tokens {
		if t.RevokedAt == nil {
			d.Tokens = append(d.Tokens, t)
		}
	}
	return d, nil
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.settingsData(r, p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "settings", "layout", d)
	return nil
}

// settingsLanguage keeps the signed-in user's language.
func (s *Server) settingsLanguage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	code := r.PostFormValue("lang")
	if code != "" && s.langs.byCode(code) == nil {
		return sms.Invalid("unknown language", sms.FieldError{Field: "lang", Message: "pt-BR or en", Value: code})
	}
	if err := s.DB.SetUserLocale(r.Context(), p.ID, code); err != nil {
		return err
	}
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
	return nil
}

// switchLanguage is the footer's language switch: the signed-in user's
// setting, or the session's choice before signing in.
func (s *Server) switchLanguage(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("lang")
	if s.langs.byCode(code) == nil {
		s.renderError(w, r, sms.Invalid("unknown language", sms.FieldError{Field: "lang", Message: "pt-BR or en", Value: code}))
		return
	}
	if p, ok := principalFrom(r.Context()); ok {
		if err := s.DB.SetUserLocale(r.Context(), p.ID, code); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.sessions.Put(r.Context(), sessLang, code)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// settingsPassword changes one's own password, proving the current one.
func (s *Server) settingsPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	d, err := s.settingsData(r, p)
	if err != nil {
		return err
	}
	if _, err := s.Accounts.CheckPassword(ctx, p.Username, r.PostFormValue("current")); err != nil {
		if sms.KindOf(err) != sms.KindUnauthorized {
			return err
		}
		d.Errors = map[string]string{"current": s.tr(r, "The current password is wrong.")}
		s.render(w, r, http.StatusUnprocessableEntity, "settings", "layout", d)
		return nil
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		d.Errors = map[string]string{"confirm": s.tr(r, "The two new passwords differ.")}
		s.render(w, r, http.StatusUnprocessableEntity, "settings", "layout", d)
		return nil
	}
	if _, err := s.Accounts.UpdateUser(ctx, p.ID, accounts.UserPatch{Password: &pw}); err != nil {
		if d.Errors = fieldErrors(err); d.Errors == nil {
			return err
		}
		s.render(w, r, http.StatusUnprocessableEntity, "settings", "layout", d)
		return nil
	}
	// Other sessions of this user keep going until they expire; this one
	// gets a new id.
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Password changed."))
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
	return nil
}

func (s *Server) settingsTokenCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	plain, _, err := s.Accounts.CreateToken(r.Context(), p.ID, name)
	if err != nil {
		return err
	}
	d, err := s.settingsData(r, p)
	if err != nil {
		return err
	}
	d.NewToken = &newTokenData{Username: p.Username, Name: name, Token: plain}
	s.render(w, r, http.StatusOK, "settings", "layout", d)
	return nil
}
