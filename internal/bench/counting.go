package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
)

// countingKolmeya is a Kolmeya that answers /sms/store by taking every
// message and keeps, of each, only how many times its reference was taken:
// a byte per recipient for campaign references ("cp<campaign>.<contact>").
// The fake Kolmeya keeps every message it accepted, some hundreds of bytes
// each, in this process's heap; a campaign of a million would put its
// records in the peak memory measured as if they were Recado's. Every other
// endpoint is the fake's (next).
type countingKolmeya struct {
	next     http.Handler
	token    string
	onAccept func(n int) // called with each request's count of messages taken
	srv      *httptest.Server

	mu       sync.Mutex
	seq      int64
	byCamp   map[int64][]uint8 // campaign → contact id → times taken (at most 255)
	other    map[string]int    // references of any other shape
	total    int
	requests int
	first    time.Time
	last     time.Time
}

// newCountingKolmeya starts one on a loopback port, in front of next.
func newCountingKolmeya(next http.Handler, token string, onAccept func(n int)) *countingKolmeya {
	k := &countingKolmeya{next: next, token: token, onAccept: onAccept,
		byCamp: map[int64][]uint8{}, other: map[string]int{}}
	k.srv = httptest.NewServer(k)
	return k
}

// URL is the base URL to configure a Kolmeya provider with.
func (k *countingKolmeya) URL() string { return k.srv.URL + kolmeyatest.BasePath }

// Close stops it.
func (k *countingKolmeya) Close() { k.srv.Close() }

type countingValid struct {
	ID        string `json:"id"`
	Phone     int64  `json:"phone"`
	Reference string `json:"reference"`
}

type countingAnswer struct {
	ID         string          `json:"id"`
	Reference  string          `json:"reference"`
	Valids     []countingValid `json:"valids"`
	Invalids   []struct{}      `json:"invalids"`
	Duplicates []struct{}      `json:"duplicates"`
	Blacklist  []struct{}      `json:"blacklist"`
	NotDisturb []struct{}      `json:"not_disturb"`
}

func (k *countingKolmeya) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != kolmeyatest.BasePath+"/sms/store" {
		k.next.ServeHTTP(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+k.token {
		http.Error(w, `{"message":"Unauthenticated."}`, http.StatusUnauthorized)
		return
	}
	var in kolmeya.StoreRequest
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil || len(in.Messages) == 0 || len(in.Messages) > kolmeya.MaxStoreMessages {
		http.Error(w, `{"errors":["O campo messages é inválido."]}`, http.StatusUnprocessableEntity)
		return
	}
	out := countingAnswer{Reference: in.Reference, Valids: make([]countingValid, len(in.Messages)),
		Invalids: []struct{}{}, Duplicates: []struct{}{}, Blacklist: []struct{}{}, NotDisturb: []struct{}{}}
	k.mu.Lock()
	k.seq++
	out.ID = "bench-req-" + strconv.FormatInt(k.seq, 10)
	for i, m := range in.Messages {
		k.countLocked(m.Reference)
		phone, _ := strconv.ParseInt(kolmeya.NationalDigits(m.Phone), 10, 64)
		out.Valids[i] = countingValid{ID: out.ID + "-" + strconv.Itoa(i), Phone: phone, Reference: m.Reference}
	}
	k.total += len(in.Messages)
	k.requests++
	now := time.Now()
	if k.first.IsZero() {
		k.first = now
	}
	k.last = now
	k.mu.Unlock()
	if k.onAccept != nil {
		k.onAccept(len(in.Messages))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (k *countingKolmeya) countLocked(ref string) {
	camp, contact, ok := campaignRef(ref)
	if !ok {
		k.other[ref]++
		return
	}
	c := k.byCamp[camp]
	if int64(len(c)) <= contact {
		c = append(c, make([]uint8, int(contact)+1-len(c))...)
		k.byCamp[camp] = c
	}
	if c[contact] < 255 {
		c[contact]++
	}
}

// campaignRef reads a campaign message's reference, "cp<campaign>.<contact>".
func campaignRef(ref string) (campaign, contact int64, ok bool) {
	rest, found := strings.CutPrefix(ref, "cp")
	a, b, dot := strings.Cut(rest, ".")
	if !found || !dot {
		return 0, 0, false
	}
	campaign, err1 := strconv.ParseInt(a, 10, 64)
	contact, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || campaign <= 0 || contact <= 0 || contact > 1<<34 {
		return 0, 0, false
	}
	return campaign, contact, true
}

// Total is how many messages it took in all, in how many requests, and
// when it took the first and the last.
func (k *countingKolmeya) Total() (messages, requests int, first, last time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.total, k.requests, k.first, k.last
}

// CheckCampaign checks that it took the message of campaign to each of
// contacts exactly once and nothing else, and says so in a line for the
// report.
func (k *countingKolmeya) CheckCampaign(campaign int64, contacts func(yield func(int64) bool)) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.byCamp[campaign]
	var n, lost, doubled int
	for id := range contacts {
		n++
		var times uint8
		if id > 0 && id < int64(len(c)) {
			times = c[id]
		}
		switch {
		case times == 0:
			lost++
		case times > 1:
			doubled++
		}
	}
	if lost > 0 || doubled > 0 || k.total != n {
		return "", fmt.Errorf("of %d recipients, Kolmeya never accepted %d and accepted %d more than once; it accepted %d messages in all",
			n, lost, doubled, k.total)
	}
	return fmt.Sprintf("Kolmeya accepted each of the %d recipients' messages exactly once", n), nil
}
