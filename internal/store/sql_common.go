package store

// queries holds every SQL statement the store runs, by name. The dialect
// files fill in those that differ; newQueries adds the common ones and turns
// their $N placeholders into the dialect's.
type queries struct {
	// Differ by dialect (sql_sqlite.go, sql_postgres.go).
	insertMessages           string
	insertEvents             string
	bumpContactStats         string // ?1 the contact ids (Dialect.ids), ?2 total, ?3 sent, ?4 received to add, ?5 time
	saveMessages             string
	lockBatchMessages        string
	lockMessagesByRef        string
	lockMessagesByProviderID string
	lockMessage              string
	messagesByRef            string
	stateInJSON              string
	claimBatch               string
	searchContacts           string
	forUpdate                string
	contactsForSend          string
	liveSendJobs             string
	insertEventIDs           string
	markSendingWithEvents    string // PostgreSQL only: eventsForQueued and markSending in one statement (same arguments, $3 and $4 the event's source and detail)
	recordSent               string // the rows (sentRows), then the time and the price per segment
	recordSentByID           string // the same, each row's first element the message's id
	recordDelivered          string // the rows (deliveredRows), then the provider and the time
	insertReplies            string
	addBlacklist             string
	optOut                   string
	blacklisted              string

	// Common.
	getMessage      string
	messageEvents   string
	countByState    string
	deleteMessage   string
	createBatch     string
	batchLease      string
	releaseBatch    string
	orphanBatches   string
	eventsForQueued string
	markSending     string
}

func newQueries(d Dialect) *queries {
	var q queries
	if d == SQLite {
		q = sqliteQueries
	} else {
		q = postgresQueries
	}
	q.getMessage = `SELECT ` + messageColumns + ` FROM messages WHERE id = $1`
	// States only move forward, so ordering by the state's rank is the order
	// they happened in, even when a provider's clock put a delivery report
	// before our record of its acceptance.
	q.messageEvents = `SELECT message_id, state, at, source, detail FROM message_events WHERE message_id = $1
ORDER BY CASE state WHEN 'draft' THEN 0 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2 WHEN 'sent' THEN 3 ELSE 4 END, at`
	q.countByState = `SELECT state, count(*) FROM messages GROUP BY state`
	q.deleteMessage = `DELETE FROM messages WHERE id = $1`
	q.createBatch = `INSERT INTO send_batches (provider, reference, created_at, campaign_id) VALUES ($1, $2, $3, $4) RETURNING id`
	q.batchLease = `SELECT lease_until FROM send_batches WHERE id = $1`
	q.releaseBatch = `UPDATE send_batches SET lease_until = NULL WHERE id = $1`
	q.eventsForQueued = `INSERT INTO message_events (message_id, state, at, source, detail)
SELECT id, 'sending', $2, $3, $4 FROM messages WHERE batch_id = $1 AND state = 'queued'`
	q.markSending = `UPDATE messages SET state = 'sending', attempts = attempts + 1, next_attempt_at = NULL, updated_at = $2
WHERE batch_id = $1 AND state IN ('queued', 'sending')
RETURNING id, contact_id, phone, body, kind, state, provider, reference, segments, cost, attempts`
	q.orphanBatches = `SELECT b.id FROM send_batches b
WHERE (b.lease_until IS NULL OR b.lease_until < $1)
  AND EXISTS (SELECT 1 FROM messages m WHERE m.batch_id = b.id AND m.state IN ('queued', 'sending'))
ORDER BY b.id LIMIT $2`

	for _, p := range []*string{&q.getMessage, &q.messageEvents, &q.countByState, &q.deleteMessage,
		&q.createBatch, &q.batchLease, &q.releaseBatch, &q.orphanBatches, &q.eventsForQueued, &q.markSending} {
		*p = d.rebind(*p)
	}
	return &q
}
