package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sync/errgroup"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
	"github.com/ghlfs/ghlfs/fs"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// An agency's mount (a Company OAuth token, no --location): the root holds
// one folder per location where the app is installed, each that location's
// library, with its own client (token, pacing: the rate limit is per app
// per location), listings and write-back queue in cacheDir/LOCATION_ID. A
// location that cannot be opened shows as an empty folder, with one log
// line, and leaves the others alone.

// locationOpeners is how many locations are checked and opened at once.
const locationOpeners = 4

// mountAgency opens an agency's locations, and mounts them on mountpoint
// through guard.
func (mp *mountPoint) mountAgency(mountpoint string, guard *mounts.Guard, cacheDir string, opts fs.Options) ([]*library, *fuse.Server, error) {
	libs, locs, err := mp.openAgency(cacheDir)
	if err != nil {
		return libs, nil, err
	}
	server, err := guard.Mount(fs.NewAgency(locs, opts).MountVia)
	if err != nil {
		return libs, nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	return libs, server, nil
}

// openAgency locks the agency's cache dir, lists the locations where the
// app is installed and opens each one's library in its folder of
// cacheDir (locationCacheDir): the libraries opened, and every location,
// with its store or none (the mount and serve webdav show it empty).
func (mp *mountPoint) openAgency(cacheDir string) ([]*library, []fs.Location, error) {
	// One ghlfs per agency cache dir, as per location: a second would
	// find every location's queue locked and show them all empty, and
	// take the first's control socket (ghlfs status and unmount of the
	// first would reach it). The lock is held until the process exits.
	if err := lockAgencyDir(cacheDir); err != nil {
		return nil, nil, err
	}
	tf, err := mp.creds.TokenFile(mp.log.With("layer", "remote"))
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	companyID := mp.creds.Set.CompanyID
	if companyID == "" {
		return nil, nil, errors.New("the agency's token set names no company id; run ghlfs login again")
	}
	list := func() ([]oauth.InstalledLocation, error) {
		tok, err := tf.Token(ctx)
		if err != nil {
			return nil, err
		}
		locs, err := mp.creds.App.InstalledLocations(ctx, tok, companyID, mp.creds.AppID)
		var apiErr *remote.Error
		if errors.As(err, &apiErr) && apiErr.Cause != nil {
			// No refresh cures it (the scope, the Version header).
			return nil, errors.New(ghl.IncurableAdvice(apiErr, ""))
		}
		if errors.Is(err, remote.ErrUnauthorized) {
			if renewed, rerr := tf.Refused(ctx, tok); rerr != nil {
				return nil, rerr
			} else if renewed {
				if tok, err = tf.Token(ctx); err == nil {
					locs, err = mp.creds.App.InstalledLocations(ctx, tok, companyID, mp.creds.AppID)
				}
			}
		}
		return locs, err
	}
	installed, err := list()
	if err != nil {
		return nil, nil, fmt.Errorf("listing the agency's locations: %w", err)
	}
	var mu sync.Mutex
	libs := make([]*library, 0, len(installed))
	locs := make([]fs.Location, len(installed))
	var g errgroup.Group
	g.SetLimit(locationOpeners)
	mp.libCount = len(installed)
	for i, loc := range installed {
		locs[i] = fs.Location{ID: loc.ID, Name: loc.Name}
		g.Go(func() error {
			dir := locationCacheDir(cacheDir, loc.ID)
			lib, err := mp.openLibrary(loc.ID, dir, false)
			if err != nil {
				mp.log.Warn(fmt.Sprintf("location %q (%s) shows as an empty folder: %v", loc.Name, loc.ID, err), "location", loc.ID)
				return nil
			}
			lib.name = loc.Name
			mu.Lock()
			libs = append(libs, lib)
			locs[i].Store = lib.store
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	return libs, locs, nil
}

// agencyFiles are the names of what ghlfs keeps in an agency's cache dir
// beside the locations' folders (lockAgencyDir's lock, the control
// socket, a daemon's log).
var agencyFiles = []string{"lock", "control.sock", "ghlfs.log"}

// locationCacheDir is a location's folder in an agency's cache dir:
// cacheDir/ID, unless ID is the name of a file ghlfs keeps there ("lock"
// is a valid id), in any case (on a case-insensitive file system "LOCK"
// is the lock file): then ID.location, which no id (letters, digits,
// '-', '_') and no such file is. A folder an earlier ghlfs made for an
// ID that differs from such a name in case alone (on a case-sensitive
// file system, where it could) stays that location's.
func locationCacheDir(cacheDir, id string) string {
	switch {
	case slices.Contains(agencyFiles, id):
		id += ".location"
	case slices.ContainsFunc(agencyFiles, func(f string) bool { return strings.EqualFold(f, id) }):
		if fi, err := os.Lstat(filepath.Join(cacheDir, id)); err != nil || !fi.IsDir() {
			id += ".location"
		}
	}
	return filepath.Join(cacheDir, id)
}

// agencyDirLocks holds the agency cache dirs' locks for the life of the
// process.
var agencyDirLocks []*os.File

// lockAgencyDir takes an exclusive lock on dir/lock, the file a single
// location's store locks in its cache dir, so that a one-location mount
// on the same --cache-dir is refused too.
func lockAgencyDir(dir string) error {
	f, err := cache.LockDir(dir)
	if err != nil {
		return err
	}
	agencyDirLocks = append(agencyDirLocks, f)
	return nil
}
