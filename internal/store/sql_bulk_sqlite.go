package store

// sqliteBulk holds the SQLite side of contact imports, lists, filters and
// campaigns (sql_bulk_postgres.go has the same names). Rows travel as one
// JSON array read with json_each; filter fragments are fmt formats whose
// only verbs are placeholders, never values.
var sqliteBulk = bulkQueries{
	// Filters over contacts aliased c.
	tagHas:     `EXISTS (SELECT 1 FROM json_each(c.tags) WHERE value = %s)`,
	fieldValue: `coalesce(json_extract(c.fields, %s), '')`,
	like:       `%s LIKE %s ESCAPE '\'`,

	existingForImport: `SELECT id, phone, coalesce(external_id, '') FROM contacts
WHERE phone IN (SELECT value FROM json_each(?1)) OR external_id IN (SELECT value FROM json_each(?2))`,

	updateImported: `
UPDATE contacts
SET name = CASE WHEN j.value->>'n' <> '' THEN j.value->>'n' ELSE contacts.name END,
    phone = j.value->>'p',
    line_type = j.value->>'l',
    owner_id = coalesce(j.value->>'o', contacts.owner_id),
    external_id = coalesce(j.value->>'x', contacts.external_id),
    fields = CASE WHEN j.value->>'f' IS NULL THEN contacts.fields ELSE json_patch(contacts.fields, j.value->>'f') END,
    tags = CASE WHEN j.value->>'t' IS NULL THEN contacts.tags ELSE
           (SELECT json_group_array(value) FROM (SELECT value FROM json_each(contacts.tags)
                                                 UNION SELECT value FROM json_each(j.value->>'t'))) END,
    updated_at = ?2
FROM jsonb_each(?1) AS j
WHERE contacts.id = j.value->>'id'`,

	insertImported: `
INSERT INTO contacts (name, phone, line_type, owner_id, external_id, fields, tags, created_at, updated_at)
SELECT j.value->>'n', j.value->>'p', j.value->>'l', j.value->>'o', j.value->>'x',
       coalesce(j.value->>'f', '{}'), coalesce(j.value->>'t', '[]'), ?2, ?2
FROM jsonb_each(?1) AS j WHERE true
ON CONFLICT (phone) DO UPDATE SET fields = json_patch(contacts.fields, excluded.fields), updated_at = excluded.updated_at
RETURNING id`,

	addMembers: `INSERT OR IGNORE INTO list_members (list_id, contact_id)
SELECT ?2, value FROM json_each(?1)`,

	removeMembers: `DELETE FROM list_members WHERE list_id = ?2 AND contact_id IN (SELECT value FROM json_each(?1))`,

	countContactIDs: `SELECT count(*) FROM contacts WHERE id IN (SELECT value FROM json_each(?1))`,

	insertRejects: `INSERT OR IGNORE INTO import_rejects (import_id, row_num, reason, line)
SELECT ?2, j.value->>0, j.value->>1, j.value->>2 FROM jsonb_each(?1) AS j`,
	campaignQueries: campaignQueries{
		// Each recipient found by its key (IN keeps SQLite on it).
		markSkipped: `UPDATE campaign_recipients SET status = 'skipped', reason = ?3
WHERE campaign_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2))`,
		notDisturb: `SELECT DISTINCT phone FROM messages WHERE phone IN (SELECT value FROM json_each(?1)) AND error_code = 'not_disturb'`,
		hourBucket: `strftime('%Y-%m-%dT%H:00:00Z', m.delivered_at)`,
	},
}

// sqliteFieldPath is the JSON path of a custom field for json_extract. Keys
// in filters are letters, digits, spaces and _ . - only (sms.Filter checks),
// so quoting them is enough.
func sqliteFieldPath(key string) string { return `$."` + key + `"` }
