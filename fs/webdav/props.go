package webdav

import (
	"encoding/xml"
	"net/http"
	"sync"

	"golang.org/x/net/webdav"
)

// A media library has no place for a client's own properties (PROPPATCH:
// Windows' Win32 times and attributes, litmus's test properties). They
// are kept in memory, by the item's key (which a rename keeps), for as
// long as the server runs: never sent to the library, gone at a restart.
// maxPropItems and maxProps bound them.
const (
	maxPropItems = 100000
	maxProps     = 64 // per item
)

// deadProps are the properties set, by item key.
type deadProps struct {
	mu sync.Mutex
	m  map[string]map[xml.Name]webdav.Property // guarded by mu
}

func (d *deadProps) get(key string) map[xml.Name]webdav.Property {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[xml.Name]webdav.Property, len(d.m[key]))
	for k, v := range d.m[key] {
		out[k] = v
	}
	return out
}

func (d *deadProps) forget(key string) {
	d.mu.Lock()
	delete(d.m, key)
	d.mu.Unlock()
}

// move gives to's properties those of from, which has none left.
func (d *deadProps) move(from, to string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.m[from]; ok {
		delete(d.m, from)
		d.m[to] = p
	}
}

// patch applies patches to key's properties, all or none.
func (d *deadProps) patch(key string, patches []webdav.Proppatch) []webdav.Propstat {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]map[xml.Name]webdav.Property)
	}
	cur := d.m[key]
	next := make(map[xml.Name]webdav.Property, len(cur))
	for k, v := range cur {
		next[k] = v
	}
	ok := webdav.Propstat{Status: http.StatusOK}
	for _, p := range patches {
		for _, prop := range p.Props {
			ok.Props = append(ok.Props, webdav.Property{XMLName: prop.XMLName})
			if p.Remove {
				delete(next, prop.XMLName)
			} else {
				next[prop.XMLName] = prop
			}
		}
	}
	if len(next) > maxProps || (cur == nil && len(d.m) >= maxPropItems) {
		ok.Status = http.StatusInsufficientStorage
		return []webdav.Propstat{ok}
	}
	if len(next) == 0 {
		delete(d.m, key)
	} else {
		d.m[key] = next
	}
	return []webdav.Propstat{ok}
}

// propsOf makes an open item a webdav.DeadPropsHolder.
type propsOf struct {
	fs  *FS
	key string
}

func (p propsOf) DeadProps() (map[xml.Name]webdav.Property, error) {
	return p.fs.props.get(p.key), nil
}

func (p propsOf) Patch(patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	return p.fs.props.patch(p.key, patches), nil
}
