// Package bench measures Recado end to end, as `recado bench` runs it: it
// starts a fake Kolmeya and a whole Recado in this process on loopback
// (SQLite in a temporary folder, or an empty PostgreSQL database), then runs
// named scenarios against them over real HTTP and reports, for each, the
// throughput, the p50/p99 latency of its requests, the CPU seconds the
// process spent (getrusage) and its peak memory (Go heap and resident set).
//
// A scenario is one Scenario value: a name, a default size and a Run
// function that drives the Env it is given and records each request's
// latency. Builtin lists the scenarios `recado bench` knows (send,
// webhooks, api, campaign); a new one is one more entry there.
//
// Figures are for the whole process: Recado, the fake Kolmeya and the load
// generator share the CPU seconds and the memory, as they share the
// machine's cores. PostgreSQL's own CPU is not counted. The campaign
// scenario's Kolmeya keeps only a count per recipient, so that its peak
// memory is Recado's rather than the fake's record of every message.
package bench
