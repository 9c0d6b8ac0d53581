package store

// sqlitePollingQueries are the polling statements SQLite says its own way:
// bulk statements read their JSON array with json_each.
var sqlitePollingQueries = pollingQueries{
	// One row per polled job: [provider, job id, next poll, error, polls to add].
	recordPolls: `
INSERT INTO status_polls (provider, job_id, polled_at, next_poll_at, polls, last_error)
SELECT j.value->>0, j.value->>1, ?2, j.value->>2, j.value->>4, j.value->>3
FROM jsonb_each(?1) AS j WHERE true
ON CONFLICT (provider, job_id) DO UPDATE SET
    polled_at = excluded.polled_at, next_poll_at = excluded.next_poll_at,
    polls = status_polls.polls + excluded.polls, last_error = excluded.last_error`,

	// "+" keeps SQLite off the (provider, provider id) index, which would
	// walk every message of the provider; the state index finds the few in
	// flight.
	inFlightRefs: `SELECT reference FROM messages
WHERE state IN ('sent', 'sending') AND +provider = ?1 AND provider_job_id IN (SELECT value FROM json_each(?2))`,

	logBlacklist: `INSERT INTO blacklist_changes (phone, op, at)
SELECT j.value, ?2, ?3 FROM jsonb_each(?1) AS j ORDER BY j.key`,
}
