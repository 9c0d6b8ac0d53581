package api_test

import (
	"testing"

	"github.com/recado-sms/recado/internal/app/apptest"
)

func TestExplore(t *testing.T) {
	s := apptest.New(t)
	_, op := s.Operator(t, "ana")
	for _, r := range []apptest.Request{
		{Method: "POST", Path: "/api/v1/messages", Token: op, Body: `{"to":"11 90000-0001","body":"x","reference":"r1"}`},
		{Method: "POST", Path: "/api/v1/messages/1/cancel", Token: op},
		{Method: "POST", Path: "/api/v1/users/2/tokens", Token: s.Token, Body: `{"name":"x"}`},
	} {
		res := s.Send(t, r)
		t.Logf("%s %s -> %d %v\n%s", r.Method, r.Path, res.Status, res.Header.Get("Content-Type"), res.Body)
	}
}
