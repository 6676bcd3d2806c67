package ocm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
)

// Defaults of the real service.
const (
	// BasePath is the Documents API's path under the instance's url.
	BasePath = "/documents/api/1.2"
	// DefaultRoot is the user's home folder.
	DefaultRoot = "self"
	// DefaultPageSize is the limit a listing asks for (doc: default 50,
	// at most 10,000).
	DefaultPageSize = 1000
	// MaxPageSize is the API's largest page.
	MaxPageSize = 10000
	// MaxVersions bounds one file's list of versions.
	MaxVersions = 10000
)

// Config configures a Backend. APIURL and exactly one way to
// authenticate are required: client credentials of an identity domain
// (TokenURL, ClientID, ClientSecret, Scope), a bearer token (Token), a
// shared link (LinkID, AccessCode) or an applink (AppLinkID,
// AppLinkToken). No credential is ever logged, put in an error, or sent
// elsewhere than the API host (and the token url, for the client's
// secret).
type Config struct {
	// APIURL is the instance, https://<instance> (BasePath is added; a
	// url ending with it is taken as it is).
	APIURL string
	// RootID is the folder mounted (default DefaultRoot, the user's
	// home); a shared link or an applink needs the shared folder's id.
	RootID string

	// TokenURL is the identity domain's token endpoint
	// (https://<idcs>/oauth2/v1/token): a client-credentials grant with
	// ClientID and ClientSecret as HTTP Basic and Scope
	// (<primaryAudience>/urn:opc:cec:all). Its token is kept until
	// shortly before expires_in, and renewed once when the API answers
	// 401.
	TokenURL, ClientID, ClientSecret, Scope string

	// Token is a bearer token given whole; TokenSource, when set, gives
	// it again after a 401 (a token file rewritten).
	Token       string
	TokenSource func() (string, error)

	// LinkID is a public link's id: sent with every call (the linkID
	// query parameter and the LinkID header); AccessCode, when the link
	// has one, as the cookie dAccessCode-<LinkID>; AccessCodeSource gives
	// it again after a refusal.
	LinkID           string
	AccessCode       string
	AccessCodeSource func() (string, error)

	// AppLinkID and AppLinkToken are an applink's id and access token,
	// sent as the appLinkID and accessToken headers.
	AppLinkID, AppLinkToken string

	// ClientOptions: PageSize defaults to DefaultPageSize (at most
	// MaxPageSize); MaxRetryAfter caps a 429's Retry-After;
	// MaxUploadSize is the instance's "Maximum upload size" (an admin
	// setting), 0: not known.
	remote.ClientOptions
}

// Backend is an Oracle Content Management library (its Documents API)
// as a remote.Backend.
type Backend struct {
	api      *remote.Core
	tokens   *ccAuth // nil unless client credentials
	root     string  // the root folder's id as configured
	linkID   string  // "" unless a shared link
	pageSize int
	maxItems int
	maxSize  int64
	log      *slog.Logger
	clk      clockwork.Clock

	mu sync.Mutex
	// rootIDs are the ids the root answers to (RootID, and the id the
	// service gives it: "self" is the home folder's alias).
	rootIDs      map[string]bool
	rootResolved bool // the root's own id was learnt
	// folders holds the ids of the folders seen, so that a change is
	// sent to the folder's route first; sizes the size of each file
	// version seen, by id and version, which a read's answer is checked
	// against. Both bounded.
	folders map[string]bool
	sizes   map[fileRev]int64
	// filterIgnored: the service answered a look-up by filterName with
	// other names (filter-ignored): look-ups read the whole listing.
	filterIgnored bool
}

// Close stops the backend's work of its own: a token grant under way
// (client credentials). The cache's Store closes its backend last
// (io.Closer).
func (b *Backend) Close() error {
	if b.tokens != nil {
		b.tokens.Close()
	}
	return nil
}

type fileRev struct{ id, rev string }

var _ remote.Backend = (*Backend)(nil)

// New returns a Backend of cfg.
func New(cfg Config) (*Backend, error) {
	base, err := baseURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	cfg.RootID = cmp.Or(cfg.RootID, DefaultRoot)
	if !validID(cfg.RootID) {
		return nil, fmt.Errorf("ocm: root folder %q: not a folder id", remote.CleanText(cfg.RootID, 64))
	}
	cfg.Defaults(DefaultPageSize, MaxPageSize)
	b := &Backend{root: cfg.RootID, pageSize: cfg.PageSize, maxItems: cfg.MaxListItems, maxSize: cfg.MaxUploadSize,
		log: cfg.Logger, clk: cfg.Clock, rootIDs: map[string]bool{cfg.RootID: true}, folders: map[string]bool{}, sizes: map[fileRev]int64{}}
	auth, authorize, err := b.authOf(cfg)
	if err != nil {
		return nil, err
	}
	cc := cfg.CoreConfig(base)
	cc.Auth, cc.Hooks = auth, remote.Hooks{
		Authorize:   authorize,
		Header:      http.Header{"Accept": {"application/json"}},
		ParseError:  parseError,
		AnswerError: answerError,
		Incurable:   incurable,
	}
	b.api, err = remote.NewCore(cc)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// baseURL is the Documents API's base of the instance url raw.
func baseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || raw == "" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("ocm: API url %q: give the instance's https://<instance>", remote.RedactURL(raw))
	}
	if err := remote.CheckAPIURL(u); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, BasePath) {
		u.Path += BasePath
	}
	u.RawPath = ""
	return u, nil
}

// authOf is the Authorizer of cfg's one way to authenticate, and how a
// request carries its token.
func (b *Backend) authOf(cfg Config) (remote.Authorizer, func(http.Header, string), error) {
	modes := 0
	for _, set := range []bool{cfg.TokenURL != "" || cfg.ClientID != "" || cfg.ClientSecret != "", cfg.Token != "" || cfg.TokenSource != nil,
		cfg.LinkID != "", cfg.AppLinkID != "" || cfg.AppLinkToken != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return nil, nil, errors.New("ocm: give one way to authenticate: client credentials (token url, client id and secret), a bearer token, a shared link, or an applink")
	}
	bearer := func(h http.Header, tok string) { h.Set("Authorization", "Bearer "+tok) }
	switch {
	case cfg.TokenURL != "" || cfg.ClientID != "" || cfg.ClientSecret != "":
		a, err := newCCAuth(cfg)
		if err != nil {
			return nil, nil, err
		}
		b.tokens = a
		return a, bearer, nil
	case cfg.Token != "" || cfg.TokenSource != nil:
		tok := cfg.Token
		if tok == "" {
			var err error
			if tok, err = cfg.TokenSource(); err != nil {
				return nil, nil, fmt.Errorf("ocm: reading the token: %w", err)
			}
		}
		if !validSecret(tok) {
			return nil, nil, errors.New("ocm: the bearer token is empty or holds spaces or control characters")
		}
		return remote.StaticToken(tok, checked(cfg.TokenSource, validSecret), cfg.Logger), bearer, nil
	case cfg.LinkID != "":
		if !validID(cfg.LinkID) || cfg.RootID == DefaultRoot || cfg.AccessCode != "" && !validCookie(cfg.AccessCode) {
			return nil, nil, errors.New("ocm: a shared link needs its id (letters and digits), the shared folder's id as the root, and an access code a cookie can carry")
		}
		b.linkID = cfg.LinkID
		return remote.StaticToken(cfg.AccessCode, checked(cfg.AccessCodeSource, validCookie), cfg.Logger), func(h http.Header, code string) {
			h.Set("LinkID", cfg.LinkID)
			if code != "" {
				h.Set("Cookie", "dAccessCode-"+cfg.LinkID+"="+code)
			}
		}, nil
	default:
		if !validSecret(cfg.AppLinkID) || !validSecret(cfg.AppLinkToken) || cfg.RootID == DefaultRoot {
			return nil, nil, errors.New("ocm: an applink needs its id, its access token and the shared folder's id as the root")
		}
		return remote.StaticToken(cfg.AppLinkToken, nil, cfg.Logger), func(h http.Header, tok string) {
			h.Set("appLinkID", cfg.AppLinkID)
			h.Set("accessToken", tok)
		}, nil
	}
}

// checked is src, refusing a credential valid does not pass (one a
// header cannot carry).
func checked(src func() (string, error), valid func(string) bool) func() (string, error) {
	if src == nil {
		return nil
	}
	return func() (string, error) {
		s, err := src()
		if err == nil && !valid(s) {
			err = errors.New("the credential read holds spaces, control characters or characters a cookie cannot carry")
		}
		return s, err
	}
}

// validSecret reports whether s can go in a header as it is.
func validSecret(s string) bool {
	return s != "" && len(s) <= 16<<10 && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}

// validCookie reports whether s can be a cookie's value (RFC 6265).
func validCookie(s string) bool {
	return validSecret(s) && !strings.ContainsAny(s, `",;\`)
}

// Library names an OCM library: "ocm:<host>/<root>", the instance's host
// (lower case, a port other than 443 kept) and the root folder's id
// (RootID, default DefaultRoot). It holds no secret.
func Library(apiURL, rootID string) string {
	host := "(unparsable API URL)"
	if u, err := url.Parse(apiURL); err == nil {
		host = strings.ToLower(u.Host)
		if u.Scheme == "https" {
			host = strings.TrimSuffix(host, ":443")
		}
	}
	return "ocm:" + host + "/" + cmp.Or(rootID, DefaultRoot)
}

// Caps says what OCM does (doc.go).
func (b *Backend) Caps() remote.Caps {
	c := remote.Caps{
		Kind:            "ocm",
		XattrPrefix:     "user.ocm.",
		UniqueNames:     true,
		CaseInsensitive: true,
		ValidName:       ValidName,
		Versions:        true,
		RangeReads:      true,
		Move:            true,
		MoveFolders:     true,
		RenameFolders:   true,
		Trash:           true,
		BulkRemove:      1,
		OneListing:      true,
	}
	if b.maxSize > 0 {
		c.MaxUpload = func(string) int64 { return b.maxSize }
	}
	return c
}

// Check reads the root folder: the credentials and the folder work.
func (b *Backend) Check(ctx context.Context) error {
	_, err := b.folderInfo(ctx, b.root)
	return err
}

// FolderWrites is nil: OCM puts items where asked (by parentID).
func (b *Backend) FolderWrites() error { return nil }

// Stats are the API's counters, the token grants' beside them.
func (b *Backend) Stats() remote.Stats {
	s := b.api.Stats()
	if b.tokens != nil {
		if s.Calls == nil {
			s.Calls = map[remote.CallKey]int64{}
		}
		for k, v := range b.tokens.counts.Stats().Calls {
			s.Calls[k] += v
		}
	}
	return s
}

// Usage is the API's.
func (b *Backend) Usage() remote.Usage { return b.api.Usage() }

// do sends call, with the link's id where the backend works through a
// shared link.
func (b *Backend) do(ctx context.Context, call remote.Call) ([]byte, error) {
	return b.api.Do(ctx, b.withLink(call))
}

func (b *Backend) withLink(call remote.Call) remote.Call {
	if b.linkID != "" {
		q := url.Values{}
		for k, v := range call.Query {
			q[k] = v
		}
		q.Set("linkID", b.linkID)
		call.Query = q
	}
	return call
}

// noteFolder remembers that id is a folder (bounded).
func (b *Backend) noteFolder(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.folders) >= maxRemembered {
		clear(b.folders)
	}
	b.folders[id] = true
}

func (b *Backend) knownFolder(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.folders[id] || b.rootIDs[id]
}

// noteSize remembers the size of a file's version (bounded).
func (b *Backend) noteSize(id, rev string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.sizes) >= maxRemembered {
		clear(b.sizes)
	}
	b.sizes[fileRev{id, rev}] = n
}

// maxRemembered bounds the folders and versions remembered.
const maxRemembered = 1 << 20
