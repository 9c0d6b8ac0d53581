package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// upload posts a multipart form with a file (none when filename is empty)
// and the browser's CSRF token unless fields set one.
func (b *browser) upload(path, filename, content string, fields url.Values, header http.Header) page {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if fields == nil {
		fields = url.Values{}
	}
	if _, ok := fields["csrf_token"]; !ok {
		fields.Set("csrf_token", b.csrf)
	}
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if filename != "" {
		w, _ := mw.CreateFormFile("file", filename)
		w.Write([]byte(content))
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range header {
		req.Header[k] = v
	}
	return b.do(req)
}

func listImports(t *testing.T, s *apptest.Server) []store.Import {
	t.Helper()
	ims, err := s.App.DB.ListImports(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return ims
}

// importCSV has a good row, a landline, a bad number, a row repeating the
// first one's phone (merged), and a new contact; semicolons, as
// spreadsheets in Brazil write them.
const importCSV = "nome;celular;cidade;codigo\n" +
	"Fulana Teste;(11) 90000-0001;Campinas;A1\n" +
	"Fixo Teste;(11) 3000-0001;Santos;A2\n" +
	"Errado Teste;abc;Santos;A3\n" +
	"Fulana de Novo;11900000001;Campinas;A1\n" +
	"Beltrana Teste;11 90000-0002;Santos;A4\n"

// TestImportPages: a CSV is uploaded, its columns are shown with the
// targets guessed, a bad mapping changes nothing, a good one imports in the
// background into a list, and the rejected rows download with their
// reasons.
func TestImportPages(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := newServer(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		ctx := context.Background()
		b := manager(t, s)
		b.get("/imports")

		for _, tt := range []struct {
			name, filename, content string
			fields                  url.Values
			want                    int
		}{
			{"no file", "", "", nil, http.StatusUnprocessableEntity},
			{"empty file", "vazio.csv", "", nil, http.StatusUnprocessableEntity},
			{"forged CSRF", "contatos.csv", importCSV, url.Values{"csrf_token": {"forged"}}, http.StatusForbidden},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantStatus(t, b.upload("/imports", tt.filename, tt.content, tt.fields, nil), tt.want)
				if ims := listImports(t, s); len(ims) != 0 {
					t.Fatalf("bad upload kept %d imports", len(ims))
				}
			})
		}

		// Through htmx (with the upload's progress) the answer sends the
		// browser to the mapping step.
		p := b.upload("/imports", "contatos.csv", importCSV, nil, http.Header{"Hx-Request": {"true"}})
		wantStatus(t, p, http.StatusNoContent)
		ims := listImports(t, s)
		if len(ims) != 1 || ims[0].Status != store.ImportUploading {
			t.Fatalf("after upload: %+v", ims)
		}
		path := fmt.Sprintf("/imports/%d", ims[0].ID)
		p = b.get(path)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `id="mapping-form"`, `data-column="nome"`, `<option value="name" selected>`, `<option value="phone" selected>`,
			`<option value="external_id" selected>`, `<option value="field:cidade" selected>`, "Campinas", `value="contatos"`)

		good := url.Values{"target": {"name", "phone", "field:cidade", "external_id"}, "new_list": {"Importados"}, "tags": {"importado"}}
		for _, tt := range []struct {
			name string
			form url.Values
		}{
			{"a column missing", url.Values{"target": {"name", "phone", "field:cidade"}}},
			{"unknown target", url.Values{"target": {"name", "phone", "bogus", "external_id"}}},
			{"no phone", url.Values{"target": {"name", "ignore", "field:cidade", "external_id"}}},
			{"two phones", url.Values{"target": {"phone", "phone", "field:cidade", "external_id"}}},
			{"two lists", mergeValues(url.Values{"list_id": {"1"}}, good)},
			{"unknown list", url.Values{"target": good["target"], "list_id": {"99999"}}},
			{"list name too long", url.Values{"target": good["target"], "new_list": {strings.Repeat("l", 101)}}},
			{"tag too long", url.Values{"target": good["target"], "tags": {strings.Repeat("t", 65)}}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				form := url.Values{}
				for k, v := range tt.form {
					form[k] = v
				}
				p := b.post(path+"/start", form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				wantContains(t, p, `id="form-errors"`, `id="mapping-form"`)
				if im, _ := s.App.DB.GetImport(ctx, ims[0].ID); im.Status != store.ImportUploading {
					t.Fatalf("a bad mapping started the import: %s", im.Status)
				}
			})
		}
		p = b.post(path+"/start", good)
		wantStatus(t, p, http.StatusSeeOther)
		apptest.Eventually(t, 20*time.Second, "the import done", func() bool {
			im, _ := s.App.DB.GetImport(ctx, ims[0].ID)
			return im.Status == store.ImportDone
		})
		im, _ := s.App.DB.GetImport(ctx, ims[0].ID)
		if im.Inserted != 2 || im.Merged != 1 || im.Rejected != 2 || im.RejectedBy["phone_landline"] != 1 {
			t.Fatalf("counts: %+v", im)
		}
		p = b.get(path)
		wantContains(t, p, `data-status="done"`, `id="import-inserted">2<`, `data-reason="phone_landline"`, `id="rejected-csv"`, `id="import-list"`)
		if strings.Contains(p.Body, "sse-connect") {
			t.Fatal("a finished import's page still streams")
		}
		p = b.get(path + "/rejected.csv")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "row,reason,original", "3,phone_landline,", "4,phone_characters,")
		l, err := s.App.DB.ListByName(ctx, "Importados")
		if err != nil || l.Members != 2 {
			t.Fatalf("list %+v %v", l, err)
		}
		wantContains(t, b.get("/imports"), "contatos.csv", `data-status="done"`)

		// A stream whose page was drawn before the end draws the end at
		// once, replacing its own element, and stops.
		p = b.get(path + "/live?since=running")
		wantContains(t, p, "event: update", `id="import-live-wrap" hx-swap-oob="true"`, `data-status="done"`)

		// A finished import cannot be started again nor discarded.
		wantStatus(t, b.post(path+"/start", good), http.StatusConflict)
		wantStatus(t, b.post(path+"/discard", nil), http.StatusConflict)

		// A staged upload can be discarded, by an operator too.
		op := operator(t, s, "operadora")
		op.get("/imports")
		wantStatus(t, op.upload("/imports", "outro.csv", "telefone\n11900000009\n", nil, nil), http.StatusSeeOther)
		ims = listImports(t, s)
		if len(ims) != 2 || ims[0].Status != store.ImportUploading {
			t.Fatalf("second upload: %+v", ims)
		}
		op.get(fmt.Sprintf("/imports/%d", ims[0].ID))
		wantStatus(t, op.post(fmt.Sprintf("/imports/%d/discard", ims[0].ID), nil), http.StatusSeeOther)
		if ims := listImports(t, s); len(ims) != 1 {
			t.Fatalf("not discarded: %d imports", len(ims))
		}

		// The mapping goes by column name: two columns of one name must
		// become the same thing.
		wantStatus(t, b.upload("/imports", "dobrado.csv", "nome;Nome;telefone\nFulana;Fulaninha;11900000007\n", nil, nil), http.StatusSeeOther)
		ims = listImports(t, s)
		p = b.post(fmt.Sprintf("/imports/%d/start", ims[0].ID), url.Values{"target": {"name", "ignore", "phone"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p, "two columns are named")
	})
}
