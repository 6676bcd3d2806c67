package entry

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Of keeps the content type (shared, bounded) and the creation time
// (createdAt, else the time in a Mongo id; unknown when out of range).
func TestOfTypeAndCreated(t *testing.T) {
	at := time.Date(2025, 6, 7, 8, 9, 10, 123000000, time.UTC)
	for _, tc := range []struct {
		name    string
		it      remote.Item
		ctype   string
		created time.Time
	}{
		{"listed", remote.Item{ID: "x1", ContentType: "image/png", CreatedAt: at}, "image/png", at},
		// A time in an id is the backend's to read (ghl's parser sets
		// CreatedAt from an ObjectID): the cache never reads ids.
		{"no time but the id's", remote.Item{ID: "65a1b2c30000000000000000"}, "", time.Time{}},
		{"type too long", remote.Item{ID: "x2", ContentType: "image/" + strings.Repeat("x", MaxContentTypeBytes)}, "", time.Time{}},
		{"type at the bound", remote.Item{ID: "x3", ContentType: strings.Repeat("t", MaxContentTypeBytes)}, strings.Repeat("t", MaxContentTypeBytes), time.Time{}},
		{"year 9999", remote.Item{ID: "x4", CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, "", time.Time{}},
		{"before 1678", remote.Item{ID: "x5", CreatedAt: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}, "", time.Time{}},
	} {
		e := Of(tc.it)
		if e.ContentType() != tc.ctype || !e.Created().Equal(tc.created) {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, e.ContentType(), e.Created(), tc.ctype, tc.created)
		}
	}
	a := Of(remote.Item{ID: "a", ContentType: strings.Clone("image/jpeg")})
	b := Of(remote.Item{ID: "b", ContentType: strings.Clone("image/jpeg")})
	if a.ctype != b.ctype {
		t.Errorf("two entries of one content type do not share it")
	}
}

// Translate gives a name taken where names are unique (409) the kind
// ErrExists (EEXIST), not ErrUnavailable (EIO): the service refused the
// change, and is not out of reach.
func TestTranslateKinds(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind error
	}{
		{&remote.Error{Method: "PUT", Endpoint: "/v1/files/rename", Status: 409, Message: "File with name e already exists"}, ErrExists},
		{&remote.Error{Method: "PUT", Endpoint: "/v1/files/rename", Status: 404}, ErrNotFound},
		{&remote.Error{Method: "PUT", Endpoint: "/v1/files/rename", Status: 503}, ErrUnavailable},
	} {
		got := Translate(tc.err)
		if !errors.Is(got, tc.kind) || !errors.Is(got, tc.err) {
			t.Errorf("Translate(%v) = %v, want %v wrapping it", tc.err, got, tc.kind)
		}
	}
}

// The service's "in use" (a file another user reserved: remote.ErrBusy,
// a 423) is ErrInUse, not the rate limit's ErrBusy nor ErrUnavailable.
func TestTranslateInUse(t *testing.T) {
	err := Translate(&remote.Error{Status: http.StatusLocked, Message: "reserved by colleague"})
	if !errors.Is(err, ErrInUse) || errors.Is(err, ErrBusy) || errors.Is(err, ErrUnavailable) {
		t.Errorf("a 423: %v", err)
	}
}

// Sort orders by name, then key, whatever the input: sorted, a sorted
// head with a tail appended (a folder's view), or in no order at all.
func TestSortMergesATail(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := func(es []Entry) []Entry {
		out := slices.Clone(es)
		slices.SortStableFunc(out, compareEntries)
		return out
	}
	for round := range 500 {
		n := rng.IntN(40)
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{Name: fmt.Sprint(rng.IntN(20)), Key: fmt.Sprint(rng.IntN(5))}
		}
		if head := rng.IntN(n + 1); round%2 == 0 {
			slices.SortFunc(es[:head], compareEntries) // a listing, then new files
		}
		w := want(es)
		Sort(es)
		if !slices.EqualFunc(es, w, func(a, b Entry) bool { return a.Name == b.Name && a.Key == b.Key }) {
			t.Fatalf("round %d: %v, want %v", round, es, w)
		}
	}
}
