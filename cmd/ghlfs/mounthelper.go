package main

import (
	"errors"
	"fmt"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"os"
	"slices"
	"strings"
)

// mount(8) runs /sbin/mount.ghlfs (a link to ghlfs, made by make install)
// for fstab lines and mount -t ghlfs:
//
//	mount.ghlfs LOCATION_ID MOUNTPOINT [-sfnv] [-N NS] [-o OPTIONS]
//	mount.ghlfs URL_ENDPOINT MOUNTPOINT -o backend=imagekit[,OPTIONS]
//	mount.ghlfs INSTANCE_URL MOUNTPOINT -o backend=ocm[,OPTIONS]
//
// OPTIONS map to mount flags (token_file=F → --token-file=F, ro →
// --read-only, allow_other → --allow-other); the ones mount(8) and systemd
// add for themselves are accepted and ignored. With backend=imagekit the
// first field is the account's url endpoint (--url-endpoint), with
// backend=ocm the instance (--api-url), as a network filesystem's is its
// server. The helper returns once the mount
// is ready (a --daemon mount), as mount(8) expects.

// Exit codes of mount(8)'s helpers.
const (
	exitUsage = 1
	exitMount = 32
)

// ignoredOptions are for mount(8), systemd or the kernel's generic mount
// code, not for ghlfs.
var ignoredOptions = []string{
	"rw", "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group",
	"_netdev", "nofail", "dev", "nodev", "suid", "nosuid", "exec", "noexec",
	"async", "sync", "atime", "noatime", "diratime", "nodiratime", "relatime",
	"norelatime", "strictatime", "lazytime", "nolazytime", "silent", "loud",
}

func ignoredOption(o string) bool {
	name, _, _ := strings.Cut(o, "=")
	return slices.Contains(ignoredOptions, name) || strings.HasPrefix(name, "x-") || name == "comment"
}

// helperArgs turns mount(8)'s call into the arguments of ghlfs mount.
// fake is -f: check everything, mount nothing.
func helperArgs(argv []string) (args []string, fake, verbose bool, err error) {
	var pos, opts []string
	sloppy := false
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-o" || a == "-t" || a == "-N":
			if i+1 >= len(argv) {
				return nil, false, false, fmt.Errorf("%s needs a value", a)
			}
			i++
			if a == "-o" {
				opts = append(opts, strings.Split(argv[i], ",")...)
			}
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			opts = append(opts, strings.Split(a[2:], ",")...)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for _, c := range a[1:] {
				switch c {
				case 's':
					sloppy = true
				case 'f':
					fake = true
				case 'v':
					verbose = true
				case 'n': // no mtab: there is none to write
				default:
					return nil, false, false, fmt.Errorf("unknown option -%c", c)
				}
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return nil, false, false, errors.New("usage: mount.ghlfs LOCATION_ID MOUNTPOINT [-sfnv] [-o OPTIONS] (or URL_ENDPOINT MOUNTPOINT -o backend=imagekit,..., or INSTANCE_URL MOUNTPOINT -o backend=ocm,...)")
	}
	// The flags a mount takes, to tell an option ghlfs does not know.
	fl := newMountCmd().Flags()
	// The first field names the library: the backend says how.
	device := "location"
	args = []string{"mount", "--daemon", "--location", pos[0]}
	for _, o := range opts {
		switch o {
		case "backend=" + backends.ImageKit:
			device = "url-endpoint"
			args = []string{"mount", "--daemon", "--backend", backends.ImageKit, "--url-endpoint", pos[0]}
		case "backend=" + backends.OCM:
			device = "api-url"
			args = []string{"mount", "--daemon", "--backend", backends.OCM, "--api-url", pos[0]}
		}
	}
	for _, o := range opts {
		switch {
		case o == "" || ignoredOption(o) || strings.HasPrefix(o, "backend="):
			if b, ok := strings.CutPrefix(o, "backend="); ok && b != backends.ImageKit && b != backends.GHL && b != backends.OCM {
				return nil, false, false, fmt.Errorf("unknown backend %q", b)
			}
			continue
		case o == "ro":
			args = append(args, "--read-only")
			continue
		case o == "daemon" || strings.HasPrefix(o, "daemon="):
			continue // it is always one: mount(8) waits for the helper to return
		}
		name, value, hasValue := strings.Cut(o, "=")
		flag := strings.ReplaceAll(name, "_", "-")
		if fl.Lookup(flag) == nil || flag == device {
			if sloppy {
				continue
			}
			return nil, false, false, fmt.Errorf("unknown option %q", name)
		}
		if hasValue {
			args = append(args, "--"+flag+"="+value)
		} else {
			args = append(args, "--"+flag)
		}
	}
	return append(args, pos[1]), fake, verbose, nil
}

func mountHelper(argv []string) int {
	args, fake, verbose, err := helperArgs(argv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mount.ghlfs:", err)
		return exitUsage
	}
	if verbose {
		fmt.Fprintln(os.Stderr, "mount.ghlfs: ghlfs", strings.Join(args, " "))
	}
	root := newRootCmd()
	if fake {
		// Parse and check, mount nothing.
		mc, rest, err := root.Find(args)
		if err == nil {
			err = mc.ParseFlags(rest)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mount.ghlfs:", err)
			return exitUsage
		}
		return 0
	}
	invocation = args
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "mount.ghlfs:", err)
		return exitMount
	}
	return 0
}
