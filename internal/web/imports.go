package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// An import goes in three steps: the file is uploaded (with its progress,
// app.js), its columns are mapped to contact fields and a list chosen, and
// it runs in the background while its page shows the progress live.

type importsData struct {
	Imports []store.Import
	Lists   map[int64]string
	Errors  map[string]string
}

// ListName is the name of the list an import's contacts joined.
func (d importsData) ListName(id *int64) string {
	if id == nil {
		return ""
	}
	return d.Lists[*id]
}

func (s *Server) importsData(ctx context.Context) (importsData, error) {
	ims, err := s.DB.ListImports(ctx, 100)
	if err != nil {
		return importsData{}, err
	}
	d := importsData{Imports: ims, Lists: map[int64]string{}}
	ls, err := s.DB.Lists(ctx)
	for _, l := range ls {
		d.Lists[l.ID] = l.Name
	}
	return d, err
}

func (s *Server) importsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.importsData(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "imports", "layout", d)
	return nil
}

// importUpload stores an uploaded file for its column mapping.
func (s *Server) importUpload(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	var errs map[string]string
	file, hdr, err := r.FormFile("file")
	if err != nil {
		errs = map[string]string{"file": "choose a CSV file"}
	} else {
		defer file.Close()
		im, err := s.Imports.Stage(ctx, path.Base(hdr.Filename), file, &p.ID)
		if err == nil {
			to := fmt.Sprintf("/imports/%d", im.ID)
			if isHTMX(r) {
				w.Header().Set("HX-Redirect", to)
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
		if msg, ok := errs[""]; ok {
			delete(errs, "")
			errs["file"] = msg
		}
	}
	d, err := s.importsData(ctx)
	if err != nil {
		return err
	}
	d.Errors = errs
	if isHTMX(r) {
		s.render(w, r, http.StatusUnprocessableEntity, "imports", "upload-form", d)
		return nil
	}
	s.render(w, r, http.StatusUnprocessableEntity, "imports", "layout", d)
	return nil
}

// importTargets are the targets a column may be mapped to, beside a custom
// field named after its header.
var importTargets = []string{imports.TargetName, imports.TargetPhone, imports.TargetOwner, imports.TargetTags,
	imports.TargetExternalID, imports.TargetIgnore}

// importColumn is one column of the mapping step.
type importColumn struct {
	Header  string
	Field   string // the custom-field target named after the header
	Target  string // chosen (or guessed)
	Samples []string
}

// importMapping is the mapping step's form.
type importMapping struct {
	Columns   []importColumn
	Delimiter string
	ListID    string // an existing list
	NewList   string // or a new one's name
	Tags      string
}

type importData struct {
	Import  store.Import
	List    *store.List
	Staged  bool
	Mapping importMapping
	Lists   []store.List
	Targets []string
	Errors  map[string]string
	Live    bool
	Since   string // the fingerprint the page shows, for its live stream
	Percent int
	Reasons []reasonCount
}

// reasonCount is a count by reason, most frequent first.
type reasonCount struct {
	Reason string
	Count  int64
}

func sortedReasons(by map[string]int64) []reasonCount {
	out := make([]reasonCount, 0, len(by))
	for k, v := range by {
		out = append(out, reasonCount{k, v})
	}
	slices.SortFunc(out, func(a, b reasonCount) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}

func importFingerprint(im store.Import) string {
	return fmt.Sprintf("%s|%d|%d|%d", im.Status, im.RowsDone, im.BytesDone, im.Rejected)
}

func (s *Server) importData(ctx context.Context, id int64) (importData, error) {
	im, err := s.DB.GetImport(ctx, id)
	if err != nil {
		return importData{}, err
	}
	d := importData{Import: im, Staged: imports.Staged(im), Since: importFingerprint(im), Reasons: sortedReasons(im.RejectedBy),
		Targets: importTargets}
	d.Live = im.Status == store.ImportPending || im.Status == store.ImportRunning
	if im.SizeBytes > 0 {
		d.Percent = int(min(100, im.BytesDone*100/im.SizeBytes))
	}
	if im.Status == store.ImportDone {
		d.Percent = 100
	}
	if im.ListID != nil {
		if l, err := s.DB.GetList(ctx, *im.ListID); err == nil {
			d.List = &l
		}
	}
	if d.Staged {
		cols, err := s.Imports.Columns(ctx, id)
		if err != nil {
			return d, err
		}
		d.Mapping.Delimiter = cols.Delimiter
		for i, h := range cols.Header {
			c := importColumn{Header: h, Field: "field:" + strings.ToLower(strings.TrimSpace(h)), Target: cols.Guess[i]}
			for _, row := range cols.Samples {
				c.Samples = append(c.Samples, row[i])
			}
			d.Mapping.Columns = append(d.Mapping.Columns, c)
		}
		d.Mapping.NewList = strings.TrimSuffix(im.Filename, path.Ext(im.Filename))
		if d.Lists, err = s.DB.Lists(ctx); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.importData(r.Context(), id)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "import", "layout", d)
	return nil
}

// importStart begins a staged import with the columns mapped as chosen.
func (s *Server) importStart(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.importData(ctx, id)
	if err != nil {
		return err
	}
	if !d.Staged {
		return sms.Errorf(sms.KindConflict, "import %d has started already", id)
	}
	r.ParseForm()
	targets := r.PostForm["target"]
	m := d.Mapping
	m.ListID, m.NewList, m.Tags = r.PostFormValue("list_id"), strings.TrimSpace(r.PostFormValue("new_list")), r.PostFormValue("tags")
	errs := map[string]string{}
	opts := imports.Options{Map: map[string]string{}, Delimiter: m.Delimiter}
	if len(targets) != len(m.Columns) {
		errs["target"] = "map every column of the file"
	}
	named := map[string]string{} // a column's name, any case → its target
	for i := range m.Columns {
		if i >= len(targets) {
			break
		}
		// The mapping goes by column name: two columns of one name must
		// become the same.
		key := strings.ToLower(strings.TrimSpace(m.Columns[i].Header))
		if prev, ok := named[key]; ok && key != "" && prev != targets[i] {
			errs["target"] = fmt.Sprintf("two columns are named %q: rename one in the file", m.Columns[i].Header)
		}
		named[key] = targets[i]
		t := targets[i]
		if t != m.Columns[i].Field && !containsString(importTargets, t) {
			errs["target"] = "map each column to a contact field, a custom field, or nothing"
			continue
		}
		m.Columns[i].Target = t
		if strings.TrimSpace(m.Columns[i].Header) != "" {
			opts.Map[m.Columns[i].Header] = t
		}
	}
	switch {
	case m.ListID != "" && m.NewList != "":
		errs["list_id"] = "an existing list or a new one, not both"
	case m.ListID != "":
		n, err := strconv.ParseInt(m.ListID, 10, 64)
		if err != nil || n < 1 {
			errs["list_id"] = "not a valid list"
			break
		}
		l, err := s.DB.GetList(ctx, n)
		if err != nil {
			if sms.KindOf(err) != sms.KindNotFound {
				return err
			}
			errs["list_id"] = "no such list"
			break
		}
		opts.List = l.Name
	default:
		opts.List = m.NewList
	}
	for _, t := range strings.Split(m.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			opts.Tags = append(opts.Tags, t)
		}
	}
	if len(errs) == 0 {
		_, err := s.Imports.Begin(ctx, id, opts, &p.ID)
		if err == nil {
			s.flash(w, r, s.tr(r, "Import started."))
			http.Redirect(w, r, fmt.Sprintf("/imports/%d", id), http.StatusSeeOther)
			return nil
		}
		if errs = importErrors(err); errs == nil {
			return err
		}
	}
	d.Mapping, d.Errors = m, errs
	s.render(w, r, http.StatusUnprocessableEntity, "import", "layout", d)
	return nil
}

// importErrors are an import's invalid-input errors for its form; a column
// mapping's "map.<column>" becomes the column's own message.
func importErrors(err error) map[string]string {
	if sms.KindOf(err) != sms.KindInvalid {
		return fieldErrors(err)
	}
	out := map[string]string{}
	var e *sms.Error
	if !asSMSError(err, &e) || len(e.Fields) == 0 {
		out[""] = errText(err)
		return out
	}
	for _, f := range e.Fields {
		switch {
		case f.Field == "map" || strings.HasPrefix(f.Field, "map."):
			col := strings.TrimPrefix(strings.TrimPrefix(f.Field, "map"), ".")
			msg := f.Message
			if col != "" {
				msg = col + ": " + msg
			}
			if prev := out["target"]; prev != "" {
				msg = prev + "; " + msg
			}
			out["target"] = msg
		case f.Field == "list":
			out["new_list"] = f.Message
		default:
			out[f.Field] = f.Message
		}
	}
	return out
}

func (s *Server) importDiscard(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Imports.DiscardStaged(r.Context(), id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Upload discarded."))
	http.Redirect(w, r, "/imports", http.StatusSeeOther)
	return nil
}

// importLive streams an import's progress until it ends.
func (s *Server) importLive(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.DB.GetImport(r.Context(), id); err != nil {
		return err
	}
	return s.stream(w, r, liveSince(r, func() (string, error) {
		im, err := s.DB.GetImport(r.Context(), id)
		if err != nil {
			return "", err
		}
		return importFingerprint(im), nil
	}), func() (string, bool, error) {
		d, err := s.importData(r.Context(), id)
		if err != nil {
			return "", true, err
		}
		if !d.Live {
			html, err := s.renderString(r, "import", "import-live-final", d)
			return html, true, err
		}
		html, err := s.renderString(r, "import", "import-progress", d)
		return html, false, err
	})
}

// importRejected downloads an import's rejected rows as CSV, with the
// reason beside each.
func (s *Server) importRejected(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.DB.GetImport(r.Context(), id); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="recado-import-%d-rejected.csv"`, id))
	if err := s.Imports.Rejected(r.Context(), id, w); err != nil {
		s.Logger.Warn("web: rejected rows", "import", id, "err", err)
	}
	return nil
}

func containsString(list []string, v string) bool { return slices.Contains(list, v) }
