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
