package dispatch

import (
	"context"
	"time"

	"github.com/recado-sms/recado/internal/metrics"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
)

// Balances are checked every BalanceEvery for each active provider that can
// tell its balance (provider.BalanceChecker), and on demand (CheckBalance,
// POST /api/v1/providers/{name}/balance). The balance is kept on the
// provider's record with its time; the metrics read it from there
// (ProviderBalances), so every instance shows the same figures. A provider
// whose settings hold a low_balance_threshold counts as low below it: the
// metric recado_provider_balance_low is 1 and a warning is logged when a
// check finds the balance has crossed below it.

// CheckBalance asks provider name for its balance now and stores it. A
// provider that cannot tell its balance is a conflict; a failing one is
// noted on its record and its error returned.
func (d *Dispatcher) CheckBalance(ctx context.Context, name string) (sms.Money, error) {
	p, rec, err := d.providers.Lookup(ctx, name)
	if err != nil {
		return 0, err
	}
	bc, ok := p.(provider.BalanceChecker)
	if !ok {
		return 0, sms.Errorf(sms.KindConflict, "provider %q cannot tell its balance", name)
	}
	start := time.Now()
	bal, err := bc.Balance(ctx)
	d.metrics.ProviderCall(name, "balance", time.Since(start))
	now := d.cfg.Now()
	if err != nil {
		d.metrics.Background(name, "balance", "error")
		if serr := d.db.SetBalanceError(ctx, name, err.Error(), now); serr != nil {
			return 0, serr
		}
		return 0, err
	}
	if err := d.db.SetBalance(ctx, name, bal, now); err != nil {
		return 0, err
	}
	d.metrics.Background(name, "balance", "ok")
	wasLow := providers.BalanceLow(rec)
	rec.Balance = &bal
	if threshold, set := providers.LowBalanceThreshold(rec); set {
		switch isLow := providers.BalanceLow(rec); {
		case isLow && !wasLow:
			d.log.Warn("provider balance fell below its low_balance_threshold", "provider", name,
				"balance", bal.BRL(), "threshold", threshold.BRL())
		case !isLow && wasLow:
			d.log.Info("provider balance is back above its low_balance_threshold", "provider", name,
				"balance", bal.BRL(), "threshold", threshold.BRL())
		}
	}
	return bal, nil
}

// CheckBalances checks the balance of every active provider that can tell
// it. A provider that fails is logged and noted on its record; only a
// failure of Recado's database is returned.
func (d *Dispatcher) CheckBalances(ctx context.Context) error {
	recs, err := d.db.ListProviderRecords(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if !rec.Active {
			continue
		}
		p, _, err := d.providers.Lookup(ctx, rec.Name)
		if err != nil {
			d.log.Warn("balance check: provider unavailable", "provider", rec.Name, "err", err)
			continue
		}
		if _, ok := p.(provider.BalanceChecker); !ok {
			continue
		}
		if _, err := d.CheckBalance(ctx, rec.Name); err != nil {
			if sms.KindOf(err) == sms.KindUnavailable || ctx.Err() != nil {
				return err
			}
			d.log.Warn("balance check failed", "provider", rec.Name, "err", err)
		}
	}
	return nil
}

// ProviderBalances returns the last known balance of each provider that has
// one, for the metrics (metrics.BalanceSource).
func (d *Dispatcher) ProviderBalances(ctx context.Context) ([]metrics.Balance, error) {
	recs, err := d.db.ListProviderRecords(ctx)
	if err != nil {
		return nil, err
	}
	var out []metrics.Balance
	for _, rec := range recs {
		if rec.Balance == nil {
			continue
		}
		b := metrics.Balance{Provider: rec.Name, BRL: brl(*rec.Balance), Low: providers.BalanceLow(rec)}
		if rec.BalanceAt != nil {
			b.CheckedAt = *rec.BalanceAt
		}
		if t, ok := providers.LowBalanceThreshold(rec); ok {
			f := brl(t)
			b.Threshold = &f
		}
		out = append(out, b)
	}
	return out, nil
}

// brl is an amount in reais as a float, for metrics only.
func brl(m sms.Money) float64 { return float64(m) / sms.MoneyScale }
