package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ghlfs login opens the docs' current authorize page by default
// (/v2/oauth/chooselocation); --authorize-url still reaches the old one.
func TestLoginAuthorizePage(t *testing.T) {
	t.Setenv("GHL_CLIENT_ID", "app-id")
	t.Setenv("GHL_CLIENT_SECRET", "not-secret")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "https://marketplace.gohighlevel.com/v2/oauth/chooselocation?"},
		{[]string{"--authorize-url", "https://marketplace.gohighlevel.com/oauth/chooselocation"}, "https://marketplace.gohighlevel.com/oauth/chooselocation?"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		out, err := loginCmdOutput(t, append([]string{"--no-browser", "--timeout", "100ms",
			"--redirect", fmt.Sprintf("http://127.0.0.1:%d/callback", port)}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), "no approval") {
			t.Errorf("%q: %v", c.args, err)
		}
		if !strings.Contains(out, "\n  "+c.want) {
			t.Errorf("%q: the address to open is not %s...:\n%s", c.args, c.want, out)
		}
	}
}

// loginCmdOutput runs ghlfs login with args, no config file, a token file
// of its own and nothing on its input; it returns its output and error.
func loginCmdOutput(t *testing.T, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir) // no config file
	cmd := newLoginCmd()
	cmd.SilenceUsage = true
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(append([]string{"--token-file", filepath.Join(dir, "token.json")}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

// --redirect http://localhost:P: a browser may try ::1 or 127.0.0.1
// first, so ghlfs login listens on both, and stops with a clear error
// when another program holds either (it would be handed the code).
func TestLoginLocalhostRedirectBothAddresses(t *testing.T) {
	t.Setenv("GHL_CLIENT_ID", "app-id")
	t.Setenv("GHL_CLIENT_SECRET", "not-secret")
	held, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	out, err := loginCmdOutput(t, "--no-browser", "--timeout", "2s", "--redirect", fmt.Sprintf("http://localhost:%d/callback", port))
	if want := fmt.Sprintf("cannot listen on [::1]:%d", port); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ghlfs login with [::1]:%d held: %v, want %q", port, err, want)
	}
	if strings.Contains(out, "chooselocation?") {
		t.Errorf("the address to open was printed:\n%s", out)
	}
}
