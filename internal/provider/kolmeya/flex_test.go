package kolmeya

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFlexString(t *testing.T) {
	tests := map[string]FlexString{
		`"abc"`:           "abc",
		`48999990001`:     "48999990001",
		`5548999990001`:   "5548999990001",
		`null`:            "",
		`true`:            "true",
		`1.5`:             "1.5",
		`["a", "", 2]`:    "a; 2",
		`{"a": 1, "b":2}`: `{"a":1,"b":2}`,
	}
	for in, want := range tests {
		var got FlexString
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("%s → %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestFlexInt(t *testing.T) {
	good := map[string]FlexInt{`2`: 2, `"2"`: 2, `" 42 "`: 42, `null`: 0, `""`: 0, `2.0`: 2, `-7`: -7, `1e3`: 1000,
		`1380013`: 1380013}
	for in, want := range good {
		var got FlexInt
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("%s → %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{`2.5`, `"abc"`, `true`, `[1]`, `{}`, `1e30`} {
		var got FlexInt
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s → %d, want an error", in, got)
		}
	}
}

func TestParams(t *testing.T) {
	tests := map[string]Params{
		`[]`:                      {},
		`{}`:                      {},
		`null`:                    nil,
		`{"nome":"Fulano","n":3}`: {"nome": "Fulano", "n": "3"},
		`["a","b"]`:               {"0": "a", "1": "b"},
		`{"x":{"y":1},"z":null}`:  {"x": `{"y":1}`, "z": ""},
	}
	for in, want := range tests {
		var got Params
		if err := json.Unmarshal([]byte(in), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s → %#v, %v; want %#v", in, got, err, want)
		}
	}
	var p Params
	if err := json.Unmarshal([]byte(`"text"`), &p); err == nil {
		t.Error("a string should not read as parameters")
	}
}

func TestUnknownFieldsAndStringNumbers(t *testing.T) {
	body := `{"id": 123, "reference": null, "extra": {"deep": [1,2]},
		"valids": [{"id": "m1", "phone": 48999990001, "reference": "r-1", "carrier": "X"}],
		"invalids": [{"phone": "5548", "message": "t", "reference": "r-2", "error": ["Telefone inválido", "curto"]}],
		"duplicates": [48999990001, "5548999990002"],
		"blacklist": [{"phone": 48999990003}], "not_disturb": [{"phone": "48999990004", "reference": "r-5"}]}`
	var r StoreResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "123" || r.Reference != "" || r.Valids[0].Phone != "48999990001" {
		t.Errorf("head: %+v", r)
	}
	if r.Invalids[0].Error != "Telefone inválido; curto" {
		t.Errorf("invalid error: %q", r.Invalids[0].Error)
	}
	if len(r.Duplicates) != 2 || r.Duplicates[0].Phone != "48999990001" || r.Duplicates[1].Phone != "5548999990002" {
		t.Errorf("bare-phone duplicates: %+v", r.Duplicates)
	}
	if r.NotDisturb[0].Reference != "r-5" {
		t.Errorf("not_disturb: %+v", r.NotDisturb)
	}
	var st RequestStatus
	if err := json.Unmarshal([]byte(`{"id":"q","status_code":"2","messages":[{"id":"m","reference":"r","status_code":"3","status":"entregue"}]}`), &st); err != nil {
		t.Fatal(err)
	}
	if st.StatusCode != 2 || st.Messages[0].StatusCode != 3 {
		t.Errorf("status codes as strings: %+v", st)
	}
}

func TestDecodeListShapes(t *testing.T) {
	for _, body := range []string{`[{"id":47,"name":"Kolmeya"}]`, `{"apis":[{"id":"47","name":"Kolmeya"}]}`, `{"data":[{"id":47,"name":"Kolmeya"}]}`} {
		got, err := decodeList[API]([]byte(body), "apis")
		if err != nil || len(got) != 1 || got[0].ID != 47 {
			t.Errorf("%s → %+v, %v", body, got, err)
		}
	}
	if got, err := decodeList[API]([]byte(`{"other":1}`), "apis"); err != nil || got != nil {
		t.Errorf("absent key → %+v, %v", got, err)
	}
}

func TestMessageStatusShapes(t *testing.T) {
	for _, body := range []string{
		`{"id":"m","reference":"r","status_code":3,"status":"entregue"}`,
		`{"message":{"id":"m","reference":"r","status_code":3,"status":"entregue"}}`,
		`{"data":{"id":"m","reference":"r","status_code":"3","status":"entregue"}}`,
	} {
		var m MessageStatus
		if err := decodeMessageStatus(&m)([]byte(body)); err != nil || m.ID != "m" || m.StatusCode != 3 {
			t.Errorf("%s → %+v, %v", body, m, err)
		}
	}
}
