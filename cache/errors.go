package cache

import "github.com/ghlfs/ghlfs/cache/internal/entry"

// The kinds of failure the filesystem layer maps to errno values
// (entry's, where each is said). Errors returned by a Store wrap one of
// these together with the cause, so that errors.Is finds the kind and
// the message keeps the API's own words.
var (
	ErrNotFound     = entry.ErrNotFound
	ErrPermission   = entry.ErrPermission
	ErrInvalid      = entry.ErrInvalid
	ErrTooLarge     = entry.ErrTooLarge
	ErrBusy         = entry.ErrBusy
	ErrInUse        = entry.ErrInUse
	ErrQuota        = entry.ErrQuota
	ErrUnavailable  = entry.ErrUnavailable
	ErrTimeout      = entry.ErrTimeout
	ErrNotEmpty     = entry.ErrNotEmpty
	ErrExists       = entry.ErrExists
	ErrReadOnly     = entry.ErrReadOnly
	ErrCrossFolder  = entry.ErrCrossFolder
	ErrNotSupported = entry.ErrNotSupported
	ErrSystemFolder = entry.ErrSystemFolder
	ErrNotPermitted = entry.ErrNotPermitted
	ErrRefused      = entry.ErrRefused
	ErrBadAnswer    = entry.ErrBadAnswer
	ErrLoginNeeded  = entry.ErrLoginNeeded
	ErrTokenUnfit   = entry.ErrTokenUnfit
)
