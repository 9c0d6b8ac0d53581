package providers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestLowBalanceThreshold: the threshold is a setting of every type, kept
// with the settings, checked by Recado, never shown to the type (whose own
// settings refuse unknown keys), and read back with the balance.
func TestLowBalanceThreshold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		reg := provider.NewRegistry(provider.Deps{})
		reg.Register(mock.Type())
		reg.Register(kolmeya.Type())
		box, _ := secrets.NewBox([]byte(strings.Repeat("k", 32)), nil)
		s := providers.New(db, reg, box)
		for _, bad := range []json.RawMessage{raw("muito"), raw("-1"), raw(true), raw("1.23456")} {
			_, err := s.Create(ctx, providers.Input{Name: "m", Type: "mock", Settings: map[string]json.RawMessage{providers.SettingLowBalance: bad}})
			if sms.KindOf(err) != sms.KindInvalid || !strings.Contains(err.Error(), providers.SettingLowBalance) {
				t.Errorf("threshold %s: %v, want invalid", bad, err)
			}
		}
		for _, typ := range []string{"mock", "kolmeya"} {
			settings := map[string]json.RawMessage{providers.SettingLowBalance: raw(100.5)}
			if typ == "kolmeya" {
				settings["token"] = raw("kolmeya-token-fake")
			}
			v, err := s.Create(ctx, providers.Input{Name: typ, Type: typ, Settings: settings})
			if err != nil {
				t.Fatalf("%s with a threshold: %v", typ, err)
			}
			if v.LowBalanceThreshold == nil || *v.LowBalanceThreshold != "100.50" || v.BalanceLow {
				t.Errorf("%s: threshold %v, low %v", typ, v.LowBalanceThreshold, v.BalanceLow)
			}
			if _, _, err := s.Get(ctx, typ); err != nil {
				t.Fatalf("%s: the live provider: %v", typ, err)
			}
			if err := db.SetBalance(ctx, typ, 100*sms.MoneyScale, time.Now()); err != nil {
				t.Fatal(err)
			}
			v, _ = s.View(ctx, typ)
			if v.Balance == nil || *v.Balance != "100.00" || !v.BalanceLow {
				t.Errorf("%s at R$ 100,00: balance %v, low %v", typ, v.Balance, v.BalanceLow)
			}
		}
		// Kolmeya keeps a blacklist; the mock does not. Neither has seen a
		// rate limit yet.
		list, err := s.List(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("list: %v, %v", list, err)
		}
		for _, v := range list {
			if v.Sync == nil || (v.Sync.Blacklist != nil) != (v.Name == "kolmeya") || v.RateLimit != nil {
				t.Errorf("%s: sync %+v, rate limit %+v", v.Name, v.Sync, v.RateLimit)
			}
		}
		// Removing the threshold removes the flag.
		if v, err := s.Update(ctx, "mock", providers.Input{Settings: map[string]json.RawMessage{providers.SettingLowBalance: raw(nil)}}); err != nil || v.LowBalanceThreshold != nil || v.BalanceLow {
			t.Fatalf("without a threshold: %+v, %v", v, err)
		}
	})
}
