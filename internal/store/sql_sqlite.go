package store

// sqliteQueries are the statements that SQLite says its own way. Bulk
// statements take one JSON array argument and read it with json_each, so a
// batch of any size is one prepared statement; where each element is itself
// an array or object read with ->>, with jsonb_each, whose elements come as
// JSONB that ->> reads directly (json_each hands each one back as text that
// every ->> parses again: a third of the cost of a campaign's bulk inserts
// and updates went there). SQLite has no row locks: its
// single writer connection serialises transactions, so "lock" queries are
// plain selects.
var sqliteQueries = queries{
	insertMessages: `
INSERT INTO messages (contact_id, phone, body, reference, segments, encoding, cost, kind, direction, state,
                      provider, batch_id, campaign_id, template_id, created_by, created_at, updated_at)
SELECT coalesce(j.value->>0, (SELECT c.id FROM contacts c WHERE c.phone = j.value->>1)),
       j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6, j.value->>7,
       'outbound', ?3, ?4, ?5, ?6, ?7, ?8, ?2, ?2
FROM jsonb_each(?1) AS j
RETURNING id, reference, contact_id`,

	insertEvents: `
INSERT OR IGNORE INTO message_events (message_id, state, at, source, detail)
SELECT j.value->>'m', j.value->>'s', j.value->>'a', j.value->>'o', coalesce(j.value->>'d', '')
FROM jsonb_each(?1) AS j`,

	bumpContactStats: `
UPDATE contacts
SET sms_total = sms_total + ?2, sms_sent = sms_sent + ?3, sms_received = sms_received + ?4,
    last_sms_at = CASE WHEN ?2 + ?4 > 0 THEN ?5 ELSE last_sms_at END,
    updated_at = ?5
WHERE id IN (SELECT value FROM json_each(?1))`,

	saveMessages: `
UPDATE messages
SET state = j.value->>'state',
    provider_message_id = j.value->>'pmid',
    provider_job_id = j.value->>'pjid',
    error_code = j.value->>'ecode',
    error_text = j.value->>'etext',
    cost = j.value->>'cost',
    attempts = j.value->>'attempts',
    next_attempt_at = j.value->>'next',
    sent_at = j.value->>'sent',
    delivered_at = j.value->>'delivered',
    updated_at = j.value->>'updated'
FROM jsonb_each(?1) AS j
WHERE messages.id = j.value->>'id' AND +messages.state = j.value->>'from'`,

	lockBatchMessages: `SELECT ` + messageColumns + ` FROM messages
WHERE batch_id = ?1 AND state IN (SELECT value FROM json_each(?2)) ORDER BY id`,

	lockMessagesByRef: `SELECT ` + messageColumns + ` FROM messages
WHERE reference IN (SELECT value FROM json_each(?1))`,

	lockMessagesByProviderID: `SELECT ` + messageColumns + ` FROM messages
WHERE provider = ?1 AND provider_message_id IN (SELECT value FROM json_each(?2))`,

	lockMessage: `SELECT ` + messageColumns + ` FROM messages WHERE id = ?1`,

	messagesByRef: `SELECT ` + messageColumns + ` FROM messages
WHERE reference IN (SELECT value FROM json_each(?1))`,

	stateInJSON: `state IN (SELECT value FROM json_each($?))`,

	claimBatch: `
UPDATE send_batches SET attempts = attempts + 1, lease_until = ?2
WHERE id = ?1 AND (lease_until IS NULL OR lease_until < ?3)
RETURNING id, provider, reference, attempts, campaign_id`,

	searchContacts: `(name LIKE $? ESCAPE '\' OR phone LIKE $? ESCAPE '\')`,
	forUpdate:      ``,

	insertEventIDs: `INSERT OR IGNORE INTO message_events (message_id, state, at, source, detail)
SELECT j.value, ?2, ?3, ?4, ?5 FROM jsonb_each(?1) AS j`,

	recordSent: `
UPDATE messages
SET state = 'sent',
    provider_message_id = j.value->>1,
    provider_job_id = j.value->>2,
    cost = coalesce(j.value->>3, ?3 * segments),
    error_code = '', error_text = '',
    sent_at = coalesce(sent_at, ?2),
    updated_at = ?2
FROM jsonb_each(?1) AS j
-- "+" keeps SQLite from scanning the state index; each row is found by its
-- reference instead.
WHERE messages.reference = j.value->>0 AND +messages.state = 'sending'
RETURNING messages.id, messages.reference, messages.contact_id`,

	recordSentByID: `
UPDATE messages
SET state = 'sent',
    provider_message_id = j.value->>1,
    provider_job_id = j.value->>2,
    cost = coalesce(j.value->>3, ?3 * segments),
    error_code = '', error_text = '',
    sent_at = coalesce(sent_at, ?2),
    updated_at = ?2
FROM jsonb_each(?1) AS j
WHERE messages.id = j.value->>0 AND +messages.state = 'sending'
RETURNING messages.id, messages.reference, messages.contact_id`,

	recordDelivered: `
-- MATERIALIZED and CROSS JOIN make SQLite walk the reports and find each
-- message by the (provider, provider id) index ("+" keeps it off the state
-- index), instead of scanning every message of the provider or in "sent".
WITH x AS MATERIALIZED (
    SELECT m.id AS mid, j.value->>1 AS at
    FROM jsonb_each(?1) AS j CROSS JOIN messages AS m
    WHERE m.provider = ?2 AND m.provider_message_id = j.value->>0 AND +m.state = 'sent')
UPDATE messages
SET state = 'delivered', delivered_at = x.at, sent_at = coalesce(sent_at, x.at), updated_at = ?3
FROM x
WHERE messages.id = x.mid
RETURNING messages.id, messages.provider_message_id`,

	insertReplies: `
INSERT OR IGNORE INTO messages (provider, provider_message_id, phone, body, reference, segments, encoding,
                      created_at, updated_at, direction, kind, state, contact_id, reply_to, campaign_id)
SELECT x.provider, x.rid, x.phone, x.body, x.ref, x.segments, x.encoding, x.at, x.at,
       'inbound', 'marketing', 'received',
       (SELECT c.id FROM contacts c WHERE c.phone = x.phone),
       x.reply_to, (SELECT o.campaign_id FROM messages o WHERE o.id = x.reply_to)
FROM (SELECT j.value->>0 AS provider, j.value->>1 AS rid, j.value->>2 AS phone, j.value->>3 AS body,
             j.value->>4 AS ref, j.value->>5 AS segments, j.value->>6 AS encoding, j.value->>7 AS at,
             coalesce(
               (SELECT o.id FROM messages o WHERE o.provider = j.value->>0 AND o.provider_message_id = j.value->>8
                  AND o.direction = 'outbound' AND j.value->>8 <> ''),
               (SELECT o.id FROM messages o WHERE o.reference = j.value->>9 AND j.value->>9 <> ''),
               (SELECT o.id FROM messages o WHERE o.phone = j.value->>2 AND o.direction = 'outbound'
                  ORDER BY o.id DESC LIMIT 1)) AS reply_to
      FROM jsonb_each(?1) AS j) AS x
WHERE true
RETURNING id, reference, contact_id, reply_to, phone, body`,

	addBlacklist: `INSERT OR IGNORE INTO blacklist (phone, reason, source, created_by, created_at)
SELECT j.value, ?2, ?3, ?4, ?5 FROM jsonb_each(?1) AS j WHERE true
RETURNING phone`,

	optOut: `UPDATE contacts SET opted_out = TRUE, updated_at = ?2
WHERE phone IN (SELECT value FROM json_each(?1)) AND NOT opted_out
RETURNING id`,

	blacklisted: `SELECT phone FROM blacklist WHERE phone IN (SELECT value FROM json_each(?1))`,

	liveSendJobs: `SELECT json_extract(args, '$.batch_id'), state, attempted_at FROM river_job
WHERE kind = 'send_batch' AND state IN ('available', 'scheduled', 'retryable', 'pending', 'running')`,

	contactsForSend: `SELECT ` + contactColumns + ` FROM contacts
WHERE id IN (SELECT value FROM json_each(?1)) OR phone IN (SELECT value FROM json_each(?2))`,
}
