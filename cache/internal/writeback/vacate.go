package writeback

import (
	"context"
	"fmt"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/pending"
)

// Vacate returns once no record's copy in the API holds name in folder
// parentID while the mount shows that copy elsewhere: a file renamed or
// moved with changes the queue holds (its copy follows when they are
// sent), or one removed (its copy is trashed next). Where names are
// unique, the service refuses a rename onto a name a copy holds (409),
// and may make an upload onto it a version of that copy; the mount,
// which shows the name free, must free it first. Each such record is
// made due at once, as an fsync makes it: its copy's move or rename is
// its first step. same compares two names as the service does; self is
// the key of the item being changed, whose own copy is no clash. A
// record that cannot act now (still being written, or its bytes refused
// by the service) is ErrExists, as the service would say; one whose step
// fails is ErrUnavailable, and ctx's end is its error.
func (q *Queue) Vacate(ctx context.Context, parentID, name, self string, same func(a, b string) bool) error {
	holds := func(r *Record) bool { // r.mu held
		f := &r.s.File
		return !r.s.Gone && r.key != self && f.RemoteID != "" && r.s.RemoteParent() == parentID &&
			same(f.RemoteName, name) && (r.s.State == pending.Removed || r.s.Elsewhere())
	}
	type held struct {
		r     *Record
		tries int
	}
	var in []held
	var stuck error
	now := q.clock.Now()
	q.each(func(r *Record) {
		if !holds(r) {
			return
		}
		switch {
		case r.s.State == pending.Writing || r.s.State == pending.Filling:
			stuck = fmt.Errorf("%w: %q: the library holds that name for %s, renamed while open for writing; it takes its new name once closed", entry.ErrExists, name, r.s.File.Name)
			return
		case r.s.Refusal != nil:
			// Parked: it sends nothing until the user changes it.
			stuck = fmt.Errorf("%w: %q: the library holds that name for %s, which the service refused to send on (%v)", entry.ErrExists, name, r.s.File.Name, r.s.Refusal)
			return
		case r.s.State == pending.Complete && r.s.File.Due.After(now):
			r.s.File.Due = now
		}
		r.scheduleLocked(time.Time{})
		in = append(in, held{r, r.s.Tries})
	})
	if stuck != nil {
		return stuck
	}
	if len(in) == 0 {
		return nil
	}
	var result error
	done := false
	closed := q.ix.Watch(ctx, func() bool {
		for _, h := range in {
			h.r.mu.Lock()
			still, failure, tries := holds(h.r), h.r.s.Failure, h.r.s.Tries
			h.r.mu.Unlock()
			if still && failure != "" && tries > h.tries {
				done, result = true, fmt.Errorf("%w: %q: the library holds that name for a file renamed or removed here, whose change could not be sent yet: %s", entry.ErrUnavailable, name, failure)
				return true
			}
			if still {
				return false
			}
		}
		done = true
		return true
	})
	switch {
	case done:
		return result
	case closed:
		return fmt.Errorf("%w: ghlfs is stopping", entry.ErrUnavailable)
	}
	return ctx.Err()
}
