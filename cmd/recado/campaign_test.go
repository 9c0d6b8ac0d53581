package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportAndCampaignCommands imports a file with the command line and
// drives a campaign through its states.
func TestImportAndCampaignCommands(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(data, "contatos.csv")
	os.WriteFile(file, []byte("nome;celular;vencimento\nFulana Teste;11900000001;10/12\nSem Vencimento;11900000002;\nRuim;abc;\n"), 0o600)
	rejected := filepath.Join(data, "rejeitados.csv")
	cli := func(args ...string) (string, int) {
		t.Helper()
		var out, errOut syncBuffer
		code := run(context.Background(), append(args, "--data", data), testEnv(nil), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	out, code := cli("import", "contacts", file, "--list", "Clientes", "--rejected", rejected, "--quiet")
	if code != 0 || !strings.Contains(out, "2 contacts new") || !strings.Contains(out, "phone_characters       1") {
		t.Fatalf("import: %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(rejected); !strings.Contains(string(b), "4,phone_characters,Ruim;abc;") {
		t.Errorf("rejected file: %s", b)
	}
	out, code = cli("campaign", "create", "--name", "Vencimento", "--body", "Olá {{primeiro_nome}}, vence {{vencimento}}", "--list", "Clientes")
	if code != 0 || !strings.Contains(out, "campaign 1 \"Vencimento\" created") {
		t.Fatalf("create: %d\n%s", code, out)
	}
	if out, code = cli("campaign", "dry-run", "1"); code != 0 || !strings.Contains(out, "1 would get it, 1 skipped") || !strings.Contains(out, "missing_field        1") {
		t.Errorf("dry-run: %d\n%s", code, out)
	}
	for _, step := range []struct{ verb, state string }{{"start", "running"}, {"pause", "paused"}, {"resume", "running"}, {"cancel", "canceled"}} {
		if out, code = cli("campaign", step.verb, "1"); code != 0 || !strings.Contains(out, "is "+step.state) {
			t.Errorf("%s: %d\n%s", step.verb, code, out)
		}
	}
	if out, code = cli("campaign", "resume", "1"); code == 0 || !strings.Contains(out, "canceled") {
		t.Errorf("resuming a canceled campaign: %d\n%s", code, out)
	}
	if out, code = cli("campaign", "status", "1"); code != 0 || !strings.Contains(out, "canceled") {
		t.Errorf("status: %d\n%s", code, out)
	}
	if out, code = cli("campaign", "create", "--name", "x", "--body", "{{"); code == 0 || !strings.Contains(out, "body") {
		t.Errorf("a bad campaign: %d\n%s", code, out)
	}
}
