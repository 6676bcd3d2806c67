package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The social planner's CSV imports on a real mount (--social-csv): the
// folder .social-csv-imports lists every import, each file holds what the
// service holds, rm deletes an import (EBUSY for one still importing),
// everything else there is EROFS; a token without the scope has no folder
// and a working mount; ghlfs social-csv import makes an import the folder
// shows; without the flag there is no folder; an agency's mount has one
// in each location's folder.

const csvFolder = ".social-csv-imports"

// csvName is the name the mount shows an import under, from the record
// the fake holds.
func csvName(t *testing.T, st ghltest.CSVImportState) string {
	t.Helper()
	var rec struct {
		ID        string `json:"_id"`
		FileName  string `json:"fileName"`
		CreatedAt string `json:"createdAt"`
	}
	if err := json.Unmarshal(st.Record, &rec); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, rec.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC().Format(time.DateOnly) + "_" + rec.FileName + "~" + rec.ID + ".json"
}

// parsed is a JSON document as Go values, to compare two by meaning.
func parsed(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// A location with 150 imports (and one deleted) lists every one, from
// pages of 10; each file's JSON is what the fake holds; stat, wc -c, cat,
// cp and cmp agree on every file's size and bytes; times and xattrs come
// from the import.
func TestSocialCSVListsEveryImport(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{})
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 150 {
		srv.AddCSVImport(ghltest.CSVImportSeed{FileName: fmt.Sprintf("plan %03d.csv", i), CreatedAt: base.Add(time.Duration(i) * 7 * time.Hour),
			Rows: i % 25, AccountIDs: []string{"acct-" + strconv.Itoa(i%3), "acct-x"}})
	}
	srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "gone.csv", Status: "deleted", CreatedAt: base})
	m := mountFS(t, srv, mountOpt{args: []string{"--social-csv"}})

	if root := lsNames(t, m.path()); slices.Contains(root, csvFolder) {
		t.Errorf("ls -A of the root lists the imports' folder: %q", root)
	}
	held := srv.CSVImports()
	byName := map[string]ghltest.CSVImportState{}
	var want []string
	for _, st := range held {
		if st.Status != "deleted" {
			n := csvName(t, st)
			byName[n] = st
			want = append(want, n)
		}
	}
	dir := m.path(csvFolder)
	got := lsNames(t, dir)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%d files listed, want %d: %q", len(got), len(want), got)
	}
	// The probe at mount listed them: 150 in pages of 10 overlapping by
	// one (10, then 9 new a page): 17 calls, and none since.
	if n := srv.Stats().ByEndpoint[ghltest.EndpointCSVList]; n != 17 {
		t.Errorf("%d listings of the imports, want 17 (pages of 10)", n)
	}

	local := filepath.Join(t.TempDir(), "copy")
	sh(t, "cp", "-r", dir, local)
	paths := make([]string, len(want))
	for i, n := range want {
		paths[i] = filepath.Join(dir, n)
		data, err := os.ReadFile(filepath.Join(local, n))
		if err != nil {
			t.Fatal(err)
		}
		st := byName[n]
		wantJSON, _ := json.Marshal(st)
		if !reflect.DeepEqual(parsed(t, data), parsed(t, wantJSON)) {
			t.Fatalf("%s holds\n%s\nthe fake holds\n%s", n, data, wantJSON)
		}
	}
	// stat and wc -c, over every file, against what cat gave cp.
	stats := strings.Split(strings.TrimSpace(sh(t, "stat", append([]string{"-c", "%s %Y %A"}, paths...)...)), "\n")
	wc := strings.Split(strings.TrimSpace(sh(t, "wc", append([]string{"-c"}, paths...)...)), "\n")
	for i, n := range want {
		fi, err := os.Stat(filepath.Join(local, n))
		if err != nil {
			t.Fatal(err)
		}
		var rec struct{ CreatedAt string }
		json.Unmarshal(byName[n].Record, &rec)
		at, _ := time.Parse(time.RFC3339, rec.CreatedAt)
		if f := strings.Fields(stats[i]); len(f) != 3 || f[0] != strconv.FormatInt(fi.Size(), 10) || f[1] != strconv.FormatInt(at.Unix(), 10) || f[2] != "-r--r--r--" {
			t.Errorf("stat of %s: %q; cat gave %d bytes; created %v", n, stats[i], fi.Size(), at)
		}
		if f := strings.Fields(wc[i]); len(f) < 1 || f[0] != strconv.FormatInt(fi.Size(), 10) {
			t.Errorf("wc -c of %s: %q; cat gave %d bytes", n, wc[i], fi.Size())
		}
	}
	for _, n := range want[:3] {
		sh(t, "cmp", filepath.Join(dir, n), filepath.Join(local, n))
	}
	one := byName[want[0]]
	for name, v := range map[string]string{"user.ghl.csv.status": "completed", "user.ghl.id": one.ID, "user.ghl.csv.count": strconv.Itoa(len(one.Posts))} {
		if got := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", name, paths[0]); got != v {
			t.Errorf("%s of %s: %q, want %q", name, want[0], got, v)
		}
	}
	var accounts []string
	json.Unmarshal([]byte(sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.csv.accountIds", paths[0])), &accounts)
	if len(accounts) != 2 || accounts[1] != "acct-x" {
		t.Errorf("user.ghl.csv.accountIds: %q", accounts)
	}
}

// rm of a completed import deletes it on the service; rm of one still
// importing is EBUSY, with no call; every other change in the folder is
// EROFS. Under csv-delete-422-importing, an import the listing showed
// pending that the service is importing by then is refused by the
// service: EINVAL, its message logged, and it stays.
func TestSocialCSVRemove(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkCSVDelete422Importing}})
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	done := srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "done.csv", CreatedAt: base, Rows: 3})
	busy := srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "busy.csv", Status: "importing", CreatedAt: base.Add(time.Hour), Rows: 2})
	pend := srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "pend.csv", Status: "pending", CreatedAt: base.Add(2 * time.Hour), Rows: 2})
	other := srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "other.csv", CreatedAt: base.Add(3 * time.Hour), Rows: 1})
	m := mountFS(t, srv, mountOpt{args: []string{"--social-csv"}})
	names := map[string]string{}
	for _, st := range srv.CSVImports() {
		names[st.ID] = m.path(csvFolder, csvName(t, st))
	}
	deletes := func() int64 { return srv.Stats().ByEndpoint[ghltest.EndpointCSVDelete] }

	sh(t, "rm", names[done])
	if st, _ := srv.Location(testLocation).CSVImport(done); st.Status != "deleted" {
		t.Errorf("the import rm removed is %s on the service", st.Status)
	}
	if slices.Contains(lsNames(t, m.path(csvFolder)), filepath.Base(names[done])) {
		t.Error("the removed import is still shown")
	}
	if out, err := shErr("rm", names[busy]); err == nil || !strings.Contains(out, "Device or resource busy") {
		t.Errorf("rm of an importing import: %v\n%s", err, out)
	}
	if st, _ := srv.Location(testLocation).CSVImport(busy); st.Status != "importing" || deletes() != 1 {
		t.Errorf("the importing import is %s on the service; %d deletes sent", st.Status, deletes())
	}
	if !strings.Contains(m.log.String(), "still being made") {
		t.Errorf("no log line says why rm was refused:\n%s", m.log)
	}

	for _, c := range [][]string{
		{"touch", m.path(csvFolder, "new.json")},
		{"mkdir", m.path(csvFolder, "d")},
		{"mv", names[other], m.path(csvFolder, "renamed.json")},
		{"mv", names[other], m.path("out.json")},
		{"cp", names[other], names[other] + ".copy"},
		{"sh", "-c", "echo x >> '" + names[other] + "'"},
		{"truncate", "-s", "0", names[other]},
		{"touch", "-d", "2020-01-01", names[other]},
		{"rmdir", m.path(csvFolder)},
		{"mv", m.path(csvFolder), m.path("elsewhere")},
		{"mv", m.path(csvFolder), m.path("sub")},
	} {
		if c[0] == "mv" && strings.HasSuffix(c[2], "sub") {
			sh(t, "mkdir", m.path("sub"))
		}
		if out, err := shErr(c[0], c[1:]...); err == nil || !strings.Contains(out, "Read-only file system") {
			t.Errorf("%q: %v\n%s", c, err, out)
		}
	}
	if !slices.Contains(lsNames(t, m.path(csvFolder)), filepath.Base(names[other])) || deletes() != 1 {
		t.Errorf("an import went, or a delete was sent (%d)", deletes())
	}
	if st, _ := srv.Location(testLocation).CSVImport(other); st.Status != "completed" {
		t.Errorf("other.csv is %s", st.Status)
	}

	// The service starts the pending import; the mount's listing (its
	// TTL) still shows it pending.
	srv.Location(testLocation).SetCSVStatus(pend, "importing")
	out, err := shErr("rm", names[pend])
	if err == nil || !strings.Contains(out, "Invalid argument") {
		t.Errorf("rm refused by the service: %v\n%s", err, out)
	}
	if st, _ := srv.Location(testLocation).CSVImport(pend); st.Status != "importing" {
		t.Errorf("the refused import is %s", st.Status)
	}
	if !strings.Contains(m.log.String(), "CSV import is in progress and cannot be deleted") {
		t.Errorf("the service's message is not in the log:\n%s", m.log)
	}
}

// Tools that walk the whole mount never reach the imports: rsync
// --delete of an empty folder into the root, find -delete and rm -r of
// everything at the root empty the library and leave every import on
// the service and in the folder, which a path naming it still shows.
func TestSocialCSVSurvivesRecursiveRemoval(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{})
	for i := range 3 {
		srv.AddCSVImport(ghltest.CSVImportSeed{FileName: fmt.Sprintf("plan %d.csv", i), Rows: 2})
	}
	m := mountFS(t, srv, mountOpt{args: []string{"--social-csv"}})
	var want []string
	for _, st := range srv.CSVImports() {
		want = append(want, csvName(t, st))
	}
	slices.Sort(want)
	deletes := func() int64 { return srv.Stats().ByEndpoint[ghltest.EndpointCSVDelete] }
	if got := lsNames(t, m.path(csvFolder)); !slices.Equal(got, want) {
		t.Fatalf("the folder: %q, want %q", got, want)
	}
	fill := func() {
		sh(t, "mkdir", "-p", m.path("dir"))
		sh(t, "sh", "-c", "echo a > "+m.path("a.txt")+" && echo b > "+m.path("dir", "b.txt"))
	}
	empty := t.TempDir()
	fill()
	sh(t, "rsync", "-r", "--delete", empty+"/", m.path()+"/")
	fill()
	sh(t, "find", m.path(), "-mindepth", "1", "-delete")
	fill()
	sh(t, "sh", "-c", "rm -rf "+m.path()+"/* "+m.path()+"/.[!.]*")
	if root := lsNames(t, m.path()); len(root) != 0 {
		t.Errorf("the root after the removals: %q", root)
	}
	if n := deletes(); n != 0 {
		t.Errorf("%d imports deleted on the service", n)
	}
	for _, st := range srv.CSVImports() {
		if st.Status == "deleted" {
			t.Errorf("%s is deleted on the service", st.ID)
		}
	}
	if got := lsNames(t, m.path(csvFolder)); !slices.Equal(got, want) {
		t.Errorf("the folder after the removals: %q, want %q", got, want)
	}
}

// A token without socialplanner/csv.readonly: no folder, one INFO line
// saying why, and the rest of the mount works.
func TestSocialCSVWithoutScope(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{TokenScopes: []string{ghltest.ScopeMediasReadonly, ghltest.ScopeMediasWrite}})
	srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "a.csv", Rows: 1})
	m := mountFS(t, srv, mountOpt{args: []string{"--social-csv"}})
	if root := lsNames(t, m.path()); slices.Contains(root, csvFolder) {
		t.Errorf("ls -A shows %s: %q", csvFolder, root)
	}
	if out, err := shErr("stat", m.path(csvFolder)); err == nil || !strings.Contains(out, "No such file") {
		t.Errorf("stat of the folder: %v\n%s", err, out)
	}
	sh(t, "sh", "-c", "echo hello > "+m.path("a.txt"))
	sh(t, "mkdir", m.path("dir"))
	if got := sh(t, "cat", m.path("a.txt")); got != "hello\n" {
		t.Errorf("cat: %q", got)
	}
	if tree := remoteTree(t, srv); len(tree) == 0 {
		t.Error("nothing reached the library")
	}
	log := m.log.String()
	var info, bad []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "socialplanner/csv.readonly") && strings.Contains(line, "level=INFO") {
			info = append(info, line)
		}
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			bad = append(bad, line)
		}
	}
	if len(info) != 1 || len(bad) != 0 {
		t.Errorf("INFO lines naming the scope %q; WARN or ERROR lines %q", info, bad)
	}
}

// Without --social-csv there is no folder, and no call for it.
func TestSocialCSVOffByDefault(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{})
	srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "a.csv", Rows: 1})
	m := mountFS(t, srv, mountOpt{})
	if root := lsNames(t, m.path()); slices.Contains(root, csvFolder) {
		t.Errorf("ls -A shows %s: %q", csvFolder, root)
	}
	if _, err := shErr("stat", m.path(csvFolder)); err == nil {
		t.Error("the folder is there")
	}
	if n := srv.Stats().ByEndpoint[ghltest.EndpointCSVList]; n != 0 {
		t.Errorf("%d listings of the imports", n)
	}
}

// ghlfs social-csv import makes an import, which a mount then shows,
// holding the CSV's posts; ghlfs social-csv list shows it.
func TestSocialCSVImportFromCommandLine(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{})
	file := filepath.Join(t.TempDir(), "july plan.csv")
	os.WriteFile(file, []byte("postAtSpecificTime,content,imageUrls\n2025-07-01 10:00:00,First post,https://example.com/a.png\n2025-07-02 10:00:00,Second post,\n"), 0o600)
	ghlfs := func(args ...string) string {
		cmd := exec.Command(filepath.Join(binDir, "ghlfs"), append([]string{"social-csv"}, args...)...)
		cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "GHL_LOCATION_ID="+testLocation, "GHL_API_URL="+srv.URL, "XDG_CONFIG_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ghlfs social-csv %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := ghlfs("import", file, "--accounts", "acc-1,acc-2")
	held := srv.CSVImports()
	if len(held) != 1 || held[0].Status != "importing" || !strings.Contains(out, held[0].ID) {
		t.Fatalf("the fake holds %+v after:\n%s", held, out)
	}
	if list := ghlfs("list"); !strings.Contains(list, held[0].ID) || !strings.Contains(list, "july plan.csv") {
		t.Errorf("list:\n%s", list)
	}
	m := mountFS(t, srv, mountOpt{args: []string{"--social-csv"}})
	name := csvName(t, held[0])
	if got := lsNames(t, m.path(csvFolder)); !slices.Equal(got, []string{name}) {
		t.Fatalf("the folder shows %q, want %q", got, name)
	}
	var doc struct {
		CSV struct {
			FileName   string   `json:"fileName"`
			AccountIDs []string `json:"accountIds"`
		} `json:"csv"`
		Posts []struct{ Summary string } `json:"posts"`
	}
	if err := json.Unmarshal([]byte(sh(t, "cat", m.path(csvFolder, name))), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.CSV.FileName != "july plan.csv" || len(doc.CSV.AccountIDs) != 2 || len(doc.Posts) != 2 || doc.Posts[0].Summary != "First post" {
		t.Errorf("the import's file holds %+v", doc)
	}
}

// An agency's mount has the folder in each location's folder, each with
// that location's imports; ghlfs login asked for the scopes, as the
// config file enables the imports.
func TestSocialCSVAgency(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	locs := ghltest.DemoLocations(2)
	locs[0].ID = testLocation
	srv := fake(t, ghltest.Options{Seed: "demo", Locations: locs, Approve: "Company"})
	conf := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(conf, []byte("GHL_SOCIAL_CSV=true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := login(t, srv, "Company", false, "--config", conf)
	m := mountFS(t, srv, mountOpt{agency: true, args: []string{"--token-file", tokenFile, "--config", conf}, env: appEnv(t, srv), token: "not-this-one"})
	for _, l := range srv.Locations() {
		var want []string
		for _, st := range l.CSVImports() {
			want = append(want, csvName(t, st))
		}
		slices.Sort(want)
		got := lsNames(t, m.path(l.Name(), csvFolder))
		if len(want) != 3 || !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", l.Name(), got, want)
		}
	}
}

// Under each quirk of the CSV listings, a real mount shows every import
// and each file's JSON holds every post.
func TestSocialCSVQuirks(t *testing.T) {
	t.Parallel()
	for _, quirks := range [][]string{{ghltest.QuirkCSVsObject}, {ghltest.QuirkCountIsPage}, {"csv-limit-cap=3"},
		{ghltest.QuirkCSVsObject, ghltest.QuirkCountIsPage, "csv-limit-cap=4"}} {
		t.Run(strings.Join(quirks, ","), func(t *testing.T) {
			t.Parallel()
			needFUSE(t)
			srv := fake(t, ghltest.Options{Quirks: quirks})
			base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
			for i := range 40 {
				srv.AddCSVImport(ghltest.CSVImportSeed{FileName: fmt.Sprintf("plan %02d.csv", i), CreatedAt: base.Add(time.Duration(i) * time.Hour), Rows: i % 12})
			}
			m := mountFS(t, srv, mountOpt{args: []string{"--social-csv"}})
			var want []string
			byName := map[string]ghltest.CSVImportState{}
			for _, st := range srv.CSVImports() {
				n := csvName(t, st)
				want = append(want, n)
				byName[n] = st
			}
			slices.Sort(want)
			if got := lsNames(t, m.path(csvFolder)); !slices.Equal(got, want) {
				t.Fatalf("%d files listed, want %d: %q", len(got), len(want), got)
			}
			for _, n := range []string{want[0], want[11], want[39]} {
				wantJSON, _ := json.Marshal(byName[n])
				if got := sh(t, "cat", m.path(csvFolder, n)); !reflect.DeepEqual(parsed(t, []byte(got)), parsed(t, wantJSON)) {
					t.Errorf("%s holds\n%s\nthe fake holds\n%s", n, got, wantJSON)
				}
			}
		})
	}
}
