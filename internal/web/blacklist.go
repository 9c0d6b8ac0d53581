package web

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

type blacklistData struct {
	Q       string
	Entries []store.BlacklistEntry
	Next    string
	Phones  string
	Reason  string
	Errors  map[string]string
	Import  *importResult
	Synced  []providers.View // providers that keep a blacklist of their own, with how far it is in step
}

// importResult says what an import of numbers did.
type importResult struct {
	Added         int
	Already       int
	Rejected      []string // the first lines that are no valid number
	RejectedCount int
}

func (s *Server) blacklistData(r *http.Request) (blacklistData, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	after := r.URL.Query().Get("after")
	if len(q) > 40 || len(after) > 40 {
		return blacklistData{}, sms.Invalid("search too long", sms.FieldError{Field: "q", Message: "at most 40 characters"})
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '+' {
			return r
		}
		return -1
	}, q)
	es, err := s.DB.ListBlacklist(r.Context(), store.BlacklistFilter{Query: digits, After: after, Limit: 100})
	if err != nil {
		return blacklistData{}, err
	}
	d := blacklistData{Q: q, Entries: es}
	provs, err := s.Providers.List(r.Context())
	if err != nil {
		return d, err
	}
	for _, pv := range provs {
		if pv.Sync != nil && pv.Sync.Blacklist != nil {
			d.Synced = append(d.Synced, pv)
		}
	}
	if len(es) == 100 {
		d.Next = "/blacklist?" + queryString("q", q, "after", es[len(es)-1].Phone)
	}
	return d, nil
}

func (s *Server) blacklistPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.blacklistData(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "blacklist", "layout", d)
	return nil
}

// blacklistAdd puts the numbers typed (one per line) on the blacklist; one
// bad number refuses them all, naming it.
func (s *Server) blacklistAdd(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	phones := splitLines(r.PostFormValue("phones"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	errs := map[string]string{}
	switch {
	case len(phones) == 0:
		errs["phones"] = "type at least one number"
	case len(phones) > 1000:
		errs["phones"] = "at most 1000 numbers at once: import a file for more"
	case len(reason) > 200:
		errs["reason"] = "at most 200 characters"
	}
	if len(errs) == 0 {
		added, err := s.Dispatch.Blacklist(r.Context(), phones, reason, &p.ID)
		if err == nil {
			s.flash(w, r, s.tr(r, "%d numbers added to the blacklist.", len(added)))
			http.Redirect(w, r, "/blacklist", http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
		var e *sms.Error
		if asSMSError(err, &e) {
			var lines []string
			for _, f := range e.Fields {
				lines = append(lines, f.Message)
			}
			errs = map[string]string{"phones": strings.Join(lines, "; ")}
		}
	}
	d, err := s.blacklistData(r)
	if err != nil {
		return err
	}
	d.Phones, d.Reason, d.Errors = r.PostFormValue("phones"), reason, errs
	s.render(w, r, http.StatusUnprocessableEntity, "blacklist", "layout", d)
	return nil
}

func (s *Server) blacklistRemove(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ph, err := sms.NormalizePhone(r.PostFormValue("phone"), "BR")
	if err != nil {
		return err
	}
	if err := s.Dispatch.Unblacklist(r.Context(), ph.E164); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "%s removed from the blacklist.", sms.NationalFormat(ph.E164)))
	http.Redirect(w, r, "/blacklist", http.StatusSeeOther)
	return nil
}

// maxImportNumbers bounds one blacklist import.
const maxImportNumbers = 100_000

// blacklistImport reads a file of numbers (one per line, or the first column
// of a CSV), adds the valid ones a thousand at a time, and lists the lines
// that are no number.
func (s *Server) blacklistImport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	file, _, err := r.FormFile("file")
	if err != nil {
		return sms.Invalid("no file", sms.FieldError{Field: "file", Message: "choose a file of numbers"})
	}
	defer file.Close()
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if len(reason) > 200 {
		return sms.Invalid("reason too long", sms.FieldError{Field: "reason", Message: "at most 200 characters"})
	}
	cr := csv.NewReader(bufio.NewReader(file))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	res := &importResult{}
	var chunk []string
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		added, err := s.Dispatch.Blacklist(r.Context(), chunk, reason, &p.ID)
		if err != nil {
			return err
		}
		res.Added += len(added)
		res.Already += len(chunk) - len(added)
		chunk = chunk[:0]
		return nil
	}
	n := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sms.Invalid("unreadable file", sms.FieldError{Field: "file", Message: err.Error()})
		}
		if len(rec) == 0 || strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if n++; n > maxImportNumbers {
			return sms.Invalid("file too long", sms.FieldError{Field: "file", Message: "at most 100000 numbers per file"})
		}
		raw := strings.TrimSpace(rec[0])
		ph, err := sms.NormalizePhone(raw, "BR")
		if err != nil {
			if n == 1 { // a header line
				continue
			}
			res.RejectedCount++
			if len(res.Rejected) < 100 {
				res.Rejected = append(res.Rejected, raw)
			}
			continue
		}
		if chunk = append(chunk, ph.E164); len(chunk) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	d, err := s.blacklistData(r)
	if err != nil {
		return err
	}
	d.Import = res
	s.render(w, r, http.StatusOK, "blacklist", "layout", d)
	return nil
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
