package imports

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// An upload can also wait for its column mapping before it is imported, as
// the web UI does: Stage stores the file (status uploading), Columns shows
// its header with a few rows and the target guessed for each column, and
// Begin starts the import with the mapping chosen. DiscardStaged drops a
// staged file that will not be imported.

// Columns is what a staged file holds at its start: the separator, the
// header, the first rows, and the target each column would get unmapped.
type Columns struct {
	Delimiter string     // ",", ";" or "tab"
	Header    []string   // as written
	Guess     []string   // per column: name, phone, owner, tags, external_id, ignore or field:<key>
	Samples   [][]string // the first few data rows, each as long as Header
}

// SampleRows is how many data rows Columns shows.
const SampleRows = 5

// StagedFor is how long a staged file waits for its mapping, or an upload
// cut short (its client gone, its process killed) for the rest of its file:
// the sweeper, and staging another, remove those older.
const StagedFor = 24 * time.Hour

// Stage stores an uploaded file for an import that waits for its column
// mapping (see Begin). Nothing is kept when the file cannot be read whole
// or is empty.
func (s *Service) Stage(ctx context.Context, filename string, r io.Reader, by *int64) (store.Import, error) {
	if len(filename) > 200 {
		filename = filename[:200]
	}
	if n, err := s.db.DeleteStaleUploads(ctx, s.db.Now().Add(-StagedFor)); err != nil {
		return store.Import{}, err
	} else if n > 0 {
		s.log.Info("stale uploads removed", "imports", n)
	}
	im, err := s.db.CreateImport(ctx, store.Import{Filename: filename, CreatedBy: by})
	if err != nil {
		return im, err
	}
	ok := false
	defer func() {
		if !ok {
			s.db.DeleteImport(context.WithoutCancel(ctx), im.ID)
		}
	}()
	buf := make([]byte, chunkBytes)
	var size int64
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			size += int64(n)
			if size > MaxUpload {
				return im, &sms.Error{Kind: sms.KindInvalid, Message: fmt.Sprintf("the file is larger than %d MiB", MaxUpload>>20), Code: "too_large",
					Fields: []sms.FieldError{{Field: "file", Message: fmt.Sprintf("at most %d MiB", MaxUpload>>20)}}}
			}
			if err := s.db.AddImportChunk(ctx, im.ID, seq, buf[:n]); err != nil {
				return im, err
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return im, sms.Errorf(sms.KindInvalid, "reading the upload: %w", err)
		}
	}
	if size == 0 {
		return im, sms.Invalid("empty file", sms.FieldError{Field: "file", Message: "the file is empty"})
	}
	// The size marks the file whole; the status stays uploading until Begin.
	if err := s.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetImportStatus(ctx, im.ID, store.ImportUploading, size)
	}); err != nil {
		return im, err
	}
	if _, err := s.Columns(ctx, im.ID); err != nil {
		return im, err
	}
	ok = true
	return s.db.GetImport(ctx, im.ID)
}

// Staged reports whether im waits for its column mapping.
func Staged(im store.Import) bool { return im.Status == store.ImportUploading && im.SizeBytes > 0 }

// Columns reads the header and first rows of a staged file, decoded and
// split as its import will read them.
func (s *Service) Columns(ctx context.Context, id int64) (Columns, error) {
	var out Columns
	im, err := s.db.GetImport(ctx, id)
	if err != nil {
		return out, err
	}
	if !Staged(im) {
		return out, sms.Errorf(sms.KindConflict, "import %d is not waiting for its columns", id)
	}
	br := bufio.NewReaderSize(decoded(&chunkReader{ctx: ctx, db: s.db, id: id}), 64<<10)
	cv := csv.NewReader(br)
	cv.Comma = delimiter(br, "")
	cv.FieldsPerRecord = -1
	cv.LazyQuotes = true
	switch cv.Comma {
	case ';':
		out.Delimiter = ";"
	case '\t':
		out.Delimiter = "tab"
	default:
		out.Delimiter = ","
	}
	header, err := cv.Read()
	if errors.Is(err, io.EOF) {
		return out, sms.Invalid("empty file", sms.FieldError{Field: "file", Message: "the file has no header row"})
	}
	if err != nil {
		return out, sms.Invalid("unreadable file", sms.FieldError{Field: "file", Message: "the header row cannot be read: " + err.Error()})
	}
	if len(header) > 200 {
		return out, sms.Invalid("too many columns", sms.FieldError{Field: "file", Message: "at most 200 columns"})
	}
	out.Header = header
	out.Guess = guessTargets(header)
	for len(out.Samples) < SampleRows {
		rec, err := cv.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue
			}
			return out, err
		}
		row := make([]string, len(header))
		copy(row, rec)
		out.Samples = append(out.Samples, row)
	}
	return out, nil
}

// guessTargets is the target each column gets when nothing maps it: a
// known header name (nome, telefone, celular…) the first time it is seen,
// else a custom field named after the header; a column without a header is
// ignored.
func guessTargets(header []string) []string {
	out := make([]string, len(header))
	used := map[string]bool{}
	for i, h := range header {
		lh := strings.ToLower(strings.TrimSpace(h))
		switch t, ok := headerGuess[lh]; {
		case lh == "":
			out[i] = TargetIgnore
		case ok && !used[t]:
			out[i], used[t] = t, true
		default:
			out[i] = targetField + lh
		}
	}
	return out
}

// Begin starts the import of a staged file with opts (its Map keyed by the
// header's columns). The mapping is checked against the file's header
// first: a bad one is an invalid-input error and changes nothing.
func (s *Service) Begin(ctx context.Context, id int64, opts Options, by *int64) (store.Import, error) {
	if err := checkOptions(opts); err != nil {
		return store.Import{}, err
	}
	cols, err := s.Columns(ctx, id)
	if err != nil {
		return store.Import{}, err
	}
	users, err := s.users(ctx)
	if err != nil {
		return store.Import{}, err
	}
	if _, err := newParser(cols.Header, opts.Map, users, s.region, opts.Tags); err != nil {
		return store.Import{}, err
	}
	if opts.Delimiter == "" {
		opts.Delimiter = cols.Delimiter
	}
	listID, err := s.resolveList(ctx, opts.List, by)
	if err != nil {
		return store.Import{}, err
	}
	raw, _ := json.Marshal(opts)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.BeginStagedImport(ctx, id, raw, listID); err != nil {
			return err
		}
		return s.queue.EnqueueTx(ctx, tx, JobArgs{ImportID: id}, nil)
	})
	if err != nil {
		return store.Import{}, err
	}
	return s.db.GetImport(ctx, id)
}

// DiscardStaged drops a staged file that will not be imported.
func (s *Service) DiscardStaged(ctx context.Context, id int64) error {
	return s.db.DeleteStagedImport(ctx, id)
}
