//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// mountGhlfsLike mounts an empty FUSE file system named as ghlfs's are
// (fuse.ghlfs) on dir, as root. The test's end unmounts it at *at (dir,
// unless the test moves it): by path, lazily, since go-fuse's Unmount
// would follow a symlink put in its place.
func mountGhlfsLike(t *testing.T, dir string) (at *string) {
	t.Helper()
	at = &dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	server, err := gofs.Mount(dir, &gofs.Inode{}, &gofs.Options{MountOptions: fuse.MountOptions{
		Name: "ghlfs", FsName: "ghlfs", DirectMount: true, DirectMountStrict: true}})
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	go server.Wait()
	t.Cleanup(func() { syscall.Unmount(*at, syscall.MNT_DETACH) })
	return at
}

// mounted reports whether the mount table has a mount at dir.
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && unescapeMountinfo(f[4]) == dir {
			return true
		}
	}
	return false
}

// mountTmpfs mounts a tmpfs, another file system than ghlfs's, on dir.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("ghlfs-test", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

// "ghlfs unmount" as root of a mount with no ghlfs serving it unmounts
// the ghlfs mount the mount table names at the path, and nothing else:
// not a mount a symlink put in its place names (the mountpoint's folder
// swapped after the mount table was read), nor one reached through a
// folder swapped for a symlink.
func TestUnmountDirectOnlyAGhlfsMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("root's unmount")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FUSE is needed: %v", err)
		}
		t.Skip("no FUSE here")
	}

	t.Run("its own", func(t *testing.T) {
		mp := filepath.Join(t.TempDir(), "m", "ghl")
		mountGhlfsLike(t, mp)
		if err := unmountDirect(mp); err != nil {
			t.Fatal(err)
		}
		if mounted(t, mp) {
			t.Error("still mounted")
		}
	})

	t.Run("a symlink at the mountpoint", func(t *testing.T) {
		base := t.TempDir()
		other := filepath.Join(base, "tmpfs")
		mountTmpfs(t, other)
		mp := filepath.Join(base, "m", "ghl")
		at := mountGhlfsLike(t, mp)
		if err := os.Rename(filepath.Join(base, "m"), filepath.Join(base, "moved")); err != nil {
			t.Fatal(err)
		}
		*at = filepath.Join(base, "moved", "ghl")
		os.Mkdir(filepath.Join(base, "m"), 0o755)
		if err := os.Symlink(other, mp); err != nil {
			t.Fatal(err)
		}
		if err := unmountDirect(mp); err == nil || !strings.Contains(err.Error(), "not a ghlfs mount") {
			t.Errorf("unmountDirect = %v, want a refusal", err)
		}
		if !mounted(t, other) {
			t.Error("the tmpfs the symlink names was unmounted")
		}
	})

	t.Run("a symlink for its folder", func(t *testing.T) {
		base := t.TempDir()
		other := filepath.Join(base, "elsewhere", "ghl")
		mountTmpfs(t, other)
		mp := filepath.Join(base, "m", "ghl")
		at := mountGhlfsLike(t, mp)
		if err := os.Rename(filepath.Join(base, "m"), filepath.Join(base, "moved")); err != nil {
			t.Fatal(err)
		}
		*at = filepath.Join(base, "moved", "ghl")
		if err := os.Symlink(filepath.Dir(other), filepath.Join(base, "m")); err != nil {
			t.Fatal(err)
		}
		if err := unmountDirect(mp); err == nil || !strings.Contains(err.Error(), "not a ghlfs mount") {
			t.Errorf("unmountDirect = %v, want a refusal", err)
		}
		if !mounted(t, other) {
			t.Error("the tmpfs reached through the symlink was unmounted")
		}
	})
}
