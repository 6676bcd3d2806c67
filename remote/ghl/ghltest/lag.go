package ghltest

import "time"

// Answers that lag (the fetchall-lag=D quirk): fetchAll and
// sortBy=updatedAt answers show the library as it was D ago, as a search
// index fed behind the primary store would, while a folder's own listing
// shows it as it is. For that, while the lag is on, every change keeps the
// state it replaces (name, status, updatedAt) for D, and an item created
// meanwhile notes when: an answer as of a time sees each item as it was
// then, and not at all before it was created. An item created, or a state
// replaced, while the lag was off is shown to every answer.

// pastState is an item's state before a change made at until.
type pastState struct {
	until     time.Time
	name      string
	status    string
	updatedAt time.Time
}

// lagFor is the lag in force; 0: none.
func (st *store) lagFor() time.Duration {
	if st.lag == nil {
		return 0
	}
	return st.lag()
}

// created notes a new item, made at now. st.mu is held.
func (st *store) created(it *item, now time.Time) {
	st.lastChange = now
	if st.lagFor() > 0 {
		it.born = now
	}
}

// remember keeps, while the lag is on, the state of it that a change made
// at now replaces, and forgets the states no answer needs any more.
// st.mu is held.
func (st *store) remember(it *item, now time.Time) {
	st.lastChange = now
	lag := st.lagFor()
	if lag <= 0 {
		it.past = nil
		return
	}
	horizon := now.Add(-lag)
	n := 0
	for n < len(it.past) && !it.past[n].until.After(horizon) {
		n++ // replaced before any answer still lagging looks
	}
	it.past = append(it.past[n:], pastState{until: now, name: it.name, status: it.status, updatedAt: it.updatedAt})
}

// asOf returns it as it was at t, and false if it did not exist yet.
func (it *item) asOf(t time.Time) (item, bool) {
	if !it.born.IsZero() && t.Before(it.born) {
		return item{}, false
	}
	out := *it
	for _, p := range it.past {
		if t.Before(p.until) {
			out.name, out.status, out.updatedAt = p.name, p.status, p.updatedAt
			break
		}
	}
	return out, true
}

// sortedAsOfLocked is sortedLocked for the library as it was at q.asOf:
// it is worked out for each answer (no index), which only answers that
// lag behind a change ask for. st.mu is held.
func (st *store) sortedAsOfLocked(q listQuery) []*item {
	var out []*item
	for _, cur := range st.items {
		if it, ok := cur.asOf(q.asOf); ok && q.selects(&it) {
			out = append(out, &it)
		}
	}
	sortItems(out, q.sortBy, q.desc)
	return out
}
