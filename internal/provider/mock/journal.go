package mock

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/recado-sms/recado/internal/provider"
)

// journal is the mock's durable record of accepted messages: one JSON line
// per acceptance, synced before Send answers.
type journal struct {
	f   *os.File
	buf *bufio.Writer
}

type journalEntry struct {
	Batch  string          `json:"b"`
	Result provider.Result `json:"r"`
}

func openJournal(path string) (*journal, []journalEntry, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("mock: journal: %w", err)
	}
	var entries []journalEntry
	r := bufio.NewReaderSize(f, 64<<10)
	var whole int64 // the length of the journal's complete lines
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break // a line without its newline was torn by a crash while written: never acknowledged
		}
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("mock: journal: %w", err)
		}
		whole += int64(len(line))
		var e journalEntry
		if json.Unmarshal(line, &e) == nil {
			entries = append(entries, e)
		}
	}
	// Cut a torn tail off, or the next entry would be glued to it and lost.
	if err := f.Truncate(whole); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("mock: journal: %w", err)
	}
	return &journal{f: f, buf: bufio.NewWriter(f)}, entries, nil
}

func (j *journal) add(batch string, r provider.Result) {
	b, _ := json.Marshal(journalEntry{Batch: batch, Result: r})
	j.buf.Write(b)
	j.buf.WriteByte('\n')
}

func (j *journal) sync() error {
	if err := j.buf.Flush(); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *journal) close() error {
	j.buf.Flush()
	return j.f.Close()
}

// JournalCounts reads a journal file and returns how many times each message
// reference was accepted, for tests that check nothing was sent twice.
func JournalCounts(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			counts[e.Result.Reference]++
		}
	}
	return counts, sc.Err()
}
