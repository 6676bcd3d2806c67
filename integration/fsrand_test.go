package integration

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFSRand is a differential random test in the spirit of JuiceFS's
// fsrand: one seeded sequence of file operations is applied to a ghlfs
// mount and to a local directory; every operation must give the same errno
// on both, and the two trees must stay the same. Across folders, on a
// service that cannot move (traits.moves), the mount must say EXDEV where
// the local rename works, and both sides then copy and remove, as mv does;
// on one that moves, the mount may still say EXDEV where the service's
// move cannot serve, and mv then copies the same way. A new name the
// service would rewrite (traits.validName) is EINVAL on the mount, and
// not done locally; on a service whose names ignore case
// (traits.caseInsensitive) names come in both cases, and a new name
// that another item of its folder holds in another case is EEXIST on
// the mount, and not done locally. At the end the mount is stopped and mounted again
// from the same cache directory, and both the new mount and the fake's
// library must hold exactly the local tree.
//
// FSRAND_SEED picks the seed (default 1; "random" picks one and logs it)
// and FSRAND_OPS the number of operations (default 2000; the run under
// faults does half of them, each costing retries). To chase a failure:
// FSRAND_VERBOSE=1 logs every operation, FSRAND_BATCH=N compares the whole
// trees every N operations (default 50), FSRAND_SKIP=truncate,move leaves
// operations out. Every failure names the seed and the operation's index,
// and logs the last operations.
//
// Three runs: uploads at close (--write-back-delay 0, as most tests);
// uploads in the background after a short write-back delay, landing while
// the next operations run; and that again under injected faults with
// listings trusted for 2 s only.
//
// Each backend (backends()) gets the three runs, under its name.
func TestFSRand(t *testing.T) {
	t.Parallel()
	seed, nops := fsrandParams(t)
	for _, fx := range backends() {
		t.Run(fx.name(), func(t *testing.T) {
			t.Parallel()
			t.Run("plain", func(t *testing.T) {
				t.Parallel()
				runFSRand(t, fx, seed, nops, fakeOpts{}, mountOpt{plain: true})
			})
			t.Run("write-back", func(t *testing.T) {
				t.Parallel()
				runFSRand(t, fx, seed, nops, fakeOpts{}, mountOpt{plain: true, args: []string{"--write-back-delay", "200ms"}})
			})
			t.Run("faults", func(t *testing.T) {
				t.Parallel()
				// cut: the fake carries an API request out and then drops the
				// connection unanswered (and cuts a storage GET half way).
				f := faultSet{fail500: 0.05, fail429: 0.01, cut: 0.01}
				runFSRand(t, fx, seed, max(nops/2, 1), fakeOpts{faults: f},
					mountOpt{args: []string{"--dir-cache-time", "2s", "--write-back-delay", "200ms", "--upload-retry", "200ms"}})
			})
		})
	}
}

func fsrandParams(t *testing.T) (uint64, int) {
	seed := uint64(1)
	switch s := os.Getenv("FSRAND_SEED"); s {
	case "":
	case "random":
		var b [8]byte
		crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:]) >> 1
		t.Logf("FSRAND_SEED=random: seed %d (replay with FSRAND_SEED=%d)", seed, seed)
	default:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FSRAND_SEED=%q: %v", s, err)
		}
		seed = n
	}
	nops := 2000
	if s := os.Getenv("FSRAND_OPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("FSRAND_OPS=%q: want a count", s)
		}
		nops = n
	}
	return seed, nops
}

const (
	fsrandMaxDepth = 3   // path components, at most
	fsrandHistory  = 20  // operations logged on failure
	fsrandNaming   = 120 // operations naming a path that differs, logged on failure
)

// fsrand is one run: the mount, the local twin, and where the run is.
type fsrand struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	// checkRng chooses when to check the paths an operation changed
	checkRng *rand.Rand
	svc      service
	tr       traits // svc's
	m        *mount
	mnt      string // root of the mount
	loc      string // root of the local twin
	op       int    // index of the operation under way
	hist     []string
	all      []string // every operation, for the ones naming a path that differs
	counts   map[string]int
	took     map[string]time.Duration // time spent on the mount, by operation
	kind     string                   // the operation under way
	// verbose (FSRAND_VERBOSE=1) logs every operation as it runs
	verbose bool
	batch   int             // operations between two comparisons of the trees
	skip    map[string]bool // operations left out (FSRAND_SKIP)
	// what the local tree holds, refreshed after every operation
	files, dirs []string // relative paths; dirs without the root

	// protected are the system folders the library started with: the
	// mount refuses to remove or rename them (EPERM), where the local tree
	// would not.
	protected map[string]bool
	// restores turns on the restore operation: a file of the trash taken
	// back out, in the library and in the local tree alike.
	restores bool
}

func runFSRand(t *testing.T, fx backendFixture, seed uint64, nops int, o fakeOpts, mo mountOpt) {
	runFSRandWith(t, fx, seed, nops, o, mo, nil)
}

// runFSRandWith is runFSRand with the run changed by with before the
// first operation.
func runFSRandWith(t *testing.T, fx backendFixture, seed uint64, nops int, o fakeOpts, mo mountOpt, with func(*fsrand)) {
	start := time.Now()
	// The fake's fault draws follow the seed too (timing still varies).
	o.rand = rand.New(rand.NewPCG(seed, 0x66616b65))
	svc := fx.start(t, o)
	m := mountService(t, svc, mo)
	r := &fsrand{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x6673726e64)), checkRng: rand.New(rand.NewPCG(seed, 0x636865636b)), svc: svc, tr: svc.traits(), m: m,
		mnt: m.dir, loc: t.TempDir(), counts: map[string]int{}, took: map[string]time.Duration{}, verbose: os.Getenv("FSRAND_VERBOSE") != "", batch: 50}
	if n, err := strconv.Atoi(os.Getenv("FSRAND_BATCH")); err == nil && n > 0 {
		r.batch = n
	}
	r.skip = map[string]bool{}
	for _, op := range strings.Split(os.Getenv("FSRAND_SKIP"), ",") {
		r.skip[op] = op != ""
	}
	r.seedLocal()
	if with != nil {
		with(r)
	}
	t.Logf("seed %d, %d operations, mount args %q (race build %v), faults %+v", seed, nops, mo.args, raceEnabled && !mo.plain, o.faults)

	for r.op = 0; r.op < nops; r.op++ {
		r.scan()
		r.step()
		if (r.op+1)%r.batch == 0 {
			r.compareTrees("after a batch", r.mnt)
		}
	}
	r.op = nops
	r.compareTrees("after the last operation", r.mnt)
	r.scan()
	t.Logf("%d operations in %v: %v; the tree now holds %d files in %d folders",
		nops, time.Since(start).Round(time.Millisecond), r.counts, len(r.files), len(r.dirs))
	r.logTimes()

	// Stop: ghlfs finishes its uploads before it exits.
	stopStart := time.Now()
	if err := m.stop(); err != nil {
		r.failf("stopping ghlfs: %v", err)
	}
	left := spoolFiles(t, m.cacheDir)
	t.Logf("stopped in %v; spool holds %d files", time.Since(stopStart).Round(time.Millisecond), len(left))
	if o.faults == (faultSet{}) {
		// Without faults every upload lands before ghlfs exits.
		if len(left) != 0 {
			r.failf("the spool holds %v after a clean stop", left)
		}
		r.compareLibrary("after the stop")
	}

	// Mount again from the same cache directory: the same tree.
	mo.cacheDir = m.cacheDir
	m2 := mountService(t, svc, mo)
	r.m = m2
	r.compareTrees("after a remount", m2.dir)

	// The library holds exactly the local tree.
	svc.setFaults(faultSet{})
	if r.tr.refusedName != nil {
		// Each file the service refused was tried once more by this
		// mount, and refused again; the rest is done.
		waitFor(t, fmt.Sprintf("seed %d: the spool to hold only files the service refused", seed), func() bool {
			for _, u := range ghlfsStatus(t, m2.dir).Uploads {
				if u.State != "failed" || !u.Refused {
					return false
				}
			}
			return true
		})
	} else {
		waitFor(t, fmt.Sprintf("seed %d: the spool to empty", seed), func() bool { return len(spoolFiles(t, m2.cacheDir)) == 0 })
	}
	if err := m2.stop(); err != nil {
		r.failf("stopping the second ghlfs: %v", err)
	}
	r.compareLibrary("at the end")
	st := svc.counts(t)
	t.Logf("done in %v: %d API calls %v, %d storage requests", time.Since(start).Round(time.Millisecond), st.api, st.byEndpoint, st.storage)
}

// logTimes logs where the time went: the mount's share by operation, and
// the fake's counts.
func (r *fsrand) logTimes() {
	var parts []string
	for op, d := range r.took {
		parts = append(parts, fmt.Sprintf("%s %v (%d, %v each)", op, d.Round(time.Millisecond), r.counts[op], (d/time.Duration(max(r.counts[op], 1))).Round(time.Microsecond)))
	}
	sort.Strings(parts)
	st := r.svc.counts(r.t)
	r.t.Logf("time on the mount: %s; %d API calls %v, %d storage requests", strings.Join(parts, ", "), st.api, st.byEndpoint, st.storage)
}

// failf fails the run, naming the seed and the operation, after logging
// the last operations.
func (r *fsrand) failf(format string, args ...any) {
	r.t.Helper()
	r.t.Logf("the last %d operations (seed %d):\n%s", len(r.hist), r.seed, strings.Join(r.hist, "\n"))
	r.t.Fatalf("seed %d, op %d: %s", r.seed, r.op, fmt.Sprintf(format, args...))
}

func (r *fsrand) record(s string) {
	s = fmt.Sprintf("op %d: %s", r.op, s)
	if r.verbose {
		r.t.Log(s)
	}
	r.hist = append(r.hist, s)
	r.all = append(r.all, s)
	if len(r.hist) > fsrandHistory {
		r.hist = r.hist[len(r.hist)-fsrandHistory:]
	}
}

// seedLocal makes the local twin what the library is at the start (a new
// library under essential-folders holds system folders, one with a file),
// and notes its system folders as protected.
func (r *fsrand) seedLocal() {
	r.protected = map[string]bool{}
	byID := map[string]libItem{}
	for _, it := range r.svc.items() {
		if it.Status == statusActive {
			byID[it.ID] = it
		}
	}
	pathOf := func(it libItem) string {
		var parts []string
		for id := it.ID; id != ""; id = byID[id].ParentID {
			parts = append([]string{shown(byID[id].Name)}, parts...)
		}
		return path.Join(parts...)
	}
	var rels []string
	kind := map[string]libItem{}
	for _, it := range byID {
		rel := pathOf(it)
		rels = append(rels, rel)
		kind[rel] = it
	}
	sort.Strings(rels) // a folder before what it holds
	for _, rel := range rels {
		it := kind[rel]
		p := filepath.Join(r.loc, rel)
		var err error
		if it.Folder {
			err = os.Mkdir(p, 0o755)
			if it.System {
				r.protected[rel] = true
			}
		} else {
			data, _ := r.svc.content(it.ID, "")
			err = os.WriteFile(p, data, 0o644)
		}
		if err != nil {
			r.failf("seeding the local tree: %v", err)
		}
	}
	if len(rels) > 0 {
		r.t.Logf("the library starts with %d items (system folders %v)", len(rels), r.protected)
	}
}

// refused runs on the mount an operation on a system folder, which it
// must refuse with EPERM (the local tree is left as it is); or, where the
// operation fails anyway (a missing target folder, say), fail as the
// local tree does.
func (r *fsrand) refused(desc string, do func(root string) outcome) {
	r.t.Helper()
	t0 := time.Now()
	got := do(r.mnt)
	r.took[r.kind] += time.Since(t0)
	if got.errno() == syscall.EPERM {
		r.record(fmt.Sprintf("%s: mount %v (a system folder)", desc, got))
		return
	}
	want := do(r.loc)
	r.record(fmt.Sprintf("%s: mount %v, local %v", desc, got, want))
	if want.err == nil {
		r.failf("%s: the mount gave %v, want EPERM (a system folder)", desc, got)
	}
	r.agree(desc, got, want, nil)
}

// restore takes a file out of the trash through the fake, as a user of
// the web UI would, where the local tree can take it back too (its
// folder there, its name free), and puts it back in the local tree; then
// waits until the mount shows it.
func (r *fsrand) restore() {
	r.t.Helper()
	// A copy the queue is still sending to the trash (its first answer
	// lost) would go there again once restored, as the queue means it
	// to: restore with the queue idle.
	waitFor(r.t, "the write-back queue to be idle", func() bool { return len(spoolFiles(r.t, r.m.cacheDir)) == 0 })
	byID := map[string]libItem{}
	items := r.svc.items()
	for _, it := range items {
		byID[it.ID] = it
	}
	local := func(folderID string) (string, bool) {
		var parts []string
		for id := folderID; id != ""; id = byID[id].ParentID {
			if byID[id].Status != statusActive {
				return "", false
			}
			parts = append([]string{shown(byID[id].Name)}, parts...)
		}
		return path.Join(parts...), true
	}
	var cands []string
	where := map[string]string{}
	for _, it := range items {
		if it.Status != statusTrashed || it.Folder {
			continue
		}
		dir, ok := local(it.ParentID)
		if !ok {
			continue
		}
		rel := path.Join(dir, shown(it.Name))
		if _, err := os.Lstat(filepath.Join(r.loc, rel)); err == nil || depth(rel) > fsrandMaxDepth {
			continue // the name is taken: the mount would tag it
		}
		if fi, err := os.Lstat(filepath.Join(r.loc, dir)); err != nil || !fi.IsDir() {
			continue
		}
		cands = append(cands, it.ID)
		where[it.ID] = rel
	}
	if len(cands) == 0 {
		r.counts["restore (none to restore)"]++
		return
	}
	id := cands[r.rng.IntN(len(cands))]
	rel := where[id]
	if err := r.svc.(restorer).restore(id); err != nil {
		r.failf("restoring %s: %v", rel, err)
	}
	data, _ := r.svc.content(id, "")
	if err := os.WriteFile(filepath.Join(r.loc, rel), data, 0o644); err != nil {
		r.failf("restoring %s locally: %v", rel, err)
	}
	r.record(fmt.Sprintf("restore %s (%s, %d bytes) from the trash", rel, id, len(data)))
	want, _ := statNode(filepath.Join(r.loc, rel))
	t0 := time.Now()
	waitFor(r.t, fmt.Sprintf("seed %d, op %d: the mount to show %s, restored", r.seed, r.op, rel), func() bool {
		got, err := statNode(filepath.Join(r.mnt, rel))
		return err == nil && got == want
	})
	r.took[r.kind] += time.Since(t0)
}

// scan lists the local tree: the operations choose their paths from it.
func (r *fsrand) scan() {
	r.files, r.dirs = r.files[:0], r.dirs[:0]
	err := filepath.WalkDir(r.loc, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == r.loc {
			return err
		}
		rel, _ := filepath.Rel(r.loc, p)
		if d.IsDir() {
			r.dirs = append(r.dirs, rel)
		} else {
			r.files = append(r.files, rel)
		}
		return nil
	})
	if err != nil {
		r.failf("walking the local tree: %v", err)
	}
}

// Random choices.

func (r *fsrand) chance(p float64) bool { return r.rng.Float64() < p }

func (r *fsrand) name(dirLike bool) string {
	base := string(rune('a' + r.rng.IntN(5)))
	if r.tr.caseInsensitive && r.chance(0.25) {
		base = strings.ToUpper(base) // a name that may clash ignoring case
	}
	exts := []string{".txt", ".png", ".bin", ""}
	if dirLike {
		if r.chance(0.75) {
			return base
		}
		return base + exts[r.rng.IntN(3)]
	}
	if r.chance(0.15) {
		return base
	}
	return base + exts[r.rng.IntN(3)]
}

func depth(rel string) int {
	if rel == "" || rel == "." {
		return 0
	}
	return strings.Count(rel, "/") + 1
}

func parentOf(rel string) string {
	p := path.Dir(rel)
	if p == "." {
		return ""
	}
	return p
}

// height is how many levels a local directory holds below itself.
func (r *fsrand) height(rel string) int {
	h := 0
	for _, p := range append(append([]string(nil), r.files...), r.dirs...) {
		if strings.HasPrefix(p, rel+"/") {
			h = max(h, depth(p)-depth(rel))
		}
	}
	return h
}

// parentDir picks a folder that may take a new child: an existing one
// (root included) with room below it, now and then a missing one or a
// file, for ENOENT and ENOTDIR.
func (r *fsrand) parentDir(room int) string {
	if r.chance(0.04) {
		switch {
		case len(r.files) > 0 && r.chance(0.5):
			return r.files[r.rng.IntN(len(r.files))]
		default:
			return r.name(true) + "x" // never made
		}
	}
	cands := []string{""}
	for _, d := range r.dirs {
		if depth(d)+room <= fsrandMaxDepth {
			cands = append(cands, d)
		}
	}
	return cands[r.rng.IntN(len(cands))]
}

func (r *fsrand) newPath(dirLike bool) string {
	return path.Join(r.parentDir(1), r.name(dirLike))
}

// pickFile is an existing file mostly, else any path.
func (r *fsrand) pickFile() string {
	if len(r.files) > 0 && r.chance(0.9) {
		return r.files[r.rng.IntN(len(r.files))]
	}
	return r.newPath(false)
}

func (r *fsrand) pickDir() string {
	if len(r.dirs) > 0 && r.chance(0.85) {
		return r.dirs[r.rng.IntN(len(r.dirs))]
	}
	return r.newPath(true)
}

func (r *fsrand) pickAny() string {
	if r.chance(0.3) {
		return r.pickDir()
	}
	return r.pickFile()
}

// siblingName picks a name for a rename into folder dir: an existing
// child half the time, so that renames replace often.
func (r *fsrand) siblingName(dir string, dirLike bool) string {
	if r.chance(0.5) {
		var kids []string
		for _, p := range append(append([]string(nil), r.files...), r.dirs...) {
			if parentOf(p) == dir {
				kids = append(kids, path.Base(p))
			}
		}
		if len(kids) > 0 {
			return kids[r.rng.IntN(len(kids))]
		}
	}
	return r.name(dirLike)
}

func (r *fsrand) size() int {
	switch x := r.rng.Float64(); {
	case x < 0.1:
		return 0
	case x < 0.65:
		return r.rng.IntN(4 << 10)
	case x < 0.92:
		return r.rng.IntN(64 << 10)
	default:
		return r.rng.IntN(300 << 10)
	}
}

func (r *fsrand) bytes(n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.rng.Uint64())
	}
	return b[:n]
}

func (r *fsrand) localSize(rel string) int64 {
	fi, err := os.Lstat(filepath.Join(r.loc, rel))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// An outcome is what one side gave: the step that failed (if any), its
// error, and what a read returned.
type outcome struct {
	step string
	err  error
	data []byte
}

func (o outcome) errno() syscall.Errno {
	var errno syscall.Errno
	if o.err == nil || errors.As(o.err, &errno) {
		return errno
	}
	return ^syscall.Errno(0) // an error that is no errno
}

func (o outcome) String() string {
	if o.err == nil {
		if o.data != nil {
			return fmt.Sprintf("ok (%d bytes)", len(o.data))
		}
		return "ok"
	}
	if e := o.errno(); e != ^syscall.Errno(0) {
		return fmt.Sprintf("%s: %s (%d)", o.step, errnoName(e), int(e))
	}
	return fmt.Sprintf("%s: %v", o.step, o.err)
}

func errnoName(e syscall.Errno) string {
	names := map[syscall.Errno]string{
		syscall.ENOENT: "ENOENT", syscall.EEXIST: "EEXIST", syscall.ENOTDIR: "ENOTDIR", syscall.EISDIR: "EISDIR",
		syscall.ENOTEMPTY: "ENOTEMPTY", syscall.EXDEV: "EXDEV", syscall.EINVAL: "EINVAL", syscall.EIO: "EIO",
		syscall.EBUSY: "EBUSY", syscall.ETIMEDOUT: "ETIMEDOUT", syscall.EFBIG: "EFBIG", syscall.EAGAIN: "EAGAIN",
		syscall.EPERM: "EPERM",
	}
	if n, ok := names[e]; ok {
		return n
	}
	return e.Error()
}

func fail(step string, err error) outcome { return outcome{step: step, err: err} }

// The operations, each run on one root with the same arguments.

func doMkdir(root, rel string) outcome {
	return fail("mkdir", os.Mkdir(filepath.Join(root, rel), 0o755))
}

func doCreate(root, rel string, data []byte, excl bool) outcome {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if excl {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(filepath.Join(root, rel), flags, 0o644)
	if err != nil {
		return fail("open", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fail("write", err)
	}
	return fail("close", f.Close())
}

func doPwrite(root, rel string, off int64, data []byte) outcome {
	f, err := os.OpenFile(filepath.Join(root, rel), os.O_RDWR, 0)
	if err != nil {
		return fail("open", err)
	}
	if _, err := f.WriteAt(data, off); err != nil {
		f.Close()
		return fail("pwrite", err)
	}
	return fail("close", f.Close())
}

func doTruncate(root, rel string, size int64) outcome {
	return fail("truncate", os.Truncate(filepath.Join(root, rel), size))
}

// noEINTR calls f again while it fails with EINTR, as package os does
// around the same calls: the Go runtime's preemption signals interrupt
// slow system calls, and a FUSE request waiting on the API is one.
func noEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

func doRename(root, from, to string) outcome {
	// syscall.Rename, not os.Rename: os.Rename refuses any existing
	// directory as the target with EEXIST, before asking the filesystem.
	return fail("rename", noEINTR(func() error { return syscall.Rename(filepath.Join(root, from), filepath.Join(root, to)) }))
}

func doUnlink(root, rel string) outcome {
	return fail("unlink", noEINTR(func() error { return syscall.Unlink(filepath.Join(root, rel)) }))
}

func doRmdir(root, rel string) outcome {
	return fail("rmdir", noEINTR(func() error { return syscall.Rmdir(filepath.Join(root, rel)) }))
}

func doRead(root, rel string, off int64, n int) outcome {
	p := filepath.Join(root, rel)
	if n < 0 {
		data, err := os.ReadFile(p)
		if err != nil {
			return fail("read", err)
		}
		return outcome{data: append([]byte{}, data...)}
	}
	f, err := os.Open(p)
	if err != nil {
		return fail("open", err)
	}
	defer f.Close()
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return fail("pread", err)
	}
	return outcome{data: buf[:got]}
}

// doFsync writes, syncs, maybe writes again, and closes. With refused
// set, a failed fsync is put there and the rest is done all the same.
func doFsync(root, rel string, create bool, off int64, data, more []byte, refused *error) outcome {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(filepath.Join(root, rel), flags, 0o644)
	if err != nil {
		return fail("open", err)
	}
	if _, err := f.WriteAt(data, off); err != nil {
		f.Close()
		return fail("pwrite", err)
	}
	if err := f.Sync(); err != nil && refused != nil {
		*refused = err
	} else if err != nil {
		f.Close()
		return fail("fsync", err)
	}
	if more != nil {
		if _, err := f.WriteAt(more, 0); err != nil {
			f.Close()
			return fail("pwrite after fsync", err)
		}
	}
	return fail("close", f.Close())
}

// mvCopy does what mv does once rename(2) said EXDEV: copy from to to
// (a file over a file, a tree into a tree), then remove from. unlinkFirst
// removes a file in the way before writing, instead of truncating it.
func mvCopy(root, from, to string, unlinkFirst bool) outcome {
	if o := copyTree(root, from, to, unlinkFirst); o.err != nil {
		return o
	}
	return removeTree(root, from)
}

func copyTree(root, from, to string, unlinkFirst bool) outcome {
	src, dst := filepath.Join(root, from), filepath.Join(root, to)
	fi, err := os.Lstat(src)
	if err != nil {
		return fail("copy: lstat "+from, err)
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(src)
		if err != nil {
			return fail("copy: read "+from, err)
		}
		if unlinkFirst {
			if err := noEINTR(func() error { return syscall.Unlink(dst) }); err != nil && err != syscall.ENOENT {
				return fail("copy: unlink "+to, err)
			}
		}
		return doCreate(root, to, data, false).within("copy to " + to)
	}
	if err := os.Mkdir(dst, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fail("copy: mkdir "+to, err)
	}
	kids, err := os.ReadDir(src)
	if err != nil {
		return fail("copy: readdir "+from, err)
	}
	for _, k := range kids {
		if o := copyTree(root, path.Join(from, k.Name()), path.Join(to, k.Name()), unlinkFirst); o.err != nil {
			return o
		}
	}
	return outcome{}
}

func removeTree(root, rel string) outcome {
	p := filepath.Join(root, rel)
	fi, err := os.Lstat(p)
	if err != nil {
		return fail("remove: lstat "+rel, err)
	}
	if !fi.IsDir() {
		return fail("remove: unlink "+rel, noEINTR(func() error { return syscall.Unlink(p) }))
	}
	kids, err := os.ReadDir(p)
	if err != nil {
		return fail("remove: readdir "+rel, err)
	}
	for _, k := range kids {
		if o := removeTree(root, path.Join(rel, k.Name())); o.err != nil {
			return o
		}
	}
	return fail("remove: rmdir "+rel, noEINTR(func() error { return syscall.Rmdir(p) }))
}

func (o outcome) within(what string) outcome {
	if o.err != nil {
		o.step = what + ": " + o.step
	}
	return o
}

// step runs one random operation on both sides and compares what they
// gave.
func (r *fsrand) step() {
	type weighted struct {
		name string
		w    int
	}
	ops := []weighted{
		{"create", 18}, {"pwrite", 12}, {"truncate", 7}, {"mkdir", 9}, {"rename", 12},
		{"move", 8}, {"unlink", 7}, {"rmdir", 6}, {"read", 12}, {"fsync", 6},
	}
	if r.restores {
		ops = append(ops, weighted{"restore", 3})
	}
	total := 0
	for i, o := range ops {
		if r.skip[o.name] {
			ops[i].w = 0
		}
		total += ops[i].w
	}
	x := r.rng.IntN(total)
	var op string
	for _, o := range ops {
		if x < o.w {
			op = o.name
			break
		}
		x -= o.w
	}
	r.counts[op]++
	r.kind = op
	var touched []string // paths the operation changed, or may have
	defer func() { r.checkTouched(touched...) }()

	switch op {
	case "mkdir":
		p := r.newPath(true)
		desc, do := fmt.Sprintf("mkdir %s", p), func(root string) outcome { return doMkdir(root, p) }
		switch {
		case r.invalidName(p, true):
			r.rewritten(desc, do, r.mkdirWorks(p))
		case r.clash(p, ""):
			r.clashed(desc, do, r.mkdirWorks(p))
		default:
			r.both(desc, do)
		}
		touched = []string{p}
	case "create":
		p := r.pickFile()
		if r.chance(0.4) {
			p = r.newPath(false)
		}
		data := r.bytes(r.size())
		excl := r.chance(0.1)
		desc, do := fmt.Sprintf("create %s (%d bytes, excl %v)", p, len(data), excl), func(root string) outcome { return doCreate(root, p, data, excl) }
		if r.clash(p, "") {
			r.clashed(desc, do, r.mkdirWorks(p))
		} else {
			r.both(desc, do)
		}
		touched = []string{p}
	case "pwrite":
		p := r.pickFile()
		size := r.localSize(p)
		off := r.rng.Int64N(size + 1)
		if r.chance(0.1) {
			off = size + r.rng.Int64N(20000) // past the end: a hole
		}
		n := 1 + r.rng.IntN(4096)
		if r.chance(0.2) {
			n = 1 + r.rng.IntN(100<<10)
		}
		data := r.bytes(n)
		r.both(fmt.Sprintf("pwrite %s at %d, %d bytes (size %d)", p, off, n, size), func(root string) outcome { return doPwrite(root, p, off, data) })
		touched = []string{p}
	case "truncate":
		p := r.pickFile()
		size := r.localSize(p)
		var to int64
		switch x := r.rng.Float64(); {
		case x < 0.2:
			to = 0
		case x < 0.6:
			to = r.rng.Int64N(size + 1)
		default:
			to = size + r.rng.Int64N(64<<10)
		}
		r.both(fmt.Sprintf("truncate %s to %d (size %d)", p, to, size), func(root string) outcome { return doTruncate(root, p, to) })
		touched = []string{p}
	case "rename":
		from := r.pickAny()
		fi, _ := os.Lstat(filepath.Join(r.loc, from))
		isDir := fi != nil && fi.IsDir()
		to := path.Join(parentOf(from), r.siblingName(parentOf(from), isDir))
		r.rename(from, to, false)
		touched = []string{from, to}
	case "move":
		from := r.pickAny()
		fi, _ := os.Lstat(filepath.Join(r.loc, from))
		room := 1
		if fi != nil && fi.IsDir() {
			room += r.height(from)
		}
		dir := r.parentDir(room)
		for range 5 {
			if dir != parentOf(from) {
				break
			}
			dir = r.parentDir(room)
		}
		if dir == parentOf(from) {
			r.counts["move"]--
			r.counts["move (no other folder)"]++
			to := path.Join(dir, r.siblingName(dir, fi != nil && fi.IsDir()))
			r.rename(from, to, false)
			r.checkTouched(from, to)
			return
		}
		var name string
		if r.chance(0.5) {
			name = path.Base(from)
		} else {
			name = r.siblingName(dir, fi != nil && fi.IsDir())
		}
		r.rename(from, path.Join(dir, name), true)
		touched = []string{from, path.Join(dir, name)}
	case "unlink":
		p := r.pickAny()
		r.both(fmt.Sprintf("unlink %s", p), func(root string) outcome { return doUnlink(root, p) })
		touched = []string{p}
	case "rmdir":
		p := r.pickDir()
		if r.chance(0.1) {
			p = r.pickFile()
		}
		desc, do := fmt.Sprintf("rmdir %s", p), func(root string) outcome { return doRmdir(root, p) }
		if r.protected[p] {
			r.refused(desc, do)
		} else {
			r.both(desc, do)
		}
		touched = []string{p}
	case "restore":
		r.restore()
	case "read":
		p := r.pickFile()
		off, n := int64(0), -1
		if r.chance(0.5) {
			size := r.localSize(p)
			off = r.rng.Int64N(size + 100)
			n = 1 + r.rng.IntN(64<<10)
		}
		r.both(fmt.Sprintf("read %s at %d, %d bytes", p, off, n), func(root string) outcome { return doRead(root, p, off, n) })
	case "fsync":
		create := r.chance(0.3)
		p := r.pickFile()
		if create {
			p = r.newPath(false)
		}
		size := r.localSize(p)
		off := r.rng.Int64N(size + 1)
		data := r.bytes(1 + r.rng.IntN(8192))
		var more []byte
		if r.chance(0.5) {
			more = r.bytes(1 + r.rng.IntN(1024))
		}
		desc := fmt.Sprintf("fsync %s (create %v) at %d, %d bytes, then %d more", p, create, off, len(data), len(more))
		var refused *error
		var fsyncErr error
		if r.refusedName(p) {
			refused = &fsyncErr // the service refuses its type: fsync says so
		}
		do := func(root string) outcome {
			if root == r.mnt {
				return doFsync(root, p, create, off, data, more, refused)
			}
			return doFsync(root, p, create, off, data, more, nil)
		}
		if create && r.clash(p, "") {
			r.clashed(desc, do, r.mkdirWorks(p))
			touched = []string{p}
			return
		}
		r.both(desc, do)
		if refused != nil && fsyncErr != nil && !isErrno(fsyncErr, syscall.EIO) {
			r.failf("%s: the mount's fsync of a type the service refuses gave %v, want EIO", desc, fsyncErr)
		}
		if fsyncErr != nil {
			r.counts["fsync (refused: EIO)"]++
		}
		touched = []string{p}
	}
}

// both runs one operation on the mount and on the local tree, and fails
// unless they agree.
func (r *fsrand) both(desc string, do func(root string) outcome) {
	r.t.Helper()
	r.bothAlso(desc, do, nil)
}

func (r *fsrand) bothAlso(desc string, do func(root string) outcome, also map[syscall.Errno][]syscall.Errno) {
	r.t.Helper()
	t0 := time.Now()
	got := do(r.mnt)
	r.took[r.kind] += time.Since(t0)
	want := do(r.loc)
	r.record(fmt.Sprintf("%s: mount %v, local %v", desc, got, want))
	r.agree(desc, got, want, also)
}

// agree fails unless the mount's outcome is the local one's; also lists
// errnos the mount may give instead of the local one's.
func (r *fsrand) agree(desc string, got, want outcome, also map[syscall.Errno][]syscall.Errno) {
	r.t.Helper()
	ge, we := got.errno(), want.errno()
	ok := ge == we && (ge == 0 || got.step == want.step)
	if !ok && ge != 0 && we != 0 && slices.Contains(also[we], ge) {
		ok = true
	}
	if !ok {
		r.failf("%s: the mount gave %v, the local tree %v", desc, got, want)
	}
	if want.data != nil && !bytes.Equal(got.data, want.data) {
		r.failf("%s: the mount read %d bytes (sha256 %.12s), the local tree %d (sha256 %.12s)%s",
			desc, len(got.data), sha(got.data), len(want.data), sha(want.data), firstDiff(got.data, want.data))
	}
}

func firstDiff(a, b []byte) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("; first difference at byte %d", i)
		}
	}
	return ""
}

// rename renames on both sides. Across folders the mount must say EXDEV
// where the local rename would work; mv then copies and removes, which is
// done here on both sides.
func (r *fsrand) rename(from, to string, across bool) {
	r.t.Helper()
	desc := fmt.Sprintf("rename %s -> %s", from, to)
	if across {
		desc = "move " + from + " -> " + to
	}
	if fi, err := os.Lstat(filepath.Join(r.loc, from)); r.protected[from] || (r.protected[to] && err == nil && fi.IsDir()) {
		// A system folder moved, renamed, or replaced by a folder.
		r.refused(desc, func(root string) outcome { return doRename(root, from, to) })
		return
	}
	if fi, _ := os.Lstat(filepath.Join(r.loc, from)); r.invalidName(to, fi != nil && fi.IsDir()) {
		// A name the service would rewrite: EINVAL, whichever folder.
		r.rewritten(desc, func(root string) outcome { return doRename(root, from, to) }, r.renameWorks(from, to))
		return
	}
	if r.clash(to, from) {
		// A name another item of the folder holds in another case.
		r.clashed(desc, func(root string) outcome { return doRename(root, from, to) }, r.renameWorks(from, to))
		return
	}
	// A folder over a non-empty folder: ENOTEMPTY or EEXIST, either.
	also := map[syscall.Errno][]syscall.Errno{
		syscall.ENOTEMPTY: {syscall.EEXIST},
		syscall.EEXIST:    {syscall.ENOTEMPTY},
	}
	var got *outcome // the mount's, when it was asked already
	if across && r.tr.moves {
		// The service moves: a rename as any other, unless the mount
		// says EXDEV, as it may where the service's move cannot serve (a
		// file whose changes the write-back queue holds; an empty folder,
		// which ImageKit's moveFolder job does not take): mv then copies
		// and removes, as below.
		t0 := time.Now()
		o := doRename(r.mnt, from, to)
		r.took[r.kind] += time.Since(t0)
		if o.errno() != syscall.EXDEV {
			want := doRename(r.loc, from, to)
			r.record(fmt.Sprintf("%s: mount %v, local %v", desc, o, want))
			r.agree(desc, o, want, also)
			return
		}
		r.counts["move (EXDEV: mv copies)"]++
		got = &o
	}
	if fi, err := os.Lstat(filepath.Join(r.loc, from)); !across && r.tr.noRename && from != to && err == nil && fi.IsDir() {
		across = true // a folder the service cannot rename: EXDEV, as across folders
		desc = "rename of a folder the service cannot rename " + from + " -> " + to
	}
	if !across {
		r.bothAlso(desc, func(root string) outcome { return doRename(root, from, to) }, also)
		return
	}
	// Across folders: the API cannot move, so the mount says EXDEV, even
	// where the local rename would fail for a reason only the filesystem
	// sees (a folder over a non-empty one).
	also[syscall.ENOTEMPTY] = append(also[syscall.ENOTEMPTY], syscall.EXDEV)
	also[syscall.EEXIST] = append(also[syscall.EEXIST], syscall.EXDEV)
	if got == nil {
		t0 := time.Now()
		o := doRename(r.mnt, from, to)
		r.took[r.kind] += time.Since(t0)
		got = &o
	}
	if !r.renameWorks(from, to) {
		want := doRename(r.loc, from, to)
		r.record(fmt.Sprintf("%s: mount %v, local %v", desc, *got, want))
		if want.err == nil {
			r.failf("%s: the test expected the local rename to fail (a bug of the test)", desc)
		}
		r.agree(desc, *got, want, also)
		return
	}
	if got.errno() != syscall.EXDEV {
		r.record(fmt.Sprintf("%s: mount %v, local would succeed", desc, *got))
		r.failf("%s: the mount gave %v, want EXDEV (a rename across folders)", desc, *got)
	}
	unlinkFirst := r.chance(0.5)
	desc = fmt.Sprintf("%s: EXDEV, then copy and remove (unlink first %v)", desc, unlinkFirst)
	r.both(desc, func(root string) outcome { return mvCopy(root, from, to, unlinkFirst) })
}

// invalidName says whether the service would rewrite the name of rel (a
// folder's if dir): a change to it is EINVAL on the mount
// (traits.validName).
func (r *fsrand) invalidName(rel string, dir bool) bool {
	return r.tr.validName != nil && !r.tr.validName(path.Base(rel), dir)
}

// rewritten runs an operation that gives an item a name the service
// would rewrite: where the local tree would do it (works), the mount
// must refuse it with EINVAL, and the local tree is left as it is; where
// the local tree fails, the mount fails as it does, or with EINVAL.
func (r *fsrand) rewritten(desc string, do func(root string) outcome, works bool) {
	r.t.Helper()
	r.refusedAs(desc, do, works, syscall.EINVAL, "a name the service rewrites")
}

// clash says whether the new name of rel (for the item at self, "" for
// a new one) is one another item of its folder holds in another case,
// on a service whose names ignore case (traits.caseInsensitive).
func (r *fsrand) clash(rel, self string) bool {
	if !r.tr.caseInsensitive {
		return false
	}
	kids, _ := os.ReadDir(filepath.Join(r.loc, parentOf(rel)))
	base := path.Base(rel)
	for _, k := range kids {
		if k.Name() != base && strings.EqualFold(k.Name(), base) && path.Join(parentOf(rel), k.Name()) != self {
			return true
		}
	}
	return false
}

// clashed runs an operation that gives an item a name another item of
// its folder holds in another case: the mount must refuse it with
// EEXIST where the local tree would do it (works), and the local tree is
// left as it is; where the local tree fails, the mount fails as it does,
// or with EEXIST.
func (r *fsrand) clashed(desc string, do func(root string) outcome, works bool) {
	r.t.Helper()
	r.refusedAs(desc, do, works, syscall.EEXIST, "a name taken in another case")
}

// refusedAs runs an operation the mount must refuse with errno, for why,
// where the local tree would do it (works): the local tree is then left
// as it is. Where the local tree fails, the mount fails as it does, or
// with errno.
func (r *fsrand) refusedAs(desc string, do func(root string) outcome, works bool, errno syscall.Errno, why string) {
	r.t.Helper()
	t0 := time.Now()
	got := do(r.mnt)
	r.took[r.kind] += time.Since(t0)
	if works {
		r.record(fmt.Sprintf("%s: mount %v, local not run (%s)", desc, got, why))
		if got.errno() != errno {
			r.failf("%s: the mount gave %v, want %s (%s)", desc, got, errnoName(errno), why)
		}
		r.counts[r.kind+" ("+errnoName(errno)+": "+why+")"]++
		return
	}
	want := do(r.loc)
	r.record(fmt.Sprintf("%s: mount %v, local %v", desc, got, want))
	if want.err == nil {
		r.failf("%s: the test expected the local operation to fail (a bug of the test)", desc)
	}
	r.agree(desc, got, want, map[syscall.Errno][]syscall.Errno{want.errno(): {errno}})
}

// mkdirWorks says whether mkdir(rel) would succeed on the local tree.
func (r *fsrand) mkdirWorks(rel string) bool {
	if _, err := os.Lstat(filepath.Join(r.loc, rel)); err == nil {
		return false
	}
	pi, err := os.Lstat(filepath.Dir(filepath.Join(r.loc, rel)))
	return err == nil && pi.IsDir()
}

// renameWorks says whether rename(from, to) would succeed on the local
// tree, without doing it.
func (r *fsrand) renameWorks(from, to string) bool {
	src, dst := filepath.Join(r.loc, from), filepath.Join(r.loc, to)
	si, err := os.Lstat(src)
	if err != nil {
		return false
	}
	if pi, err := os.Lstat(filepath.Dir(dst)); err != nil || !pi.IsDir() {
		return false
	}
	if si.IsDir() && strings.HasPrefix(to+"/", from+"/") {
		return false // into itself: EINVAL
	}
	di, err := os.Lstat(dst)
	if err != nil {
		return true
	}
	if si.IsDir() != di.IsDir() {
		return false
	}
	if di.IsDir() {
		kids, _ := os.ReadDir(dst)
		return len(kids) == 0
	}
	return true
}

// checkTouched compares, on half of the operations, what the mount and
// the local tree now hold at the paths the operation changed: a change
// that a later operation erases is caught too. The choice comes from its
// own generator, so that the operations stay those of the seed.
func (r *fsrand) checkTouched(paths ...string) {
	r.t.Helper()
	if len(paths) == 0 || r.checkRng.IntN(2) == 0 {
		return
	}
	for _, p := range paths {
		want, werr := statNode(filepath.Join(r.loc, p))
		t0 := time.Now()
		got, gerr := statNode(filepath.Join(r.mnt, p))
		r.took["(path checks)"] += time.Since(t0)
		r.counts["(path checks)"]++
		if fail("", werr).errno() != fail("", gerr).errno() || want != got {
			r.failf("after the operation, %s: the mount holds %s, the local tree %s\nthe library's items at that path, of any status:\n%s",
				p, nodeOrErr(got, gerr), nodeOrErr(want, werr), r.itemsAt(map[string]bool{p: true}))
		}
	}
}

func nodeOrErr(n node, err error) string {
	if err != nil {
		return fmt.Sprintf("nothing (%v)", err)
	}
	return n.String()
}

// statNode reads what one path holds.
func statNode(p string) (node, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return node{}, err
	}
	if fi.IsDir() {
		return node{dir: true}, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return node{}, err
	}
	if int64(len(data)) != fi.Size() {
		return node{}, fmt.Errorf("stat says %d bytes, read gives %d", fi.Size(), len(data))
	}
	return node{size: fi.Size(), sum: sha(data)}, nil
}

// A node is what a tree holds at one path.
type node struct {
	dir  bool
	size int64
	sum  string
}

func (n node) String() string {
	if n.dir {
		return "dir"
	}
	return fmt.Sprintf("file of %d bytes, sha256 %.12s", n.size, n.sum)
}

func walkTree(root string) (map[string]node, error) {
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if !d.IsDir() && !d.Type().IsRegular() {
			return fmt.Errorf("%s: type %v", rel, d.Type())
		}
		n, err := statNode(p)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		out[rel] = n
		return nil
	})
	return out, err
}

// compareTrees fails unless the tree under dir is the local tree.
func (r *fsrand) compareTrees(when, dir string) {
	r.t.Helper()
	want, err := walkTree(r.loc)
	if err != nil {
		r.failf("%s: walking the local tree: %v", when, err)
	}
	t0 := time.Now()
	got, err := walkTree(dir)
	r.took["(tree walks)"] += time.Since(t0)
	r.counts["(tree walks)"]++
	if err != nil {
		r.failf("%s: walking the mount: %v", when, err)
	}
	if diff := diffTrees(got, want); diff != "" {
		paths := map[string]bool{}
		for p := range got {
			paths[p] = got[p] != want[p]
		}
		for p := range want {
			paths[p] = paths[p] || got[p] != want[p]
		}
		r.failf("%s: the mount differs from the local tree (- local, + mount):\n%s\nthe library's items at those paths, of any status:\n%s\nthe operations that named those paths or their folders:\n%s",
			when, diff, r.itemsAt(paths), r.opsNaming(paths))
	}
}

// opsNaming are the operations of the run that named one of the paths
// or its folder (the last fsrandNaming of them): a change that went
// wrong may show only batches after it was made.
func (r *fsrand) opsNaming(paths map[string]bool) string {
	var names []string
	for p, differs := range paths {
		if !differs {
			continue
		}
		names = append(names, p)
		if d := path.Dir(p); d != "." {
			names = append(names, d)
		}
	}
	var out []string
	for _, op := range r.all {
		if slices.ContainsFunc(names, func(n string) bool { return strings.Contains(op, n) }) {
			out = append(out, op)
		}
	}
	if len(out) > fsrandNaming {
		out = append([]string{fmt.Sprintf("(%d earlier ones left out)", len(out)-fsrandNaming)}, out[len(out)-fsrandNaming:]...)
	}
	return strings.Join(out, "\n")
}

func diffTrees(got, want map[string]node) string {
	var lines []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("- %s: %v", p, w))
		case g != w:
			lines = append(lines, fmt.Sprintf("- %s: %v\n+ %s: %v", p, w, p, g))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			lines = append(lines, fmt.Sprintf("+ %s: %v", p, g))
		}
	}
	sort.Strings(lines)
	if len(lines) > 30 {
		lines = append(lines[:30], fmt.Sprintf("... and %d more", len(lines)-30))
	}
	return strings.Join(lines, "\n")
}

// itemsAt lists the fake's items (of any status) at the paths, each path
// made of the items' names through their parents whatever their status:
// what the library holds, and held, where the mount and the local tree
// disagree.
func (r *fsrand) itemsAt(paths map[string]bool) string {
	items := r.svc.items()
	byID := map[string]libItem{}
	for _, it := range items {
		byID[it.ID] = it
	}
	var lines []string
	for _, it := range items {
		var parts []string
		for id := it.ID; id != ""; id = byID[id].ParentID {
			parts = append([]string{shown(byID[id].Name)}, parts...)
		}
		if p := path.Join(parts...); paths[p] {
			id, kind := it.ID, "file"
			if it.Rev != "" {
				id += "@" + it.Rev
			}
			if it.Folder {
				kind = "folder"
			}
			lines = append(lines, fmt.Sprintf("  %s: %s %s %s, %d bytes, created %s",
				p, id, kind, it.Status, it.Size, it.CreatedAt.Format("15:04:05.000")))
		}
	}
	if len(lines) == 0 {
		return "  none"
	}
	return strings.Join(lines, "\n")
}

// compareLibrary fails unless the fake's library (active items, by
// parentId) holds exactly the local tree: no item more, no name twice, no
// file missing, the same bytes.
func (r *fsrand) compareLibrary(when string) {
	r.t.Helper()
	want, err := walkTree(r.loc)
	if err != nil {
		r.failf("%s: walking the local tree: %v", when, err)
	}
	byID := map[string]libItem{}
	for _, it := range r.svc.items() {
		if it.Status == statusActive {
			byID[it.ID] = it
		}
	}
	got := map[string]node{}
	gotID := map[string]string{}
	var problems []string
	for _, it := range byID {
		var parts []string
		orphan := false
		for id := it.ID; id != ""; {
			p, ok := byID[id]
			if !ok {
				orphan = true
				break
			}
			parts = append([]string{shown(p.Name)}, parts...)
			id = p.ParentID
		}
		rel := path.Join(parts...)
		if orphan {
			problems = append(problems, fmt.Sprintf("%s (%s): active, in a folder that is not", rel, it.ID))
			continue
		}
		n := node{dir: it.Folder}
		if !n.dir {
			data, _ := r.svc.content(it.ID, "")
			n.size, n.sum = int64(len(data)), sha(data)
			if it.Size != n.size {
				problems = append(problems, fmt.Sprintf("%s (%s): listed with size %d, holds %d bytes", rel, it.ID, it.Size, n.size))
			}
		}
		if prev, dup := got[rel]; dup {
			problems = append(problems, fmt.Sprintf("%s: twice in the library (%s, %v)", rel, it.ID, prev))
			continue
		}
		got[rel], gotID[rel] = n, it.ID
	}
	if r.tr.refusedName != nil {
		// A file the service refused is not in the library with its bytes:
		// they are in the spool, where the README says, exactly. The copy
		// it was to replace (of before a change, under the name it had
		// then) stays in the library until a copy of it lands, hidden in
		// the mount; the spool's record names it.
		spooled, kept := r.spooledBytes(byID)
		refused, files := 0, 0
		for p, w := range want {
			if !w.dir {
				files++
			}
			if g, ok := got[p]; w.dir || ok && g == w {
				continue
			}
			if !r.refusedName(p) {
				continue // a difference, said below
			}
			if s, ok := spooled[p]; !ok || s != w {
				problems = append(problems, fmt.Sprintf("%s: refused, and its bytes are not in the spool (spool: %v, local: %v)", p, spooled[p], w))
			}
			if id, ok := gotID[p]; ok && !kept[id] {
				problems = append(problems, fmt.Sprintf("%s: refused, and the library holds other bytes under its name (%s) that no record keeps", p, id))
			}
			got[p] = w
			refused++
		}
		for p, id := range gotID {
			if _, ok := want[p]; !ok && kept[id] {
				delete(got, p) // a copy a refused file is to replace
			}
		}
		r.t.Logf("%s: of %d files, %d refused by the service, their bytes in the spool", when, files, refused)
		if refused == 0 {
			problems = append(problems, "no file was refused: the quirk was not exercised")
		}
	}
	if diff := diffTrees(got, want); diff != "" {
		problems = append(problems, "the library differs from the local tree (- local, + library):\n"+diff)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		r.failf("%s: %s", when, strings.Join(problems, "\n"))
	}
}

// refusedName says whether the service refuses a file of this path (the
// type-allowlist quirk, say: traits.refusedName).
func (r *fsrand) refusedName(rel string) bool {
	return r.tr.refusedName != nil && r.tr.refusedName(rel)
}

// spooledBytes reads the write-back queue the last mount left: each
// record (spool/ID.json) by the path of its folder and name, with its
// bytes (spool/ID.data), as the README describes them; and the ids of the
// copies in the library the records are to replace. byID holds the
// library's active items.
func (r *fsrand) spooledBytes(byID map[string]libItem) (map[string]node, map[string]bool) {
	r.t.Helper()
	dir := filepath.Join(r.m.cacheDir, "spool")
	out, kept := map[string]node{}, map[string]bool{}
	for _, id := range spoolFiles(r.t, r.m.cacheDir) {
		var rec struct {
			Name     string   `json:"name"`
			ParentID string   `json:"parentId"`
			RemoteID string   `json:"remoteId"`
			Replaces []string `json:"replaces"`
		}
		err := json.Unmarshal(spoolRecord(r.t, r.m.cacheDir, id), &rec)
		if err != nil {
			r.failf("spool record %s: %v", id, err)
		}
		parts := []string{shown(rec.Name)}
		for pid := rec.ParentID; pid != ""; pid = byID[pid].ParentID {
			if _, ok := byID[pid]; !ok {
				r.failf("spool record %s (%s) is in folder %s, which the library does not hold", id, rec.Name, pid)
			}
			parts = append([]string{shown(byID[pid].Name)}, parts...)
		}
		n, err := statNode(filepath.Join(dir, id+".data"))
		if err != nil {
			r.failf("spool record %s (%s): its bytes: %v", id, rec.Name, err)
		}
		out[path.Join(parts...)] = n
		for _, k := range append(rec.Replaces, rec.RemoteID) {
			if k != "" {
				kept[k] = true
			}
		}
	}
	return out, kept
}
