package store

// postgresBulk holds the PostgreSQL side of contact imports, lists, filters
// and campaigns (sql_bulk_sqlite.go has the same names). Rows travel as one
// JSON array read with json_to_recordset or json_array_elements.
var postgresBulk = bulkQueries{
	tagHas:     `EXISTS (SELECT 1 FROM json_array_elements_text(c.tags::json) AS t WHERE t = %s)`,
	fieldValue: `coalesce(c.fields::json ->> %s, '')`,
	like:       `%s ILIKE %s ESCAPE '\'`,

	existingForImport: `SELECT id, phone, coalesce(external_id, '') FROM contacts
WHERE phone IN (SELECT json_array_elements_text($1::json)) OR external_id IN (SELECT json_array_elements_text($2::json))`,

	updateImported: `
UPDATE contacts
SET name = CASE WHEN j.n <> '' THEN j.n ELSE contacts.name END,
    phone = j.p,
    line_type = j.l,
    owner_id = coalesce(j.o, contacts.owner_id),
    external_id = coalesce(j.x, contacts.external_id),
    fields = CASE WHEN j.f IS NULL THEN contacts.fields ELSE (contacts.fields::jsonb || j.f)::text END,
    tags = CASE WHEN j.t IS NULL THEN contacts.tags ELSE
           (SELECT coalesce(jsonb_agg(v ORDER BY v), '[]'::jsonb)::text
            FROM (SELECT jsonb_array_elements_text(contacts.tags::jsonb) AS v UNION SELECT jsonb_array_elements_text(j.t)) AS u) END,
    updated_at = $2
FROM json_to_recordset($1::json) AS j(id bigint, n text, p text, l text, o bigint, x text, f jsonb, t jsonb)
WHERE contacts.id = j.id`,

	insertImported: `
INSERT INTO contacts (name, phone, line_type, owner_id, external_id, fields, tags, created_at, updated_at)
SELECT j.n, j.p, j.l, j.o, j.x, coalesce(j.f::text, '{}'), coalesce(j.t::text, '[]'), $2, $2
FROM json_to_recordset($1::json) AS j(n text, p text, l text, o bigint, x text, f jsonb, t jsonb)
ON CONFLICT (phone) DO UPDATE SET fields = (contacts.fields::jsonb || excluded.fields::jsonb)::text, updated_at = excluded.updated_at
RETURNING id`,

	addMembers: `INSERT INTO list_members (list_id, contact_id)
SELECT $2, j::bigint FROM json_array_elements_text($1::json) AS j
ON CONFLICT DO NOTHING`,

	removeMembers: `DELETE FROM list_members WHERE list_id = $2 AND contact_id IN (SELECT json_array_elements_text($1::json)::bigint)`,

	countContactIDs: `SELECT count(*) FROM contacts WHERE id IN (SELECT json_array_elements_text($1::json)::bigint)`,

	insertRejects: `INSERT INTO import_rejects (import_id, row_num, reason, line)
SELECT $2, (j->>0)::bigint, j->>1, j->>2 FROM json_array_elements($1::json) AS j
ON CONFLICT DO NOTHING`,

	campaignQueries: campaignQueries{
		markSkipped: `UPDATE campaign_recipients SET status = 'skipped', reason = $3
WHERE campaign_id = $1 AND contact_id IN (SELECT json_array_elements_text($2::json)::bigint)`,
		notDisturb: `SELECT DISTINCT phone FROM messages WHERE phone IN (SELECT json_array_elements_text($1::json)) AND error_code = 'not_disturb'`,
		// PostgreSQL carries no inequality across a join: without the bound
		// on c.id it merge-joined the recipients with the contacts read from
		// the first one, so each chunk read every contact before the cursor
		// (a campaign's feeding quadratic in its size).
		contactsAfter: ` AND c.id > $2`,
		hourBucket:    `to_char(date_trunc('hour', m.delivered_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00"Z"')`,
	},
}
