package web

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

type loginData struct {
	Username string
	Next     string
	Error    string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := principalFrom(r.Context()); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", "layout", loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks a username and password. Failures are counted per account
// and per client address; past the throttle's limit the sign-in is refused
// without checking the password at all, for the lockout's time.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	username := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	password := r.PostFormValue("password")
	data := loginData{Username: username, Next: safeNext(r.PostFormValue("next"))}
	if username == "" || password == "" || len(username) > 64 || len(password) > 1024 {
		data.Error = s.tr(r, "Enter your username and password.")
		s.render(w, r, http.StatusUnprocessableEntity, "login", "layout", data)
		return
	}
	now := s.cfg.Now()
	keys := []struct {
		key string
		th  auth.Throttle
	}{{"user:" + username, s.cfg.AccountThrottle}, {"addr:" + s.clientAddr(r), s.cfg.AddressThrottle}}
	for _, k := range keys {
		f, err := s.DB.LoginFailures(ctx, k.key)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if wait, locked := k.th.Locked(toFailures(f), now); locked {
			data.Error = s.tr(r, "Too many failed sign-ins. Try again in %d minutes.", int(wait.Minutes())+1)
			w.Header().Set("Retry-After", itoa(int(wait.Seconds())+1))
			s.render(w, r, http.StatusTooManyRequests, "login", "layout", data)
			return
		}
	}
	p, err := s.Accounts.CheckPassword(ctx, username, password)
	if err != nil {
		if sms.KindOf(err) != sms.KindUnauthorized {
			s.renderError(w, r, err)
			return
		}
		for _, k := range keys {
			th := k.th
			if _, err := s.DB.UpdateLoginFailures(ctx, k.key, func(f *store.LoginFailures) {
				af := toFailures(*f)
				th.Fail(&af, now)
				f.Failures, f.WindowStart, f.LockedUntil = af.Count, af.WindowStart, af.LockedUntil
			}); err != nil {
				s.renderError(w, r, err)
				return
			}
		}
		s.Logger.Warn("web: sign-in failed", "username", username, "addr", s.clientAddr(r))
		data.Error = s.tr(r, "Invalid username or password.")
		s.render(w, r, http.StatusUnauthorized, "login", "layout", data)
		return
	}
	if err := s.DB.ClearLoginFailures(ctx, keys[0].key); err != nil {
		s.renderError(w, r, err)
		return
	}
	u, err := s.DB.GetUser(ctx, p.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	enrolled, err := s.TwoFactor.Enabled(ctx, u.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	required, err := s.TwoFactor.RequiredFor(ctx, p.Role)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if enrolled || required {
		s.startSecondFactor(w, r, u, data.Next, enrolled)
		return
	}
	// A new session id at sign-in: one planted before (session fixation)
	// is worthless after.
	s.sessions.Put(ctx, sessNext, data.Next)
	s.finishSignIn(w, r, u)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func toFailures(f store.LoginFailures) auth.Failures {
	return auth.Failures{Count: f.Failures, WindowStart: f.WindowStart, LockedUntil: f.LockedUntil}
}

// clientAddr is the address a request came from, without its port. When
// it comes through a proxy the configuration trusts (Config.TrustedProxies),
// the address is the one that proxy saw, read from X-Forwarded-For: the
// rightmost address not itself a trusted proxy. Anything else in the header
// could be forged by the client and is ignored.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !s.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		if _, err := netip.ParseAddr(hop); err != nil {
			return host // garbled: the proxy's own address is all that is known
		}
		if !s.trusted(hop) {
			return hop
		}
	}
	return host
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// safeNext keeps a post-sign-in destination only when it is a path on this
// site, so that the sign-in page cannot send anyone elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(u.Path, "/login") {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
