package imports

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// The targets a column maps to. Any other column becomes a custom field
// named after its header, unless mapped to "ignore".
const (
	TargetName       = "name"
	TargetPhone      = "phone"
	TargetOwner      = "owner"
	TargetTags       = "tags"
	TargetExternalID = "external_id"
	TargetIgnore     = "ignore"
	targetField      = "field:" // + the custom field's key
)

// The reasons a row is rejected, besides the sms.CodePhone codes of a bad
// phone number.
const (
	ReasonUnknownOwner  = "unknown_owner"
	ReasonFieldTooLong  = "field_too_long"
	ReasonMalformed     = "malformed_row"
	ReasonPhoneConflict = "phone_conflict"
)

// headerGuess maps common header names, in Portuguese and English, to
// targets.
var headerGuess = map[string]string{
	"nome": TargetName, "name": TargetName, "nome completo": TargetName, "full name": TargetName,
	"telefone": TargetPhone, "phone": TargetPhone, "celular": TargetPhone, "fone": TargetPhone,
	"mobile": TargetPhone, "numero": TargetPhone, "número": TargetPhone, "whatsapp": TargetPhone,
	"owner": TargetOwner, "responsavel": TargetOwner, "responsável": TargetOwner, "dono": TargetOwner,
	"tags": TargetTags, "etiquetas": TargetTags, "tag": TargetTags,
	"external_id": TargetExternalID, "id_externo": TargetExternalID, "codigo": TargetExternalID,
	"código": TargetExternalID, "id": TargetExternalID,
}

// column says what one column of the file becomes.
type column struct {
	target string
	key    string // the custom field's key
}

// parser turns the records of a file into contacts, given its header.
type parser struct {
	cols    []column
	phone   int
	users   map[string]int64 // usernames and ids as text → user id
	region  string
	tags    []string // given to every row
	rawBuf  bytes.Buffer
	rawCSV  *csv.Writer
	maxName int
}

// newParser maps header's columns: explicitly by mapping (header → target,
// any case), else by guessing from the header's name, else to a custom
// field. A file without a phone column is an error.
func newParser(header []string, mapping map[string]string, users map[string]int64, region string, tags []string) (*parser, error) {
	p := &parser{phone: -1, users: users, region: region, tags: tags, maxName: 200}
	p.rawCSV = csv.NewWriter(&p.rawBuf)
	explicit := map[string]string{}
	for k, v := range mapping {
		explicit[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	var bad []sms.FieldError
	used := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		lh := strings.ToLower(h)
		t, ok := explicit[lh]
		if ok {
			delete(explicit, lh)
		} else if t, ok = headerGuess[lh]; !ok || used[t] {
			t = targetField + lh // custom field keys are lower case, as templates name them
		}
		c, err := parseTarget(t)
		if err != nil {
			bad = append(bad, sms.FieldError{Field: "map." + h, Message: err.Error(), Value: t})
			continue
		}
		if c.target == targetField && c.key == "" {
			c.target = TargetIgnore // a column without a header
		}
		if c.target != targetField && c.target != TargetIgnore {
			if used[c.target] {
				bad = append(bad, sms.FieldError{Field: "map." + h, Message: "two columns map to " + c.target})
			}
			used[c.target] = true
		}
		if c.target == TargetPhone {
			p.phone = i
		}
		p.cols = append(p.cols, c)
	}
	for h := range explicit {
		bad = append(bad, sms.FieldError{Field: "map." + h, Message: "the file has no such column"})
	}
	if p.phone < 0 && len(bad) == 0 {
		bad = append(bad, sms.FieldError{Field: "map", Message: "no column holds the phone: name one \"phone\" (or telefone, celular) or map it"})
	}
	if len(bad) > 0 {
		return nil, sms.Invalid("invalid column mapping", bad...)
	}
	return p, nil
}

func parseTarget(t string) (column, error) {
	switch lt := strings.ToLower(t); lt {
	case TargetName, TargetPhone, TargetOwner, TargetTags, TargetExternalID, TargetIgnore:
		return column{target: lt}, nil
	}
	for _, prefix := range []string{"field:", "field.", "fields."} {
		if key, ok := strings.CutPrefix(t, prefix); ok {
			key = strings.TrimSpace(key)
			if utf8.RuneCountInString(key) > 64 {
				return column{}, sms.Errorf(sms.KindInvalid, "custom field names have at most 64 characters")
			}
			return column{target: targetField, key: key}, nil
		}
	}
	return column{}, sms.Errorf(sms.KindInvalid, "map to name, phone, owner, tags, external_id, ignore or field:<key>")
}

// row reads one record (line is its row number in the file). It returns the
// contact, or the reason it is rejected.
func (p *parser) row(rec []string, line int) (store.ImportRow, string) {
	r := store.ImportRow{Line: line}
	var rawPhone string
	if p.phone < len(rec) {
		rawPhone = rec[p.phone]
	}
	ph, err := sms.NormalizePhone(rawPhone, p.region)
	if err != nil {
		code := sms.CodePhoneInvalid
		if e, ok := err.(*sms.Error); ok && e.Code != "" {
			code = e.Code
		}
		return r, code
	}
	r.Phone, r.LineType = ph.E164, string(ph.LineType)
	for i, c := range p.cols {
		if i >= len(rec) {
			break
		}
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		switch c.target {
		case TargetName:
			if utf8.RuneCountInString(v) > p.maxName {
				return r, ReasonFieldTooLong
			}
			r.Name = v
		case TargetOwner:
			id, ok := p.users[strings.ToLower(v)]
			if !ok {
				return r, ReasonUnknownOwner
			}
			r.OwnerID = &id
		case TargetTags:
			for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
				if t = strings.TrimSpace(t); t != "" {
					if len(t) > 64 {
						return r, ReasonFieldTooLong
					}
					r.Tags = append(r.Tags, t)
				}
			}
		case TargetExternalID:
			if len(v) > 100 {
				return r, ReasonFieldTooLong
			}
			r.ExternalID = v
		case targetField:
			if utf8.RuneCountInString(v) > 1000 {
				return r, ReasonFieldTooLong
			}
			if r.Fields == nil {
				r.Fields = map[string]string{}
			}
			r.Fields[c.key] = v
		}
	}
	r.Tags = append(r.Tags, p.tags...)
	return r, ""
}

// raw writes rec back as one CSV line, for the rejected file.
func (p *parser) raw(rec []string) string {
	p.rawBuf.Reset()
	p.rawCSV.Write(rec)
	p.rawCSV.Flush()
	return strings.TrimRight(p.rawBuf.String(), "\r\n")
}

// merge folds row b, a later row of the same contact, into a: b's non-empty
// values win, fields are merged, tags added.
func merge(a *store.ImportRow, b store.ImportRow) {
	if b.Name != "" {
		a.Name = b.Name
	}
	a.Phone, a.LineType = b.Phone, b.LineType
	if b.OwnerID != nil {
		a.OwnerID = b.OwnerID
	}
	if b.ExternalID != "" {
		a.ExternalID = b.ExternalID
	}
	if len(b.Fields) > 0 && a.Fields == nil {
		a.Fields = map[string]string{}
	}
	for k, v := range b.Fields {
		a.Fields[k] = v
	}
	for _, t := range b.Tags {
		if !contains(a.Tags, t) {
			a.Tags = append(a.Tags, t)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// decoded returns a reader of r as UTF-8 without a byte-order mark: a file
// whose start is not valid UTF-8 is read as Windows-1252, as spreadsheets
// in Brazil often save CSV.
func decoded(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		return br
	}
	// A multi-byte character cut at the end of the peek is not an error.
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	if !utf8.Valid(head) {
		return charmap.Windows1252.NewDecoder().Reader(br)
	}
	return br
}

// delimiter guesses the separator from the first line: the most frequent
// of ';', ',' and tab outside quotes.
func delimiter(br *bufio.Reader, given string) rune {
	switch given {
	case ",", ";":
		return rune(given[0])
	case "\\t", "\t", "tab":
		return '\t'
	}
	head, _ := br.Peek(16 << 10)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	best, n := ',', 0
	for _, d := range []rune{',', ';', '\t'} {
		if c := strings.Count(string(head), string(d)); c > n {
			best, n = d, c
		}
	}
	return best
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
