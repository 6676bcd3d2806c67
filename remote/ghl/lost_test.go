package ghl_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A create into a folder whose answer is lost, on a service that put it
// in the root: the client finds it there, trashes it and reports it
// misplaced; it is never sent again, and nothing is left in the root.
// (Also when the answer came without an id, for a folder.)
func TestLostCreateLandedInTheRoot(t *testing.T) {
	for _, c := range []struct {
		name     string
		quirks   []string
		endpoint string // cut once, after the service acted ("": none)
		create   func(*ghl.Client, string) (remote.Item, error)
	}{
		{"upload cut", nil, ghltest.EndpointUpload, func(c *ghl.Client, f string) (remote.Item, error) {
			return uploadBytes(t, c, f, "lost.txt", "lost bytes")
		}},
		{"folder cut", nil, ghltest.EndpointFolder, func(c *ghl.Client, f string) (remote.Item, error) {
			return c.CreateFolder(context.Background(), f, "lost")
		}},
		{"folder answered without an id", []string{ghltest.QuirkFolderNoID}, "", func(c *ghl.Client, f string) (remote.Item, error) {
			return c.CreateFolder(context.Background(), f, "lost")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, srv := quirkClient(t, ghltest.Options{Quirks: append(c.quirks, ghltest.QuirkParentIgnored)})
			f := srv.AddFolder("", "F")
			srv.ResetStats()
			if c.endpoint != "" {
				srv.CutNext(c.endpoint)
			}
			_, err := c.create(cl, f)
			var mis *ghl.MisplacedError
			if !errors.As(err, &mis) || !mis.Trashed {
				t.Fatalf("create into a folder that landed in the root: %v, want a MisplacedError, its copy trashed", err)
			}
			st := srv.Stats().ByEndpoint
			if n := st[ghltest.EndpointUpload] + st[ghltest.EndpointFolder]; n != 1 {
				t.Errorf("%d creates sent, want 1", n)
			}
			made := 0
			for _, it := range srv.Items() {
				if it.Name != "lost.txt" && it.Name != "lost" {
					continue
				}
				made++
				if it.ID != mis.ID || it.Status != ghltest.StatusTrashed {
					t.Errorf("%s (%s) is %s in %q; the error names %s", it.Name, it.ID, it.Status, it.ParentID, mis.ID)
				}
			}
			if made != 1 {
				t.Errorf("%d copies made, want 1", made)
			}
			if cl.FolderWrites() == nil {
				t.Error("FolderWrites is nil after a misplaced create")
			}
		})
	}
}

// A create into a folder whose request never reached the service, on one
// that keeps to parentId: an item of its name that was in the root
// already is not taken for it (nor trashed); the create is sent again and
// lands in its folder.
func TestLostCreateLeavesTheRootsOwn(t *testing.T) {
	for _, c := range []struct {
		name, path string
		create     func(*ghl.Client, string) (remote.Item, error)
	}{
		{"upload", "/medias/upload-file", func(c *ghl.Client, f string) (remote.Item, error) {
			return uploadBytes(t, c, f, "same.txt", "same bytes")
		}},
		{"folder", "/medias/folder", func(c *ghl.Client, f string) (remote.Item, error) {
			return c.CreateFolder(context.Background(), f, "same.txt")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, srv := quirkClient(t, ghltest.Options{})
			var own string
			if c.name == "upload" {
				own = srv.AddFile("", "same.txt", "", []byte("same bytes"))
			} else {
				own = srv.AddFolder("", "same.txt")
			}
			f := srv.AddFolder("", "F")
			cl := frontClient(t, srv, c.path)
			it, err := c.create(cl, f)
			if err != nil {
				t.Fatalf("create whose first request was refused by a gateway: %v", err)
			}
			if x, ok := srv.Item(it.ID); !ok || x.ParentID != f || x.Status != ghltest.StatusActive {
				t.Fatalf("the create answered %s: the fake has %+v", it.ID, x)
			}
			if x, _ := srv.Item(own); x.Status != ghltest.StatusActive || x.ParentID != "" {
				t.Fatalf("the root's own %s is %s in %q", own, x.Status, x.ParentID)
			}
			if cl.FolderWrites() != nil {
				t.Fatalf("FolderWrites: %v", cl.FolderWrites())
			}
		})
	}
}

// frontClient is a client of srv behind a gateway that answers the first
// request to path with 502 without passing it on: the service never acts
// on it, and the client cannot tell.
func frontClient(t *testing.T, srv *ghltest.Server, path string) *ghl.Client {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var refused atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path && refused.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>502 Bad Gateway</html>")
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c, err := ghl.New(ghl.Config{BaseURL: front.URL, Token: ghltest.DefaultToken, LocationID: "loc-quirks", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
