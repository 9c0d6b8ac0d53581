package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Session keys of a sign-in half done: the password was right, the second
// factor is still to come.
const (
	sess2FAUser  = "2fa_user"  // the user who gave the right password
	sess2FASince = "2fa_since" // when (Unix seconds): the step must follow within pendingFor
	sessNext     = "next"      // where to go once signed in
)

// pendingFor is how long the second step may take after the password.
const pendingFor = 10 * time.Minute

// startSecondFactor parks a sign-in whose password was right until the
// user gives a code (or, required to and not enrolled, enrols).
func (s *Server) startSecondFactor(w http.ResponseWriter, r *http.Request, u store.User, next string, enrolled bool) {
	ctx := r.Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.sessions.Put(ctx, sess2FAUser, u.ID)
	s.sessions.Put(ctx, sess2FASince, s.cfg.Now().Unix())
	s.sessions.Put(ctx, sessNext, next)
	s.sessions.Put(ctx, sessCSRF, newToken(s.cfg.Rand))
	if enrolled {
		http.Redirect(w, r, "/login/2fa", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login/2fa/setup", http.StatusSeeOther)
}

// pendingUser returns the user halfway through signing in, or false when
// there is none or it took too long.
func (s *Server) pendingUser(r *http.Request) (store.User, bool) {
	ctx := r.Context()
	id := s.sessions.GetInt64(ctx, sess2FAUser)
	since := s.sessions.GetInt64(ctx, sess2FASince)
	if id == 0 || s.cfg.Now().Sub(time.Unix(since, 0)) > pendingFor {
		return store.User{}, false
	}
	u, err := s.DB.GetUser(ctx, id)
	if err != nil || !u.Active {
		return store.User{}, false
	}
	return u, true
}

// finishSignIn makes the session a signed-in one.
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, u store.User) {
	ctx := r.Context()
	next := safeNext(s.sessions.PopString(ctx, sessNext))
	s.sessions.Remove(ctx, sess2FAUser)
	s.sessions.Remove(ctx, sess2FASince)
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.sessions.Put(ctx, sessUser, u.ID)
	s.sessions.Put(ctx, sessCSRF, newToken(s.cfg.Rand))
	if _, err := s.DB.Sessions().DeleteExpired(ctx); err != nil {
		s.Logger.Warn("web: sweep expired sessions", "err", err)
	}
	s.Logger.Info("web: signed in", "username", u.Username)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type secondFactorData struct {
	Error      string
	Enrolment  *accounts.Enrolment
	QR         template.URL
	Recovery   []string
	Next       string
	Required   bool
	Registered bool // settings: two-factor is on
}

func withQR(d *secondFactorData, e accounts.Enrolment) {
	d.Enrolment = &e
	d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG))
}

func (s *Server) secondFactorPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.pendingUser(r); !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login-2fa", "layout", secondFactorData{})
}

// secondFactor checks the code of a half-done sign-in, throttled per
// account as passwords are.
func (s *Server) secondFactor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, ok := s.pendingUser(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	key := "2fa:" + strconv.FormatInt(u.ID, 10)
	now := s.cfg.Now()
	f, err := s.DB.LoginFailures(ctx, key)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if wait, locked := s.cfg.AccountThrottle.Locked(toFailures(f), now); locked {
		w.Header().Set("Retry-After", itoa(int(wait.Seconds())+1))
		s.render(w, r, http.StatusTooManyRequests, "login-2fa", "layout",
			secondFactorData{Error: s.tr(r, "Too many failed sign-ins. Try again in %d minutes.", int(wait.Minutes())+1)})
		return
	}
	err = s.TwoFactor.Verify(ctx, u.ID, r.PostFormValue("code"))
	if err != nil {
		if sms.KindOf(err) != sms.KindUnauthorized {
			s.renderError(w, r, err)
			return
		}
		th := s.cfg.AccountThrottle
		if _, err := s.DB.UpdateLoginFailures(ctx, key, func(lf *store.LoginFailures) {
			af := toFailures(*lf)
			th.Fail(&af, now)
			lf.Failures, lf.WindowStart, lf.LockedUntil = af.Count, af.WindowStart, af.LockedUntil
		}); err != nil {
			s.renderError(w, r, err)
			return
		}
		s.Logger.Warn("web: second factor failed", "username", u.Username, "addr", s.clientAddr(r))
		s.render(w, r, http.StatusUnauthorized, "login-2fa", "layout", secondFactorData{Error: s.tr(r, "Wrong or already used code.")})
		return
	}
	if err := s.DB.ClearLoginFailures(ctx, key); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.finishSignIn(w, r, u)
}

// secondFactorSetupPage makes a manager who must use two factors, and has
// none yet, enrol before signing in.
func (s *Server) secondFactorSetupPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, ok := s.pendingUser(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	e, pending, err := s.TwoFactor.Pending(ctx, u)
	if err == nil && !pending {
		e, err = s.TwoFactor.Begin(ctx, u)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := secondFactorData{Required: true}
	withQR(&d, e)
	s.render(w, r, http.StatusOK, "login-2fa-setup", "layout", d)
}

func (s *Server) secondFactorSetup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, ok := s.pendingUser(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	codes, err := s.TwoFactor.Confirm(ctx, u.ID, r.PostFormValue("code"))
	if err != nil {
		if sms.KindOf(err) != sms.KindInvalid {
			s.renderError(w, r, err)
			return
		}
		d := secondFactorData{Required: true, Error: s.tr(r, "Wrong code. Check the app's clock and try the next one.")}
		if e, ok, perr := s.TwoFactor.Pending(ctx, u); perr == nil && ok {
			withQR(&d, e)
		}
		s.render(w, r, http.StatusUnprocessableEntity, "login-2fa-setup", "layout", d)
		return
	}
	// Signed in now; the recovery codes are shown this once, with the way on.
	next := safeNext(s.sessions.GetString(ctx, sessNext))
	s.sessions.Remove(ctx, sess2FAUser)
	s.sessions.Remove(ctx, sess2FASince)
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.sessions.Put(ctx, sessUser, u.ID)
	s.sessions.Put(ctx, sessCSRF, newToken(s.cfg.Rand))
	s.render(w, r, http.StatusOK, "login-2fa-setup", "layout", secondFactorData{Recovery: codes, Next: next})
}

// settingsTwoFactorBegin starts enrolment from one's own settings.
func (s *Server) settingsTwoFactorBegin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, _ := userFrom(r.Context())
	e, err := s.TwoFactor.Begin(r.Context(), u)
	if err != nil {
		return err
	}
	d, err := s.settingsData(r, p)
	if err != nil {
		return err
	}
	withQR(&d.TwoFactor, e)
	s.render(w, r, http.StatusOK, "settings", "layout", d)
	return nil
}

func (s *Server) settingsTwoFactorConfirm(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	codes, err := s.TwoFactor.Confirm(ctx, p.ID, r.PostFormValue("code"))
	d, derr := s.settingsData(r, p)
	if derr != nil {
		return derr
	}
	if err != nil {
		if sms.KindOf(err) != sms.KindInvalid {
			return err
		}
		u, _ := userFrom(ctx)
		if e, ok, perr := s.TwoFactor.Pending(ctx, u); perr == nil && ok {
			withQR(&d.TwoFactor, e)
		}
		d.TwoFactor.Error = s.tr(r, "Wrong code. Check the app's clock and try the next one.")
		s.render(w, r, http.StatusUnprocessableEntity, "settings", "layout", d)
		return nil
	}
	d.TwoFactor.Registered, d.TwoFactor.Recovery = true, codes
	s.render(w, r, http.StatusOK, "settings", "layout", d)
	return nil
}

// settingsTwoFactorDisable turns one's own two-factor sign-in off, with a
// current code as proof; managers cannot while it is required of them.
func (s *Server) settingsTwoFactorDisable(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	if req, err := s.TwoFactor.RequiredFor(ctx, p.Role); err != nil {
		return err
	} else if req {
		return sms.Errorf(sms.KindConflict, "two-factor sign-in is required for managers")
	}
	if err := s.TwoFactor.Verify(ctx, p.ID, r.PostFormValue("code")); err != nil {
		if sms.KindOf(err) != sms.KindUnauthorized {
			return err
		}
		d, derr := s.settingsData(r, p)
		if derr != nil {
			return derr
		}
		d.TwoFactor.Error = s.tr(r, "Wrong or already used code.")
		s.render(w, r, http.StatusUnprocessableEntity, "settings", "layout", d)
		return nil
	}
	if err := s.TwoFactor.Disable(ctx, p.ID); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Two-factor sign-in is off."))
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
	return nil
}

// userTwoFactorReset turns another user's two-factor sign-in off (a lost
// phone); they enrol again at their next sign-in when it is required.
func (s *Server) userTwoFactorReset(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := s.DB.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.TwoFactor.Disable(r.Context(), id); err != nil {
		return err
	}
	s.Logger.Info("web: two-factor reset", "username", u.Username, "by", p.Username)
	s.flash(w, r, s.tr(r, "Two-factor sign-in of %s reset.", u.Username))
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

// usersTwoFactorPolicy turns on or off the rule that managers sign in with
// two factors.
func (s *Server) usersTwoFactorPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	on := r.PostFormValue("require") == "1"
	if err := s.TwoFactor.RequireForManagers(r.Context(), on); err != nil {
		return err
	}
	if on {
		s.flash(w, r, s.tr(r, "Managers must now sign in with two factors; those without will enrol at their next sign-in."))
	} else {
		s.flash(w, r, s.tr(r, "Two-factor sign-in is now optional for managers."))
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}
