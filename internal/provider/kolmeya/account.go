package kolmeya

import (
	"context"

	"github.com/recado-sms/recado/internal/sms"
)

// Segment is a cost centre of the account; its ID goes in
// StoreRequest.TenantSegmentID.
type Segment struct {
	ID   FlexInt    `json:"id"`
	Name FlexString `json:"name"`
}

// API is a sending route of the account; its ID goes in
// StoreRequest.SMSAPIID.
type API struct {
	ID   FlexInt    `json:"id"`
	Name FlexString `json:"name"`
}

// Layout is a file-import layout of Kolmeya's web campaigns (column 1 is the
// phone). /sms/store does not use them.
type Layout struct {
	ID    FlexInt      `json:"id"`
	Name  FlexString   `json:"name"`
	Items []LayoutItem `json:"items"`
}

// LayoutItem is one column of a Layout; Type is "name" or "text".
type LayoutItem struct {
	ID       FlexInt    `json:"id"`
	Name     FlexString `json:"name"`
	Type     FlexString `json:"type"`
	Position FlexInt    `json:"position"`
}

// Balance returns the account's balance, read exactly from Kolmeya's
// "R$9.397,30".
func (c *Client) Balance(ctx context.Context) (sms.Money, error) {
	var out struct {
		Balance FlexString `json:"balance"`
	}
	if err := c.call(ctx, pathBalance, nil, &out, idempotent); err != nil {
		return 0, wrap("balance", err)
	}
	m, err := ParseBalance(string(out.Balance))
	if err != nil {
		return 0, wrap("balance", &sms.Error{Kind: sms.KindProviderTemporary, Code: CodeBadResponse,
			Message: "unreadable balance", Err: err})
	}
	return m, nil
}

// Segments lists the account's cost centres.
func (c *Client) Segments(ctx context.Context) ([]Segment, error) {
	return list[Segment](ctx, c, "segments", pathSegments, "segments")
}

// APIs lists the account's sending routes.
func (c *Client) APIs(ctx context.Context) ([]API, error) {
	return list[API](ctx, c, "apis", pathAPIs, "apis")
}

// Layouts lists the account's file-import layouts.
func (c *Client) Layouts(ctx context.Context) ([]Layout, error) {
	return list[Layout](ctx, c, "layouts", pathLayouts, "layouts")
}

// list calls a read endpoint answering a list, bare or under key.
func list[T any](ctx context.Context, c *Client, op, path, key string) ([]T, error) {
	var out []T
	decode := func(body []byte) error {
		var err error
		out, err = decodeList[T](body, key)
		return err
	}
	if err := c.call(ctx, path, nil, decode, idempotent); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}
