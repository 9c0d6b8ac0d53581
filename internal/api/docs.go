package api

import (
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// docsPage is the API reference, rendered on the server from the OpenAPI
// description: no script and nothing fetched from elsewhere, so it works
// where Recado has no internet access.
var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} — reference</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{margin-bottom:.2rem}code,pre{font:14px ui-monospace,monospace;background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}
section{border-top:1px solid #ddd;padding:.6rem 0}.m{display:inline-block;min-width:4.5rem;font-weight:700}
.GET{color:#0a6b2d}.POST{color:#0b4f9c}.PATCH{color:#8a5a00}.DELETE{color:#a11}.perm{color:#555;font-size:.9rem}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;font-size:.9rem}
</style></head><body>
<h1>{{.Title}}</h1><p>Version {{.Version}} · <a href="/api/openapi.json">OpenAPI 3.1 (JSON)</a> · <a href="/api/openapi.yaml">YAML</a></p>
<p>{{.Description}}</p>
{{range .Tags}}<h2 id="{{.Name}}">{{.Name}}</h2>
{{range .Ops}}<section id="{{.ID}}"><div><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code> — {{.Summary}}</div>
{{if .Permission}}<div class="perm">needs <code>{{.Permission}}</code></div>{{end}}
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>description</th></tr>{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} *{{end}}</td><td>{{.In}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<div>Body: <a href="{{.Body}}">{{.BodyName}}</a></div>{{end}}
<div>Answers: {{range .Responses}}<code>{{.}}</code> {{end}}</div></section>{{end}}{{end}}
</body></html>`))

type docsOp struct {
	ID, Method, Path, Summary, Description, Permission, Body, BodyName string
	Params                                                             []*huma.Param
	Responses                                                          []string
}

type docsTag struct {
	Name string
	Ops  []docsOp
}

func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) {
	oapi := s.api.OpenAPI()
	byTag := map[string][]docsOp{}
	for path, item := range oapi.Paths {
		for method, o := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PATCH": item.Patch, "PUT": item.Put, "DELETE": item.Delete} {
			if o == nil {
				continue
			}
			d := docsOp{ID: o.OperationID, Method: method, Path: path, Summary: o.Summary, Description: o.Description,
				Permission: string(Permission(o)), Params: o.Parameters}
			if o.RequestBody != nil {
				for _, mt := range o.RequestBody.Content {
					if mt.Schema != nil && mt.Schema.Ref != "" {
						name := mt.Schema.Ref[strings.LastIndex(mt.Schema.Ref, "/")+1:]
						d.Body, d.BodyName = "/api/schemas/"+name+".json", name
					}
				}
			}
			for code := range o.Responses {
				d.Responses = append(d.Responses, code)
			}
			sort.Strings(d.Responses)
			tag := "Other"
			if len(o.Tags) > 0 {
				tag = o.Tags[0]
			}
			byTag[tag] = append(byTag[tag], d)
		}
	}
	var tags []docsTag
	for name, ops := range byTag {
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return ops[i].Method < ops[j].Method
		})
		tags = append(tags, docsTag{Name: name, Ops: ops})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	docsPage.Execute(w, map[string]any{"Title": oapi.Info.Title, "Version": oapi.Info.Version,
		"Description": oapi.Info.Description, "Tags": tags})
}
