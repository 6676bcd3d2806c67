package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ghlfs/ghlfs/cache/internal/writeback"
	"github.com/ghlfs/ghlfs/remote"
)

// What the front reads from the backend's Caps (doc.go lists every
// place the cache does).

// Caps are what the backend's service does, as the mount follows them
// (fs reads XattrPrefix).
func (s *Store) Caps() remote.Caps { return s.caps }

// checkName refuses, before anything is sent, a new name for an item of
// folder parentID (dir: a folder) that the service would not keep as
// given: one it would rewrite (Caps.ValidName: ErrInvalid, the service's
// rule in the message, which fs logs once with the path), or one another
// item of the folder holds where names are unique (Caps.UniqueNames), or
// holds ignoring case where the service compares names without it
// (Caps.CaseInsensitive): ErrExists, as a create onto a taken name is on
// a disk. self is the item being renamed or moved (its own name, in
// another case, is no clash), replace the one the change replaces ("":
// none). Where names are unique, a copy in the library that still holds
// the name for a file renamed, moved or removed with its change queued
// is moved, renamed or trashed first. Two fixes of that one bug, found
// apart, both run for now and are to be made one: writeback.Queue.
// FreeName sends such a record's change at once (Facts.Hurry), and
// Queue.Vacate does so too, answering EEXIST for a file still open for
// writing or whose upload was refused. Look-ups stay exact: only changes
// are judged. HighLevel claims none of these, and nothing is listed for
// it.
func (s *Store) checkName(ctx context.Context, parentID, name string, dir bool, self, replace string) error {
	if err := s.caps.CheckName(name, dir); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	if s.caps.UniqueNames || !s.caps.NewIDPerUpload {
		// A queued removal of a file of that name goes first: a new
		// file must never join the removed one's versions, nor meet it.
		if err := s.rm.WaitName(ctx, parentID, name, s.sameName); err != nil {
			return err
		}
	}
	if s.caps.UniqueNames {
		// A file renamed or moved (or removed) whose copy in the API
		// still holds the name: that change goes first.
		if err := s.q.FreeName(ctx, parentID, name, self); err != nil {
			return err
		}
	}
	if !s.caps.UniqueNames && !s.caps.CaseInsensitive {
		return nil
	}
	if s.caps.UniqueNames {
		// A copy in the library that a file renamed, moved or removed
		// here left under that name (its change still queued) goes
		// first: the mount shows the name free.
		if err := s.q.Vacate(ctx, parentID, name, self, s.sameName); err != nil {
			return err
		}
	}
	l, err := s.ListDir(ctx, parentID)
	if err != nil {
		return err
	}
	for _, x := range l.Entries {
		if x.Key == self || x.Key == replace || !s.sameName(x.Name, name) {
			continue
		}
		return fmt.Errorf("%w: %q: the folder holds %q, and the service takes them for one name", ErrExists, name, x.Name)
	}
	return nil
}

// sameName reports whether the service takes a and b for one name.
func (s *Store) sameName(a, b string) bool {
	return a == b || (s.caps.CaseInsensitive && strings.EqualFold(a, b))
}

// Move puts e in folder parentID under name (a rename across folders),
// replacing replace, an item of that folder, if not nil: on the server
// (Backend.Move) where the service moves that kind of item (Caps.Move
// for files, Caps.MoveFolders for folders), else ErrCrossFolder (EXDEV:
// mv copies, then removes), as it is on HighLevel. A file with pending
// bytes moves in the write-back queue (its copy in the API follows, by
// Backend.Move, before its bytes are sent: writeback.Queue.Move); one
// uploaded in this mount moves on the server, and the queue's note of
// its latest copy follows (Queue.Moved). A file replaced that has
// pending bytes itself is ErrCrossFolder (mv copies onto it). The item
// replaced goes first (a folder only if empty), then e moves: a failure
// between leaves e where it was, never neither.
func (s *Store) Move(ctx context.Context, e Entry, parentID, name string, replace *Entry) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if e.System || (replace != nil && replace.System) {
		return ErrSystemFolder
	}
	if (e.IsDir && !s.caps.MoveFolders) || (!e.IsDir && !s.caps.Move) {
		return fmt.Errorf("%w: %s (%s)", ErrCrossFolder, e.Name, s.caps.Kind)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	e, src := s.resolve(e)
	var rep Entry
	var target *writeback.Record
	if replace != nil {
		rep, target = s.resolve(*replace)
		if rep.Key == e.Key {
			return nil
		}
		if rep.IsDir != e.IsDir {
			return fmt.Errorf("%w: %s and %s are not both folders or both files", ErrExists, e.Name, rep.Name)
		}
	}
	if err := s.checkName(ctx, parentID, name, e.IsDir, e.Key, rep.Key); err != nil {
		return err
	}
	if target != nil {
		// Its copy goes to the trash from its folder: it must be there.
		if err := s.q.Follow(ctx, target); err != nil {
			return err
		}
	}
	var api *Entry
	if replace != nil && target == nil {
		api = &rep
	}
	e, idle, handled, err := s.queued(e, src, func() error { return s.q.Move(src, parentID, name, api, target) })
	if handled {
		return err
	}
	if e.Pending {
		return ErrNotFound
	}
	if target != nil {
		return fmt.Errorf("%w: %s, which the move would replace, has changes the write-back queue holds", ErrCrossFolder, rep.Name)
	}
	// Never by an id that no listing has shown (claims.go).
	e, err = s.confirm(ctx, e, src)
	if err != nil {
		return err
	}
	if replace != nil {
		if rep.IsDir {
			if err := s.checkEmpty(ctx, rep); err != nil {
				return err
			}
		}
		if err := s.removeReplaced(ctx, rep); err != nil {
			return err
		}
	}
	if err := s.folders.Move(ctx, e, parentID, name); err != nil {
		return err
	}
	s.q.Moved(e.ID, parentID, name)
	if idle {
		src.APIMoved(e.ID, parentID, name)
	}
	return nil
}

// followCaps drops the options the service cannot serve, saying so once:
// a whole-library pass (ListAll) where it cannot list the whole library
// (the listings then follow each folder's TTL, and polls list the folders
// in use), a removal for good (Delete) where it has only the trash, and
// one to the trash where it removes only for good.
func followCaps(opts Options, caps remote.Caps) Options {
	if opts.ListAll && !caps.ListAll {
		opts.ListAll = false
		opts.Logger.Info(fmt.Sprintf("%s cannot list the whole library at once: each folder is listed when opened, and again once its listing is %v old", caps.Kind, opts.DirTTL))
	}
	switch {
	case opts.Delete && !caps.Permanent:
		opts.Delete = false
		opts.Logger.Info(fmt.Sprintf("%s removes to its trash only: removals go there, not for good", caps.Kind))
	case !opts.Delete && !caps.Trash:
		opts.Delete = true
		opts.Logger.Info(fmt.Sprintf("%s has no trash: removals are for good", caps.Kind))
	}
	return opts
}

// keyOf is e's key, "" for none.
func keyOf(e *Entry) string {
	if e == nil {
		return ""
	}
	return e.Key
}

// removeReplaced removes rep, the item a rename replaces, before the
// rename, where the service refuses a taken name (Caps.UniqueNames): a
// folder (found empty by the caller) or a file of the API. It returns
// once the service answered, whatever the write-back delay: nil when the
// name is free. A removal that failed (after the request core's retries)
// fails the rename, which is not sent (the service would refuse it: 409);
// a queued removal of rep would be dropped and rep shown again, so that
// the rename that failed leaves both files as they were, rather than
// lose rep later.
func (s *Store) removeReplaced(ctx context.Context, rep Entry) error {
	var err error
	if rep.IsDir {
		err = s.removeAPI(ctx, rep)
	} else if err = s.remove(ctx, rep, true); err == nil || errors.Is(err, ErrNotFound) {
		// Another removal of the name, queued before: the name is free
		// once it is sent.
		err = s.rm.WaitName(ctx, rep.ParentID, rep.Name, s.sameName)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("the item to replace could not be removed first: %w", err)
	}
	return nil
}

// locate returns e with the address of its bytes, where the service
// reads bytes from a url its listings give (Caps.PublicURL), or an
// upload's answer may name the file by another id than its listing;
// elsewhere the id (and version) name the bytes, and nothing is asked
// (locate.Locator.Locate follows Caps).
func (s *Store) locate(ctx context.Context, e Entry) (Entry, error) {
	return s.q.Locate(ctx, e)
}
