package imagekit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// maxVersions bounds a file's versions as listed: the service keeps 100
// at most (doc); an answer of more is refused, never cut.
const maxVersions = 1000

// maxVersionNum bounds a number read from "Version N".
const maxVersionNum = 1_000_000

// Versions lists a file's versions (GET /v1/files/{id}/versions, doc
// get-file-versions.md), then asks its details for the current one
// (versionInfo.id): in that order, so that a version made between the two
// calls is the current one, and is added from the details if the list did
// not have it. A version's number is its versionInfo.name, "Version N";
// where a name does not read so, or two read alike, every version is
// numbered by its place in the list instead. Each version listed must be
// of this file, with a valid id; the others are skipped (one log line
// counts them), and more than maxVersions is remote.ErrListTooLong. The
// versions come by number, the current one marked (not always the last:
// a restore in the web UI makes an earlier one current).
func (b *Backend) Versions(ctx context.Context, id string) ([]remote.Version, error) {
	const endpoint = "/v1/files/{id}/versions"
	if !validID(id) {
		return nil, &remote.Error{Method: http.MethodGet, Endpoint: endpoint, Status: http.StatusNotFound, Message: "no file of that id"}
	}
	body, err := b.api.Do(ctx, remote.Call{Method: http.MethodGet, Endpoint: endpoint, Path: "/v1/files/" + id + "/versions", Idempotent: true})
	if err != nil {
		return nil, err
	}
	var listed []wireItem
	if err := json.Unmarshal(body, &listed); err != nil {
		return nil, fmt.Errorf("GET %s: the answer is not a list of versions: %w", endpoint, err)
	}
	if len(listed) > maxVersions {
		return nil, fmt.Errorf("GET %s: file %s: %w: more than %d versions", endpoint, id, remote.ErrListTooLong, maxVersions)
	}
	cur, err := b.details(ctx, id)
	if err != nil {
		return nil, err
	}
	var ws []wireItem
	bad := 0
	for _, w := range listed {
		if w.FileID != id || !validID(w.VersionInfo.ID) || slices.ContainsFunc(ws, func(x wireItem) bool { return x.VersionInfo.ID == w.VersionInfo.ID }) {
			bad++
			continue
		}
		ws = append(ws, w)
	}
	if bad > 0 {
		b.log.Warn(fmt.Sprintf("versions of file %s: skipped %d the server described badly (another file's, an id out of bounds, one listed twice)", id, bad))
	}
	if !slices.ContainsFunc(ws, func(w wireItem) bool { return w.VersionInfo.ID == cur.VersionInfo.ID }) {
		ws = append(ws, cur)
	}
	nums, byName := make([]int, len(ws)), true
	for i, w := range ws {
		n, ok := versionNum(w.VersionInfo.Name)
		if !ok || slices.Contains(nums[:i], n) {
			byName = false
			break
		}
		nums[i] = n
	}
	out := make([]remote.Version, len(ws))
	for i, w := range ws {
		v := remote.Version{Rev: w.VersionInfo.ID, Num: i + 1, Size: -1, ModTime: cmp.Or(parseTime(w.UpdatedAt), parseTime(w.CreatedAt)),
			Current: w.VersionInfo.ID == cur.VersionInfo.ID}
		if byName {
			v.Num = nums[i]
		}
		if n, err := w.Size.Int64(); err == nil && n >= 0 && n <= remote.MaxFileSize {
			v.Size = n
			b.noteSize(id, v.Rev, n)
		}
		out[i] = v
	}
	slices.SortStableFunc(out, func(x, y remote.Version) int { return cmp.Compare(x.Num, y.Num) })
	return out, nil
}

// versionNum reads "Version N" (N from 1 to maxVersionNum).
func versionNum(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "Version ")
	if !ok || digits == "" || len(digits) > 7 || digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > maxVersionNum {
		return 0, false
	}
	return n, true
}

// RemoveVersion deletes one version of a file for good (DELETE
// /v1/files/{id}/versions/{versionId}, doc delete-file-version.md). The
// current version is refused before anything is sent, by the file's
// details (remote.ErrBusy); the service's own refusal of it (400 "You
// cannot delete current version of a file.", a version made current
// meanwhile) is remote.ErrBusy too. A lost answer (a 5xx, a cut) is
// looked into by the version's details: gone is done; still there, it is
// sent again (four attempts in all); else remote.ErrAmbiguous. A file or
// a version the service does not hold is remote.ErrNotFound.
func (b *Backend) RemoveVersion(ctx context.Context, id, rev string) error {
	const endpoint = "/v1/files/{id}/versions/{versionId}"
	if !validID(id) || !validID(rev) {
		return &remote.Error{Method: http.MethodDelete, Endpoint: endpoint, Status: http.StatusNotFound, Message: "no version of that id"}
	}
	w, err := b.details(ctx, id)
	if err != nil {
		return err
	}
	if w.VersionInfo.ID == rev {
		return fmt.Errorf("imagekit: version %s of file %s: %w: it is the file's current version", rev, id, remote.ErrBusy)
	}
	path := "/v1/files/" + id + "/versions/" + rev
	for attempt := 0; ; attempt++ {
		_, err := b.api.Do(ctx, remote.Call{Method: http.MethodDelete, Endpoint: endpoint, Path: path})
		if currentRefused(err) {
			return fmt.Errorf("%w: %w", remote.ErrBusy, err)
		}
		if !errors.Is(err, remote.ErrAmbiguous) {
			return err
		}
		_, lerr := b.fileCall(ctx, endpoint, path)
		switch {
		case errors.Is(lerr, remote.ErrNotFound):
			return nil // gone: the lost answer was a success
		case lerr != nil || attempt >= 3:
			return err
		}
		b.log.Debug("a version's removal was not carried out; sending it again", "file", id, "version", rev, "err", err)
		if werr := remote.Sleep(ctx, b.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return err
		}
	}
}

// currentRefused reports whether err is the service's refusal to delete
// a file's current version: 400 "You cannot delete current version of a
// file." (doc delete-file-version.md).
func currentRefused(err error) bool {
	var e *remote.Error
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "current version")
}
