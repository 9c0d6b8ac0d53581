package api

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

type uploadKey struct{}

// upload is the raw request body of an operation that streams it.
type upload struct {
	body        io.Reader
	contentType string
}

// streamBody hands the operation the request body unread, so that a large
// upload streams instead of being held in memory.
func streamBody(ctx huma.Context, next func(huma.Context)) {
	next(huma.WithValue(ctx, uploadKey{}, upload{body: ctx.BodyReader(), contentType: ctx.Header("Content-Type")}))
}

// uploadFile returns the file of an upload: the body itself (text/csv or
// anything not multipart), or the first file part of a multipart form.
func uploadFile(ctx context.Context) (io.Reader, string, error) {
	u, _ := ctx.Value(uploadKey{}).(upload)
	if u.body == nil {
		return nil, "", sms.Invalid("no file", sms.FieldError{Field: "body", Message: "send the CSV as the body or as a multipart file"})
	}
	mt, params, _ := mime.ParseMediaType(u.contentType)
	if mt != "multipart/form-data" {
		return u.body, "", nil
	}
	mr := multipart.NewReader(u.body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, "", sms.Invalid("no file", sms.FieldError{Field: "file", Message: "the form has no file part"})
		}
		if part.FileName() != "" {
			return part, part.FileName(), nil
		}
	}
}

func (s *Server) registerImports() {
	up := op("create-import", http.MethodPost, "/imports", "Import contacts from a CSV file", auth.ContactsWrite, "Contacts")
	up.DefaultStatus = http.StatusAccepted
	up.Description = "Send the CSV as the body (text/csv) or as the file of a multipart form. Columns are mapped by `map` " +
		"(`column=target`, target one of name, phone, owner, tags, external_id, ignore, field:<key>), else guessed from their " +
		"header (nome, telefone, celular…), else kept as custom fields. Contacts with the same external id, or else phone, are " +
		"updated; rows repeated in the file are merged. The import runs in the background: follow GET /imports/{id}."
	up.Middlewares = huma.Middlewares{streamBody}
	up.RequestBody = &huma.RequestBody{Content: map[string]*huma.MediaType{
		"text/csv": {Schema: &huma.Schema{Type: "string"}},
		// No schema: huma would read and validate an object body itself.
		"multipart/form-data": {},
	}}
	huma.Register(s.api, up, func(ctx context.Context, in *struct {
		IdemHeader
		List      string   `query:"list" maxLength:"100" doc:"Name of the list the contacts join (created when missing)"`
		Map       []string `query:"map" maxItems:"200" doc:"column=target, repeated"`
		Tags      []string `query:"tags" maxItems:"20" doc:"Tags every imported contact gets"`
		Delimiter string   `query:"delimiter" maxLength:"3" doc:"\",\", \";\" or \"tab\"; guessed from the header when omitted"`
		Filename  string   `query:"filename" maxLength:"200"`
	}) (*struct{ Body store.Import }, error) {
		opts := imports.Options{List: in.List, Tags: in.Tags, Delimiter: in.Delimiter, Map: map[string]string{}}
		for _, m := range in.Map {
			col, target, ok := strings.Cut(m, "=")
			if !ok || strings.TrimSpace(col) == "" {
				return nil, s.problem(sms.Invalid("invalid mapping", sms.FieldError{Field: "map", Message: "column=target", Value: m}))
			}
			opts.Map[strings.TrimSpace(col)] = strings.TrimSpace(target)
		}
		file, name, err := uploadFile(ctx)
		if err != nil {
			return nil, s.problem(err)
		}
		if name == "" {
			name = in.Filename
		}
		p, _ := PrincipalFrom(ctx)
		im, err := s.Imports.Upload(ctx, name, file, opts, &p.ID)
		if err != nil {
			if e, ok := err.(*sms.Error); ok && e.Code == "too_large" {
				return nil, huma.Error413RequestEntityTooLarge(e.Message)
			}
			return nil, s.problem(err)
		}
		return &struct{ Body store.Import }{Body: im}, nil
	})

	huma.Register(s.api, op("list-imports", http.MethodGet, "/imports", "List contact imports, newest first", auth.ContactsRead, "Contacts"),
		func(ctx context.Context, in *struct {
			Limit int `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*struct {
			Body struct {
				Imports []store.Import `json:"imports"`
			}
		}, error) {
			ims, err := s.DB.ListImports(ctx, in.Limit)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Imports []store.Import `json:"imports"`
				}
			}{}
			out.Body.Imports = ims
			return out, nil
		})

	huma.Register(s.api, op("get-import", http.MethodGet, "/imports/{id}", "An import's progress and counts by reason", auth.ContactsRead, "Contacts"),
		func(ctx context.Context, in *IDParam) (*struct{ Body store.Import }, error) {
			im, err := s.DB.GetImport(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &struct{ Body store.Import }{Body: im}, nil
		})

	huma.Register(s.api, op("import-rejected", http.MethodGet, "/imports/{id}/rejected.csv", "An import's rejected rows as CSV, with the reason per row", auth.ContactsRead, "Contacts"),
		func(ctx context.Context, in *IDParam) (*huma.StreamResponse, error) {
			if _, err := s.DB.GetImport(ctx, in.ID); err != nil {
				return nil, s.problem(err)
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				hctx.SetHeader("Content-Type", "text/csv; charset=utf-8")
				hctx.SetHeader("Content-Disposition", `attachment; filename="rejected.csv"`)
				hctx.SetStatus(http.StatusOK)
				if err := s.Imports.Rejected(hctx.Context(), in.ID, hctx.BodyWriter()); err != nil && s.Logger != nil {
					s.Logger.Warn("rejected rows download", "import", in.ID, "err", err)
				}
			}}, nil
		})
}
