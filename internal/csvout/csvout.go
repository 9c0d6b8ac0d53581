// Package csvout keeps the CSV files Recado writes for people safe to open
// in a spreadsheet.
package csvout

import "strings"

// Cell returns text fit for a CSV cell that a spreadsheet will open: text
// that starts with = + - @ or a tab or carriage return would be run as a
// formula (CSV injection), so it gets a leading apostrophe, which
// spreadsheets hide.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
