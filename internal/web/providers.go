package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
)

type providersData struct {
	Providers []providers.View
}

func (s *Server) providersPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := s.Providers.List(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "providers", "layout", providersData{Providers: list})
	return nil
}

// providerForm is a provider's settings as its form carries them. Secret
// fields are never filled in: left empty, they keep their stored value.
type providerForm struct {
	Name, Type     string
	Active         bool
	Default        bool
	CostPerSegment string
	LowBalance     string // low_balance_threshold, for every type
	// Kolmeya.
	BaseURL          string
	Token            string
	SegmentID        string
	SMSAPIID         string
	WebhookSecret    string
	WebhookJWTSecret string
	// Other types: their settings as JSON.
	SettingsJSON string
}

func readProviderForm(r *http.Request) providerForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return providerForm{Name: v("name"), Type: v("type"), Active: v("active") != "", Default: v("default") != "",
		CostPerSegment: v("cost_per_segment"), LowBalance: v("low_balance_threshold"), BaseURL: v("base_url"), Token: v("token"), SegmentID: v("segment_id"),
		SMSAPIID: v("sms_api_id"), WebhookSecret: v("webhook_secret"), WebhookJWTSecret: v("webhook_jwt_secret"),
		SettingsJSON: v("settings_json")}
}

func providerFormOf(v providers.View) providerForm {
	f := providerForm{Name: v.Name, Type: v.Type, Active: v.Active, Default: v.Default, CostPerSegment: v.CostPerSegment}
	if v.LowBalanceThreshold != nil {
		f.LowBalance = *v.LowBalanceThreshold
	}
	str := func(k string) string {
		switch x := v.Settings[k].(type) {
		case string:
			return x
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case json.Number:
			return x.String()
		}
		return ""
	}
	if v.Type == "kolmeya" {
		f.BaseURL, f.SegmentID, f.SMSAPIID = str("base_url"), str("segment_id"), str("sms_api_id")
	} else {
		other := map[string]any{}
		for k, x := range v.Settings {
			if k != "cost_per_segment" && k != providers.SettingLowBalance {
				other[k] = x
			}
		}
		if len(other) > 0 {
			b, _ := json.MarshalIndent(other, "", "  ")
			f.SettingsJSON = string(b)
		}
	}
	return f
}

// input turns the form into a providers.Input: only what was filled in is
// set, so that an update keeps the secrets it was not given.
func (f providerForm) input(create bool) (providers.Input, map[string]string) {
	errs := map[string]string{}
	in := providers.Input{Name: f.Name, Type: f.Type, Active: &f.Active, Default: &f.Default, Settings: map[string]json.RawMessage{}}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		in.Settings[k] = b
	}
	if f.CostPerSegment != "" {
		if _, err := sms.ParseMoney(f.CostPerSegment); err != nil {
			errs["cost_per_segment"] = errText(err)
		}
		set("cost_per_segment", strings.Replace(f.CostPerSegment, ",", ".", 1))
	}
	if f.LowBalance != "" {
		if m, err := sms.ParseMoney(f.LowBalance); err != nil || m < 0 {
			errs["low_balance_threshold"] = "an amount in BRL of 0 or more, such as 100.00"
		}
		set(providers.SettingLowBalance, strings.Replace(f.LowBalance, ",", ".", 1))
	} else if !create {
		in.Settings[providers.SettingLowBalance] = json.RawMessage("null")
	}
	num := func(field, v string) {
		if v == "" {
			if !create {
				in.Settings[field] = json.RawMessage("null")
			}
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs[field] = "a whole number"
			return
		}
		set(field, n)
	}
	switch f.Type {
	case "kolmeya":
		if f.BaseURL != "" {
			set("base_url", f.BaseURL)
		} else if !create {
			in.Settings["base_url"] = json.RawMessage("null")
		}
		num("segment_id", f.SegmentID)
		num("sms_api_id", f.SMSAPIID)
		for k, v := range map[string]string{"token": f.Token, "webhook_secret": f.WebhookSecret, "webhook_jwt_secret": f.WebhookJWTSecret} {
			if v != "" {
				set(k, v)
			}
		}
	default:
		if f.SettingsJSON != "" {
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(f.SettingsJSON), &m); err != nil {
				errs["settings_json"] = "a JSON object: " + err.Error()
			}
			for k, v := range m {
				in.Settings[k] = v
			}
		}
	}
	return in, errs
}

type providerData struct {
	View        providers.View
	Form        providerForm
	Types       []string
	WebhookURL  string // managers only: it holds the secret
	CostCentres []kolmeya.Segment
	CentresErr  string
	Errors      map[string]string
	New         bool
}

func (s *Server) providerNewPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	typ := r.URL.Query().Get("type")
	if typ == "" {
		typ = "kolmeya"
	}
	d := providerData{New: true, Types: s.Providers.Types(),
		Form: providerForm{Type: typ, Active: true, CostPerSegment: "0.07", WebhookSecret: newToken(s.cfg.Rand)}}
	s.render(w, r, http.StatusOK, "provider", "layout", d)
	return nil
}

func (s *Server) providerCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := readProviderForm(r)
	in, errs := f.input(true)
	if len(errs) == 0 {
		v, err := s.Providers.Create(r.Context(), in)
		if err == nil {
			s.flash(w, r, s.tr(r, "Provider %s created.", v.Name))
			http.Redirect(w, r, "/providers/"+v.Name, http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	f.Token, f.WebhookJWTSecret = "", ""
	s.render(w, r, http.StatusUnprocessableEntity, "provider", "layout",
		providerData{New: true, Types: s.Providers.Types(), Form: f, Errors: errs})
	return nil
}

func (s *Server) providerData(ctx context.Context, name string, p auth.Principal) (providerData, error) {
	v, err := s.Providers.View(ctx, name)
	if err != nil {
		return providerData{}, err
	}
	d := providerData{View: v, Form: providerFormOf(v)}
	if !p.Can(auth.ProvidersWrite) {
		return d, nil
	}
	live, _, err := s.Providers.Lookup(ctx, name)
	if err != nil {
		d.CentresErr = errText(err)
		return d, nil
	}
	if wu, ok := live.(interface{ WebhookURL() string }); ok {
		d.WebhookURL = wu.WebhookURL()
	}
	if kp, ok := live.(*kolmeya.Provider); ok {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if d.CostCentres, err = kp.Client().Segments(cctx); err != nil {
			d.CentresErr = errText(err)
		}
	}
	return d, nil
}

func (s *Server) providerPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.providerData(r.Context(), r.PathValue("name"), p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "provider", "layout", d)
	return nil
}

func (s *Server) providerUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	name := r.PathValue("name")
	cur, err := s.Providers.View(ctx, name)
	if err != nil {
		return err
	}
	f := readProviderForm(r)
	f.Name, f.Type = name, cur.Type
	in, errs := f.input(false)
	in.Name, in.Type = "", ""
	if len(errs) == 0 {
		if _, err := s.Providers.Update(ctx, name, in); err == nil {
			s.flash(w, r, s.tr(r, "Provider %s saved.", name))
			http.Redirect(w, r, "/providers/"+name, http.StatusSeeOther)
			return nil
		} else if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	d, err := s.providerData(ctx, name, p)
	if err != nil {
		return err
	}
	f.Token, f.WebhookJWTSecret, f.WebhookSecret = "", "", ""
	d.Form, d.Errors = f, errs
	s.render(w, r, http.StatusUnprocessableEntity, "provider", "layout", d)
	return nil
}

// providerRotateSecret gives a Kolmeya provider a new webhook secret. The
// old URL stops working at once; requests sent from now on carry the new
// one. Paste it into Kolmeya's panel for its web campaigns.
func (s *Server) providerRotateSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("name")
	secret, _ := json.Marshal(newToken(s.cfg.Rand))
	if _, err := s.Providers.Update(r.Context(), name, providers.Input{Settings: map[string]json.RawMessage{"webhook_secret": secret}}); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "New webhook secret set: update the URL in Kolmeya's panel."))
	http.Redirect(w, r, "/providers/"+name, http.StatusSeeOther)
	return nil
}

// providerTest asks the provider for its balance: it proves the settings
// (token, address) work, and keeps the balance with its time (and checks
// it against the low-balance threshold), as the periodic check does.
func (s *Server) providerTest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("name")
	if _, err := s.Providers.View(r.Context(), name); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	bal, err := s.Dispatch.CheckBalance(cctx, name)
	switch {
	case err != nil && sms.KindOf(err) == sms.KindConflict:
		s.flash(w, r, s.tr(r, "This provider cannot tell its balance."))
	case err != nil:
		s.flash(w, r, s.tr(r, "Connection failed: %s", errText(err)))
	default:
		s.flash(w, r, s.tr(r, "Connection works. Balance: %s", formatMoney(bal, s.langFor(r).Code == "pt-BR")))
	}
	http.Redirect(w, r, "/providers/"+name, http.StatusSeeOther)
	return nil
}

// providerSyncBlacklist queues a push of the whole blacklist to the
// provider, for one configured after numbers were listed, or to repair it.
func (s *Server) providerSyncBlacklist(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("name")
	if err := s.Dispatch.RequestBlacklistSync(r.Context(), name, true); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "The whole blacklist will be pushed to %s in the background.", name))
	http.Redirect(w, r, "/providers/"+name, http.StatusSeeOther)
	return nil
}

func (s *Server) providerDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("name")
	if err := s.Providers.Delete(r.Context(), name); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Provider %s deleted.", name))
	http.Redirect(w, r, "/providers", http.StatusSeeOther)
	return nil
}
