// Package fsync makes what the cache writes in its directory durable: a
// file created, renamed or removed in a directory is on the disk once
// the directory is synced too (renameio syncs the file it renames in,
// not the directory).
//
// It holds no lock, and imports nothing of the cache: every part may
// call it.
package fsync

import "os"

// Dir syncs the directory dir: the names made, renamed or removed in it
// so far survive a power cut.
func Dir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
