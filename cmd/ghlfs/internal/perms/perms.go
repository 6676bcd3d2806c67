package perms

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// CheckPrivate refuses fi (the file or directory at path, described as
// what) when another user owns it or when group or others may write it;
// with secret, also when they may read it.
func CheckPrivate(what, path string, fi os.FileInfo, secret bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	me := os.Geteuid()
	if int(st.Uid) != me && st.Uid != 0 {
		chown := "chown"
		if fi.IsDir() {
			chown = "chown -R"
		}
		owners := "you (" + UserName(me) + ") or to root"
		if me == 0 {
			owners = "root (you)"
		}
		return fmt.Errorf("%s %s belongs to %s; it must belong to %s, since its owner could change what ghlfs does in your name. Use one of your own, or fix it (as root) with: %s %s %s",
			what, path, UserName(int(st.Uid)), owners, chown, UserName(me), shellQuote(path))
	}
	perm := fi.Mode().Perm()
	if secret && perm&0o077 != 0 {
		return fmt.Errorf("%s %s holds a secret (the API token, or the app's client secret) and other users may read it (mode %04o). Fix it with: chmod 600 %s (and replace that secret in HighLevel if others could read it)",
			what, path, perm, shellQuote(path))
	}
	if perm&0o022 != 0 {
		return fmt.Errorf("%s %s may be changed by other users (mode %04o). Fix it with: chmod go-w %s",
			what, path, perm, shellQuote(path))
	}
	return nil
}

// CheckSecretDir refuses a file holding a token (described as what) when
// another user could put a file of theirs in its place: ghlfs reads that
// file again (a token set at each refresh, a token after a 401), and a
// token of someone else's would send the user's files to their account.
// Every folder on the way to it is checked (checkFolders).
func CheckSecretDir(what, path string) error {
	return checkFolders(what, path, "they could put a token of theirs in its place. Keep it in a folder of your own (ghlfs login --token-file)")
}

// checkFolders refuses path (what it is, for messages) when a folder on
// the way to it, from /, could be changed by another user: renamed away
// and replaced, so that path names what they made. Such a folder belongs
// to another user (root's are fine), or others may write to it, unless it
// is sticky (as /tmp: there no one else may rename or remove an entry of
// the user's, which the entry on the way must then be). Symlinks on the
// way are followed, and the folders on the way to their targets checked
// too. risk says what another user could do, and how to avoid it.
func checkFolders(what, path, risk string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	me := os.Geteuid()
	todo := strings.Split(abs, "/")
	cur, links := "/", 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur holds no symlink: this is its parent
			continue
		}
		dir, err := os.Lstat(cur)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		st, ok := dir.Sys().(*syscall.Stat_t)
		switch {
		case !ok:
		case int(st.Uid) != me && st.Uid != 0:
			return fmt.Errorf("%s %s is in %s, which belongs to %s: %s", what, path, cur, UserName(int(st.Uid)), risk)
		case dir.Mode().Perm()&0o022 != 0 && dir.Mode()&os.ModeSticky == 0:
			return fmt.Errorf("%s %s is in %s, which other users may change (mode %04o): %s, or fix it with: chmod go-w %s",
				what, path, cur, dir.Mode().Perm(), risk, shellQuote(cur))
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if errors.Is(err, os.ErrNotExist) {
			return nil // made by ghlfs, if at all
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		// In a sticky folder others may write to, an entry of theirs is
		// theirs to replace.
		if est, ok := fi.Sys().(*syscall.Stat_t); ok && dir.Mode().Perm()&0o022 != 0 && int(est.Uid) != me && est.Uid != 0 {
			return fmt.Errorf("%s %s is reached through %s, which belongs to %s, in a folder others may write to (%s): %s",
				what, path, next, UserName(int(est.Uid)), cur, risk)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if links++; links > 40 {
				return fmt.Errorf("%s %s: too many symbolic links", what, path)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		cur = next
	}
	return nil
}

// OpenPrivate opens a file that CheckPrivate accepts (and, for a secret,
// in a folder CheckSecretDir accepts); the check is made on the file
// opened, not on a name that could change meanwhile. Its errors name what
// the file is.
func OpenPrivate(what, path string, secret bool) (*os.File, error) {
	if secret {
		if err := CheckSecretDir(what, path); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	fi, err := f.Stat()
	if err != nil {
		err = fmt.Errorf("%s: %w", what, err)
	} else {
		err = CheckPrivate(what, path, fi, secret)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CreatePrivate opens path to write, made if missing, as a file of the
// user's that no one else may read: not through a symlink (a log file in
// a folder others may write to, such as /tmp, could be one, to a file of
// theirs or one the user must not overwrite), not a file of another
// user's (who could read what ghlfs writes), not a FIFO or a device (an
// open to write would wait for a reader, or write to it), and of mode
// 0600 whatever it was. With truncate its content goes, once it is known
// to be the user's file; else writes append.
func CreatePrivate(path string, truncate bool) (*os.File, error) {
	flag := os.O_APPEND
	if truncate {
		flag = 0
	}
	// O_NONBLOCK: a FIFO does not hold the open until a reader comes
	// (with no reader it fails, ENXIO); cleared once the file is checked.
	fd, err := syscall.Open(path, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK|flag, 0o600)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("%s is a symbolic link, which ghlfs does not follow: give the file itself", path)
	case errors.Is(err, syscall.ENXIO):
		return nil, fmt.Errorf("%s is not a regular file", path)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	err = syscall.Fstat(fd, &st)
	switch {
	case err != nil:
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		err = fmt.Errorf("%s is not a regular file", path)
	case int(st.Uid) != os.Geteuid():
		err = fmt.Errorf("%s belongs to %s, who could read what ghlfs writes there: use a file of your own", path, UserName(int(st.Uid)))
	default:
		if err = syscall.Fchmod(fd, 0o600); err == nil {
			err = syscall.SetNonblock(fd, false)
		}
	}
	if err == nil && truncate {
		err = syscall.Ftruncate(fd, 0)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// CheckCacheDir makes the cache dir if it is missing (private to the
// user), and refuses one that CheckPrivate refuses, or one below a
// folder another user could change (checkFolders): the queue in it is
// uploaded with the user's token, and the control socket in it is what
// ghlfs status and unmount talk to.
func CheckCacheDir(dir string) error {
	const risk = "they could put a cache dir of theirs in its place (whose files ghlfs would upload with your token). Keep it in a folder of your own (--cache-dir)"
	if err := checkFolders("cache dir", dir, risk); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	if err := checkFolders("cache dir", dir, risk); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cache dir %s is not a directory", dir)
	}
	return CheckPrivate("cache dir", dir, fi, false)
}

// UserName is a user's login name, or the uid when it has none.
func UserName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// shellQuote quotes path for a shell when it holds anything but plain
// characters, so that a fix given in a message can be pasted.
func shellQuote(path string) string {
	plain := path != ""
	for _, r := range path {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r)) {
			plain = false
			break
		}
	}
	if plain {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
