package remote

// TEMPORARY: stands in for the pacer branch until it is merged.

import (
	"context"
	"errors"
)

var ErrOrderIgnored = errors.New("order ignored")

func Background(ctx context.Context) context.Context { return ctx }

func (c *Client) ListUpdated(ctx context.Context, typ string, visit func(Item) bool) error {
	return ErrOrderIgnored
}
