package store

// sqliteStatsQueries are the dashboard's aggregates as SQLite says them.
// Times are stored in UTC as text ("2026-11-26 10:53:34.1+00:00"), so the
// hour is the text's first 13 characters.
var sqliteStatsQueries = statsQueries{
	volumeByHour: `
SELECT substr(created_at, 1, 13) AS hour, direction, state, count(*), coalesce(sum(segments), 0), coalesce(sum(cost), 0)
FROM messages WHERE created_at >= ?1 AND created_at < ?2
GROUP BY hour, direction, state`,

	eventsFor: `SELECT message_id, state, at, source, detail FROM message_events
WHERE message_id IN (SELECT value FROM json_each(?1))
ORDER BY message_id, CASE state WHEN 'draft' THEN 0 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2 WHEN 'sent' THEN 3 ELSE 4 END, at`,

	changedSince: `SELECT max(updated_at) FROM messages WHERE id IN (SELECT value FROM json_each(?1))`,

	tags: `SELECT DISTINCT j.value FROM contacts c, json_each(c.tags) AS j ORDER BY 1 LIMIT ?1`,

	contactIDsWithTag: `SELECT c.id FROM contacts c
WHERE EXISTS (SELECT 1 FROM json_each(c.tags) AS j WHERE j.value = ?1) ORDER BY c.id LIMIT ?2`,
}
