//go:build linux

package mounts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/fs"
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

// needRootFUSE skips a test of root's mounts unless it runs as root with
// FUSE, which under CI=true is a failure.
func needRootFUSE(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("root's mounts")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FUSE is needed: %v", err)
		}
		t.Skip("no FUSE here")
	}
}

// newTestGuard makes the folder mp and readies a mount guard for it.
func newTestGuard(t *testing.T, mp string) *Guard {
	t.Helper()
	if err := os.MkdirAll(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard(mp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
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
	needRootFUSE(t)

	for _, kernel := range []string{"", "no mount ids: "} {
		if kernel != "" {
			actAsOldKernel(t)
		}
		t.Run(kernel+"its own", func(t *testing.T) {
			mp := filepath.Join(t.TempDir(), "m", "ghl")
			mountGhlfsLike(t, mp)
			if err := Unmount(mp); err != nil {
				t.Fatal(err)
			}
			if mounted(t, mp) {
				t.Error("still mounted")
			}
		})

		t.Run(kernel+"a symlink at the mountpoint", func(t *testing.T) {
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
			if err := Unmount(mp); err == nil || !strings.Contains(err.Error(), "not a ghlfs mount") {
				t.Errorf("Unmount = %v, want a refusal", err)
			}
			if !mounted(t, other) {
				t.Error("the tmpfs the symlink names was unmounted")
			}
		})

		t.Run(kernel+"a symlink for its folder", func(t *testing.T) {
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
			if err := Unmount(mp); err == nil || !strings.Contains(err.Error(), "not a ghlfs mount") {
				t.Errorf("Unmount = %v, want a refusal", err)
			}
			if !mounted(t, other) {
				t.Error("the tmpfs reached through the symlink was unmounted")
			}
		})
	}
}

// actAsOldKernel makes statx's answers look like a kernel's before 5.8,
// which gives no mount ids, for the rest of the test.
func actAsOldKernel(t *testing.T) {
	old := kernelMountIDs
	kernelMountIDs = func(*unix.Statx_t) bool { return false }
	t.Cleanup(func() { kernelMountIDs = old })
}

// On a kernel without statx mount ids, root's mount is still told apart
// by its device: with a file open in it (so that only the lazy fallback
// can unmount it) and its folder swapped for one holding a symlink to
// another mount, the lazy unmount detaches ghlfs's own mount, and the
// other mount stays.
func TestGuardWithoutMountIDsLazyUnmount(t *testing.T) {
	needRootFUSE(t)
	actAsOldKernel(t)
	base := t.TempDir()
	other := filepath.Join(base, "tmpfs")
	mountTmpfs(t, other)
	mp := filepath.Join(base, "m", "ghl")
	g := newTestGuard(t, mp)
	server, err := g.Mount(fs.NewAgency(nil, fs.Options{}).MountVia)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	own := filepath.Join(base, "moved", "ghl")
	t.Cleanup(func() { syscall.Unmount(own, syscall.MNT_DETACH) })
	busy, err := os.Open(mp)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := os.Rename(filepath.Join(base, "m"), filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(base, "m"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, mp); err != nil {
		t.Fatal(err)
	}
	if err := g.Unmount(server, false); err == nil {
		t.Fatal("a busy mount was unmounted without the lazy fallback")
	}
	if err := g.Unmount(server, true); err != nil {
		t.Errorf("lazy unmount: %v", err)
	}
	if mounted(t, own) {
		t.Errorf("ghlfs's own mount (now at %s) is still there", own)
	}
	if !mounted(t, other) {
		t.Errorf("the tmpfs the symlink names was unmounted")
	}
	busy.Close()
	syscall.Unmount(own, syscall.MNT_DETACH) // when the test failed
	server.Wait()
}

// As root, the mountpoint swapped for a symlink to another mount in the
// instant between the guard opening it and mount(2) (the worst moment):
// the mount lands on the folder opened, not on the other mount; it is
// then found not to be at the mountpoint, detached, and the mount fails.
func TestGuardMountNotTurnedBySwap(t *testing.T) {
	needRootFUSE(t)
	for _, kernel := range []string{"", "no mount ids: "} {
		t.Run(kernel+"swapped", func(t *testing.T) {
			if kernel != "" {
				actAsOldKernel(t)
			}
			base := t.TempDir()
			other := filepath.Join(base, "tmpfs")
			mountTmpfs(t, other)
			mp := filepath.Join(base, "m", "ghl")
			moved := mp + ".old"
			t.Cleanup(func() {
				for _, d := range []string{other, moved} {
					for isGhlfs(t, d) {
						syscall.Unmount(d, syscall.MNT_DETACH)
					}
				}
			})
			g := newTestGuard(t, mp)
			server, err := g.Mount(func(target string, reach func() (string, error)) (*fuse.Server, error) {
				if err := os.Rename(mp, moved); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(other, mp); err != nil {
					t.Fatal(err)
				}
				return fs.NewAgency(nil, fs.Options{}).MountVia(target, reach)
			})
			if err == nil || !strings.Contains(err.Error(), "the mount made is not there") {
				t.Errorf("mount = %v, want it found not there, and refused", err)
			}
			if server != nil {
				t.Error("a server for a mount refused")
			}
			if isGhlfs(t, other) {
				t.Error("the mount landed on the tmpfs the symlink names")
			}
			if mounted(t, moved) {
				t.Error("the mount made on the folder opened is still there")
			}
		})
	}
}

// isGhlfs reports whether the mount table has a ghlfs mount at dir.
func isGhlfs(t *testing.T, dir string) bool {
	t.Helper()
	mounts, err := ghlfsMounts()
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(mounts, func(m ghlfsMount) bool { return m.dir == dir })
}

// As root, a mount through the guard whose mount(2) fails (here: the
// mountpoint removed after the guard opened it) fails with that error:
// go-fuse does not try fusermount3 instead, which would be given a
// /proc/self/fd path it cannot see, and would follow what it names.
func TestGuardMountNoFusermountFallback(t *testing.T) {
	needRootFUSE(t)
	bin := t.TempDir()
	ran := filepath.Join(t.TempDir(), "ran")
	for _, name := range []string{"fusermount3", "fusermount"} {
		script := "#!/bin/sh\necho \"$0 $*\" >> " + ran + "\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	mp := filepath.Join(t.TempDir(), "m", "ghl")
	g := newTestGuard(t, mp)
	_, err := g.Mount(func(target string, reach func() (string, error)) (*fuse.Server, error) {
		if err := os.Remove(mp); err != nil {
			t.Fatal(err)
		}
		return fs.NewAgency(nil, fs.Options{}).MountVia(target, reach)
	})
	if err == nil {
		t.Error("mounted on a folder removed")
	}
	if b, _ := os.ReadFile(ran); len(b) > 0 {
		t.Errorf("fusermount was run: %s(mount error: %v)", b, err)
	}
}
