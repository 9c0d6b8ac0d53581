package sms

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		body     string
		names    []string
		required []string
	}{
		{"Olá!", nil, nil},
		{"Olá {{nome}}!", []string{"nome"}, []string{"nome"}},
		{"Olá {{ Nome }}, {{ primeiro_nome | cliente }}", []string{"nome", "primeiro_nome"}, []string{"nome"}},
		{"{{a}}{{A}}{{b|x}}", []string{"a", "b"}, []string{"a"}},
		{"{{a|}} {{a}}", []string{"a"}, []string{"a"}},
		{"preço }} solto", nil, nil},
		{"{{endereço_1}}", []string{"endereço_1"}, []string{"endereço_1"}},
		{"{{x|com | barra}}", []string{"x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			tb, err := ParseTemplate(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if got := tb.Placeholders(); !reflect.DeepEqual(got, tt.names) {
				t.Errorf("Placeholders() = %q, want %q", got, tt.names)
			}
			if got := tb.Required(); !reflect.DeepEqual(got, tt.required) {
				t.Errorf("Required() = %q, want %q", got, tt.required)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		body              string
		line, col, offset int
		problemContains   string
	}{
		{"Olá {{nome", 1, 5, 4, "unclosed"},
		{"Olá {{nome {{x}}", 1, 5, 4, "unclosed"},
		{"linha 1\nação {{ }} fim", 2, 6, 13, "empty"},
		{"{{|padrão}}", 1, 1, 0, "empty"},
		{"{{no-me}}", 1, 1, 0, "letters, digits"},
		{"{{nome sobrenome}}", 1, 1, 0, "letters, digits"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := ParseTemplate(tt.body)
			var se *TemplateSyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *TemplateSyntaxError", err)
			}
			if KindOf(err) != KindInvalid {
				t.Errorf("kind %v, want invalid", KindOf(err))
			}
			if se.Line != tt.line || se.Column != tt.col || se.Offset != tt.offset {
				t.Errorf("position line %d col %d offset %d, want %d %d %d", se.Line, se.Column, se.Offset, tt.line, tt.col, tt.offset)
			}
			if !contains(se.Problem, tt.problemContains) {
				t.Errorf("problem %q does not say %q", se.Problem, tt.problemContains)
			}
			var e *Error
			if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "body" {
				t.Errorf("error fields = %+v, want one on body", e)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestRender(t *testing.T) {
	owner := int64(1)
	c := &Contact{Name: "Fulana de Teste", Phone: "+5511900000001", OwnerID: &owner,
		Fields: map[string]string{"Cidade": "Campinas", "vencimento": "10/12", "vazio": "  "}}
	vars := ContactVars(c, "", map[string]string{"campanha": "Natal", "nome": "ignored"})
	tests := []struct {
		body    string
		want    string
		missing []string
	}{
		{"Oi {{primeiro_nome}}!", "Oi Fulana!", nil},
		{"{{NAME}} / {{first_name}}", "Fulana de Teste / Fulana", nil},
		{"Tel {{telefone}} {{phone}}", "Tel (11) 90000-0001 (11) 90000-0001", nil},
		{"{{cidade}}, {{CIDADE}}", "Campinas, Campinas", nil},
		{"Vence {{vencimento}} ({{campanha}})", "Vence 10/12 (Natal)", nil},
		{"{{apelido|amigo}} {{vazio|nada}}", "amigo nada", nil},
		{"{{apelido}} {{saldo}} {{apelido}}", "  ", []string{"apelido", "saldo"}},
	}
	for _, tt := range tests {
		tb, err := ParseTemplate(tt.body)
		if err != nil {
			t.Fatal(err)
		}
		got, missing := tb.Render(vars)
		if got != tt.want || !reflect.DeepEqual(missing, tt.missing) {
			t.Errorf("Render(%q) = %q, %q; want %q, %q", tt.body, got, missing, tt.want, tt.missing)
		}
	}
}

func TestContactVarsWithoutContact(t *testing.T) {
	vars := ContactVars(nil, "+351912345678", nil)
	if vars["telefone"] != "+351912345678" || vars["nome"] != "" {
		t.Errorf("vars = %v", vars)
	}
	tb, _ := ParseTemplate("Olá {{nome|cliente}}")
	if got, missing := tb.Render(vars); got != "Olá cliente" || missing != nil {
		t.Errorf("got %q %v", got, missing)
	}
}

func TestEstimateBody(t *testing.T) {
	e := EstimateBody("Olá, sua fatura", 700)
	if e.Encoding != UCS2 || e.Segments != 1 || e.Cost != 700 {
		t.Errorf("%+v", e)
	}
	folded := EstimateBody(FoldGSM("Olá, sua fatura"), 700)
	if folded.Encoding != GSM7 {
		t.Errorf("folded %+v", folded)
	}
}

func BenchmarkRender(b *testing.B) {
	tb, _ := ParseTemplate("Olá {{primeiro_nome}}, sua fatura de {{valor|R$ 0}} vence em {{vencimento}}. {{campanha}}")
	c := &Contact{Name: "Fulana de Teste", Phone: "+5511900000001", Fields: map[string]string{"valor": "R$ 10", "vencimento": "10/12"}}
	camp := map[string]string{"campanha": "Natal"}
	b.ReportAllocs()
	for b.Loop() {
		tb.Render(ContactVars(c, "", camp))
	}
}
