package api_test

// sqlInjections are what an attacker tries in every filter, search and
// path parameter: quotes, comments, stacked statements, unions, sleeps,
// both dialects' placeholders, LIKE wildcards, NUL bytes and numbers out
// of range. The fuzz targets start from them too.
var sqlInjections = []string{
	`' OR '1'='1`, `1' OR 1=1 --`, `1; DROP TABLE messages; --`, `'); DELETE FROM users; --`,
	`" OR ""="`, `1 UNION SELECT password_hash FROM users --`, `%' OR 1=1 --`, `1) OR (1=1`,
	`sent'--`, `sent,delivered' OR state IS NOT NULL --`, `'; SELECT pg_sleep(5); --`,
	`1 AND (SELECT 1 FROM pg_sleep(5)) IS NULL`, `' || (SELECT hash FROM api_tokens LIMIT 1) || '`,
	`*/ OR 1=1 /*`, `'; ATTACH DATABASE '/tmp/recado-pwned.db' AS x; --`, `$1`, `?1`, `:name`, `%`, `_`, `%_%`,
	`\`, `\'`, "\x00'", `NULL`, `0x27`, `char(39)`, `1e309`, `-9223372036854775808`, `9223372036854775808`,
	`2026-11-25T00:00:00Z' OR '1'='1`, `Fulana%' AND 1=(SELECT count(*) FROM users) AND '%'='`,
}
