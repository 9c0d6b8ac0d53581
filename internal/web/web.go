package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/contacts"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/reports"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/templates"
)

// Deps are the services the UI calls: the same ones the REST API calls.
type Deps struct {
	DB        *store.DB
	Dispatch  *dispatch.Dispatcher
	Providers *providers.Service
	Accounts  *accounts.Service
	Contacts  *contacts.Service
	Templates *templates.Service
	TwoFactor *accounts.TwoFactor
	Logger    *slog.Logger

	// Campaigns at scale (issue 6): campaigns, contact imports, reports.
	Campaigns *campaign.Service
	Imports   *imports.Service
	Reports   *reports.Service
}

// Config tunes the UI. Zero fields take the defaults in parentheses.
type Config struct {
	// Location is where dates are shown (America/Sao_Paulo).
	Location *time.Location
	// SecureCookies marks the session cookie Secure: set it when Recado is
	// reached over HTTPS (its public URL is https).
	SecureCookies bool
	// PublicURL is Recado's public base URL, shown where providers need it.
	PublicURL string
	// Now is the clock (time.Now).
	Now func() time.Time
	// Rand is the source of CSRF tokens (crypto/rand).
	Rand io.Reader
	// OptOutWords are the replies that opt a contact out, to mark them in the
	// inbox (sms.DefaultOptOutWords).
	OptOutWords []string
	// LiveInterval is how often a live page (SSE) looks for changes (1 s).
	LiveInterval time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed, so that sign-in is throttled per real client address; none
	// by default.
	TrustedProxies []netip.Prefix
	// AccountThrottle and AddressThrottle limit password guessing
	// (auth.AccountThrottle, auth.AddressThrottle).
	AccountThrottle, AddressThrottle auth.Throttle
}

// Server is the web UI.
type Server struct {
	Deps
	cfg      Config
	sessions *scs.SessionManager
	pages    *pages
	static   *staticFiles
	langs    *languages
}

// New builds the UI. Its Handler serves every path that is not the API's.
func New(deps Deps, cfg Config) (*Server, error) {
	if cfg.Location == nil {
		loc, err := time.LoadLocation("America/Sao_Paulo")
		if err != nil {
			return nil, err
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.OptOutWords) == 0 {
		cfg.OptOutWords = sms.DefaultOptOutWords
	}
	if cfg.LiveInterval == 0 {
		cfg.LiveInterval = time.Second
	}
	if cfg.AccountThrottle.MaxFailures == 0 {
		cfg.AccountThrottle = auth.AccountThrottle()
	}
	if cfg.AddressThrottle.MaxFailures == 0 {
		cfg.AddressThrottle = auth.AddressThrottle()
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{Deps: deps, cfg: cfg}
	s.sessions = newSessions(deps.DB, cfg.SecureCookies)
	s.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.Logger.Error("web: session", "err", err)
		http.Error(w, "session unavailable; try again", http.StatusServiceUnavailable)
	}
	st, err := newStaticFiles()
	if err != nil {
		return nil, err
	}
	s.static = st
	if s.langs, err = loadLanguages(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(s.langs.list, s.funcs); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the UI's routes, wrapped with sessions, sign-in and CSRF
// checks.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = mux
	h = s.csrf(h)
	h = s.authenticate(h)
	h = s.sessions.LoadAndSave(h)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	h = cop.Handler(h)
	static := s.static.handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		if strings.HasPrefix(r.URL.Path, "/static/") {
			static.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
		h.ServeHTTP(w, r)
	})
}

// routes registers every page. Each handler checks its own permission (see
// page and action): the nav only hides what a user may not open.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /login/2fa", s.secondFactorPage)
	mux.HandleFunc("POST /login/2fa", s.secondFactor)
	mux.HandleFunc("GET /login/2fa/setup", s.secondFactorSetupPage)
	mux.HandleFunc("POST /login/2fa/setup", s.secondFactorSetup)

	mux.HandleFunc("GET /{$}", s.page(auth.MessagesRead, s.dashboard))
	mux.HandleFunc("GET /dashboard/chart/{name}", s.page(auth.MessagesRead, s.dashboardChart))

	mux.HandleFunc("GET /messages", s.page(auth.MessagesRead, s.messagesPage))
	mux.HandleFunc("GET /messages/export.csv", s.page(auth.MessagesRead, s.messagesExport))
	mux.HandleFunc("GET /messages/{id}", s.page(auth.MessagesRead, s.messagePage))
	mux.HandleFunc("GET /messages/{id}/live", s.page(auth.MessagesRead, s.messageLive))
	mux.HandleFunc("POST /messages/{id}/cancel", s.action(auth.MessagesWrite, s.messageCancel))
	mux.HandleFunc("POST /messages/{id}/resend", s.action(auth.MessagesWrite, s.messageResend))
	mux.HandleFunc("POST /messages/{id}/delete", s.action(auth.MessagesDelete, s.messageDelete))

	mux.HandleFunc("GET /contacts", s.page(auth.ContactsRead, s.contactsPage))
	mux.HandleFunc("GET /contacts/new", s.page(auth.ContactsWrite, s.contactNewPage))
	mux.HandleFunc("POST /contacts", s.action(auth.ContactsWrite, s.contactCreate))
	mux.HandleFunc("GET /contacts/{id}", s.page(auth.ContactsRead, s.contactPage))
	mux.HandleFunc("GET /contacts/{id}/edit", s.page(auth.ContactsWrite, s.contactEditPage))
	mux.HandleFunc("POST /contacts/{id}", s.action(auth.ContactsWrite, s.contactUpdate))
	mux.HandleFunc("POST /contacts/{id}/delete", s.action(auth.ContactsDelete, s.contactDelete))
	mux.HandleFunc("POST /contacts/{id}/send", s.action(auth.MessagesWrite, s.contactSend))
	mux.HandleFunc("GET /contacts/{id}/timeline", s.page(auth.ContactsRead, s.contactTimeline))
	mux.HandleFunc("GET /contacts/{id}/live", s.page(auth.ContactsRead, s.contactLive))

	mux.HandleFunc("GET /compose", s.page(auth.MessagesWrite, s.composePage))
	mux.HandleFunc("POST /compose/preview", s.action(auth.MessagesWrite, s.composePreview))
	mux.HandleFunc("GET /compose/contacts", s.page(auth.MessagesWrite, s.composeContacts))
	mux.HandleFunc("GET /compose/template", s.page(auth.MessagesWrite, s.composeTemplate))
	mux.HandleFunc("GET /compose/contacts/{id}", s.page(auth.MessagesWrite, s.composePick))
	mux.HandleFunc("POST /compose", s.action(auth.MessagesWrite, s.composeSend))

	mux.HandleFunc("GET /templates", s.page(auth.TemplatesRead, s.templatesPage))
	mux.HandleFunc("GET /templates/new", s.page(auth.TemplatesWrite, s.templateNewPage))
	mux.HandleFunc("POST /templates", s.action(auth.TemplatesWrite, s.templateCreate))
	mux.HandleFunc("POST /templates/preview", s.action(auth.TemplatesRead, s.templatePreviewFragment))
	mux.HandleFunc("GET /templates/{id}", s.page(auth.TemplatesRead, s.templatePage))
	mux.HandleFunc("POST /templates/{id}", s.action(auth.TemplatesWrite, s.templateUpdate))
	mux.HandleFunc("POST /templates/{id}/delete", s.action(auth.TemplatesWrite, s.templateDelete))

	mux.HandleFunc("GET /inbox", s.page(auth.MessagesRead, s.inboxPage))
	mux.HandleFunc("POST /inbox/{id}/read", s.action(auth.MessagesWrite, s.inboxRead))
	mux.HandleFunc("POST /inbox/{id}/reply", s.action(auth.MessagesWrite, s.inboxReply))

	mux.HandleFunc("GET /providers", s.page(auth.ProvidersRead, s.providersPage))
	mux.HandleFunc("GET /providers/new", s.page(auth.ProvidersWrite, s.providerNewPage))
	mux.HandleFunc("POST /providers", s.action(auth.ProvidersWrite, s.providerCreate))
	mux.HandleFunc("GET /providers/{name}", s.page(auth.ProvidersRead, s.providerPage))
	mux.HandleFunc("POST /providers/{name}", s.action(auth.ProvidersWrite, s.providerUpdate))
	mux.HandleFunc("POST /providers/{name}/rotate-secret", s.action(auth.ProvidersWrite, s.providerRotateSecret))
	mux.HandleFunc("POST /providers/{name}/test", s.action(auth.ProvidersRead, s.providerTest))
	mux.HandleFunc("POST /providers/{name}/delete", s.action(auth.ProvidersWrite, s.providerDelete))
	mux.HandleFunc("POST /providers/{name}/sync-blacklist", s.action(auth.ProvidersWrite, s.providerSyncBlacklist))

	mux.HandleFunc("GET /blacklist", s.page(auth.BlacklistRead, s.blacklistPage))
	mux.HandleFunc("POST /blacklist", s.action(auth.BlacklistWrite, s.blacklistAdd))
	mux.HandleFunc("POST /blacklist/import", s.action(auth.BlacklistWrite, s.blacklistImport))
	mux.HandleFunc("POST /blacklist/remove", s.action(auth.BlacklistWrite, s.blacklistRemove))

	mux.HandleFunc("GET /users", s.page(auth.UsersRead, s.usersPage))
	mux.HandleFunc("POST /users", s.action(auth.UsersWrite, s.userCreate))
	mux.HandleFunc("POST /users/{id}", s.action(auth.UsersWrite, s.userUpdate))
	mux.HandleFunc("POST /users/{id}/tokens", s.action(auth.UsersWrite, s.userTokenCreate))
	mux.HandleFunc("POST /users/{id}/2fa/reset", s.action(auth.UsersWrite, s.userTwoFactorReset))
	mux.HandleFunc("POST /users/2fa-policy", s.action(auth.UsersWrite, s.usersTwoFactorPolicy))
	mux.HandleFunc("POST /tokens/{id}/revoke", s.action(auth.TokensManage, s.tokenRevoke))

	mux.HandleFunc("GET /settings", s.page(auth.TokensManage, s.settingsPage))
	mux.HandleFunc("POST /settings/language", s.action(auth.TokensManage, s.settingsLanguage))
	mux.HandleFunc("POST /settings/password", s.action(auth.TokensManage, s.settingsPassword))
	mux.HandleFunc("POST /settings/tokens", s.action(auth.TokensManage, s.settingsTokenCreate))
	mux.HandleFunc("POST /settings/2fa/begin", s.action(auth.TokensManage, s.settingsTwoFactorBegin))
	mux.HandleFunc("POST /settings/2fa/confirm", s.action(auth.TokensManage, s.settingsTwoFactorConfirm))
	mux.HandleFunc("POST /settings/2fa/disable", s.action(auth.TokensManage, s.settingsTwoFactorDisable))
	mux.HandleFunc("POST /language", s.switchLanguage)

	// Campaigns at scale (issue 6): lists, saved filters (segments), contact
	// imports, campaigns and reports.
	mux.HandleFunc("GET /lists", s.page(auth.ContactsRead, s.listsPage))
	mux.HandleFunc("POST /lists", s.action(auth.ContactsWrite, s.listCreate))
	mux.HandleFunc("GET /lists/{id}", s.page(auth.ContactsRead, s.listPage))
	mux.HandleFunc("POST /lists/{id}", s.action(auth.ContactsWrite, s.listUpdate))
	mux.HandleFunc("POST /lists/{id}/delete", s.action(auth.ContactsDelete, s.listDelete))
	mux.HandleFunc("GET /lists/{id}/find", s.page(auth.ContactsWrite, s.listFind))
	mux.HandleFunc("GET /lists/{id}/pick/{contact}", s.page(auth.ContactsWrite, s.listPick))
	mux.HandleFunc("POST /lists/{id}/members", s.action(auth.ContactsWrite, s.listAddMembers))
	mux.HandleFunc("POST /lists/{id}/members/remove", s.action(auth.ContactsWrite, s.listRemoveMembers))
	mux.HandleFunc("POST /lists/{id}/members/from", s.action(auth.ContactsWrite, s.listAddFrom))

	mux.HandleFunc("GET /segments", s.page(auth.ContactsRead, s.segmentsPage))
	mux.HandleFunc("GET /segments/new", s.page(auth.ContactsWrite, s.segmentNewPage))
	mux.HandleFunc("POST /segments", s.action(auth.ContactsWrite, s.segmentCreate))
	mux.HandleFunc("POST /segments/conditions", s.action(auth.ContactsRead, s.segmentConditions))
	mux.HandleFunc("POST /segments/count", s.action(auth.ContactsRead, s.segmentCount))
	mux.HandleFunc("GET /segments/{id}", s.page(auth.ContactsRead, s.segmentPage))
	mux.HandleFunc("POST /segments/{id}", s.action(auth.ContactsWrite, s.segmentUpdate))
	mux.HandleFunc("POST /segments/{id}/delete", s.action(auth.ContactsDelete, s.segmentDelete))

	mux.HandleFunc("GET /imports", s.page(auth.ContactsRead, s.importsPage))
	mux.HandleFunc("POST /imports", s.action(auth.ContactsWrite, s.importUpload))
	mux.HandleFunc("GET /imports/{id}", s.page(auth.ContactsRead, s.importPage))
	mux.HandleFunc("GET /imports/{id}/live", s.page(auth.ContactsRead, s.importLive))
	mux.HandleFunc("GET /imports/{id}/rejected.csv", s.page(auth.ContactsRead, s.importRejected))
	mux.HandleFunc("POST /imports/{id}/start", s.action(auth.ContactsWrite, s.importStart))
	mux.HandleFunc("POST /imports/{id}/discard", s.action(auth.ContactsWrite, s.importDiscard))

	mux.HandleFunc("GET /campaigns", s.page(auth.CampaignsRead, s.campaignsPage))
	mux.HandleFunc("GET /campaigns/new", s.page(auth.CampaignsWrite, s.campaignNewPage))
	mux.HandleFunc("POST /campaigns", s.action(auth.CampaignsWrite, s.campaignCreate))
	mux.HandleFunc("POST /campaigns/preview", s.action(auth.CampaignsRead, s.campaignPreview))
	mux.HandleFunc("GET /campaigns/template", s.page(auth.CampaignsWrite, s.campaignTemplate))
	mux.HandleFunc("GET /campaigns/window", s.page(auth.CampaignsWrite, s.campaignWindowDefaults))
	mux.HandleFunc("GET /campaigns/{id}", s.page(auth.CampaignsRead, s.campaignPage))
	mux.HandleFunc("GET /campaigns/{id}/edit", s.page(auth.CampaignsWrite, s.campaignEditPage))
	mux.HandleFunc("POST /campaigns/{id}", s.action(auth.CampaignsWrite, s.campaignUpdate))
	mux.HandleFunc("GET /campaigns/{id}/dry-run", s.page(auth.CampaignsRead, s.campaignDryRun))
	mux.HandleFunc("GET /campaigns/{id}/live", s.page(auth.CampaignsRead, s.campaignLive))
	mux.HandleFunc("GET /campaigns/{id}/chart", s.page(auth.CampaignsRead, s.campaignChart))
	mux.HandleFunc("POST /campaigns/{id}/start", s.action(auth.CampaignsWrite, s.campaignStart))
	mux.HandleFunc("POST /campaigns/{id}/pause", s.action(auth.CampaignsWrite, s.campaignPause))
	mux.HandleFunc("POST /campaigns/{id}/resume", s.action(auth.CampaignsWrite, s.campaignResume))
	mux.HandleFunc("POST /campaigns/{id}/cancel", s.action(auth.CampaignsWrite, s.campaignCancel))
	mux.HandleFunc("POST /campaigns/{id}/delete", s.action(auth.CampaignsWrite, s.campaignDelete))

	mux.HandleFunc("GET /reports", s.page(auth.ReportsRead, s.reportsPage))
	mux.HandleFunc("GET /reports/export.csv", s.page(auth.ReportsRead, s.reportsExport))
	mux.HandleFunc("GET /reports/costs", s.page(auth.ReportsRead, s.costsPage))
	mux.HandleFunc("GET /reports/reconcile", s.page(auth.ReportsRead, s.reconcilePage))
	mux.HandleFunc("POST /reports/reconcile", s.action(auth.ReportsRead, s.reconcile))

	mux.HandleFunc("/", s.notFound)
}

// handlerFunc is a page or action: it returns an error to be shown instead of
// writing one itself.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// page wraps a handler that needs the signed-in user to hold perm. A visitor
// who is not signed in is sent to the sign-in page, and brought back after.
func (s *Server) page(perm auth.Permission, h handlerFunc) http.HandlerFunc {
	return s.guard(perm, h, true)
}

// action is page for requests that change something: an anonymous one is
// refused (401) instead of redirected, since a form cannot be replayed after
// signing in.
func (s *Server) action(perm auth.Permission, h handlerFunc) http.HandlerFunc {
	return s.guard(perm, h, false)
}

func (s *Server) guard(perm auth.Permission, h handlerFunc, redirect bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := principalFrom(r.Context())
		if !ok {
			if redirect {
				s.redirectToLogin(w, r)
				return
			}
			s.renderError(w, r, sms.Errorf(sms.KindUnauthorized, "sign in first"))
			return
		}
		if err := p.Require(perm); err != nil {
			s.renderError(w, r, err)
			return
		}
		if err := h(w, r, p); err != nil {
			s.renderError(w, r, err)
		}
	}
}

func (s *Server) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", "/login")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/login?next="+urlQueryEscape(next), http.StatusSeeOther)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, sms.Errorf(sms.KindNotFound, "page not found"))
}

// renderError shows err as a page (or, for htmx, a fragment) with the status
// its kind maps to. Internal errors are logged and shown without their text.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	kind := sms.KindOf(err)
	status := sms.Kinds[kind].Status
	msg := errText(err)
	if kind == sms.KindInternal || kind == sms.KindUnavailable {
		if !errors.Is(err, context.Canceled) {
			s.Logger.Error("web: request failed", "path", r.URL.Path, "err", err)
		}
		msg = ""
	}
	s.render(w, r, status, "error", "error", map[string]any{"Status": status, "Kind": kind.String(), "Message": msg})
}

// errText is the user-facing text of an error from below.
func errText(err error) string {
	var e *sms.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

func asSMSError(err error, target **sms.Error) bool { return errors.As(err, target) }
