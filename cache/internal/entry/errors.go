package entry

import (
	"context"
	"errors"
	"fmt"

	"github.com/ghlfs/ghlfs/remote"
)

// The kinds of failure the filesystem layer maps to errno values (the
// cache re-exports them). Errors returned by a Store wrap one of these
// together with the cause, so that errors.Is finds the kind and the
// message keeps the API's own words.
var (
	ErrNotFound   = errors.New("no such file or folder")
	ErrPermission = errors.New("permission denied by the API")
	ErrInvalid    = errors.New("rejected by the API")
	ErrTooLarge   = errors.New("file too large")
	ErrBusy       = errors.New("API rate limit reached")
	// ErrInUse: the service will not change the item as it is
	// (remote.ErrBusy): another user reserved (checked out) the file, or
	// it is the current version of a file, which is the file itself.
	// Nothing was changed.
	ErrInUse        = errors.New("in use")
	ErrQuota        = errors.New("daily API quota used up")
	ErrUnavailable  = errors.New("API unavailable")
	ErrTimeout      = errors.New("timed out")
	ErrNotEmpty     = errors.New("folder not empty")
	ErrExists       = errors.New("already exists")
	ErrReadOnly     = errors.New("read-only mount")
	ErrCrossFolder  = errors.New("the API cannot move items between folders")
	ErrNotSupported = errors.New("not supported")
	// ErrSystemFolder: a system folder of the library (isEssential or
	// appFolder) cannot be removed or renamed. Nothing was sent.
	ErrSystemFolder = errors.New("a system folder of the library cannot be removed or renamed")
	// ErrNotPermitted: the API offers no way to make this change for this
	// token (it has no route for it).
	ErrNotPermitted = errors.New("not permitted by the API")
	// ErrRefused: a url ghlfs will not fetch (off the storage allow-list,
	// or a redirect it does not follow). Nothing was sent.
	ErrRefused = errors.New("refused by ghlfs")
	// ErrBadAnswer: the API's answer was past a bound ghlfs keeps (a
	// listing that never ends, a page too large to take).
	ErrBadAnswer = errors.New("the API's answer was refused")
	// ErrLoginNeeded comes with ErrPermission when the stored OAuth login
	// is dead: the remote layer said so once, in one log line.
	ErrLoginNeeded = errors.New("the OAuth login must be made again (ghlfs login)")
	// ErrTokenUnfit comes with ErrPermission when the API refused the
	// token for a cause no new token cures (its scope, its location, the
	// Version header: remote.ErrIncurable): the remote layer said so
	// once, in one log line naming the cause.
	ErrTokenUnfit = errors.New("the API refuses this token for this call")
)

// Translate gives an error from the remote layer its kind.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, remote.ErrRouteMissing):
		kind = ErrNotPermitted
	case errors.Is(err, remote.ErrNotFound):
		kind = ErrNotFound
	case errors.Is(err, remote.ErrAmbiguousUpload):
		// An upload that more than one listed file could be (the
		// listing part's claims.go): not known to be gone, nor which it is.
		kind = ErrUnavailable
	case errors.Is(err, remote.ErrUnconfirmed):
		// An upload its folder's listing does not show (the listing
		// part's claims.go).
		kind = ErrNotFound
	case errors.Is(err, remote.ErrLoginNeeded):
		return fmt.Errorf("%w: %w: %w", ErrPermission, ErrLoginNeeded, err)
	case errors.Is(err, remote.ErrIncurable):
		return fmt.Errorf("%w: %w: %w", ErrPermission, ErrTokenUnfit, err)
	case errors.Is(err, remote.ErrUnauthorized), errors.Is(err, remote.ErrForbidden):
		kind = ErrPermission
	case errors.Is(err, remote.ErrTooLarge):
		kind = ErrTooLarge
	case errors.Is(err, remote.ErrBusy):
		// Before ErrInvalid: the service may refuse it with a 400.
		kind = ErrInUse
	case errors.Is(err, remote.ErrInvalid):
		kind = ErrInvalid
	case errors.Is(err, remote.ErrExists):
		// A name another item holds, where names are unique (409): one
		// the mount did not show, as a rename onto a file it shows
		// removes that file first.
		kind = ErrExists
	case errors.Is(err, remote.ErrQuotaExhausted):
		kind = ErrQuota
	case errors.Is(err, remote.ErrBusy):
		kind = ErrInUse
	case errors.Is(err, remote.ErrRateLimited):
		kind = ErrBusy
	case errors.Is(err, remote.ErrRefused):
		kind = ErrRefused
	case errors.Is(err, remote.ErrListTooLong), errors.Is(err, remote.ErrAnswerTooLarge), errors.Is(err, remote.ErrListUnstable):
		kind = ErrBadAnswer
	case errors.Is(err, context.DeadlineExceeded):
		kind = ErrTimeout
	case errors.Is(err, context.Canceled):
		return err
	default:
		kind = ErrUnavailable
	}
	return fmt.Errorf("%w: %w", kind, err)
}
