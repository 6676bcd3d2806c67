package cache

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A read whose url comes from a listing an earlier mount saved, not yet
// checked against the server, and that the allow-list refuses (the file's
// bytes moved since, or the saved listing was another server's), lists
// the folder again and reads from the url it gives.
func TestSavedURLRefusedListsAgain(t *testing.T) {
	e := newWB(t)
	id := e.srv.AddFile("", "a.txt", "text/plain", []byte("the bytes"))
	e.srv.SetFileURL(id, "https://elsewhere.example.com/msgsndr/loc/media/"+id+".txt") // off the allow-list
	e.entry(t, "a.txt")
	e.store.Close()
	e.srv.SetFileURL(id, "") // served from the fake's storage again

	e.open(t)
	saved := e.entry(t, "a.txt")
	if !saved.Unchecked() || !strings.Contains(saved.URL(), "elsewhere.example.com") {
		t.Fatalf("the saved entry: %+v", saved)
	}
	if got := e.read(t, saved); got != "the bytes" {
		t.Errorf("read %q", got)
	}

	// A url refused in a listing checked against the server is not listed
	// again: the read fails.
	e.srv.SetFileURL(id, "https://elsewhere.example.com/x.txt")
	e.clock.Advance(2 * e.opts.DirTTL)
	fresh := e.entry(t, "a.txt")
	if fresh.Unchecked() || !strings.Contains(fresh.URL(), "elsewhere.example.com/x.txt") {
		t.Fatalf("listed again: %+v", fresh)
	}
	lists := e.srv.Stats().ByEndpoint[ghltest.EndpointList]
	h, err := e.store.Open(context.Background(), fresh, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	if _, _, err := h.Read(context.Background(), make([]byte, 10), 0); !errors.Is(err, ErrRefused) {
		t.Errorf("a refused url of a checked listing: %v", err)
	}
	if n := e.srv.Stats().ByEndpoint[ghltest.EndpointList] - lists; n != 0 {
		t.Errorf("%d listings after a refused read of a checked entry, want 0", n)
	}
}
