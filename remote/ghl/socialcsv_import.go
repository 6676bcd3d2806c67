package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/internal/loosejson"
)

// Making a CSV import, as ghlfs social-csv import does it: the CSV is
// uploaded (POST csv, which only stages it: the answer names no import),
// its accounts and rows are set (POST set-accounts, which makes the
// import; its answer names none either), the import is found in the
// listing by the upload's filePath (FindCSVImport), and finalized (PATCH
// csv/{id}), after which the service schedules its posts.

// MaxCSVUpload bounds a CSV sent: the API's limit for it is not
// documented; the media upload's 25 MB is taken.
const MaxCSVUpload = MaxUploadSize

// CSVUpload is a staged CSV, as POST csv answers it.
type CSVUpload struct {
	FilePath  string // "<locationId>/social-import/<uuid>.csv"
	RowsCount int64  // the rows of posts the service read in it
	FileName  string
}

// UploadCSV stages a CSV file (POST csv, multipart/form-data, the file in
// the field "file"; 201 results:{filePath, rowsCount, fileName}). It is
// sent again after a 5xx or a cut connection: a CSV staged twice makes no
// import.
func (c *Client) UploadCSV(ctx context.Context, name string, data []byte) (CSVUpload, error) {
	const endpoint = csvEndpointList
	if len(data) > MaxCSVUpload {
		return CSVUpload{}, fmt.Errorf("POST %s: %s is %d bytes: %w (ghlfs sends at most %d)", endpoint, name, len(data), remote.ErrTooLarge, MaxCSVUpload)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, quoteFilename(name)))
	h.Set("Content-Type", "text/csv")
	part, err := mw.CreatePart(h)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return CSVUpload{}, err
	}
	body := form.Bytes()
	ctype := mw.FormDataContentType()
	answer, err := c.do(ctx, call{method: "POST", endpoint: endpoint, path: c.csvPath("/csv"), idempotent: true,
		body: func() (io.Reader, string, error) { return bytes.NewReader(body), ctype, nil }})
	if err != nil {
		return CSVUpload{}, err
	}
	results, err := unwrap("POST", endpoint, answer)
	if err != nil {
		return CSVUpload{}, err
	}
	var r struct {
		FilePath  json.RawMessage `json:"filePath"`
		RowsCount json.RawMessage `json:"rowsCount"`
		FileName  json.RawMessage `json:"fileName"`
	}
	if len(results) > 0 {
		if err := json.Unmarshal(results, &r); err != nil {
			return CSVUpload{}, fmt.Errorf("POST %s: reading the answer: %w", endpoint, err)
		}
	}
	up := CSVUpload{FilePath: loosejson.FirstString(r.FilePath), RowsCount: countOf(r.RowsCount), FileName: loosejson.CutName(loosejson.FirstString(r.FileName))}
	if up.FilePath == "" {
		return CSVUpload{}, fmt.Errorf("POST %s: the answer names no filePath for the CSV: %.200s", endpoint, answer)
	}
	if up.FileName == "" {
		up.FileName = name
	}
	return up, nil
}

// CSVAccounts is what POST set-accounts takes: the accounts to post to,
// and the staged CSV with the rows to import (1 to its rowsCount).
type CSVAccounts struct {
	AccountIDs []string
	FilePath   string
	RowsCount  int64
	FileName   string
	Approver   string // "" none
	UserID     string // "" none
}

// SetCSVAccounts makes the import of a staged CSV (POST set-accounts;
// 201 "Accounts Set Successfully"). It is not sent again after a 5xx or a
// cut connection (it may have made the import: remote.ErrAmbiguous); the
// caller looks for the import first.
func (c *Client) SetCSVAccounts(ctx context.Context, a CSVAccounts) error {
	m := map[string]any{"accountIds": a.AccountIDs, "filePath": a.FilePath, "rowsCount": a.RowsCount, "fileName": a.FileName}
	if a.Approver != "" {
		m["approver"] = a.Approver
	}
	if a.UserID != "" {
		m["userId"] = a.UserID
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	answer, err := c.do(ctx, call{method: "POST", endpoint: csvEndpointAccounts, path: c.csvPath("/set-accounts"), body: jsonBody(b)})
	if err != nil {
		return err
	}
	_, err = unwrap("POST", csvEndpointAccounts, answer)
	return err
}

// FinalizeCSV starts an import (PATCH csv/{id} {userId?}; 200 "Updated
// Successfully"): the service then schedules its posts. Sent again after
// a 5xx or a cut connection: the import is the same.
func (c *Client) FinalizeCSV(ctx context.Context, id, userID string) error {
	m := map[string]any{}
	if userID != "" {
		m["userId"] = userID
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	answer, err := c.do(ctx, call{method: "PATCH", endpoint: csvEndpointOne, path: c.csvPath("/csv/" + escapeID(id)), body: jsonBody(b), idempotent: true})
	if err != nil {
		return err
	}
	_, err = unwrap("PATCH", csvEndpointOne, answer)
	return err
}

// ErrCSVImportAmbiguous: more than one listed import could be the one a
// set-accounts made, and nothing tells which.
var ErrCSVImportAmbiguous = errors.New("more than one import could be it")

// FindCSVImport finds the import set-accounts made of the staged CSV up,
// sent at since (this machine's clock): the listed import whose file is
// up's filePath; else, where the service lists no file, the one of up's
// file name, not yet finalized, created since then (on the service's
// clock, less a minute of skew). remote.ErrNotFound when none is;
// ErrCSVImportAmbiguous when several could be.
func (c *Client) FindCSVImport(ctx context.Context, up CSVUpload, since time.Time) (remote.CSVImport, error) {
	all, err := c.CSVImports(ctx)
	if err != nil {
		return remote.CSVImport{}, err
	}
	after := c.core.ServerTime(since).Add(-time.Minute)
	var byFile, byName []remote.CSVImport
	for _, imp := range all {
		switch {
		case imp.Status == remote.CSVDeleted:
		case imp.File != "" && imp.File == up.FilePath:
			byFile = append(byFile, imp)
		case imp.File == "" && imp.FileName == up.FileName && imp.Status == remote.CSVPending && !imp.CreatedAt.Before(after):
			byName = append(byName, imp)
		}
	}
	for _, found := range [][]remote.CSVImport{byFile, byName} {
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		return remote.CSVImport{}, fmt.Errorf("GET %s: %w: %d imports of %s", csvEndpointList, ErrCSVImportAmbiguous, len(found), up.FilePath)
	}
	return remote.CSVImport{}, fmt.Errorf("GET %s: %w: no import of %s is listed", csvEndpointList, remote.ErrNotFound, up.FilePath)
}
