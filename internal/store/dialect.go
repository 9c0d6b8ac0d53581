package store

import (
	"regexp"
)

// Dialect names the database behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// columnar reports whether the dialect's bulk statements take their rows as
// one typed array per column (PostgreSQL reads them with unnest, each value
// already of its type) rather than as one JSON array of rows (SQLite, read
// with json_each). The column arrays come first, then the statement's other
// arguments, numbered on from them.
func (d Dialect) columnar() bool { return d == Postgres }

// ids is the argument of a bulk statement that takes a list of ids: an
// int8 array on PostgreSQL, a JSON array on SQLite.
func (d Dialect) ids(ids []int64) any {
	if d.columnar() {
		return ids
	}
	return jsonArray(ids)
}

// texts is the argument of a bulk statement that takes a list of strings: a
// text array on PostgreSQL, a JSON array on SQLite.
func (d Dialect) texts(s []string) any {
	if d.columnar() {
		return s
	}
	return jsonArray(s)
}

var dollarParam = regexp.MustCompile(`\$(\d+)`)

// rebind turns the $N placeholders of the common queries into the form the
// dialect's driver takes. SQLite reads ?N as "the N-th argument", so the
// numbering, and repeats, mean the same in both.
func (d Dialect) rebind(q string) string {
	if d == SQLite {
		return dollarParam.ReplaceAllString(q, "?$1")
	}
	return q
}
