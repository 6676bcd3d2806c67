package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"github.com/spf13/pflag"
)

// mountOptionsOf parses a mount's flags and makes them into options.
func mountOptionsOf(t *testing.T, args ...string) (mountOptions, error) {
	t.Helper()
	m := &mountFlags{}
	fl := pflag.NewFlagSet("mount", pflag.ContinueOnError)
	m.register(fl)
	if err := fl.Parse(args); err != nil {
		t.Fatal(err)
	}
	return m.options()
}

// Each flag reaches the layer that uses it, as that layer spells it: a
// flag read twice, or a layer given a flag's raw value (0 for "no
// pacing", "delete" for permanent removal, --passthrough for a setting
// that says the opposite), is a mount that does other than asked.
func TestMountFlagsReachEachLayer(t *testing.T) {
	o, err := mountOptionsOf(t, "--read-only", "--dir-cache-time=3s", "--op-timeout=7s", "--rate-limit=0",
		"--delete-mode=delete", "--passthrough", "--cache-mem=1M", "--cache-max-size=2G", "--max-upload-size=10MB",
		"--page-size=50", "--list-max-items=1000", "--max-retry-after=9s", "--list-all=false", "--poll-interval=1m",
		"--full-sync-interval=2h", "--upload-retry=11s", "--write-back-delay=0", "--unmount-grace=13s",
		"--uid=12", "--gid=34", "--umask=027", "--allow-other", "--debug-fuse", "--storage-host=a.example", "--storage-host=b.example")
	if err != nil {
		t.Fatal(err)
	}
	r, c, f := o.remote, o.cache, o.fs
	if r.RateLimit != -1 || r.RetryTimeout != 7*time.Second || r.PageSize != 50 || r.MaxListItems != 1000 ||
		r.MaxRetryAfter != 9*time.Second || r.MaxUploadSize != 10e6 || !strings.HasPrefix(r.UserAgent, "ghlfs/") {
		t.Errorf("remote: %+v", r)
	}
	if !c.ReadOnly || !c.Delete || c.DirTTL != 3*time.Second || c.OpTimeout != 7*time.Second || c.MemoryBytes != 1<<20 ||
		c.DiskBytes != 2<<30 || c.ListAll || c.PollInterval != time.Minute || c.FullSyncInterval != 2*time.Hour ||
		c.RetryBase != 11*time.Second || c.WriteBackDelay != 0 {
		t.Errorf("cache: %+v", c)
	}
	if !f.ReadOnly || f.AttrTimeout != 3*time.Second || f.EntryTimeout != 3*time.Second || f.NegativeTimeout != 3*time.Second ||
		f.UID != 12 || f.GID != 34 || f.Umask != 0o027 || !f.AllowOther || !f.Debug || f.NoPassthrough {
		t.Errorf("fs: %+v", f)
	}
	if o.grace != 13*time.Second || strings.Join(o.storageHosts, ",") != "a.example,b.example" {
		t.Errorf("mount: %+v", o)
	}
}

// The defaults, where a layer's spelling differs from the flag's: pacing
// on, removals to the trash, no passthrough, names that do not exist
// trusted 5s at most.
func TestMountFlagsDefaults(t *testing.T) {
	o, err := mountOptionsOf(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.remote.RateLimit != 100 || o.cache.Delete || !o.cache.ListAll || !o.fs.NoPassthrough ||
		o.fs.NegativeTimeout != 5*time.Second || o.fs.AttrTimeout != time.Minute || o.cache.DirTTL != time.Minute {
		t.Errorf("defaults: remote %+v cache %+v fs %+v", o.remote, o.cache, o.fs)
	}
}

// A flag value that makes no sense is refused before anything starts.
func TestMountFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--delete-mode=shred"},
		{"--max-retry-after=0"},
		{"--unmount-grace=-1s"},
		{"--uid=-1"},
		{"--max-upload-size=0"},
	} {
		if _, err := mountOptionsOf(t, args...); err == nil {
			t.Errorf("%v: taken", args)
		}
	}
}

// An ImageKit mount's flags reach its backend's options; those left at
// their default leave the backend's own (its rate, page size, the plan's
// limits), which are not HighLevel's.
func TestMountFlagsImageKit(t *testing.T) {
	o, err := mountOptionsOf(t, "--backend=imagekit", "--delete-mode=delete", "--url-endpoint=https://ik.imagekit.io/acme",
		"--upload-url=https://up.example", "--key-file=/k", "--op-timeout=7s", "--max-retry-after=9s", "--list-max-items=1000")
	if err != nil {
		t.Fatal(err)
	}
	ik := o.imagekit
	if o.backend != backends.ImageKit || o.urlEndpoint != "https://ik.imagekit.io/acme" || o.uploadURL != "https://up.example" || o.keyFile != "/k" {
		t.Errorf("mount: %+v", o)
	}
	if ik.RetryTimeout != 7*time.Second || ik.MaxRetryAfter != 9*time.Second || ik.MaxListItems != 1000 ||
		ik.RateLimit != 0 || ik.PageSize != 0 || ik.MaxUploadSize != 0 || !strings.HasPrefix(ik.UserAgent, "ghlfs/") {
		t.Errorf("imagekit: %+v", ik)
	}
	if !o.cache.Delete {
		t.Errorf("cache: %+v", o.cache)
	}
	o, err = mountOptionsOf(t, "--backend=imagekit", "--read-only", "--rate-limit=0", "--page-size=500", "--max-upload-size=1MB")
	if err != nil {
		t.Fatal(err)
	}
	if ik := o.imagekit; ik.RateLimit != -1 || ik.PageSize != 500 || ik.MaxUploadSize != 1e6 {
		t.Errorf("imagekit, flags given: %+v", ik)
	}
	o, err = mountOptionsOf(t, "--backend=imagekit", "--read-only", "--rate-limit=30")
	if err != nil {
		t.Fatal(err)
	}
	if ik := o.imagekit; ik.RateLimit != 30 || ik.RateWindow != 10*time.Second {
		t.Errorf("imagekit, --rate-limit=30: %+v", ik)
	}
}

// ImageKit has no trash: a read-write mount with the default delete mode
// is refused, saying what to choose; a flag of the other backend is
// refused rather than ignored.
func TestMountFlagsImageKitRefused(t *testing.T) {
	_, err := mountOptionsOf(t, "--backend=imagekit", "--url-endpoint=https://ik.imagekit.io/acme")
	if err == nil || !strings.Contains(err.Error(), "--delete-mode delete") || !strings.Contains(err.Error(), "--read-only") || !strings.Contains(err.Error(), "no trash") {
		t.Errorf("read-write, --delete-mode trash: %v", err)
	}
	for _, args := range [][]string{
		{"--backend=imagekit", "--delete-mode=trash"},
		{"--backend=imagekit", "--delete-mode=delete", "--location=abc"},
		{"--backend=imagekit", "--delete-mode=delete", "--token-file=/t"},
		{"--backend=imagekit", "--delete-mode=delete", "--storage-host=cdn.example"},
		{"--key-file=/k"},
		{"--url-endpoint=https://ik.imagekit.io/acme"},
		{"--backend=dropbox"},
	} {
		if _, err := mountOptionsOf(t, args...); err == nil {
			t.Errorf("%v: taken", args)
		}
	}
	for _, args := range [][]string{{"--backend=imagekit", "--read-only"}, {"--backend=highlevel"}, {"--backend=ghl", "--delete-mode=delete"}} {
		if _, err := mountOptionsOf(t, args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// An ImageKit library's cache dir is one path element per account, and
// the same for the same endpoint written another way.
func TestImageKitCacheName(t *testing.T) {
	a := backends.ImageKitCacheName("https://ik.imagekit.io/acme")
	if a != "imagekit-ik.imagekit.io%2Facme" {
		t.Errorf("got %q", a)
	}
	if b := backends.ImageKitCacheName("https://IK.imagekit.io:443/acme/"); b != a {
		t.Errorf("the same endpoint: %q, %q", a, b)
	}
	if c := backends.ImageKitCacheName("https://ik.imagekit.io/other"); c == a || strings.Contains(c, "/") {
		t.Errorf("another account: %q", c)
	}
	if l := backends.ImageKitLibrary("https://ik.imagekit.io/acme/"); l != "imagekit:https://ik.imagekit.io/acme" {
		t.Errorf("library: %q", l)
	}
}
