package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
)

// apiOperation is one operation of the API, with its path ready to call
// (path parameters filled with values that exist on a new Recado, or not).
type apiOperation struct {
	id, method, path string
	template         string   // the path with its {parameters}
	query            []string // its query parameters
	params           []string // its path parameters
	body             bool     // whether it takes a body
}

// pathDefaults are the path parameters filled in: things a new Recado has,
// or that it answers 404 for.
var pathDefaults = map[string]string{"id": "1", "name": "mock", "delivery": "1", "phone": "%2B5511900000001"}

// withPath returns op's path with parameter name set to value (escaped) and
// the others at their defaults.
func (op apiOperation) withPath(name, value string) string {
	var pairs []string
	for k, v := range pathDefaults {
		if k == name {
			v = url.PathEscape(value)
		}
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(op.template)
}

// apiOperations lists every operation of the API from its OpenAPI
// description, sorted by id, so that a fuzz input's operation number means
// the same operation every run. A new route is fuzzed without more code.
func apiOperations() []apiOperation {
	srv := api.New(http.NewServeMux(), api.Deps{Version: "test"})
	var out []apiOperation
	for path, item := range srv.OpenAPI().Paths {
		for method, o := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
		} {
			if o == nil {
				continue
			}
			op := apiOperation{id: o.OperationID, method: method, template: path, body: o.RequestBody != nil}
			op.path = op.withPath("", "")
			for _, p := range o.Parameters {
				switch p.In {
				case "query":
					op.query = append(op.query, p.Name)
				case "path":
					op.params = append(op.params, p.Name)
				}
			}
			out = append(out, op)
		}
	}
	slices.SortFunc(out, func(a, b apiOperation) int { return strings.Compare(a.id, b.id) })
	return out
}

// checkAnswer fails t unless r is an answer a client can rely on: never a
// 5xx for what a client sent, JSON when it says so, and a problem document
// with its own status when it refuses.
func checkAnswer(t *testing.T, what string, r apptest.Response) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s: %d, a server error for the client's input: %s", what, r.Status, r.Body)
	}
	ct := r.Header.Get("Content-Type")
	if strings.Contains(ct, "json") && len(r.Body) > 0 && !json.Valid(r.Body) {
		t.Fatalf("%s: %d with a %s body that is not JSON: %q", what, r.Status, ct, r.Body)
	}
	if r.Status >= 400 {
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil || p.Status != r.Status || p.Title == "" {
			t.Fatalf("%s: %d refused without a problem document saying so: %s", what, r.Status, r.Body)
		}
	}
}

// FuzzRequestBodies posts arbitrary bodies to every operation that takes
// one, as a manager: whatever the body, the answer is a success or a clear
// 4xx problem, never a 5xx or a crash.
func FuzzRequestBodies(f *testing.F) {
	ops := apiOperations()
	var withBody []apiOperation
	for _, op := range ops {
		if op.body {
			withBody = append(withBody, op)
		}
	}
	seeds := map[string][]string{
		"send-message":    {`{"to":"+5511900000001","body":"Olá"}`, `{"to":"(11) 3333-0001","body":"x"}`, `{"contact_id":-1,"body":""}`, `{"to":"+5511900000001","body":"x","send_at":"amanhã"}`},
		"send-batch":      {`{"messages":[{"to":"+5511900000001","body":"a"},{"to":"11900000002","body":"b","kind":"transactional"}]}`, `{"messages":[]}`, `{"messages":null}`},
		"create-contact":  {`{"name":"Fulana Teste","phone":"11900000003","fields":{"cpf":"000"},"tags":["a"]}`, `{"phone":"abc"}`},
		"create-provider": {`{"name":"k","type":"kolmeya","settings":{"token":"t","segment_id":"x"}}`, `{"name":"m2","type":"mock","settings":{"outcomes":{"delivered":-1}}}`},
		"update-provider": {`{"settings":{"send_latency":"-5s"}}`, `{"active":null}`},
		"create-user":     {`{"username":"u","role":"root","password":"x"}`},
		"create-webhook":  {`{"url":"javascript:alert(1)","events":["x"]}`, `{"url":"https://crm.example.test/h","events":["message.delivered"]}`},
		"add-blacklist":   {`{"phones":["+5511900000009"],"reason":"x"}`, `{"phones":[1,2,3]}`},
	}
	for i, op := range withBody {
		for _, b := range append([]string{`{}`, ``, `null`, `[]`, `{"`, `{"unknown":1}`, strings.Repeat(`[`, 1000)}, seeds[op.id]...) {
			f.Add(uint8(i), []byte(b))
		}
	}
	s := apptest.New(f)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		op := withBody[int(which)%len(withBody)]
		r := s.Send(t, apptest.Request{Method: op.method, Path: op.path, Token: s.Token, Body: body})
		checkAnswer(t, op.method+" "+op.path, r)
	})
}

// FuzzQueryParameters reads every operation that takes query parameters
// with each of them set to an arbitrary value (SQL, huge numbers, control
// characters): the answer is a page or a clear 4xx, never a 5xx.
func FuzzQueryParameters(f *testing.F) {
	var ops []apiOperation
	for _, op := range apiOperations() {
		if len(op.query) > 0 {
			ops = append(ops, op)
		}
	}
	for i := range ops {
		for _, v := range sqlInjections {
			f.Add(uint8(i), v)
		}
		for _, v := range []string{"", "1", "-1", "0", "99999999999999999999", "sent,delivered", "2026-11-25T00:00:00-03:00", "true", "\x00", "%", "_"} {
			f.Add(uint8(i), v)
		}
	}
	s := apptest.New(f)
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		op := ops[int(which)%len(ops)]
		q := url.Values{}
		for _, name := range op.query {
			q.Set(name, value)
		}
		r := s.Send(t, apptest.Request{Method: op.method, Path: op.path + "?" + q.Encode(), Token: s.Token})
		checkAnswer(t, op.method+" "+op.path+"?"+q.Encode(), r)
	})
}
