package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
	"github.com/recado-sms/recado/internal/webhooks"
)

// operation is what the route × role matrix expects of one operation.
type operation struct {
	perm     auth.Permission
	operator bool   // whether an operator (role user) may call it
	param    string // what {id} or {name} names: message, queued, contact, user, token, provider
	want     int    // the status of a successful call
	body     func() any
}

// operations lists every operation of the API by operationId. A new route
// must be added here, saying who may call it, or TestRouteRoleMatrix fails.
var operations = map[string]operation{
	"send-message": {perm: auth.MessagesWrite, operator: true, want: http.StatusAccepted,
		body: func() any { return map[string]any{"to": uniquePhone(), "body": "matrix"} }},
	"send-batch": {perm: auth.MessagesWrite, operator: true, want: http.StatusAccepted,
		body: func() any {
			return map[string]any{"messages": []map[string]any{{"to": uniquePhone(), "body": "matrix"}}}
		}},
	"list-messages":  {perm: auth.MessagesRead, operator: true, want: http.StatusOK},
	"get-message":    {perm: auth.MessagesRead, operator: true, param: "message", want: http.StatusOK},
	"cancel-message": {perm: auth.MessagesWrite, operator: true, param: "queued", want: http.StatusOK},
	"delete-message": {perm: auth.MessagesDelete, param: "message", want: http.StatusNoContent},

	"create-contact": {perm: auth.ContactsWrite, operator: true, want: http.StatusCreated,
		body: func() any { return map[string]any{"phone": uniquePhone(), "name": "Matrix"} }},
	"list-contacts":    {perm: auth.ContactsRead, operator: true, want: http.StatusOK},
	"get-contact":      {perm: auth.ContactsRead, operator: true, param: "contact", want: http.StatusOK},
	"update-contact":   {perm: auth.ContactsWrite, operator: true, param: "contact", want: http.StatusOK, body: func() any { return map[string]any{"name": "Renamed"} }},
	"delete-contact":   {perm: auth.ContactsDelete, param: "contact", want: http.StatusNoContent},
	"contact-messages": {perm: auth.MessagesRead, operator: true, param: "contact", want: http.StatusOK},

	"list-providers": {perm: auth.ProvidersRead, operator: true, want: http.StatusOK},
	"get-provider":   {perm: auth.ProvidersRead, operator: true, param: "provider", want: http.StatusOK},
	"create-provider": {perm: auth.ProvidersWrite, want: http.StatusCreated,
		body: func() any { return map[string]any{"name": uniqueName("p"), "type": "mock"} }},
	"update-provider":         {perm: auth.ProvidersWrite, param: "provider", want: http.StatusOK, body: func() any { return map[string]any{"active": false} }},
	"delete-provider":         {perm: auth.ProvidersWrite, param: "provider", want: http.StatusNoContent},
	"check-provider-balance":  {perm: auth.ProvidersRead, operator: true, param: "provider", want: http.StatusOK},
	"sync-provider-blacklist": {perm: auth.ProvidersWrite, param: "kolmeya", want: http.StatusAccepted},

	"me": {perm: auth.MessagesRead, operator: true, want: http.StatusOK},
	"create-user": {perm: auth.UsersWrite, want: http.StatusCreated,
		body: func() any {
			return map[string]any{"username": uniqueName("u"), "role": "user", "password": "a long enough password"}
		}},
	"list-users":        {perm: auth.UsersRead, want: http.StatusOK},
	"get-user":          {perm: auth.UsersRead, param: "user", want: http.StatusOK},
	"update-user":       {perm: auth.UsersWrite, param: "user", want: http.StatusOK, body: func() any { return map[string]any{"name": "Renamed"} }},
	"create-user-token": {perm: auth.UsersWrite, param: "user", want: http.StatusCreated, body: func() any { return map[string]any{"name": "matrix"} }},
	"list-user-tokens":  {perm: auth.UsersRead, param: "user", want: http.StatusOK},
	"create-my-token":   {perm: auth.TokensManage, operator: true, want: http.StatusCreated, body: func() any { return map[string]any{"name": "matrix"} }},
	"list-my-tokens":    {perm: auth.TokensManage, operator: true, want: http.StatusOK},
	"revoke-token":      {perm: auth.TokensManage, operator: true, param: "token", want: http.StatusNoContent},

	"list-blacklist": {perm: auth.BlacklistRead, operator: true, want: http.StatusOK},
	"add-blacklist": {perm: auth.BlacklistWrite, want: http.StatusOK,
		body: func() any { return map[string]any{"phones": []string{uniquePhone()}, "reason": "matrix"} }},
	"remove-blacklist": {perm: auth.BlacklistWrite, param: "blacklisted", want: http.StatusNoContent},
	"mark-read":        {perm: auth.MessagesWrite, operator: true, param: "inbound", want: http.StatusOK},
	"inbox":            {perm: auth.MessagesRead, operator: true, want: http.StatusOK},

	"create-webhook": {perm: auth.WebhooksManage, want: http.StatusCreated,
		body: func() any {
			return map[string]any{"url": "https://crm.example.test/hooks", "events": []string{"message.delivered"}}
		}},
	"list-webhooks":           {perm: auth.WebhooksManage, want: http.StatusOK},
	"get-webhook":             {perm: auth.WebhooksManage, param: "webhook", want: http.StatusOK},
	"update-webhook":          {perm: auth.WebhooksManage, param: "webhook", want: http.StatusOK, body: func() any { return map[string]any{"active": false} }},
	"delete-webhook":          {perm: auth.WebhooksManage, param: "webhook", want: http.StatusNoContent},
	"list-webhook-deliveries": {perm: auth.WebhooksManage, param: "webhook", want: http.StatusOK},
	"resend-webhook-delivery": {perm: auth.WebhooksManage, param: "delivery", want: http.StatusAccepted},

	"list-templates": {perm: auth.TemplatesRead, operator: true, want: http.StatusOK},
	"get-template":   {perm: auth.TemplatesRead, operator: true, param: "template", want: http.StatusOK},
	"create-template": {perm: auth.TemplatesWrite, want: http.StatusCreated,
		body: func() any { return map[string]any{"name": uniqueName("t"), "body": "Olá {{nome}}"} }},
	"update-template": {perm: auth.TemplatesWrite, param: "template", want: http.StatusOK, body: func() any { return map[string]any{"description": "changed"} }},
	"delete-template": {perm: auth.TemplatesWrite, param: "template", want: http.StatusNoContent},
	"preview-template": {perm: auth.TemplatesRead, operator: true, param: "template", want: http.StatusOK,
		body: func() any { return map[string]any{"fields": map[string]string{"nome": "Fulana"}} }},
	"preview-body": {perm: auth.TemplatesRead, operator: true, want: http.StatusOK,
		body: func() any { return map[string]any{"body": "Olá {{nome|cliente}}"} }},

	"list-lists":  {perm: auth.ContactsRead, operator: true, want: http.StatusOK},
	"create-list": {perm: auth.ContactsWrite, operator: true, want: http.StatusCreated, body: func() any { return map[string]any{"name": uniqueName("list")} }},
	"get-list":    {perm: auth.ContactsRead, operator: true, param: "list", want: http.StatusOK},
	"update-list": {perm: auth.ContactsWrite, operator: true, param: "list", want: http.StatusOK, body: func() any { return map[string]any{"name": uniqueName("list")} }},
	"delete-list": {perm: auth.ContactsDelete, param: "list", want: http.StatusNoContent},
	"change-list-members": {perm: auth.ContactsWrite, operator: true, param: "list", want: http.StatusOK,
		body: func() any { return map[string]any{"add": []int64{}} }},
	"list-segments": {perm: auth.ContactsRead, operator: true, want: http.StatusOK},
	"create-segment": {perm: auth.ContactsWrite, operator: true, want: http.StatusCreated,
		body: func() any { return map[string]any{"name": uniqueName("seg"), "filter": segmentFilter} }},
	"get-segment": {perm: auth.ContactsRead, operator: true, param: "segment", want: http.StatusOK},
	"update-segment": {perm: auth.ContactsWrite, operator: true, param: "segment", want: http.StatusOK,
		body: func() any { return map[string]any{"name": uniqueName("seg"), "filter": segmentFilter} }},
	"delete-segment": {perm: auth.ContactsDelete, param: "segment", want: http.StatusNoContent},
	"count-filter": {perm: auth.ContactsRead, operator: true, want: http.StatusOK,
		body: func() any { return map[string]any{"filter": segmentFilter} }},
	"create-import": {perm: auth.ContactsWrite, operator: true, want: http.StatusAccepted,
		body: func() any { return "nome,telefone\nFulana Teste," + uniquePhone() + "\n" }},
	"list-imports":    {perm: auth.ContactsRead, operator: true, want: http.StatusOK},
	"get-import":      {perm: auth.ContactsRead, operator: true, param: "import", want: http.StatusOK},
	"import-rejected": {perm: auth.ContactsRead, operator: true, param: "import", want: http.StatusOK},

	"create-campaign":     {perm: auth.CampaignsWrite, want: http.StatusCreated, body: func() any { return campaignBody() }},
	"list-campaigns":      {perm: auth.CampaignsRead, operator: true, want: http.StatusOK},
	"get-campaign":        {perm: auth.CampaignsRead, operator: true, param: "campaign", want: http.StatusOK},
	"update-campaign":     {perm: auth.CampaignsWrite, param: "campaign", want: http.StatusOK, body: func() any { return map[string]any{"name": "renamed"} }},
	"delete-campaign":     {perm: auth.CampaignsWrite, param: "campaign", want: http.StatusNoContent},
	"dry-run-campaign":    {perm: auth.CampaignsRead, operator: true, param: "campaign", want: http.StatusOK},
	"start-campaign":      {perm: auth.CampaignsWrite, param: "campaign", want: http.StatusOK},
	"pause-campaign":      {perm: auth.CampaignsWrite, param: "running-campaign", want: http.StatusOK},
	"resume-campaign":     {perm: auth.CampaignsWrite, param: "paused-campaign", want: http.StatusOK},
	"cancel-campaign":     {perm: auth.CampaignsWrite, param: "campaign", want: http.StatusOK},
	"campaign-stats":      {perm: auth.CampaignsRead, operator: true, param: "campaign", want: http.StatusOK},
	"campaign-recipients": {perm: auth.CampaignsRead, operator: true, param: "campaign", want: http.StatusOK},
	"check-recipients": {perm: auth.MessagesWrite, operator: true, want: http.StatusOK,
		body: func() any { return map[string]any{"recipients": []map[string]any{{"to": uniquePhone()}}} }},

	"report-messages":     {perm: auth.ReportsRead, want: http.StatusOK},
	"report-messages-csv": {perm: auth.ReportsRead, want: http.StatusOK},
	"report-costs":        {perm: auth.ReportsRead, want: http.StatusOK},
	// The mock is no Kolmeya: a manager is told so (422), an operator is forbidden.
	"reconcile-kolmeya": {perm: auth.ReportsRead, want: http.StatusUnprocessableEntity,
		body: func() any {
			return map[string]any{"provider": "mock", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}
		}},
}

// campaignBody is a valid campaign for the matrix.
func campaignBody() map[string]any {
	return map[string]any{"name": uniqueName("camp"), "body": "Olá {{nome|cliente}}", "audience": map[string]any{"tags": []string{"vip"}}}
}

// segmentFilter is a valid filter for the matrix's segments.
var segmentFilter = map[string]any{"conditions": []map[string]any{{"field": "tag", "op": "has", "value": "vip"}}}

// TestOperationsTable checks the table above against the API itself: every
// operation is listed, with the permission it is registered with, and the
// operator column agrees with the role's permissions.
func TestOperationsTable(t *testing.T) {
	srv := api.New(http.NewServeMux(), api.Deps{Version: "test"})
	seen := map[string]bool{}
	for path, item := range srv.OpenAPI().Paths {
		for method, o := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
		} {
			if o == nil {
				continue
			}
			seen[o.OperationID] = true
			want, ok := operations[o.OperationID]
			if !ok {
				t.Errorf("%s %s (%s) is not in the operations table: say who may call it", method, path, o.OperationID)
				continue
			}
			got := api.Permission(o)
			if got == "" {
				t.Errorf("%s %s (%s) needs no permission: every API operation must name one", method, path, o.OperationID)
			}
			if got != want.perm {
				t.Errorf("%s needs %q, the table says %q", o.OperationID, got, want.perm)
			}
			if auth.RoleUser.Can(got) != want.operator {
				t.Errorf("%s: operators may call it = %v, the table says %v", o.OperationID, auth.RoleUser.Can(got), want.operator)
			}
			if !auth.RoleManager.Can(got) {
				t.Errorf("%s: managers may not call it", o.OperationID)
			}
		}
	}
	for id := range operations {
		if !seen[id] {
			t.Errorf("the operations table lists %s, which the API does not have", id)
		}
	}
}

// openAPIOperation is one operation as /api/openapi.json describes it.
type openAPIOperation struct {
	ID, Method, Path string
}

// servedOperations reads the running server's OpenAPI description.
func servedOperations(t *testing.T, s *apptest.Server) []openAPIOperation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	status, body, _ := s.Do(t, http.MethodGet, "/api/openapi.json", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/openapi.json: %d", status)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("decode OpenAPI: %v", err)
	}
	var out []openAPIOperation
	for path, methods := range doc.Paths {
		for method, o := range methods {
			switch m := strings.ToUpper(method); m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				out = append(out, openAPIOperation{ID: o.OperationID, Method: m, Path: path})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// caller is one column of the matrix.
type caller struct {
	name  string
	role  auth.Role // empty: anonymous
	id    int64
	token string
}

// matrixFixtures makes, for each call, the thing its path names, so that a
// call that deletes or disables something leaves the next one unaffected.
type matrixFixtures struct {
	s *apptest.Server
}

func (f matrixFixtures) param(t *testing.T, kind string, c caller) string {
	t.Helper()
	s := f.s
	switch kind {
	case "message", "queued":
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", s.Token,
			map[string]any{"to": uniquePhone(), "body": "fixture", "send_at": later}, http.StatusAccepted)
		if kind == "message" { // a finished message, which may be deleted
			apptest.JSON[api.Message](t, s, http.MethodPost, fmt.Sprintf("/api/v1/messages/%d/cancel", m.ID), s.Token, nil, http.StatusOK)
		}
		return fmt.Sprint(m.ID)
	case "contact":
		return fmt.Sprint(createContact(t, s, map[string]any{"phone": uniquePhone()}).ID)
	case "user":
		u, _ := s.Operator(t, uniqueName("fixture"))
		return fmt.Sprint(u.ID)
	case "token":
		owner := c.id
		if owner == 0 {
			owner = 1 // the bootstrap manager
		}
		_, tok, err := s.App.Accounts.CreateToken(context.Background(), owner, "spare")
		if err != nil {
			t.Fatalf("create token: %v", err)
		}
		return fmt.Sprint(tok.ID)
	case "blacklisted":
		phone := uniquePhone()
		apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/blacklist", s.Token,
			map[string]any{"phones": []string{phone}}, http.StatusOK)
		return url.PathEscape(phone)
	case "inbound":
		phone := uniquePhone()
		err := s.App.Dispatch.ApplyReplies(context.Background(), "mock", sms.SourceWebhook,
			[]provider.Reply{{ProviderReplyID: uniqueName("reply"), Phone: phone, Body: "oi"}})
		if err != nil {
			t.Fatalf("inject a reply: %v", err)
		}
		in, err := s.App.DB.ListMessages(context.Background(), store.MessageFilter{Direction: sms.Inbound, Limit: 1})
		if err != nil || len(in) == 0 {
			t.Fatalf("find the reply: %v", err)
		}
		return fmt.Sprint(in[0].ID)
	case "webhook":
		e := apptest.JSON[webhooks.Endpoint](t, s, http.MethodPost, "/api/v1/webhooks", s.Token,
			map[string]any{"url": "https://crm.example.test/hooks", "events": []string{"message.delivered"}}, http.StatusCreated)
		return fmt.Sprint(e.ID)
	case "delivery": // "<endpoint>/<delivery>"
		e := apptest.JSON[webhooks.Endpoint](t, s, http.MethodPost, "/api/v1/webhooks", s.Token,
			map[string]any{"url": "https://crm.example.test/hooks", "events": []string{"message.delivered"}}, http.StatusCreated)
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", s.Token,
			map[string]any{"to": uniquePhone(), "body": "fixture", "send_at": later}, http.StatusAccepted)
		err := s.App.Dispatch.ApplyStatuses(context.Background(), "mock", sms.SourceWebhook,
			[]provider.StatusUpdate{{Reference: m.Reference, State: sms.StateDelivered, At: time.Now()}})
		if err != nil {
			t.Fatalf("deliver the fixture message: %v", err)
		}
		ds, err := s.App.DB.ListWebhookDeliveries(context.Background(), store.DeliveryFilter{EndpointID: e.ID})
		if err != nil || len(ds) != 1 {
			t.Fatalf("the fixture's delivery: %v, %v", ds, err)
		}
		return fmt.Sprintf("%d/%d", e.ID, ds[0].ID)
	case "kolmeya": // a Kolmeya provider, on a fake Kolmeya
		fake := kolmeyatest.NewServer(kolmeyatest.Options{})
		t.Cleanup(fake.Close)
		name := uniqueName("kolmeya")
		apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/providers", s.Token,
			map[string]any{"name": name, "type": "kolmeya", "settings": map[string]any{"base_url": fake.URL(), "token": "test-token"}},
			http.StatusCreated)
		return name
	case "template":
		tm := apptest.JSON[api.Template](t, s, http.MethodPost, "/api/v1/templates", s.Token,
			map[string]any{"name": uniqueName("fixture"), "body": "Olá {{nome|cliente}}"}, http.StatusCreated)
		return fmt.Sprint(tm.ID)
	case "list":
		l := apptest.JSON[store.List](t, s, http.MethodPost, "/api/v1/lists", s.Token, map[string]any{"name": uniqueName("fixture")}, http.StatusCreated)
		return fmt.Sprint(l.ID)
	case "segment":
		g := apptest.JSON[store.Segment](t, s, http.MethodPost, "/api/v1/segments", s.Token,
			map[string]any{"name": uniqueName("fixture"), "filter": segmentFilter}, http.StatusCreated)
		return fmt.Sprint(g.ID)
	case "import":
		im := apptest.JSON[store.Import](t, s, http.MethodPost, "/api/v1/imports", s.Token, "nome,telefone\nFulana Teste,"+uniquePhone()+"\n", http.StatusAccepted)
		return fmt.Sprint(im.ID)
	case "campaign", "running-campaign", "paused-campaign":
		c := apptest.JSON[store.Campaign](t, s, http.MethodPost, "/api/v1/campaigns", s.Token, campaignBody(), http.StatusCreated)
		if kind != "campaign" {
			apptest.JSON[store.Campaign](t, s, http.MethodPost, fmt.Sprintf("/api/v1/campaigns/%d/start", c.ID), s.Token, nil, http.StatusOK)
		}
		if kind == "paused-campaign" {
			apptest.JSON[store.Campaign](t, s, http.MethodPost, fmt.Sprintf("/api/v1/campaigns/%d/pause", c.ID), s.Token, nil, http.StatusOK)
		}
		return fmt.Sprint(c.ID)
	case "provider":
		name := uniqueName("fixture")
		apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/providers", s.Token,
			map[string]any{"name": name, "type": "mock"}, http.StatusCreated)
		return name
	}
	t.Fatalf("unknown fixture kind %q", kind)
	return ""
}

// TestRouteRoleMatrix calls every operation of the served OpenAPI
// description as an anonymous caller, an operator and a manager: the
// anonymous one is asked to authenticate, a role without the permission is
// forbidden, and a role with it gets the operation's success status.
func TestRouteRoleMatrix(t *testing.T) {
	s := apptest.New(t)
	f := matrixFixtures{s: s}
	opUser, opToken := s.Operator(t, "operator")
	callers := []caller{
		{name: "anonymous"},
		{name: "user", role: auth.RoleUser, id: opUser.ID, token: opToken},
		{name: "manager", role: auth.RoleManager, id: 1, token: s.Token},
	}

	ops := servedOperations(t, s)
	if len(ops) < len(operations) {
		t.Errorf("the OpenAPI description lists %d operations, the table %d", len(ops), len(operations))
	}
	for _, o := range ops {
		want, ok := operations[o.ID]
		if !ok {
			t.Errorf("%s %s (%s) is not in the operations table: say who may call it", o.Method, o.Path, o.ID)
			continue
		}
		for _, c := range callers {
			t.Run(o.ID+"/"+c.name, func(t *testing.T) {
				path := o.Path
				if want.param != "" {
					v := f.param(t, want.param, c)
					id, delivery, _ := strings.Cut(v, "/") // a delivery names its endpoint too
					path = strings.NewReplacer("{id}", id, "{name}", v, "{phone}", v, "{delivery}", delivery).Replace(path)
				}
				if strings.Contains(path, "{") {
					t.Fatalf("path %s has a parameter the table does not fill", path)
				}
				var body any
				if want.body != nil {
					body = want.body()
				}
				res := s.Send(t, apptest.Request{Method: o.Method, Path: path, Token: c.token, Body: body})
				switch {
				case c.role == "":
					checkProblem(t, res, http.StatusUnauthorized, "")
					if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
						t.Errorf("WWW-Authenticate %q, want a Bearer challenge", h)
					}
				case !c.role.Can(want.perm):
					p := checkProblem(t, res, http.StatusForbidden, "")
					if !strings.Contains(p.Detail, string(want.perm)) {
						t.Errorf("detail %q does not name the permission %s", p.Detail, want.perm)
					}
				case res.Status != want.want:
					t.Errorf("%s %s as %s: status %d, want %d; body: %s", o.Method, path, c.name, res.Status, want.want, res.Body)
				}
			})
		}
	}
}

// TestRejectedCredentials checks the ways a request's credentials are
// refused: a malformed header, an unknown, revoked or deactivated user's
// token.
func TestRejectedCredentials(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))

		unauthorized := func(t *testing.T, authz string) {
			t.Helper()
			res := s.Send(t, apptest.Request{Method: http.MethodGet, Path: "/api/v1/me",
				Header: http.Header{"Authorization": {authz}}})
			checkProblem(t, res, http.StatusUnauthorized, "")
			if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", h)
			}
		}
		me := func(t *testing.T, token string) int {
			t.Helper()
			status, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", token, nil)
			return status
		}

		t.Run("malformed", func(t *testing.T) {
			for _, h := range []string{
				"Bearer",
				"Bearer    ",
				"Basic YWRtaW46cGFzc3dvcmQ=",
				"Token " + apptest.ManagerToken,
				apptest.ManagerToken,
				"Bearer short",
				"Bearer " + strings.Repeat("x", 40),
				"Bearer " + strings.Repeat("x", 300),
				"Bearer " + apptest.ManagerToken + "x",
			} {
				t.Run(h[:min(len(h), 20)], func(t *testing.T) { unauthorized(t, h) })
			}
		})

		t.Run("scheme in any case", func(t *testing.T) {
			res := s.Send(t, apptest.Request{Method: http.MethodGet, Path: "/api/v1/me",
				Header: http.Header{"Authorization": {"bearer " + apptest.ManagerToken}}})
			if res.Status != http.StatusOK {
				t.Errorf("status %d, want 200; body: %s", res.Status, res.Body)
			}
		})

		t.Run("deactivated user", func(t *testing.T) {
			u := apptest.JSON[store.User](t, s, http.MethodPost, "/api/v1/users", s.Token,
				map[string]any{"username": "dora", "role": "user", "password": "dora's password"}, http.StatusCreated)
			tok := apptest.JSON[api.NewToken](t, s, http.MethodPost, fmt.Sprintf("/api/v1/users/%d/tokens", u.ID), s.Token,
				map[string]any{"name": "crm"}, http.StatusCreated)
			if tok.UserID != u.ID {
				t.Fatalf("token made for user %d, want %d", tok.UserID, u.ID)
			}
			if got := me(t, tok.Plain); got != http.StatusOK {
				t.Fatalf("GET /me with a fresh token: %d", got)
			}
			apptest.JSON[store.User](t, s, http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", u.ID), s.Token,
				map[string]any{"active": false}, http.StatusOK)
			unauthorized(t, "Bearer "+tok.Plain)
			apptest.JSON[store.User](t, s, http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", u.ID), s.Token,
				map[string]any{"active": true}, http.StatusOK)
			if got := me(t, tok.Plain); got != http.StatusOK {
				t.Errorf("GET /me after reactivation: %d, want 200", got)
			}
		})

		t.Run("revoked token", func(t *testing.T) {
			opUser, opToken := s.Operator(t, "rita")
			tok := apptest.JSON[api.NewToken](t, s, http.MethodPost, "/api/v1/me/tokens", opToken,
				map[string]any{"name": "script"}, http.StatusCreated)
			m := apptest.JSON[api.Me](t, s, http.MethodGet, "/api/v1/me", tok.Plain, nil, http.StatusOK)
			if m.ID != opUser.ID || m.TokenID == nil || *m.TokenID != tok.ID {
				t.Fatalf("GET /me = %+v, want user %d with token %d", m, opUser.ID, tok.ID)
			}
			// Someone else's token is not the operator's to revoke, nor to
			// know about.
			checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodDelete, Path: "/api/v1/tokens/1", Token: opToken}),
				http.StatusNotFound, "")
			if got := me(t, s.Token); got != http.StatusOK {
				t.Fatalf("the manager's token stopped working: %d", got)
			}
			if status, body, _ := s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/tokens/%d", tok.ID), opToken, nil); status != http.StatusNoContent {
				t.Fatalf("revoke own token: %d %s", status, body)
			}
			unauthorized(t, "Bearer "+tok.Plain)
			if got := me(t, opToken); got != http.StatusOK {
				t.Errorf("the operator's other token stopped working: %d", got)
			}
			// A manager may revoke anyone's.
			opMe := apptest.JSON[api.Me](t, s, http.MethodGet, "/api/v1/me", opToken, nil, http.StatusOK)
			if status, body, _ := s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/tokens/%d", *opMe.TokenID), s.Token, nil); status != http.StatusNoContent {
				t.Fatalf("manager revokes an operator's token: %d %s", status, body)
			}
			unauthorized(t, "Bearer "+opToken)
		})

		t.Run("manager cannot lock themselves out", func(t *testing.T) {
			for _, body := range []map[string]any{{"active": false}, {"role": "user"}} {
				checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodPatch, Path: "/api/v1/users/1", Token: s.Token, Body: body}),
					http.StatusConflict, "")
			}
			if got := me(t, s.Token); got != http.StatusOK {
				t.Errorf("GET /me as the manager: %d", got)
			}
		})
	})
}
