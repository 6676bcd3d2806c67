package main

import (
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An OCM mount's flags reach its backend's options; those left at their
// default leave the backend's own (its rate, page size; no upload limit).
func TestMountFlagsOCM(t *testing.T) {
	o, err := mountOptionsOf(t, "--backend=ocm", "--api-url=https://acme.example.com", "--root=F1", "--token-url=https://idcs.example.com/oauth2/v1/token",
		"--scope=https://acme.example.com:443/urn:opc:cec:all", "--op-timeout=7s", "--max-retry-after=9s", "--list-max-items=1000")
	if err != nil {
		t.Fatal(err)
	}
	c := o.ocm
	if o.backend != backends.OCM || o.ocmFlags.Root != "F1" || o.ocmFlags.TokenURL != "https://idcs.example.com/oauth2/v1/token" || o.ocmFlags.Scope == "" {
		t.Errorf("mount: %+v", o)
	}
	if c.RetryTimeout != 7*time.Second || c.MaxRetryAfter != 9*time.Second || c.MaxListItems != 1000 ||
		c.RateLimit != 0 || c.PageSize != 0 || c.MaxUploadSize != 0 || !strings.HasPrefix(c.UserAgent, "ghlfs/") {
		t.Errorf("ocm: %+v", c)
	}
	if o.cache.Delete || o.cache.ReadOnly || o.readOnlySet {
		t.Errorf("cache: %+v", o.cache)
	}
	o, err = mountOptionsOf(t, "--backend=ocm", "--rate-limit=0", "--page-size=500", "--max-upload-size=1MB", "--read-only=false")
	if err != nil {
		t.Fatal(err)
	}
	if c := o.ocm; c.RateLimit != -1 || c.PageSize != 500 || c.MaxUploadSize != 1e6 || !o.readOnlySet {
		t.Errorf("ocm, flags given: %+v", c)
	}
}

// OCM has a trash only: --delete-mode delete is refused on a read-write
// mount; two ways to authenticate on the command line are refused; a
// flag of another backend is refused, and OCM's on another backend.
func TestMountFlagsOCMRefused(t *testing.T) {
	_, err := mountOptionsOf(t, "--backend=ocm", "--delete-mode=delete")
	if err == nil || !strings.Contains(err.Error(), "trash") {
		t.Errorf("--delete-mode delete: %v", err)
	}
	_, err = mountOptionsOf(t, "--backend=ocm", "--link-id=L1", "--token-file=/t")
	if err == nil || !strings.Contains(err.Error(), "--token-file and --link-id") {
		t.Errorf("two ways: %v", err)
	}
	for _, args := range [][]string{
		{"--backend=ocm", "--key-file=/k"},
		{"--backend=ocm", "--location=abc"},
		{"--backend=ocm", "--storage-host=cdn.example"},
		{"--backend=ocm", "--url-endpoint=https://ik.imagekit.io/acme"},
		{"--backend=ocm", "--token-url=https://idcs.example/oauth2/v1/token", "--applink-id=A"},
		{"--root=F1"},
		{"--link-id=L1"},
		{"--backend=imagekit", "--read-only", "--scope=x"},
		{"--backend=imagekit", "--read-only", "--token-file=/t"},
	} {
		if _, err := mountOptionsOf(t, args...); err == nil {
			t.Errorf("%v: taken", args)
		}
	}
	for _, args := range [][]string{{"--backend=ocm"}, {"--backend=ocm", "--read-only", "--delete-mode=delete"}, {"--backend=ocm", "--token-file=/t", "--root=F1"}} {
		if _, err := mountOptionsOf(t, args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// ocmSettingsOf reads an OCM mount's settings as a mount does, with the
// config file's keys conf, and returns them with the options they leave.
func ocmSettingsOf(t *testing.T, conf map[string]string, args ...string) (*mountPoint, error) {
	t.Helper()
	o, err := mountOptionsOf(t, append([]string{"--backend=ocm"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if conf == nil {
		conf = map[string]string{}
	}
	mp := &mountPoint{opts: o, conf: conf}
	return mp, mp.readOCMSettings()
}

// clearOCMEnv empties every OCM_ variable for the test.
func clearOCMEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OCM_") {
			t.Setenv(k, "")
		}
	}
}

// privateFile writes a file only its owner reads, in a private folder.
func privateFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The way to authenticate is the flags', else the environment's, else
// the config file's; the other settings follow each their own order;
// the scope defaults to the instance's; the identity names the instance
// and the root.
func TestOCMSettings(t *testing.T) {
	clearOCMEnv(t)
	conf := map[string]string{"OCM_API_URL": "https://Acme.example.com", "OCM_TOKEN_URL": "https://idcs.example.com/oauth2/v1/token",
		"OCM_CLIENT_ID": "cid", "OCM_CLIENT_SECRET": "csecret"}
	mp, err := ocmSettingsOf(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	s := mp.ocm
	if s.Mode != backends.OCMClient || s.ClientID != "cid" || s.ClientSecret != "csecret" || s.Root != "self" ||
		s.Scope != "https://acme.example.com:443/urn:opc:cec:all" || mp.location != "ocm:acme.example.com/self" || mp.opts.fs.ReadOnly {
		t.Errorf("client credentials from the config file: %+v, %s", s, mp.location)
	}
	b, id, err := mp.ocm.Open(mp.opts.ocm, nil)
	if err != nil || b == nil || id.Location != mp.location || id.API != "ocm:https://acme.example.com" {
		t.Errorf("backend: %v %+v", err, id)
	}

	// The environment's way goes before the config file's; a flag's
	// before both.
	t.Setenv("OCM_TOKEN_FILE", privateFile(t, "token", "bearer-1"))
	mp, err = ocmSettingsOf(t, conf, "--root=F9")
	if err != nil || mp.ocm.Mode != backends.OCMToken || mp.ocm.Secret != "bearer-1" || mp.ocm.Source == nil || mp.location != "ocm:acme.example.com/F9" {
		t.Errorf("token file from the environment: %v %+v", err, mp.ocm)
	}
	code := privateFile(t, "code", "c0de")
	mp, err = ocmSettingsOf(t, conf, "--link-id=L1", "--root=F2", "--access-code-file="+code)
	if err != nil || mp.ocm.Mode != backends.OCMLink || mp.ocm.LinkID != "L1" || mp.ocm.Secret != "c0de" {
		t.Fatalf("link from the flags: %v %+v", err, mp.ocm)
	}
	// A link's mount is read-only unless --read-only says.
	if !mp.opts.fs.ReadOnly || !mp.opts.cache.ReadOnly {
		t.Error("a shared link's mount is read-write by default")
	}
	mp, err = ocmSettingsOf(t, conf, "--link-id=L1", "--root=F2", "--read-only=false")
	if err != nil || mp.opts.fs.ReadOnly || mp.opts.cache.ReadOnly {
		t.Errorf("--read-only=false through a link: %v, read-only %v", err, mp.opts.fs.ReadOnly)
	}
	t.Setenv("OCM_APPLINK_TOKEN", "apptok")
	mp, err = ocmSettingsOf(t, conf, "--applink-id=A1", "--root=F3")
	if err != nil || mp.ocm.Mode != backends.OCMAppLink || mp.ocm.Secret != "apptok" || !mp.opts.fs.ReadOnly {
		t.Errorf("applink: %v %+v", err, mp.ocm)
	}
}

// What cannot make a mount is refused, saying what to give.
func TestOCMSettingsRefused(t *testing.T) {
	clearOCMEnv(t)
	api := map[string]string{"OCM_API_URL": "https://acme.example.com"}
	for _, c := range []struct {
		conf map[string]string
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{}, nil, nil, "--api-url"},
		{api, nil, nil, "no way to authenticate"},
		{api, map[string]string{"OCM_LINK_ID": "L1", "OCM_TOKEN_FILE": "/t"}, nil, "the environment give two ways"},
		{api, nil, []string{"--link-id=L1"}, "--root FOLDER_ID"},
		{api, nil, []string{"--token-url=https://idcs.example.com/oauth2/v1/token"}, "OCM_CLIENT_ID"},
		{map[string]string{"OCM_API_URL": "https://acme.example.com", "OCM_CLIENT_ID": "c"}, nil, []string{"--token-url=https://idcs.example.com/oauth2/v1/token"}, "OCM_CLIENT_SECRET"},
		{api, map[string]string{"OCM_TOKEN_URL": "https://i/oauth2/v1/token", "OCM_CLIENT_ID": "c", "OCM_CLIENT_SECRET": "s"}, []string{"--access-code-file=/f"}, "--access-code-file is for"},
		{api, nil, []string{"--applink-id=A1", "--root=F1"}, "no applink token"},
		{map[string]string{"OCM_API_URL": "ftp://acme.example.com"}, nil, []string{"--token-file=/t"}, "https://<instance>"},
	} {
		t.Run(c.want, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := ocmSettingsOf(t, c.conf, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v %v: %v, want %q", c.env, c.args, err, c.want)
			}
		})
	}
}

// An OCM library's cache dir is one path element per instance and root,
// the same for the same instance written another way.
func TestOCMCacheName(t *testing.T) {
	a := backends.OCMCacheName("https://acme.example.com", "self")
	if a != "ocm-acme.example.com%2Fself" {
		t.Errorf("got %q", a)
	}
	if b := backends.OCMCacheName("https://ACME.example.com:443/", "self"); b != a {
		t.Errorf("the same library: %q, %q", a, b)
	}
	for _, c := range []string{backends.OCMCacheName("https://acme.example.com", "F1"), backends.OCMCacheName("https://other.example.com", "self")} {
		if c == a || strings.Contains(c, "/") {
			t.Errorf("another library: %q", c)
		}
	}
}
