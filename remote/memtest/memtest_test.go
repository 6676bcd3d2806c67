package memtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
)

// What the contract (contract_test.go) cannot see: the faults a test
// injects, the counts, and the ways of each profile's service.

func upload(t *testing.T, b *Backend, parent, name string, data []byte) (remote.Item, error) {
	t.Helper()
	return b.Upload(context.Background(), remote.Upload{ParentID: parent, Name: name, ContentType: remote.TypeByName(name),
		Size: int64(len(data)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
}

func TestFailNextActsOnNothing(t *testing.T) {
	b := New(Options{})
	b.FailNext(OpUpload, 2, nil)
	for range 2 {
		if _, err := upload(t, b, "", "a.txt", []byte("a")); !errors.Is(err, remote.ErrUnavailable) {
			t.Fatalf("failed upload: %v, want ErrUnavailable", err)
		}
	}
	if n := len(b.Items()); n != 0 {
		t.Fatalf("%d items after two failed uploads", n)
	}
	if _, err := upload(t, b, "", "a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if got := b.Calls(OpUpload); got != 3 {
		t.Errorf("Calls(Upload) = %d, want 3", got)
	}
	st := b.Stats()
	if st.Calls[remote.CallKey{Endpoint: "memtest Upload", Status: 503}] != 2 || st.Calls[remote.CallKey{Endpoint: "memtest Upload", Status: 200}] != 1 {
		t.Errorf("stats %v: want two 503s and one 200", st.Calls)
	}
}

func TestLoseAnswerActs(t *testing.T) {
	b := New(Options{})
	b.LoseAnswer(OpUpload, 1)
	_, err := upload(t, b, "", "a.txt", []byte("abc"))
	if !errors.Is(err, remote.ErrAmbiguous) {
		t.Fatalf("upload: %v, want ErrAmbiguous", err)
	}
	items := b.Items()
	if len(items) != 1 || items[0].Name != "a.txt" {
		t.Fatalf("library %v: the upload should have landed once", items)
	}
}

func TestHoldWaitsForTheGate(t *testing.T) {
	b := New(Options{})
	g := b.Hold(OpCreateFolder)
	var wg sync.WaitGroup
	wg.Add(1)
	var err error
	go func() {
		defer wg.Done()
		_, err = b.CreateFolder(context.Background(), "", "Docs")
	}()
	<-g.Reached()
	if n := len(b.Items()); n != 0 {
		t.Fatalf("%d items while the call is held", n)
	}
	g.Open()
	wg.Wait()
	if err != nil || len(b.Items()) != 1 {
		t.Fatalf("after the gate opened: %v, %d items", err, len(b.Items()))
	}

	// A held call whose context ends does nothing.
	g = b.Hold(OpCreateFolder)
	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err = b.CreateFolder(ctx, "", "Other")
	}()
	<-g.Reached()
	cancel()
	wg.Wait()
	if !errors.Is(err, context.Canceled) || len(b.Items()) != 1 {
		t.Fatalf("cancelled held call: %v, %d items", err, len(b.Items()))
	}
}

func TestRefuseRemovalPerID(t *testing.T) {
	b := New(Options{})
	x, y := b.AddFile("", "x.txt", []byte("x")), b.AddFile("", "y.txt", []byte("y"))
	b.RefuseRemoval(x)
	var nd *remote.NotDoneError
	if err := b.Remove(context.Background(), []string{x, y}, false); !errors.As(err, &nd) || !slices.Equal(nd.IDs, []string{x}) {
		t.Fatalf("remove: %v, want x not done", err)
	}
	if it, _ := b.Item(x); it.Status != Active {
		t.Errorf("refused x is %s", it.Status)
	}
	if it, _ := b.Item(y); it.Status != Trashed {
		t.Errorf("y is %s, want trashed", it.Status)
	}
	b.AllowRemoval()
	if err := b.Remove(context.Background(), []string{x}, true); err != nil {
		t.Fatal(err)
	}
}

// ImageKit refuses a bulk delete naming an id it does not hold, and
// deletes nothing: the backend sends the rest again.
func TestImageKitMissingIDSecondCall(t *testing.T) {
	b := New(Options{Profile: ImageKit()})
	x := b.AddFile("", "x.txt", []byte("x"))
	gone := b.AddFile("", "gone.txt", []byte("g"))
	b.Delete(gone, true)
	var nd *remote.NotDoneError
	if err := b.Remove(context.Background(), []string{x, gone}, true); !errors.As(err, &nd) || !slices.Equal(nd.IDs, []string{gone}) {
		t.Fatalf("remove: %v, want %s not done", err, gone)
	}
	if it, _ := b.Item(x); it.Status != Deleted {
		t.Errorf("x is %s, want deleted", it.Status)
	}
	if n := b.Calls(OpRemove); n != 2 {
		t.Errorf("%d remove calls, want 2 (refused whole, then the rest)", n)
	}
	if err := b.Remove(context.Background(), []string{x}, false); !errors.Is(err, remote.ErrNotSupported) {
		t.Errorf("trashing on ImageKit: %v, want ErrNotSupported", err)
	}
}

// ImageKit rewrites names silently; ValidName refuses what it would
// rewrite, and what it keeps is stored as sent.
func TestImageKitNames(t *testing.T) {
	b := New(Options{Profile: ImageKit()})
	caps := b.Caps()
	for _, c := range []struct {
		name string
		dir  bool
		ok   bool
	}{
		{"report-2024_v1.pdf", false, true},
		{"my report.pdf", false, false},
		{"résumé.pdf", false, false},
		{"Documents", true, true},
		{"Café_2024", true, true},
		{"two words", true, false},
		{"a-b", true, false},
		{"..", true, false},
	} {
		err := caps.CheckName(c.name, c.dir)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, remote.ErrInvalid)) {
			t.Errorf("CheckName(%q, dir %v) = %v, want ok %v", c.name, c.dir, err, c.ok)
		}
	}
	it, err := upload(t, b, "", "my report.pdf", []byte("x"))
	if err != nil || it.Name != "my_report.pdf" {
		t.Errorf("upload of a name the service rewrites: %q, %v; want it stored as my_report.pdf", it.Name, err)
	}
	// A folder made twice is the same folder.
	f1, _ := b.CreateFolder(context.Background(), "", "Docs")
	f2, err := b.CreateFolder(context.Background(), "", "Docs")
	if err != nil || f1.ID != f2.ID {
		t.Errorf("folder made twice: %v, %v, %v", f1.ID, f2.ID, err)
	}
}

// OCM compares names without case: an upload onto a name in another case
// is a new version of the file, which keeps its name; a folder made onto
// a taken name becomes "name(2)".
func TestOCMNames(t *testing.T) {
	b := New(Options{Profile: OCM()})
	first, err := upload(t, b, "", "Report.txt", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := upload(t, b, "", "REPORT.TXT", []byte("two!"))
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID || second.Name != "Report.txt" || second.Rev != "2" || first.Rev != "1" {
		t.Errorf("second upload %+v; want the id %s, name Report.txt, version 2", second, first.ID)
	}
	old, ok := b.Content(first.ID, "1")
	if !ok || string(old) != "one" {
		t.Errorf("version 1: %q, %v", old, ok)
	}
	f1, _ := b.CreateFolder(context.Background(), "", "Docs")
	f2, err := b.CreateFolder(context.Background(), "", "docs")
	if err != nil || f2.ID == f1.ID || f2.Name != "docs(2)" {
		t.Errorf("folder made onto a taken name: %+v, %v; want a new folder docs(2)", f2, err)
	}
	if err := errListOf(b, "Fnothing"); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("OCM listing of an unknown folder: %v, want ErrNotFound", err)
	}
	if err := errListOf(New(Options{}), "nothing"); err != nil {
		t.Errorf("HighLevel listing of an unknown folder: %v, want an empty listing", err)
	}
}

// OCM removes one item a call (BulkRemove 1): a Remove of several ids
// is sent one call each, as the OCM backend does, per-id results in one
// *remote.NotDoneError; names are refused as ocm.ValidName refuses them.
func TestOCMRemoveAndNames(t *testing.T) {
	b := New(Options{Profile: OCM()})
	a, c := b.AddFile("", "a.txt", []byte("a")), b.AddFile("", "c.txt", []byte("c"))
	gone := b.AddFile("", "gone.txt", []byte("g"))
	b.Delete(gone, false)
	b.ResetCalls()
	err := b.Remove(context.Background(), []string{a, gone, c}, false)
	var nd *remote.NotDoneError
	if !errors.As(err, &nd) || !slices.Equal(nd.IDs, []string{gone}) {
		t.Errorf("removing three ids, one gone: %v, want it alone not done", err)
	}
	if n := b.Calls(OpRemove); n != 3 || b.Caps().BulkRemove != 1 {
		t.Errorf("%d calls for three ids (BulkRemove %d), want one each", n, b.Caps().BulkRemove)
	}
	for _, id := range []string{a, c} {
		if it, _ := b.Item(id); it.Status != Trashed {
			t.Errorf("%s is %s", it.Name, it.Status)
		}
	}
	valid := b.Caps().ValidName
	if valid == nil || !errors.Is(valid("a:b.txt", false), remote.ErrInvalid) || valid("a b.txt", false) != nil {
		t.Errorf("OCM's names: ValidName %v", valid != nil)
	}
}

func errListOf(b *Backend, parent string) error {
	return b.List(context.Background(), remote.ListQuery{ParentID: parent}, nil, func(remote.Item) {})
}

// Calls from many goroutines at once, of every kind, leave a library
// that adds up (run under -race).
func TestConcurrentCalls(t *testing.T) {
	for _, p := range []Profile{HighLevel(), ImageKit(), OCM()} {
		b := New(Options{Profile: p, PageSize: 5})
		dir := b.AddFolder("", "Shared")
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				for i := range 20 {
					name := fmt.Sprintf("g%d-%d.txt", g, i)
					it, err := upload(t, b, dir, name, []byte(name))
					if err != nil {
						t.Error(err)
						return
					}
					if err := b.List(ctx, remote.ListQuery{ParentID: dir}, nil, func(remote.Item) {}); err != nil {
						t.Error(err)
					}
					if _, err := b.ReadAt(ctx, remote.FileRef{ID: it.ID}, [][]byte{make([]byte, 4)}, 0); err != nil {
						t.Error(err)
					}
					if i%2 == 1 {
						if err := b.Remove(ctx, []string{it.ID}, !b.Caps().Trash); err != nil {
							t.Error(err)
						}
					}
					b.Items()
				}
			}()
		}
		wg.Wait()
		if n := len(b.Tree()); n != 1+8*10 {
			t.Errorf("%s: %d active items, want the folder and 80 files", p.Caps.Kind, n)
		}
	}
}
