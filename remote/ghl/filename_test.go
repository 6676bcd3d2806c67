package ghl_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A name holding control characters (the mount's Control Pictures give
// them) uploads: the form part's filename has them percent-encoded, as
// a multipart parser can read it, and the name field carries the name as
// it is. Before, the fake's parser (as strict as busboy) refused the form
// with 400.
func TestUploadNameWithControlCharacters(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{})
	const name = "a\x1b[2Jb\x01.txt"
	data := []byte("x")
	it, err := c.UploadFile(context.Background(), remote.Upload{Name: name, Size: 1, ContentType: "text/plain",
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range listed {
		if l.ID == it.ID && l.Name == name {
			if held, ok := srv.Item(it.ID); !ok || held.Name != name {
				t.Errorf("the fake holds %+v", held)
			}
			return
		}
	}
	t.Errorf("%q not listed: %+v", name, listed)
}
