// Package chaos holds the fault tests of a whole Recado: a running Recado
// (the same wiring as `recado serve`) sends through the Kolmeya adapter to
// the fake Kolmeya while the fake misbehaves (5xx bursts, timeouts after
// accepting, 429 storms, slow and garbled answers, partial refusals,
// dropped, repeated and reordered webhooks), while the database goes away
// (PostgreSQL connections killed and refused for a while, SQLite locked by
// another writer), and while several instances share one PostgreSQL
// database. Each test checks the promises: every message ends in the state
// the provider gives it, the retry schedule is followed, nothing is sent
// twice and nothing is lost.
//
// The package has no code of its own besides its tests. The crash tests
// that kill a Recado process with SIGKILL live with the binary, in
// cmd/recado. docs/RELIABILITY.md lists every test and how to run it.
package chaos
