package sms

import "testing"

func TestIsOptOut(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{"SAIR", true},
		{"sair", true},
		{"  Sair. ", true},
		{"PARE!", true},
		{"stop", true},
		{"Cancelar", true},
		{"cancelár", true},
		{"DESCADASTRAR", true},
		{"não quero sair do plano", false},
		{"SIM", false},
		{"", false},
		{"...", false},
		{"sair sair", false},
	}
	for _, tt := range tests {
		if got := IsOptOut(tt.body, DefaultOptOutWords); got != tt.want {
			t.Errorf("IsOptOut(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
	if !IsOptOut("basta", []string{"BASTA"}) {
		t.Error("a configured word is not honoured")
	}
}
