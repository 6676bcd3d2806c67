package remote

import (
	"context"
	"encoding/json"
	"time"
)

// SocialCSV is a social planner's CSV imports, where a backend has them
// (HighLevel's: remote/ghl): each import of a CSV file of posts to
// schedule, its record and the posts it holds. It is no part of Backend:
// one service has it, so the cache finds it with a type assertion on the
// Backend it was given (cache/socialcsv.go), and shows the imports only
// where the backend has it and the mount asks for them.
//
// Errors are the Backend's kinds (ErrNotFound, ErrInvalid, an *Error with
// the service's words ...). A token without the scope to read the imports
// fails with ErrScope (an *Error whose Cause it is), which the request
// core does not log: the caller says what it means for it.
type SocialCSV interface {
	// CSVImports lists every import, page by page, in the service's order,
	// each once; imports the service lists as deleted are among them
	// (Status CSVDeleted). A listing whose pages never lined up fails with
	// ErrListUnstable, one past its bound with ErrListTooLong.
	CSVImports(ctx context.Context) ([]CSVImport, error)
	// CSVImport reads one import and every page of its posts.
	CSVImport(ctx context.Context, id string) (CSVDetail, error)
	// DeleteCSVImport deletes an import.
	DeleteCSVImport(ctx context.Context, id string) error
}

// The scopes a token needs for the imports, as the service names them:
// to read them, and to make or remove one.
const (
	CSVReadScope  = "socialplanner/csv.readonly"
	CSVWriteScope = "socialplanner/csv.write"
)

// Statuses of an import, as the service names them.
const (
	CSVPending    = "pending"
	CSVInProgress = "in_progress"
	CSVImporting  = "importing"
	CSVCompleted  = "completed"
	CSVFailed     = "failed"
	CSVInReview   = "in_review"
	CSVDeleted    = "deleted"
)

// CSVImport is one import as a listing gives it: the fields the layers
// above read, bounded and checked, and the record itself as the service
// sent it.
type CSVImport struct {
	ID       string
	FileName string // cut to MaxNameBytes
	// File is the storage path of the CSV the import was made from (the
	// upload's filePath), "" when not given.
	File   string
	Status string // "" when the service gave none the client reads
	// Count is the number of posts; -1 when not given.
	Count      int64
	AccountIDs []string
	CreatedAt  time.Time // zero when not given
	// Record is the import as the service listed it (valid JSON).
	Record json.RawMessage
}

// Busy reports whether the import is still being made: its posts are
// not all there, and a removal is refused by ghlfs (and may be by the
// service).
func (c CSVImport) Busy() bool {
	return c.Status == CSVImporting || c.Status == CSVInProgress
}

// CSVDetail is one import with its posts, as the service gave them: the
// record and each post, valid JSON, in the service's order.
type CSVDetail struct {
	Record json.RawMessage
	Posts  []json.RawMessage
}
