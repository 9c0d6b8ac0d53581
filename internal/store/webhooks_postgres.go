package store

// postgresWebhookQueries are the webhook statements PostgreSQL says its own
// way: bulk statements read their JSON array with json_to_recordset, an
// endpoint's events are matched as jsonb, and claims skip the rows another
// instance is claiming (FOR UPDATE SKIP LOCKED), so that several instances
// share the work without waiting on each other or taking a delivery twice.
var postgresWebhookQueries = webhookQueries{
	// The deliveries of the events SaveMessages and friends record: the same
	// JSON array insertEvents took, one row per announced event and
	// subscribed, active endpoint. A message's "sent" comes before its final
	// event, so that their ids keep the order they happened in.
	emitEvents: `
INSERT INTO webhook_deliveries (endpoint_id, message_id, event, at, detail, status, attempts, next_attempt_at, created_at)
SELECT ep.id, j.m, 'message.' || j.s, j.a, coalesce(j.d, ''), 'pending', 0, $2, $2
FROM json_to_recordset($1::json) AS j(m bigint, s text, a timestamptz, d text) CROSS JOIN webhook_endpoints AS ep
WHERE ep.active AND j.s IN ('sent', 'delivered', 'failed', 'rejected', 'expired')
  AND ep.events::jsonb @> jsonb_build_array('message.' || j.s)
ORDER BY CASE j.s WHEN 'sent' THEN 0 ELSE 1 END, j.m, ep.id`,

	// The deliveries of one event shared by every message in a JSON array of
	// ids (insertEventIDs): $2 is the event type.
	emitEventIDs: `
INSERT INTO webhook_deliveries (endpoint_id, message_id, event, at, detail, status, attempts, next_attempt_at, created_at)
SELECT ep.id, j::bigint, $2, $3, $4, 'pending', 0, $5, $5
FROM json_array_elements_text($1::json) AS j CROSS JOIN webhook_endpoints AS ep
WHERE ep.active AND ep.events::jsonb @> jsonb_build_array($2::text)`,

	// Due deliveries of active endpoints whose message has no older delivery
	// still pending for the same endpoint, leased until $2.
	claimDeliveries: `
UPDATE webhook_deliveries SET next_attempt_at = $2
WHERE id IN (
    SELECT d.id FROM webhook_deliveries AS d JOIN webhook_endpoints AS ep ON ep.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND ep.active
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS o
                      WHERE o.message_id = d.message_id AND o.endpoint_id = d.endpoint_id
                        AND o.status = 'pending' AND o.id < d.id)
    ORDER BY d.next_attempt_at, d.id LIMIT $3
    FOR UPDATE OF d SKIP LOCKED)
RETURNING ` + deliveryColumns,

	messagesByID: `SELECT ` + messageColumns + ` FROM messages WHERE id IN (SELECT json_array_elements_text($1::json)::bigint)`,
}
