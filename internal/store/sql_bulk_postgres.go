package store

// postgresBulk holds the PostgreSQL side of lists, filters and campaigns
// (sql_bulk_sqlite.go has the same names). Rows travel as one JSON array
// read with json_array_elements.
var postgresBulk = bulkQueries{
	tagHas:     `EXISTS (SELECT 1 FROM json_array_elements_text(c.tags::json) AS t WHERE t = %s)`,
	fieldValue: `coalesce(c.fields::json ->> %s, '')`,
	like:       `%s ILIKE %s ESCAPE '\'`,

	addMembers: `INSERT INTO list_members (list_id, contact_id)
SELECT $2, id FROM unnest($1::bigint[]) AS id
ON CONFLICT DO NOTHING`,

	removeMembers: `DELETE FROM list_members WHERE list_id = $2 AND contact_id IN (SELECT json_array_elements_text($1::json)::bigint)`,

	countContactIDs: `SELECT count(*) FROM contacts WHERE id IN (SELECT json_array_elements_text($1::json)::bigint)`,

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

// postgresImport holds the PostgreSQL side of contact imports
// (sql_bulk_sqlite.go has the same names). Rows travel as one typed array
// per column read with unnest, each value already of its type; a row's
// fields and tags are JSON text, ” when it has none (and 0 an owner, ”
// an external id, when none).
var postgresImport = importQueries{
	// Two index scans: with OR, PostgreSQL read the whole table for each
	// chunk (an import quadratic in the contacts it holds).
	existing: `SELECT id, phone, coalesce(external_id, '') FROM contacts WHERE phone = ANY($1::text[])
UNION ALL
SELECT id, phone, external_id FROM contacts WHERE external_id = ANY($2::text[])`,

	update: rowsStatement{head: `
UPDATE contacts
SET name = CASE WHEN r.n <> '' THEN r.n ELSE contacts.name END,
    phone = r.p,
    line_type = r.l,
    owner_id = coalesce(nullif(r.o, 0), contacts.owner_id),
    external_id = coalesce(nullif(r.x, ''), contacts.external_id),
    fields = CASE WHEN r.f = '' THEN contacts.fields ELSE (contacts.fields::jsonb || r.f::jsonb)::text END,
    tags = CASE WHEN r.t = '' THEN contacts.tags ELSE
           (SELECT coalesce(jsonb_agg(v ORDER BY v), '[]'::jsonb)::text
            FROM (SELECT jsonb_array_elements_text(contacts.tags::jsonb) AS v
                  UNION SELECT jsonb_array_elements_text(r.t::jsonb)) AS u) END,
    updated_at = $9
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])
     AS r(id, n, p, l, o, x, f, t)
WHERE contacts.id = r.id`},

	// Fields and tags are stored as jsonb writes them, as before.
	insert: rowsStatement{head: `
INSERT INTO contacts (name, phone, line_type, owner_id, external_id, fields, tags, created_at, updated_at)
SELECT r.n, r.p, r.l, nullif(r.o, 0), nullif(r.x, ''),
       coalesce(nullif(r.f, '')::jsonb::text, '{}'), coalesce(nullif(r.t, '')::jsonb::text, '[]'), $8, $8
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[]) AS r(n, p, l, o, x, f, t)`,
		onConflict: `
ON CONFLICT (phone) DO UPDATE SET fields = (contacts.fields::jsonb || excluded.fields::jsonb)::text, updated_at = excluded.updated_at`,
		returning: `
RETURNING id`},

	rejects: `INSERT INTO import_rejects (import_id, row_num, reason, line)
SELECT $4, r.n, r.reason, r.line FROM unnest($1::bigint[], $2::text[], $3::text[]) AS r(n, reason, line)
ON CONFLICT DO NOTHING`,
}
