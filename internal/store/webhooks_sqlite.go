package store

// sqliteWebhookQueries are the webhook statements SQLite says its own way:
// bulk statements read their JSON array with json_each, and an endpoint's
// events (a JSON array in a TEXT column) likewise. SQLite's single writer
// serialises claims, so claiming needs no row locks.
var sqliteWebhookQueries = webhookQueries{
	// The deliveries of the events SaveMessages and friends record: the same
	// JSON array insertEvents took, one row per announced event and
	// subscribed, active endpoint. A message's "sent" comes before its final
	// event, so that their ids keep the order they happened in.
	emitEvents: `
INSERT INTO webhook_deliveries (endpoint_id, message_id, event, at, detail, status, attempts, next_attempt_at, created_at)
SELECT ep.id, j.value->>'m', 'message.' || (j.value->>'s'), j.value->>'a', coalesce(j.value->>'d', ''),
       'pending', 0, ?2, ?2
FROM jsonb_each(?1) AS j CROSS JOIN webhook_endpoints AS ep
WHERE ep.active AND j.value->>'s' IN ('sent', 'delivered', 'failed', 'rejected', 'expired')
  AND EXISTS (SELECT 1 FROM json_each(ep.events) AS e WHERE e.value = 'message.' || (j.value->>'s'))
ORDER BY CASE j.value->>'s' WHEN 'sent' THEN 0 ELSE 1 END, j.value->>'m', ep.id`,

	// The deliveries of one event shared by every message in a JSON array of
	// ids (insertEventIDs): ?2 is the event type.
	emitEventIDs: `
INSERT INTO webhook_deliveries (endpoint_id, message_id, event, at, detail, status, attempts, next_attempt_at, created_at)
SELECT ep.id, j.value, ?2, ?3, ?4, 'pending', 0, ?5, ?5
FROM jsonb_each(?1) AS j CROSS JOIN webhook_endpoints AS ep
WHERE ep.active AND EXISTS (SELECT 1 FROM json_each(ep.events) AS e WHERE e.value = ?2)`,

	// Due deliveries of active endpoints whose message has no older delivery
	// still pending for the same endpoint, leased until ?2.
	claimDeliveries: `
UPDATE webhook_deliveries SET next_attempt_at = ?2
WHERE id IN (
    SELECT d.id FROM webhook_deliveries AS d JOIN webhook_endpoints AS ep ON ep.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND ep.active
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS o
                      WHERE o.message_id = d.message_id AND o.endpoint_id = d.endpoint_id
                        AND o.status = 'pending' AND o.id < d.id)
    ORDER BY d.next_attempt_at, d.id LIMIT ?3)
RETURNING ` + deliveryColumns,

	messagesByID: `SELECT ` + messageColumns + ` FROM messages WHERE id IN (SELECT value FROM json_each(?1))`,
}
