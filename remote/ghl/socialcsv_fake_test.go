package ghl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The CSV imports against the fake, under each quirk that covers an
// unknown of their listing: every import comes once, in the service's
// order, and each import's posts all come, as the fake holds them.
func TestCSVImportsUnderQuirks(t *testing.T) {
	for _, quirks := range [][]string{nil, {ghltest.QuirkCSVsObject}, {ghltest.QuirkCountIsPage}, {"csv-limit-cap=3"},
		{ghltest.QuirkCSVsObject, ghltest.QuirkCountIsPage, "csv-limit-cap=7"}} {
		t.Run(fmt.Sprint(quirks), func(t *testing.T) {
			t.Parallel()
			c, srv := quirkClient(t, ghltest.Options{Quirks: quirks})
			base := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
			for i := range 150 {
				srv.AddCSVImport(ghltest.CSVImportSeed{FileName: fmt.Sprintf("plan %03d.csv", i), CreatedAt: base.Add(time.Duration(i) * time.Hour), Rows: i % 23})
			}
			got, err := c.CSVImports(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			held := srv.CSVImports()
			var want []string
			for _, st := range held {
				want = append(want, st.ID)
			}
			var ids []string
			for _, imp := range got {
				ids = append(ids, imp.ID)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("%d imports listed, %d held", len(ids), len(want))
			}
			calls := srv.Stats().ByEndpoint[ghltest.EndpointCSVList]
			t.Logf("%d calls for 150 imports", calls)
			for _, i := range []int{0, 1, 70, 149} {
				d, err := c.CSVImport(context.Background(), held[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				if !jsonSame(t, d.Record, held[i].Record) || len(d.Posts) != len(held[i].Posts) {
					t.Fatalf("import %d: record %s, %d posts; the fake holds %s, %d posts", i, d.Record, len(d.Posts), held[i].Record, len(held[i].Posts))
				}
				for j := range d.Posts {
					if !jsonSame(t, d.Posts[j], held[i].Posts[j]) {
						t.Fatalf("import %d post %d: %s, want %s", i, j, d.Posts[j], held[i].Posts[j])
					}
				}
			}
		})
	}
}

func jsonSame(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		t.Fatalf("not JSON: %s / %s", a, b)
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// An import made from the command line's calls: staged, its accounts set,
// found by its file, finalized; then completed on the fake's clock.
func TestCSVImportMade(t *testing.T) {
	var ahead time.Duration
	now := func() time.Time { return time.Now().Add(ahead) }
	c, srv := quirkClient(t, ghltest.Options{Now: now})
	csv := []byte("postAtSpecificTime,content\n2025-06-01 09:00:00,one\n2025-06-02 09:00:00,two\n2025-06-03 09:00:00,three\n")
	sent := time.Now()
	up, err := c.UploadCSV(context.Background(), "june.csv", csv)
	if err != nil {
		t.Fatal(err)
	}
	if up.RowsCount != 3 || up.FileName != "june.csv" || up.FilePath == "" {
		t.Fatalf("upload %+v", up)
	}
	if err := c.SetCSVAccounts(context.Background(), ghl.CSVAccounts{AccountIDs: []string{"acc-1", "acc-2"}, FilePath: up.FilePath, RowsCount: up.RowsCount, FileName: up.FileName}); err != nil {
		t.Fatal(err)
	}
	imp, err := c.FindCSVImport(context.Background(), up, sent)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Status != remote.CSVPending || imp.Count != 3 || !slices.Equal(imp.AccountIDs, []string{"acc-1", "acc-2"}) {
		t.Fatalf("import %+v", imp)
	}
	if err := c.FinalizeCSV(context.Background(), imp.ID, ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := srv.Location("loc-quirks").CSVImport(imp.ID); st.Status != remote.CSVImporting {
		t.Fatalf("status %s after finalize", st.Status)
	}
	ahead = ghltest.DefaultCSVImportTime
	if st, _ := srv.Location("loc-quirks").CSVImport(imp.ID); st.Status != remote.CSVCompleted {
		t.Fatalf("status %s once done", st.Status)
	}
	// Each step's refusal keeps the service's words.
	err = c.SetCSVAccounts(context.Background(), ghl.CSVAccounts{AccountIDs: []string{"a"}, FilePath: "nowhere", RowsCount: 1, FileName: "x.csv"})
	var e *remote.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Message == "" {
		t.Errorf("set-accounts of nothing staged: %v", err)
	}
	if err := c.FinalizeCSV(context.Background(), "000000000000000000000000", ""); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("finalize of nothing: %v", err)
	}
}
