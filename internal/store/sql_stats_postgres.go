package store

// postgresStatsQueries are the dashboard's aggregates as PostgreSQL says
// them.
var postgresStatsQueries = statsQueries{
	volumeByHour: `
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24') AS hour, direction, state, count(*),
       coalesce(sum(segments), 0), coalesce(sum(cost), 0)
FROM messages WHERE created_at >= $1 AND created_at < $2
GROUP BY hour, direction, state`,

	eventsFor: `SELECT message_id, state, at, source, detail FROM message_events
WHERE message_id = ANY (SELECT value::bigint FROM jsonb_array_elements_text($1::jsonb))
ORDER BY message_id, CASE state WHEN 'draft' THEN 0 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2 WHEN 'sent' THEN 3 ELSE 4 END, at`,

	changedSince: `SELECT max(updated_at) FROM messages
WHERE id = ANY (SELECT value::bigint FROM jsonb_array_elements_text($1::jsonb))`,

	tags: `SELECT DISTINCT t FROM contacts c, jsonb_array_elements_text(c.tags::jsonb) AS t ORDER BY 1 LIMIT $1`,

	contactIDsWithTag: `SELECT c.id FROM contacts c WHERE c.tags::jsonb ? $1 ORDER BY c.id LIMIT $2`,
}
