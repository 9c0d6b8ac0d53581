package store

// sqliteBulk holds the SQLite side of lists, filters and campaigns
// (sql_bulk_postgres.go has the same names). Rows travel as one JSON array
// read with json_each; filter fragments are fmt formats whose only verbs are
// placeholders, never values.
var sqliteBulk = bulkQueries{
	// Filters over contacts aliased c.
	tagHas:     `EXISTS (SELECT 1 FROM json_each(c.tags) WHERE value = %s)`,
	fieldValue: `coalesce(json_extract(c.fields, %s), '')`,
	like:       `%s LIKE %s ESCAPE '\'`,

	addMembers: `INSERT OR IGNORE INTO list_members (list_id, contact_id)
SELECT ?2, value FROM json_each(?1)`,

	removeMembers: `DELETE FROM list_members WHERE list_id = ?2 AND contact_id IN (SELECT value FROM json_each(?1))`,

	countContactIDs: `SELECT count(*) FROM contacts WHERE id IN (SELECT value FROM json_each(?1))`,

	campaignQueries: campaignQueries{
		// Each recipient found by its key (IN keeps SQLite on it).
		markSkipped: `UPDATE campaign_recipients SET status = 'skipped', reason = ?3
WHERE campaign_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2))`,
		notDisturb: `SELECT DISTINCT phone FROM messages WHERE phone IN (SELECT value FROM json_each(?1)) AND error_code = 'not_disturb'`,
		hourBucket: `strftime('%Y-%m-%dT%H:00:00Z', m.delivered_at)`,
	},
}

// sqliteImport holds the SQLite side of contact imports
// (sql_bulk_postgres.go has the same names). The rows to update or insert
// are bound one value a parameter, in a multi-row VALUES of a few fixed
// sizes (importBatches): no JSON to encode or decode but each row's fields
// and tags, and few statement texts for the connection to keep prepared.
// The time is ?1, written first so that each bare ? numbers on from it.
var sqliteImport = importQueries{
	existing: `SELECT id, phone, coalesce(external_id, '') FROM contacts
WHERE phone IN (SELECT value FROM json_each(?1)) OR external_id IN (SELECT value FROM json_each(?2))`,

	update: rowsStatement{
		head: `
UPDATE contacts
SET name = CASE WHEN j.n <> '' THEN j.n ELSE contacts.name END,
    phone = j.p,
    line_type = j.l,
    owner_id = coalesce(j.o, contacts.owner_id),
    external_id = coalesce(j.x, contacts.external_id),
    fields = CASE WHEN j.f IS NULL THEN contacts.fields ELSE json_patch(contacts.fields, j.f) END,
    tags = CASE WHEN j.t IS NULL THEN contacts.tags ELSE
           (SELECT json_group_array(value) FROM (SELECT value FROM json_each(contacts.tags)
                                                 UNION SELECT value FROM json_each(j.t))) END,
    updated_at = ?1
FROM (SELECT column1 AS id, column2 AS n, column3 AS p, column4 AS l, column5 AS o, column6 AS x,
             column7 AS f, column8 AS t
      FROM (VALUES `,
		row: `(?, ?, ?, ?, ?, ?, ?, ?)`,
		tail: `)) AS j
WHERE contacts.id = j.id`,
	},

	insert: rowsStatement{
		head: `
INSERT INTO contacts (created_at, updated_at, name, phone, line_type, owner_id, external_id, fields, tags)
VALUES `,
		row: `(?1, ?1, ?, ?, ?, ?, ?, coalesce(?, '{}'), coalesce(?, '[]'))`,
		onConflict: `
ON CONFLICT (phone) DO UPDATE SET fields = json_patch(contacts.fields, excluded.fields), updated_at = excluded.updated_at`,
		returning: `
RETURNING id`,
	},

	rejects: `INSERT OR IGNORE INTO import_rejects (import_id, row_num, reason, line)
SELECT ?2, j.value->>0, j.value->>1, j.value->>2 FROM jsonb_each(?1) AS j`,
}

// sqliteFieldPath is the JSON path of a custom field for json_extract. Keys
// in filters are letters, digits, spaces and _ . - only (sms.Filter checks),
// so quoting them is enough.
func sqliteFieldPath(key string) string { return `$."` + key + `"` }
