package times

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
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
	// Compact: write the live entries to a new file and swap it in.
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	for id, t := range ts.times {
		fmt.Fprintf(w, "%s\t%d\n", id, t.UnixNano())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
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
