package webdav

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Auth checks HTTP Basic credentials against bcrypt hashes. A pair of
// credentials once found good is remembered by its SHA-256, so that
// bcrypt's cost is paid once per client, not once per request.
type Auth struct {
	users map[string][]byte // name -> bcrypt hash

	mu   sync.Mutex
	good map[[32]byte]bool // guarded by mu: SHA-256 of name, NUL, password
}

// maxGood bounds the credentials remembered.
const maxGood = 64

// NewAuth checks one user with a password (from a file: never a flag).
func NewAuth(user, password string) (*Auth, error) {
	if user == "" || strings.Contains(user, ":") || password == "" {
		return nil, errors.New("a user name (without ':') and a non-empty password are needed")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	return &Auth{users: map[string][]byte{user: h}, good: make(map[[32]byte]bool)}, nil
}

// ReadHtpasswd reads an htpasswd file of NAME:HASH lines, each hash
// bcrypt's ($2a$, $2b$ or $2y$, as htpasswd -B writes).
func ReadHtpasswd(r io.Reader) (*Auth, error) {
	a := &Auth{users: make(map[string][]byte), good: make(map[[32]byte]bool)}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("htpasswd line %d: not NAME:HASH", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("htpasswd line %d (%s): not a bcrypt hash (htpasswd -B makes one)", n, name)
		}
		a.users[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(a.users) == 0 {
		return nil, errors.New("htpasswd: no users")
	}
	return a, nil
}

// check reports whether the credentials are good.
func (a *Auth) check(user, password string) bool {
	sum := sha256.Sum256([]byte(user + "\x00" + password))
	a.mu.Lock()
	ok := a.good[sum]
	a.mu.Unlock()
	if ok {
		return true
	}
	h, known := a.users[user]
	if !known {
		// As long as for a known name: the answer's time tells nothing.
		h = dummyHash()
	}
	if bcrypt.CompareHashAndPassword(h, []byte(password)) != nil || !known {
		return false
	}
	a.mu.Lock()
	if len(a.good) >= maxGood {
		clear(a.good)
	}
	a.good[sum] = true
	a.mu.Unlock()
	return true
}

// dummyHash is compared against for an unknown name; made at the first
// need, not at every start of the program.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("ghlfs"), bcrypt.DefaultCost)
	return h
})

// wrap answers 401 to a request without good credentials.
func (a *Auth) wrap(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || !a.check(user, pass) {
			if ok {
				log.Warn("WebDAV request refused: bad credentials", "user", bounded(user), "remote", r.RemoteAddr)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="ghlfs", charset="UTF-8"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bounded is a name as logged: at most 64 bytes, quoted.
func bounded(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return fmt.Sprintf("%q", s)
}
