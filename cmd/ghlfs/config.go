package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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
// and for an ImageKit mount (imagekit.go) IMAGEKIT_PRIVATE_KEY (or
// IMAGEKIT_PRIVATE_KEY_FILE), IMAGEKIT_URL_ENDPOINT, IMAGEKIT_API_URL and
// IMAGEKIT_UPLOAD_URL; for an OCM mount, the OCM_ keys of ocm.go.
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

// setting returns the first non-empty of a flag value, an environment
// variable and a config key.
func setting(flagValue, key string, conf map[string]string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(key); v != "" {
		return v
	}
	return conf[key]
}

// readToken returns the API token from a file (first line) or, failing
// that, from GHL_TOKEN in the environment or the config file.
func readToken(tokenFile string, conf map[string]string) (string, error) {
	if tokenFile = tokenFileOf(tokenFile, conf); tokenFile != "" {
		return readTokenFile(tokenFile)
	}
	if tok := setting("", "GHL_TOKEN", conf); tok != "" {
		return strings.TrimSpace(tok), nil
	}
	return "", errors.New("no API token: set GHL_TOKEN, or pass --token-file FILE, or put GHL_TOKEN in the config file")
}

// tokenFileOf is the token file to use, or "" when the token is given
// directly: flag, then environment, then config file; within each, a
// token file before a token.
func tokenFileOf(flagValue string, conf map[string]string) string {
	if flagValue != "" {
		return flagValue
	}
	if f := os.Getenv("GHL_TOKEN_FILE"); f != "" {
		return f
	}
	if os.Getenv("GHL_TOKEN") == "" {
		return conf["GHL_TOKEN_FILE"]
	}
	return ""
}

// readTokenFile returns the first line of a token file. It is read at
// start, and again whenever the API refuses the token.
func readTokenFile(path string) (string, error) {
	return readSecretFile("token file", path)
}

// readSecretFile returns the first line of a file only its owner may read.
func readSecretFile(kind, path string) (string, error) {
	f, err := perms.OpenPrivate(kind, path, true)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	f.Close()
	if err != nil {
		return "", fmt.Errorf("%s: %w", kind, err)
	}
	tok, _, _ := strings.Cut(string(data), "\n")
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("%s %s is empty", kind, path)
	}
	return tok, nil
}

// readSecret returns a secret from a file (its first line: flagFile,
// else fileKey's file from the environment, else from the config file
// unless the environment gives key itself) or, failing that, key from
// the environment or the config file; with a file, how to read it again
// (after the service refused it). "" and no error when none is given.
// kind names the file in errors ("key file").
func readSecret(kind, flagFile, fileKey, key string, conf map[string]string) (string, func() (string, error), error) {
	file := flagFile
	if file == "" {
		if file = os.Getenv(fileKey); file == "" && os.Getenv(key) == "" {
			file = conf[fileKey]
		}
	}
	if file != "" {
		secret, err := readSecretFile(kind, file)
		if err != nil {
			return "", nil, err
		}
		return secret, func() (string, error) { return readSecretFile(kind, file) }, nil
	}
	return strings.TrimSpace(setting("", key, conf)), nil, nil
}

// storageHosts are the storage hosts added to the built-in ones: the
// --storage-host flags, else GHL_STORAGE_HOSTS from the environment, else
// from the config file (comma- or space-separated).
func storageHosts(flags []string, conf map[string]string) []string {
	if len(flags) > 0 {
		return flags
	}
	return strings.FieldsFunc(setting("", "GHL_STORAGE_HOSTS", conf), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}
