package times

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"
)

// Log keeps the modification times users set (touch -d, utimes, as
// rsync -a, cp -p and tar do), which the API has no field for. It is a
// log of "id<TAB>unix-nanoseconds" lines, appended to on each change and
// compacted when opened, so a crash loses nothing already written.
type Log struct {
	mu    sync.Mutex
	times map[string]time.Time
	f     *os.File // nil: memory only
}

// Open opens the log at path (memory only when path is ""), compacting
// it.
func Open(path string) (*Log, error) {
	ts := &Log{times: make(map[string]time.Time)}
	if path == "" {
		return ts, nil
	}
	if data, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			id, v, ok := strings.Cut(line, "\t")
			if !ok {
				continue
			}
			ns, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			if ns < 0 {
				delete(ts.times, id)
			} else {
				ts.times[id] = time.Unix(0, ns)
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	// Compact: the live entries, written to a new file renamed over the
	// log (renameio). A temporary file a crash left goes first.
	if left, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"*")); err == nil {
		for _, p := range left {
			os.Remove(p)
		}
	}
	pf, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithPermissions(0o600))
	if err != nil {
		return nil, err
	}
	defer pf.Cleanup()
	w := bufio.NewWriter(pf)
	for id, t := range ts.times {
		fmt.Fprintf(w, "%s\t%d\n", id, t.UnixNano())
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return nil, err
	}
	if ts.f, err = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return nil, err
	}
	return ts, nil
}

// Get returns the time set for the API id.
func (ts *Log) Get(id string) (time.Time, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.times[id]
	return t, ok
}

// Set keeps t as the time of the API id.
func (ts *Log) Set(id string, t time.Time) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.times[id] = t
	return ts.appendLocked(id, t.UnixNano())
}

// Forget drops the time of the API id (its copy left the library).
func (ts *Log) Forget(id string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if _, ok := ts.times[id]; !ok {
		return nil
	}
	delete(ts.times, id)
	return ts.appendLocked(id, -1)
}

func (ts *Log) appendLocked(id string, ns int64) error {
	if ts.f == nil {
		return nil
	}
	_, err := fmt.Fprintf(ts.f, "%s\t%d\n", id, ns)
	return err
}

// Close closes the log; the times stay on disk for the next Open.
func (ts *Log) Close() error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.f == nil {
		return nil
	}
	err := ts.f.Close()
	ts.f = nil
	return err
}

// Clear forgets every time kept: the cache dir was another library's,
// whose ids these are.
func (ts *Log) Clear() error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	clear(ts.times)
	if ts.f == nil {
		return nil
	}
	if err := ts.f.Truncate(0); err != nil {
		return err
	}
	return ts.f.Sync()
}
