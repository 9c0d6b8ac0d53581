package store

// postgresPollingQueries are the polling statements PostgreSQL says its own
// way: bulk statements read their JSON array with json_array_elements.
var postgresPollingQueries = pollingQueries{
	// One row per polled job: [provider, job id, next poll, error, polls to add].
	recordPolls: `
INSERT INTO status_polls (provider, job_id, polled_at, next_poll_at, polls, last_error)
SELECT j->>0, j->>1, $2, (j->>2)::timestamptz, (j->>4)::bigint, j->>3
FROM json_array_elements($1::json) AS j
ON CONFLICT (provider, job_id) DO UPDATE SET
    polled_at = excluded.polled_at, next_poll_at = excluded.next_poll_at,
    polls = status_polls.polls + excluded.polls, last_error = excluded.last_error`,

	inFlightRefs: `SELECT reference FROM messages
WHERE state IN ('sent', 'sending') AND provider = $1 AND provider_job_id IN (SELECT json_array_elements_text($2::json))`,

	logBlacklist: `INSERT INTO blacklist_changes (phone, op, at)
SELECT j, $2, $3 FROM json_array_elements_text($1::json) WITH ORDINALITY AS x(j, n) ORDER BY n`,
}
