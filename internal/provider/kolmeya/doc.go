// Package kolmeya speaks to Kolmeya, the Brazilian SMS API that is Recado's
// first real provider, and adapts it to provider.Provider.
//
// It has three parts. Client covers every endpoint of the contract in
// shared/kolmeya/CONTRACT.md, typed, tolerant of what the contract does not
// pin down (unknown fields, numbers as strings, two shapes of one answer),
// paced by a per-account Limiter so that it slows down before Kolmeya's rate
// limit instead of hitting it. Provider turns Recado's batches into /sms/store
// and /sms/store-token requests and Kolmeya's answers into provider.Results,
// matched by reference. ParseWebhook reads the events Kolmeya posts back.
//
// Kolmeya's timestamps carry no zone and are São Paulo time; this package
// embeds the time zone database so that it reads them right on machines
// without one. The kolmeyatest package beside this one is a fake Kolmeya
// server, implementing the same contract, for tests, demos and benchmarks.
package kolmeya

import _ "time/tzdata" // São Paulo time on machines without a zoneinfo database
