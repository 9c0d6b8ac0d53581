package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// waitImport polls an import until it is done or failed.
func waitImport(t *testing.T, s *apptest.Server, id int64) store.Import {
	t.Helper()
	var im store.Import
	apptest.Eventually(t, 30*time.Second, "the import to finish", func() bool {
		im = apptest.JSON[store.Import](t, s, http.MethodGet, fmt.Sprintf("/api/v1/imports/%d", id), s.Token, nil, http.StatusOK)
		return im.Status == store.ImportDone || im.Status == store.ImportFailed
	})
	return im
}

func TestImportsListsSegments(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		_, op := s.Operator(t, "ana")

		file := "nome;telefone;cidade;tags\nFulana Teste;(11) 90000-0201;Campinas;vip\nBeltrana Teste;11900000202;Santos;\nSem Número;;Santos;\nFulana Repetida;+5511900000201;;novo\n"
		im := apptest.JSON[store.Import](t, s, http.MethodPost, "/api/v1/imports?list=Clientes&tags=csv&map=cidade%3Dfield:municipio", op, file, http.StatusAccepted)
		if im.Status != store.ImportPending || im.SizeBytes != int64(len(file)) || im.ListID == nil {
			t.Fatalf("upload answered %+v", im)
		}
		im = waitImport(t, s, im.ID)
		if im.Status != store.ImportDone || im.Inserted != 2 || im.Merged != 1 || im.Rejected != 1 || im.RejectedBy["phone_empty"] != 1 {
			t.Fatalf("import finished as %+v", im)
		}
		res := s.Send(t, apptest.Request{Method: http.MethodGet, Path: fmt.Sprintf("/api/v1/imports/%d/rejected.csv", im.ID), Token: op})
		if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(string(res.Body), "4,phone_empty,Sem Número;;Santos;") {
			t.Errorf("rejected.csv: %d %q %s", res.Status, res.Header.Get("Content-Type"), res.Body)
		}

		// A multipart upload of a second file into the same list.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "mais.csv")
		fw.Write([]byte("phone,name,municipio\n11900000203,Ciclana Teste,Campinas\n"))
		mw.Close()
		res = s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/imports?list=Clientes", Token: op, Body: body.Bytes(),
			Header: http.Header{"Content-Type": {mw.FormDataContentType()}}})
		if res.Status != http.StatusAccepted {
			t.Fatalf("multipart upload: %d %s", res.Status, res.Body)
		}
		var im2 store.Import
		mustJSON(t, res.Body, &im2)
		if im2 = waitImport(t, s, im2.ID); im2.Inserted != 1 || im2.Filename != "mais.csv" {
			t.Fatalf("second import %+v", im2)
		}

		lists := apptest.JSON[struct{ Lists []store.List }](t, s, http.MethodGet, "/api/v1/lists", op, nil, http.StatusOK)
		if len(lists.Lists) != 1 || lists.Lists[0].Members != 3 {
			t.Fatalf("lists %+v", lists)
		}
		listID := lists.Lists[0].ID
		inList := apptest.JSON[contactList](t, s, http.MethodGet, fmt.Sprintf("/api/v1/contacts?list=%d", listID), op, nil, http.StatusOK)
		if len(inList.Contacts) != 3 {
			t.Errorf("contacts in the list: %d", len(inList.Contacts))
		}
		vip := apptest.JSON[contactList](t, s, http.MethodGet, "/api/v1/contacts?tag=vip", op, nil, http.StatusOK)
		if len(vip.Contacts) != 1 || vip.Contacts[0].Name != "Fulana Repetida" || len(vip.Contacts[0].Tags) != 3 {
			t.Errorf("tagged vip: %+v", vip.Contacts)
		}

		seg := apptest.JSON[struct {
			ID       int64
			Contacts int64
		}](t, s, http.MethodPost, "/api/v1/segments", op, map[string]any{"name": "Campinas", "filter": map[string]any{
			"conditions": []map[string]any{{"field": "field.municipio", "op": "eq", "value": "campinas"},
				{"field": "list", "op": "in", "value": fmt.Sprint(listID)}, {"field": "last_sms", "op": "never"}}}}, http.StatusCreated)
		if seg.Contacts != 2 {
			t.Errorf("segment selects %d contacts, want 2", seg.Contacts)
		}
		bySeg := apptest.JSON[contactList](t, s, http.MethodGet, fmt.Sprintf("/api/v1/contacts?segment=%d", seg.ID), op, nil, http.StatusOK)
		if len(bySeg.Contacts) != 2 {
			t.Errorf("contacts by segment: %d", len(bySeg.Contacts))
		}
		anyOf := apptest.JSON[struct{ Contacts int64 }](t, s, http.MethodPost, "/api/v1/segments/count", op, map[string]any{"filter": map[string]any{
			"match": "any", "conditions": []map[string]any{{"field": "name", "op": "contains", "value": "beltrana"},
				{"field": "tag", "op": "has", "value": "vip"}, {"field": "replied", "op": "within_days", "value": "30"}}}}, http.StatusOK)
		if anyOf.Contacts != 2 {
			t.Errorf("any-of filter counts %d, want 2", anyOf.Contacts)
		}

		t.Run("bad input changes nothing", func(t *testing.T) {
			before := countContacts(t, s)
			tests := []struct {
				name, path, token string
				body              any
				status            int
				field             string
			}{
				{"no phone column", "/api/v1/imports", op, "nome,cidade\nFulana,Campinas\n", 202, ""}, // accepted, fails in the job
				{"bad mapping", "/api/v1/imports?map=telefone", op, "telefone\n11900000299\n", 422, "map"},
				{"bad target", "/api/v1/imports?map=telefone%3Dcelular", op, "telefone\n11900000299\n", 422, "map.telefone"},
				{"empty file", "/api/v1/imports", op, "", 422, "file"},
				{"bad delimiter", "/api/v1/imports?delimiter=%7C", op, "telefone\n11900000299\n", 422, "delimiter"},
				{"no permission", "/api/v1/imports", "", "telefone\n11900000299\n", 401, ""},
				{"bad segment field", "/api/v1/segments", op, map[string]any{"name": "x", "filter": map[string]any{"conditions": []map[string]any{{"field": "cpf", "op": "eq", "value": "1"}}}}, 422, "filter.conditions[0].field"},
				{"bad segment op", "/api/v1/segments", op, map[string]any{"name": "x", "filter": map[string]any{"conditions": []map[string]any{{"field": "tag", "op": "eq", "value": "1"}}}}, 422, "filter.conditions[0].op"},
				{"bad segment value", "/api/v1/segments", op, map[string]any{"name": "x", "filter": map[string]any{"conditions": []map[string]any{{"field": "replied", "op": "within_days", "value": "ontem"}}}}, 422, "filter.conditions[0].value"},
				{"injection in a field key", "/api/v1/segments/count", op, map[string]any{"filter": map[string]any{"conditions": []map[string]any{{"field": "field.x') OR 1=1 --", "op": "eq", "value": "1"}}}}, 422, "filter.conditions[0].field"},
				{"segment name taken", "/api/v1/segments", op, map[string]any{"name": "Campinas", "filter": map[string]any{"conditions": []any{}}}, 422, "name"},
				{"list name taken", "/api/v1/lists", op, map[string]any{"name": "Clientes"}, 422, "name"},
				{"unknown member", fmt.Sprintf("/api/v1/lists/%d/members", listID), op, map[string]any{"add": []int64{999999}}, 422, "add"},
				{"operator cannot delete a list", fmt.Sprintf("/api/v1/lists/%d", listID), op, nil, 403, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					method := http.MethodPost
					if strings.HasPrefix(tt.name, "operator cannot delete") {
						method = http.MethodDelete
					}
					res := s.Send(t, apptest.Request{Method: method, Path: tt.path, Token: tt.token, Body: tt.body})
					if tt.status == 202 {
						var im store.Import
						mustJSON(t, res.Body, &im)
						if im = waitImport(t, s, im.ID); im.Status != store.ImportFailed || !strings.Contains(im.Error, "phone") {
							t.Errorf("import without a phone column: %+v", im)
						}
						return
					}
					checkProblem(t, res, tt.status, tt.field)
				})
			}
			if after := countContacts(t, s); after != before {
				t.Errorf("bad input changed the contacts: %d → %d", before, after)
			}
			if l := apptest.JSON[store.List](t, s, http.MethodGet, fmt.Sprintf("/api/v1/lists/%d", listID), op, nil, http.StatusOK); l.Members != 3 {
				t.Errorf("bad input changed the list: %+v", l)
			}
		})
	})
}

func mustJSON(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %T: %v; body: %s", v, err, raw)
	}
}
