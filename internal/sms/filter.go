package sms

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Filter selects contacts by conditions on their fields, custom fields,
// flags, owner, tags, lists and history. Saved under a name it is a
// "segment", usable as a campaign's audience. It is data only: the store
// compiles it to SQL with every value a placeholder.
type Filter struct {
	// Match is "all" (every condition holds; the default) or "any".
	Match      string      `json:"match,omitempty" enum:"all,any,"`
	Conditions []Condition `json:"conditions" maxItems:"50"`
}

// Condition is one test on a contact. Field names what is tested:
//
//   - name, phone, external_id, or field.<key> (a custom field): ops eq, neq,
//     contains, starts_with, empty, not_empty;
//   - opted_out, deceased: op eq with value "true" or "false";
//   - owner: ops eq (a user id), empty, not_empty;
//   - tag: ops has, not_has;
//   - list: ops in, not_in (a list id);
//   - replied: ops within_days, not_within_days (a number of days);
//   - last_sms: ops before, after (a date, 2026-11-25, or an RFC 3339 time), never;
//   - created: ops before, after.
type Condition struct {
	Field string `json:"field" maxLength:"80" example:"field.cidade"`
	Op    string `json:"op" maxLength:"20" example:"eq"`
	Value string `json:"value,omitempty" maxLength:"1000" example:"Campinas"`
}

var filterKey = regexp.MustCompile(`^[\p{L}\p{N}_ .-]{1,64}$`)

var textOps = []string{"eq", "neq", "contains", "starts_with", "empty", "not_empty"}

// fieldOps lists the operations each field allows; custom fields take the
// text operations.
var fieldOps = map[string][]string{
	"name": textOps, "phone": textOps, "external_id": textOps,
	"opted_out": {"eq"}, "deceased": {"eq"},
	"owner":    {"eq", "empty", "not_empty"},
	"tag":      {"has", "not_has"},
	"list":     {"in", "not_in"},
	"replied":  {"within_days", "not_within_days"},
	"last_sms": {"before", "after", "never"},
	"created":  {"before", "after"},
}

// Validate checks f and returns an invalid-input error naming each bad
// condition ("filter.conditions[2].op").
func (f Filter) Validate() error {
	var bad []FieldError
	if f.Match != "" && f.Match != "all" && f.Match != "any" {
		bad = append(bad, FieldError{Field: "filter.match", Message: `must be "all" or "any"`, Value: f.Match})
	}
	if len(f.Conditions) > 50 {
		bad = append(bad, FieldError{Field: "filter.conditions", Message: "at most 50 conditions"})
	}
	for i, c := range f.Conditions {
		at := fmt.Sprintf("filter.conditions[%d]", i)
		ops, ok := fieldOps[c.Field]
		if key, custom := strings.CutPrefix(c.Field, "field."); custom {
			ok, ops = filterKey.MatchString(key), textOps
		}
		if !ok {
			bad = append(bad, FieldError{Field: at + ".field", Message: "unknown field: name, phone, external_id, field.<key>, opted_out, deceased, owner, tag, list, replied, last_sms or created", Value: c.Field})
			continue
		}
		if !containsString(ops, c.Op) {
			bad = append(bad, FieldError{Field: at + ".op", Message: "for " + c.Field + " one of " + strings.Join(ops, ", "), Value: c.Op})
			continue
		}
		if msg := c.checkValue(); msg != "" {
			bad = append(bad, FieldError{Field: at + ".value", Message: msg, Value: c.Value})
		}
	}
	if len(bad) > 0 {
		return Invalid("invalid filter", bad...)
	}
	return nil
}

func (c Condition) checkValue() string {
	switch c.Op {
	case "empty", "not_empty", "never":
		return ""
	}
	switch c.Field {
	case "opted_out", "deceased":
		if c.Value != "true" && c.Value != "false" {
			return `"true" or "false"`
		}
	case "owner", "list":
		if n, err := strconv.ParseInt(c.Value, 10, 64); err != nil || n < 1 {
			return "an id"
		}
	case "replied":
		if n, err := strconv.Atoi(c.Value); err != nil || n < 1 || n > 3650 {
			return "a number of days, 1 to 3650"
		}
	case "last_sms", "created":
		if _, err := ParseFilterTime(c.Value); err != nil {
			return "a date (2026-11-25) or an RFC 3339 time"
		}
	default:
		if c.Value == "" && c.Op != "neq" {
			return "must not be empty"
		}
	}
	return ""
}

// ParseFilterTime reads a date (midnight in São Paulo) or an RFC 3339 time.
func ParseFilterTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, SaoPaulo)
}

// SaoPaulo is America/Sao_Paulo, the zone Recado's users live in: UTC−3
// all year since 2019. When the system has no zone database it is a fixed
// UTC−3.
var SaoPaulo = func() *time.Location {
	if loc, err := time.LoadLocation("America/Sao_Paulo"); err == nil {
		return loc
	}
	return time.FixedZone("America/Sao_Paulo", -3*60*60)
}()
