package backends

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
)

// Settings come from flags, then the environment, then the config file
// (its KEY=VALUE lines, read by the command: the same keys as the
// environment). No secret is taken from the command line: a command line
// is visible to every user of the machine.

// Setting returns the first non-empty of a flag value, an environment
// variable and a config key.
func Setting(flagValue, key string, conf map[string]string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(key); v != "" {
		return v
	}
	return conf[key]
}

// ReadTokenFile returns the first line of a token file. It is read at
// start, and again whenever the API refuses the token.
func ReadTokenFile(path string) (string, error) {
	return ReadSecretFile("token file", path)
}

// ReadSecretFile returns the first line of a file only its owner may read.
func ReadSecretFile(kind, path string) (string, error) {
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

// ReadSecret returns a secret from a file (its first line: flagFile,
// else fileKey's file from the environment, else from the config file
// unless the environment gives key itself) or, failing that, key from
// the environment or the config file; with a file, how to read it again
// (after the service refused it). "" and no error when none is given.
// kind names the file in errors ("key file").
func ReadSecret(kind, flagFile, fileKey, key string, conf map[string]string) (string, func() (string, error), error) {
	file := flagFile
	if file == "" {
		if file = os.Getenv(fileKey); file == "" && os.Getenv(key) == "" {
			file = conf[fileKey]
		}
	}
	if file != "" {
		secret, err := ReadSecretFile(kind, file)
		if err != nil {
			return "", nil, err
		}
		return secret, func() (string, error) { return ReadSecretFile(kind, file) }, nil
	}
	return strings.TrimSpace(Setting("", key, conf)), nil, nil
}
