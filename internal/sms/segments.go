package sms

// Encoding is how a message body is coded on the air: GSM 03.38's 7-bit
// alphabet or UCS-2.
type Encoding string

// The encodings of a message body.
const (
	GSM7 Encoding = "gsm7"
	UCS2 Encoding = "ucs2"
)

// SegmentInfo describes how a body travels: its encoding, how many parts it
// takes, how many units (septets for GSM-7, UTF-16 code units for UCS-2) it
// uses, and how many more units fit in its last part.
type SegmentInfo struct {
	Encoding  Encoding `json:"encoding"`
	Segments  int      `json:"segments"`
	Units     int      `json:"units"`
	Remaining int      `json:"remaining"`
}

// Segments counts the parts body takes. STUB: replaced by the real counter.
func Segments(body string) SegmentInfo {
	n := len([]rune(body))
	if n == 0 {
		return SegmentInfo{Encoding: GSM7}
	}
	return SegmentInfo{Encoding: GSM7, Segments: (n + 152) / 153, Units: n}
}
