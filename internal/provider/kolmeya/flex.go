package kolmeya

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FlexString is a text field that Kolmeya may send as a JSON string, a
// number, a boolean or null, as ids, phones and references do. A number keeps
// its literal digits ("48999990001", never "4.8999990001e+10"); null reads as
// "". An array of values reads as its items joined by "; " and an object as
// its compact JSON text, so that an unexpected shape degrades to readable text
// instead of failing the whole answer.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("kolmeya: empty JSON value")
	}
	switch b[0] {
	case 'n':
		*s = ""
	case '"':
		// The decoder has checked the JSON already: a string without escapes
		// is its bytes between the quotes.
		if len(b) >= 2 {
			if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				*s = FlexString(inner)
				return nil
			}
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = FlexString(v)
	case '[':
		var items []FlexString
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			if it != "" {
				parts = append(parts, string(it))
			}
		}
		*s = FlexString(strings.Join(parts, "; "))
	case '{':
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return err
		}
		*s = FlexString(buf.String())
	default: // a number, true or false: keep the literal
		if !json.Valid(b) {
			return fmt.Errorf("kolmeya: invalid JSON value %.40q", b)
		}
		*s = FlexString(b)
	}
	return nil
}

// String returns s as a plain string.
func (s FlexString) String() string { return string(s) }

// FlexInt is an integer that Kolmeya may send as a JSON number or as a
// string of digits. Null and "" read as 0; a number with a fraction other
// than zero, or text that is not a number, is an error.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("kolmeya: empty JSON value")
	}
	text := string(b)
	switch b[0] {
	case 'n':
		*n = 0
		return nil
	case '"':
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
		text = strings.TrimSpace(text)
		if text == "" {
			*n = 0
			return nil
		}
	}
	v, err := parseInteger(text)
	if err != nil {
		return err
	}
	*n = FlexInt(v)
	return nil
}

// parseInteger reads an integer written as digits or as a number with a
// fraction of zero ("2", "-7", "2.0", "1e3").
func parseInteger(text string) (int64, error) {
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, fmt.Errorf("kolmeya: %.40q is not an integer", text)
	}
	return int64(f), nil
}

// Params are the free parameters of a message (the columns of a web
// campaign's file). Kolmeya sends them as an object, or as an empty array
// when there are none; a non-empty array reads with keys "0", "1", ….
type Params map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (p *Params) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("kolmeya: empty JSON value")
	}
	switch b[0] {
	case 'n':
		*p = nil
	case '[':
		var items []FlexString
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		out := make(Params, len(items))
		for i, v := range items {
			out[strconv.Itoa(i)] = string(v)
		}
		*p = out
	case '{':
		var m map[string]FlexString
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		out := make(Params, len(m))
		for k, v := range m {
			out[k] = string(v)
		}
		*p = out
	default:
		return fmt.Errorf("kolmeya: parameters: want an object or an array, got %.40q", b)
	}
	return nil
}

// Record is an item whose fields the contract does not list (quantity
// reports, link accesses): every field, each read as a FlexString.
type Record map[string]FlexString

// Int returns the field key read as an integer, and whether it held one.
func (r Record) Int(key string) (int64, bool) {
	v, ok := r[key]
	if !ok || v == "" {
		return 0, false
	}
	n, err := parseInteger(strings.TrimSpace(string(v)))
	return n, err == nil
}

// decodeList reads a list that Kolmeya sends either as a top-level array or
// as an object holding the array under key (or under "data").
func decodeList[T any](data []byte, key string) ([]T, error) {
	data = bytes.TrimSpace(data)
	var out []T
	if len(data) > 0 && data[0] == '[' {
		err := json.Unmarshal(data, &out)
		return out, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	raw, ok := obj[key]
	if !ok {
		raw, ok = obj["data"]
	}
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	err := json.Unmarshal(raw, &out)
	return out, err
}
