package providers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

const token = "kolmeya-token-that-must-never-be-stored-in-clear"

func raw(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

func TestSecretsAreSealedAtRestAndNeverShown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		reg := provider.NewRegistry(provider.Deps{})
		reg.Register(mock.Type())
		reg.Register(kolmeya.Type())
		box, err := secrets.NewBox([]byte(strings.Repeat("k", 32)), nil)
		if err != nil {
			t.Fatal(err)
		}
		s := providers.New(db, reg, box)
		v, err := s.Create(ctx, providers.Input{Name: "kolmeya", Type: "kolmeya", Settings: map[string]json.RawMessage{
			"token": raw(token), "webhook_secret": raw("webhook-secret-0123456789abcdef"),
			"segment_id": raw(109), "cost_per_segment": raw("0.07")}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(v.SecretsSet, ",") != "token,webhook_secret" || v.Settings["token"] != nil || v.CostPerSegment != "0.07" {
			t.Fatalf("view = %+v", v)
		}
		var settings, sealed string
		if err := db.Reader().QueryRow(`SELECT settings, secrets FROM providers WHERE name = 'kolmeya'`).Scan(&settings, &sealed); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(settings+sealed, token) || strings.Contains(settings+sealed, "webhook-secret") || !secrets.IsSealed(sealed) {
			t.Fatalf("a secret is stored in clear: settings %s, secrets %s", settings, sealed)
		}
		// An update without the secret keeps it; the live provider has it.
		if _, err := s.Update(ctx, "kolmeya", providers.Input{Settings: map[string]json.RawMessage{"segment_id": raw(110)}}); err != nil {
			t.Fatal(err)
		}
		p, rec, err := s.Get(ctx, "kolmeya")
		if err != nil {
			t.Fatal(err)
		}
		if rec.CostPerSegment != 700 || !p.(*kolmeya.Provider).VerifyWebhookSecret("webhook-secret-0123456789abcdef") {
			t.Fatalf("after update: cost %v, secret kept %v", rec.CostPerSegment, p.(*kolmeya.Provider).VerifyWebhookSecret("webhook-secret-0123456789abcdef"))
		}
		// Another key cannot open them: the providers fail clearly, not silently.
		other, _ := secrets.NewBox([]byte(strings.Repeat("x", 32)), nil)
		if _, _, err := providers.New(db, reg, other).Get(ctx, "kolmeya"); err == nil || !strings.Contains(err.Error(), "RECADO_SECRET_KEY") {
			t.Fatalf("wrong key: %v", err)
		}
		// Bad settings are refused and change nothing.
		for _, in := range []providers.Input{
			{Name: "Bad Name", Type: "mock"},
			{Name: "k2", Type: "nope"},
			{Name: "k3", Type: "kolmeya", Settings: map[string]json.RawMessage{"segment_id": raw(1)}}, // no token
			{Name: "k4", Type: "mock", Settings: map[string]json.RawMessage{"cost_per_segment": raw("abc")}},
		} {
			if _, err := s.Create(ctx, in); sms.KindOf(err) != sms.KindInvalid {
				t.Errorf("create %+v: %v, want invalid", in, err)
			}
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("providers after refusals = %d, %v", len(list), err)
		}
	})
}
