package store

// postgresQueries are the statements that PostgreSQL says its own way. Bulk
// statements take one JSON array argument and read it with
// json_to_recordset, except those of the send path, which take a typed array
// per column (Dialect.columnar) and read them with unnest: no JSON to parse,
// no text to cast, per row. "Lock" queries take row locks with FOR UPDATE, so
// that several Recado instances never apply two changes to one message at once.
var postgresQueries = queries{
	insertMessages: `
INSERT INTO messages (contact_id, phone, body, reference, segments, encoding, cost, kind, direction, state,
                      provider, batch_id, campaign_id, template_id, created_by, created_at, updated_at)
SELECT coalesce(r.contact, (SELECT c.id FROM contacts c WHERE c.phone = r.phone)),
       r.phone, r.body, r.ref, r.segments, r.encoding, r.cost, r.kind,
       'outbound', $10, $11, $12, $13, $14, $15, $9, $9
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::text[])
     AS r(contact, phone, body, ref, segments, encoding, cost, kind)
RETURNING id, reference, contact_id`,

	insertEvents: `
INSERT INTO message_events (message_id, state, at, source, detail)
SELECT j.m, j.s, j.a, j.o, coalesce(j.d, '')
FROM json_to_recordset($1::json) AS j(m bigint, s text, a timestamptz, o text, d text)
ON CONFLICT DO NOTHING`,

	bumpContactStats: `
UPDATE contacts
SET sms_total = sms_total + $2, sms_sent = sms_sent + $3, sms_received = sms_received + $4,
    last_sms_at = CASE WHEN $2 + $4 > 0 THEN $5::timestamptz ELSE last_sms_at END,
    updated_at = $5
WHERE id = ANY($1::bigint[])`,

	saveMessages: `
UPDATE messages
SET state = j.state,
    provider_message_id = j.pmid,
    provider_job_id = j.pjid,
    error_code = j.ecode,
    error_text = j.etext,
    cost = j.cost,
    attempts = j.attempts,
    next_attempt_at = j.next,
    sent_at = j.sent,
    delivered_at = j.delivered,
    updated_at = j.updated
FROM json_to_recordset($1::json) AS j(id bigint, "from" text, state text, pmid text, pjid text,
     ecode text, etext text, cost bigint, attempts int, next timestamptz, sent timestamptz,
     delivered timestamptz, updated timestamptz)
WHERE messages.id = j.id AND messages.state = j."from"`,

	lockBatchMessages: `SELECT ` + messageColumns + ` FROM messages
WHERE batch_id = $1 AND state IN (SELECT json_array_elements_text($2::json)) ORDER BY id FOR UPDATE`,

	lockMessagesByRef: `SELECT ` + messageColumns + ` FROM messages
WHERE reference IN (SELECT json_array_elements_text($1::json)) ORDER BY id FOR UPDATE`,

	lockMessagesByProviderID: `SELECT ` + messageColumns + ` FROM messages
WHERE provider = $1 AND provider_message_id IN (SELECT json_array_elements_text($2::json)) ORDER BY id FOR UPDATE`,

	lockMessage: `SELECT ` + messageColumns + ` FROM messages WHERE id = $1 FOR UPDATE`,

	messagesByRef: `SELECT ` + messageColumns + ` FROM messages
WHERE reference IN (SELECT json_array_elements_text($1::json))`,

	stateInJSON: `state IN (SELECT json_array_elements_text($?::json))`,

	claimBatch: `
UPDATE send_batches SET attempts = attempts + 1, lease_until = $2
WHERE id = $1 AND (lease_until IS NULL OR lease_until < $3)
RETURNING id, provider, reference, attempts, campaign_id`,

	searchContacts: `(name ILIKE $? OR phone LIKE $?)`,
	forUpdate:      ` FOR UPDATE`,

	insertEventIDs: `INSERT INTO message_events (message_id, state, at, source, detail)
SELECT id, $2, $3, $4, $5 FROM unnest($1::bigint[]) AS id
ON CONFLICT DO NOTHING`,

	// The batch's rows are found by its index alone: the state is tested on
	// each row (state || '' is no index's key), never by the state index,
	// whose entries for "queued" and "sending" pile up with every update
	// (dead until vacuumed) and which the planner, seeing a table grown
	// faster than its statistics, takes for a handful of rows. The test on
	// the updated row is made again should it change before it is locked.
	markSendingWithEvents: `
WITH b AS MATERIALIZED (
    SELECT id, state FROM messages WHERE batch_id = $1
), ev AS (
    INSERT INTO message_events (message_id, state, at, source, detail)
    SELECT id, 'sending', $2, $3, $4 FROM b WHERE state = 'queued'
)
UPDATE messages m SET state = 'sending', attempts = m.attempts + 1, next_attempt_at = NULL, updated_at = $2
FROM b
WHERE m.id = b.id AND m.state || '' IN ('queued', 'sending')
RETURNING m.id, m.contact_id, m.phone, m.body, m.kind, m.state, m.provider, m.reference, m.segments, m.cost, m.attempts`,

	// Found by key (id or reference), the state tested on the row, as in
	// markSendingWithEvents.
	recordSent: `
UPDATE messages
SET state = 'sent',
    provider_message_id = r.pmid,
    provider_job_id = r.pjid,
    cost = coalesce(r.cost, $6 * segments),
    error_code = '', error_text = '',
    sent_at = coalesce(sent_at, $5),
    updated_at = $5
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS r(key, pmid, pjid, cost)
WHERE messages.reference = r.key AND messages.state || '' = 'sending'
RETURNING messages.id, messages.reference, messages.contact_id`,

	recordSentByID: `
UPDATE messages
SET state = 'sent',
    provider_message_id = r.pmid,
    provider_job_id = r.pjid,
    cost = coalesce(r.cost, $6 * segments),
    error_code = '', error_text = '',
    sent_at = coalesce(sent_at, $5),
    updated_at = $5
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS r(key, pmid, pjid, cost)
WHERE messages.id = r.key AND messages.state || '' = 'sending'
RETURNING messages.id, messages.reference, messages.contact_id`,

	recordDelivered: `
-- The rows are locked in the order of their ids first, as every other
-- statement that locks messages does, so that two appliers with a report in
-- common wait for each other instead of deadlocking.
WITH r AS (SELECT DISTINCT ON (pmid) pmid, at FROM unnest($1::text[], $2::timestamptz[]) AS r(pmid, at)),
     locked AS (SELECT m.id, r.at FROM messages m JOIN r ON m.provider = $3 AND m.provider_message_id = r.pmid
                WHERE m.state = 'sent' ORDER BY m.id FOR UPDATE OF m)
UPDATE messages
SET state = 'delivered', delivered_at = locked.at, sent_at = coalesce(sent_at, locked.at), updated_at = $4
FROM locked
WHERE messages.id = locked.id AND messages.state = 'sent'
RETURNING messages.id, messages.provider_message_id`,

	insertReplies: `
INSERT INTO messages (provider, provider_message_id, phone, body, reference, segments, encoding,
                      created_at, updated_at, direction, kind, state, contact_id, reply_to, campaign_id)
SELECT x.provider, x.rid, x.phone, x.body, x.ref, x.segments, x.encoding, x.at, x.at,
       'inbound', 'marketing', 'received',
       (SELECT c.id FROM contacts c WHERE c.phone = x.phone),
       x.reply_to, (SELECT o.campaign_id FROM messages o WHERE o.id = x.reply_to)
FROM (SELECT j->>0 AS provider, j->>1 AS rid, j->>2 AS phone, j->>3 AS body, j->>4 AS ref,
             (j->>5)::int AS segments, j->>6 AS encoding, (j->>7)::timestamptz AS at,
             coalesce(
               (SELECT o.id FROM messages o WHERE o.provider = j->>0 AND o.provider_message_id = j->>8
                  AND o.direction = 'outbound' AND j->>8 <> '' LIMIT 1),
               (SELECT o.id FROM messages o WHERE o.reference = j->>9 AND j->>9 <> ''),
               (SELECT o.id FROM messages o WHERE o.phone = j->>2 AND o.direction = 'outbound'
                  ORDER BY o.id DESC LIMIT 1)) AS reply_to
      FROM json_array_elements($1::json) AS j) AS x
ON CONFLICT DO NOTHING
RETURNING id, reference, contact_id, reply_to, phone, body`,

	addBlacklist: `INSERT INTO blacklist (phone, reason, source, created_by, created_at)
SELECT j, $2, $3, $4, $5 FROM json_array_elements_text($1::json) AS j
ON CONFLICT DO NOTHING
RETURNING phone`,

	optOut: `UPDATE contacts SET opted_out = TRUE, updated_at = $2
WHERE phone IN (SELECT json_array_elements_text($1::json)) AND NOT opted_out
RETURNING id`,

	blacklisted: `SELECT phone FROM blacklist WHERE phone IN (SELECT json_array_elements_text($1::json))`,

	liveSendJobs: `SELECT (args->>'batch_id')::bigint, state::text, attempted_at FROM river_job
WHERE kind = 'send_batch' AND state IN ('available', 'scheduled', 'retryable', 'pending', 'running')`,

	contactsForSend: `SELECT ` + contactColumns + ` FROM contacts
WHERE id IN (SELECT json_array_elements_text($1::json)::bigint) OR phone IN (SELECT json_array_elements_text($2::json))`,
}
