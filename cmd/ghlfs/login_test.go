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
		dir := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", dir) // no config file
		cmd := newLoginCmd()
		cmd.SilenceUsage = true
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetIn(strings.NewReader(""))
		cmd.SetArgs(append([]string{"--no-browser", "--timeout", "100ms",
			"--token-file", filepath.Join(dir, "token.json"), "--redirect", fmt.Sprintf("http://127.0.0.1:%d/callback", port)}, c.args...))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = cmd.ExecuteContext(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "no approval") {
			t.Errorf("%q: %v", c.args, err)
		}
		if !strings.Contains(out.String(), "\n  "+c.want) {
			t.Errorf("%q: the address to open is not %s...:\n%s", c.args, c.want, out.String())
		}
	}
}
