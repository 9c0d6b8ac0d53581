// Package imports brings contacts in from CSV files: streamed with bounded
// memory (a chunk of rows at a time), columns mapped to contact fields,
// phones normalised, duplicates merged, contacts upserted by external id or
// phone with a few set-based statements per chunk, rejected rows counted by
// reason and kept for download. An upload is stored in the database and
// imported by a queue job that records its progress with every chunk, so a
// crash resumes after the last chunk written.
package imports

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/periodic"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Options say how to read a file.
type Options struct {
	// Map maps column headers (any case) to name, phone, owner, tags,
	// external_id, ignore or field:<key>. Unmapped columns are guessed from
	// their header (nome, telefone, celular…) or become custom fields.
	Map map[string]string `json:"map,omitempty"`
	// List is the name of a list every imported contact joins; it is
	// created when missing.
	List string `json:"list,omitempty"`
	// Tags are given to every imported contact.
	Tags []string `json:"tags,omitempty"`
	// Delimiter is ",", ";" or "tab"; guessed from the header when empty.
	Delimiter string `json:"delimiter,omitempty"`
}

// Enqueuer puts a job on the queue inside a transaction.
type Enqueuer interface {
	EnqueueTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// Service runs imports.
type Service struct {
	db     *store.DB
	queue  Enqueuer
	log    *slog.Logger
	region string
	// ChunkRows is how many rows one transaction writes (5000).
	ChunkRows int
	// Slice is how long one run of an import job works before it yields
	// and continues in a new run (30 s): a run never outlives the queue's
	// stuck-job rescue.
	Slice time.Duration

	stop func() // stops the sweeper
}

// New returns a Service; SetQueue must be called before Upload.
func New(db *store.DB, log *slog.Logger) *Service {
	return &Service{db: db, log: log, region: "BR", ChunkRows: 5000, Slice: 30 * time.Second}
}

// SetQueue gives the Service the queue its jobs go on (the dispatcher, built
// after the Service registered its worker).
func (s *Service) SetQueue(q Enqueuer) { s.queue = q }

// validate checks opts and resolves the list, creating it when missing.
func (s *Service) resolveList(ctx context.Context, name string, by *int64) (*int64, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, nil
	}
	if len(name) > 100 {
		return nil, sms.Invalid("invalid list", sms.FieldError{Field: "list", Message: "at most 100 characters"})
	}
	l, err := s.db.ListByName(ctx, name)
	if sms.KindOf(err) == sms.KindNotFound {
		l, err = s.db.CreateList(ctx, name, "", by)
		if sms.KindOf(err) == sms.KindInvalid { // created meanwhile
			l, err = s.db.ListByName(ctx, name)
		}
	}
	if err != nil {
		return nil, err
	}
	return &l.ID, nil
}

func checkOptions(o Options) error {
	var bad []sms.FieldError
	if len(o.Map) > 200 {
		bad = append(bad, sms.FieldError{Field: "map", Message: "at most 200 columns"})
	}
	for k, v := range o.Map {
		if _, err := parseTarget(v); err != nil {
			bad = append(bad, sms.FieldError{Field: "map." + k, Message: err.Error(), Value: v})
		}
	}
	if len(o.Tags) > 20 {
		bad = append(bad, sms.FieldError{Field: "tags", Message: "at most 20 tags"})
	}
	for _, t := range o.Tags {
		if strings.TrimSpace(t) == "" || len(t) > 64 {
			bad = append(bad, sms.FieldError{Field: "tags", Message: "tags of 1 to 64 characters", Value: t})
		}
	}
	switch o.Delimiter {
	case "", ",", ";", "tab", "\t", "\\t":
	default:
		bad = append(bad, sms.FieldError{Field: "delimiter", Message: `",", ";" or "tab"`, Value: o.Delimiter})
	}
	if len(bad) > 0 {
		return sms.Invalid("invalid import options", bad...)
	}
	return nil
}

// MaxUpload is the largest file Upload takes (512 MiB).
const MaxUpload = 512 << 20

const chunkBytes = 1 << 20

// Upload stores a file and enqueues its import; the import runs in the
// background (see Get for its progress). Nothing is stored when the options
// are invalid or the file cannot be read whole.
func (s *Service) Upload(ctx context.Context, filename string, r io.Reader, opts Options, by *int64) (store.Import, error) {
	if err := checkOptions(opts); err != nil {
		return store.Import{}, err
	}
	listID, err := s.resolveList(ctx, opts.List, by)
	if err != nil {
		return store.Import{}, err
	}
	raw, _ := json.Marshal(opts)
	if len(filename) > 200 {
		filename = filename[:200]
	}
	im, err := s.db.CreateImport(ctx, store.Import{Filename: filename, Options: raw, ListID: listID, CreatedBy: by})
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
				return im, &sms.Error{Kind: sms.KindInvalid, Message: fmt.Sprintf("the file is larger than %d MiB", MaxUpload>>20), Code: "too_large"}
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
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetImportStatus(ctx, im.ID, store.ImportPending, size); err != nil {
			return err
		}
		return s.queue.EnqueueTx(ctx, tx, JobArgs{ImportID: im.ID}, nil)
	})
	if err != nil {
		return im, err
	}
	ok = true
	return s.db.GetImport(ctx, im.ID)
}

// Progress reports an import's totals as it goes.
type Progress func(c store.ImportCounts)

// RunFile imports a file in this process (the command line), recording it
// as an import so that its rejected rows can be listed too. It returns the
// finished import.
func (s *Service) RunFile(ctx context.Context, filename string, r io.Reader, size int64, opts Options, progress Progress) (store.Import, error) {
	if err := checkOptions(opts); err != nil {
		return store.Import{}, err
	}
	listID, err := s.resolveList(ctx, opts.List, nil)
	if err != nil {
		return store.Import{}, err
	}
	raw, _ := json.Marshal(opts)
	im, err := s.db.CreateImport(ctx, store.Import{Status: store.ImportRunning, Filename: filename, Options: raw, ListID: listID, SizeBytes: size})
	if err != nil {
		return im, err
	}
	counts := store.ImportCounts{}
	_, err = s.run(ctx, im.ID, listID, r, opts, 0, &counts, time.Time{}, progress)
	status, text := store.ImportDone, ""
	if err != nil {
		status, text = store.ImportFailed, err.Error()
	}
	if ferr := s.db.FinishImport(context.WithoutCancel(ctx), im.ID, status, text); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return im, err
	}
	return s.db.GetImport(ctx, im.ID)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// run reads r and writes its contacts chunk by chunk, skipping the first
// skip data rows (written by an earlier run). With a non-zero deadline it
// stops after the first chunk that ends past it, returning done=false.
func (s *Service) run(ctx context.Context, importID int64, listID *int64, r io.Reader, opts Options, skip int64,
	counts *store.ImportCounts, deadline time.Time, progress Progress) (done bool, err error) {
	users, err := s.users(ctx)
	if err != nil {
		return false, err
	}
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(decoded(cr), 64<<10)
	cv := csv.NewReader(br)
	cv.Comma = delimiter(br, opts.Delimiter)
	cv.FieldsPerRecord = -1
	cv.LazyQuotes = true
	cv.ReuseRecord = true
	header, err := cv.Read()
	if errors.Is(err, io.EOF) {
		return false, sms.Invalid("empty file", sms.FieldError{Field: "file", Message: "the file has no header row"})
	}
	if err != nil {
		return false, sms.Errorf(sms.KindInvalid, "the header row cannot be read: %v", err)
	}
	header = append([]string(nil), header...)
	p, err := newParser(header, opts.Map, users, s.region, opts.Tags)
	if err != nil {
		return false, err
	}
	p.rawCSV.Comma = cv.Comma
	// The file is read and its rows normalised on a goroutine of its own
	// while this one writes the chunk before: the two overlap, each with a
	// core. Memory stays bounded: the reader waits with one chunk ready.
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan chunk)
	var readErr error
	go func() {
		defer close(chunks)
		readErr = s.read(ctx, cv, cr, p, skip, store.ImportChunk{ImportID: importID, ListID: listID}, chunks)
	}()
	defer func() {
		cancel()
		for range chunks { // let the reader end
		}
	}()
	var read int64
	nextAnalyze := int64(20000)
	for ch := range chunks {
		read = ch.RowsRead
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			c := *counts
			c.RejectedBy = clone(counts.RejectedBy)
			if err := tx.ApplyImportChunk(ctx, ch.ImportChunk, &c); err != nil {
				return err
			}
			*counts = c
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("imports: write rows up to %d: %w", read+1, err)
		}
		if progress != nil {
			progress(*counts)
		}
		if read >= nextAnalyze {
			// The contacts table grows fast: keep PostgreSQL's plans on its indexes.
			nextAnalyze *= 4
			if err := s.db.Analyze(ctx, "contacts", "list_members"); err != nil {
				return false, err
			}
		}
		if ch.last {
			return true, nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return false, nil
		}
	}
	if readErr == nil {
		readErr = ctx.Err() // the reader ends early only on an error
	}
	return false, readErr
}

// chunk is a chunk of rows read, and whether the file ends with it.
type chunk struct {
	store.ImportChunk
	last bool
}

// read reads the rows of cv after the first skip, normalised by p, and
// sends them to out in chunks of ChunkRows (rows and rejects), each a
// fresh copy of ch with its rows; duplicates within a chunk are merged. The
// last chunk, maybe empty, says so. It returns early only with an error:
// ctx's, or the file's.
func (s *Service) read(ctx context.Context, cv *csv.Reader, cr *countingReader, p *parser, skip int64,
	ch store.ImportChunk, out chan<- chunk) error {
	chunkRows := max(s.ChunkRows, 1)
	byPhone, byExt := map[string]int{}, map[string]int{}
	var read int64
	send := func(last bool) error {
		ch.RowsRead, ch.Bytes = read, cr.n
		select {
		case out <- chunk{ImportChunk: ch, last: last}:
		case <-ctx.Done():
			return ctx.Err()
		}
		ch.Rows, ch.Rejects, ch.Merged = make([]store.ImportRow, 0, len(ch.Rows)), nil, 0
		clear(byPhone)
		clear(byExt)
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cv.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		read++
		line := int(read) + 1
		if read <= skip {
			continue
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("imports: read row %d: %w", line, err)
			}
			ch.Rejects = append(ch.Rejects, store.ImportReject{Line: line, Reason: ReasonMalformed, Raw: p.raw(rec)})
		} else if row, reason := p.row(rec, line); reason != "" {
			ch.Rejects = append(ch.Rejects, store.ImportReject{Line: line, Reason: reason, Raw: p.raw(rec)})
		} else {
			i, dup := byPhone[row.Phone]
			if !dup && row.ExternalID != "" {
				i, dup = byExt[row.ExternalID]
			}
			if dup {
				merge(&ch.Rows[i], row)
				ch.Merged++
				byPhone[row.Phone] = i
			} else {
				row.Raw = p.raw(rec)
				ch.Rows = append(ch.Rows, row)
				i = len(ch.Rows) - 1
				byPhone[row.Phone] = i
			}
			if row.ExternalID != "" {
				byExt[row.ExternalID] = i
			}
		}
		if len(ch.Rows)+len(ch.Rejects) >= chunkRows {
			if err := send(false); err != nil {
				return err
			}
		}
	}
	return send(true)
}

func clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// users maps usernames and ids (as text) to user ids, for the owner column.
func (s *Service) users(ctx context.Context) (map[string]int64, error) {
	us, err := s.db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, 2*len(us))
	for _, u := range us {
		out[strings.ToLower(u.Username)] = u.ID
		out[strconv.FormatInt(u.ID, 10)] = u.ID
	}
	return out, nil
}

// JobArgs is the queue job that imports one upload.
type JobArgs struct {
	ImportID int64 `json:"import_id"`
}

// Kind names the job for the queue.
func (JobArgs) Kind() string { return "import_contacts" }

// InsertOpts puts the job on the imports queue.
func (JobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 10}
}

// Queue is the queue import jobs run on.
const Queue = "imports"

// Register adds the import worker to the queue's workers.
func (s *Service) Register(w *river.Workers) { river.AddWorker(w, &worker{s: s}) }

type worker struct {
	river.WorkerDefaults[JobArgs]
	s *Service
}

// Timeout leaves room for a slice of work and its last chunk.
func (w *worker) Timeout(*river.Job[JobArgs]) time.Duration { return w.s.Slice + 90*time.Second }

func (w *worker) Work(ctx context.Context, job *river.Job[JobArgs]) error {
	return w.s.work(ctx, job.Args.ImportID)
}

// work runs one slice of an import: claim it, skip the rows already written,
// import until the slice ends, and either finish it or snooze to go on.
func (s *Service) work(ctx context.Context, id int64) error {
	lease := w2lease(s.Slice)
	im, ok, err := s.db.ClaimImport(ctx, id, time.Now().Add(lease))
	if err != nil {
		return err
	}
	if !ok {
		cur, err := s.db.GetImport(ctx, id)
		if err != nil || cur.Status == store.ImportDone || cur.Status == store.ImportFailed {
			return nil // gone or finished: nothing to do
		}
		return river.JobSnooze(5 * time.Second) // another run holds it
	}
	var opts Options
	if err := json.Unmarshal(im.Options, &opts); err != nil {
		return s.db.FinishImport(ctx, id, store.ImportFailed, "unreadable options: "+err.Error())
	}
	counts := store.ImportCounts{Rows: im.RowsDone, Bytes: im.BytesDone, Inserted: im.Inserted, Updated: im.Updated,
		Merged: im.Merged, Rejects: im.Rejected, RejectedBy: im.RejectedBy}
	done, err := s.run(ctx, id, im.ListID, &chunkReader{ctx: ctx, db: s.db, id: id}, opts, im.RowsDone, &counts, time.Now().Add(s.Slice), nil)
	if err != nil {
		if sms.KindOf(err) == sms.KindInvalid {
			return s.db.FinishImport(ctx, id, store.ImportFailed, describe(err))
		}
		s.db.ReleaseImport(context.WithoutCancel(ctx), id)
		return err // retried by the queue; resumes after the last chunk written
	}
	if !done {
		s.db.ReleaseImport(context.WithoutCancel(ctx), id)
		return river.JobSnooze(time.Millisecond)
	}
	s.log.Info("contact import finished", "import", id, "rows", counts.Rows, "inserted", counts.Inserted,
		"updated", counts.Updated, "rejected", counts.Rejects)
	return s.db.FinishImport(ctx, id, store.ImportDone, "")
}

func w2lease(slice time.Duration) time.Duration { return slice + 2*time.Minute }

// Sweep hands each running import whose run died (a crash, a kill -9) while
// holding its lease, once the lease ran out, to a new job, which resumes it
// after the last chunk written. It returns how many. Without it such an
// import would wait for the queue's stuck-job rescue (over ten minutes).
// It also removes the uploads left waiting longer than StagedFor (a staged
// file never mapped, an upload whose client or process died part-way).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if n, err := s.db.DeleteStaleUploads(ctx, s.db.Now().Add(-StagedFor)); err != nil {
		return 0, err
	} else if n > 0 {
		s.log.Info("stale uploads removed", "imports", n)
	}
	var n int
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ids, err := tx.HandOverOrphanImports(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.queue.EnqueueTx(ctx, tx, JobArgs{ImportID: id}, nil); err != nil {
				return fmt.Errorf("imports: resume import %d: %w", id, err)
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// RunSweeper runs Sweep every interval until StopSweeper.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	s.stop = periodic.Start(ctx, interval, func(ctx context.Context) {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("import sweep failed", "err", err)
		} else if n > 0 {
			s.log.Info("resumed imports whose run died", "imports", n)
		}
	})
}

// StopSweeper stops the sweeper and waits for it.
func (s *Service) StopSweeper() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// chunkReader reads an uploaded file back from the database, a stored chunk
// at a time.
type chunkReader struct {
	ctx context.Context
	db  *store.DB
	id  int64
	seq int
	buf []byte
	eof bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		data, err := c.db.ImportChunk(c.ctx, c.id, c.seq)
		if err != nil {
			return 0, err
		}
		if data == nil {
			c.eof = true
			continue
		}
		c.buf = data
		c.seq++
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// Rejected writes an import's rejected rows as CSV, with the reason and the
// row number first, then the row as it was.
func (s *Service) Rejected(ctx context.Context, id int64, w io.Writer) error {
	if _, err := s.db.GetImport(ctx, id); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("row,reason,original\n")
	cw := csv.NewWriter(bw)
	after := 0
	for {
		rs, err := s.db.ImportRejects(ctx, id, after, 5000)
		if err != nil {
			return err
		}
		for _, r := range rs {
			cw.Write([]string{strconv.Itoa(r.Line), r.Reason, r.Raw})
		}
		cw.Flush()
		if len(rs) < 5000 {
			break
		}
		after = rs[len(rs)-1].Line
	}
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// describe spells out an error with its bad fields, for an import's error.
func describe(err error) string {
	var e *sms.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err.Error()
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += "; " + f.Field + ": " + f.Message
	}
	return msg
}
