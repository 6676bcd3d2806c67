package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
)

// Settings come from flags, then the environment, then a config file of
// KEY=VALUE lines (the same keys as the environment):
//
//	GHL_TOKEN=pit-...            # or GHL_TOKEN_FILE=/path/to/token
//	GHL_LOCATION_ID=...
//	GHL_API_URL=https://services.leadconnectorhq.com
//	GHL_STORAGE_HOSTS=cdn.example.com,files.example.com
//	GHL_SOCIAL_CSV=true          # --social-csv; ghlfs login asks for its scopes
//
// and for an ImageKit mount IMAGEKIT_PRIVATE_KEY (or
// IMAGEKIT_PRIVATE_KEY_FILE), IMAGEKIT_URL_ENDPOINT, IMAGEKIT_API_URL and
// IMAGEKIT_UPLOAD_URL; for an OCM mount, the OCM_ keys. Each backend's
// keys, and the order they are read in, are internal/backends' (ghl.go,
// imagekit.go, ocm.go); this file reads the config file.
//
// The token is never taken from the command line: a command line is
// visible to every user of the machine.

func defaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ghlfs", "config")
}

// secretKeys are the config keys that hold a secret itself (not a file's
// path): a config file holding one must be private to its owner.
var secretKeys = []string{"GHL_TOKEN", "GHL_CLIENT_SECRET", "IMAGEKIT_PRIVATE_KEY", "OCM_CLIENT_SECRET", "OCM_ACCESS_CODE", "OCM_APPLINK_TOKEN"}

// readConfig reads a KEY=VALUE file. A missing file at the default path
// is no error. A file that other users may change is refused, and so is
// one holding a secret (secretKeys) that they may read (internal/perms).
func readConfig(path string, explicit bool) (map[string]string, error) {
	conf := map[string]string{}
	if path == "" {
		return conf, nil
	}
	f, err := perms.OpenPrivate("config file", path, false)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return conf, nil
		}
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config file %s:%d: want KEY=VALUE", path, n)
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		conf[strings.TrimSpace(k)] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	if slices.ContainsFunc(secretKeys, func(k string) bool { _, ok := conf[k]; return ok }) {
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		if err := perms.CheckPrivate("config file", path, fi, true); err != nil {
			return nil, err
		}
	}
	return conf, nil
}
