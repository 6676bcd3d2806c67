package oauth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/google/renameio/v2"
	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"
	"golang.org/x/sys/unix"
)

// A TokenFile keeps an OAuth token set (oauth.go) on disk and refreshes
// it so that it is never lost:
//
//   - refreshes are serialised: in this process by a single flight, and
//     between processes sharing the file by a lock on FILE.lock, after
//     which the file is read again: whoever comes second uses what the
//     first stored;
//   - the new set is written to the file atomically (and synced) before
//     its access token is used, so that a crash after a refresh leaves the
//     new refresh token on disk;
//   - a refresh the server refuses (the refresh token is no longer valid)
//     fails every call with remote.ErrLoginNeeded, and is not tried again until
//     the file changes (ghlfs login writes it, under the same lock:
//     StoreTokenSet).
//
// Lock order: TokenFile.mu is never held across I/O; the file lock is the
// one lock held across a network call (the refresh), by design: it is what
// makes a refresh token be used once across processes. The refresh is
// bounded by refreshTimeout, not by the caller that started it.

// SaveTokenSet writes set to path atomically (a temporary file synced and
// renamed over it), mode 0600, and syncs the directory: the rename itself
// must survive a power cut, or the file would come back with a refresh
// token already spent. The temporary file is made beside path, never in
// $TMPDIR (renameio's choice when a rename from there works), where a
// crash would leave a token outside the folder the user chose.
func SaveTokenSet(path string, set TokenSet) error {
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(path, append(b, '\n'), 0o600, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// StoreTokenSet is SaveTokenSet under the token file's lock (FILE.lock),
// which a mount holds while it refreshes: a new login (ghlfs login) is
// then never overwritten by a refresh of the old one that was under way.
// It waits for the lock until ctx ends.
func StoreTokenSet(ctx context.Context, path string, set TokenSet) error {
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return fmt.Errorf("token file lock: %w", err)
	}
	defer unlock()
	return SaveTokenSet(path, set)
}

// saveTokenSet is SaveTokenSet; tests make it fail as a full disk would.
var saveTokenSet = SaveTokenSet

// ReadTokenSet reads a token file written by SaveTokenSet.
func ReadTokenSet(path string) (TokenSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return TokenSet{}, err
	}
	defer f.Close()
	var set TokenSet
	if err := json.NewDecoder(io.LimitReader(f, maxGrantAnswer)).Decode(&set); err != nil {
		return TokenSet{}, fmt.Errorf("token file %s: %w", path, err)
	}
	if set.AccessToken == "" {
		return TokenSet{}, fmt.Errorf("token file %s holds no access token", path)
	}
	if !plainID(set.CompanyID) || !plainID(set.LocationID) {
		return TokenSet{}, fmt.Errorf("token file %s: its company_id or location_id is not a plain id", path)
	}
	return set, nil
}

// DefaultRefreshMargin is how long before its expiry an access token is
// refreshed.
const DefaultRefreshMargin = 5 * time.Minute

// TokenFile is an OAuth token set kept in a file and refreshed before it
// expires, or once when the API refuses its access token.
type TokenFile struct {
	path   string
	app    App
	clk    clockwork.Clock
	margin time.Duration
	log    *slog.Logger
	flight singleflight.Group

	mu   sync.Mutex
	set  TokenSet // guarded by mu
	dead error    // guarded by mu: the refresh refused for the set in set
	// unsaved: set is a refreshed set the file could not take (disk full,
	// say); its refresh token is the live one, the file's is spent.
	unsaved bool // guarded by mu
}

// OpenTokenFile reads the token set at path. margin 0 means
// DefaultRefreshMargin.
func OpenTokenFile(path string, app App, margin time.Duration, log *slog.Logger) (*TokenFile, error) {
	set, err := ReadTokenSet(path)
	if err != nil {
		return nil, err
	}
	if margin <= 0 {
		margin = DefaultRefreshMargin
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &TokenFile{path: path, app: app, clk: app.clock(), margin: margin, log: log, set: set}, nil
}

// Set returns the token set in use.
func (t *TokenFile) Set() TokenSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.set
}

// fresh reports whether set's access token is good for a while yet: the
// margin, or a quarter of a short-lived token's life.
func (t *TokenFile) fresh(set TokenSet) bool {
	margin := t.margin
	if !set.IssuedAt.IsZero() {
		margin = min(margin, set.ExpiresAt.Sub(set.IssuedAt)/4)
	}
	return t.clk.Now().Before(set.ExpiresAt.Add(-margin))
}

// Token returns an access token good for a while yet, refreshing first
// when the one held is near its expiry.
func (t *TokenFile) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	set, dead := t.set, t.dead
	t.mu.Unlock()
	if t.fresh(set) {
		return set.AccessToken, nil
	}
	if dead != nil && !t.fileChanged(set) {
		return "", dead
	}
	return t.refresh(ctx, set.AccessToken)
}

// Refused is told that the API refused sent (401): it refreshes, unless
// the file or another call already holds a newer token, and reports
// whether there is a new token to try.
func (t *TokenFile) Refused(ctx context.Context, sent string) (bool, error) {
	tok, err := t.refresh(ctx, sent)
	if err != nil {
		return false, err
	}
	return tok != sent, nil
}

// fileChanged reports whether the file now holds another set than held.
func (t *TokenFile) fileChanged(held TokenSet) bool {
	set, err := ReadTokenSet(t.path)
	return err == nil && set.AccessToken != held.AccessToken
}

// refreshTimeout bounds a refresh (the wait for the file lock, the grant,
// storing the answer), which no caller can cut short.
const refreshTimeout = 2 * time.Minute

// StoreTimeout bounds a login's exchange of its code and the storing of
// the answer under the token file's lock (StoreTokenSet), which a
// refresh may hold for up to refreshTimeout: once the code is spent, the
// answer must not be lost to a shorter wait.
const StoreTimeout = refreshTimeout + 30*time.Second

// refresh replaces the access token stale (one expiring, or refused) and
// returns the new one. Concurrent calls share one refresh.
//
// The refresh runs on a context of its own: the caller that started it
// may give up (an interrupted FUSE request, an upload stopped by unmount
// --force), but once the refresh token is sent it is spent, and the
// answer must be stored, or the login is lost. The caller returns at once;
// the refresh ends within refreshTimeout.
func (t *TokenFile) refresh(ctx context.Context, stale string) (string, error) {
	return detachedFlight(ctx, &t.flight, stale, func(rctx context.Context) (string, error) {
		return t.refreshLocked(rctx, stale)
	})
}

// detachedFlight runs fn once for key however many callers ask at once,
// on a context of its own that outlives a caller who gives up (the others
// may wait on it, and a token sent is spent), bounded by refreshTimeout;
// each caller returns when fn does, or when its own ctx ends.
func detachedFlight(ctx context.Context, g *singleflight.Group, key string, fn func(context.Context) (string, error)) (string, error) {
	ch := g.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return fn(fctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (t *TokenFile) refreshLocked(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	held, dead, unsaved := t.set, t.dead, t.unsaved
	t.mu.Unlock()
	if held.AccessToken != stale && dead == nil {
		return held.AccessToken, nil // refreshed meanwhile
	}

	unlock, err := lockFile(ctx, t.path+".lock")
	if err != nil {
		return "", fmt.Errorf("token file lock: %w", err)
	}
	defer unlock()
	// Another process may have refreshed (or ghlfs login written a new
	// set): its set is the one to use, its refresh token the live one.
	onDisk, err := ReadTokenSet(t.path)
	if err != nil {
		return "", err
	}
	// (Unless the set held is one the file could not take: the file's is
	// older then, its refresh token spent, unless a new login wrote it.)
	if onDisk.AccessToken != stale && t.fresh(onDisk) && (!unsaved || onDisk.ExpiresAt.After(held.ExpiresAt)) {
		t.adopt(onDisk, nil)
		return onDisk.AccessToken, nil
	}
	if unsaved {
		// The set held is newer than the file's: store it now if the
		// file takes it, and refresh from it either way.
		if err := saveTokenSet(t.path, held); err == nil {
			t.mu.Lock()
			t.unsaved = false
			t.mu.Unlock()
		}
		onDisk = held
	}
	if dead != nil && onDisk.AccessToken == held.AccessToken {
		return "", dead // refused already; wait for ghlfs login
	}
	if onDisk.RefreshToken == "" {
		err := fmt.Errorf("%w (the token file has no refresh token)", remote.ErrLoginNeeded)
		t.adopt(onDisk, err)
		return "", err
	}
	fresh, err := t.app.Refresh(ctx, onDisk.RefreshToken, onDisk.UserType)
	if err != nil {
		if refusedGrant(err) {
			t.adopt(onDisk, remote.ErrLoginNeeded)
			t.log.Error("the OAuth refresh token was refused; run ghlfs login again", "token_file", t.path, "err", err)
			return "", remote.ErrLoginNeeded
		}
		return "", fmt.Errorf("refreshing the OAuth token: %w", err)
	}
	// What the answer leaves out stays as it was.
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = onDisk.RefreshToken
	}
	fresh.UserType = cmp.Or(fresh.UserType, onDisk.UserType)
	fresh.CompanyID = cmp.Or(fresh.CompanyID, onDisk.CompanyID)
	fresh.LocationID = cmp.Or(fresh.LocationID, onDisk.LocationID)
	fresh.UserID = cmp.Or(fresh.UserID, onDisk.UserID)
	fresh.Scope = cmp.Or(fresh.Scope, onDisk.Scope)
	// On disk before use: a crash from here on leaves the new refresh
	// token stored, the old one being spent.
	if err := saveTokenSet(t.path, fresh); err != nil {
		// The old refresh token is spent: the new set lives in memory
		// until the file takes it (tried again at each refresh).
		t.log.Error("the OAuth token was refreshed but could not be stored; ghlfs keeps it in memory, and a restart before it can be stored will need ghlfs login", "token_file", t.path, "err", err)
		t.mu.Lock()
		t.set, t.dead, t.unsaved = fresh, nil, true
		t.mu.Unlock()
		return fresh.AccessToken, nil
	}
	t.mu.Lock()
	t.unsaved = false
	t.mu.Unlock()
	t.adopt(fresh, nil)
	t.log.Info("refreshed the OAuth access token", "token_file", t.path, "expires", fresh.ExpiresAt.Format(time.RFC3339))
	return fresh.AccessToken, nil
}

func (t *TokenFile) adopt(set TokenSet, dead error) {
	t.mu.Lock()
	t.set, t.dead = set, dead
	t.mu.Unlock()
}

// lockFile takes an exclusive lock on path (made 0600 if missing), waiting
// at most until ctx ends, and returns its release.
//
// The lock file is beside the token file, which may be in a folder
// others may write to (a sticky one, such as /tmp): a symlink there is
// not followed, and a lock file of another user's (who could hold it
// for ever, or keep ghlfs from opening it) is refused, with the fix.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if ferr := foreignLock(path); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !ownLock(fi) {
		f.Close()
		if ferr := foreignLock(path); ferr != nil {
			return nil, ferr
		}
		return nil, fmt.Errorf("%s is not a regular file of yours: remove it (rm %q)", path, path)
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// ownLock reports whether a lock file belongs to this user (or root).
func ownLock(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid() || st.Uid == 0
}

// foreignLock says what is wrong with the lock file at path when it is a
// symlink or another user's, and how to fix it; nil otherwise.
func foreignLock(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return nil
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link, which ghlfs does not follow (another user may have put it there): remove it (rm %q), or keep the token file in a folder of your own", path, path)
	case !ownLock(fi):
		st, _ := fi.Sys().(*syscall.Stat_t)
		return fmt.Errorf("%s belongs to another user (uid %d), who could hold it and stall every refresh: remove it (rm %q, as root in a sticky folder such as /tmp), or keep the token file in a folder of your own", path, st.Uid, path)
	}
	return nil
}
