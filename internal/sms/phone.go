package sms

// LineType is the kind of line a phone number belongs to.
type LineType string

// Phone is a normalised phone number.
type Phone struct {
	E164     string   `json:"e164"`
	LineType LineType `json:"line_type"`
}

// NormalizePhone parses raw. STUB: replaced by the real parser.
func NormalizePhone(raw, region string) (Phone, error) {
	return Phone{E164: "+" + raw, LineType: "mobile"}, nil
}
