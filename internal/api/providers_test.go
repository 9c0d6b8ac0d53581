package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
)

// vaultType is a provider type with a secret setting, "token": a mock that
// requires it, so that tests can check secrets are kept without a real
// provider.
func vaultType() provider.Type {
	m := mock.Type()
	return provider.Type{
		Name:    "vault",
		Secrets: []string{"token"},
		Build: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			var settings map[string]json.RawMessage
			if err := json.Unmarshal(cfg.Settings, &settings); err != nil {
				return nil, err
			}
			if _, ok := settings["token"]; !ok {
				return nil, sms.Invalid("vault: token is required", sms.FieldError{Field: "token", Message: "is required"})
			}
			delete(settings, "token")
			cfg.Settings, _ = json.Marshal(settings)
			return m.Build(cfg, deps)
		},
	}
}

// checkHidden fails t if body shows any of secrets.
func checkHidden(t *testing.T, body []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(string(body), s) {
			t.Errorf("a secret is shown: %s", body)
		}
	}
}

func TestProviderSecretsAreNeverShown(t *testing.T) {
	s := apptest.New(t, apptest.WithProviderTypes(mock.Type(), vaultType()))
	_, op := s.Operator(t, "ana")
	const secret = "vault-secret-0123456789"

	res := s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/providers", Token: s.Token, Body: map[string]any{
		"name": "vault", "type": "vault", "settings": map[string]any{"token": secret, "cost_per_segment": "0.07"}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	checkHidden(t, res.Body, secret)

	check := func(t *testing.T, v providers.View, cost string) {
		t.Helper()
		if !slices.Equal(v.SecretsSet, []string{"token"}) {
			t.Errorf("secrets_set %v, want [token]", v.SecretsSet)
		}
		if _, ok := v.Settings["token"]; ok {
			t.Errorf("settings show the token: %v", v.Settings)
		}
		if v.Settings["cost_per_segment"] != cost || v.CostPerSegment != cost {
			t.Errorf("cost %v / %s, want %s", v.Settings["cost_per_segment"], v.CostPerSegment, cost)
		}
	}
	for _, token := range []string{s.Token, op} {
		status, body, _ := s.Do(t, http.MethodGet, "/api/v1/providers/vault", token, nil)
		if status != http.StatusOK {
			t.Fatalf("GET: %d %s", status, body)
		}
		checkHidden(t, body, secret)
		var v providers.View
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		check(t, v, "0.07")

		status, body, _ = s.Do(t, http.MethodGet, "/api/v1/providers", token, nil)
		if status != http.StatusOK {
			t.Fatalf("list: %d %s", status, body)
		}
		checkHidden(t, body, secret)
	}

	// A change that does not name the secret keeps it: the provider still
	// builds, which it would not without its token.
	v := apptest.JSON[providers.View](t, s, http.MethodPatch, "/api/v1/providers/vault", s.Token,
		map[string]any{"settings": map[string]any{"cost_per_segment": "0.08"}}, http.StatusOK)
	check(t, v, "0.08")
	// Removing it is refused by the type, and changes nothing.
	checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodPatch, Path: "/api/v1/providers/vault", Token: s.Token,
		Body: `{"settings": {"token": null}}`}), http.StatusUnprocessableEntity, "token")
	check(t, apptest.JSON[providers.View](t, s, http.MethodGet, "/api/v1/providers/vault", s.Token, nil, http.StatusOK), "0.08")

	// A message goes through it.
	m := apptest.JSON[messageList](t, s, http.MethodPost, "/api/v1/messages/batch", op, map[string]any{"messages": []map[string]any{
		{"to": "+55 11 90000-0001", "body": "via vault", "provider": "vault"}}}, http.StatusAccepted)
	if m.Messages[0].Provider != "vault" || m.Messages[0].Cost != "0.08" {
		t.Errorf("message via %s costing %s, want vault, 0.08", m.Messages[0].Provider, m.Messages[0].Cost)
	}
}

func TestMockSettingsRoundTrip(t *testing.T) {
	s := apptest.New(t)
	settings := map[string]any{"delivery_delay": "250ms", "send_latency": "0s", "max_batch": 10,
		"reject_prefixes": []any{"+5511999"}, "cost_per_segment": "0.06",
		"outcomes": map[string]any{"delivered": 90, "failed": 10, "rejected": 0, "expired": 0}}
	created := apptest.JSON[providers.View](t, s, http.MethodPost, "/api/v1/providers", s.Token,
		map[string]any{"name": "mock2", "type": "mock", "default": true, "settings": settings}, http.StatusCreated)
	got := apptest.JSON[providers.View](t, s, http.MethodGet, "/api/v1/providers/mock2", s.Token, nil, http.StatusOK)
	for _, v := range []providers.View{created, got} {
		want, _ := json.Marshal(settings)
		have, _ := json.Marshal(v.Settings)
		if string(want) != string(have) {
			t.Errorf("settings %s, want %s", have, want)
		}
		if !v.Default || v.CostPerSegment != "0.06" || len(v.SecretsSet) != 0 {
			t.Errorf("provider %+v, want default, cost 0.06, no secrets", v)
		}
	}
	// The new default takes the flag from the old one.
	if old := apptest.JSON[providers.View](t, s, http.MethodGet, "/api/v1/providers/mock", s.Token, nil, http.StatusOK); old.Default {
		t.Error("two default providers")
	}
	// A key given as null is removed.
	v := apptest.JSON[providers.View](t, s, http.MethodPatch, "/api/v1/providers/mock2", s.Token,
		json.RawMessage(`{"settings": {"reject_prefixes": null}}`), http.StatusOK)
	if _, ok := v.Settings["reject_prefixes"]; ok {
		t.Errorf("reject_prefixes still set: %v", v.Settings)
	}
}

// TestKolmeyaSecretsAreNeverShown runs when Recado ships the Kolmeya
// provider type.
func TestKolmeyaSecretsAreNeverShown(t *testing.T) {
	if !slices.ContainsFunc(app.BuiltinProviderTypes(), func(pt provider.Type) bool { return pt.Name == "kolmeya" }) {
		t.Skip("the kolmeya provider type is not built in")
	}
	s := apptest.New(t)
	const token, hook = "kolmeya-api-token-0123456789", "webhook-secret-0123456789"
	res := s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/providers", Token: s.Token, Body: map[string]any{
		"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
			"base_url": "http://127.0.0.1:1", "token": token, "webhook_secret": hook, "cost_per_segment": "0.07"}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	checkHidden(t, res.Body, token, hook)
	for _, path := range []string{"/api/v1/providers/kolmeya", "/api/v1/providers"} {
		status, body, _ := s.Do(t, http.MethodGet, path, s.Token, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		checkHidden(t, body, token, hook)
	}
	v := apptest.JSON[providers.View](t, s, http.MethodGet, "/api/v1/providers/kolmeya", s.Token, nil, http.StatusOK)
	if !slices.Equal(v.SecretsSet, []string{"token", "webhook_secret"}) {
		t.Errorf("secrets_set %v, want [token webhook_secret]", v.SecretsSet)
	}
}
